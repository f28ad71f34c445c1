/* SPDX-License-Identifier: MIT */
/* Capability names: the kernel's (linux/capability.h) without "CAP_".
 * Our own table rather than libcap's cap_from_name, so that names are
 * the same whatever libcap a plugin was built against (see cap_names.h). */
#include <linux/capability.h>
#include <stddef.h>

#include "cap_names.h"

static const char *const names[QUILT_CAP_NAMED] = {
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
/* The table ends at CAP_CHECKPOINT_RESTORE (40); a hole in it would make
 * a capability unnameable (test-caps-plugin checks every entry). */
_Static_assert(QUILT_CAP_NAMED == 41, "names[] covers 0 .. CAP_CHECKPOINT_RESTORE");

const char *quilt_cap_name(unsigned cap)
{
        return cap < QUILT_CAP_NAMED ? names[cap] : NULL;
}
