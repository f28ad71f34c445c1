/* SPDX-License-Identifier: MIT */
/* The container lifecycle: states and the only legal transitions.
 *
 *   PENDING ──▶ SETUP ──▶ RUNNING ──▶ EXITED
 *      │          │          │
 *      └──────────┴──▶ FAILED ◀┘  (a stage, a setup command or the exec
 *                                 failed; a stop during setup; the monitor died)
 *
 * SETUP only when the request has setup commands.
 *
 * The values equal quilt.v1.ContainerState so they cross the API as is. */
#ifndef QUILT_LIFECYCLE_H
#define QUILT_LIFECYCLE_H

#include <stdbool.h>

enum quilt_state {
        QUILT_STATE_PENDING = 1,
        QUILT_STATE_RUNNING = 2,
        QUILT_STATE_EXITED = 3,
        QUILT_STATE_FAILED = 4,
        QUILT_STATE_SETUP = 5,
};

/* "PENDING", "RUNNING", ... or NULL for a value outside the enum. */
const char *quilt_state_name(enum quilt_state s);
/* The reverse of quilt_state_name; -1 for an unknown name. */
int quilt_state_from_name(const char *name);
bool quilt_state_transition_allowed(enum quilt_state from, enum quilt_state to);
/* EXITED and FAILED: nothing will change any more. */
bool quilt_state_is_terminal(enum quilt_state s);
/* SETUP and RUNNING: the container process is there (running setup
 * commands or the command) to be signalled, measured or updated. */
bool quilt_state_has_process(enum quilt_state s);

#endif
