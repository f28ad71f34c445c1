/* SPDX-License-Identifier: MIT */
/* ExecContainer in the monitor: each exec is a child of the monitor that
 * execs the static quilt-exec helper from a sealed memfd (never a Quilt
 * binary a container process could reopen through /proc/PID/exe), placed
 * by the chain's attach hooks before it joins the container's namespaces
 * and root.  quiltd sends "exec ID LEN\n" + the packed request (without
 * stdin) with the exec's stdin, stdout and stderr pipe ends attached
 * (SCM_RIGHTS); the monitor answers "exec-started ID PID",
 * "exec-failed ID MESSAGE" and, when it ends, "exec-exited ID CODE SIGNAL".
 * "exec-kill ID" from quiltd (a timeout, a client gone) SIGKILLs the
 * helper; the command dies with it (PR_SET_PDEATHSIG). */
#ifndef QUILT_MONITOR_EXEC_H
#define QUILT_MONITOR_EXEC_H

#include <stdbool.h>
#include <sys/types.h>

#include "plugin_chain.h"
#include "quilt.pb-c.h"
#include "quilt/plugin.h"

/* The largest "exec" message quiltd sends (the request without stdin). */
#define QUILT_MONITOR_EXEC_MESSAGE_MAX (256 * 1024)
#define QUILT_EXEC_ID_MAX 32

struct quilt_exec_proc {
        char id[QUILT_EXEC_ID_MAX];
        pid_t pid;
        struct quilt_exec_proc *next;
};

struct quilt_monitor_exec {
        const char *helper_path;                /* quilt-exec; NULL: next to the monitor */
        int helper_fd;                          /* its sealed memfd, -1 until the first exec */
        int seccomp_fd;                         /* the container's seccomp program (memfd), or -1 */
        struct quilt_exec_proc *procs;
};

/* What an exec inherits from the container. */
struct quilt_exec_container {
        struct quilt_plugin_chain *chain;
        struct quilt_container *c;              /* c->pid: the container's init */
        const Quilt__V1__CreateContainerRequest *spec;
        char *const *envp;                      /* the container's environment */
};

/* The container's user settings in the tree `root_fd` (its rlimits; the
 * user `user`, or with NULL or "" the request's user and groups). */
struct quilt_process_settings;
int quilt_monitor_resolve_user(int root_fd, const Quilt__V1__CreateContainerRequest *spec,
                               const char *user, struct quilt_process_settings *ps,
                               struct quilt_error *err);

/* Start `req` with stdio `fds` (stdin, stdout, stderr ends: always
 * closed).  0 with *ret_pid (the helper), or -errno with `err`. */
int quilt_monitor_exec_start(struct quilt_monitor_exec *x, const struct quilt_exec_container *ec,
                             const char *id, const Quilt__V1__ExecContainerRequest *req,
                             const int fds[3], pid_t *ret_pid, struct quilt_error *err);

/* The exec whose helper is `pid`, or NULL. */
struct quilt_exec_proc *quilt_monitor_exec_find_pid(struct quilt_monitor_exec *x, pid_t pid);
struct quilt_exec_proc *quilt_monitor_exec_find(struct quilt_monitor_exec *x, const char *id);
void quilt_monitor_exec_forget(struct quilt_monitor_exec *x, struct quilt_exec_proc *p);
void quilt_monitor_exec_done(struct quilt_monitor_exec *x);

#endif
