/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mount_spec.h"
#include "units.h"

#define VOLUME_NAME_RULE "[A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 characters"

__attribute__((format(printf, 2, 3)))
static int fail(char **ret_error, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(ret_error, fmt, ap);
        va_end(ap);
        if (r < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return -EINVAL;
}

static int oom(char **ret_error)
{
        *ret_error = NULL;
        return -ENOMEM;
}

void quilt_mount_spec_clear(struct quilt_mount_spec *m)
{
        free(m->source);
        free(m->target);
        *m = (struct quilt_mount_spec) {};
}

void quilt_cli_rlimit_clear(struct quilt_cli_rlimit *r)
{
        free(r->type);
        *r = (struct quilt_cli_rlimit) {};
}

/* The daemon resolves paths itself and knows nothing of our working
 * directory: a relative host path is refused rather than guessed. */
static int check_host_path(const char *src, char **ret_error)
{
        if (src[0] == '/')
                return 0;
        const char *rest = src;
        while (!strncmp(rest, "./", 2))
                rest += 2;
        return fail(ret_error, "host path '%s' is relative: give it as an absolute path (\"$PWD/%s\")",
                    src, rest);
}

static int check_target(const char *dst, char **ret_error)
{
        if (!dst[0])
                return fail(ret_error, "the target (a path in the container) is missing");
        if (dst[0] != '/')
                return fail(ret_error, "target '%s' is not an absolute path in the container", dst);
        return 0;
}

static int check_volume_name(const char *name, char **ret_error)
{
        if (quilt_volume_name_is_valid(name))
                return 0;
        return fail(ret_error, "'%s' is not a valid volume name (" VOLUME_NAME_RULE ")", name);
}

/* "ro" or "rw" of -v and --tmpfs; false when `o` is neither. */
static bool parse_ro_rw(const char *o, bool *read_only)
{
        if (strcmp(o, "ro") && strcmp(o, "rw"))
                return false;
        *read_only = !strcmp(o, "ro");
        return true;
}

/* *ret = `m` with copies of `source` (NULL: none) and `target`. */
static int finish_spec(struct quilt_mount_spec m, const char *source, const char *target,
                       struct quilt_mount_spec *ret, char **ret_error)
{
        m.source = source ? strdup(source) : NULL;
        m.target = strdup(target);
        if ((source && !m.source) || !m.target) {
                quilt_mount_spec_clear(&m);
                return oom(ret_error);
        }
        *ret = m;
        return 0;
}

/* SRC of -v: a host path or a volume name (anything else is refused with
 * what it was most likely meant as). */
static int classify_source(const char *src, struct quilt_mount_spec *m, char **ret_error)
{
        if (!src[0])
                return fail(ret_error, "the source (a host path or a volume name) is missing");
        if (src[0] == '/') {
                m->type = "bind";
                return 0;
        }
        if (quilt_volume_name_is_valid(src)) {
                m->type = "volume";
                return 0;
        }
        if (src[0] == '.' || src[0] == '~' || strchr(src, '/'))
                return check_host_path(src, ret_error);
        return fail(ret_error, "'%s' is neither an absolute host path nor a volume name (" VOLUME_NAME_RULE ")",
                    src);
}

/* An octal mode, 1..07777. */
static int parse_mode(const char *s, uint32_t *ret, char **ret_error)
{
        uint32_t v = 0;
        if (!s[0])
                return fail(ret_error, "mode= needs an octal mode such as 1777");
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '7')
                        return fail(ret_error, "mode '%s' is not an octal mode such as 1777", s);
                v = v * 8 + (uint32_t)(*p - '0');
                if (v > 07777)
                        return fail(ret_error, "mode '%s' is larger than 7777", s);
        }
        if (v == 0)
                return fail(ret_error, "mode '%s' leaves no access at all", s);
        *ret = v;
        return 0;
}

static int parse_size(const char *s, int64_t *ret, char **ret_error)
{
        const char *error = NULL;
        if (quilt_parse_size(s, ret, &error) < 0)
                return fail(ret_error, "size '%s' %s", s, error ? error : "is not a size");
        return 0;
}

/* "true"/"false" (and 1/0) of a flag given a value: readonly=true. */
static int parse_bool(const char *key, const char *s, bool *ret, char **ret_error)
{
        if (!s || !strcmp(s, "true") || !strcmp(s, "1")) {
                *ret = true;
                return 0;
        }
        if (!strcmp(s, "false") || !strcmp(s, "0")) {
                *ret = false;
                return 0;
        }
        return fail(ret_error, "%s=%s: use true or false", key, s);
}

