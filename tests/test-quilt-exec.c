/* SPDX-License-Identifier: MIT */
/* quilt-exec, the built binary, against a target process of our own: a
 * double fork makes it PID 1 of new pid, uts, ipc, net and mount
 * namespaces, with its own hostname and /proc; its root stays "/", so the
 * host's /bin/sh runs in the exec'd commands.  Checked: the command's
 * namespaces are the target's (and ours where the target kept ours: the
 * user namespace is skipped), hostname, pid, exit codes, the error pipe,
 * ids, groups, rlimits, cwd, stray fds, signal forwarding, that SIGKILL to
 * quilt-exec takes the command along, and the monitor's side: the argv
 * builder and the exec from a sealed memfd.  Root only (skips otherwise).
 * Every wait has a deadline; only processes this test started are killed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test-child.h"

#include "child_protocol.h"
#include "exec_helper.h"
#include "util.h"

#define TEST_TIMEOUT_S 30
#define ERROR_FD 10                     /* where quilt-exec gets the error pipe */
#define STRAY_FD 11                     /* an inheritable fd that must not reach the command */
#define TARGET_HOSTNAME "quilt-exec-test"
#define TARGET_COMM "qexec-target"

extern char **environ;

static char exec_path[4096 + 32];
static pid_t target_outer = -1;         /* our child, in our pid namespace */
static pid_t target = -1;               /* its child: PID 1 of the new pid namespace */
static char target_pid_text[16];
static const char *exec_target = target_pid_text;      /* what spawn_exec passes as --pid */
static rlim_t spawn_nofile = 0;         /* non-zero: quilt-exec starts with this NOFILE limit */

/* ---- helpers ---- */

/* Everything until EOF (at most size - 1 bytes), NUL-terminated. */
static void read_all(int fd, char *buf, size_t size)
{
        size_t len = 0;
        for (;;) {
                assert_true(len + 1 < size);
                ssize_t n = read_timeout(fd, buf + len, size - 1 - len, 10000);
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
}

/* One line (without its newline) from fd, byte by byte so nothing after
 * it is consumed. */
static void read_line(int fd, char *buf, size_t size)
{
        size_t len = 0;
        for (;;) {
                char c;
                assert_true(len + 1 < size);
                assert_int_equal(read_timeout(fd, &c, 1, 10000), 1);
                if (c == '\n')
                        break;
                buf[len++] = c;
        }
        buf[len] = '\0';
}

struct spawn {
        int error_fd;                   /* >= 0: becomes ERROR_FD */
        int stray_fd;                   /* >= 0: becomes STRAY_FD, inheritable */
        int stdout_fd;                  /* >= 0: becomes stdout */
};

/* Fork and exec quilt-exec: argv[0], "--pid", TARGET, then `args`
 * (NULL-terminated).  Returns the pid. */
static pid_t spawn_exec(char *const *args, const struct spawn *sp)
{
        char *argv[64] = { exec_path, "--pid", (char *)exec_target };
        size_t n = 3;
        for (size_t i = 0; args[i]; i++) {
                assert_true(n < ELEMENTSOF(argv) - 1);
                argv[n++] = args[i];
        }
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (sp && sp->error_fd >= 0 && dup2(sp->error_fd, ERROR_FD) < 0)
                        _exit(200);
                if (sp && sp->stray_fd >= 0 && dup2(sp->stray_fd, STRAY_FD) < 0)
                        _exit(200);
                if (sp && sp->stdout_fd >= 0 && dup2(sp->stdout_fd, 1) < 0)
                        _exit(200);
                struct rlimit l = { spawn_nofile, spawn_nofile };
                if (spawn_nofile && setrlimit(RLIMIT_NOFILE, &l) < 0)
                        _exit(202);
                execv(exec_path, argv);
                _exit(201);
        }
        return pid;
}

/* Run quilt-exec with `args`; its stdout into `out`; its exit code. */
static int run_exec(char *const *args, char *out, size_t out_size)
{
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        struct spawn sp = { .error_fd = -1, .stray_fd = -1, .stdout_fd = p[1] };
        pid_t pid = spawn_exec(args, &sp);
        close(p[1]);
        char scratch[64];
        read_all(p[0], out ? out : scratch, out ? out_size : sizeof(scratch));
        close(p[0]);
        return exit_code(wait_status(pid, 10000));
}

/* The first child of `pid` (the command quilt-exec forked), in our pid
 * namespace; waits for it to appear. */
