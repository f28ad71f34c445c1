/* SPDX-License-Identifier: MIT */
/* The fallback when the kernel or the filesystem refuses an idmapped
 * mount: give every file of the root tree the host ids its container ids
 * map to, for real (chown), as the tree is on disk.
 *
 * fd-based all the way down, so no symlink in the image is ever followed,
 * and it stays on the tree's own mount: a request's bind mount of a host
 * directory, or a /tmp tmpfs, below the root is not the image's to shift. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "userns.h"

/* Deeper than any sane image; a bound keeps a hostile one from using up
 * the monitor's stack or fds. */
#define SHIFT_MAX_DEPTH 256

struct shift {
        const struct userns_range *uid;
        const struct userns_range *gid;
        uint64_t mnt_id;
        const char *root;       /* for messages */
        size_t changed;
};

static int shift_one(struct shift *s, int dir_fd, const char *name, const struct statx *sx,
                     struct quilt_error *err)
{
        uid_t uid = userns_shift_id(s->uid, sx->stx_uid);
        gid_t gid = userns_shift_id(s->gid, sx->stx_gid);
        int flags = AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH);

        if (uid == sx->stx_uid && gid == sx->stx_gid)
                return 0;
        if (fchownat(dir_fd, name, uid, gid, flags) < 0)
                return quilt_error_set(err, -errno, "chown %s/%s: %m", s->root, name);
        /* chown drops the setuid and setgid bits (for root too): the
         * image's su and ping must keep theirs.  Only regular files have
         * them, and a regular file is no symlink to follow. */
        if (S_ISREG(sx->stx_mode) && (sx->stx_mode & (S_ISUID | S_ISGID)) &&
            fchmodat(dir_fd, name, sx->stx_mode & 07777, 0) < 0)
                return quilt_error_set(err, -errno, "chmod %s/%s: %m", s->root, name);
        s->changed++;
        return 0;
}

static int shift_dir(struct shift *s, int fd, unsigned depth, struct quilt_error *err)
{
        if (depth > SHIFT_MAX_DEPTH)
                return quilt_error_set(err, -ELOOP, "%s: more than %d directories deep", s->root,
                                       SHIFT_MAX_DEPTH);
        /* The DIR owns `fd` from here on. */
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return quilt_error_set(err, r, "%s: %s", s->root, strerror(-r));
        }
        int r = 0;
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                const char *name = de->d_name;
                struct statx sx;

                if (!strcmp(name, ".") || !strcmp(name, ".."))
                        continue;
                if (statx(dirfd(d), name, AT_SYMLINK_NOFOLLOW,
                          STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_MNT_ID, &sx) < 0) {
                        r = quilt_error_set(err, -errno, "stat %s/%s: %m", s->root, name);
                        break;
                }
                /* Another mount (a bind, a tmpfs): not ours to change. */
                if (sx.stx_mnt_id != s->mnt_id)
                        continue;
                r = shift_one(s, dirfd(d), name, &sx, err);
                if (r < 0)
                        break;
                if (!S_ISDIR(sx.stx_mode))
                        continue;
                int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) {
                        r = quilt_error_set(err, -errno, "open %s/%s: %m", s->root, name);
                        break;
                }
                r = shift_dir(s, sub, depth + 1, err);
                if (r < 0)
                        break;
        }
        if (r == 0 && errno != 0)
                r = quilt_error_set(err, -errno, "reading %s: %m", s->root);
        closedir(d);
        return r;
}

int userns_shift_tree(const char *root, const struct userns_range *uid,
                      const struct userns_range *gid, size_t *ret_changed, struct quilt_error *err)
{
        struct shift s = { .uid = uid, .gid = gid, .root = root };
        struct statx sx;
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0)
                return quilt_error_set(err, -errno, "open %s: %m", root);
        if (statx(fd, "", AT_EMPTY_PATH,
                  STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_MNT_ID, &sx) < 0) {
                int r = quilt_error_set(err, -errno, "stat %s: %m", root);
                close(fd);
                return r;
        }
        s.mnt_id = sx.stx_mnt_id;
        int r = shift_one(&s, fd, "", &sx, err);
        if (r < 0) {
                close(fd);
                return r;
        }
        r = shift_dir(&s, fd, 0, err);
        if (r == 0 && ret_changed)
                *ret_changed = s.changed;
        return r;
}
