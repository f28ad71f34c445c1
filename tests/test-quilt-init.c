/* SPDX-License-Identifier: MIT */
/* quilt-init, the built binary run directly: exit codes, exec failures on
 * the error pipe, signal forwarding, reaping (also as PID 1 of a new pid
 * namespace), and the monitor's side: the sealed memfd and its exec.
 * Every wait has a deadline; a child that overstays is SIGKILLed. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test-child.h"

#include "child_protocol.h"
#include "init_exec.h"
#include "util.h"

#define TEST_TIMEOUT_S 20
#define ERROR_FD 10                     /* where the children get the pipe */

extern char **environ;

static char init_path[4096 + 32];

/* build/tests/test-quilt-init -> build/core/quilt-init */
static int find_init(void **state)
{
        char exe[4096];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
                return -1;
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (!slash)
                return -1;
        *slash = '\0';
        snprintf(init_path, sizeof(init_path), "%s/../core/quilt-init", exe);
        if (access(init_path, X_OK) < 0) {
                fprintf(stderr, "%s: %s\n", init_path, strerror(errno));
                return -1;
        }
        return 0;
}

/* A backstop: whatever hangs, the test process dies of SIGALRM. */
static int arm(void **state)
{
        alarm(TEST_TIMEOUT_S);
        return 0;
}

static int disarm(void **state)
{
        alarm(0);
        return 0;
}

/* Fork and exec quilt-init with `args` (NULL-terminated, after the init
 * path); error_fd >= 0 becomes ERROR_FD in the child, stdout_fd >= 0 its
 * stdout.  Returns the pid. */
static pid_t spawn_init(char *const *args, int error_fd, int stdout_fd)
{
        char *argv[32] = { init_path };
        size_t n = 1;
        for (; args[n - 1]; n++) {
                assert_true(n < ELEMENTSOF(argv) - 1);
                argv[n] = args[n - 1];
        }
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (error_fd >= 0 && dup2(error_fd, ERROR_FD) < 0)
                        _exit(200);
                if (stdout_fd >= 0 && dup2(stdout_fd, 1) < 0)
                        _exit(200);
                execv(init_path, argv);
                _exit(201);
        }
        return pid;
}

static int run_init(char *const *args)
{
        return exit_code(wait_status(spawn_init(args, -1, -1), 10000));
}

static void test_exit_code_passes_through(void **state)
{
        assert_int_equal(run_init((char *[]){ "--", "/bin/sh", "-c", "exit 7", NULL }), 7);
        assert_int_equal(run_init((char *[]){ "--", "/bin/sh", "-c", "exit 0", NULL }), 0);
        /* PATH search, and no "--" */
        assert_int_equal(run_init((char *[]){ "sh", "-c", "exit 3", NULL }), 3);
}

static void test_killed_child_is_128_plus_signal(void **state)
{
        assert_int_equal(run_init((char *[]){ "--", "/bin/sh", "-c", "kill -9 $$", NULL }),
                         128 + SIGKILL);
}

static void test_usage_error(void **state)
{
        assert_int_equal(run_init((char *[]){ NULL }), 127);
        assert_int_equal(run_init((char *[]){ "--error-fd", "x", "--", "true", NULL }), 127);
}

static void test_exec_failure_is_reported(void **state)
{
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = spawn_init((char *[]){ "--error-fd", "10", "--", "quilt-no-such-command",
                                           "arg", NULL },
                               p[1], -1);
        close(p[1]);
        expect_child_error(p[0], -ENOENT, "exec quilt-no-such-command: No such file or directory");
        assert_int_equal(exit_code(wait_status(pid, 10000)), 127);
}

static void test_exec_success_is_eof_while_running(void **state)
{
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        /* The command checks it did not inherit the pipe. */
        pid_t pid = spawn_init((char *[]){ "--error-fd", "10", "--", "/bin/sh", "-c",
                                           "sleep 0.5; [ ! -e /proc/self/fd/10 ]", NULL },
                               p[1], -1);
        close(p[1]);
        char buf[8];
        assert_int_equal(read_timeout(p[0], buf, sizeof(buf), 10000), 0);
        /* EOF came with the exec, not with init's exit. */
        int status;
        assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
        close(p[0]);
        assert_int_equal(exit_code(wait_status(pid, 10000)), 0);
}

/* Start init with a command that traps `sig` with "exit 42" (or not at
 * all), wait until the trap is set, signal init, return init's code. */
