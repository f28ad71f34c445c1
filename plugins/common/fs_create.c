/* SPDX-License-Identifier: MIT */
/* Detached filesystems with the new mount API (fsopen, fsconfig,
 * fsmount): no path is resolved, the caller attaches the fd where it
 * wants it (see fs_create.h). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "cleanup.h"
#include "fs_create.h"

const char *quilt_fs_message(int fs_fd, char *buf, size_t size)
{
        ssize_t n = read(fs_fd, buf, size - 1);
        if (n <= 0)
                return "";
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return buf;
}

static int fs_error(int fs_fd, int code, const char *step, const char *fstype,
                    struct quilt_error *err)
{
        char msg[256];
        const char *k = quilt_fs_message(fs_fd, msg, sizeof(msg));
        return quilt_error_set(err, code, "%s %s: %s%s%s", step, fstype, strerror(-code),
                               k[0] ? ": " : "", k);
}

int quilt_fs_create(const char *fstype, const struct quilt_fs_option *opts, unsigned int attrs,
                    int *ret_fd, struct quilt_error *err)
{
        _cleanup_close_ int fs_fd = fsopen(fstype, FSOPEN_CLOEXEC);
        if (fs_fd < 0)
                return quilt_error_set(err, -errno, "fsopen %s: %m", fstype);
        if (fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", fstype, 0) < 0)
                return fs_error(fs_fd, -errno, "source", fstype, err);
        for (const struct quilt_fs_option *o = opts; o && o->key; o++) {
                int r = o->value ? fsconfig(fs_fd, FSCONFIG_SET_STRING, o->key, o->value, 0)
                                 : fsconfig(fs_fd, FSCONFIG_SET_FLAG, o->key, NULL, 0);
                if (r < 0)
                        return fs_error(fs_fd, -errno, o->key, fstype, err);
        }
        if (fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return fs_error(fs_fd, -errno, "creating", fstype, err);
        int fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, attrs);
        if (fd < 0)
                return fs_error(fs_fd, -errno, "fsmount", fstype, err);
        *ret_fd = fd;
        return 0;
}

int quilt_tmpfs_open(uint64_t size_bytes, mode_t mode, unsigned int mount_attrs, int *ret_fd,
                     struct quilt_error *err)
{
        char size[32], mode_text[16];
        struct quilt_fs_option opts[3] = { { NULL, NULL } };
        size_t n = 0;

        if (size_bytes > 0) {
                snprintf(size, sizeof(size), "%llu", (unsigned long long)size_bytes);
                opts[n++] = (struct quilt_fs_option){ "size", size };
        }
        snprintf(mode_text, sizeof(mode_text), "%o", (unsigned)(mode & 07777));
        opts[n++] = (struct quilt_fs_option){ "mode", mode_text };
        return quilt_fs_create("tmpfs", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | mount_attrs,
                               ret_fd, err);
}
