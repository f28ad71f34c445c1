/* SPDX-License-Identifier: MIT */
/* Private declarations shared by the files of the rootfs plugin.  Nothing
 * here is exported: the plugin is built with -fvisibility=hidden and only
 * quilt_plugin_v1 (rootfs.c) is visible. */
#ifndef QUILT_ROOTFS_H
#define QUILT_ROOTFS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include "quilt/plugin.h"

/* A plugin must not depend on core/, so it carries its own copies of the
 * few cleanup helpers it needs (same names and meaning as core/util.h). */
static inline void rootfs_freep(void *p) { free(*(void **)p); }
static inline void rootfs_closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
#ifndef _cleanup_
#define _cleanup_(f) __attribute__((cleanup(f)))
#endif
#ifndef _cleanup_free_
#define _cleanup_free_ _cleanup_(rootfs_freep)
#endif
#ifndef _cleanup_close_
#define _cleanup_close_ _cleanup_(rootfs_closep)
#endif
#ifndef TAKE_PTR
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#endif
#ifndef TAKE_FD
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })
#endif

/* True when the host table is long enough to hold `field` and sets it. */
#define ROOTFS_HOST_HAS(host, field)                                              \
        ((host) && (host)->struct_size >= offsetof(struct quilt_host, field) +    \
                                                  sizeof((host)->field) &&        \
         (host)->field)

#define ROOTFS_PLUGIN_NAME "rootfs"

#endif
