/* SPDX-License-Identifier: MIT */
/* Reduce the container process to its capability set: raw prctl and
 * capset on stack structs, because this runs between clone and exec
 * where we allocate nothing (libcap's cap_set_proc would need a cap_t). */
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

int caps_apply(uint64_t set, unsigned kernel_last, bool no_new_privs, struct quilt_error *err)
{
        /* Bounding set first: it needs CAP_SETPCAP in our effective set,
         * which the capset below may take away.  It is what bounds every
         * later exec, also of root, so it is the drop that matters. */
        for (unsigned cap = 0; cap <= kernel_last; cap++) {
                if (cap < 64 && (set & CAPS_BIT(cap)))
                        continue;
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        return quilt_error_set(err, -errno, "prctl(PR_CAPBSET_DROP, %u): %m", cap);
        }

        /* Nothing inherited through the ambient set (kernels before 4.3
         * have none: EINVAL). */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return quilt_error_set(err, -errno, "prctl(PR_CAP_AMBIENT_CLEAR_ALL): %m");

        /* A switch to another user must lose the capabilities (the core's
         * setresuid after us): no keepcaps. */
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return quilt_error_set(err, -errno, "prctl(PR_SET_KEEPCAPS, 0): %m");

        /* Inheritable stays EMPTY, never the set: with the set there, a
         * program with inheritable file capabilities run by a non-root
         * user would gain them (CVE-2022-24769, fixed in moby 20.10.14 and
         * runc 1.1.2 the same way). */
        struct __user_cap_header_struct header = {
                .version = _LINUX_CAPABILITY_VERSION_3,
                .pid = 0,
        };
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {
                { .effective = (uint32_t)set, .permitted = (uint32_t)set, .inheritable = 0 },
                { .effective = (uint32_t)(set >> 32), .permitted = (uint32_t)(set >> 32),
                  .inheritable = 0 },
        };
        if (syscall(SYS_capset, &header, data) < 0)
                return quilt_error_set(err, -errno, "capset: %m");

        /* After the drop: no exec may gain privileges again (setuid bits,
         * file capabilities).  Before the setup commands, so they too. */
        if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return quilt_error_set(err, -errno, "prctl(PR_SET_NO_NEW_PRIVS): %m");
        return 0;
}
