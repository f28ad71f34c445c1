/* SPDX-License-Identifier: MIT */
/* The container command's user, groups and rlimits: resolved in the
 * monitor from the image's /etc/passwd and /etc/group, applied in the
 * container process right before exec (see process_settings.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "process_settings.h"
#include "root_path.h"

/* A real /etc/passwd is a few KiB; an image's file is not trusted, so the
 * monitor never reads more than this. */
#define ACCOUNT_FILE_MAX (16u << 20)

/* A piece of a line: the files are parsed in place, never modified. */
struct span {
        const char *p;
        size_t len;
};

static bool span_eq(struct span s, const char *str)
{
        return s.len == strlen(str) && !memcmp(s.p, str, s.len);
}

enum id_parse { ID_OK, ID_NOT_A_NUMBER, ID_OUT_OF_RANGE };

/* Decimal digits only (no sign, no spaces).  (uid_t)-1 is refused: it
 * means "leave unchanged" to setresuid and would keep us root. */
static enum id_parse parse_id(struct span s, uint32_t *ret)
{
        if (s.len == 0)
                return ID_NOT_A_NUMBER;
        uint64_t v = 0;
        for (size_t i = 0; i < s.len; i++) {
                if (s.p[i] < '0' || s.p[i] > '9')
                        return ID_NOT_A_NUMBER;
                if (v <= UINT32_MAX)
                        v = v * 10 + (uint64_t)(s.p[i] - '0');
        }
        if (v >= UINT32_MAX)
                return ID_OUT_OF_RANGE;
        *ret = (uint32_t)v;
        return ID_OK;
}

/* Split `line` at `sep` into at most `max` fields; returns the count, or
 * max + 1 when there are more. */
static size_t split(struct span line, char sep, struct span *fields, size_t max)
{
        size_t n = 0;
        const char *p = line.p, *end = line.p + line.len;
        for (;;) {
                const char *q = memchr(p, sep, (size_t)(end - p));
                if (n == max)
                        return max + 1;
                fields[n++] = (struct span){ p, (size_t)((q ? q : end) - p) };
                if (!q)
                        return n;
                p = q + 1;
        }
}

/* The next line of a file read into memory, without its '\n'.  Lines
 * that cannot be an entry (empty, "#" comments, NIS "+"/"-" lines, an
 * embedded NUL) are skipped here. */
static bool next_line(const char **cursor, const char *end, struct span *ret)
{
        while (*cursor < end) {
                const char *p = *cursor;
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                size_t len = (size_t)((nl ? nl : end) - p);
                *cursor = nl ? nl + 1 : end;
                if (len == 0 || p[0] == '#' || p[0] == '+' || p[0] == '-' || memchr(p, '\0', len))
                        continue;
                *ret = (struct span){ p, len };
                return true;
        }
        return false;
}

/* An account file of the image (its contents, or NULL when it does not
 * exist: every lookup then finds nothing). */
struct account_file {
        const char *path;
        bool loaded;
        char *data;
        size_t len;
};

static void account_file_clear(struct account_file *f)
{
        free(f->data);
        f->data = NULL;
}

