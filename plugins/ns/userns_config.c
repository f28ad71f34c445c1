/* SPDX-License-Identifier: MIT */
/* The [userns] section: which host ids the container's ids map to. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "userns.h"

static const char *const idmap_choices[] = { "auto", "chown", NULL };

static const struct quilt_config_key userns_keys[] = {
        { "uid_map", QUILT_CONFIG_STRING, offsetof(struct userns_config, uid_map_value), NULL },
        { "gid_map", QUILT_CONFIG_STRING, offsetof(struct userns_config, gid_map_value), NULL },
        { "subuid", QUILT_CONFIG_STRING, offsetof(struct userns_config, subuid_value), NULL },
        { "subuid_file", QUILT_CONFIG_STRING, offsetof(struct userns_config, subuid_file), NULL },
        { "subgid_file", QUILT_CONFIG_STRING, offsetof(struct userns_config, subgid_file), NULL },
        { "idmap", QUILT_CONFIG_CHOICE, offsetof(struct userns_config, idmap), idmap_choices },
        { NULL, 0, 0, NULL },
};

/* A decimal number that fits 32 bits, the whole of [s, s+len). */
static int parse_u32(const char *s, size_t len, uint32_t *ret)
{
        uint64_t v = 0;

        if (len == 0 || len > 10)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (uint64_t)(s[i] - '0');
        }
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t)v;
        return 0;
}

/* The checks every range passes, wherever it came from. */
static int range_check(const struct quilt_id_range *r, struct quilt_error *err)
{
        if (r->count == 0)
                return quilt_error_set(err, -EINVAL, "the count must be at least 1");
        /* Host root as the container's root would make root in the
         * container root on the host: the one thing this plugin is for
         * is that it is not. */
        if (r->host_start == 0)
                return quilt_error_set(err, -EINVAL,
                                       "host id 0 would map the container's root to the host's root");
        /* (uid_t)-1 is no id: the last host id must stay below it. */
        if ((uint64_t)r->host_start + r->count - 1 >= UINT32_MAX)
                return quilt_error_set(err, -ERANGE, "%u + %u ids go past the last host id %u",
                                       r->host_start, r->count, UINT32_MAX - 1);
        return 0;
}

int userns_range_parse(const char *value, struct quilt_id_range *ret, struct quilt_error *err)
{
        const char *colon = value ? strchr(value, ':') : NULL;
        struct quilt_id_range r;

        if (!colon || strchr(colon + 1, ':'))
                return quilt_error_set(err, -EINVAL, "\"%s\" is not HOST_START:COUNT",
                                       value ? value : "");
        if (parse_u32(value, (size_t)(colon - value), &r.host_start) < 0 ||
            parse_u32(colon + 1, strlen(colon + 1), &r.count) < 0)
                return quilt_error_set(err, -EINVAL,
                                       "\"%s\" is not HOST_START:COUNT (two decimal numbers below 2^32)",
                                       value);
        int e = range_check(&r, err);
        if (e < 0)
                return e;
        *ret = r;
        return 0;
}

int userns_subid_lookup(const char *path, const char *name, struct quilt_id_range *ret,
                        struct quilt_error *err)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return quilt_error_set(err, -errno, "%s: %m", path);
        FILE *f = fdopen(fd, "re");
        if (!f)
                return quilt_error_set(err, -errno, "%s: %m", path);
        fd = -1;                        /* the FILE owns it now */

        size_t name_len = strlen(name);
        char *line = NULL;
        size_t size = 0;
        int r = -ENOENT, lineno = 0;
        while (getline(&line, &size, f) >= 0) {
                lineno++;
                line[strcspn(line, "\r\n")] = '\0';
                if (strncmp(line, name, name_len) != 0 || line[name_len] != ':')
                        continue;
                r = userns_range_parse(line + name_len + 1, ret, err);
                if (r < 0)
                        r = quilt_error_prefix(err, r, "%s:%d: ", path, lineno);
                break;
        }
        free(line);
        fclose(f);
        if (r == -ENOENT)
                quilt_error_set(err, r, "%s has no line for \"%s\"", path, name);
        return r;
}

