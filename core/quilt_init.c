/* SPDX-License-Identifier: MIT */
/* quilt-init: a tiny PID 1 for containers that ask for `init`.
 *
 *   quilt-init [--error-fd N] -- CMD [ARG...]
 *
 * It starts CMD, forwards the signals it receives to it, reaps every
 * process that ends up as its child (orphans reparent to PID 1) and exits
 * with CMD's status: exit N -> N, killed by signal S -> 128+S.
 *
 * The monitor runs it from a sealed memfd copy, inside any rootfs, so it is
 * linked statically and without sanitizers (core/meson.build).  It is
 * single-threaded: signals stay blocked and are taken with sigwaitinfo(),
 * so there are no handlers and no async-signal-safety puzzles.
 *
 * Process groups: CMD stays in init's session and process group (the
 * monitor made that with setsid()).  A signal sent to init alone goes to
 * CMD alone, as tini does by default; the monitor's group-wide SIGKILL
 * (no pid namespace) still reaches CMD directly; and CMD dies with init
 * (PR_SET_PDEATHSIG) in case init is killed while not PID 1. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_protocol.h"
#include "exec_path.h"
#include "signal_relay.h"

extern char **environ;

_Noreturn static void die(const char *what, int e)
{
        char buf[256];
        int n = snprintf(buf, sizeof(buf), "quilt-init: %s: %s\n", what, strerror(e));
        if (n > 0)
                (void)!write(2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
        _exit(127);
}

_Noreturn static void usage(void)
{
        static const char msg[] = "usage: quilt-init [--error-fd N] -- CMD [ARG...]\n";
        (void)!write(2, msg, sizeof(msg) - 1);
        _exit(127);
}

/* In the forked child: undo init's signal setup, exec CMD, and report a
 * failure the way the monitor's own child does. */
_Noreturn static void run_command(char *const *argv, int error_fd, pid_t init_pid)
{
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != init_pid)
                _exit(127);
        quilt_relay_reset_signals();

        int e = quilt_exec_search(argv, environ);
        if (error_fd < 0) {
                char what[PATH_MAX + 8];
                snprintf(what, sizeof(what), "exec %s", argv[0]);
                die(what, e);
        }
        struct quilt_child_message msg = { .type = QUILT_CHILD_ERROR, .code = -e };
        snprintf(msg.message, sizeof(msg.message), "exec %s: %s", argv[0], strerror(e));
        ssize_t n;
        do
                n = write(error_fd, &msg, sizeof(msg));
        while (n < 0 && errno == EINTR);
        _exit(127);
}

static int parse_fd(const char *s)
{
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        /* 0-2 are the command's stdio: never ours to make close-on-exec */
        if (errno || end == s || *end || v < 3 || v > INT_MAX)
                return -1;
        return (int)v;
}

int main(int argc, char **argv)
{
        int error_fd = -1;
        int i = 1;

        /* Exec'd from a memfd, the kernel would call us "memfd:quilt-ini". */
        prctl(PR_SET_NAME, "quilt-init");
        if (i < argc && !strcmp(argv[i], "--error-fd")) {
                if (i + 1 >= argc || (error_fd = parse_fd(argv[i + 1])) < 0)
                        usage();
                i += 2;
        }
        if (i < argc && !strcmp(argv[i], "--"))
                i++;
        if (i >= argc || argv[i][0] == '\0')
                usage();

        /* The pipe is for CMD's exec failure only: init itself must not
         * carry it into anything it might exec. */
        if (error_fd >= 0 && fcntl(error_fd, F_SETFD, FD_CLOEXEC) < 0)
                die("--error-fd", errno);

        pid_t self = getpid();
        /* Not PID 1 (a test, or no pid namespace): still collect orphans. */
        if (self != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                die("prctl(PR_SET_CHILD_SUBREAPER)", errno);

        /* An inherited SIG_IGN on SIGCHLD would make the kernel reap for us
         * and hide CMD's status. */
        signal(SIGCHLD, SIG_DFL);

        /* Block before fork so nothing arrives between fork and the wait
         * loop; blocked signals are queued even for PID 1 of a namespace. */
        sigset_t set;
        int blocked = quilt_relay_block_signals(&set);
        if (blocked < 0)
                die("sigprocmask", -blocked);

        pid_t child = fork();
        if (child < 0)
                die("fork", errno);
        if (child == 0)
                run_command(argv + i, error_fd, self);

        /* From now on only CMD holds the pipe: the monitor sees EOF exactly
         * when CMD has exec'd (or its error message when it could not). */
        if (error_fd >= 0)
                close(error_fd);

        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&set, &si);
                if (sig < 0) {
                        if (errno == EINTR)
                                continue;
                        die("sigwaitinfo", errno);
                }
                if (sig != SIGCHLD) {
                        kill(child, sig);
                        continue;
                }
                /* SIGCHLDs coalesce: reap everything there is. */
                bool main_done = false;
                int status, main_status = 0;
                pid_t pid;
                while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
                        if (pid == child) {
                                main_done = true;
                                main_status = status;
                        }
                /* PID 1 leaving takes the rest of the namespace along. */
                if (main_done)
                        _exit(quilt_relay_exit_code(main_status));
        }
}
