/* SPDX-License-Identifier: MIT */
/* DIR/state: what the monitor knows of its container, written atomically
 * at every change so that the state outlives quiltd.  A small
 * "key=value" text file; values escape '\\' and newlines. */
#ifndef QUILT_STATE_FILE_H
#define QUILT_STATE_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "lifecycle.h"
#include "quilt/plugin.h"

#define QUILT_STATE_FILE "state"

struct quilt_run_state {
        enum quilt_state state;
        pid_t monitor_pid;
        pid_t pid;                              /* the container's init, host pid */
        int exit_code;
        int exit_signal;
        int64_t created_ns;
        int64_t started_ns;
        int64_t finished_ns;
        bool cleaned;                           /* every plugin's cleanup has run */
        bool oom_killed;
        uint32_t setup_command;                 /* SETUP: the one running (1..) */
        bool ready;                             /* the readiness probe succeeded */
        struct quilt_stats stats;               /* the last figures read (after the exit) */
        int64_t stats_ns;
        char error[QUILT_ERROR_MESSAGE_MAX];
        char ip_address[48];                    /* a network plugin's address for it, or "" */
        /* Chain instances whose stages began ("ns,rootfs"), so a later
         * cleanup runs exactly those; malloc'd, NULL when none. */
        char *entered;
};

void quilt_run_state_done(struct quilt_run_state *s);

int quilt_run_state_write(const char *dir, const struct quilt_run_state *s);
/* -ENOENT when there is none; unknown keys are ignored (newer writers). */
int quilt_run_state_read(const char *dir, struct quilt_run_state *ret);

#endif