static pid_t child_of(pid_t pid)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
        for (int waited = 0; waited < 5000; waited += 10) {
                char buf[64] = "";
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                ssize_t n = read(fd, buf, sizeof(buf) - 1);
                close(fd);
                if (n > 0) {
                        buf[n] = '\0';
                        return (pid_t)atoi(buf);
                }
                usleep(10 * 1000);
        }
        fail_msg("pid %d has no child", (int)pid);
        return -1;
}

static void ns_link(pid_t pid, const char *ns, char *buf, size_t size)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
        ssize_t n = readlink(path, buf, size - 1);
        if (n <= 0)
                fail_msg("readlink %s: %s", path, strerror(errno));
        buf[n] = '\0';
}

/* ---- the target ---- */

_Noreturn static void target_inner(int ready_fd)
{
        /* PID 1 of the new pid namespace, in the new mount namespace. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                _exit(10);
        prctl(PR_SET_NAME, TARGET_COMM);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                _exit(11);
        if (sethostname(TARGET_HOSTNAME, strlen(TARGET_HOSTNAME)) < 0)
                _exit(12);
        /* Commands orphaned by a killed quilt-exec reparent to us: let the
         * kernel reap them. */
        signal(SIGCHLD, SIG_IGN);
        if (write(ready_fd, "r", 1) != 1)
                _exit(13);
        close(ready_fd);
        for (;;)
                pause();
}

/* In a child that has unshared the namespaces: fork the target (PID 1 of
 * the new pid namespace), send its pid on pid_fd, wait for it.  Exits
 * err_base when the fork fails, err_base + 1 when the write does. */
_Noreturn static void fork_target(int pid_fd, int ready_fd, int err_base)
{
        pid_t inner = fork();
        if (inner < 0)
                _exit(err_base);
        if (inner == 0)
                target_inner(ready_fd);
        if (write(pid_fd, &inner, sizeof(inner)) != sizeof(inner))
                _exit(err_base + 1);
        int status;
        while (waitpid(inner, &status, 0) < 0 && errno == EINTR)
                ;
        _exit(0);
}

