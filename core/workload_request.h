/* SPDX-License-Identifier: MIT */
/* The agent-workload part of CreateContainerRequest (setup commands,
 * init, mounts, user, rlimits, read-only root): checking it in quiltd
 * before anything is created, and what the container record keeps of it
 * for GetContainerStatus. */
#ifndef QUILT_WORKLOAD_REQUEST_H
#define QUILT_WORKLOAD_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "quilt.pb-c.h"
#include "status.h"

/* Mount.type as the request spells it ("" is a bind mount). */
enum quilt_request_mount_type {
        QUILT_REQUEST_MOUNT_BIND,
        QUILT_REQUEST_MOUNT_TMPFS,
        QUILT_REQUEST_MOUNT_VOLUME,
};

/* -1 for a type that is none of "", "bind", "tmpfs", "volume". */
int quilt_request_mount_type(const char *type);

/* "", USER or USER:GROUP, each a name or a number of the image's files. */
bool quilt_request_user_is_valid(const char *user);

/* Check the workload fields against each other, the host (bind sources
 * exist: NOT_FOUND otherwise) and `profile`'s features (FAILED_PRECONDITION
 * when no plugin of the chain would carry a field out).  Volumes are
 * checked at registration, under the manager's lock. */
int quilt_workload_validate(const Quilt__V1__CreateContainerRequest *req,
                            const struct quilt_profile *profile, struct quilt_status *st);

/* Whether the container runs under the minimal init: the request's
 * `init`, else the daemon's default unless the request says no_init. */
bool quilt_workload_init(const Quilt__V1__CreateContainerRequest *req, const struct quilt_config *cfg);

/* The names of the volumes the request mounts (NULL-terminated, maybe
 * empty), or NULL when out of memory. */
char **quilt_workload_volumes(const Quilt__V1__CreateContainerRequest *req);

/* A deep copy of the request's mounts, for the status; NULL when out of
 * memory (or when there are none: check n). */
Quilt__V1__Mount **quilt_mounts_copy(Quilt__V1__Mount *const *mounts, size_t n);
void quilt_mounts_free(Quilt__V1__Mount **mounts, size_t n);

#endif
