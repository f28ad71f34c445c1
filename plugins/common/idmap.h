/* SPDX-License-Identifier: MIT */
/* Shared by the plugins that map a container's ids (userns: the
 * container's own user namespace and its root tree; rootfs: an overlay's
 * idmapped lower layer): each links its own copy (plugins export nothing
 * but their descriptor).  Monitor only: not for in_child. */
#ifndef QUILT_PLUGIN_IDMAP_H
#define QUILT_PLUGIN_IDMAP_H

#include <stdbool.h>

#include "quilt/plugin.h"

/* Write "0 START COUNT\n" to `name` ("uid_map" or "gid_map") below the
 * /proc/PID directory `proc_fd`, in the one write the kernel takes. */
int quilt_idmap_write_map(int proc_fd, const char *name, const struct quilt_id_range *r,
                          struct quilt_error *err);

/* A detached clone of the mount tree at `path` (with the mounts below it
 * when `recursive`), its top mount idmapped through the user namespace
 * `userns_fd`.  Returns its fd, or a negative errno with err filled
 * ("open_tree PATH: ...", "idmapping PATH: ..."). */
int quilt_idmap_clone(const char *path, int userns_fd, bool recursive, struct quilt_error *err);

/* The kernel's or the filesystem's "no idmapped mounts here". */
static inline bool quilt_idmap_unsupported(int r)
{
        return r == -EINVAL || r == -EPERM || r == -ENOSYS || r == -EOPNOTSUPP;
}

#endif