static int start_target(void **state)
{
        if (geteuid() != 0)
                return 0;                       /* every test skips */
        alarm(TEST_TIMEOUT_S);
        int pid_pipe[2], ready_pipe[2];
        if (pipe2(pid_pipe, O_CLOEXEC) < 0 || pipe2(ready_pipe, O_CLOEXEC) < 0)
                return -1;
        target_outer = fork();
        if (target_outer < 0)
                return -1;
        if (target_outer == 0) {
                /* Dies with the test, and takes the target along. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                        _exit(20);
                if (unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                            CLONE_NEWNET) < 0)
                        _exit(21);
                fork_target(pid_pipe[1], ready_pipe[1], 22);
        }
        close(pid_pipe[1]);
        close(ready_pipe[1]);
        pid_t inner = -1;
        char r = 0;
        ssize_t n1 = read(pid_pipe[0], &inner, sizeof(inner));
        ssize_t n2 = read(ready_pipe[0], &r, 1);
        close(pid_pipe[0]);
        close(ready_pipe[0]);
        alarm(0);
        if (n1 != sizeof(inner) || n2 != 1 || r != 'r') {
                fprintf(stderr, "the target did not start\n");
                return -1;
        }
        target = inner;
        snprintf(target_pid_text, sizeof(target_pid_text), "%d", (int)target);
        return 0;
}

static int stop_target(void **state)
{
        if (target_outer <= 0)
                return 0;
        alarm(TEST_TIMEOUT_S);
        kill(target, SIGKILL);
        int status;
        while (waitpid(target_outer, &status, 0) < 0 && errno == EINTR)
                ;
        alarm(0);
        return 0;
}

/* build/tests/test-quilt-exec -> build/core/quilt-exec */
static int group_setup(void **state)
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
        snprintf(exec_path, sizeof(exec_path), "%s/../core/quilt-exec", exe);
        if (access(exec_path, X_OK) < 0) {
                fprintf(stderr, "%s: %s\n", exec_path, strerror(errno));
                return -1;
        }
        return start_target(state);
}

/* A backstop: whatever hangs, the test process dies of SIGALRM. */
static int arm(void **state)
{
        alarm(TEST_TIMEOUT_S);
        return 0;
}

/* Namespaces take root: without it (no target) a test skips. */
#define NEED_TARGET()                                                           \
        do {                                                                    \
                if (target <= 0)                                                \
                        skip();                                                 \
        } while (0)

static int disarm(void **state)
{
        alarm(0);
        return 0;
}

/* ---- joining ---- */

static void test_joins_namespaces(void **state)
{
        NEED_TARGET();
        static const char *const ns[] = { "uts", "ipc", "net", "mnt", "pid", "pid_for_children",
                                          "cgroup", "user" };
        char out[4096];
        assert_int_equal(run_exec((char *[]){ "--", "/bin/sh", "-c",
                                              "for n in uts ipc net mnt pid pid_for_children "
                                              "cgroup user; do readlink /proc/self/ns/$n; done",
                                              NULL }, out, sizeof(out)), 0);
        char *save = NULL, *line = strtok_r(out, "\n", &save);
        for (size_t i = 0; i < ELEMENTSOF(ns); i++) {
                char want[128], ours[128];
                ns_link(target, ns[i], want, sizeof(want));
                assert_non_null(line);
                if (strcmp(line, want) != 0)
                        fail_msg("%s: the command is in %s, the target in %s", ns[i], line, want);
                /* The target made its own of all but cgroup and user. */
                ns_link(getpid(), ns[i], ours, sizeof(ours));
                if (!strcmp(ns[i], "cgroup") || !strcmp(ns[i], "user"))
                        assert_string_equal(want, ours);
                else
                        assert_string_not_equal(want, ours);
                line = strtok_r(NULL, "\n", &save);
        }
        assert_null(line);
}

/* The target's hostname and pid namespace: $$ is a pid of that namespace,
 * not the command's pid out here, and PID 1 there is the target. */
static void test_hostname_and_pid(void **state)
{
        NEED_TARGET();
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        struct spawn sp = { .error_fd = -1, .stray_fd = -1, .stdout_fd = p[1] };
        pid_t qx = spawn_exec((char *[]){ "--", "/bin/sh", "-c",
                                          "uname -n; cat /proc/1/comm; echo $$; exec sleep 0.5",
                                          NULL }, &sp);
        close(p[1]);
        char line[256];
        read_line(p[0], line, sizeof(line));
        assert_string_equal(line, TARGET_HOSTNAME);
        read_line(p[0], line, sizeof(line));
        assert_string_equal(line, TARGET_COMM);
        read_line(p[0], line, sizeof(line));
        int inner_pid = atoi(line);
        pid_t host_pid = child_of(qx);
        assert_true(inner_pid > 1);
        assert_true(host_pid > 0);
        assert_int_not_equal(inner_pid, host_pid);
        char path[64], ns_cmd[128], ns_target[128];
        snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)host_pid);
        ssize_t n = readlink(path, ns_cmd, sizeof(ns_cmd) - 1);
        assert_true(n > 0);
        ns_cmd[n] = '\0';
        ns_link(target, "pid", ns_target, sizeof(ns_target));
        assert_string_equal(ns_cmd, ns_target);
        /* quilt-exec itself stays in ours. */
        char ns_qx[128], ns_ours[128];
        ns_link(qx, "pid", ns_qx, sizeof(ns_qx));
        ns_link(getpid(), "pid", ns_ours, sizeof(ns_ours));
        assert_string_equal(ns_qx, ns_ours);
        char rest[64];
        read_all(p[0], rest, sizeof(rest));
        close(p[0]);
        assert_int_equal(exit_code(wait_status(qx, 10000)), 0);
}

static void test_exit_codes(void **state)
{
        NEED_TARGET();
        assert_int_equal(run_exec((char *[]){ "--", "/bin/sh", "-c", "exit 0", NULL }, NULL, 0), 0);
        assert_int_equal(run_exec((char *[]){ "--", "/bin/sh", "-c", "exit 7", NULL }, NULL, 0), 7);
        /* PATH search in quilt-exec's environment */
        assert_int_equal(run_exec((char *[]){ "--", "sh", "-c", "exit 3", NULL }, NULL, 0), 3);
        assert_int_equal(run_exec((char *[]){ "--", "/bin/sh", "-c", "kill -9 $$", NULL }, NULL, 0),
                         128 + SIGKILL);
}

static void test_missing_command(void **state)
{
        NEED_TARGET();
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        struct spawn sp = { .error_fd = p[1], .stray_fd = -1, .stdout_fd = -1 };
        pid_t pid = spawn_exec((char *[]){ "--error-fd", "10", "--", "quilt-no-such-command", "a",
                                           NULL }, &sp);
        close(p[1]);
        expect_child_error(p[0], -ENOENT, "exec quilt-no-such-command: No such file or directory");
        assert_int_equal(exit_code(wait_status(pid, 10000)), 127);
}

