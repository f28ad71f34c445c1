/* SPDX-License-Identifier: MIT */
/* File system helpers of the rootfs plugin that run in the monitor. */
#ifndef QUILT_ROOTFS_MOUNTS_H
#define QUILT_ROOTFS_MOUNTS_H

#include "quilt/plugin.h"

/* 1 when the directory open as `dir_fd` has no entries, 0 when it has
 * some, or a negative errno.  `dir_fd` stays open and unmoved. */
int rootfs_dir_is_empty(int dir_fd);

/* Detach (MNT_DETACH) every mount at or below `path`, deepest first, as
 * /proc/self/mountinfo lists them.  Best effort: failures are logged as
 * warnings through `host` (may be NULL), since the removal that follows
 * reports a mount point it cannot cross anyway. */
void rootfs_umount_below(const char *path, const struct quilt_host *host);

/* Decode mountinfo's octal escapes (\040 for a space, ...) in place. */
void rootfs_mountinfo_unescape(char *s);

#endif
