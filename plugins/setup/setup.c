/* SPDX-License-Identifier: MIT */
/* The setup plugin: runs the request's setup commands, one after another,
 * each as `SHELL -c COMMAND`, in the container process after the root
 * switch and before the main command (in_child, last in the chain).  They
 * share everything with the command: root, namespaces, cgroup, env,
 * working directory, stdio (fds 0-2 are already the log pipes).  The
 * first failure fails the container.  Nothing outlives the container, so
 * there is no cleanup hook. */
#include <string.h>
#include <sys/prctl.h>

#include "setup.h"

static int setup_init(const struct quilt_host *host, const struct quilt_config_section *section,
                      void **ret_state, struct quilt_error *err)
{
        _cleanup_free_ struct setup_state *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        s->host = host;
        r = setup_config_parse(host, section, &s->cfg, err);
        if (r < 0)
                return r;
        *ret_state = TAKE_PTR(s);
        return 0;
}

static void setup_fini(void *state)
{
        struct setup_state *s = state;

        if (s)
                free(s->groups);
        free(s);
}

static bool has_commands(const struct quilt_container *c)
{
        return QUILT_CONTAINER_HAS(c, setup_commands) && c->setup_commands &&
               c->setup_commands[0];
}

/* Room for the process group of every command, so in_child need not
 * allocate. */
static int setup_pre_clone(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct setup_state *s = state;
        size_t n = 0;

        free(s->groups);
        s->groups = NULL;
        s->n_groups_max = 0;
        if (!has_commands(c))
                return 0;
        while (c->setup_commands[n])
                n++;
        s->groups = calloc(n, sizeof(*s->groups));
        if (!s->groups)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        s->n_groups_max = n;
        return 0;
}

/* "Killed" for 9; never allocates, unlike strsignal. */
static const char *signal_text(int sig)
{
        const char *d = sigdescr_np(sig);
        return d ? d : "unknown signal";
}

/* Quote at most SETUP_QUOTE_MAX bytes of `cmd`, cut at a UTF-8 boundary. */
static int quote_len(const char *cmd, const char **ret_ellipsis)
{
        size_t n = strnlen(cmd, SETUP_QUOTE_MAX + 1);

        *ret_ellipsis = "";
        if (n <= SETUP_QUOTE_MAX)
                return (int)n;
        n = SETUP_QUOTE_MAX;
        while (n > 0 && ((unsigned char)cmd[n] & 0xc0) == 0x80)
                n--;
        *ret_ellipsis = "...";
        return (int)n;
}

static int outcome_error(unsigned n, const struct setup_command *cmd,
                         const struct setup_outcome *o, struct quilt_error *err)
{
        const char *more;
        int len = quote_len(cmd->command, &more);

        /* No errno names "the command failed": -ECHILD stands for it (the
         * monitor shows only the message). */
        switch (o->kind) {
        case SETUP_EXITED:
                if (o->value == 0)
                        return 0;
                return quilt_error_set(err, -ECHILD, "setup command %u (`%.*s%s`) exited with %d",
                                       n, len, cmd->command, more, o->value);
        case SETUP_KILLED:
                return quilt_error_set(err, -ECHILD,
                                       "setup command %u (`%.*s%s`) was killed by signal %d (%s)",
                                       n, len, cmd->command, more, o->value,
                                       signal_text(o->value));
        case SETUP_TIMED_OUT:
                return quilt_error_set(err, -ETIMEDOUT,
                                       "setup command %u (`%.*s%s`) timed out after %llu s", n,
                                       len, cmd->command, more,
                                       (unsigned long long)cmd->timeout);
        case SETUP_STOPPED:
                return quilt_error_set(err, -ECANCELED,
                                       "setup command %u (`%.*s%s`) was stopped: the container "
                                       "got signal %d (%s)",
                                       n, len, cmd->command, more, o->value,
                                       signal_text(o->value));
        case SETUP_CHDIR_FAILED:
                return quilt_error_set(err, -o->value, "setup command %u: cannot chdir to %s: %s",
                                       n, cmd->working_directory, strerror(o->value));
        case SETUP_EXEC_FAILED:
                return quilt_error_set(err, -o->value, "setup command %u: cannot run %s: %s", n,
                                       cmd->shell, strerror(o->value));
        case SETUP_SECCOMP_FAILED:
                return quilt_error_set(err, -o->value, "setup command %u: loading the seccomp filter: %s",
                                       n, strerror(o->value));
        }
        return quilt_error_set(err, -EINVAL, "setup command %u: unknown outcome %d", n,
                               (int)o->kind);
}

