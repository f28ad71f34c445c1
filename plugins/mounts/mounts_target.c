/* SPDX-License-Identifier: MIT */
/* The mount point of a request mount, inside the container's root.
 *
 * The image decides what the path is made of: "/data -> /etc" or
 * "/data -> ../../.." must not put a mount on the host.  The host's
 * open_in_root resolves (and creates) the path the way the container will
 * see it, and the caller attaches the mount to the fd we return, so the
 * kernel never looks the path up again.  Runs in the monitor (pre_clone):
 * allocation is fine. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mounts.h"

/* A directory source needs a directory mount point and a file source a
 * non-directory one; say so instead of move_mount's bare ENOTDIR. */
static int check_kind(int fd, const char *target, bool want_dir, struct quilt_error *err)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return quilt_error_set(err, -errno, "%s: %m", target);
        if (want_dir && !S_ISDIR(st.st_mode))
                return quilt_error_set(err, -ENOTDIR,
                                       "%s is not a directory in the container, the source is one",
                                       target);
        if (!want_dir && S_ISDIR(st.st_mode))
                return quilt_error_set(err, -EISDIR,
                                       "%s is a directory in the container, the source is a file",
                                       target);
        return 0;
}

/* An empty regular file as the mount point of a file bind: its directory
 * resolved (and made) inside the root, the file created relative to that
 * fd with O_EXCL | O_NOFOLLOW, so nothing already there is followed. */
static int create_file(const struct quilt_host *host, int root_fd, const char *target,
                       int *ret_fd, struct quilt_error *err)
{
        size_t len = strlen(target);
        while (len > 1 && target[len - 1] == '/')
                len--;
        size_t slash = len;
        while (slash > 0 && target[slash - 1] != '/')
                slash--;
        _cleanup_free_ char *parent = strndup(target, slash);
        _cleanup_free_ char *name = strndup(target + slash, len - slash);
        if (!parent || !name)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        if (name[0] == '\0' || !strcmp(name, ".") || !strcmp(name, ".."))
                return quilt_error_set(err, -EINVAL, "%s: not a file name", target);

        _cleanup_close_ int dir_fd = host->open_in_root(root_fd, parent, MOUNTS_DIR_MODE, err);
        if (dir_fd < 0)
                return dir_fd;
        int fd = openat(dir_fd, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        MOUNTS_FILE_MODE);
        if (fd >= 0) {
                *ret_fd = fd;
                return 0;
        }
        if (errno != EEXIST)
                return quilt_error_set(err, -errno, "creating %s: %m", target);
        /* Made since we looked (then it resolves now), or a symlink to
         * nowhere, which we do not chase for a file. */
        fd = host->open_in_root(root_fd, target, 0, err);
        if (fd == -ENOENT)
                return quilt_error_set(err, -ENOENT,
                                       "%s is a symlink to a missing file in the container", target);
        if (fd < 0)
                return fd;
        *ret_fd = fd;
        return 0;
}

int mounts_open_target(const struct quilt_host *host, int root_fd, const char *target,
                       bool want_dir, int *ret_fd, struct quilt_error *err)
{
        _cleanup_close_ int fd = -1;
        int r;

        if (want_dir) {
                fd = host->open_in_root(root_fd, target, MOUNTS_DIR_MODE, err);
                if (fd < 0)
                        return fd;
        } else {
                fd = host->open_in_root(root_fd, target, 0, err);
                if (fd == -ENOENT)
                        r = create_file(host, root_fd, target, &fd, err);
                else
                        r = fd < 0 ? fd : 0;
                if (r < 0)
                        return r;
        }
        r = check_kind(fd, target, want_dir, err);
        if (r < 0)
                return r;
        /* "/up -> ../../..": a mount there would hide the whole image. */
        struct stat st, root;
        if (fstat(fd, &st) == 0 && fstat(root_fd, &root) == 0 && st.st_dev == root.st_dev &&
            st.st_ino == root.st_ino)
                return quilt_error_set(err, -EINVAL, "%s resolves to the container's root", target);
        *ret_fd = TAKE_FD(fd);
        return 0;
}
