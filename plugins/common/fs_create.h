/* SPDX-License-Identifier: MIT */
/* Shared by the plugins that make filesystems with the new mount API (ns:
 * /proc, /dev, /sys and the masks; mounts: a request's tmpfs; rootfs: a
 * read-only root's /tmp and its overlay; userns: the shadow): each links
 * its own copy (plugins export nothing but their descriptor).  Nothing
 * here allocates: fine in in_child. */
#ifndef QUILT_PLUGIN_FS_CREATE_H
#define QUILT_PLUGIN_FS_CREATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "quilt/plugin.h"

/* One fsconfig option: a string `key=value`, or a flag when value is NULL. */
struct quilt_fs_option {
        const char *key;
        const char *value;
};

/* The kernel's own words queued on an fsopen fd after a failed fsconfig
 * ("tmpfs: Bad value for 'size'"), its first line, in `buf`; "" when
 * there are none. */
const char *quilt_fs_message(int fs_fd, char *buf, size_t size);

/* A fresh, detached `fstype` (an fd to move_mount) with the options
 * `opts` (terminated by a NULL key; may be NULL) and the mount attributes
 * `attrs` (MOUNT_ATTR_*); its source is named after its type ("proc", not
 * "none", in mountinfo).  err: "STEP FSTYPE: reason[: the kernel's words]"
 * (STEP: fsopen, source, an option's key, creating, fsmount); the caller
 * prefixes where. */
int quilt_fs_create(const char *fstype, const struct quilt_fs_option *opts, unsigned int attrs,
                    int *ret_fd, struct quilt_error *err);

/* A tmpfs by quilt_fs_create: nosuid, nodev and `mount_attrs`
 * (MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOEXEC, ...), its root `mode`,
 * `size_bytes` (0: the kernel's default). */
int quilt_tmpfs_open(uint64_t size_bytes, mode_t mode, unsigned int mount_attrs, int *ret_fd,
                     struct quilt_error *err);

#endif
