/* SPDX-License-Identifier: MIT */
/* A helper binary (quilt-init, quilt-exec) that runs inside or next to a
 * container is exec'd from a sealed memfd copy, never from its file: a
 * container process that reaches it through /proc/PID/exe can then
 * neither write nor resize it (runc's CVE-2019-5736), and the binary needs
 * no place in the container's rootfs. */
#ifndef QUILT_SEALED_BINARY_H
#define QUILT_SEALED_BINARY_H

#include <stddef.h>

#include "quilt/plugin.h"

/* Copy the binary at `path` into a sealed (write, grow, shrink, seal),
 * close-on-exec memfd named `name` (what /proc/PID/exe shows:
 * "memfd:NAME (deleted)").  Returns the fd, or -errno with `err` filled
 * ("PATH: reason"). */
int quilt_sealed_binary_open(const char *path, const char *name, struct quilt_error *err);

/* `len` bytes of `data` (a program a helper reads, not runs: the
 * container's seccomp filter) in a sealed, close-on-exec memfd named
 * `name`.  Returns the fd, or -errno with `err` filled ("NAME: reason"). */
int quilt_sealed_data_open(const char *name, const void *data, size_t len, struct quilt_error *err);

/* Exec the memfd `fd` with argv/envp (execveat AT_EMPTY_PATH).  `keep_fd`
 * (if >= 0) is made inheritable for the exec, close-on-exec again when it
 * fails.  Allocates nothing: fine between fork and exec.  Returns only on
 * failure: -errno. */
int quilt_sealed_binary_exec(int fd, char *const *argv, char *const *envp, int keep_fd);

#endif
