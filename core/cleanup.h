/* SPDX-License-Identifier: MIT */
/* Scoped cleanup (systemd's habit): a variable declared _cleanup_free_ or
 * _cleanup_close_ is released when it goes out of scope; TAKE_PTR/TAKE_FD
 * hand ownership out.  Header-only, so the in-tree plugins use it too
 * without linking anything of core/. */
#ifndef QUILT_CLEANUP_H
#define QUILT_CLEANUP_H

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static inline void quilt_freep(void *p) { free(*(void **)p); }
/* Close and forget: a second call (or the cleanup at scope end) is a
 * no-op, never a close of a descriptor that meanwhile means something else. */
static inline void quilt_closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
                *fd = -1;
        }
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(quilt_freep)
#define _cleanup_close_ _cleanup_(quilt_closep)

#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

#endif
