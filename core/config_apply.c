/* SPDX-License-Identifier: MIT */
/* The table-driven parser plugins reach through quilt_host.config_apply:
 * each `key = value` of a section is looked up in the plugin's static key
 * table and stored at its offset.  Plugins thus never parse strings
 * themselves, and every message has the same shape. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "util.h"

__attribute__((format(printf, 4, 5)))
static int fail(const struct quilt_config_section *section, const struct quilt_config_entry *e,
                struct quilt_error *err, const char *fmt, ...)
{
        char what[QUILT_ERROR_MESSAGE_MAX];
        const char *file = e->file ? e->file : section->file ? section->file : "(config)";
        const char *name = section->name ? section->name : "?";
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        if (e->line > 0)
                return quilt_error_set(err, -EINVAL, "%s:%d: [%s] %s", file, e->line, name, what);
        return quilt_error_set(err, -EINVAL, "%s: [%s] %s", file, name, what);
}

/* Add ", word" to the list in buf; a list that long is cut like any
 * other message. */
static void list_add(char *buf, size_t size, size_t *len, const char *word)
{
        int n = snprintf(buf + *len, size - *len, "%s%s", *len ? ", " : "", word);
        if (n > 0)
                *len = (size_t)n >= size - *len ? size - 1 : *len + (size_t)n;
}

int quilt_config_parse_bool(const char *v, bool *ret)
{
        static const char *const yes[] = { "true", "yes", "on", "1" };
        static const char *const no[] = { "false", "no", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(v, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* Decimal or 0x hex, no sign, no blanks: strtoull would take "-1",
 * " 1" and octal "010", none of which a config means. */
static int parse_uint64(const char *v, uint64_t *ret)
{
        unsigned base = 10;
        uint64_t n = 0;

        if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
                base = 16;
                v += 2;
        }
        if (!*v)
                return -EINVAL;
        for (; *v; v++) {
                unsigned d;

                if (*v >= '0' && *v <= '9')
                        d = (unsigned)(*v - '0');
                else if (base == 16 && *v >= 'a' && *v <= 'f')
                        d = (unsigned)(*v - 'a' + 10);
                else if (base == 16 && *v >= 'A' && *v <= 'F')
                        d = (unsigned)(*v - 'A' + 10);
                else
                        return -EINVAL;
                if (n > (UINT64_MAX - d) / base)
                        return -ERANGE;
                n = n * base + d;
        }
        *ret = n;
        return 0;
}

static int apply_one(const struct quilt_config_section *section, const struct quilt_config_entry *e,
                     const struct quilt_config_key *k, void *field, struct quilt_error *err)
{
        const char *v = e->value ? e->value : "";
        char list[QUILT_ERROR_MESSAGE_MAX];
        size_t len;
        int r;

        switch (k->type) {
        case QUILT_CONFIG_BOOL:
                if (quilt_config_parse_bool(v, field) < 0)
                        return fail(section, e, err, "%s: '%s' is not a boolean "
                                    "(true/false, yes/no, on/off, 1/0)", e->key, v);
                return 0;
        case QUILT_CONFIG_STRING:
                *(const char **)field = v;
                return 0;
        case QUILT_CONFIG_UINT64:
                r = parse_uint64(v, field);
                if (r == -ERANGE)
                        return fail(section, e, err, "%s: '%s' is out of range (at most %llu)",
                                    e->key, v, (unsigned long long)UINT64_MAX);
                if (r < 0)
                        return fail(section, e, err, "%s: '%s' is not an unsigned number "
                                    "(decimal or 0x hex)", e->key, v);
                return 0;
        case QUILT_CONFIG_CHOICE:
                for (int i = 0; k->choices && k->choices[i]; i++)
                        if (strcmp(v, k->choices[i]) == 0) {
                                *(int *)field = i;
                                return 0;
                        }
                snprintf(list, sizeof(list), "none");
                len = 0;
                for (int i = 0; k->choices && k->choices[i]; i++)
                        list_add(list, sizeof(list), &len, k->choices[i]);
                return fail(section, e, err, "%s: '%s' is not one of %s", e->key, v, list);
        }
        return fail(section, e, err, "%s: key table has an unknown type %d", e->key, (int)k->type);
}

int quilt_config_apply(const struct quilt_config_section *section,
                       const struct quilt_config_key *table, void *target,
                       struct quilt_error *err)
{
        if (!section)
                return 0;
        for (size_t i = 0; i < section->n_entries; i++) {
                const struct quilt_config_entry *e = &section->entries[i];
                const struct quilt_config_key *k = table;

                while (k && k->key && strcmp(k->key, e->key) != 0)
                        k++;
                if (!k || !k->key) {
                        char known[QUILT_ERROR_MESSAGE_MAX] = "none";
                        size_t len = 0;

                        for (k = table; k && k->key; k++)
                                list_add(known, sizeof(known), &len, k->key);
                        return fail(section, e, err, "unknown key '%s' (known: %s)", e->key, known);
                }
                int r = apply_one(section, e, k, (char *)target + k->offset, err);
                if (r < 0)
                        return r;
        }
        return 0;
}
