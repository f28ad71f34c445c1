/* SPDX-License-Identifier: MIT */
/* The fallback when the kernel or the filesystem refuses an idmapped
 * mount: give every file of the root tree the host ids its container ids
 * map to, for real (chown), as the tree is on disk.
 *
 * fd-based all the way down, so no symlink in the image is ever followed,
 * and it stays on the tree's own mount: a request's bind mount of a host
 * directory, or a /tmp tmpfs, below the root is not the image's to shift. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "tree_walk.h"
#include "userns.h"

struct shift {
        const struct quilt_id_range *uid;
        const struct quilt_id_range *gid;
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

static int shift_visit(void *ctx, int dir_fd, int aux_fd, const char *name,
                       const struct statx *sx, int *ret_sub_aux, struct quilt_error *err)
{
        struct shift *s = ctx;

        (void)aux_fd;
        (void)ret_sub_aux;
        /* Another mount (a bind, a tmpfs): not ours to change. */
        if (sx->stx_mnt_id != s->mnt_id)
                return QUILT_WALK_SKIP;
        return shift_one(s, dir_fd, name, sx, err);
}

int userns_shift_tree(const char *root, const struct quilt_id_range *uid,
                      const struct quilt_id_range *gid, size_t *ret_changed, struct quilt_error *err)
{
        struct shift s = { .uid = uid, .gid = gid, .root = root };
        struct statx sx;
        int fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0)
                return quilt_error_set(err, -errno, "open %s: %m", root);
        if (statx(fd, "", AT_EMPTY_PATH, QUILT_WALK_STATX_MASK, &sx) < 0) {
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
        r = quilt_walk_tree(fd, -1, root, shift_visit, &s, err);
        if (r == 0 && ret_changed)
                *ret_changed = s.changed;
        return r;
}
