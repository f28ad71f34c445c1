/* SPDX-License-Identifier: MIT */
/* quiltd.ini: [daemon], [plugins], [profile.NAME] and plugin sections.
 *
 * inih tokenizes; we feed it one line at a time through a reader callback.
 * That gives us the line number of every key (Debian's inih is built
 * without INI_HANDLER_LINENO) and lets us see section headers ourselves:
 * inih reports keys only, so an empty or a repeated [section] would
 * otherwise pass unnoticed. */
#include <ctype.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "plugin_chain.h"
#include "util.h"

#ifndef QUILT_PLUGIN_DIR_DEFAULT
#define QUILT_PLUGIN_DIR_DEFAULT "/usr/local/lib/quilt/plugins"
#endif

/* Far above any real config, small enough that a wrong path (a disk
 * image, /dev/zero) fails at once instead of filling memory. */
#define CONFIG_MAX_SIZE (1024 * 1024)

/* inih copies key names into a 50-byte buffer and cuts them silently;
 * refuse anything that could have been cut. */
#define KEY_MAX 48

enum section_kind {
        SECTION_NONE,                           /* before the first header */
        SECTION_DAEMON,
        SECTION_PLUGINS,
        SECTION_PROFILE,
        SECTION_PLUGIN,
};

struct header {
        char *name;
        int line;
        enum section_kind kind;
        size_t index;                           /* into cfg->profiles or cfg->sections */
};

struct parser;

/* [daemon]: one static table, one parser per value type (DESIGN habit 9). */
struct daemon_key {
        const char *key;
        int (*parse)(struct parser *p, const struct daemon_key *k, const char *value, void *field);
        size_t offset;
};

static int parse_path(struct parser *p, const struct daemon_key *k, const char *value, void *field);
static int parse_name(struct parser *p, const struct daemon_key *k, const char *value, void *field);
static int parse_log_level(struct parser *p, const struct daemon_key *k, const char *value,
                           void *field);
static int parse_mode(struct parser *p, const struct daemon_key *k, const char *value, void *field);
static int parse_timeout(struct parser *p, const struct daemon_key *k, const char *value,
                         void *field);
static int parse_flag(struct parser *p, const struct daemon_key *k, const char *value, void *field);

static const struct daemon_key daemon_keys[] = {
        { "socket", parse_path, offsetof(struct quilt_config, socket_path) },
        { "state_dir", parse_path, offsetof(struct quilt_config, state_dir) },
        { "plugin_dir", parse_path, offsetof(struct quilt_config, plugin_dir) },
        { "monitor", parse_path, offsetof(struct quilt_config, monitor_path) },
        { "log_level", parse_log_level, offsetof(struct quilt_config, log_level) },
        { "socket_mode", parse_mode, offsetof(struct quilt_config, socket_mode) },
        { "socket_group", parse_name, offsetof(struct quilt_config, socket_group) },
        { "stop_timeout", parse_timeout, offsetof(struct quilt_config, stop_timeout_seconds) },
        { "insecure_registries", parse_name, offsetof(struct quilt_config, insecure_registries) },
        { "init", parse_flag, offsetof(struct quilt_config, init) },
        { "init_path", parse_path, offsetof(struct quilt_config, init_path) },
};

static const char *const log_level_names[] = {
        [QUILT_LOG_ERROR] = "error",
        [QUILT_LOG_WARNING] = "warning",
        [QUILT_LOG_INFO] = "info",
        [QUILT_LOG_DEBUG] = "debug",
};

struct parser {
        struct quilt_config *cfg;
        const char *file;                       /* cfg->path, for messages */
        const char *data;
        size_t len;
        size_t pos;
        int line;                               /* the line inih is working on */
        struct header *headers;                 /* in file order */
        size_t n_headers;
        struct header *cur;                     /* the section keys go to, or NULL */
        int daemon_lines[ELEMENTSOF(daemon_keys)];      /* where each key was set */
        bool failed;
        int error_line;
        struct quilt_error *err;
};

