/* SPDX-License-Identifier: MIT */
/* A detached tmpfs with the new mount API (fsopen, fsconfig, fsmount): no
 * path is resolved, the caller attaches the fd where it wants it. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "cleanup.h"
#include "tmpfs.h"

const char *quilt_fs_message(int fs_fd, char *buf, size_t size)
{
        ssize_t n = read(fs_fd, buf, size - 1);
        if (n <= 0)
                return "";
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return buf;
}

static int fs_error(int fs_fd, int code, const char *what, struct quilt_error *err)
{
        char msg[256];
        const char *k = quilt_fs_message(fs_fd, msg, sizeof(msg));
        return quilt_error_set(err, code, "tmpfs: %s: %s%s%s", what, strerror(-code),
                               k[0] ? ": " : "", k);
}

int quilt_tmpfs_open(uint64_t size_bytes, mode_t mode, unsigned int mount_attrs, int *ret_fd,
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
        int fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | mount_attrs);
        if (fd < 0)
                return fs_error(fs_fd, -errno, "fsmount", err);
        *ret_fd = fd;
        return 0;
}
