/* SPDX-License-Identifier: MIT */
/* An overlay root for a container with a user namespace: the image's
 * layer is seen through the container's id mapping (an idmapped mount),
 * so the image's files show up as the container's root without being
 * copied or chowned, and the image store keeps its own owners. */
#ifndef QUILT_ROOTFS_IDMAP_H
#define QUILT_ROOTFS_IDMAP_H

#include <stdbool.h>

#include "quilt/plugin.h"

/* Does the container have a user namespace whose ids the overlay should
 * map (c->uid_range and c->gid_range, set by the userns plugin)? */
bool rootfs_idmap_wanted(const struct quilt_container *c);

/* A user namespace with `uid` and `gid` mapped, to idmap mounts through:
 * a short-lived child carries it while its maps are written.  Returns an
 * O_CLOEXEC fd of it, or a negative errno with err filled. */
int rootfs_idmap_userns(const struct quilt_id_range *uid, const struct quilt_id_range *gid,
                        struct quilt_error *err);

/* A detached clone of the mount tree at `path` (its top mount only),
 * idmapped through `userns_fd`.  Returns its fd, or a negative errno with
 * err filled (-EINVAL, -EPERM, -ENOSYS, -EOPNOTSUPP: the kernel or the
 * filesystem has no idmapped mounts). */
int rootfs_idmap_tree(const char *path, int userns_fd, struct quilt_error *err);

/* The kernel's or the filesystem's "no idmapped mounts here". */
bool rootfs_idmap_unsupported(int r);

/* Make `upper`, a new upper dir, the root the container sees: the lower
 * layer's root's mode, and its owners as the mapping shows them. */
int rootfs_idmap_upper_root(const char *upper, int lower_fd, struct quilt_error *err);

/* Entries the monitor made through the overlay as host root (the working
 * directory, mount points) sit in `upper` with ids the container cannot
 * see (host 0 is nobody to it): give them the ids they map to, through
 * the overlay mounted at `root` (so its inodes stay in step), never
 * crossing into a mount below it.  *ret_changed: how many. */
int rootfs_idmap_fix_upper(const char *upper, const char *root, const struct quilt_container *c,
                           size_t *ret_changed, struct quilt_error *err);

#endif