__attribute__((format(printf, 4, 0)))
static int vfail_at(struct parser *p, int line, int code, const char *fmt, va_list ap)
{
        char what[QUILT_ERROR_MESSAGE_MAX];

        /* Only the first error is reported: later ones are often its echo. */
        if (p->failed)
                return code;
        vsnprintf(what, sizeof(what), fmt, ap);
        if (line > 0)
                quilt_error_set(p->err, code, "%s:%d: %s", p->file, line, what);
        else
                quilt_error_set(p->err, code, "%s: %s", p->file, what);
        p->failed = true;
        p->error_line = line;
        return code;
}

__attribute__((format(printf, 4, 5)))
static int fail_at(struct parser *p, int line, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = vfail_at(p, line, code, fmt, ap);
        va_end(ap);
        return r;
}

/* An error on the line being parsed. */
__attribute__((format(printf, 2, 3)))
static int fail(struct parser *p, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = vfail_at(p, p->line, -EINVAL, fmt, ap);
        va_end(ap);
        return r;
}

static int fail_oom(struct parser *p)
{
        return fail_at(p, p->line, -ENOMEM, "out of memory");
}

/* Plugin, instance and profile names: [a-z0-9_-]+. */
static bool name_is_valid(const char *s, size_t n)
{
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
                      s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

/* Section headers may also hold '.' ([profile.x]) and ':' ([rootfs:chroot]).
 * Checking this up front also keeps our reading of a header identical to
 * inih's: no ']', ';' or blank inside the brackets. */
static bool section_name_is_valid(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!name_is_valid(s, 1) && *s != '.' && *s != ':')
                        return false;
        return true;
}

/* Keys: plugins may mirror kernel names ("memory.max"), so a bit wider. */
static bool key_is_valid(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!name_is_valid(s, 1) && !(*s >= 'A' && *s <= 'Z') && *s != '.')
                        return false;
        return true;
}

static void chain_entry_done(struct quilt_chain_entry *e)
{
        free(e->plugin);
        free(e->instance);
}

static void profile_done(struct quilt_profile *prof)
{
        for (size_t i = 0; i < prof->n_entries; i++)
                chain_entry_done(&prof->entries[i]);
        free(prof->entries);
        free(prof->name);
        free(prof->network);
}

static void section_done(struct quilt_config_section *s)
{
        for (size_t i = 0; i < s->n_entries; i++) {
                free((char *)s->entries[i].key);
                free((char *)s->entries[i].value);
        }
        free((struct quilt_config_entry *)s->entries);
        free((char *)s->name);
}

void quilt_config_free(struct quilt_config *cfg)
{
        if (!cfg)
                return;
        free(cfg->path);
        free(cfg->socket_path);
        free(cfg->state_dir);
        free(cfg->plugin_dir);
        free(cfg->monitor_path);
        free(cfg->socket_group);
        free(cfg->insecure_registries);
        free(cfg->init_path);
        for (size_t i = 0; i < cfg->n_profiles; i++)
                profile_done(&cfg->profiles[i]);
        free(cfg->profiles);
        for (size_t i = 0; i < cfg->n_sections; i++)
                section_done(&cfg->sections[i]);
        free(cfg->sections);
        free(cfg);
}

int quilt_config_set_string(char **field, const char *value)
{
        char *copy = NULL;

        if (value) {
                copy = strdup(value);
                if (!copy)
                        return -ENOMEM;
        }
        free(*field);
        *field = copy;
        return 0;
}

struct quilt_config *quilt_config_new_default(void)
{
        struct quilt_config *cfg = calloc(1, sizeof(*cfg));
        if (!cfg)
                return NULL;
        cfg->log_level = QUILT_LOG_INFO;
        cfg->socket_mode = 0660;
        cfg->stop_timeout_seconds = 10;
        cfg->socket_path = strdup(QUILT_DEFAULT_SOCKET);
        cfg->state_dir = strdup(QUILT_DEFAULT_STATE_DIR);
        cfg->plugin_dir = strdup(QUILT_PLUGIN_DIR_DEFAULT);
        /* profiles[0] is always the default chain, here an empty one. */
        cfg->profiles = calloc(1, sizeof(*cfg->profiles));
        if (cfg->profiles) {
                cfg->n_profiles = 1;
                cfg->profiles[0].name = strdup("");
        }
        if (!cfg->socket_path || !cfg->state_dir || !cfg->plugin_dir || !cfg->profiles ||
            !cfg->profiles[0].name) {
                quilt_config_free(cfg);
                return NULL;
        }
        return cfg;
}

