/* SPDX-License-Identifier: MIT */
/* The monitor's side of quilt-exec, the static helper that runs a command
 * inside a running container (ExecContainer).  The monitor copies it into
 * a sealed memfd (quilt_sealed_binary_open(path, "quilt-exec", err)),
 * forks, places the child with the chain's attach hooks and has it exec
 * the memfd (quilt_sealed_binary_exec) with the argv built here; the
 * helper joins the container itself (core/quilt_exec.c). */
#ifndef QUILT_EXEC_HELPER_H
#define QUILT_EXEC_HELPER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "process_settings.h"
#include "sealed_binary.h"

#define QUILT_EXEC_HELPER_NAME "quilt-exec"

/* quilt-exec next to the running executable if it is there, else the
 * installed one.  Malloc'd; NULL when out of memory. */
char *quilt_exec_helper_default_path(void);

/* quilt-exec's argv:
 *   {"quilt-exec", "--pid", PID, ["--cwd", CWD,]
 *    ["--uid", U, "--gid", G, "--groups", "G1,G2,...",]
 *    ["--rlimit", "NOFILE=SOFT:HARD",]... ["--error-fd", N,] "--", argv..., NULL}
 * `cwd` NULL: "/".  `ps` NULL: the command keeps quilt-exec's own ids and
 * groups (root); else its uid, gid, groups (an empty list clears them)
 * and rlimits, RLIM_INFINITY written as "unlimited".  `error_fd` < 0
 * leaves --error-fd out (failures then go to stderr).  Malloc'd (free
 * with quilt_strv_free); NULL when out of memory. */
char **quilt_exec_helper_argv(pid_t pid, const char *cwd, const struct quilt_process_settings *ps,
                              int error_fd, char *const *argv);
/* The same with the container's confinement: `caps` the capability set
 * it keeps (~0: leave as is), no_new_privs, and `seccomp_fd` (-1: none)
 * an inheritable fd holding the container's seccomp program. */
char **quilt_exec_helper_argv_confined(pid_t pid, const char *cwd,
                                       const struct quilt_process_settings *ps, uint64_t caps,
                                       bool no_new_privs, int seccomp_fd, int error_fd,
                                       char *const *argv);

#endif
