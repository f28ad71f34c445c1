/* SPDX-License-Identifier: MIT */
/* Paths inside a container's root tree, resolved the way the container
 * will see them: symlinks in an image ("/data -> /etc", "../../..") never
 * lead out of the tree.  Used by the monitor (working directory, users)
 * and, through quilt_host.open_in_root, by plugins (mount targets). */
#ifndef QUILT_ROOT_PATH_H
#define QUILT_ROOT_PATH_H

#include <sys/types.h>

#include "quilt/plugin.h"

/* See quilt_host.open_in_root: an O_PATH | O_CLOEXEC fd of `path` inside
 * `root_fd`, creating missing directories with `mkdir_mode` when it is
 * not 0; a negative errno with `err` ("PATH: reason") otherwise. */
int quilt_open_in_root(int root_fd, const char *path, mode_t mkdir_mode, struct quilt_error *err);

/* Like quilt_open_in_root, but opens with `flags` (e.g. O_RDONLY |
 * O_CLOEXEC for reading /etc/passwd) and never creates anything. */
int quilt_openat_in_root(int root_fd, const char *path, int flags, struct quilt_error *err);

#endif
