/* SPDX-License-Identifier: MIT */
/* Capability names to numbers and lists to masks, over the shared table
 * in plugins/common/cap_names.c. */
#include <string.h>
#include <strings.h>

#include "caps.h"

/* Compare at most `len` bytes of `name` (not NUL-terminated in lists). */
static int lookup(const char *name, size_t len)
{
        if (len >= 4 && strncasecmp(name, "CAP_", 4) == 0) {
                name += 4;
                len -= 4;
        }
        for (unsigned i = 0; i < CAPS_NAMED; i++) {
                const char *known = quilt_cap_name(i);
                if (known && strlen(known) == len && strncasecmp(name, known, len) == 0)
                        return (int)i;
        }
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
