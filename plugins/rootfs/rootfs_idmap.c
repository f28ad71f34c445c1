/* SPDX-License-Identifier: MIT */
/* Overlay roots under a user namespace.  overlayfs itself takes no
 * idmapped mount (EINVAL), but it takes idmapped layers: the image's
 * layer is mounted as lowerdir through the container's mapping, the
 * upper dir holds what the container writes, with the host ids its
 * writes have (START + container id), and the image store is left as it
 * is, shared with every other container. */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "idmap.h"
#include "rootfs.h"
#include "rootfs_idmap.h"
#include "tree_walk.h"

bool rootfs_idmap_wanted(const struct quilt_container *c)
{
        return QUILT_CONTAINER_HAS(c, rootfs_ids_mapped) && c->uid_range.count > 0 &&
               c->gid_range.count > 0;
}

bool rootfs_idmap_unsupported(int r)
{
        return quilt_idmap_unsupported(r);
}

/* A forked child holds the namespace while we write its maps (host root
 * writes them, so setgroups may stay "allow") and open it; once it has
 * an fd the namespace lives on without a process in it.  The monitor is
 * single-threaded, so the child may call anything; it only makes
 * syscalls. */
int rootfs_idmap_userns(const struct quilt_id_range *uid, const struct quilt_id_range *gid,
                        struct quilt_error *err)
{
        _cleanup_close_ int ready_r = -1, ready_w = -1, go_r = -1, go_w = -1;
        int ready[2], go[2];
        if (pipe2(ready, O_CLOEXEC) < 0)
                return quilt_error_set(err, -errno, "pipe: %m");
        ready_r = ready[0];
        ready_w = ready[1];
        if (pipe2(go, O_CLOEXEC) < 0)
                return quilt_error_set(err, -errno, "pipe: %m");
        go_r = go[0];
        go_w = go[1];

        pid_t pid = fork();
        if (pid < 0)
                return quilt_error_set(err, -errno, "fork: %m");
        if (pid == 0) {
                char c;
                /* EOF on `go`, also when the monitor dies, ends us. */
                close(go_w);
                close(ready_r);
                if (unshare(CLONE_NEWUSER) < 0)
                        _exit(errno & 0x7f);
                if (write(ready_w, "r", 1) != 1)
                        _exit(EIO);
                while (read(go_r, &c, 1) < 0 && errno == EINTR)
                        ;
                _exit(0);
        }
        quilt_closep(&ready_w);
        quilt_closep(&go_r);

