/* SPDX-License-Identifier: MIT */
/* Loading a container's seccomp filter (classic BPF a seccomp plugin
 * compiled in pre_clone, see quilt_container.seccomp_filter) in a process
 * about to exec: the command, a setup command, an exec.  Header-only and
 * allocation-free, so the monitor's child, plugins and the static
 * quilt-exec share it. */
#ifndef QUILT_SECCOMP_LOAD_H
#define QUILT_SECCOMP_LOAD_H

#include <errno.h>
#include <stddef.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

/* 0, or a negative errno: -EINVAL for a length that is no program,
 * -EACCES when the process has neither no_new_privs nor CAP_SYS_ADMIN. */
static inline int quilt_seccomp_load(const void *filter, size_t len)
{
        if (!filter || len == 0)
                return 0;
        if (len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > BPF_MAXINSNS)
                return -EINVAL;
        struct sock_fprog prog = {
                .len = (unsigned short)(len / sizeof(struct sock_filter)),
                .filter = (struct sock_filter *)filter,
        };
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                return -errno;
        return 0;
}

#endif