/* EOF on the error pipe comes with the exec, not with the end; neither
 * it nor another inherited fd reaches the command. */
static void test_success_is_eof_and_no_stray_fds(void **state)
{
        NEED_TARGET();
        int p[2], stray[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(pipe(stray), 0);       /* inheritable on purpose */
        struct spawn sp = { .error_fd = p[1], .stray_fd = stray[0], .stdout_fd = -1 };
        pid_t pid = spawn_exec((char *[]){ "--error-fd", "10", "--", "/bin/sh", "-c",
                                           "sleep 0.5; [ ! -e /proc/self/fd/10 ] && "
                                           "[ ! -e /proc/self/fd/11 ]", NULL }, &sp);
        close(p[1]);
        close(stray[0]);
        close(stray[1]);
        char buf[8];
        assert_int_equal(read_timeout(p[0], buf, sizeof(buf), 10000), 0);
        int status;
        assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
        close(p[0]);
        assert_int_equal(exit_code(wait_status(pid, 10000)), 0);
}

/* ---- who the command runs as ---- */

static void test_user_and_groups(void **state)
{
        NEED_TARGET();
        char out[4096];
        assert_int_equal(run_exec((char *[]){ "--uid", "1000", "--gid", "1000", "--groups", "5,6",
                                              "--", "/bin/sh", "-c",
                                              "id -u; id -g; id -G; grep -E '^(Uid|Gid|Groups):' "
                                              "/proc/self/status", NULL }, out, sizeof(out)), 0);
        assert_string_equal(out, "1000\n1000\n1000 5 6\n"
                                 "Uid:\t1000\t1000\t1000\t1000\n"
                                 "Gid:\t1000\t1000\t1000\t1000\n"
                                 "Groups:\t5 6 \n");
        /* New ids without --groups: only the gid, none of root's groups. */
        assert_int_equal(run_exec((char *[]){ "--uid", "1001", "--gid", "1002", "--", "/bin/sh",
                                              "-c", "grep '^Groups:' /proc/self/status; id -u",
                                              NULL }, out, sizeof(out)), 0);
        assert_string_equal(out, "Groups:\t1002 \n1001\n");
        /* No ids: root, and an empty --groups clears the groups. */
        assert_int_equal(run_exec((char *[]){ "--groups", "", "--", "/bin/sh", "-c",
                                              "grep '^Groups:' /proc/self/status; id -u", NULL },
                                  out, sizeof(out)), 0);
        /* (the kernel ends the list with a space, also an empty one) */
        assert_string_equal(out, "Groups:\t \n0\n");
}

static void test_rlimit(void **state)
{
        NEED_TARGET();
        char out[4096];
        assert_int_equal(run_exec((char *[]){ "--rlimit", "NOFILE=64:64", "--rlimit",
                                              "core=0:unlimited", "--", "/bin/sh", "-c",
                                              "grep -E 'Max (open files|core file size)' "
                                              "/proc/self/limits", NULL }, out, sizeof(out)), 0);
        char *nofile = strstr(out, "Max open files");
        char *core = strstr(out, "Max core file size");
        assert_non_null(nofile);
        assert_non_null(core);
        char soft[32], hard[32];
        assert_int_equal(sscanf(nofile, "Max open files %31s %31s", soft, hard), 2);
        assert_string_equal(soft, "64");
        assert_string_equal(hard, "64");
        assert_int_equal(sscanf(core, "Max core file size %31s %31s", soft, hard), 2);
        assert_string_equal(soft, "0");
        assert_string_equal(hard, "unlimited");
}

/* --caps and --no-new-privs: the exec is confined like the container. */
static void test_capabilities(void **state)
{
        NEED_TARGET();
        char out[4096];
        const char *status = "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status";
        assert_int_equal(run_exec((char *[]){ "--caps", "a80425fb", "--no-new-privs", "1", "--",
                                              "/bin/sh", "-c", (char *)status, NULL },
                                  out, sizeof(out)), 0);
        assert_non_null(strstr(out, "CapEff:\t00000000a80425fb"));
        assert_non_null(strstr(out, "CapPrm:\t00000000a80425fb"));
        assert_non_null(strstr(out, "CapBnd:\t00000000a80425fb"));
        assert_non_null(strstr(out, "CapInh:\t0000000000000000"));
        assert_non_null(strstr(out, "CapAmb:\t0000000000000000"));
        assert_non_null(strstr(out, "NoNewPrivs:\t1"));
        /* A non-root user keeps none of them. */
        assert_int_equal(run_exec((char *[]){ "--caps", "a80425fb", "--uid", "1000", "--gid", "1000",
                                              "--", "/bin/sh", "-c", (char *)status, NULL },
                                  out, sizeof(out)), 0);
        assert_non_null(strstr(out, "CapEff:\t0000000000000000"));
        assert_non_null(strstr(out, "CapBnd:\t00000000a80425fb"));
        assert_non_null(strstr(out, "NoNewPrivs:\t0"));
}

static void test_cwd(void **state)
{
        NEED_TARGET();
        char out[256];
        assert_int_equal(run_exec((char *[]){ "--cwd", "/tmp", "--", "pwd", NULL }, out,
                                  sizeof(out)), 0);
        assert_string_equal(out, "/tmp\n");
        assert_int_equal(run_exec((char *[]){ "--", "pwd", NULL }, out, sizeof(out)), 0);
        assert_string_equal(out, "/\n");

        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        struct spawn sp = { .error_fd = p[1], .stray_fd = -1, .stdout_fd = -1 };
        pid_t pid = spawn_exec((char *[]){ "--cwd", "/quilt-no-such-dir", "--error-fd", "10", "--",
                                           "true", NULL }, &sp);
        close(p[1]);
        expect_child_error(p[0], -ENOENT, "chdir /quilt-no-such-dir: No such file or directory");
        assert_int_equal(exit_code(wait_status(pid, 10000)), 127);
}

/* ---- failures before the command ---- */

static void test_no_such_target(void **state)
{
        NEED_TARGET();
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        char *argv[] = { exec_path, "--pid", "2147483646", "--error-fd", "10", "--", "true", NULL };
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                if (dup2(p[1], ERROR_FD) < 0)
                        _exit(200);
                execv(exec_path, argv);
                _exit(201);
        }
        close(p[1]);
        expect_child_error(p[0], -ENOENT, "the container's init (pid 2147483646): "
                                          "No such file or directory");
        assert_int_equal(exit_code(wait_status(pid, 10000)), 127);
}

