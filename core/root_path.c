/* SPDX-License-Identifier: MIT */
/* Paths inside a container's root tree (see root_path.h).
 *
 * The kernel does the resolving: openat2 with RESOLVE_IN_ROOT treats the
 * root fd as "/" for absolute symlinks and clamps ".." there, so an image
 * symlink ("data -> /etc", "up -> ../../..") is followed the way the
 * container will follow it, never onto the host.  Creating missing
 * directories goes one component at a time: resolve the longest existing
 * prefix in the root, mkdirat the next name relative to that fd (mkdir
 * never follows a symlink at its last component) and resolve again.
 *
 * No allocation: the working path lives in a PATH_MAX buffer on the stack
 * (a longer path fails with ENAMETOOLONG, as the kernel would), so the
 * container process may call this too. */
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "root_path.h"

/* Symlinks a path may pass through while we create directories: the
 * kernel's own limit for one lookup. */
#define ROOT_PATH_MAX_LINKS 40
/* openat2 reports EAGAIN when a rename or mount raced with RESOLVE_IN_ROOT. */
#define ROOT_PATH_EAGAIN_TRIES 16

static int resolve(int root_fd, const char *path, int flags)
{
        struct open_how how = {
                .flags = (uint64_t)(flags | O_CLOEXEC),
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        /* openat2 refuses "": the root itself is ".". */
        if (path[0] == '\0')
                path = ".";
        for (int i = 0; i < ROOT_PATH_EAGAIN_TRIES; i++) {
                long fd = syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
                if (fd >= 0)
                        return (int)fd;
                if (errno != EAGAIN)
                        return -errno;
        }
        return -EAGAIN;
}

int quilt_openat_in_root(int root_fd, const char *path, int flags, struct quilt_error *err)
{
        /* O_CREAT would make the kernel create the last component: never. */
        if (flags & (O_CREAT | O_TMPFILE))
                return quilt_error_set(err, -EINVAL, "%s: creating is not supported here", path);
        int fd = resolve(root_fd, path, flags);
        if (fd < 0)
                return quilt_error_set(err, fd, "%s: %s", path, strerror(-fd));
        return fd;
}

/* The next component of `path` from `*pos`: its start and end offsets
 * (end exclusive); false at the end of the path.  Skips "/" and ".". */
static bool next_component(const char *path, size_t *pos, size_t *ret_start, size_t *ret_end)
{
        size_t i = *pos;
        for (;;) {
                while (path[i] == '/')
                        i++;
                if (path[i] == '\0')
                        return false;
                size_t s = i;
                while (path[i] != '\0' && path[i] != '/')
                        i++;
                if (i - s == 1 && path[s] == '.')
                        continue;
                *ret_start = s;
                *ret_end = i;
                *pos = i;
                return true;
        }
}

/* Replace the first `end` bytes of `path` (".../NAME", NAME a symlink
 * whose text is `link`) by what the kernel would walk instead: `link`
 * for an absolute one (RESOLVE_IN_ROOT starts it at the root), else the
 * directory part followed by `link`.  The rest of the path stays. */
static int splice_link(char *path, size_t start, size_t end, const char *link)
{
        char out[PATH_MAX];
        size_t keep = link[0] == '/' ? 0 : start;
        int n = snprintf(out, sizeof(out), "%.*s%s%s", (int)keep, path, link, path + end);
        if (n < 0 || (size_t)n >= sizeof(out))
                return -ENAMETOOLONG;
        memcpy(path, out, (size_t)n + 1);
        return 0;
}

/* mkdir'd by us: give it exactly `mode` (mkdirat went through the umask).
 * Opened with O_NOFOLLOW, so a name swapped for a symlink is not chmod'ed. */
static int fix_mode(int parent_fd, const char *name, mode_t mode)
{
        _cleanup_close_ int fd = openat(parent_fd, name,
                                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return fchmod(fd, mode) < 0 ? -errno : 0;
}

/* One step towards creating `path` (which does not resolve, ENOENT): find
 * its first missing component and mkdir it inside the resolved parent, or,
 * when that component is a dangling symlink, rewrite `path` to go through
 * the symlink's text instead (so the directory appears where the symlink
 * points, inside the root).  0 when progress was made. */
static int create_step(int root_fd, char *path, mode_t mode, unsigned *links)
{
        _cleanup_close_ int parent = -1;
        size_t pos = 0, start, end;

        while (next_component(path, &pos, &start, &end)) {
                char saved = path[end];
                path[end] = '\0';
                int fd = resolve(root_fd, path, O_PATH);
                path[end] = saved;
                if (fd >= 0) {
                        quilt_closep(&parent);
                        parent = fd;
                        continue;
                }
                if (fd != -ENOENT)
                        return fd;

                /* `path[start, end)` is missing below `parent` (or the root). */
                char name[NAME_MAX + 1];
                if (end - start > NAME_MAX)
                        return -ENAMETOOLONG;
                memcpy(name, path + start, end - start);
                name[end - start] = '\0';
                if (!strcmp(name, ".."))
                        return -ENOENT;         /* cannot be: its parent resolved */
                int dir_fd = parent >= 0 ? parent : root_fd;
                if (mkdirat(dir_fd, name, mode) == 0)
                        return fix_mode(dir_fd, name, mode);
                if (errno != EEXIST)
                        return -errno;
                /* Something is there after all: a racing mkdir (fine, resolve
                 * again) or a symlink to nowhere, which we walk ourselves. */
                struct stat st;
                if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return errno == ENOENT ? 0 : -errno;
                if (!S_ISLNK(st.st_mode))
                        return 0;
                if (++*links > ROOT_PATH_MAX_LINKS)
                        return -ELOOP;
                char link[PATH_MAX];
                ssize_t n = readlinkat(dir_fd, name, link, sizeof(link));
                if (n < 0)
                        return -errno;
                if ((size_t)n >= sizeof(link))
                        return -ENAMETOOLONG;
                link[n] = '\0';
                return splice_link(path, start, end, link);
        }
        /* Every component resolved now: a racer created them. */
        return 0;
}

int quilt_open_in_root(int root_fd, const char *path, mode_t mkdir_mode, struct quilt_error *err)
{
        if (mkdir_mode == 0)
                return quilt_openat_in_root(root_fd, path, O_PATH, err);

        char work[PATH_MAX];
        size_t len = strlen(path);
        if (len >= sizeof(work))
                return quilt_error_set(err, -ENAMETOOLONG, "%s: %s", path, strerror(ENAMETOOLONG));
        memcpy(work, path, len + 1);

        unsigned links = 0;
        /* Each round creates one directory or passes one symlink; a path
         * of PATH_MAX has fewer than PATH_MAX / 2 components. */
        for (unsigned round = 0; round < PATH_MAX / 2 + ROOT_PATH_MAX_LINKS; round++) {
                int fd = resolve(root_fd, work, O_PATH);
                if (fd >= 0)
                        return fd;
                if (fd != -ENOENT)
                        return quilt_error_set(err, fd, "%s: %s", path, strerror(-fd));
                int r = create_step(root_fd, work, mkdir_mode, &links);
                if (r < 0)
                        return quilt_error_set(err, r, "%s: %s", path, strerror(-r));
        }
        return quilt_error_set(err, -ELOOP, "%s: %s", path, strerror(ELOOP));
}
