/* SPDX-License-Identifier: MIT */
/* overlayfs for the rootfs plugin's `store = overlay` mode: a container's
 * root is an overlay of its own upper and work dirs over the image's
 * unpacked tree in the image store. */
#ifndef QUILT_ROOTFS_OVERLAY_H
#define QUILT_ROOTFS_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>

#include "quilt/plugin.h"

/* Whether overlay can be used: /proc/filesystems lists it and a test mount
 * (in a temporary directory below `dir`, unmounted and removed again)
 * works.  `why` gets a short reason either way. */
bool rootfs_overlay_usable(const char *dir, char *why, size_t why_size);

/* Mount overlay (lowerdir=lower, upperdir=upper, workdir=work) on target.
 * Paths with ',', ':' or '\' are refused (overlay's option syntax). */
int rootfs_overlay_mount(const char *lower, const char *upper, const char *work,
                         const char *target, struct quilt_error *err);

/* The same with the lower layer given as an fd (a detached, idmapped
 * mount, say), through the new mount API. */
int rootfs_overlay_mount_fd(int lower_fd, const char *upper, const char *work,
                            const char *target, struct quilt_error *err);

/* Unmount whatever is mounted on `target` itself (lazily when busy); a
 * target that is not a mount point or does not exist is fine. */
void rootfs_overlay_umount(const char *target, const struct quilt_host *host);

#endif