static uint64_t timeout_for(const struct setup_state *s, const struct quilt_container *c)
{
        if (QUILT_CONTAINER_HAS(c, setup_timeout_seconds) && c->setup_timeout_seconds > 0)
                return c->setup_timeout_seconds;
        return s->cfg.timeout;
}

/* The container will not start: nothing the first `n` commands left
 * running may outlive it, also where no pid namespace would end it
 * (the chroot profile). */
static void end_groups(const struct setup_state *s, size_t n)
{
        for (size_t i = 0; i < n && i < s->n_groups_max; i++)
                setup_end_group(s->groups[i]);
}

static int run_all(struct setup_state *s, struct quilt_container *c, const sigset_t *stop,
                   struct quilt_error *err)
{
        struct setup_command cmd = {
                .shell = s->cfg.shell,
                .envp = c->envp,
                .working_directory = c->working_directory && *c->working_directory ?
                                             c->working_directory : "/",
                .timeout = timeout_for(s, c),
                .stop_signals = stop,
        };
        /* Setup commands are confined like the command itself. */
        if (QUILT_CONTAINER_HAS(c, seccomp_filter_len)) {
                cmd.seccomp_filter = c->seccomp_filter;
                cmd.seccomp_filter_len = c->seccomp_filter_len;
        }
        const bool phases = QUILT_HOST_HAS(s->host, child_phase);
        unsigned n = 0;
        int r;

        for (char *const *p = c->setup_commands; *p; p++) {
                struct setup_outcome o;

                n++;
                cmd.command = *p;
                /* Before the fork: what the shell writes is then setup output. */
                if (phases) {
                        r = s->host->child_phase(c, n, cmd.command);
                        if (r < 0) {
                                end_groups(s, n - 1);
                                return quilt_error_set(err, r,
                                                       "setup command %u: telling the monitor: %s",
                                                       n, strerror(-r));
                        }
                }
                r = setup_run(&cmd, &o, err);
                if (r < 0) {
                        end_groups(s, n - 1);
                        return quilt_error_prefix(err, r, "setup command %u: ", n);
                }
                if (n <= s->n_groups_max)
                        s->groups[n - 1] = o.group;
                r = outcome_error(n, &cmd, &o, err);
                if (r < 0) {
                        setup_end_group(o.group);
                        end_groups(s, n - 1);
                        return r;
                }
        }
        /* The core marks the command's own output (phase 0) after in_child. */
        return 0;
}

static int setup_in_child(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct setup_state *s = state;
        struct sigaction dfl = { .sa_handler = SIG_DFL }, old_chld;
        sigset_t stop, blocked, old_mask;
        int old_subreaper = 0, r;
        bool subreaper;

        if (!has_commands(c))
                return 0;

        /* Stopping the container means ending its setup: PID 1 of a pid
         * namespace would otherwise ignore SIGTERM from the monitor. */
        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGHUP);
        sigaddset(&stop, SIGQUIT);
        blocked = stop;
        sigaddset(&blocked, SIGCHLD);
        /* Waited for with sigtimedwait; SIG_IGN would auto-reap children. */
        if (sigaction(SIGCHLD, &dfl, &old_chld) < 0 ||
            sigprocmask(SIG_BLOCK, &blocked, &old_mask) < 0)
                return quilt_error_set(err, -errno, "setting up signals: %s", strerror(errno));

        /* Orphans of the commands must come to us.  PID 1 gets them anyway;
         * without a pid namespace we ask for them until setup is done. */
        subreaper = getpid() != 1;
        if (subreaper) {
                (void)prctl(PR_GET_CHILD_SUBREAPER, &old_subreaper);
                (void)prctl(PR_SET_CHILD_SUBREAPER, 1);
        }

        r = run_all(s, c, &stop, err);

        /* Children still running (a daemon a command started) stay ours
         * and become the command's; the ended ones are reaped here. */
        setup_reap_dead();
        if (subreaper)
                (void)prctl(PR_SET_CHILD_SUBREAPER, old_subreaper);
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        sigaction(SIGCHLD, &old_chld, NULL);
        return r;
}

QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_plugin),
        .name = "setup",
        .description = "setup commands: SHELL -c CMD in the container, in order, before the command",
        .init = setup_init,
        .fini = setup_fini,
        .pre_clone = setup_pre_clone,
        .in_child = setup_in_child,
        .features = QUILT_FEATURE_SETUP_COMMANDS,
};