static void test_usage_errors(void **state)
{
        NEED_TARGET();
        static char *const bad[][8] = {
                { "--", "true", NULL },                                 /* no --pid */
                { "--pid", "0", "--", "true", NULL },
                { "--pid", "1x", "--", "true", NULL },
                { "--pid", "1", NULL },                                 /* no command */
                { "--pid", "1", "--uid", "5", "--", "true", NULL },     /* uid without gid */
                { "--pid", "1", "--groups", "5,,6", "--", "true", NULL },
                { "--pid", "1", "--rlimit", "BOGUS=1:1", "--", "true", NULL },
                { "--pid", "1", "--rlimit", "NOFILE=9:8", "--", "true", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char *argv[16] = { exec_path };
                for (size_t k = 0; bad[i][k]; k++)
                        argv[k + 1] = bad[i][k];
                pid_t pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                        if (null < 0 || dup2(null, 2) < 0)
                                _exit(200);
                        execv(exec_path, argv);
                        _exit(201);
                }
                if (exit_code(wait_status(pid, 10000)) != 127)
                        fail_msg("case %zu: not a usage error", i);
        }
}

/* ---- signals ---- */

/* Start a command that traps `sig` with "exit 42" (or not at all), wait
 * until the trap is set, signal quilt-exec, return its code. */
static int forward(int sig, bool trap)
{
        char script[256];
        char trap_cmd[32] = "";
        if (trap)
                snprintf(trap_cmd, sizeof(trap_cmd), "trap 'exit 42' %d; ", sig);
        snprintf(script, sizeof(script), "%secho ready; while :; do sleep 0.05; done", trap_cmd);
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        struct spawn sp = { .error_fd = -1, .stray_fd = -1, .stdout_fd = p[1] };
        pid_t pid = spawn_exec((char *[]){ "--", "/bin/sh", "-c", script, NULL }, &sp);
        close(p[1]);
        char line[32];
        read_line(p[0], line, sizeof(line));
        assert_string_equal(line, "ready");
        close(p[0]);
        assert_int_equal(kill(pid, sig), 0);
        return exit_code(wait_status(pid, 10000));
}

static void test_signals_are_forwarded(void **state)
{
        NEED_TARGET();
        static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGQUIT, SIGWINCH };
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                assert_int_equal(forward(sigs[i], true), 42);
        /* untrapped: the command dies of it and quilt-exec reports 128+S */
        assert_int_equal(forward(SIGTERM, false), 128 + SIGTERM);
}

/* The monitor's timeout: SIGKILL to quilt-exec, and the command (in the
 * target's pid namespace) must not live on. */
