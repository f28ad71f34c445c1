/* SPDX-License-Identifier: MIT */
/* A minimal /dev: a small tmpfs with the usual character devices, the
 * /proc/self/fd links, a private devpts and a /dev/shm tmpfs.
 *
 * Device nodes are bind mounts of the host's (still reachable: in_child
 * runs before the root switch) onto empty files rather than mknod: the
 * same code then works inside a user namespace, where mknod is refused.
 * The tmpfs is filled through its fsmount fd before it is attached, so
 * nothing in the image can get in the way. */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "ns.h"

static const struct {
        const char *name;
        const char *rel;        /* for error messages */
        const char *host;
} dev_nodes[] = {
        { "null", "dev/null", "/dev/null" },
        { "zero", "dev/zero", "/dev/zero" },
        { "full", "dev/full", "/dev/full" },
        { "random", "dev/random", "/dev/random" },
        { "urandom", "dev/urandom", "/dev/urandom" },
        { "tty", "dev/tty", "/dev/tty" },
};

static const struct {
        const char *name;
        const char *target;
} dev_links[] = {
        { "fd", "/proc/self/fd" },
        { "stdin", "/proc/self/fd/0" },
        { "stdout", "/proc/self/fd/1" },
        { "stderr", "/proc/self/fd/2" },
        { "ptmx", "pts/ptmx" },
};

static const struct quilt_fs_option dev_options[] = {
        { "mode", "755" },
        { "size", NS_DEV_SIZE },
        { NULL, NULL },
};

/* gid 5 is "tty" in Debian, Alpine, Fedora and busybox images alike. */
static const struct quilt_fs_option pts_options[] = {
        { "newinstance", NULL },
        { "ptmxmode", "0666" },
        { "mode", "0620" },
        { "gid", "5" },
        { NULL, NULL },
};

/* Empty files, links and mount points in the still detached tmpfs. */
static int populate(int dev_fd, const char *rootfs, struct quilt_error *err)
{
        int r;

        for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++) {
                int fd = openat(dev_fd, dev_nodes[i].name,
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
                if (fd < 0) {
                        r = -errno;
                        return quilt_error_set(err, r, "%s/%s: create: %s", rootfs,
                                               dev_nodes[i].rel, strerror(-r));
                }
                close(fd);
        }
        for (size_t i = 0; i < ELEMENTSOF(dev_links); i++)
                if (symlinkat(dev_links[i].target, dev_fd, dev_links[i].name) < 0) {
                        r = -errno;
                        return quilt_error_set(err, r, "%s/dev/%s: symlink: %s", rootfs,
                                               dev_links[i].name, strerror(-r));
                }
        if (mkdirat(dev_fd, "pts", 0755) < 0 || mkdirat(dev_fd, "shm", 0755) < 0) {
                r = -errno;
                return quilt_error_set(err, r, "%s/dev: mkdir: %s", rootfs, strerror(-r));
        }
        return 0;
}

static int bind_host_node(int dev_fd, size_t i, const char *rootfs, struct quilt_error *err)
{
        _cleanup_close_ int tree_fd = -1;
        struct mount_attr bind_attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC };
        int r;

        /* A non-recursive clone of the host node's mount, still detached. */
        tree_fd = open_tree(AT_FDCWD, dev_nodes[i].host, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree_fd < 0) {
                r = -errno;
                return quilt_error_set(err, r, "%s/%s: open_tree %s: %s", rootfs,
                                       dev_nodes[i].rel, dev_nodes[i].host, strerror(-r));
        }
        /* The clone keeps the host mount's flags; a device node needs
         * neither suid nor exec. */
        if (mount_setattr(tree_fd, "", AT_EMPTY_PATH, &bind_attr, sizeof(bind_attr)) < 0) {
                r = -errno;
                return quilt_error_set(err, r, "%s/%s: mount_setattr: %s", rootfs,
                                       dev_nodes[i].rel, strerror(-r));
        }
        return ns_attach(tree_fd, dev_fd, dev_nodes[i].name, rootfs, dev_nodes[i].rel, err);
}

static int mount_sub(int dev_fd, const char *name, const char *rel, const char *fstype,
                     const struct quilt_fs_option *opts, unsigned int attrs, const char *rootfs,
                     struct quilt_error *err)
{
        _cleanup_close_ int mnt_fd = -1;
        int r;

        r = ns_fs_create(fstype, opts, attrs, rootfs, rel, &mnt_fd, err);
        if (r < 0)
                return r;
        return ns_attach(mnt_fd, dev_fd, name, rootfs, rel, err);
}

int ns_mount_dev(int root_fd, const char *rootfs, const char *shm_size, struct quilt_error *err)
{
        _cleanup_close_ int target_fd = -1, dev_fd = -1;
        const struct quilt_fs_option shm_options[] = {
                { "mode", "1777" },
                /* An empty size (shm_size = 0) ends the list here: no limit
                 * but the kernel's default, half of RAM. */
                { shm_size[0] ? "size" : NULL, shm_size },
                { NULL, NULL },
        };
        int r;

        r = ns_open_mountpoint(root_fd, "dev", 0755, rootfs, "dev", &target_fd, err);
        if (r < 0)
                return r;
        /* No MOUNT_ATTR_NODEV: the bound nodes are mounts of their own,
         * but an image may still mknod into /dev when it is allowed to. */
        r = ns_fs_create("tmpfs", dev_options, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, rootfs,
                         "dev", &dev_fd, err);
        if (r < 0)
                return r;
        r = populate(dev_fd, rootfs, err);
        if (r < 0)
                return r;
        /* From here on dev_fd is the root of an attached mount in our
         * namespace, so move_mount may target names below it. */
        r = ns_attach(dev_fd, target_fd, "", rootfs, "dev", err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(dev_nodes); i++) {
                r = bind_host_node(dev_fd, i, rootfs, err);
                if (r < 0)
                        return r;
        }
        r = mount_sub(dev_fd, "pts", "dev/pts", "devpts", pts_options,
                      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, rootfs, err);
        if (r < 0)
                return r;
        return mount_sub(dev_fd, "shm", "dev/shm", "tmpfs", shm_options,
                         MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, rootfs, err);
}
