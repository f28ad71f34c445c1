/* SPDX-License-Identifier: MIT */
/* The request's capability set from cap_add and cap_drop, by Docker's
 * rules (moby daemon/caps TweakCapabilities). */
#include <string.h>

#include "caps.h"

/* Names of `list` into a mask; ALL sets *ret_all.  Each name must be one
 * we know and, with `available` != 0, one in it. */
static int names_to_mask(const char *field, char *const *list, uint64_t available,
                         uint64_t *ret_mask, bool *ret_all, struct quilt_error *err)
{
        uint64_t mask = 0;
        bool all = false;

        for (size_t i = 0; list && list[i]; i++) {
                int cap;

                if (caps_is_all(list[i])) {
                        all = true;
                        continue;
                }
                cap = caps_from_name(list[i]);
                if (cap < 0)
                        return quilt_error_set(err, -EINVAL, "%s: unknown capability '%.64s'",
                                               field, list[i]);
                if (available && !(available & CAPS_BIT(cap)))
                        return quilt_error_set(err, -EINVAL,
                                               "%s: capability '%.64s' is not available (the "
                                               "running kernel or quiltd lacks it)",
                                               field, list[i]);
                mask |= CAPS_BIT(cap);
        }
        *ret_mask = mask;
        *ret_all = all;
        return 0;
}

int caps_compute(uint64_t base, uint64_t allowed, uint64_t available, char *const *add,
                 char *const *drop, uint64_t *ret_set, struct quilt_error *err)
{
        uint64_t add_mask, drop_mask, set, refused;
        bool add_all, drop_all;
        int r;

        r = names_to_mask("cap_add", add, available, &add_mask, &add_all, err);
        if (r < 0)
                return r;
        /* Dropping what we lack is a no-op, not an error: the same request
         * then works on old and new kernels. */
        r = names_to_mask("cap_drop", drop, 0, &drop_mask, &drop_all, err);
        if (r < 0)
                return r;

        base &= available;
        if (add_all)
                set = available & ~drop_mask;
        else if (drop_all)
                set = add_mask;
        else
                set = (base & ~drop_mask) | add_mask;

        refused = set & ~base & ~allowed;
        if (refused) {
                unsigned cap = (unsigned)__builtin_ctzll(refused);
                const char *name = caps_name(cap);
                if (add_all)
                        return quilt_error_set(err, -EPERM,
                                               "cap_add: ALL is not allowed ([caps] allow_add "
                                               "does not list %s)", name ? name : "every capability");
                return quilt_error_set(err, -EPERM,
                                       "cap_add: capability '%s' is not allowed ([caps] allow_add)",
                                       name ? name : "?");
        }
        *ret_set = set;
        return 0;
}
