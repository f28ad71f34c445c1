/* SPDX-License-Identifier: MIT */
/* A depth-first walk of a directory tree by fds (see tree_walk.h). */
#include <dirent.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "tree_walk.h"

/* "WHAT/NAME" for an entry right below the top, "WHAT/.../NAME" deeper. */
#define SEP(depth) ((depth) == 0 ? "/" : "/.../")

static int walk_dir(int fd, int aux_fd, unsigned depth, const char *what, quilt_walk_fn visit,
                    void *ctx, struct quilt_error *err)
{
        if (depth > QUILT_WALK_MAX_DEPTH) {
                close(fd);
                return quilt_error_set(err, -ELOOP, "%s: more than %d directories deep", what,
                                       QUILT_WALK_MAX_DEPTH);
        }
        /* The DIR owns `fd` from here on. */
        DIR *d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return quilt_error_set(err, r, "%s: %s", what, strerror(-r));
        }
        int r = 0;
        struct dirent *de;
        while ((errno = 0, de = readdir(d))) {
                const char *name = de->d_name;
                struct statx sx;

                if (!strcmp(name, ".") || !strcmp(name, ".."))
                        continue;
                if (statx(dirfd(d), name, AT_SYMLINK_NOFOLLOW, QUILT_WALK_STATX_MASK, &sx) < 0) {
                        r = quilt_error_set(err, -errno, "stat %s%s%s: %m", what, SEP(depth), name);
                        break;
                }
                _cleanup_close_ int sub_aux = -1;
                r = visit(ctx, dirfd(d), aux_fd, name, &sx, &sub_aux, err);
                if (r < 0)
                        break;
                if (r == QUILT_WALK_SKIP || !S_ISDIR(sx.stx_mode)) {
                        r = 0;
                        continue;
                }
                int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) {
                        r = quilt_error_set(err, -errno, "open %s%s%s: %m", what, SEP(depth), name);
                        break;
                }
                r = walk_dir(sub, sub_aux, depth + 1, what, visit, ctx, err);
                if (r < 0)
                        break;
        }
        if (r == 0 && errno != 0)
                r = quilt_error_set(err, -errno, "reading %s: %m", what);
        closedir(d);
        return r;
}

int quilt_walk_tree(int fd, int aux_fd, const char *what, quilt_walk_fn visit, void *ctx,
                    struct quilt_error *err)
{
        return walk_dir(fd, aux_fd, 0, what, visit, ctx, err);
}