static void test_sigkill_takes_the_command_along(void **state)
{
        NEED_TARGET();
        int p[2];
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        struct spawn sp = { .error_fd = -1, .stray_fd = -1, .stdout_fd = p[1] };
        pid_t qx = spawn_exec((char *[]){ "--", "/bin/sh", "-c", "echo ready; exec sleep 60",
                                          NULL }, &sp);
        close(p[1]);
        char line[32];
        read_line(p[0], line, sizeof(line));
        assert_string_equal(line, "ready");
        pid_t cmd = child_of(qx);
        int pidfd = (int)syscall(SYS_pidfd_open, cmd, 0);
        assert_true(pidfd >= 0);
        /* It is the command (exec'd by now: "ready" came before the exec). */
        char path[64], comm[32] = "";
        snprintf(path, sizeof(path), "/proc/%d/comm", (int)cmd);
        for (int i = 0; i < 500 && strcmp(comm, "sleep\n") != 0; i++) {
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                ssize_t n = read(fd, comm, sizeof(comm) - 1);
                close(fd);
                comm[n > 0 ? n : 0] = '\0';
                usleep(10 * 1000);
        }
        assert_string_equal(comm, "sleep\n");

        assert_int_equal(kill(qx, SIGKILL), 0);
        int status = wait_status(qx, 10000);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
        int r;
        do
                r = poll(&pfd, 1, 5000);
        while (r < 0 && errno == EINTR);
        if (r != 1) {
                syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
                fail_msg("the command (pid %d) outlived quilt-exec", (int)cmd);
        }
        close(pidfd);
        /* The target reaps orphans: no zombie left either. */
        snprintf(path, sizeof(path), "/proc/%d", (int)cmd);
        for (int i = 0; i < 500 && access(path, F_OK) == 0; i++)
                usleep(10 * 1000);
        assert_int_equal(access(path, F_OK), -1);
        close(p[0]);
}

/* Whether we may raise a hard limit (CAP_SYS_RESOURCE; some sandboxes
 * drop it even for root): tried in a child. */
static bool can_raise_hard_limits(void)
{
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct rlimit low = { 512, 512 }, high = { 1024, 1024 };
                _exit(setrlimit(RLIMIT_NOFILE, &low) == 0 && setrlimit(RLIMIT_NOFILE, &high) == 0
                              ? 0 : 1);
        }
        return exit_code(wait_status(pid, 10000)) == 0;
}

/* A target in a user namespace of its own (0 -> 100000): quilt-exec
 * joins it first; without --uid the command is that namespace's root,
 * with --uid the given (mapped) ids. */
