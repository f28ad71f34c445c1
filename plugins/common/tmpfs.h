/* SPDX-License-Identifier: MIT */
/* Shared by the plugins that make mounts with the new mount API (mounts:
 * a request's tmpfs; rootfs: a read-only root's /tmp and its overlay):
 * each links its own copy (plugins export nothing but their descriptor). */
#ifndef QUILT_PLUGIN_TMPFS_H
#define QUILT_PLUGIN_TMPFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "quilt/plugin.h"

/* The kernel's own words queued on an fsopen fd after a failed fsconfig
 * ("tmpfs: Bad value for 'size'"), its first line, in `buf`; "" when
 * there are none. */
const char *quilt_fs_message(int fs_fd, char *buf, size_t size);

/* A fresh, detached tmpfs (an fd to move_mount): nosuid, nodev and
 * `mount_attrs` (MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOEXEC, ...), its root
 * `mode`, `size_bytes` (0: the kernel's default).  Allocates nothing: fine
 * in in_child.  err: "tmpfs: STEP: reason[: the kernel's words]". */
int quilt_tmpfs_open(uint64_t size_bytes, mode_t mode, unsigned int mount_attrs, int *ret_fd,
                     struct quilt_error *err);

#endif
