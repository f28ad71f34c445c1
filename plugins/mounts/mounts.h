/* SPDX-License-Identifier: MIT */
/* Private declarations shared by the files of the mounts plugin.  Nothing
 * here is exported: the plugin is built with -fvisibility=hidden and only
 * quilt_plugin_v1 (mounts.c) is visible. */
#ifndef QUILT_MOUNTS_H
#define QUILT_MOUNTS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "quilt/plugin.h"

#include "cleanup.h"         /* header-only: nothing of core/ is linked */

#define MOUNTS_PLUGIN_NAME "mounts"
/* Mode of the directories made on the way to a mount point. */
#define MOUNTS_DIR_MODE 0755
/* Mode of the empty file made as the mount point of a file bind. */
#define MOUNTS_FILE_MODE 0644
/* A tmpfs root's mode when the request gives none (like /tmp). */
#define MOUNTS_TMPFS_MODE 01777

/* mounts_target.c: an fd of m->target inside the root `root_fd`, made if
 * missing: a directory, or, when `want_dir` is false (the source of a bind
 * is a file), an empty regular file in a directory made if missing.  The
 * fd is what the mount is attached to, so the mount lands exactly where
 * the path resolves inside the root.  err: "REASON" (the caller adds the
 * mount's number and target). */
int mounts_open_target(const struct quilt_host *host, int root_fd, const char *target,
                       bool want_dir, int *ret_fd, struct quilt_error *err);

/* mounts_attach.c: detached mounts (fds to move_mount), not yet attached. */
/* A recursive clone of the host tree at `source`, read-only if asked. */
int mounts_bind_tree(const char *source, bool read_only, int *ret_fd, struct quilt_error *err);
/* Attach the detached mount `mnt_fd` onto the object `target_fd` is. */
int mounts_attach(int mnt_fd, int target_fd, struct quilt_error *err);

#endif
