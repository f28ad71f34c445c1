/* SPDX-License-Identifier: MIT */
/* One setup command: `shell -c command` in a process group of its own,
 * waited for with an optional timeout.  Runs in the container process
 * before exec (single-threaded, PID 1 of its pid namespace or a
 * subreaper), so every orphan of the command comes to us and is reaped
 * here too.  Nothing is allocated. */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "seccomp_load.h"
#include "setup.h"

/* What the forked child reports over the CLOEXEC pipe when it cannot
 * reach exec; EOF means exec succeeded. */
struct child_report {
        int32_t kind;                   /* SETUP_CHDIR_FAILED or SETUP_EXEC_FAILED */
        int32_t error;                  /* errno */
};

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Close every fd >= 3 but `keep`.  close_range first; the loop is for
 * kernels before 5.9. */
static void close_all_but(int keep)
{
        if (keep > 3)
                if (close_range(3, (unsigned)keep - 1, 0) < 0)
                        goto by_hand;
        if (close_range((unsigned)keep + 1, ~0U, 0) < 0)
                goto by_hand;
        return;
by_hand:;
        struct rlimit rl;
        int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < INT_MAX ?
                          (int)rl.rlim_cur : 65536;
        for (int fd = 3; fd < max; fd++)
                if (fd != keep)
                        close(fd);
}

_Noreturn static void report(int fd, enum setup_outcome_kind kind, int error)
{
        const struct child_report r = { .kind = kind, .error = error };
        ssize_t n;

        do
                n = write(fd, &r, sizeof(r));
        while (n < 0 && errno == EINTR);
        _exit(127);
}

_Noreturn static void child(const struct setup_command *cmd, pid_t parent, int report_fd)
{
        const char *dir = cmd->working_directory && *cmd->working_directory ?
                                  cmd->working_directory : "/";
        /* execve takes char *const[]; the strings are never written to. */
        char *const argv[] = { (char *)cmd->shell, (char *)"-c", (char *)cmd->command, NULL };
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        sigset_t none;

        /* A group of its own, so that a timeout ends everything the
         * command started (unless it left the group on purpose). */
        setpgid(0, 0);
        /* Should the container process die (SIGKILL from the monitor),
         * the shell goes too rather than run on unsupervised. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
                _exit(127);

        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void)sigaction(sig, &dfl, NULL);  /* EINVAL for libc's own: fine */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);

        close_all_but(report_fd);

        /* Like the command itself: the core chdirs there before exec and
         * fails the container when it cannot, so a setup command fails the
         * same way rather than run somewhere else. */
        if (chdir(dir) < 0)
                report(report_fd, SETUP_CHDIR_FAILED, errno);
        int r = quilt_seccomp_load(cmd->seccomp_filter, cmd->seccomp_filter_len);
        if (r < 0)
                report(report_fd, SETUP_SECCOMP_FAILED, -r);
        execve(cmd->shell, argv, cmd->envp);
        report(report_fd, SETUP_EXEC_FAILED, errno);
}

void setup_reap_dead(void)
{
        for (;;) {
                pid_t p = waitpid(-1, NULL, WNOHANG);
                if (p > 0 || (p < 0 && errno == EINTR))
                        continue;
                return;
        }
}

/* Reap what has ended; note the shell's status when it is among them.
 * Returns true once the shell has been reaped. */
static bool reap_until_shell(pid_t shell, int *ret_status)
{
        for (;;) {
                int status;
                pid_t p = waitpid(-1, &status, WNOHANG);

                if (p < 0 && errno == EINTR)
                        continue;
                if (p <= 0)
                        return false;
                if (p == shell) {
                        *ret_status = status;
                        setup_reap_dead();
                        return true;
                }
        }
}

/* After a timeout or a stop: kill the shell's process group and wait for
 * all of it.  Orphans keep the group id and are handed to us before their
 * parent becomes reapable, so waiting for the group until ECHILD leaves
 * none of it behind (only what left the group on purpose escapes). */
static void kill_group(pid_t shell, int *ret_status)
{
        bool reaped = false;

        kill(-shell, SIGKILL);
        for (;;) {
                int status;
                pid_t p = waitpid(-shell, &status, 0);

                if (p < 0 && errno == EINTR)
                        continue;
                if (p < 0)
                        break;
                if (p == shell) {
                        *ret_status = status;
                        reaped = true;
                }
        }
        if (!reaped)                            /* cannot happen: setpgid ran before exec */
                while (waitpid(shell, ret_status, 0) < 0 && errno == EINTR)
                        ;
        setup_reap_dead();
}

