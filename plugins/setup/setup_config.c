/* SPDX-License-Identifier: MIT */
/* The [setup] section: which shell runs the setup commands, and how long
 * each may take. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "setup.h"

static const struct quilt_config_key setup_keys[] = {
        { "shell", QUILT_CONFIG_STRING, offsetof(struct setup_config, shell), NULL },
        { "timeout", QUILT_CONFIG_UINT64, offsetof(struct setup_config, timeout), NULL },
        { NULL, 0, 0, NULL },
};

/* The last entry for `key`: the one config_apply let win. */
static const struct quilt_config_entry *find_entry(const struct quilt_config_section *section,
                                                   const char *key)
{
        const struct quilt_config_entry *found = NULL;

        for (size_t i = 0; section && i < section->n_entries; i++)
                if (section->entries[i].key && strcmp(section->entries[i].key, key) == 0)
                        found = &section->entries[i];
        return found;
}

__attribute__((format(printf, 4, 5)))
static int bad_entry(const struct quilt_config_section *section, const char *key,
                     struct quilt_error *err, const char *fmt, ...)
{
        const struct quilt_config_entry *e = find_entry(section, key);
        const char *file = e && e->file ? e->file : section->file ? section->file : "(config)";
        const char *name = section->name ? section->name : "setup";
        char what[QUILT_ERROR_MESSAGE_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        return quilt_error_set(err, -EINVAL, "%s:%d: [%s] %s", file, e ? e->line : 0, name,
                               what);
}

int setup_config_parse(const struct quilt_host *host, const struct quilt_config_section *section,
                       struct setup_config *cfg, struct quilt_error *err)
{
        int r;

        *cfg = (struct setup_config) {
                .shell = SETUP_SHELL_DEFAULT,
                .timeout = 0,
        };
        if (!section || section->n_entries == 0)
                return 0;

        if (!QUILT_HOST_HAS(host, config_apply))
                return quilt_error_set(err, -ENOTSUP,
                                       "the host offers no config_apply to read [%s]",
                                       section->name ? section->name : "setup");
        r = host->config_apply(section, setup_keys, cfg, err);
        if (r < 0)
                return r;

        /* Resolved inside the container's root, where there is no
         * working directory we could rely on. */
        if (cfg->shell[0] != '/')
                return bad_entry(section, "shell", err, "shell: '%s' is not an absolute path",
                                 cfg->shell);
        /* The request's setup_timeout_seconds is 32 bits: keep the same
         * range, far beyond any sensible limit and safe to turn into ns. */
        if (cfg->timeout > UINT32_MAX)
                return bad_entry(section, "timeout", err,
                                 "timeout: %llu is more than %lu seconds",
                                 (unsigned long long)cfg->timeout, (unsigned long)UINT32_MAX);
        return 0;
}