static int forward(int sig, bool trap)
{
        char script[256];
        char trap_cmd[32] = "";
        if (trap)
                snprintf(trap_cmd, sizeof(trap_cmd), "trap 'exit 42' %d; ", sig);
        snprintf(script, sizeof(script), "%secho ready; while :; do sleep 0.05; done", trap_cmd);
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = spawn_init((char *[]){ "--", "/bin/sh", "-c", script, NULL }, -1, p[1]);
        close(p[1]);
        char buf[8];
        assert_int_equal(read_timeout(p[0], buf, sizeof(buf), 10000), 6);
        close(p[0]);
        assert_int_equal(kill(pid, sig), 0);
        return exit_code(wait_status(pid, 10000));
}

static void test_signals_are_forwarded(void **state)
{
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT };
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                assert_int_equal(forward(sigs[i], true), 42);
        /* untrapped: the command dies of it and init reports 128+S */
        assert_int_equal(forward(SIGTERM, false), 128 + SIGTERM);
}

/* Orphans reparent to init and exit after 0.2 s; a second later init's
 * only child must be the shell ($PPID is init).  Exit code: the number of
 * other children (zombies nobody reaped), +100 if $0 is "pid1" and init
 * is not PID 1. */
#define REAP_SCRIPT                                                             \
        "(sleep 0.2 &); (sleep 0.2 &); (sleep 0.2 &); sleep 1; "                \
        "extra=0; if [ \"$0\" = pid1 ] && [ $PPID != 1 ]; then extra=100; fi; "  \
        "set -- $(cat /proc/$PPID/task/$PPID/children); "                       \
        "exit $((extra + $# - 1))"

static void test_orphans_are_reaped_as_subreaper(void **state)
{
        assert_int_equal(run_init((char *[]){ "--", "/bin/sh", "-c", REAP_SCRIPT, NULL }), 0);
}

static void test_orphans_are_reaped_as_pid1(void **state)
{
        if (geteuid() != 0)
                skip();
        pid_t outer = fork();
        assert_true(outer >= 0);
        if (outer == 0) {
                /* A pid namespace for init and a mount namespace for its /proc. */
                if (unshare(CLONE_NEWPID | CLONE_NEWNS) < 0)
                        _exit(77);
                pid_t pid = fork();
                if (pid < 0)
                        _exit(202);
                if (pid == 0) {
                        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                                _exit(203);
                        execv(init_path, (char *[]){ init_path, "--", "/bin/sh", "-c",
                                                     REAP_SCRIPT, "pid1", NULL });
                        _exit(201);
                }
                int status;
                if (waitpid(pid, &status, 0) != pid)
                        _exit(204);
                _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 205);
        }
        int code = exit_code(wait_status(outer, 10000));
        if (code == 77)
                skip();
        assert_int_equal(code, 0);
}

static void test_memfd_is_sealed(void **state)
{
        struct quilt_error err = { 0 };
        int fd = quilt_init_open(init_path, &err);
        assert_true(fd >= 0);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        int seals = fcntl(fd, F_GET_SEALS);
        int want = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
        assert_int_equal(seals & want, want);

        struct stat a, b;
        assert_int_equal(stat(init_path, &a), 0);
        assert_int_equal(fstat(fd, &b), 0);
        assert_int_equal(a.st_size, b.st_size);

        errno = 0;
        assert_int_equal(pwrite(fd, "x", 1, 0), -1);
        assert_int_equal(errno, EPERM);
        errno = 0;
        assert_int_equal(write(fd, "x", 1), -1);
        assert_int_equal(errno, EPERM);
        assert_int_equal(ftruncate(fd, 0), -1);
        assert_int_equal(errno, EPERM);
        assert_int_equal(fcntl(fd, F_ADD_SEALS, 0), -1);
        assert_int_equal(errno, EPERM);
        /* Not even through a fresh open of its /proc link (/proc/1/exe). */
        char link[64];
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        int w = open(link, O_WRONLY | O_CLOEXEC);
        if (w >= 0) {
                assert_int_equal(write(w, "x", 1), -1);
                assert_int_equal(errno, EPERM);
                close(w);
        }
        close(fd);
}

static void test_open_missing_binary(void **state)
{
        struct quilt_error err = { 0 };
        assert_int_equal(quilt_init_open("/nonexistent/quilt-init", &err), -ENOENT);
        assert_int_equal(err.code, -ENOENT);
        assert_string_equal(err.message, "/nonexistent/quilt-init: No such file or directory");
}