void setup_end_group(pid_t pgid)
{
        pid_t p;

        if (pgid <= 0)
                return;
        /* Reaping a zombie member keeps the number ours until we look. */
        do
                p = waitpid(-pgid, NULL, WNOHANG);
        while (p > 0 || (p < 0 && errno == EINTR));
        if (p < 0)
                return;                         /* ECHILD: none of ours is in it */
        kill(-pgid, SIGKILL);
        for (;;) {
                p = waitpid(-pgid, NULL, 0);
                if (p < 0 && errno != EINTR)
                        break;
        }
}

/* Read the child's report: 0 when exec succeeded (EOF). */
static int read_report(int fd, struct child_report *r)
{
        ssize_t n;

        do
                n = read(fd, r, sizeof(*r));
        while (n < 0 && errno == EINTR);
        if (n == (ssize_t)sizeof(*r))
                return 1;
        return n < 0 ? -errno : 0;
}

int setup_run(const struct setup_command *cmd, struct setup_outcome *ret, struct quilt_error *err)
{
        _cleanup_close_ int report_r = -1, report_w = -1;
        const uint64_t start = now_ns();
        const uint64_t deadline = cmd->timeout ? start + cmd->timeout * 1000000000u : 0;
        const pid_t parent = getpid();
        int fds[2], status = 0, r;
        bool reaped = false;
        sigset_t wait_set;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return quilt_error_set(err, -errno, "pipe2: %s", strerror(errno));
        report_r = fds[0];
        report_w = fds[1];

        pid = fork();
        if (pid < 0)
                return quilt_error_set(err, -errno, "fork: %s", strerror(errno));
        if (pid == 0)
                child(cmd, parent, report_w);

        /* Also here: whichever of the two runs first, the group exists
         * before we could ever signal it.  EACCES once it exec'd is fine. */
        (void)setpgid(pid, pid);
        quilt_closep(&report_w);
        report_w = -1;

        struct child_report rep;
        r = read_report(report_r, &rep);
        if (r != 0) {
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                if (r < 0)
                        return quilt_error_set(err, r, "reading the child's report: %s",
                                               strerror(-r));
                *ret = (struct setup_outcome){ .kind = rep.kind, .value = rep.error };
                return 0;
        }
        /* Exec'd: from here on the group may have members of its own. */

        wait_set = *cmd->stop_signals;
        sigaddset(&wait_set, SIGCHLD);
        for (;;) {
                struct timespec left, *timeout = NULL;
                int sig;

                /* A SIGCHLD that comes after this stays pending, so the
                 * wait below cannot miss it. */
                if (reap_until_shell(pid, &status)) {
                        reaped = true;
                        break;
                }
                if (deadline) {
                        uint64_t now = now_ns();
                        if (now >= deadline) {
                                *ret = (struct setup_outcome){ .kind = SETUP_TIMED_OUT };
                                break;
                        }
                        left.tv_sec = (time_t)((deadline - now) / 1000000000u);
                        left.tv_nsec = (long)((deadline - now) % 1000000000u);
                        timeout = &left;
                }
                sig = sigtimedwait(&wait_set, NULL, timeout);
                if (sig < 0 && errno == EAGAIN) {
                        *ret = (struct setup_outcome){ .kind = SETUP_TIMED_OUT };
                        break;
                }
                if (sig < 0 && errno != EINTR) {
                        r = -errno;
                        kill_group(pid, &status);
                        return quilt_error_set(err, r, "sigtimedwait: %s", strerror(-r));
                }
                if (sig > 0 && sig != SIGCHLD) {
                        *ret = (struct setup_outcome){ .kind = SETUP_STOPPED, .value = sig };
                        break;
                }
        }

        if (!reaped) {
                kill_group(pid, &status);
        } else if (WIFSIGNALED(status)) {
                *ret = (struct setup_outcome){ .kind = SETUP_KILLED, .value = WTERMSIG(status) };
        } else {
                *ret = (struct setup_outcome){ .kind = SETUP_EXITED,
                                               .value = WEXITSTATUS(status) };
        }
        ret->group = pid;
        return 0;
}
