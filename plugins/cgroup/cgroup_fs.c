/* SPDX-License-Identifier: MIT */
/* Small-file helpers for cgroupfs: every fd O_CLOEXEC, every file read or
 * written whole, every failure as -errno (and a message naming the file and
 * the value when asked for). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cgroup_backend.h"
#include "cgroup_fs.h"

/* cgroup files are small; this bounds a read of something that is not. */
#define CG_READ_MAX (1u << 20)

int cg_read(const char *path, char **ret)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        _cleanup_free_ char *buf = NULL;
        size_t size = 4096, len = 0;

        if (fd < 0)
                return -errno;
        buf = malloc(size);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                /* Keep one byte for the terminator. */
                if (len + 1 >= size) {
                        if (size >= CG_READ_MAX)
                                return -EFBIG;
                        char *bigger = realloc(buf, size * 2);
                        if (!bigger)
                                return -ENOMEM;
                        buf = bigger;
                        size *= 2;
                }
                ssize_t n = read(fd, buf + len, size - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

int cg_write(const char *path, const char *value)
{
        /* O_TRUNC changes nothing on cgroupfs but lets the unit tests'
         * fake tree (regular files) hold exactly the last value written. */
        _cleanup_close_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        size_t len = strlen(value);
        ssize_t n;

        if (fd < 0)
                return -errno;
        do
                n = write(fd, value, len);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if ((size_t)n != len)
                return -EIO;
        return 0;
}

int cg_read_err(const char *path, char **ret, struct quilt_error *err)
{
        int r = cg_read(path, ret);
        if (r < 0)
                return quilt_error_set(err, r, "reading %s: %s", path, strerror(-r));
        return 0;
}

int cg_write_err(const char *path, const char *value, struct quilt_error *err)
{
        int r = cg_write(path, value);
        if (r < 0) {
                /* Values like "+memory +cpu" or "50000 100000" read best
                 * as they are; strip a trailing newline only. */
                size_t len = strlen(value);
                int shown = (int)(len > 0 && value[len - 1] == '\n' ? len - 1 : len);
                return quilt_error_set(err, r, "writing %.*s to %s: %s", shown, value, path,
                                       strerror(-r));
        }
        return 0;
}

int cg_write_u64_err(const char *path, uint64_t value, struct quilt_error *err)
{
        char buf[32];

        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
        return cg_write_err(path, buf, err);
}

int cg_join(char **ret, const char *dir, const char *name)
{
        size_t dl = strlen(dir);

        while (dl > 1 && dir[dl - 1] == '/')
                dl--;
        while (*name == '/')
                name++;
        if (asprintf(ret, "%.*s%s%s", (int)dl, dir,
                     *name && !(dl == 1 && dir[0] == '/') ? "/" : "", name) < 0) {
                *ret = NULL;
                return -ENOMEM;
        }
        return 0;
}

bool cg_exists(const char *path)
{
        return access(path, F_OK) == 0;
}

static bool fs_magic_is(const char *path, unsigned long magic)
{
        struct statfs sfs;

        return statfs(path, &sfs) == 0 && (unsigned long)sfs.f_type == magic;
}

bool cgroup_is_cgroup2(const char *path)
{
        return fs_magic_is(path, CGROUP2_SUPER_MAGIC);
}

bool cgroup_is_cgroup1(const char *path)
{
        return fs_magic_is(path, CGROUP_SUPER_MAGIC);
}

int cg_join_err(const char *dir, const char *name, char **ret, struct quilt_error *err)
{
        if (cg_join(ret, dir, name) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

int cg_write_in(const char *dir, const char *name, const char *value, struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL;
        int r = cg_join_err(dir, name, &path, err);

        if (r < 0)
                return r;
        return cg_write_err(path, value, err);
}

int cg_write_u64_in(const char *dir, const char *name, uint64_t value, struct quilt_error *err)
{
        char buf[32];

        snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
        return cg_write_in(dir, name, buf, err);
}

int cg_read_optional(const char *dir, const char *name, char **ret, struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL;
        int r = cg_join_err(dir, name, &path, err);

        *ret = NULL;
        if (r < 0)
                return r;
        r = cg_read(path, ret);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return quilt_error_set(err, r, "reading %s: %s", path, strerror(-r));
        return 0;
}

int cg_mkdir_p(const char *base, const char *rel, cg_created_fn on_created, void *userdata,
               struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL;
        size_t blen;
        int r;

        while (*rel == '/')
                rel++;
        r = cg_join(&path, base, rel);
        if (r < 0)
                return quilt_error_set(err, r, "out of memory");
        blen = strlen(path) - strlen(rel);

        /* Walk the components of rel in place: cut at each slash, mkdir the
         * prefix, put the slash back. */
        for (char *p = path + blen; *p;) {
                char *slash = strchr(p, '/');
                if (slash)
                        *slash = '\0';
                if (mkdir(path, 0755) == 0) {
                        if (on_created) {
                                r = on_created(path, userdata, err);
                                if (r < 0)
                                        return r;
                        }
                } else if (errno == EEXIST) {
                        struct stat st;
                        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
                                return quilt_error_set(err, -ENOTDIR, "mkdir %s: %s", path,
                                                       "exists and is not a directory");
                } else {
                        r = -errno;
                        return quilt_error_set(err, r, "mkdir %s: %s", path, strerror(-r));
                }
                if (!slash)
                        break;
                *slash = '/';
                p = slash + 1;
        }
        return 0;
}

int cg_rmdir_retry(const char *path, uint64_t deadline_ms, struct quilt_error *err)
{
        for (;;) {
                if (rmdir(path) == 0 || errno == ENOENT)
                        return 0;
                int r = -errno;
                /* Only EBUSY passes with time: the last tasks of a cgroup
                 * leave it when they are released, a little after they
                 * vanished from cgroup.procs.  A real cgroup never answers
                 * ENOTEMPTY (its files are not entries one can remove). */
                if (r != -EBUSY || cgroup_now_ms() >= deadline_ms)
                        return quilt_error_set(err, r, "rmdir %s: %s", path, strerror(-r));
                cgroup_sleep_ms(10);
        }
}

/* A container with a writable cgroupfs may nest; deeper than this is not
 * a tree we made room for. */
#define CG_RMDIR_DEPTH_MAX 32

static int rmdir_tree(const char *path, uint64_t deadline_ms, unsigned depth,
                      struct quilt_error *err)
{
        DIR *d;
        int r = 0;

        if (depth > CG_RMDIR_DEPTH_MAX)
                return quilt_error_set(err, -ELOOP, "rmdir %s: nested deeper than %d levels",
                                       path, CG_RMDIR_DEPTH_MAX);
        d = opendir(path);
        if (!d) {
                if (errno == ENOENT)
                        return 0;
                r = -errno;
                return quilt_error_set(err, r, "opendir %s: %s", path, strerror(-r));
        }
        /* In a cgroupfs the only subdirectories are child cgroups. */
        for (struct dirent *e; r == 0 && (e = readdir(d));) {
                if (e->d_type != DT_DIR || strcmp(e->d_name, ".") == 0 ||
                    strcmp(e->d_name, "..") == 0)
                        continue;
                _cleanup_free_ char *child = NULL;
                if (cg_join(&child, path, e->d_name) < 0)
                        r = quilt_error_set(err, -ENOMEM, "out of memory");
                else
                        r = rmdir_tree(child, deadline_ms, depth + 1, err);
        }
        closedir(d);
        if (r < 0)
                return r;
        return cg_rmdir_retry(path, deadline_ms, err);
}

int cg_rmdir_tree(const char *path, uint64_t deadline_ms, struct quilt_error *err)
{
        return rmdir_tree(path, deadline_ms, 0, err);
}

static const char *skip_blanks(const char *p)
{
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

int cg_parse_u64(const char *text, uint64_t *ret)
{
        const char *p = skip_blanks(text);
        uint64_t n = 0;

        if (strncmp(p, "max", 3) == 0)
                return -ERANGE;
        if (!isdigit((unsigned char)*p))
                return -EINVAL;
        for (; isdigit((unsigned char)*p); p++) {
                unsigned d = (unsigned)(*p - '0');
                if (n > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                n = n * 10 + d;
        }
        if (*p && *p != '\n' && *p != ' ' && *p != '\t')
                return -EINVAL;
        *ret = n;
        return 0;
}

int cg_kv_u64(const char *text, const char *key, uint64_t *ret)
{
        size_t klen = strlen(key);

        for (const char *line = text; line && *line;) {
                /* Exact key: "oom" must not match "oom_kill". */
                if (strncmp(line, key, klen) == 0 && (line[klen] == ' ' || line[klen] == '\t'))
                        return cg_parse_u64(line + klen, ret);
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
        return -ENOENT;
}

bool cg_word_in(const char *list, const char *word)
{
        size_t wlen = strlen(word);

        for (const char *p = list; *p;) {
                p += strspn(p, " \t\n,");
                size_t n = strcspn(p, " \t\n,");
                if (n == 0)
                        break;
                if (n == wlen && strncmp(p, word, n) == 0)
                        return true;
                p += n;
        }
        return false;
}