static void test_argv(void **state)
{
        char **v = quilt_init_argv((char *[]){ "sh", "-c", "x", NULL }, 5);
        assert_non_null(v);
        const char *want[] = { "quilt-init", "--error-fd", "5", "--", "sh", "-c", "x" };
        assert_int_equal(quilt_strv_length(v), ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                assert_string_equal(v[i], want[i]);
        quilt_strv_free(v);

        v = quilt_init_argv((char *[]){ "true", NULL }, -1);
        assert_non_null(v);
        assert_int_equal(quilt_strv_length(v), 3);
        assert_string_equal(v[1], "--");
        assert_string_equal(v[2], "true");
        quilt_strv_free(v);
}

/* The monitor's path end to end: memfd, argv, execveat, the error pipe. */
static void test_exec_from_memfd(void **state)
{
        struct quilt_error err = { 0 };
        int fd = quilt_init_open(init_path, &err);
        assert_true(fd >= 0);
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        char **v = quilt_init_argv((char *[]){ "/bin/sh", "-c", "exit 5", NULL }, p[1]);
        assert_non_null(v);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int r = quilt_init_exec(fd, v, environ, p[1]);
                /* only on failure; the fd is close-on-exec again */
                _exit(r < 0 && (fcntl(p[1], F_GETFD) & FD_CLOEXEC) ? 210 : 211);
        }
        close(p[1]);
        quilt_strv_free(v);
        close(fd);
        char buf[8];
        assert_int_equal(read_timeout(p[0], buf, sizeof(buf), 10000), 0);
        close(p[0]);
        assert_int_equal(exit_code(wait_status(pid, 10000)), 5);

        /* a bad fd: quilt_init_exec returns */
        v = quilt_init_argv((char *[]){ "true", NULL }, -1);
        assert_int_equal(quilt_init_exec(-1, v, environ, -1), -EBADF);
        quilt_strv_free(v);
}

/* The container's command may run as another user: the memfd must be
 * executable for it too. */
static void test_exec_from_memfd_as_nobody(void **state)
{
        if (geteuid() != 0)
                skip();
        struct quilt_error err = { 0 };
        int fd = quilt_init_open(init_path, &err);
        assert_true(fd >= 0);
        char **v = quilt_init_argv((char *[]){ "/bin/sh", "-c", "[ $(id -u) = 65534 ] && exit 6",
                                               NULL }, -1);
        assert_non_null(v);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
                        _exit(212);
                quilt_init_exec(fd, v, environ, -1);
                _exit(213);
        }
        quilt_strv_free(v);
        close(fd);
        assert_int_equal(exit_code(wait_status(pid, 10000)), 6);
}

static void test_default_path(void **state)
{
        char *p = quilt_init_default_path();
        assert_non_null(p);
        /* The test binary has no quilt-init beside it: the installed path. */
        assert_string_equal(p + strlen(p) - strlen("/quilt-init"), "/quilt-init");
        free(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_exit_code_passes_through, arm, disarm),
                cmocka_unit_test_setup_teardown(test_killed_child_is_128_plus_signal, arm, disarm),
                cmocka_unit_test_setup_teardown(test_usage_error, arm, disarm),
                cmocka_unit_test_setup_teardown(test_exec_failure_is_reported, arm, disarm),
                cmocka_unit_test_setup_teardown(test_exec_success_is_eof_while_running, arm, disarm),
                cmocka_unit_test_setup_teardown(test_signals_are_forwarded, arm, disarm),
                cmocka_unit_test_setup_teardown(test_orphans_are_reaped_as_subreaper, arm, disarm),
                cmocka_unit_test_setup_teardown(test_orphans_are_reaped_as_pid1, arm, disarm),
                cmocka_unit_test_setup_teardown(test_memfd_is_sealed, arm, disarm),
                cmocka_unit_test_setup_teardown(test_open_missing_binary, arm, disarm),
                cmocka_unit_test_setup_teardown(test_argv, arm, disarm),
                cmocka_unit_test_setup_teardown(test_exec_from_memfd, arm, disarm),
                cmocka_unit_test_setup_teardown(test_exec_from_memfd_as_nobody, arm, disarm),
                cmocka_unit_test_setup_teardown(test_default_path, arm, disarm),
        };
        return cmocka_run_group_tests(tests, find_init, NULL);
}
