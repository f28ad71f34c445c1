/* SPDX-License-Identifier: MIT */
/* Running a container's command under quilt-init (request field `init`).
 * The monitor copies the quilt-init binary into a sealed memfd before
 * clone and the container process execs that fd, so the binary needs no
 * place in the container's rootfs and the container can never rewrite it
 * through /proc/1/exe (runc's CVE-2019-5736 defence). */
#ifndef QUILT_INIT_EXEC_H
#define QUILT_INIT_EXEC_H

#include "quilt/plugin.h"
#include "sealed_binary.h"

/* quilt-init next to the running executable if it is there, else the
 * installed one.  Malloc'd; NULL when out of memory. */
char *quilt_init_default_path(void);

/* quilt_sealed_binary_open(path, "quilt-init", err): the binary at `path`
 * in a sealed, close-on-exec memfd.  Returns the fd, or -errno with `err`
 * filled ("PATH: reason"). */
int quilt_init_open(const char *path, struct quilt_error *err);

/* {"quilt-init", ["--error-fd", "N",] "--", argv..., NULL} for
 * quilt_init_exec(); error_fd < 0 leaves out --error-fd.  Malloc'd (free
 * with quilt_strv_free); NULL when out of memory. */
char **quilt_init_argv(char *const *argv, int error_fd);

/* In the container process, last thing: exec quilt-init from `init_fd`.
 * `error_fd` (if >= 0) is made inheritable for init, which passes it on
 * to the command until the command's exec.  Allocates nothing.  Returns
 * only on failure: -errno, with error_fd close-on-exec again. */
int quilt_init_exec(int init_fd, char *const *init_argv, char *const *envp, int error_fd);

#endif
