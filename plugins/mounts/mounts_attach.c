/* SPDX-License-Identifier: MIT */
/* Detached bind mounts with the new mount API (open_tree; a tmpfs comes
 * from plugins/common/fs_create.c), and attaching them to an fd with
 * move_mount: no path is resolved at mount time, so a mount lands on the
 * object the fd is and nowhere else.  Runs in the monitor, in its own
 * mount namespace (pre_clone). */
#include <fcntl.h>
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

int mounts_attach(int mnt_fd, int target_fd, struct quilt_error *err)
{
        if (move_mount(mnt_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH |
                                                   MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return quilt_error_set(err, -errno, "move_mount: %m");
        return 0;
}
