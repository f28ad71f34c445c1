/* SPDX-License-Identifier: MIT */
/* Private declarations shared by the files of the caps plugin.  Nothing
 * here is exported: the plugin is built with -fvisibility=hidden and only
 * quilt_plugin_v1 (caps.c) is visible.
 *
 * A capability set is a uint64_t mask, bit N = capability N, as in
 * quilt_container.capabilities.  Capabilities numbered 64 and above (no
 * kernel has them yet) can never be in a set: they are always dropped. */
#ifndef QUILT_CAPS_H
#define QUILT_CAPS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "quilt/plugin.h"

#include "cap_names.h"
#include "cleanup.h"         /* header-only: nothing of core/ is linked */

#define CAPS_BIT(n) (UINT64_C(1) << (n))

/* Docker's default 14 (moby oci/caps/defaults.go): CapEff 00000000a80425fb. */
#define CAPS_DEFAULT_LIST                                                        \
        "CHOWN, DAC_OVERRIDE, FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID, "   \
        "SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE"
#define CAPS_DEFAULT_MASK UINT64_C(0x00000000a80425fb)

/* ---- caps_names.c: names <-> numbers ---- */

/* Capabilities this plugin has names for: 0 .. CAPS_NAMED - 1 (the
 * table is plugins/common/cap_names.c, shared with seccomp). */
#define CAPS_NAMED QUILT_CAP_NAMED

/* "NET_ADMIN", "net_admin", "CAP_NET_ADMIN", "Cap_Net_Admin" -> 12.
 * Returns the number, or -EINVAL for a name we do not know ("ALL" too). */
int caps_from_name(const char *name);

/* "NET_ADMIN" for 12; NULL past the table. */
static inline const char *caps_name(unsigned cap)
{
        return quilt_cap_name(cap);
}

/* True for "ALL" in any case: Docker's word for every capability. */
bool caps_is_all(const char *name);

/* A config list "CHOWN, KILL" (commas and/or blanks) into a mask.  "ALL"
 * (only where `all_ok`) sets *ret_all and every bit.  On an unknown name,
 * -EINVAL with *ret_bad / *ret_bad_len pointing at it inside `list`. */
int caps_parse_list(const char *list, bool all_ok, uint64_t *ret_mask, bool *ret_all,
                    const char **ret_bad, int *ret_bad_len);

/* ---- caps_kernel.c: what the running kernel has ---- */

/* The kernel's last capability (its cap_last_cap), probed with
 * PR_CAPBSET_READ; our table's last when it cannot tell. */
unsigned caps_kernel_last(void);

/* Every capability the kernel has that a mask can hold. */
uint64_t caps_kernel_mask(unsigned last);

/* What this process can hand on: the kernel's capabilities that are in
 * our bounding and permitted sets.  Less than the kernel's where quiltd
 * itself runs confined (in a container, under systemd's
 * CapabilityBoundingSet=); capset could not grant the rest. */
uint64_t caps_available(unsigned last);

/* ---- caps_config.c: the [caps] section ---- */

struct caps_config {
        uint64_t default_set;           /* before masking with the kernel's */
        uint64_t allow_add;             /* what requests may add beyond default_set */
        bool allow_add_all;
        bool no_new_privs;
};

/* Apply `section` (may be NULL or empty) over the defaults; errors name
 * FILE:LINE of the offending entry. */
int caps_config_parse(const struct quilt_host *host, const struct quilt_config_section *section,
                      struct caps_config *cfg, struct quilt_error *err);

/* The plugin's state (caps.c). */
struct caps_state {
        const struct quilt_host *host;
        struct caps_config cfg;
        unsigned kernel_last;
        /* Decided in pre_clone for in_child (also where the core's struct
         * has no capabilities field). */
        uint64_t set;
        bool prepared;
};

/* ---- caps_set.c: the request's set (Docker's TweakCapabilities) ---- */

/* `base` + `add` - `drop`, as Docker computes it: ALL in `add` gives every
 * available capability minus `drop`; otherwise ALL in `drop` gives just
 * `add`; otherwise (`base` - `drop`) + `add` (add wins over drop).
 * `available` is caps_available(): `base` is cut to it, and adding a
 * capability outside it is an error (-EINVAL).  Only capabilities in
 * `allowed` may be added beyond `base` (-EPERM).  Unknown names: -EINVAL
 * "cap_add: unknown capability 'FOO'".  `add`/`drop` may be NULL. */
int caps_compute(uint64_t base, uint64_t allowed, uint64_t available, char *const *add,
                 char *const *drop, uint64_t *ret_set, struct quilt_error *err);

/* ---- caps_apply.c: the container process (in_child) ---- */

/* Reduce the calling process to `set`: bounding set (0 .. kernel_last),
 * ambient cleared, inheritable empty, permitted = effective = set,
 * keepcaps off; then no_new_privs when asked.  Allocates nothing. */
int caps_apply(uint64_t set, unsigned kernel_last, bool no_new_privs, struct quilt_error *err);

#endif
