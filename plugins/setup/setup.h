/* SPDX-License-Identifier: MIT */
/* Private declarations shared by the files of the setup plugin.  Nothing
 * here is exported: the plugin is built with -fvisibility=hidden and only
 * quilt_plugin_v1 (setup.c) is visible. */
#ifndef QUILT_SETUP_H
#define QUILT_SETUP_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "quilt/plugin.h"

#include "cleanup.h"         /* header-only: nothing of core/ is linked */

#define SETUP_SHELL_DEFAULT "/bin/sh"
/* How much of a command an error message quotes: the whole message must
 * stay well under QUILT_ERROR_MESSAGE_MAX with the core's prefix. */
#define SETUP_QUOTE_MAX 200

/* The [setup] section, as the key table in setup_config.c fills it. */
struct setup_config {
        const char *shell;      /* absolute, inside the container */
        uint64_t timeout;       /* seconds per command; 0 = no limit */
};

struct setup_state {
        const struct quilt_host *host;
        struct setup_config cfg;
        /* Process group of each setup command run so far (its shell's pid),
         * allocated in pre_clone so in_child allocates nothing: on a
         * failure, what earlier commands left running is ended too. */
        pid_t *groups;
        size_t n_groups_max;
};

/* setup_config.c: apply `section` (may be NULL or empty) over the defaults
 * and check it; errors name FILE:LINE of the offending entry. */
int setup_config_parse(const struct quilt_host *host, const struct quilt_config_section *section,
                       struct setup_config *cfg, struct quilt_error *err);

/* setup_run.c: run one command to its end. */
struct setup_command {
        const char *shell;
        const char *command;
        char *const *envp;
        const char *working_directory;
        uint64_t timeout;               /* seconds; 0 = no limit */
        const sigset_t *stop_signals;   /* blocked by the caller: end the command */
        const void *seccomp_filter;     /* the container's (c->seccomp_filter), or NULL */
        size_t seccomp_filter_len;
};

enum setup_outcome_kind {
        SETUP_EXITED,                   /* value: exit status */
        SETUP_KILLED,                   /* value: the signal that ended the shell */
        SETUP_TIMED_OUT,
        SETUP_STOPPED,                  /* value: the stop signal the container got */
        SETUP_CHDIR_FAILED,             /* value: errno */
        SETUP_EXEC_FAILED,              /* value: errno */
        SETUP_SECCOMP_FAILED,           /* value: errno */
};

struct setup_outcome {
        enum setup_outcome_kind kind;
        int value;
        pid_t group;                    /* the command's process group; 0 if none was made */
};

/* Fork, exec `shell -c command` in a process group of its own and wait for
 * it, reaping every other child that dies meanwhile.  SIGCHLD and
 * `stop_signals` must be blocked and SIGCHLD's disposition SIG_DFL.
 * Returns 0 with `ret` filled, or a negative errno when the command could
 * not be started or waited for at all. */
int setup_run(const struct setup_command *cmd, struct setup_outcome *ret, struct quilt_error *err);

/* Reap every child that has already ended; never blocks. */
void setup_reap_dead(void);

/* SIGKILL what is left of process group `pgid` and reap it, but only while
 * a child of ours still holds the group: an empty group's number may have
 * gone to someone else's process by now. */
void setup_end_group(pid_t pgid);

#endif