int quilt_parse_volume_option(const char *arg, struct quilt_mount_spec *ret, char **ret_error)
{
        struct quilt_mount_spec m = {};
        char *copy = strdup(arg);
        if (!copy)
                return oom(ret_error);
        char *src = copy, *dst = strchr(copy, ':'), *opts = NULL;
        int r = 0;
        if (!dst) {
                r = fail(ret_error, "'%s' is not SRC:DST[:ro|rw] (anonymous volumes are not supported)", arg);
                goto out;
        }
        *dst++ = '\0';
        if ((opts = strchr(dst, ':')))
                *opts++ = '\0';
        if (opts && strchr(opts, ':')) {
                r = fail(ret_error, "'%s' has too many ':' for SRC:DST[:ro|rw] (paths with ':' need --mount)",
                         arg);
                goto out;
        }
        if ((r = classify_source(src, &m, ret_error)) < 0 || (r = check_target(dst, ret_error)) < 0)
                goto out;
        if (opts) {
                char *save = NULL;
                if (!opts[0]) {
                        r = fail(ret_error, "'%s' ends in ':': give ro or rw after it, or nothing", arg);
                        goto out;
                }
                for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
                        if (!parse_ro_rw(o, &m.read_only)) {
                                r = fail(ret_error, "unknown mount option '%s' (ro or rw)", o);
                                goto out;
                        }
                }
        }
        r = finish_spec(m, src, dst, ret, ret_error);
out:
        free(copy);
        return r;
}

/* Docker's --mount keys and their aliases. */
static bool key_is(const char *key, const char *const *names)
{
        for (; *names; names++)
                if (!strcmp(key, *names))
                        return true;
        return false;
}

static const char *const KEY_TYPE[] = { "type", NULL };
static const char *const KEY_SOURCE[] = { "source", "src", NULL };
static const char *const KEY_TARGET[] = { "target", "destination", "dst", NULL };
static const char *const KEY_READONLY[] = { "readonly", "ro", NULL };
static const char *const KEY_SIZE[] = { "size", "tmpfs-size", NULL };
static const char *const KEY_MODE[] = { "mode", "tmpfs-mode", NULL };

/* The parts of a --mount value before they are checked together. */
struct mount_fields {
        const char *type, *source, *target;
        bool read_only, has_size, has_mode;
        int64_t size;
        uint32_t mode;
};

static int mount_field(char *item, struct mount_fields *f, char **ret_error)
{
        char *value = strchr(item, '=');
        if (value)
                *value++ = '\0';
        if (key_is(item, KEY_READONLY))
                return parse_bool(item, value, &f->read_only, ret_error);
        if (!value)
                return fail(ret_error, "'%s' needs a value (%s=...)", item, item);
        if (key_is(item, KEY_TYPE)) {
                if (strcmp(value, "bind") && strcmp(value, "tmpfs") && strcmp(value, "volume"))
                        return fail(ret_error, "type '%s' is not bind, tmpfs or volume", value);
                f->type = value;
        } else if (key_is(item, KEY_SOURCE))
                f->source = value;
        else if (key_is(item, KEY_TARGET))
                f->target = value;
        else if (key_is(item, KEY_SIZE)) {
                f->has_size = true;
                return parse_size(value, &f->size, ret_error);
        } else if (key_is(item, KEY_MODE)) {
                f->has_mode = true;
                return parse_mode(value, &f->mode, ret_error);
        } else
                return fail(ret_error, "unknown key '%s' (type, source, target, readonly, size, mode)", item);
        return 0;
}

int quilt_parse_mount_option(const char *arg, struct quilt_mount_spec *ret, char **ret_error)
{
        struct mount_fields f = { .type = "volume" };   /* Docker's default type */
        struct quilt_mount_spec m = {};
        char *copy = strdup(arg), *save = NULL;
        int r = 0;
        if (!copy)
                return oom(ret_error);
        for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save))
                if ((r = mount_field(item, &f, ret_error)) < 0)
                        goto out;

        m.type = !strcmp(f.type, "bind") ? "bind" : !strcmp(f.type, "tmpfs") ? "tmpfs" : "volume";
        if (!f.target) {
                r = fail(ret_error, "target=PATH (in the container) is missing");
                goto out;
        }
        if ((r = check_target(f.target, ret_error)) < 0)
                goto out;
        if (!strcmp(m.type, "tmpfs")) {
                if (f.source) {
                        r = fail(ret_error, "a tmpfs mount takes no source");
                        goto out;
                }
        } else {
                if (f.has_size || f.has_mode) {
                        r = fail(ret_error, "%s only goes with type=tmpfs", f.has_size ? "size" : "mode");
                        goto out;
                }
                if (!f.source || !f.source[0]) {
                        r = fail(ret_error, !strcmp(m.type, "bind")
                                                    ? "a bind mount needs source=/HOST/PATH"
                                                    : "a volume mount needs source=NAME (anonymous volumes are not supported)");
                        goto out;
                }
                r = !strcmp(m.type, "bind") ? check_host_path(f.source, ret_error)
                                            : check_volume_name(f.source, ret_error);
                if (r < 0)
                        goto out;
        }
        m.read_only = f.read_only;
        m.size_bytes = f.size;
        m.mode = f.mode;
        r = finish_spec(m, f.source, f.target, ret, ret_error);
