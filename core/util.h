/* SPDX-License-Identifier: MIT */
/* Small helpers shared by quiltd, quilt-monitor and quilt-cli. */
#ifndef QUILT_UTIL_H
#define QUILT_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "quilt/plugin.h"

void quilt_strv_free(char **v);
static inline void quilt_strv_freep(char ***v) { quilt_strv_free(*v); }
#define _cleanup_strv_free_ _cleanup_(quilt_strv_freep)

/* CLOCK_REALTIME in nanoseconds. */
int64_t quilt_now_ns(void);
/* CLOCK_MONOTONIC in nanoseconds. */
int64_t quilt_monotonic_ns(void);

/* Remove a tree without following symlinks or crossing mount points
 * (matches quilt_host.remove_tree). A missing path is fine. */
int quilt_remove_tree(const char *path, struct quilt_error *err);

/* Write `len` bytes to path.tmp, fsync-free, then rename over path. */
int quilt_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Read a whole small file (at most `max` bytes) into a NUL-terminated buffer. */
int quilt_read_file(const char *path, size_t max, char **ret_data, size_t *ret_len);

/* write()/read() the whole buffer, retrying on EINTR and short counts. */
int quilt_write_all(int fd, const void *buf, size_t len);

size_t quilt_strv_length(char *const *v);
/* A NULL-terminated deep copy of the first `n` strings of `v` (protobuf-c's
 * repeated strings are counted, not terminated); NULL when out of memory. */
char **quilt_strv_copy_n(char *const *v, size_t n);

/* The executable NAME next to the running one (a build tree runs as
 * installed), else `fallback` (the installed path).  Malloc'd; NULL when
 * out of memory. */
char *quilt_sibling_path(const char *name, const char *fallback);

#endif
