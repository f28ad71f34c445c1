/* SPDX-License-Identifier: MIT */
/* Shared by the plugins that change the owners of a tree on disk (the
 * userns plugin's chown fallback, the rootfs plugin's fix-up of an
 * overlay's upper dir): each links its own copy (plugins export nothing
 * but their descriptor). */
#ifndef QUILT_PLUGIN_TREE_WALK_H
#define QUILT_PLUGIN_TREE_WALK_H

#include <fcntl.h>
#include <sys/stat.h>

#include "quilt/plugin.h"

/* Deeper than any sane tree; the bound keeps a hostile one from using
 * up the monitor's stack or fds. */
#define QUILT_WALK_MAX_DEPTH 256

/* What the walk's statx asks for. */
#define QUILT_WALK_STATX_MASK (STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_MNT_ID)

/* A visit's answer: go on (and into the entry, if it is a directory), or
 * leave the entry's contents alone. */
#define QUILT_WALK_DESCEND 0
#define QUILT_WALK_SKIP 1

/* Called for every entry (not "." or "..") of a directory the walk reads:
 * `dir_fd` is that directory, `aux_fd` the caller's companion fd for it
 * (-1 when none).  Returns a negative errno (with `err` filled) to end
 * the walk, QUILT_WALK_SKIP, or QUILT_WALK_DESCEND; for a directory it
 * descends into, it may set *ret_sub_aux (-1 on entry) to a companion fd
 * for it, which the walk closes. */
typedef int (*quilt_walk_fn)(void *ctx, int dir_fd, int aux_fd, const char *name,
                             const struct statx *sx, int *ret_sub_aux, struct quilt_error *err);

/* Visit, depth-first, every entry below the directory `fd` (which the
 * walk takes and closes, as it does every fd it opens); `aux_fd` stays
 * the caller's.  fd-based all the way down: no symlink is followed.
 * `what` names the tree in messages ("WHAT/.../NAME: reason"). */
int quilt_walk_tree(int fd, int aux_fd, const char *what, quilt_walk_fn visit, void *ctx,
                    struct quilt_error *err);

#endif
