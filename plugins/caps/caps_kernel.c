/* SPDX-License-Identifier: MIT */
/* What the running kernel has: it may know fewer capabilities than our
 * name table (an old kernel) or more (a new one). */
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"

/* Far beyond any kernel: a probe that never ends means a broken prctl. */
#define CAPS_PROBE_MAX 1024

unsigned caps_kernel_last(void)
{
        /* PR_CAPBSET_READ answers EINVAL past the last capability: libcap's
         * own probe (cap_max_bits), without /proc, which a chroot may lack. */
        unsigned cap = 0;

        while (cap < CAPS_PROBE_MAX && prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0)
                cap++;
        if (cap == 0 || cap == CAPS_PROBE_MAX)
                return CAPS_NAMED - 1;  /* cannot tell: our table's last */
        return cap - 1;
}

uint64_t caps_kernel_mask(unsigned last)
{
        return last >= 63 ? ~UINT64_C(0) : CAPS_BIT(last + 1) - 1;
}

uint64_t caps_available(unsigned last)
{
        uint64_t mask = 0;

        for (unsigned cap = 0; cap <= last && cap < 64; cap++)
                if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) > 0)
                        mask |= CAPS_BIT(cap);

        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };
        if (syscall(SYS_capget, &header, data) == 0)
                mask &= (uint64_t)data[0].permitted | (uint64_t)data[1].permitted << 32;
        return mask;
}
