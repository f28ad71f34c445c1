/* SPDX-License-Identifier: MIT */
/* quilt-monitor internals: one single-threaded process per container. */
#ifndef QUILT_MONITOR_H
#define QUILT_MONITOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "plugin_chain.h"
#include "process_settings.h"
#include "quilt/plugin.h"

/* What the container process needs between clone and exec; everything is
 * prepared before clone so the child allocates nothing. */
struct quilt_child_setup {
        struct quilt_plugin_chain *chain;
        struct quilt_container *container;
        int stdin_fd;                           /* /dev/null */
        int stdout_fd;                          /* write ends of the log pipes */
        int stderr_fd;
        int sync_fd;                            /* read: 'g' = go on, EOF = abort */
        int error_fd;                           /* write, CLOEXEC: child_protocol.h; EOF at exec = success */
        /* rlimits (before the chain's in_child) and, with process_ids, the
         * user and groups (right before exec); NULL: stay as is. */
        const struct quilt_process_settings *process;
        bool process_ids;
        /* Exec quilt-init from this memfd with init_argv (-1: exec argv). */
        int init_fd;
        char *const *init_argv;
        /* The monitor's own fds the child inherited: closed first thing,
         * or the child would hold the sync pipe's write end itself and
         * never see the EOF that tells it to give up. */
        const int *close_fds;
        size_t n_close_fds;
};

/* Runs in the cloned container process: never returns. */
_Noreturn void quilt_monitor_child(const struct quilt_child_setup *s);

/* The pipes of one stream of output. */
struct quilt_log_pump {
        int fd;                                 /* read end, O_NONBLOCK */
        int stream;                             /* enum quilt_log_stream_id */
        uint32_t setup_command;                 /* tag of what it reads now: 0 = the command */
};

/* Move what is readable now from `pump` into the log file.  Returns 1 while
 * the pipe is open, 0 at EOF (pump->fd closed and set to -1), <0 on error. */
int quilt_log_pump_read(struct quilt_log_pump *pump, int log_fd);

#endif
