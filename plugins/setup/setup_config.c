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
                return quilt_config_error(section, "setup", "shell", -EINVAL, err,
                                          "shell: '%s' is not an absolute path", cfg->shell);
        /* The request's setup_timeout_seconds is 32 bits: keep the same
         * range, far beyond any sensible limit and safe to turn into ns. */
        if (cfg->timeout > UINT32_MAX)
                return quilt_config_error(section, "setup", "timeout", -EINVAL, err,
                                          "timeout: %llu is more than %lu seconds",
                                          (unsigned long long)cfg->timeout, (unsigned long)UINT32_MAX);
        return 0;
}