static int account_file_load(int root_fd, struct account_file *f, struct quilt_error *err)
{
        if (f->loaded)
                return 0;
        struct quilt_error e = { 0 };
        /* O_PATH first, so nothing but a regular file is ever opened for
         * reading: opening a FIFO would hang the monitor, and opening
         * some devices has effects (a watchdog starts). */
        _cleanup_close_ int path_fd = quilt_openat_in_root(root_fd, f->path, O_PATH | O_CLOEXEC, &e);
        if (path_fd == -ENOENT || path_fd == -ENOTDIR) {
                f->loaded = true;
                return 0;
        }
        /* quilt_openat_in_root says "PATH: reason". */
        if (path_fd < 0 && e.message[0])
                return quilt_error_set(err, path_fd, "reading the container's %s", e.message);
        if (path_fd < 0)
                return quilt_error_set(err, path_fd, "reading the container's %s: %s", f->path,
                                       strerror(-path_fd));
        struct stat st;
        if (fstat(path_fd, &st) < 0)
                return quilt_error_set(err, -errno, "reading the container's %s: %m", f->path);
        if (!S_ISREG(st.st_mode))
                return quilt_error_set(err, -EINVAL, "the container's %s is not a regular file", f->path);
        if (st.st_size > (off_t)ACCOUNT_FILE_MAX)
                return quilt_error_set(err, -EFBIG, "the container's %s is larger than %u MiB",
                                       f->path, ACCOUNT_FILE_MAX >> 20);
        /* Reopen that very file (no second path walk) for reading. */
        char proc_path[64];
        snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", path_fd);
        _cleanup_close_ int fd = open(proc_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return quilt_error_set(err, -errno, "reading the container's %s: %m", f->path);

        /* The size may change while we read: read to EOF, bounded. */
        size_t cap = (size_t)st.st_size + 1, len = 0;
        _cleanup_free_ char *data = malloc(cap);
        if (!data)
                return quilt_error_set(err, -ENOMEM, "reading the container's %s: out of memory", f->path);
        for (;;) {
                if (len == cap) {
                        if (cap > ACCOUNT_FILE_MAX)
                                return quilt_error_set(err, -EFBIG, "the container's %s is larger than %u MiB",
                                                       f->path, ACCOUNT_FILE_MAX >> 20);
                        size_t ncap = cap * 2 > ACCOUNT_FILE_MAX + 1 ? ACCOUNT_FILE_MAX + 1 : cap * 2;
                        char *n = realloc(data, ncap);
                        if (!n)
                                return quilt_error_set(err, -ENOMEM, "reading the container's %s: out of memory",
                                                       f->path);
                        data = n;
                        cap = ncap;
                }
                ssize_t r = read(fd, data + len, cap - len);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return quilt_error_set(err, -errno, "reading the container's %s: %m", f->path);
                if (r == 0)
                        break;
                len += (size_t)r;
        }
        /* A terminator after the last line, so a field at the very end of
         * the file can be copied with str* functions. */
        if (len == cap) {
                char *n = realloc(data, cap + 1);
                if (!n)
                        return quilt_error_set(err, -ENOMEM, "reading the container's %s: out of memory",
                                               f->path);
                data = n;
        }
        data[len] = '\0';
        f->data = TAKE_PTR(data);
        f->len = len;
        f->loaded = true;
        return 0;
}

/* name:password:uid:gid:gecos:home:shell; gecos, home and shell may be
 * missing in hand-made images. */
struct passwd_entry {
        struct span name;
        uint32_t uid, gid;
        struct span home;
};

static bool parse_passwd_line(struct span line, struct passwd_entry *ret)
{
        struct span f[7];
        size_t n = split(line, ':', f, ELEMENTSOF(f));
        if (n < 4 || n > ELEMENTSOF(f) || f[0].len == 0)
                return false;
        if (parse_id(f[2], &ret->uid) != ID_OK || parse_id(f[3], &ret->gid) != ID_OK)
                return false;
        ret->name = f[0];
        ret->home = n > 5 ? f[5] : (struct span){ "", 0 };
        return true;
}

/* The first entry named `name`, or (name == NULL) with uid `uid`. */
static bool passwd_find(const struct account_file *f, const char *name, uint32_t uid,
                        struct passwd_entry *ret)
{
        const char *cursor = f->data, *end = f->data ? f->data + f->len : NULL;
        struct span line;
        while (f->data && next_line(&cursor, end, &line)) {
                struct passwd_entry e;
                if (!parse_passwd_line(line, &e))
                        continue;
                if (name ? span_eq(e.name, name) : e.uid == uid) {
                        *ret = e;
                        return true;
                }
        }
        return false;
}

/* name:password:gid[:member,member...] */
struct group_entry {
        struct span name;
        uint32_t gid;
        struct span members;
};

static bool parse_group_line(struct span line, struct group_entry *ret)
{
        struct span f[4];
        size_t n = split(line, ':', f, ELEMENTSOF(f));
        if (n < 3 || n > ELEMENTSOF(f) || f[0].len == 0)
                return false;
        if (parse_id(f[2], &ret->gid) != ID_OK)
                return false;
        ret->name = f[0];
        ret->members = n > 3 ? f[3] : (struct span){ "", 0 };
        return true;
}

static bool group_find(const struct account_file *f, const char *name, uint32_t *ret_gid)
{
        const char *cursor = f->data, *end = f->data ? f->data + f->len : NULL;
        struct span line;
        while (f->data && next_line(&cursor, end, &line)) {
                struct group_entry e;
                if (parse_group_line(line, &e) && span_eq(e.name, name)) {
                        *ret_gid = e.gid;
                        return true;
                }
        }
        return false;
}

static bool has_member(struct span members, struct span user)
{
        const char *p = members.p, *end = members.p + members.len;
        while (p < end) {
                const char *q = memchr(p, ',', (size_t)(end - p));
                size_t len = (size_t)((q ? q : end) - p);
                if (len == user.len && !memcmp(p, user.p, len))
                        return true;
                p = q ? q + 1 : end;
        }
        return false;
}

/* The growing setgroups list. */
struct gid_list {
        gid_t *v;
        size_t n, cap;
};

static int gid_list_add(struct gid_list *l, gid_t gid)
{
        if (l->n == l->cap) {
                size_t ncap = l->cap ? l->cap * 2 : 16;
                gid_t *v = reallocarray(l->v, ncap, sizeof(*v));
                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->cap = ncap;
        }
        l->v[l->n++] = gid;
        return 0;
}

static void gid_list_free(struct gid_list *l)
{
        free(l->v);
        l->v = NULL;
}

static int cmp_gid(const void *a, const void *b)
{
        gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
        return x < y ? -1 : x > y;
}

/* Keep v[0] (the primary gid) first; sort the rest and drop repeats,
 * sorting rather than checking each add, so a crafted /etc/group cannot
 * make this quadratic. */
static void gid_list_unique(struct gid_list *l)
{
        if (l->n < 2)
                return;
        qsort(l->v + 1, l->n - 1, sizeof(gid_t), cmp_gid);
        size_t out = 1;
        for (size_t i = 1; i < l->n; i++)
                if (l->v[i] != l->v[0] && (out == 1 || l->v[i] != l->v[out - 1]))
                        l->v[out++] = l->v[i];
        l->n = out;
}

/* A group given by the request: a gid or a name in /etc/group. */
static int resolve_group(int root_fd, struct account_file *group_file, const char *what,
                         const char *spec, const char *group, gid_t *ret, struct quilt_error *err)
{
        uint32_t gid;
        switch (parse_id((struct span){ group, strlen(group) }, &gid)) {
        case ID_OK:
                *ret = gid;
                return 0;
        case ID_OUT_OF_RANGE:
                return quilt_error_set(err, -EINVAL, "%s '%s': gid out of range", what, spec);
        case ID_NOT_A_NUMBER:
                break;
        }
        int r = account_file_load(root_fd, group_file, err);
        if (r < 0)
                return r;
        if (!group_find(group_file, group, &gid))
                return quilt_error_set(err, -ENOENT, "group '%s' not found in the container's /etc/group", group);
        *ret = gid;
        return 0;
}

void quilt_process_settings_clear(struct quilt_process_settings *s)
{
        if (!s)
                return;
        free(s->groups);
        free(s->home);
        free(s->rlimits);
        *s = (struct quilt_process_settings){ 0 };
}

static int resolve_rlimits(const struct quilt_rlimit_spec *rlimits, size_t n,
                           struct quilt_process_settings *s, struct quilt_error *err)
{
        char msg[QUILT_ERROR_MESSAGE_MAX];
        int r = quilt_rlimit_check_list(rlimits, n, msg, sizeof(msg));
        if (r < 0)
                return quilt_error_set(err, r, "%s", msg);
        if (n == 0)
                return 0;
        s->rlimits = calloc(n, sizeof(*s->rlimits));
        if (!s->rlimits)
                return quilt_error_set(err, -ENOMEM, "rlimits: out of memory");
        for (size_t i = 0; i < n; i++)
                s->rlimits[i] = (struct quilt_process_rlimit){
                        .resource = quilt_rlimit_resource(rlimits[i].type),
                        .limit = {
                                .rlim_cur = quilt_rlimit_value(rlimits[i].soft),
                                .rlim_max = quilt_rlimit_value(rlimits[i].hard),
                        },
                };
        s->n_rlimits = n;
        return 0;
}

static int resolve(int root_fd, const char *user, char *const *groups, size_t n_groups,
                   struct account_file *passwd_file, struct account_file *group_file,
                   struct quilt_process_settings *s, struct quilt_error *err)
{
        if (!user || !*user)
                user = "0";

        /* USER[:GROUP] */
        const char *colon = strchr(user, ':');
        _cleanup_free_ char *user_part = colon ? strndup(user, (size_t)(colon - user)) : strdup(user);
        if (!user_part)
                return quilt_error_set(err, -ENOMEM, "user: out of memory");
        const char *group_part = colon ? colon + 1 : NULL;
        if (!*user_part)
                return quilt_error_set(err, -EINVAL, "user '%s': no user before ':'", user);
        if (group_part && !*group_part)
                return quilt_error_set(err, -EINVAL, "user '%s': no group after ':'", user);
        if (group_part && strchr(group_part, ':'))
                return quilt_error_set(err, -EINVAL, "user '%s': more than one ':'", user);

        int r = account_file_load(root_fd, passwd_file, err);
        if (r < 0)
                return r;

        struct passwd_entry pw;
        bool found;
        uint32_t uid;
        switch (parse_id((struct span){ user_part, strlen(user_part) }, &uid)) {
        case ID_OK:
                /* Like Docker: a uid the image does not know is fine. */
                found = passwd_find(passwd_file, NULL, uid, &pw);
                break;
        case ID_OUT_OF_RANGE:
                return quilt_error_set(err, -EINVAL, "user '%s': uid out of range", user);
        default:
                found = passwd_find(passwd_file, user_part, 0, &pw);
                if (!found)
                        return quilt_error_set(err, -ENOENT, "user '%s' not found in the container's /etc/passwd",
                                               user_part);
                uid = pw.uid;
                break;
        }
        s->uid = uid;
        s->gid = found ? pw.gid : 0;
        if (found && pw.home.len > 0)
                s->home = strndup(pw.home.p, pw.home.len);
        else
                s->home = strdup("/");
        if (!s->home)
                return quilt_error_set(err, -ENOMEM, "user: out of memory");

        if (group_part) {
                r = resolve_group(root_fd, group_file, "user", user, group_part, &s->gid, err);
                if (r < 0)
                        return r;
        }

        _cleanup_(gid_list_free) struct gid_list list = { 0 };
        r = gid_list_add(&list, s->gid);
        if (r < 0)
                return quilt_error_set(err, r, "groups: out of memory");

        /* initgroups: the groups that list the user as a member; an
         * explicit GROUP means just that group (as in Docker). */
        if (found && !group_part) {
                r = account_file_load(root_fd, group_file, err);
                if (r < 0)
                        return r;
                const char *cursor = group_file->data;
                const char *end = group_file->data ? group_file->data + group_file->len : NULL;
                struct span line;
                while (group_file->data && next_line(&cursor, end, &line)) {
                        struct group_entry g;
                        if (!parse_group_line(line, &g) || !has_member(g.members, pw.name))
                                continue;
                        r = gid_list_add(&list, g.gid);
                        if (r < 0)
                                return quilt_error_set(err, r, "groups: out of memory");
                }
        }

        for (size_t i = 0; i < n_groups; i++) {
                const char *g = groups[i];
                if (!g || !*g)
                        return quilt_error_set(err, -EINVAL, "supplementary group %zu is empty", i + 1);
                gid_t gid;
                r = resolve_group(root_fd, group_file, "supplementary group", g, g, &gid, err);
                if (r < 0)
                        return r;
                r = gid_list_add(&list, gid);
                if (r < 0)
                        return quilt_error_set(err, r, "groups: out of memory");
        }

        gid_list_unique(&list);
        long max = sysconf(_SC_NGROUPS_MAX);
        if (max > 0 && list.n > (size_t)max)
                return quilt_error_set(err, -EINVAL, "user '%s': %zu groups, more than the system's %ld",
                                       user, list.n, max);
        s->groups = TAKE_PTR(list.v);
        s->n_groups = list.n;
        return 0;
}

int quilt_process_resolve(int root_fd, const char *user,
                          char *const *groups, size_t n_groups,
                          const struct quilt_rlimit_spec *rlimits, size_t n_rlimits,
                          struct quilt_process_settings *ret, struct quilt_error *err)
{
        _cleanup_(account_file_clear) struct account_file passwd_file = { .path = "/etc/passwd" };
        _cleanup_(account_file_clear) struct account_file group_file = { .path = "/etc/group" };
        struct quilt_process_settings s = { 0 };

        quilt_process_settings_clear(ret);
        int r = resolve_rlimits(rlimits, n_rlimits, &s, err);
        if (r >= 0)
                r = resolve(root_fd, user, groups, n_groups, &passwd_file, &group_file, &s, err);
        if (r < 0) {
                quilt_process_settings_clear(&s);
                return r;
        }
        *ret = s;
        return 0;
}

int quilt_process_apply(const struct quilt_process_settings *s, struct quilt_error *err)
{
        int r = quilt_process_apply_rlimits(s, err);
        return r < 0 ? r : quilt_process_apply_ids(s, err);
}

int quilt_process_apply_rlimits(const struct quilt_process_settings *s, struct quilt_error *err)
{
        for (size_t i = 0; i < s->n_rlimits; i++)
                if (setrlimit(s->rlimits[i].resource, &s->rlimits[i].limit) < 0)
                        return quilt_error_set(err, -errno, "setrlimit %s: %m",
                                               quilt_rlimit_name(s->rlimits[i].resource));
        return 0;
}

int quilt_process_apply_ids(const struct quilt_process_settings *s, struct quilt_error *err)
{
        /* Always with the ids: otherwise the command keeps the monitor's
         * own groups. */
        if (setgroups(s->n_groups, s->groups) < 0)
                return quilt_error_set(err, -errno, "setgroups: %m");
        if (setresgid(s->gid, s->gid, s->gid) < 0)
                return quilt_error_set(err, -errno, "setresgid %u: %m", (unsigned)s->gid);
        if (setresuid(s->uid, s->uid, s->uid) < 0)
                return quilt_error_set(err, -errno, "setresuid %u: %m", (unsigned)s->uid);
        return 0;
}
