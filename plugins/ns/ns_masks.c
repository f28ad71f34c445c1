/* SPDX-License-Identifier: MIT */
/* Masked and read-only paths in the container's /proc and /sys.
 *
 * A masked file gets a read-only bind of /dev/null on top (it reads empty),
 * a masked directory an empty read-only tmpfs; a read-only path a
 * read-only bind of itself.  Every path is resolved with openat2 beneath
 * the fd of the proc or sysfs mount this plugin just made, refusing
 * symlinks and "..", and the mounts are attached to the resolved fd: the
 * image is never consulted.  Runs in the container process (in_child):
 * no malloc, the lists were built in init. */
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "ns.h"

/* Attached at the resolved fd itself (empty path on both ends). */
#define NS_ATTACH_HERE (MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH)

static const struct quilt_fs_option mask_dir_options[] = {
        { "mode", "0555" },
        { NULL, NULL },
};

/* Open `p` beneath its base mount as an O_PATH fd.  -ENOENT: this kernel
 * has no such file, which is not an error for the caller. */
static int resolve(const struct ns_path *p, int base_fd, const char *rootfs, int *ret_fd,
                   struct stat *ret_st, struct quilt_error *err)
{
        struct open_how how = {
                .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        _cleanup_close_ int fd = -1;
        int r;

        fd = (int)syscall(SYS_openat2, base_fd, p->rel, &how, sizeof(how));
        if (fd < 0) {
                r = -errno;
                if (r == -ENOENT)
                        return r;
                if (r == -ELOOP || r == -EXDEV)
                        return quilt_error_set(err, r,
                                               "%s%s: a symlink on the way: refusing to follow it",
                                               rootfs, p->path);
                return quilt_error_set(err, r, "%s%s: openat2: %s", rootfs, p->path,
                                       strerror(-r));
        }
        if (fstat(fd, ret_st) < 0) {
                r = -errno;
                return quilt_error_set(err, r, "%s%s: fstat: %s", rootfs, p->path, strerror(-r));
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int set_attrs(int tree_fd, unsigned int flags, uint64_t attrs, const struct ns_path *p,
                     const char *rootfs, struct quilt_error *err)
{
        struct mount_attr attr = { .attr_set = attrs };
        int r;

        if (mount_setattr(tree_fd, "", AT_EMPTY_PATH | flags, &attr, sizeof(attr)) < 0) {
                r = -errno;
                return quilt_error_set(err, r, "%s%s: mount_setattr: %s", rootfs, p->path,
                                       strerror(-r));
        }
        return 0;
}

static int attach_here(int tree_fd, int target_fd, const struct ns_path *p, const char *rootfs,
                       struct quilt_error *err)
{
        int r;

        if (move_mount(tree_fd, "", target_fd, "", NS_ATTACH_HERE) < 0) {
                r = -errno;
                return quilt_error_set(err, r, "%s%s: move_mount: %s", rootfs, p->path,
                                       strerror(-r));
        }
        return 0;
}

/* A read-only bind of the path onto itself, submounts included. */
static int make_readonly(int target_fd, const struct ns_path *p, const char *rootfs,
                         struct quilt_error *err)
{
        _cleanup_close_ int tree_fd = -1;
        int r;

        tree_fd = open_tree(target_fd, "",
                            AT_EMPTY_PATH | AT_RECURSIVE | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree_fd < 0) {
                r = -errno;
                return quilt_error_set(err, r, "%s%s: open_tree: %s", rootfs, p->path,
                                       strerror(-r));
        }
        r = set_attrs(tree_fd, AT_RECURSIVE, MOUNT_ATTR_RDONLY, p, rootfs, err);
        if (r < 0)
                return r;
        return attach_here(tree_fd, target_fd, p, rootfs, err);
}

static int mask(int target_fd, const struct stat *st, const struct ns_path *p,
                const char *rootfs, struct quilt_error *err)
{
        _cleanup_close_ int tree_fd = -1;
        int r;

        if (S_ISDIR(st->st_mode)) {
                /* ns_fs_create's messages name ROOTFS/REL. */
                r = ns_fs_create("tmpfs", mask_dir_options,
                                 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                         MOUNT_ATTR_NOEXEC,
                                 rootfs, p->path + 1, &tree_fd, err);
                if (r < 0)
                        return r;
                return attach_here(tree_fd, target_fd, p, rootfs, err);
        }
        /* The host's /dev/null (still reachable before the root switch), a
         * fresh detached clone per path: attaching an fd twice would move
         * the first mask.  Not nodev, or reads would fail with EACCES
         * instead of returning nothing. */
        tree_fd = open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree_fd < 0) {
                r = -errno;
                return quilt_error_set(err, r, "%s%s: open_tree /dev/null: %s", rootfs, p->path,
                                       strerror(-r));
        }
        r = set_attrs(tree_fd, 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, p,
                      rootfs, err);
        if (r < 0)
                return r;
        return attach_here(tree_fd, target_fd, p, rootfs, err);
}

static int apply_list(const struct ns_path_list *l, bool masking, int proc_fd, int sys_fd,
                      const char *rootfs, struct quilt_error *err)
{
        for (size_t i = 0; i < l->n; i++) {
                const struct ns_path *p = &l->items[i];
                int base_fd = p->base == NS_PATH_PROC ? proc_fd : sys_fd;
                _cleanup_close_ int fd = -1;
                struct stat st;
                int r;

                if (base_fd < 0)
                        continue;       /* not our mount: not ours to change */
                r = resolve(p, base_fd, rootfs, &fd, &st, err);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                r = masking ? mask(fd, &st, p, rootfs, err) : make_readonly(fd, p, rootfs, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int ns_apply_paths(const struct ns_config *cfg, int proc_fd, int sys_fd, const char *rootfs,
                   struct quilt_error *err)
{
        int r;

        /* Read-only binds first, masks after (runc's order): a mask below a
         * read-only path then sits on top of the bind, not hidden under it. */
        r = apply_list(&cfg->readonly, false, proc_fd, sys_fd, rootfs, err);
        if (r < 0)
                return r;
        return apply_list(&cfg->masked, true, proc_fd, sys_fd, rootfs, err);
}
