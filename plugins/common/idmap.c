/* SPDX-License-Identifier: MIT */
/* Id maps and idmapped mounts (see idmap.h). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "cleanup.h"
#include "idmap.h"

int quilt_idmap_write_map(int proc_fd, const char *name, const struct quilt_id_range *r,
                          struct quilt_error *err)
{
        char map[48];
        int len = snprintf(map, sizeof(map), "0 %u %u\n", r->host_start, r->count);
        _cleanup_close_ int fd = openat(proc_fd, name, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return quilt_error_set(err, -errno, "open %s: %m", name);
        /* The kernel takes a map in one write only. */
        ssize_t n = write(fd, map, (size_t)len);
        if (n < 0)
                return quilt_error_set(err, -errno, "writing \"%.*s\" to %s: %m", len - 1, map, name);
        if (n != len)
                return quilt_error_set(err, -EIO, "short write to %s", name);
        return 0;
}

int quilt_idmap_clone(const char *path, int userns_fd, bool recursive, struct quilt_error *err)
{
        _cleanup_close_ int tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                                                                     (recursive ? AT_RECURSIVE : 0));
        if (tree < 0)
                return quilt_error_set(err, -errno, "open_tree %s: %m", path);
        /* Not AT_RECURSIVE: only the top mount is seen through the
         * mapping (a bind mount below keeps the host's ids). */
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
        if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
                return quilt_error_set(err, -errno, "idmapping %s: %m", path);
        return TAKE_FD(tree);
}
