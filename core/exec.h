/* SPDX-License-Identifier: MIT */
/* ExecContainer in quiltd: check the request, make the exec's pipes, hand
 * the child ends to the container's monitor (which runs the command, see
 * monitor_exec.h) and follow the exec's record until it has exited.  The
 * RPC handler (rpc_exec.c) moves the bytes. */
#ifndef QUILT_EXEC_H
#define QUILT_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "container.h"
#include "quilt.pb-c.h"
#include "status.h"

struct quilt_exec {
        struct quilt_manager *manager;
        struct quilt_container_record *container;       /* a reference */
        struct quilt_exec_record *record;
        int stdin_fd;                           /* write end, O_NONBLOCK; -1 when closed */
        int stdout_fd;                          /* read ends, O_NONBLOCK */
        int stderr_fd;
        int64_t deadline_ns;                    /* CLOCK_MONOTONIC, from timeout_seconds; 0: none */
        bool timed_out;                         /* killed for it */
};

/* Start `req` (stdin excluded: the caller writes it to stdin_fd).  Waits
 * until the monitor says the command started (or why it could not). */
int quilt_exec_start(struct quilt_manager *m, const Quilt__V1__ExecContainerRequest *req,
                     struct quilt_exec **ret, struct quilt_status *st);

/* Whether it has exited; fills the status when so.  *ret_gone: the
 * monitor ended without saying (the container is gone). */
bool quilt_exec_exited(struct quilt_exec *x, int *ret_code, int *ret_signal, bool *ret_gone);

/* Wait up to timeout_ms for a change of the exec's record. */
void quilt_exec_wait(struct quilt_exec *x, int timeout_ms);

/* SIGKILL it (a timeout, a client gone). */
void quilt_exec_kill(struct quilt_exec *x, bool timed_out);

/* Past the request's timeout_seconds: SIGKILL it, once (x->timed_out). */
void quilt_exec_check_timeout(struct quilt_exec *x);

/* Forget it: close what is open, drop the record and the reference. */
void quilt_exec_free(struct quilt_exec *x);

/* supervisor.c: a monitor message "exec-started|exec-failed|exec-exited
 * ID ...".  Lock held. */
void quilt_exec_message(struct quilt_container_record *c, const char *msg);

#endif
