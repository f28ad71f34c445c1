/* SPDX-License-Identifier: MIT */
/* The [caps] section:
 *   default      = the set every container gets (Docker's 14)
 *   allow_add    = ALL, or the capabilities a request may add beyond
 *                  `default` (an empty value: none)
 *   no_new_privs = true: PR_SET_NO_NEW_PRIVS before the setup commands */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "caps.h"

/* What config_apply fills: the lists stay text until we parse them. */
struct caps_raw {
        const char *default_list;
        const char *allow_add;
        bool no_new_privs;
};

static const struct quilt_config_key caps_keys[] = {
        { "default", QUILT_CONFIG_STRING, offsetof(struct caps_raw, default_list), NULL },
        { "allow_add", QUILT_CONFIG_STRING, offsetof(struct caps_raw, allow_add), NULL },
        { "no_new_privs", QUILT_CONFIG_BOOL, offsetof(struct caps_raw, no_new_privs), NULL },
        { NULL, 0, 0, NULL },
};

static int parse_key(const struct quilt_config_section *section, const char *key,
                     const char *value, bool all_ok, uint64_t *ret_mask, bool *ret_all,
                     struct quilt_error *err)
{
        const char *bad = NULL;
        int bad_len = 0;

        if (caps_parse_list(value, all_ok, ret_mask, ret_all, &bad, &bad_len) < 0)
                return quilt_config_error(section, "caps", key, -EINVAL, err,
                                          "%s: unknown capability '%.*s'", key, bad_len, bad);
        return 0;
}

int caps_config_parse(const struct quilt_host *host, const struct quilt_config_section *section,
                      struct caps_config *cfg, struct quilt_error *err)
{
        struct caps_raw raw = {
                .default_list = CAPS_DEFAULT_LIST,
                .allow_add = "ALL",
                .no_new_privs = true,
        };
        int r;

        if (section && section->n_entries > 0) {
                if (!QUILT_HOST_HAS(host, config_apply))
                        return quilt_error_set(err, -ENOTSUP,
                                               "the host offers no config_apply to read [%s]",
                                               section->name ? section->name : "caps");
                r = host->config_apply(section, caps_keys, &raw, err);
                if (r < 0)
                        return r;
        }

        *cfg = (struct caps_config) { .no_new_privs = raw.no_new_privs };
        /* "ALL" as a default would be no confinement at all: allowed (the
         * integrator asked for it), and the mask is cut to the kernel's. */
        r = parse_key(section, "default", raw.default_list, true, &cfg->default_set, NULL, err);
        if (r < 0)
                return r;
        return parse_key(section, "allow_add", raw.allow_add, true, &cfg->allow_add,
                         &cfg->allow_add_all, err);
}
