/* SPDX-License-Identifier: MIT */
/* Small-file helpers for cgroupfs.  Every cgroup file is read or written
 * whole with one syscall: the kernel parses each write() on its own, so a
 * value split over two writes would be two (wrong) values. */
#ifndef QUILT_CGROUP_FS_H
#define QUILT_CGROUP_FS_H

#include <stdbool.h>
#include <stdint.h>

#include "quilt/plugin.h"

/* The whole file as a NUL-terminated string; -errno. */
int cg_read(const char *path, char **ret);
/* One write() of `value`; -errno.  Never creates the file: a cgroup file
 * that does not exist means a controller that is not there. */
int cg_write(const char *path, const char *value);
/* The same, with "reading PATH: REASON" / "writing VALUE to PATH: REASON"
 * in err on failure. */
int cg_read_err(const char *path, char **ret, struct quilt_error *err);
int cg_write_err(const char *path, const char *value, struct quilt_error *err);
/* `value` as decimal; the message names the number. */
int cg_write_u64_err(const char *path, uint64_t value, struct quilt_error *err);

/* DIR/NAME into *ret (malloc'ed), with exactly one slash between. */
int cg_join(char **ret, const char *dir, const char *name);
bool cg_exists(const char *path);
/* cg_join with "out of memory" in err. */
int cg_join_err(const char *dir, const char *name, char **ret, struct quilt_error *err);
/* Write DIR/NAME, with the message of cg_write_err. */
int cg_write_in(const char *dir, const char *name, const char *value, struct quilt_error *err);
int cg_write_u64_in(const char *dir, const char *name, uint64_t value, struct quilt_error *err);
/* Read DIR/NAME into *ret; a missing file (a controller not in use) is 0
 * with *ret NULL. */
int cg_read_optional(const char *dir, const char *name, char **ret, struct quilt_error *err);

/* mkdir every component of `rel` under the existing directory `base`;
 * on_created (may be NULL) runs for each directory this call made, top
 * down, so a backend can initialise it (v1 cpuset). */
typedef int (*cg_created_fn)(const char *dir, void *userdata, struct quilt_error *err);
int cg_mkdir_p(const char *base, const char *rel, cg_created_fn on_created, void *userdata,
               struct quilt_error *err);
/* rmdir that retries while the kernel answers EBUSY (a cgroup whose last
 * tasks are still being released), until `deadline_ms`; a missing
 * directory is success. */
int cg_rmdir_retry(const char *path, uint64_t deadline_ms, struct quilt_error *err);
/* The same for a cgroup and the child cgroups a container may have made
 * inside it (deepest first). */
int cg_rmdir_tree(const char *path, uint64_t deadline_ms, struct quilt_error *err);

/* The number after `key` on a "key value" line of `text` (cpu.stat,
 * memory.events, memory.oom_control); -ENOENT when no such line. */
int cg_kv_u64(const char *text, const char *key, uint64_t *ret);
/* The number `text` starts with ("123\n"); -ERANGE for "max". */
int cg_parse_u64(const char *text, uint64_t *ret);
/* `word` is one of the blank- or comma-separated words of `list`. */
bool cg_word_in(const char *list, const char *word);

#endif
