/* SPDX-License-Identifier: MIT */
/* Mounting under the future root without trusting the image.
 *
 * The image decides what ROOTFS/proc, ROOTFS/dev and ROOTFS/sys are: a
 * symlink there ("proc -> /etc") would make a path-based mount(2) land on
 * the host.  So every mount point is opened with O_NOFOLLOW|O_DIRECTORY
 * relative to an fd of the root, and the new mount API (fsopen, fsmount,
 * move_mount) attaches a filesystem to that fd: the kernel never resolves
 * an image path at mount time.  Runs in the container process (in_child):
 * no malloc, no stdio beyond quilt_error_set. */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "ns.h"

int ns_open_mountpoint(int dir_fd, const char *name, mode_t mode, const char *rootfs,
                       const char *rel, int *ret_fd, struct quilt_error *err)
{
        const int flags = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
        int fd, r;

        fd = openat(dir_fd, name, flags);
        if (fd < 0 && errno == ENOENT) {
                /* Nothing else runs in this mount namespace yet and the
                 * open below re-checks what we got, so mkdir-then-open
                 * cannot be raced into following a symlink. */
                if (mkdirat(dir_fd, name, mode) < 0 && errno != EEXIST) {
                        r = -errno;
                        return quilt_error_set(err, r, "mkdir %s/%s: %s", rootfs, rel,
                                               strerror(-r));
                }
                fd = openat(dir_fd, name, flags);
        }
        if (fd < 0) {
                r = -errno;
                if (r == -ENOTDIR || r == -ELOOP)
                        return quilt_error_set(err, r,
                                               "%s/%s is not a directory (a symlink or a file in "
                                               "the image?): refusing to mount there",
                                               rootfs, rel);
                return quilt_error_set(err, r, "open %s/%s: %s", rootfs, rel, strerror(-r));
        }
        *ret_fd = fd;
        return 0;
}

int ns_fs_create(const char *fstype, const struct quilt_fs_option *opts, unsigned int attrs,
                 const char *rootfs, const char *rel, int *ret_fd, struct quilt_error *err)
{
        int r = quilt_fs_create(fstype, opts, attrs, ret_fd, err);
        if (r < 0)
                return quilt_error_prefix(err, r, "%s/%s: ", rootfs, rel);
        return 0;
}

/* Attach the detached mount `mnt_fd` onto `name` under `dir_fd`, or onto
 * `dir_fd` itself when `name` is "".  move_mount does not follow a
 * trailing symlink unless asked to (MOVE_MOUNT_T_SYMLINKS). */
int ns_attach(int mnt_fd, int dir_fd, const char *name, const char *rootfs, const char *rel,
              struct quilt_error *err)
{
        unsigned int flags = MOVE_MOUNT_F_EMPTY_PATH;
        int r;

        if (name[0] == '\0')
                flags |= MOVE_MOUNT_T_EMPTY_PATH;
        if (move_mount(mnt_fd, "", dir_fd, name, flags) < 0) {
                r = -errno;
                return quilt_error_set(err, r, "%s/%s: move_mount: %s", rootfs, rel,
                                       strerror(-r));
        }
        return 0;
}

/* Create `fstype` and attach it at ROOTFS/NAME (made if missing); the
 * fsmount fd, now the root of an attached mount, goes to *ret_fd. */
static int mount_fresh(int root_fd, const char *name, mode_t mode, const char *fstype,
                       unsigned int attrs, const char *rootfs, int *ret_fd,
                       struct quilt_error *err)
{
        _cleanup_close_ int target_fd = -1, mnt_fd = -1;
        int r;

        r = ns_open_mountpoint(root_fd, name, mode, rootfs, name, &target_fd, err);
        if (r < 0)
                return r;
        r = ns_fs_create(fstype, NULL, attrs, rootfs, name, &mnt_fd, err);
        if (r < 0)
                return r;
        r = ns_attach(mnt_fd, target_fd, "", rootfs, name, err);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(mnt_fd);
        return 0;
}

/* proc of the pid namespace we are in (fsopen takes the caller's), so the
 * container sees itself as pid 1 and nothing of the host.  Nothing in it
 * is a set-uid program, a binary or a device node, so say so. */
int ns_mount_proc(int root_fd, const char *rootfs, int *ret_fd, struct quilt_error *err)
{
        return mount_fresh(root_fd, "proc", 0555, "proc",
                           MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODEV, rootfs,
                           ret_fd, err);
}

int ns_mount_sys(int root_fd, const char *rootfs, int *ret_fd, struct quilt_error *err)
{
        return mount_fresh(root_fd, "sys", 0555, "sysfs",
                           MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC |
                                   MOUNT_ATTR_NODEV,
                           rootfs, ret_fd, err);
}