static void test_user_namespace(void **state)
{
        NEED_TARGET();
        int go[2], pid_pipe[2], ready[2];
        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        assert_int_equal(pipe2(pid_pipe, O_CLOEXEC), 0);
        assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
        pid_t mid = fork();
        assert_true(mid >= 0);
        if (mid == 0) {
                char c;
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || unshare(CLONE_NEWUSER) < 0)
                        _exit(77);
                if (read(go[0], &c, 1) != 1)
                        _exit(30);
                if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0 ||
                    unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS) < 0)
                        _exit(31);
                fork_target(pid_pipe[1], ready[1], 32);
        }
        close(go[0]);
        close(pid_pipe[1]);
        close(ready[1]);
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)mid);
        /* Wait for the unshare: the map file refuses writes before it. */
        char own[128], theirs[128];
        ns_link(getpid(), "user", own, sizeof(own));
        for (int i = 0; i < 500; i++) {
                ns_link(mid, "user", theirs, sizeof(theirs));
                if (strcmp(own, theirs) != 0)
                        break;
                usleep(10 * 1000);
        }
        assert_string_not_equal(own, theirs);
        static const char map[] = "0 100000 65536";
        for (int k = 0; k < 2; k++) {
                snprintf(path, sizeof(path), "/proc/%d/%s", (int)mid, k ? "gid_map" : "uid_map");
                int fd = open(path, O_WRONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                assert_int_equal(write(fd, map, strlen(map)), (ssize_t)strlen(map));
                close(fd);
        }
        assert_int_equal(write(go[1], "g", 1), 1);
        close(go[1]);
        pid_t inner = -1;
        char r = 0;
        assert_int_equal(read_timeout(pid_pipe[0], &inner, sizeof(inner), 10000), sizeof(inner));
        assert_int_equal(read_timeout(ready[0], &r, 1, 10000), 1);
        close(pid_pipe[0]);
        close(ready[0]);

        char text[16], out[1024], want[512], user_ns[128];
        snprintf(text, sizeof(text), "%d", (int)inner);
        exec_target = text;
        ns_link(inner, "user", user_ns, sizeof(user_ns));
        int code = run_exec((char *[]){ "--", "/bin/sh", "-c",
                                        "id -u; id -g; grep '^Groups:' /proc/self/status; "
                                        "readlink /proc/self/ns/user; uname -n", NULL },
                            out, sizeof(out));
        snprintf(want, sizeof(want), "0\n0\nGroups:\t \n%s\n" TARGET_HOSTNAME "\n", user_ns);
        int code2 = run_exec((char *[]){ "--uid", "1000", "--gid", "1000", "--groups", "5", "--",
                                         "/bin/sh", "-c", "id -u; id -G", NULL },
                             out + strlen(out) + 1, sizeof(out) - strlen(out) - 1);
        /* Raising a hard limit takes CAP_SYS_RESOURCE in our user
         * namespace: quilt-exec must set limits before it joins theirs. */
        char *out3 = out + strlen(out) + 1;
        out3 += strlen(out3) + 1;
        int code3 = 0;
        if (can_raise_hard_limits()) {
                spawn_nofile = 512;
                code3 = run_exec((char *[]){ "--rlimit", "NOFILE=1024:1024", "--", "/bin/sh", "-c",
                                             "ulimit -Hn", NULL },
                                 out3, sizeof(out) - (size_t)(out3 - out));
                spawn_nofile = 0;
        } else
                strcpy(out3, "1024\n");        /* no CAP_SYS_RESOURCE here: nothing to show */
        exec_target = target_pid_text;
        kill(inner, SIGKILL);
        int status = wait_status(mid, 10000);
        assert_int_equal(code, 0);
        assert_string_equal(out, want);
        assert_int_equal(code2, 0);
        assert_string_equal(out + strlen(out) + 1, "1000\n1000 5\n");
        assert_int_equal(code3, 0);
        assert_string_equal(out3, "1024\n");
        assert_int_equal(exit_code(status), 0);
}

/* ---- the monitor's side ---- */