        int r = 0;
        char c;
        ssize_t n;
        do
                n = read(ready_r, &c, 1);
        while (n < 0 && errno == EINTR);
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d", (int)pid);
        _cleanup_close_ int proc_fd = -1;
        if (n != 1) {
                r = -EIO;       /* the child's exit status says why, below */
        } else if ((proc_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
                r = quilt_error_set(err, -errno, "open %s: %m", path);
        } else if ((r = quilt_idmap_write_map(proc_fd, "uid_map", uid, err)) < 0 ||
                   (r = quilt_idmap_write_map(proc_fd, "gid_map", gid, err)) < 0) {
                r = quilt_error_prefix(err, r, "%s: ", path);
        } else {
                r = openat(proc_fd, "ns/user", O_RDONLY | O_CLOEXEC);
                if (r < 0)
                        r = quilt_error_set(err, -errno, "open %s/ns/user: %m", path);
        }
        quilt_closep(&go_w);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (n != 1) {
                int e = WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : EIO;
                return quilt_error_set(err, -e, "a user namespace for the idmapped layer: %s",
                                       strerror(e));
        }
        return r;
}

int rootfs_idmap_tree(const char *path, int userns_fd, struct quilt_error *err)
{
        /* Not recursive: the image's layer is a plain directory. */
        return quilt_idmap_clone(path, userns_fd, false, err);
}

int rootfs_idmap_upper_root(const char *upper, int lower_fd, struct quilt_error *err)
{
        /* Through the idmapped layer its root shows the mapped owners. */
        struct stat st;
        if (fstat(lower_fd, &st) < 0)
                return quilt_error_set(err, -errno, "stat the image's root: %m");
        _cleanup_close_ int fd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return quilt_error_set(err, -errno, "open %s: %m", upper);
        if (fchown(fd, st.st_uid, st.st_gid) < 0 || fchmod(fd, st.st_mode & 07777) < 0)
                return quilt_error_set(err, -errno, "%s: %m", upper);
        return 0;
}

/* A host id that the container cannot see but the mapping covers, as
 * userns_shift_id does it: container id `id` is host START + id. */
static bool needs_shift(const struct quilt_id_range *r, uint32_t id)
{
        bool mapped = id >= r->host_start && id - r->host_start < r->count;
        return !mapped && id < r->count;
}

static uint32_t shifted(const struct quilt_id_range *r, uint32_t id)
{
        return needs_shift(r, id) ? r->host_start + id : id;
}

struct fix {
        const struct quilt_id_range *uid;
        const struct quilt_id_range *gid;
        dev_t dev;              /* the upper dir's filesystem */
        const char *upper;      /* for messages */
        size_t changed;
};

/* One entry of the upper dir (`sx`), chowned by `name` in `ovl_fd`, the
 * same directory seen through the overlay. */
static int fix_one(struct fix *f, int ovl_fd, const char *name, const struct statx *sx,
                   struct quilt_error *err)
{
        if (!needs_shift(f->uid, sx->stx_uid) && !needs_shift(f->gid, sx->stx_gid))
                return 0;
        if (fchownat(ovl_fd, name, shifted(f->uid, sx->stx_uid), shifted(f->gid, sx->stx_gid),
                     AT_SYMLINK_NOFOLLOW) < 0) {
                /* Not in the merged tree (an upper entry it hides). */
                if (errno == ENOENT)
                        return 0;
                return quilt_error_set(err, -errno, "chown %s/.../%s: %m", f->upper, name);
        }
        /* chown drops the setuid and setgid bits; keep what was there. */
        if (S_ISREG(sx->stx_mode) && (sx->stx_mode & (S_ISUID | S_ISGID)) &&
            fchmodat(ovl_fd, name, sx->stx_mode & 07777, 0) < 0)
                return quilt_error_set(err, -errno, "chmod %s/.../%s: %m", f->upper, name);
        f->changed++;
        return 0;
}

/* Walks the upper dir; `ovl_fd` is the same directory in the overlay,
 * and the walk carries the overlay's subdirectory along. */
static int fix_visit(void *ctx, int upper_fd, int ovl_fd, const char *name, const struct statx *sx,
                     int *ret_sub_ovl, struct quilt_error *err)
{
        struct fix *f = ctx;

        (void)upper_fd;
        /* A whiteout (0:0 device) is nothing the container sees;
         * nothing on another filesystem is the upper dir's. */
        if ((S_ISCHR(sx->stx_mode) && sx->stx_rdev_major == 0 && sx->stx_rdev_minor == 0) ||
            makedev(sx->stx_dev_major, sx->stx_dev_minor) != f->dev)
                return QUILT_WALK_SKIP;
        int r = fix_one(f, ovl_fd, name, sx, err);
        if (r < 0 || !S_ISDIR(sx->stx_mode))
                return r;
        *ret_sub_ovl = openat(ovl_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (*ret_sub_ovl < 0 && errno == ENOENT)
                return QUILT_WALK_SKIP;
        if (*ret_sub_ovl < 0)
                return quilt_error_set(err, -errno, "open %s/.../%s in the overlay: %m", f->upper,
                                       name);
        return QUILT_WALK_DESCEND;
}

int rootfs_idmap_fix_upper(const char *upper, const char *root, const struct quilt_container *c,
                           size_t *ret_changed, struct quilt_error *err)
{
        struct fix f = { .uid = &c->uid_range, .gid = &c->gid_range, .upper = upper };
        /* The overlay's own mount, without what is mounted below it (a
         * request's bind mount of a host directory must not be chowned). */
        _cleanup_close_ int ovl = open_tree(AT_FDCWD, root, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (ovl < 0)
                return quilt_error_set(err, -errno, "open_tree %s: %m", root);
        int fd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0)
                return quilt_error_set(err, -errno, "open %s: %m", upper);
        if (fstat(fd, &st) < 0) {
                int r = quilt_error_set(err, -errno, "stat %s: %m", upper);
                close(fd);
                return r;
        }
        f.dev = st.st_dev;
        int r = quilt_walk_tree(fd, ovl, upper, fix_visit, &f, err);
        if (r == 0 && ret_changed)
                *ret_changed = f.changed;
        return r;
}
