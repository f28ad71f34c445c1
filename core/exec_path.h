/* SPDX-License-Identifier: MIT */
/* execvpe() with the *given* environment's PATH: a container's command is
 * looked up in the container's PATH, never in the monitor's (or in a
 * libc default).  Shared by the monitor's child and quilt-init, so it
 * allocates nothing and needs only libc. */
#ifndef QUILT_EXEC_PATH_H
#define QUILT_EXEC_PATH_H

#define QUILT_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The value of PATH in envp, or QUILT_DEFAULT_PATH. */
const char *quilt_exec_env_path(char *const *envp);

/* Exec argv[0] (searched in envp's PATH unless it has a '/') with envp.
 * Returns only on failure: the most telling errno of the attempts. */
int quilt_exec_search(char *const *argv, char *const *envp);

#endif