static void test_helper_argv(void **state)
{
        gid_t groups[] = { 1000, 5, 6 };
        struct quilt_process_rlimit limits[] = {
                { RLIMIT_NOFILE, { 64, 1024 } },
                { RLIMIT_CORE, { RLIM_INFINITY, RLIM_INFINITY } },
        };
        struct quilt_process_settings ps = { .uid = 1000, .gid = 1000, .groups = groups,
                                             .n_groups = 3, .rlimits = limits, .n_rlimits = 2 };
        char **v = quilt_exec_helper_argv(4242, "/work dir", &ps, 10,
                                          (char *[]){ "sh", "-c", "x y", NULL });
        assert_non_null(v);
        const char *want[] = { "quilt-exec", "--pid", "4242", "--cwd", "/work dir", "--uid", "1000",
                               "--gid", "1000", "--groups", "1000,5,6", "--rlimit",
                               "NOFILE=64:1024", "--rlimit", "CORE=unlimited:unlimited",
                               "--error-fd", "10", "--", "sh", "-c", "x y" };
        assert_int_equal(quilt_strv_length(v), ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                assert_string_equal(v[i], want[i]);
        quilt_strv_free(v);

        /* No settings, no cwd, no error fd. */
        v = quilt_exec_helper_argv(7, NULL, NULL, -1, (char *[]){ "true", NULL });
        assert_non_null(v);
        const char *want2[] = { "quilt-exec", "--pid", "7", "--", "true" };
        assert_int_equal(quilt_strv_length(v), ELEMENTSOF(want2));
        for (size_t i = 0; i < ELEMENTSOF(want2); i++)
                assert_string_equal(v[i], want2[i]);
        quilt_strv_free(v);

        /* No groups at all: an empty list, which clears them. */
        struct quilt_process_settings none = { .uid = 0, .gid = 0 };
        v = quilt_exec_helper_argv(7, "/", &none, -1, (char *[]){ "true", NULL });
        assert_non_null(v);
        assert_string_equal(v[9], "--groups");
        assert_string_equal(v[10], "");
        quilt_strv_free(v);
}

static void test_default_path(void **state)
{
        char *p = quilt_exec_helper_default_path();
        assert_non_null(p);
        /* The test binary has no quilt-exec beside it: the installed path. */
        assert_string_equal(p + strlen(p) - strlen("/quilt-exec"), "/quilt-exec");
        free(p);
}

/* The monitor's path end to end: sealed memfd, the built argv, execveat.
 * While the command runs, quilt-exec is the memfd, names itself, and its
 * /proc/PID/exe cannot be written. */
static void test_exec_from_sealed_memfd(void **state)
{
        NEED_TARGET();
        struct quilt_error err = { 0 };
        int fd = quilt_sealed_binary_open(exec_path, QUILT_EXEC_HELPER_NAME, &err);
        if (fd < 0)
                fail_msg("%s", err.message);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        int seals = fcntl(fd, F_GET_SEALS);
        int want = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
        assert_int_equal(seals & want, want);

        gid_t groups[] = { 1000, 5, 6 };
        struct quilt_process_rlimit limits[] = { { RLIMIT_NOFILE, { 64, 64 } } };
        struct quilt_process_settings ps = { .uid = 1000, .gid = 1000, .groups = groups,
                                             .n_groups = 3, .rlimits = limits, .n_rlimits = 1 };
        int errp[2], out[2];
        assert_int_equal(pipe2(errp, O_CLOEXEC), 0);
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        char **v = quilt_exec_helper_argv(target, "/tmp", &ps, errp[1],
                                          (char *[]){ "/bin/sh", "-c",
                                                      "id -u; id -G; ulimit -n; pwd; uname -n; "
                                                      "read x; true", NULL });
        assert_non_null(v);
        int in[2];
        assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        pid_t qx = fork();
        assert_true(qx >= 0);
        if (qx == 0) {
                if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
                        _exit(200);
                int r = quilt_sealed_binary_exec(fd, v, environ, errp[1]);
                _exit(r < 0 ? 210 : 211);
        }
        close(errp[1]);
        close(out[1]);
        close(in[0]);
        quilt_strv_free(v);
        close(fd);

        char buf[8];
        assert_int_equal(read_timeout(errp[0], buf, sizeof(buf), 10000), 0);      /* exec'd */
        close(errp[0]);
        char line[256];
        read_line(out[0], line, sizeof(line));
        assert_string_equal(line, "1000");
        read_line(out[0], line, sizeof(line));
        assert_string_equal(line, "1000 5 6");
        read_line(out[0], line, sizeof(line));
        assert_string_equal(line, "64");
        read_line(out[0], line, sizeof(line));
        assert_string_equal(line, "/tmp");
        read_line(out[0], line, sizeof(line));
        assert_string_equal(line, TARGET_HOSTNAME);

        /* quilt-exec, waiting for the command: a sealed memfd, named. */
        char path[64], exe[256];
        snprintf(path, sizeof(path), "/proc/%d/exe", (int)qx);
        ssize_t n = readlink(path, exe, sizeof(exe) - 1);
        assert_true(n > 0);
        exe[n] = '\0';
        assert_non_null(strstr(exe, "memfd:quilt-exec"));
        int w = open(path, O_WRONLY | O_CLOEXEC);
        if (w >= 0) {
                errno = 0;
                assert_int_equal(write(w, "x", 1), -1);
                assert_int_equal(errno, EPERM);
                close(w);
        } else
                assert_true(errno == ETXTBSY || errno == EPERM || errno == EACCES);
        snprintf(path, sizeof(path), "/proc/%d/comm", (int)qx);
        int cfd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(cfd >= 0);
        n = read(cfd, exe, sizeof(exe) - 1);
        close(cfd);
        assert_true(n > 0);
        exe[n] = '\0';
        assert_string_equal(exe, "quilt-exec\n");

        close(in[1]);                           /* `read x` ends */
        char rest[64];
        read_all(out[0], rest, sizeof(rest));
        close(out[0]);
        assert_int_equal(exit_code(wait_status(qx, 10000)), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, arm, disarm)
        const struct CMUnitTest tests[] = {
                T(test_joins_namespaces),
                T(test_hostname_and_pid),
                T(test_exit_codes),
                T(test_missing_command),
                T(test_success_is_eof_and_no_stray_fds),
                T(test_user_and_groups),
                T(test_rlimit),
                T(test_capabilities),
                T(test_cwd),
                T(test_no_such_target),
                T(test_usage_errors),
                T(test_signals_are_forwarded),
                T(test_sigkill_takes_the_command_along),
                T(test_user_namespace),
                cmocka_unit_test(test_helper_argv),
                cmocka_unit_test(test_default_path),
                T(test_exec_from_sealed_memfd),
        };
#undef T
        return cmocka_run_group_tests(tests, group_setup, stop_target);
}
