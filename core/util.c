/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "status.h"
#include "util.h"

void quilt_strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

size_t quilt_strv_length(char *const *v)
{
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

int64_t quilt_now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t quilt_monotonic_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int quilt_status_set(struct quilt_status *st, enum quilt_status_code code, const char *fmt, ...)
{
        if (st) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(st->message, sizeof(st->message), fmt, ap);
                va_end(ap);
                st->code = code;
        }
        return -1;
}

int quilt_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Empty the directory open as `dfd` (which this call closes), staying on
 * device `dev`.  Symlinks are unlinked, never followed. */
static int remove_dir_contents(int dfd, dev_t dev, const char *path, struct quilt_error *err)
{
        DIR *d = fdopendir(dfd);
        if (!d) {
                int r = -errno;
                close(dfd);
                return quilt_error_set(err, r, "opendir %s: %s", path, strerror(-r));
        }
        int ret = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                struct stat st;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno == ENOENT)
                                continue;
                        ret = quilt_error_set(err, -errno, "stat %s/%s: %m", path, de->d_name);
                        break;
                }
                if (S_ISDIR(st.st_mode)) {
                        if (st.st_dev != dev) {
                                ret = quilt_error_set(err, -EBUSY, "%s/%s is a mount point, not removed",
                                                      path, de->d_name);
                                break;
                        }
                        int child = openat(dirfd(d), de->d_name,
                                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (child < 0) {
                                ret = quilt_error_set(err, -errno, "open %s/%s: %m", path, de->d_name);
                                break;
                        }
                        /* A directory without write permission for us (root has it
                         * anyway) is still emptied; recursion depth follows the tree. */
                        ret = remove_dir_contents(child, dev, path, err);
                        if (ret < 0)
                                break;
                        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
                                ret = quilt_error_set(err, -errno, "rmdir %s/%s: %m", path, de->d_name);
                                break;
                        }
                } else if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
                        ret = quilt_error_set(err, -errno, "unlink %s/%s: %m", path, de->d_name);
                        break;
                }
        }
        closedir(d);
        return ret;
}

int quilt_remove_tree(const char *path, struct quilt_error *err)
{
        struct stat st;
        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return quilt_error_set(err, -errno, "stat %s: %m", path);
        }
        if (!S_ISDIR(st.st_mode)) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return quilt_error_set(err, -errno, "unlink %s: %m", path);
                return 0;
        }
        int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return quilt_error_set(err, -errno, "open %s: %m", path);
        int r = remove_dir_contents(dfd, st.st_dev, path, err);
        if (r < 0)
                return r;
        if (rmdir(path) < 0 && errno != ENOENT)
                return quilt_error_set(err, -errno, "rmdir %s: %m", path);
        return 0;
}

int quilt_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        _cleanup_free_ char *tmp = NULL;
        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        int r = quilt_write_all(fd, data, len);
        if (r < 0) {
                unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                unlink(tmp);
                return r;
        }
        return 0;
}

int quilt_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        size_t cap = 4096, len = 0;
        _cleanup_free_ char *buf = malloc(cap + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        if (cap >= max)
                                return -EFBIG;
                        cap = cap * 2 > max ? max : cap * 2;
                        char *n = realloc(buf, cap + 1);
                        if (!n)
                                return -ENOMEM;
                        buf = n;
                }
                ssize_t n = read(fd, buf + len, cap - len);
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
        if (ret_len)
                *ret_len = len;
        *ret_data = TAKE_PTR(buf);
        return 0;
}

char *quilt_sibling_path(const char *name, const char *fallback)
{
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n > 0) {
                exe[n] = '\0';
                char *slash = strrchr(exe, '/');
                if (slash) {
                        *slash = '\0';
                        char *p = NULL;
                        if (asprintf(&p, "%s/%s", exe, name) < 0)
                                return NULL;
                        if (access(p, X_OK) == 0)
                                return p;
                        free(p);
                }
        }
        return strdup(fallback);
}

char **quilt_strv_copy_n(char *const *v, size_t n)
{
        char **copy = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; copy && i < n; i++)
                if (!(copy[i] = strdup(v[i]))) {
                        quilt_strv_free(copy);
                        return NULL;
                }
        return copy;
}
