/* SPDX-License-Identifier: MIT */
/* The container process between clone() and execve().  The monitor is
 * single-threaded, so libc is safe here, but we still allocate nothing:
 * everything was prepared before clone. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "child_protocol.h"
#include "exec_path.h"
#include "init_exec.h"
#include "monitor.h"
#include "seccomp_load.h"
#include "util.h"

_Noreturn static void fail(const struct quilt_child_setup *s, const struct quilt_error *err)
{
        struct quilt_child_message msg = { .type = QUILT_CHILD_ERROR, .code = err->code };
        memcpy(msg.message, err->message, sizeof(msg.message));
        msg.message[sizeof(msg.message) - 1] = '\0';
        (void)quilt_write_all(s->error_fd, &msg, sizeof(msg));
        _exit(127);
}

_Noreturn void quilt_monitor_child(const struct quilt_child_setup *s)
{
        struct quilt_error err = { 0 };
        struct quilt_container *c = s->container;

        for (size_t i = 0; i < s->n_close_fds; i++)
                if (s->close_fds[i] >= 0)
                        close(s->close_fds[i]);

        /* The monitor blocks SIGCHLD for its signalfd; the command must
         * start with a clean mask. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);

        /* Die with the monitor: a container never runs unsupervised. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
                quilt_error_set(&err, -errno, "prctl(PR_SET_PDEATHSIG): %m");
                fail(s, &err);
        }

        if (dup2(s->stdin_fd, 0) < 0 || dup2(s->stdout_fd, 1) < 0 || dup2(s->stderr_fd, 2) < 0) {
                quilt_error_set(&err, -errno, "setting up stdio: %m");
                fail(s, &err);
        }
        setsid();

        /* Wait until post_start hooks have placed us (cgroups, maps). */
        char go = 0;
        ssize_t n;
        do
                n = read(s->sync_fd, &go, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1 || go != 'g')
                _exit(126);

        /* Limits before any plugin drops capabilities: raising a hard
         * limit needs CAP_SYS_RESOURCE.  Setup commands run under them. */
        if (s->process && quilt_process_apply_rlimits(s->process, &err) < 0)
                fail(s, &err);

        /* A setup plugin reports its phases through quilt_host.child_phase. */
        quilt_host_set_child_channel(s->error_fd, s->sync_fd);
        if (quilt_plugin_chain_run(s->chain, QUILT_STAGE_IN_CHILD, c, &err) < 0)
                fail(s, &err);
        if (c->setup_commands && c->setup_commands[0] &&
            quilt_child_report_phase(0, NULL) < 0) {
                /* What the pipes carry from here on is the command's own output. */
                quilt_error_set(&err, -EPIPE, "the monitor did not acknowledge the end of the setup");
                fail(s, &err);
        }

        /* Setup commands ran as root; the command runs as the user. */
        if (s->process && s->process_ids && quilt_process_apply_ids(s->process, &err) < 0)
                fail(s, &err);

        if (chdir(c->working_directory) < 0) {
                quilt_error_set(&err, -errno, "chdir %s: %m", c->working_directory);
                fail(s, &err);
        }

        /* Any fd we did not mean to pass must not reach the command. */
        close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

        /* The seccomp filter last: nothing of ours runs under it but the
         * exec itself. */
        int r = quilt_seccomp_load(c->seccomp_filter, c->seccomp_filter_len);
        if (r < 0) {
                quilt_error_set(&err, r, "loading the seccomp filter: %s%s", strerror(-r),
                                r == -EACCES ? " (it needs no_new_privs or CAP_SYS_ADMIN)" : "");
                fail(s, &err);
        }

        if (s->init_fd >= 0) {
                r = quilt_init_exec(s->init_fd, s->init_argv, c->envp, s->error_fd);
                quilt_error_set(&err, r, "exec quilt-init: %s", strerror(-r));
                fail(s, &err);
        }
        int e = quilt_exec_search(c->argv, c->envp);
        quilt_error_set(&err, -e, "exec %s: %s", c->argv[0], strerror(e));
        fail(s, &err);
}