/* Fill *ret from `key`'s value, with FILE:LINE of that key on error. */
static int range_from_key(const struct quilt_config_section *section, const char *key,
                          const char *value, struct quilt_id_range *ret, struct quilt_error *err)
{
        struct quilt_error why = { 0 };
        int r = userns_range_parse(value, ret, &why);
        if (r < 0)
                return quilt_config_error(section, USERNS_PLUGIN_NAME, key, r, err, "%s: %s", key,
                                          why.message);
        return 0;
}

static int range_from_file(const struct quilt_config_section *section, const char *key,
                           const char *path, const char *name, struct quilt_id_range *ret,
                           struct quilt_error *err)
{
        struct quilt_error why = { 0 };
        int r = userns_subid_lookup(path, name, ret, &why);
        if (r < 0)
                return quilt_config_error(section, USERNS_PLUGIN_NAME, key, r, err, "subuid = %s: %s",
                                          name, why.message);
        return 0;
}

int userns_config_parse(const struct quilt_host *host, const struct quilt_config_section *section,
                        struct userns_config *cfg, struct quilt_error *err)
{
        int r;

        *cfg = (struct userns_config) {
                .subuid_file = USERNS_SUBUID_FILE,
                .subgid_file = USERNS_SUBGID_FILE,
                .idmap = USERNS_IDMAP_AUTO,
                .uid = { USERNS_DEFAULT_START, USERNS_DEFAULT_COUNT },
                .gid = { USERNS_DEFAULT_START, USERNS_DEFAULT_COUNT },
        };
        if (section && section->n_entries > 0) {
                if (!QUILT_HOST_HAS(host, config_apply))
                        return quilt_error_set(err, -ENOTSUP,
                                               "the host offers no config_apply to read [%s]",
                                               section->name ? section->name : USERNS_PLUGIN_NAME);
                r = host->config_apply(section, userns_keys, cfg, err);
                if (r < 0)
                        return r;
        }

        if (cfg->subuid_value) {
                /* One source of truth: a map next to subuid would leave
                 * it unclear which one wins. */
                const char *both = cfg->uid_map_value ? "uid_map" : cfg->gid_map_value ? "gid_map" : NULL;
                if (both)
                        return quilt_config_error(section, USERNS_PLUGIN_NAME, both, -EINVAL, err,
                                                  "%s and subuid exclude each other", both);
                if (cfg->subuid_value[0] == '\0' || strchr(cfg->subuid_value, ':'))
                        return quilt_config_error(section, USERNS_PLUGIN_NAME, "subuid", -EINVAL,
                                                  err, "subuid: \"%s\" is not a user name or uid",
                                                  cfg->subuid_value);
                r = range_from_file(section, "subuid", cfg->subuid_file, cfg->subuid_value,
                                    &cfg->uid, err);
                if (r < 0)
                        return r;
                r = range_from_file(section, "subuid", cfg->subgid_file, cfg->subuid_value,
                                    &cfg->gid, err);
                if (r < 0)
                        return r;
        } else {
                if (cfg->uid_map_value) {
                        r = range_from_key(section, "uid_map", cfg->uid_map_value, &cfg->uid, err);
                        if (r < 0)
                                return r;
                }
                if (cfg->gid_map_value) {
                        r = range_from_key(section, "gid_map", cfg->gid_map_value, &cfg->gid, err);
                        if (r < 0)
                                return r;
                }
        }
        /* Only the ranges are read from here on: the section may go away. */
        cfg->uid_map_value = cfg->gid_map_value = cfg->subuid_value = NULL;
        cfg->subuid_file = cfg->subgid_file = NULL;
        return 0;
}
