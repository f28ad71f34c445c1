/* SPDX-License-Identifier: MIT */
/* Overlay roots under a user namespace.  overlayfs itself takes no
 * idmapped mount (EINVAL), but it takes idmapped layers: the image's
 * layer is mounted as lowerdir through the container's mapping, the
 * upper dir holds what the container writes, with the host ids its
 * writes have (START + container id), and the image store is left as it
 * is, shared with every other container. */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "rootfs.h"
#include "rootfs_idmap.h"

/* Deeper than any sane upper dir; bounds the monitor's stack and fds. */
#define FIX_MAX_DEPTH 256

bool rootfs_idmap_wanted(const struct quilt_container *c)
{
        return QUILT_CONTAINER_HAS(c, rootfs_ids_mapped) && c->uid_range.count > 0 &&
               c->gid_range.count > 0;
}

bool rootfs_idmap_unsupported(int r)
{
        return r == -EINVAL || r == -EPERM || r == -ENOSYS || r == -EOPNOTSUPP;
}

static int write_map(pid_t pid, const char *name, const struct quilt_id_range *r,
                     struct quilt_error *err)
{
        char path[64], map[48];
        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
        int len = snprintf(map, sizeof(map), "0 %u %u\n", r->host_start, r->count);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return quilt_error_set(err, -errno, "open %s: %m", path);
        /* The kernel takes a map in one write only. */
        ssize_t n = write(fd, map, len);
        if (n != len)
                return quilt_error_set(err, n < 0 ? -errno : -EIO, "writing %s: %m", path);
        return 0;
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
        if (n != 1) {
                r = -EIO;       /* the child's exit status says why, below */
        } else if ((r = write_map(pid, "uid_map", uid, err)) >= 0 &&
                   (r = write_map(pid, "gid_map", gid, err)) >= 0) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
                r = open(path, O_RDONLY | O_CLOEXEC);
                if (r < 0)
                        r = quilt_error_set(err, -errno, "open %s: %m", path);
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
        /* Not AT_RECURSIVE: the image's layer is a plain directory. */
        _cleanup_close_ int tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0)
                return quilt_error_set(err, -errno, "open_tree %s: %m", path);
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
        if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return quilt_error_set(err, -errno, "idmapping %s: %m", path);
        return TAKE_FD(tree);
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

/* One entry of the upper dir (`st`), chowned by `name` in `ovl_fd`, the
 * same directory seen through the overlay. */
static int fix_one(struct fix *f, int ovl_fd, const char *name, const struct stat *st,
                   struct quilt_error *err)
{
        if (!needs_shift(f->uid, st->st_uid) && !needs_shift(f->gid, st->st_gid))
                return 0;
        if (fchownat(ovl_fd, name, shifted(f->uid, st->st_uid), shifted(f->gid, st->st_gid),
                     AT_SYMLINK_NOFOLLOW) < 0) {
                /* Not in the merged tree (an upper entry it hides). */
                if (errno == ENOENT)
                        return 0;
                return quilt_error_set(err, -errno, "chown %s/.../%s: %m", f->upper, name);
        }
        /* chown drops the setuid and setgid bits; keep what was there. */
        if (S_ISREG(st->st_mode) && (st->st_mode & (S_ISUID | S_ISGID)) &&
            fchmodat(ovl_fd, name, st->st_mode & 07777, 0) < 0)
                return quilt_error_set(err, -errno, "chmod %s/.../%s: %m", f->upper, name);
        f->changed++;
        return 0;
}

/* Takes `upper_fd`; `ovl_fd` stays the caller's. */
static int fix_dir(struct fix *f, int upper_fd, int ovl_fd, unsigned depth, struct quilt_error *err)
{
        if (depth > FIX_MAX_DEPTH) {
                close(upper_fd);
                return quilt_error_set(err, -ELOOP, "%s: more than %d directories deep", f->upper,
                                       FIX_MAX_DEPTH);
        }
        DIR *d = fdopendir(upper_fd);
        if (!d) {
                int r = -errno;
                close(upper_fd);
                return quilt_error_set(err, r, "%s: %s", f->upper, strerror(-r));
        }
        int r = 0;
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                const char *name = de->d_name;
                struct stat st;
                if (!strcmp(name, ".") || !strcmp(name, ".."))
                        continue;
                if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = quilt_error_set(err, -errno, "stat %s/.../%s: %m", f->upper, name);
                        break;
                }
                /* A whiteout (0:0 device) is nothing the container sees;
                 * nothing on another filesystem is the upper dir's. */
                if ((S_ISCHR(st.st_mode) && st.st_rdev == 0) || st.st_dev != f->dev)
                        continue;
                r = fix_one(f, ovl_fd, name, &st, err);
                if (r < 0)
                        break;
                if (!S_ISDIR(st.st_mode))
                        continue;
                _cleanup_close_ int sub_ovl = openat(ovl_fd, name,
                                                     O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub_ovl < 0 && errno == ENOENT)
                        continue;
                if (sub_ovl < 0) {
                        r = quilt_error_set(err, -errno, "open %s/.../%s in the overlay: %m",
                                            f->upper, name);
                        break;
                }
                int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) {
                        r = quilt_error_set(err, -errno, "open %s/.../%s: %m", f->upper, name);
                        break;
                }
                r = fix_dir(f, sub, sub_ovl, depth + 1, err);
                if (r < 0)
                        break;
        }
        if (r == 0 && errno != 0)
                r = quilt_error_set(err, -errno, "reading %s: %m", f->upper);
        closedir(d);
        return r;
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
        int r = fix_dir(&f, fd, ovl, 0, err);
        if (r == 0 && ret_changed)
                *ret_changed = f.changed;
        return r;
}
