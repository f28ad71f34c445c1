/* SPDX-License-Identifier: MIT */
/* Capability names: the kernel's (linux/capability.h) without "CAP_".
 * Our own table rather than libcap's cap_from_name, so that parsing is
 * the same whatever libcap the plugin was built against. */
#include <linux/capability.h>
#include <string.h>
#include <strings.h>

#include "caps.h"

static const char *const names[CAPS_NAMED] = {
        [CAP_CHOWN] = "CHOWN",
        [CAP_DAC_OVERRIDE] = "DAC_OVERRIDE",
        [CAP_DAC_READ_SEARCH] = "DAC_READ_SEARCH",
        [CAP_FOWNER] = "FOWNER",
        [CAP_FSETID] = "FSETID",
        [CAP_KILL] = "KILL",
        [CAP_SETGID] = "SETGID",
        [CAP_SETUID] = "SETUID",
        [CAP_SETPCAP] = "SETPCAP",
        [CAP_LINUX_IMMUTABLE] = "LINUX_IMMUTABLE",
        [CAP_NET_BIND_SERVICE] = "NET_BIND_SERVICE",
        [CAP_NET_BROADCAST] = "NET_BROADCAST",
        [CAP_NET_ADMIN] = "NET_ADMIN",
        [CAP_NET_RAW] = "NET_RAW",
        [CAP_IPC_LOCK] = "IPC_LOCK",
        [CAP_IPC_OWNER] = "IPC_OWNER",
        [CAP_SYS_MODULE] = "SYS_MODULE",
        [CAP_SYS_RAWIO] = "SYS_RAWIO",
        [CAP_SYS_CHROOT] = "SYS_CHROOT",
        [CAP_SYS_PTRACE] = "SYS_PTRACE",
        [CAP_SYS_PACCT] = "SYS_PACCT",
        [CAP_SYS_ADMIN] = "SYS_ADMIN",
        [CAP_SYS_BOOT] = "SYS_BOOT",
        [CAP_SYS_NICE] = "SYS_NICE",
        [CAP_SYS_RESOURCE] = "SYS_RESOURCE",
        [CAP_SYS_TIME] = "SYS_TIME",
        [CAP_SYS_TTY_CONFIG] = "SYS_TTY_CONFIG",
        [CAP_MKNOD] = "MKNOD",
        [CAP_LEASE] = "LEASE",
        [CAP_AUDIT_WRITE] = "AUDIT_WRITE",
        [CAP_AUDIT_CONTROL] = "AUDIT_CONTROL",
        [CAP_SETFCAP] = "SETFCAP",
        [CAP_MAC_OVERRIDE] = "MAC_OVERRIDE",
        [CAP_MAC_ADMIN] = "MAC_ADMIN",
        [CAP_SYSLOG] = "SYSLOG",
        [CAP_WAKE_ALARM] = "WAKE_ALARM",
        [CAP_BLOCK_SUSPEND] = "BLOCK_SUSPEND",
        [CAP_AUDIT_READ] = "AUDIT_READ",
        [38] = "PERFMON",               /* linux 5.8; older headers lack the macro */
        [39] = "BPF",
        [40] = "CHECKPOINT_RESTORE",    /* linux 5.9 */
};

/* A table with a hole would make a capability unnameable. */
_Static_assert(CAPS_NAMED == 41, "names[] covers 0 .. CAP_CHECKPOINT_RESTORE");

const char *caps_name(unsigned cap)
{
        return cap < CAPS_NAMED ? names[cap] : NULL;
}

/* Compare at most `len` bytes of `name` (not NUL-terminated in lists). */
static int lookup(const char *name, size_t len)
{
        if (len >= 4 && strncasecmp(name, "CAP_", 4) == 0) {
                name += 4;
                len -= 4;
        }
        for (unsigned i = 0; i < CAPS_NAMED; i++)
                if (names[i] && strlen(names[i]) == len && strncasecmp(name, names[i], len) == 0)
                        return (int)i;
        return -EINVAL;
}

int caps_from_name(const char *name)
{
        return name ? lookup(name, strlen(name)) : -EINVAL;
}

bool caps_is_all(const char *name)
{
        return name && strcasecmp(name, "ALL") == 0;
}

static bool is_separator(char ch)
{
        return ch == ',' || ch == ' ' || ch == '\t';
}

int caps_parse_list(const char *list, bool all_ok, uint64_t *ret_mask, bool *ret_all,
                    const char **ret_bad, int *ret_bad_len)
{
        uint64_t mask = 0;
        bool all = false;

        for (const char *p = list ? list : ""; *p;) {
                size_t len;
                int cap;

                while (is_separator(*p))
                        p++;
                len = strcspn(p, ", \t");
                if (len == 0)
                        break;
                if (all_ok && len == 3 && strncasecmp(p, "ALL", 3) == 0) {
                        all = true;
                        mask = ~UINT64_C(0);
                } else if ((cap = lookup(p, len)) >= 0) {
                        mask |= CAPS_BIT(cap);
                } else {
                        *ret_bad = p;
                        *ret_bad_len = len > 64 ? 64 : (int)len;
                        return -EINVAL;
                }
                p += len;
        }
        *ret_mask = mask;
        if (ret_all)
                *ret_all = all;
        return 0;
}