out:
        free(copy);
        return r;
}

int quilt_parse_tmpfs_option(const char *arg, struct quilt_mount_spec *ret, char **ret_error)
{
        struct quilt_mount_spec m = { .type = "tmpfs" };
        char *copy = strdup(arg), *save = NULL;
        int r = 0;
        if (!copy)
                return oom(ret_error);
        char *opts = strchr(copy, ':');
        if (opts)
                *opts++ = '\0';
        if ((r = check_target(copy, ret_error)) < 0)
                goto out;
        for (char *o = opts ? strtok_r(opts, ",", &save) : NULL; o; o = strtok_r(NULL, ",", &save)) {
                if (!strncmp(o, "size=", 5))
                        r = parse_size(o + 5, &m.size_bytes, ret_error);
                else if (!strncmp(o, "mode=", 5))
                        r = parse_mode(o + 5, &m.mode, ret_error);
                else if (!parse_ro_rw(o, &m.read_only))
                        r = fail(ret_error, "unsupported tmpfs option '%s' (size=SIZE, mode=OCTAL, ro, rw)", o);
                if (r < 0)
                        goto out;
        }
        r = finish_spec(m, NULL, copy, ret, ret_error);
out:
        free(copy);
        return r;
}

static int parse_limit(const char *s, uint64_t *ret, char **ret_error)
{
        if (!strcmp(s, "unlimited") || !strcmp(s, "-1")) {
                *ret = QUILT_RLIMIT_UNLIMITED;
                return 0;
        }
        uint64_t v = 0;
        if (!s[0])
                return fail(ret_error, "a limit is missing (a number or unlimited)");
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return fail(ret_error, "'%s' is not a number (or unlimited)", s);
                unsigned d = (unsigned)(*p - '0');
                /* UINT64_MAX itself means unlimited on the wire: say so. */
                if (v > (UINT64_MAX - 1 - d) / 10)
                        return fail(ret_error, "'%s' is too large (use unlimited)", s);
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

int quilt_parse_ulimit_option(const char *arg, struct quilt_cli_rlimit *ret, char **ret_error)
{
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg)
                return fail(ret_error, "'%s' is not NAME=SOFT[:HARD] (e.g. nofile=1024:4096)", arg);
        /* The names are quiltd's (rlimits.c): NOFILE, nofile, RLIMIT_NOFILE. */
        char *name = strndup(arg, (size_t)(eq - arg));
        if (!name)
                return oom(ret_error);
        int resource = quilt_rlimit_resource(name);
        free(name);
        if (resource < 0)
                return fail(ret_error, "unknown limit '%.*s' (as, core, cpu, data, fsize, locks, memlock, "
                            "msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)",
                            (int)(eq - arg), arg);

        char *values = strdup(eq + 1);
        if (!values)
                return oom(ret_error);
        char *hard = strchr(values, ':');
        if (hard)
                *hard++ = '\0';
        uint64_t soft_v = 0, hard_v = 0;
        int r = parse_limit(values, &soft_v, ret_error);
        if (r == 0 && hard)
                r = parse_limit(hard, &hard_v, ret_error);
        else if (r == 0)
                hard_v = soft_v;        /* Docker's default */
        if (r == 0 && soft_v > hard_v)
                r = fail(ret_error, "the soft limit %s is above the hard limit %s", values, hard);
        free(values);
        if (r < 0)
                return r;
        /* The wire takes "nofile" as well as "NOFILE" and "RLIMIT_NOFILE";
         * one spelling keeps status output uniform. */
        char *type = strdup(quilt_rlimit_name(resource));
        if (!type)
                return oom(ret_error);
        for (char *p = type; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        *ret = (struct quilt_cli_rlimit) { .type = type, .soft = soft_v, .hard = hard_v };
        return 0;
}