const struct quilt_profile *quilt_config_profile(const struct quilt_config *cfg, const char *name)
{
        if (!cfg || cfg->n_profiles == 0)
                return NULL;
        if (!name || !*name)
                return &cfg->profiles[0];
        for (size_t i = 1; i < cfg->n_profiles; i++)
                if (strcmp(cfg->profiles[i].name, name) == 0)
                        return &cfg->profiles[i];
        return NULL;
}

const struct quilt_config_section *quilt_config_section(const struct quilt_config *cfg,
                                                        const char *instance)
{
        /* Only for configs put together by hand (tests) and instances no
         * chain names: a loaded config has a section for every chain entry
         * (add_empty_sections).  Valid until the next call in this thread. */
        static __thread struct quilt_config_section fallback;

        for (size_t i = 0; cfg && i < cfg->n_sections; i++)
                if (cfg->sections[i].name && strcmp(cfg->sections[i].name, instance) == 0)
                        return &cfg->sections[i];
        fallback = (struct quilt_config_section) {
                .name = instance,
                .file = cfg ? cfg->path : NULL,
        };
        return &fallback;
}

/* ---- [daemon] values ---- */

__attribute__((format(printf, 3, 4)))
static int fail_value(struct parser *p, const struct daemon_key *k, const char *fmt, ...)
{
        char what[QUILT_ERROR_MESSAGE_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        return fail(p, "[daemon] %s: %s", k->key, what);
}

static int parse_path(struct parser *p, const struct daemon_key *k, const char *value, void *field)
{
        /* quiltd may change directory; a relative path would change meaning. */
        if (value[0] != '/')
                return fail_value(p, k, "'%s' is not an absolute path", value);
        if (quilt_config_set_string(field, value) < 0)
                return fail_oom(p);
        return 0;
}

static int parse_name(struct parser *p, const struct daemon_key *k, const char *value, void *field)
{
        if (!*value)
                return fail_value(p, k, "empty value");
        if (quilt_config_set_string(field, value) < 0)
                return fail_oom(p);
        return 0;
}

static int parse_log_level(struct parser *p, const struct daemon_key *k, const char *value,
                           void *field)
{
        for (size_t i = 0; i < ELEMENTSOF(log_level_names); i++)
                if (strcmp(value, log_level_names[i]) == 0) {
                        *(int *)field = (int)i;
                        return 0;
                }
        return fail_value(p, k, "expected one of error, warning, info, debug");
}

static int parse_mode(struct parser *p, const struct daemon_key *k, const char *value, void *field)
{
        unsigned mode = 0;
        size_t n = strlen(value);

        /* Up to "07777": the length check keeps the arithmetic in range. */
        if (n == 0 || n > 5 || strspn(value, "01234567") != n)
                return fail_value(p, k, "'%s' is not an octal mode like 0660", value);
        for (const char *s = value; *s; s++)
                mode = mode * 8 + (unsigned)(*s - '0');
        if (mode > 07777)
                return fail_value(p, k, "'%s' is not an octal mode like 0660", value);
        *(unsigned *)field = mode;
        return 0;
}

static int parse_timeout(struct parser *p, const struct daemon_key *k, const char *value,
                         void *field)
{
        unsigned seconds = 0;
        size_t n = strlen(value);

        if (n == 0 || n > 4 || strspn(value, "0123456789") != n)
                goto bad;
        for (const char *s = value; *s; s++)
                seconds = seconds * 10 + (unsigned)(*s - '0');
        if (seconds < 1 || seconds > 3600)
                goto bad;
        *(unsigned *)field = seconds;
        return 0;
bad:
        return fail_value(p, k, "'%s' is not a number of seconds from 1 to 3600", value);
}

static int parse_flag(struct parser *p, const struct daemon_key *k, const char *value, void *field)
{
        if (quilt_config_parse_bool(value, field) < 0)
                return fail_value(p, k, "'%s' is not a boolean (true or false)", value);
        return 0;
}

static int daemon_key(struct parser *p, const char *key, const char *value)
{
        for (size_t i = 0; i < ELEMENTSOF(daemon_keys); i++) {
                const struct daemon_key *k = &daemon_keys[i];

                if (strcmp(k->key, key) != 0)
                        continue;
                if (p->daemon_lines[i] > 0)
                        return fail(p, "duplicate key '%s' in [daemon] (first at line %d)", key,
                                    p->daemon_lines[i]);
                p->daemon_lines[i] = p->line;
                return k->parse(p, k, value, (char *)p->cfg + k->offset);
        }
        return fail(p, "unknown key '%s' in [daemon]", key);
}

/* ---- chains ---- */

static bool instance_in_profile(const struct quilt_profile *prof, const char *instance)
{
        for (size_t i = 0; i < prof->n_entries; i++)
                if (strcmp(prof->entries[i].instance, instance) == 0)
                        return true;
        return false;
}

/* One trimmed entry "plugin" or "plugin:instance" of `len` bytes. */
static int add_chain_entry(struct parser *p, struct quilt_profile *prof, const char *section,
                           const char *s, size_t len)
{
        _cleanup_free_ char *instance = strndup(s, len);
        if (!instance)
                return fail_oom(p);

        const char *colon = memchr(instance, ':', len);
        size_t plugin_len = colon ? (size_t)(colon - instance) : len;
        if (!name_is_valid(instance, plugin_len) ||
            (colon && !name_is_valid(colon + 1, len - plugin_len - 1)))
                return fail(p, "[%s] chain: invalid entry '%s' (expected NAME or NAME:INSTANCE, "
                            "names of a-z, 0-9, _ and -)", section, instance);
        /* The instance names its section, and these two are taken. */
        if (strcmp(instance, "daemon") == 0 || strcmp(instance, "plugins") == 0)
                return fail(p, "[%s] chain: '%s' is a reserved section name", section, instance);
        if (instance_in_profile(prof, instance))
                return fail(p, "[%s] chain: '%s' is listed twice", section, instance);

        _cleanup_free_ char *plugin = strndup(instance, plugin_len);
        if (!plugin)
                return fail_oom(p);
        struct quilt_chain_entry *entries = realloc(prof->entries,
                                                    (prof->n_entries + 1) * sizeof(*entries));
        if (!entries)
                return fail_oom(p);
        prof->entries = entries;
        entries[prof->n_entries++] = (struct quilt_chain_entry) {
                .plugin = TAKE_PTR(plugin),
                .instance = TAKE_PTR(instance),
        };
        return 0;
}

/* "a, b:x ,c"; inih already stripped the ends.  "" is the empty chain. */
static int parse_chain(struct parser *p, struct quilt_profile *prof, const char *section,
                       const char *value)
{
        if (!*value)
                return 0;
        for (const char *s = value;;) {
                const char *comma = strchrnul(s, ',');
                const char *b = s, *e = comma;

                while (b < e && isspace((unsigned char)*b))
                        b++;
                while (e > b && isspace((unsigned char)e[-1]))
                        e--;
                if (b == e)
                        return fail(p, "[%s] chain: empty entry", section);
                int r = add_chain_entry(p, prof, section, b, (size_t)(e - b));
                if (r < 0)
                        return r;
                if (!*comma)
                        return 0;
                s = comma + 1;
        }
}

static int chain_key(struct parser *p, const char *key, const char *value)
{
        struct quilt_profile *prof = &p->cfg->profiles[p->cur->index];

        if (!strcmp(key, "network")) {
                /* Checked against the chain's plugins once they are loaded. */
                if (!quilt_network_feature(value))
                        return fail(p, "[%s] network: '%s' is not none, loopback or bridge",
                                    p->cur->name, value);
                free(prof->network);
                prof->network = strdup(value);
                prof->network_line = p->line;
                return prof->network ? 0 : fail_oom(p);
        }
        if (strcmp(key, "chain") != 0)
                return fail(p, "unknown key '%s' in [%s]", key, p->cur->name);
        if (prof->line > 0)
                return fail(p, "duplicate key 'chain' in [%s] (first at line %d)", p->cur->name,
                            prof->line);
        prof->line = p->line;
        return parse_chain(p, prof, p->cur->name, value);
}

/* ---- plugin sections: stored raw, checked by the plugin's init ---- */

static int plugin_key(struct parser *p, const char *key, const char *value)
{
        struct quilt_config_section *s = &p->cfg->sections[p->cur->index];

        for (size_t i = 0; i < s->n_entries; i++)
                if (strcmp(s->entries[i].key, key) == 0)
                        return fail(p, "duplicate key '%s' in [%s] (first at line %d)", key,
                                    s->name, s->entries[i].line);

        _cleanup_free_ char *k = strdup(key);
        _cleanup_free_ char *v = strdup(value);
        if (!k || !v)
                return fail_oom(p);
        struct quilt_config_entry *entries = realloc((struct quilt_config_entry *)s->entries,
                                                     (s->n_entries + 1) * sizeof(*entries));
        if (!entries)
                return fail_oom(p);
        s->entries = entries;
        entries[s->n_entries++] = (struct quilt_config_entry) {
                .key = TAKE_PTR(k),
                .value = TAKE_PTR(v),
                .file = p->file,
                .line = p->line,
        };
        return 0;
}

static int handler(void *userdata, const char *section, const char *key, const char *value)
{
        struct parser *p = userdata;
        int r;

        /* `section` is inih's copy of the header, cut at 50 bytes; we
         * track the header ourselves (see reader()). */
        (void)section;
        if (p->failed)
                return 0;
        if (strlen(key) > KEY_MAX)
                r = fail(p, "key '%.*s...' is too long (at most %d characters)", KEY_MAX, key,
                         KEY_MAX);
        else if (!key_is_valid(key))
                r = fail(p, "invalid key '%s' (letters, digits, '_', '-' and '.')", key);
        else if (!p->cur)
                r = fail(p, "key '%s' outside of any section", key);
        else if (p->cur->kind == SECTION_DAEMON)
                r = daemon_key(p, key, value);
        else if (p->cur->kind == SECTION_PLUGIN)
                r = plugin_key(p, key, value);
        else
                r = chain_key(p, key, value);
        return r < 0 ? 0 : 1;
}

/* ---- section headers ---- */

static int add_profile(struct parser *p, const char *name, size_t *ret_index)
{
        struct quilt_config *cfg = p->cfg;

        if (!name_is_valid(name, strlen(name)))
                return fail(p, "invalid profile name '%s' (a-z, 0-9, _ and -)", name);
        struct quilt_profile *profiles = realloc(cfg->profiles,
                                                 (cfg->n_profiles + 1) * sizeof(*profiles));
        if (!profiles)
                return fail_oom(p);
        cfg->profiles = profiles;
        char *copy = strdup(name);
        if (!copy)
                return fail_oom(p);
        profiles[cfg->n_profiles] = (struct quilt_profile) { .name = copy, .file = p->file };
        *ret_index = cfg->n_profiles++;
        return 0;
}

static int add_section(struct parser *p, const char *name, size_t *ret_index)
{
        struct quilt_config *cfg = p->cfg;
        struct quilt_config_section *sections = realloc(cfg->sections,
                                                        (cfg->n_sections + 1) * sizeof(*sections));
        if (!sections)
                return fail_oom(p);
        cfg->sections = sections;
        char *copy = strdup(name);
        if (!copy)
                return fail_oom(p);
        sections[cfg->n_sections] = (struct quilt_config_section) {
                .name = copy,
                .file = p->file,
                .line = p->line,
        };
        *ret_index = cfg->n_sections++;
        return 0;
}

/* `line` starts with '['. */
static int parse_header(struct parser *p, const char *line)
{
        const char *close = strchr(line, ']');
        if (!close)
                return fail(p, "syntax error: '[' without ']'");
        for (const char *s = close + 1; *s && *s != ';' && *s != '#'; s++)
                if (!isspace((unsigned char)*s))
                        return fail(p, "syntax error: text after ']'");

        _cleanup_free_ char *name = strndup(line + 1, (size_t)(close - line - 1));
        if (!name)
                return fail_oom(p);
        /* [profile.X] has a message of its own, from add_profile(). */
        if (strncmp(name, "profile.", 8) != 0 && !section_name_is_valid(name))
                return fail(p, "invalid section name [%s]", name);
        for (size_t i = 0; i < p->n_headers; i++)
                if (strcmp(p->headers[i].name, name) == 0)
                        return fail(p, "duplicate section [%s] (first at line %d)", name,
                                    p->headers[i].line);

        struct header h = { .line = p->line };
        int r = 0;
        if (strcmp(name, "daemon") == 0)
                h.kind = SECTION_DAEMON;
        else if (strcmp(name, "plugins") == 0)
                h.kind = SECTION_PLUGINS;       /* index 0: the default chain */
        else if (strncmp(name, "profile.", 8) == 0) {
                h.kind = SECTION_PROFILE;
                r = add_profile(p, name + 8, &h.index);
        } else {
                h.kind = SECTION_PLUGIN;
                r = add_section(p, name, &h.index);
        }
        if (r < 0)
                return r;

        struct header *headers = realloc(p->headers, (p->n_headers + 1) * sizeof(*headers));
        if (!headers)
                return fail_oom(p);
        p->headers = headers;
        h.name = TAKE_PTR(name);
        headers[p->n_headers] = h;
        p->cur = &headers[p->n_headers++];
        return 0;
}

/* inih's fgets-like reader: hands out one line of the buffer per call. */
static char *reader(char *buf, int size, void *userdata)
{
        struct parser *p = userdata;

        if (p->failed || p->pos >= p->len)
                return NULL;
        const char *start = p->data + p->pos;
        const char *nl = memchr(start, '\n', p->len - p->pos);
        size_t n = nl ? (size_t)(nl - start) : p->len - p->pos;
        p->pos += n + (nl ? 1 : 0);
        p->line++;

        if (memchr(start, '\0', n)) {
                fail(p, "NUL byte in line");
                return NULL;
        }
        if (p->line == 1 && n >= 3 && memcmp(start, "\xef\xbb\xbf", 3) == 0) {
                start += 3;
                n -= 3;
        }
        /* Drop the indentation: inih would take an indented line as the
         * continuation of the previous value, which quiltd.ini does not have. */
        while (n > 0 && isspace((unsigned char)*start)) {
                start++;
                n--;
        }
        /* inih's line buffer is `size` bytes; a longer line would be split
         * into two and the second half read as a line of its own. */
        if (size < 3 || n > (size_t)size - 2) {
                fail(p, "line too long (at most %d characters)", size < 3 ? 0 : size - 2);
                return NULL;
        }
        memcpy(buf, start, n);
        buf[n] = '\n';
        buf[n + 1] = '\0';
        if (n > 0 && buf[0] == '[' && parse_header(p, buf) < 0)
                return NULL;
        return buf;
}

/* ---- after the last line ---- */

static bool instance_in_any_chain(const struct quilt_config *cfg, const char *instance)
{
        for (size_t i = 0; i < cfg->n_profiles; i++)
                if (instance_in_profile(&cfg->profiles[i], instance))
                        return true;
        return false;
}

static int check_headers(struct parser *p)
{
        const struct quilt_config *cfg = p->cfg;
        bool have_plugins = false;

        for (size_t i = 0; i < p->n_headers; i++) {
                const struct header *h = &p->headers[i];

                switch (h->kind) {
                case SECTION_PLUGINS:
                        have_plugins = true;
                        /* fall through */
                case SECTION_PROFILE:
                        if (cfg->profiles[h->index].line == 0)
                                return fail_at(p, h->line, -EINVAL, "[%s] has no 'chain' key",
                                               h->name);
                        break;
                case SECTION_PLUGIN:
                        if (!instance_in_any_chain(cfg, h->name))
                                return fail_at(p, h->line, -EINVAL,
                                               "section [%s] is not used by any chain", h->name);
                        break;
                default:
                        break;
                }
        }
        if (!have_plugins)
                return fail_at(p, 0, -EINVAL,
                               "no [plugins] chain (required; 'chain =' runs no plugins)");
        return 0;
}

/* Give every chain entry without a section an empty one (line 0), so
 * that quilt_config_section() returns a pointer that stays valid as long
 * as the config does.  They go after the file's own sections. */
static int add_empty_sections(struct parser *p)
{
        struct quilt_config *cfg = p->cfg;

        for (size_t i = 0; i < cfg->n_profiles; i++)
                for (size_t j = 0; j < cfg->profiles[i].n_entries; j++) {
                        const char *instance = cfg->profiles[i].entries[j].instance;
                        bool found = false;

                        for (size_t k = 0; k < cfg->n_sections && !found; k++)
                                found = strcmp(cfg->sections[k].name, instance) == 0;
                        if (found)
                                continue;
                        struct quilt_config_section *sections =
                                realloc(cfg->sections, (cfg->n_sections + 1) * sizeof(*sections));
                        if (!sections)
                                return fail_at(p, 0, -ENOMEM, "out of memory");
                        cfg->sections = sections;
                        char *name = strdup(instance);
                        if (!name)
                                return fail_at(p, 0, -ENOMEM, "out of memory");
                        sections[cfg->n_sections++] = (struct quilt_config_section) {
                                .name = name,
                                .file = cfg->path,
                        };
                }
        return 0;
}

static void parser_done(struct parser *p)
{
        for (size_t i = 0; i < p->n_headers; i++)
                free(p->headers[i].name);
        free(p->headers);
}

int quilt_config_load_buffer(const char *name, const char *data, size_t len,
                             struct quilt_config **ret, struct quilt_error *err)
{
        struct quilt_error local;
        if (!err)
                err = &local;

        if (!name)
                name = "(config)";
        struct quilt_config *cfg = quilt_config_new_default();
        if (!cfg || quilt_config_set_string(&cfg->path, name) < 0) {
                quilt_config_free(cfg);
                return quilt_error_set(err, -ENOMEM, "%s: out of memory", name);
        }
        cfg->profiles[0].file = cfg->path;

        struct parser p = {
                .cfg = cfg,
                .file = cfg->path,
                .data = data,
                .len = len,
                .err = err,
        };
        int r = ini_parse_stream(reader, &p, handler, &p);
        if (r == -2)
                fail_at(&p, 0, -ENOMEM, "out of memory");
        else if (r > 0 && (!p.failed || r < p.error_line)) {
                /* inih's own complaint (a line without '='), before ours. */
                p.failed = false;
                fail_at(&p, r, -EINVAL,
                        "syntax error: expected 'key = value', '[section]' or a comment");
        } else if (r < 0 && !p.failed)
                fail_at(&p, 0, -EIO, "cannot parse");
        if (!p.failed && check_headers(&p) == 0)
                add_empty_sections(&p);
        parser_done(&p);

        if (p.failed) {
                quilt_config_free(cfg);
                return err->code;
        }
        *ret = cfg;
        return 0;
}

int quilt_config_load(const char *path, struct quilt_config **ret, struct quilt_error *err)
{
        _cleanup_free_ char *data = NULL;
        size_t len = 0, cap = 0;

        /* Not quilt_read_file(): it refuses symlinks, and /etc/quilt/quiltd.ini
         * may well be one. */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return quilt_error_set(err, -errno, "%s: %m", path);
        for (;;) {
                if (len == cap) {
                        if (cap >= CONFIG_MAX_SIZE)
                                return quilt_error_set(err, -EFBIG, "%s: larger than %d bytes",
                                                       path, CONFIG_MAX_SIZE);
                        cap = cap ? cap * 2 : 4096;
                        char *n = realloc(data, cap);
                        if (!n)
                                return quilt_error_set(err, -ENOMEM, "%s: out of memory", path);
                        data = n;
                }
                ssize_t n = read(fd, data + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return quilt_error_set(err, -errno, "%s: %m", path);
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        return quilt_config_load_buffer(path, data, len, ret, err);
}
