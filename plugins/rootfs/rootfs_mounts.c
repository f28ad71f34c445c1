/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "rootfs.h"
#include "rootfs_mounts.h"

int rootfs_dir_is_empty(int dir_fd)
{
        /* A directory stream of its own, so dir_fd's offset is untouched. */
        int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        int empty = 1;
        struct dirent *de;
        errno = 0;
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                        empty = 0;
                        break;
                }
        }
        int r = (!de && errno) ? -errno : empty;
        closedir(d);
        return r;
}

void rootfs_mountinfo_unescape(char *s)
{
        char *out = s;
        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
                    p[3] >= '0' && p[3] <= '7') {
                        *out++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                        p += 3;
                } else {
                        *out++ = *p;
                }
        }
        *out = '\0';
}

static bool is_at_or_below(const char *mnt, const char *root)
{
        size_t len = strlen(root);
        return strncmp(mnt, root, len) == 0 && (mnt[len] == '\0' || mnt[len] == '/');
}

/* The mount point (5th field) of a mountinfo line, decoded, or NULL. */
static char *mount_point(char *line)
{
        char *save = NULL;
        char *field = strtok_r(line, " ", &save);
        for (int i = 1; field && i < 5; i++)
                field = strtok_r(NULL, " ", &save);
        if (field)
                rootfs_mountinfo_unescape(field);
        return field;
}

static void strv_free(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

#define log_warning(host, ...)                                                         \
        do {                                                                           \
                if (QUILT_HOST_HAS((host), log))                                      \
                        (host)->log(QUILT_LOG_WARNING, ROOTFS_PLUGIN_NAME, __VA_ARGS__); \
        } while (0)

void rootfs_umount_below(const char *path, const struct quilt_host *host)
{
        /* mountinfo shows canonical paths. A missing path has nothing
         * mounted on it. */
        _cleanup_free_ char *root = realpath(path, NULL);
        if (!root) {
                if (errno != ENOENT)
                        log_warning(host, "resolving %s: %m", path);
                return;
        }
        if (strcmp(root, "/") == 0)
                return;                         /* never the host's whole tree */

        FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f) {
                log_warning(host, "reading /proc/self/mountinfo: %m");
                return;
        }
        char **mounts = NULL;
        size_t n = 0;
        _cleanup_free_ char *line = NULL;
        size_t line_size = 0;
        while (getline(&line, &line_size, f) > 0) {
                line[strcspn(line, "\n")] = '\0';
                char *mnt = mount_point(line);
                if (!mnt || !is_at_or_below(mnt, root))
                        continue;
                char **grown = realloc(mounts, (n + 1) * sizeof(*mounts));
                char *copy = strdup(mnt);
                if (!grown || !copy) {
                        free(copy);
                        if (grown)
                                mounts = grown;
                        log_warning(host, "%s: out of memory while listing mounts", path);
                        break;
                }
                mounts = grown;
                mounts[n++] = copy;
        }
        fclose(f);

        /* mountinfo lists parents before children: undo it backwards.  A
         * mount detached with its parent already is gone (EINVAL). */
        for (size_t i = n; i-- > 0;) {
                log_warning(host, "unmounting leftover mount %s", mounts[i]);
                if (umount2(mounts[i], MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
                    errno != ENOENT)
                        log_warning(host, "unmounting %s: %m", mounts[i]);
        }
        strv_free(mounts, n);
}
