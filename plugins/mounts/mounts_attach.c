/* SPDX-License-Identifier: MIT */
/* Detached mounts with the new mount API (open_tree, fsopen/fsmount), and
 * attaching them to an fd with move_mount: no path is resolved at mount
 * time, so a mount lands on the object the fd is and nowhere else.  Runs
 * in the monitor, in its own mount namespace (pre_clone). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

#include "mounts.h"

int mounts_bind_tree(const char *source, bool read_only, int *ret_fd, struct quilt_error *err)
{
        /* AT_RECURSIVE: the mounts below the source come along, like
         * Docker's rbind; OPEN_TREE_CLONE makes a detached copy. */
        _cleanup_close_ int fd = open_tree(AT_FDCWD, source,
                                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (fd < 0)
                return quilt_error_set(err, -errno, "bind mount source %s: %m", source);
        if (read_only) {
                /* Recursive, or a mount below the source would stay writable. */
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
                if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                        return quilt_error_set(err, -errno, "making the bind of %s read-only: %m",
                                               source);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The kernel's own explanation queued on an fsopen fd ("tmpfs: Bad value
 * for 'size'"), or "" when there is none. */
static const char *fs_message(int fs_fd, char *buf, size_t size)
{
        ssize_t n = read(fs_fd, buf, size - 1);
        if (n <= 0)
                return "";
        buf[n] = '\0';
        if (buf[n - 1] == '\n')
                buf[n - 1] = '\0';
        return buf;
}

static int fs_error(int fs_fd, int code, const char *what, struct quilt_error *err)
{
        char msg[256];
        const char *k = fs_message(fs_fd, msg, sizeof(msg));
        return quilt_error_set(err, code, "tmpfs: %s: %s%s%s", what, strerror(-code),
                               k[0] ? ": " : "", k);
}

int mounts_tmpfs(uint64_t size_bytes, mode_t mode, bool read_only, int *ret_fd,
                 struct quilt_error *err)
{
        _cleanup_close_ int fs_fd = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs_fd < 0)
                return quilt_error_set(err, -errno, "fsopen tmpfs: %m");
        char value[32];
        if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", "tmpfs", 0) < 0)
                return fs_error(fs_fd, -errno, "source", err);
        if (size_bytes > 0) {
                snprintf(value, sizeof(value), "%llu", (unsigned long long)size_bytes);
                if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "size", value, 0) < 0)
                        return fs_error(fs_fd, -errno, "size", err);
        }
        snprintf(value, sizeof(value), "%o", (unsigned)(mode & 07777));
        if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "mode", value, 0) < 0)
                return fs_error(fs_fd, -errno, "mode", err);
        if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return fs_error(fs_fd, -errno, "creating", err);
        unsigned int attrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
        if (read_only)
                attrs |= MOUNT_ATTR_RDONLY;
        int fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, attrs);
        if (fd < 0)
                return fs_error(fs_fd, -errno, "fsmount", err);
        *ret_fd = fd;
        return 0;
}

int mounts_attach(int mnt_fd, int target_fd, struct quilt_error *err)
{
        if (move_mount(mnt_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH |
                                                   MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return quilt_error_set(err, -errno, "move_mount: %m");
        return 0;
}
