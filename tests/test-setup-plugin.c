/* SPDX-License-Identifier: MIT */
/* The setup plugin (plugins/setup), built into this test: its descriptor,
 * the [setup] section through the real config_apply, and the in_child hook
 * itself.  The hook forks and reaps, so each run happens in a child of the
 * test process, with a fake host whose child_phase writes "N:COMMAND\n"
 * to a pipe the test reads. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "util.h"
#include "../plugins/setup/setup.h"

extern const struct quilt_plugin quilt_plugin_v1;
#define P (&quilt_plugin_v1)

static char tmpdir[] = "/tmp/quilt-setup-test-XXXXXX";
static char workdir[sizeof(tmpdir) + 16];

/* Where fake_child_phase writes, in the hook's process. */
static int phase_fd = -1;

static int fake_child_phase(struct quilt_container *c, uint32_t n, const char *command)
{
        char line[512];
        int len = snprintf(line, sizeof(line), "%u:%s\n", n, command ? command : "(null)");
        if (len > (int)sizeof(line) - 1)
                len = (int)sizeof(line) - 1;
        return quilt_write_all(phase_fd, line, (size_t)len);
}

static const struct quilt_host host = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_host),
        .config_apply = quilt_config_apply,
        .child_phase = fake_child_phase,
};

/* A host from before child_phase: the hook runs, but tags nothing. */
static const struct quilt_host old_host = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = offsetof(struct quilt_host, child_phase),
        .config_apply = quilt_config_apply,
        .child_phase = fake_child_phase,        /* past struct_size: absent */
};

#define ENTRY(k, v, l) { .key = (k), .value = (v), .file = "quilt.ini", .line = (l) }

static int init_with(const struct quilt_host *h, const struct quilt_config_entry *e, size_t n,
                     void **ret_state, struct quilt_error *err)
{
        const struct quilt_config_section section = {
                .name = "setup", .file = "quilt.ini", .line = n ? 1 : 0,
                .n_entries = n, .entries = e,
        };
        return P->init(h, &section, ret_state, err);
}

/* ---- descriptor and config ---- */

static void test_descriptor(void **unused)
{
        assert_int_equal(P->abi_version, QUILT_PLUGIN_ABI_VERSION);
        assert_int_equal(P->struct_size, sizeof(struct quilt_plugin));
        assert_string_equal(P->name, "setup");
        assert_non_null(P->description);
        assert_true(P->features & QUILT_FEATURE_SETUP_COMMANDS);
        assert_int_equal(P->features & ~QUILT_FEATURE_SETUP_COMMANDS, 0);
        assert_non_null(P->init);
        assert_non_null(P->fini);
        assert_non_null(P->in_child);
        assert_null(P->prepare_rootfs);
        assert_non_null(P->pre_clone);          /* room for the process groups */
        assert_null(P->post_start);
        assert_null(P->cleanup);
}

static void test_config_defaults(void **unused)
{
        struct quilt_error err = { 0 };
        void *state = NULL;

        assert_int_equal(P->init(&host, NULL, &state, &err), 0);
        struct setup_state *s = state;
        assert_string_equal(s->cfg.shell, "/bin/sh");
        assert_int_equal(s->cfg.timeout, 0);
        P->fini(state);

        /* An empty section needs no config_apply. */
        const struct quilt_host bare = { .abi_version = QUILT_PLUGIN_ABI_VERSION,
                                         .struct_size = sizeof(struct quilt_host) };
        assert_int_equal(init_with(&bare, NULL, 0, &state, &err), 0);
        P->fini(state);
}

static void test_config_values(void **unused)
{
        const struct quilt_config_entry e[] = {
                ENTRY("shell", "/bin/bash", 2), ENTRY("timeout", "7", 3),
        };
        struct quilt_error err = { 0 };
        void *state = NULL;

        assert_int_equal(init_with(&host, e, ELEMENTSOF(e), &state, &err), 0);
        struct setup_state *s = state;
        assert_string_equal(s->cfg.shell, "/bin/bash");
        assert_int_equal(s->cfg.timeout, 7);
        P->fini(state);
}

static void expect_init_error(const struct quilt_config_entry *e, size_t n, const char *message)
{
        struct quilt_error err = { 0 };
        void *state = NULL;

        assert_int_equal(init_with(&host, e, n, &state, &err), -EINVAL);
        assert_int_equal(err.code, -EINVAL);
        assert_string_equal(err.message, message);
        assert_null(state);
}

static void test_config_errors(void **unused)
{
        const struct quilt_config_entry unknown[] = {
                ENTRY("shell", "/bin/sh", 2), ENTRY("shel", "/bin/sh", 4),
        };
        const struct quilt_config_entry relative[] = { ENTRY("shell", "sh", 3) };
        const struct quilt_config_entry empty[] = { ENTRY("shell", "", 5) };
        const struct quilt_config_entry negative[] = { ENTRY("timeout", "-1", 6) };
        const struct quilt_config_entry huge[] = {
                ENTRY("timeout", "1", 2), ENTRY("timeout", "4294967296", 7),
        };

        expect_init_error(unknown, ELEMENTSOF(unknown),
                          "quilt.ini:4: [setup] unknown key 'shel' (known: shell, timeout)");
        expect_init_error(relative, 1, "quilt.ini:3: [setup] shell: 'sh' is not an absolute path");
        expect_init_error(empty, 1, "quilt.ini:5: [setup] shell: '' is not an absolute path");
        expect_init_error(negative, 1,
                          "quilt.ini:6: [setup] timeout: '-1' is not an unsigned number "
                          "(decimal or 0x hex)");
        expect_init_error(huge, ELEMENTSOF(huge),
                          "quilt.ini:7: [setup] timeout: 4294967296 is more than 4294967295 "
                          "seconds");
}

static void test_config_without_config_apply(void **unused)
{
        const struct quilt_host short_host = {
                .abi_version = QUILT_PLUGIN_ABI_VERSION,
                .struct_size = offsetof(struct quilt_host, config_apply),
                .config_apply = quilt_config_apply,     /* past struct_size: absent */
        };
        const struct quilt_config_entry e[] = { ENTRY("timeout", "1", 2) };
        struct quilt_error err = { 0 };
        void *state = NULL;

        assert_int_equal(init_with(&short_host, e, 1, &state, &err), -ENOTSUP);
        assert_null(state);
}

/* ---- the in_child hook, run in a child process ---- */

struct run {
        /* in */
        const struct quilt_host *host;
        const struct quilt_config_entry *entries;
        size_t n_entries;
        char *const *commands;
        uint32_t request_timeout;
        const char *working_directory;
        size_t struct_size;                     /* 0: the whole struct */
        bool no_pre_clone;                      /* call in_child without pre_clone */
        /* out */
        int init_r;
        int r;
        char message[QUILT_ERROR_MESSAGE_MAX];
        double seconds;
        bool no_children;                       /* waitpid: ECHILD right after the hook */
        int subreaper;                          /* PR_GET_CHILD_SUBREAPER after the hook */
        sigset_t mask;                          /* the signal mask after the hook */
        pid_t pid;                              /* of the hook's process */
        char phases[4096];
};

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

_Noreturn static void hook_child(struct run *run, int result_fd)
{
        char *const envp[] = { "FOO=bar baz", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
        char *const argv[] = { "true", NULL };
        const struct quilt_resources resources = { .struct_size = sizeof(resources) };
        struct quilt_container c = {
                .struct_size = run->struct_size ? (uint32_t)run->struct_size :
                                                  (uint32_t)sizeof(c),
                .id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                .name = "",
                .dir = tmpdir,
                .rootfs = "/",
                .hostname = "0123456789ab",
                .working_directory = run->working_directory ? run->working_directory : workdir,
                .argv = argv,
                .envp = envp,
                .resources = &resources,
                .cgroup_fd = -1,
                .setup_commands = run->commands,
                .setup_timeout_seconds = run->request_timeout,
        };
        struct quilt_error err = { 0 };
        void *state = NULL;

        alarm(60);                              /* never hang the test */
        run->pid = getpid();
        run->init_r = init_with(run->host, run->entries, run->n_entries, &state, &err);
        if (run->init_r == 0 && !run->no_pre_clone)
                run->init_r = P->pre_clone(state, &c, &err);
        if (run->init_r == 0) {
                double start = now_s();
                run->r = P->in_child(state, &c, &err);
                run->seconds = now_s() - start;
                run->no_children = waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
                (void)prctl(PR_GET_CHILD_SUBREAPER, &run->subreaper);
                sigprocmask(SIG_SETMASK, NULL, &run->mask);
                P->fini(state);
        }
        memcpy(run->message, err.message, sizeof(run->message));
        (void)quilt_write_all(result_fd, run, sizeof(*run));
        /* What the commands left running is ours to wait for. */
        while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
                ;
        _exit(0);
}

static void run_hook(struct run *run)
{
        int result[2], phases[2];
        pid_t pid;

        if (!run->host)
                run->host = &host;
        assert_int_equal(pipe2(result, O_CLOEXEC), 0);
        assert_int_equal(pipe2(phases, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(result[0]);
                close(phases[0]);
                phase_fd = phases[1];
                hook_child(run, result[1]);
        }
        close(result[1]);
        close(phases[1]);

        struct run out;
        size_t got = 0;
        while (got < sizeof(out)) {
                ssize_t n = read(result[0], (char *)&out + got, sizeof(out) - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                got += (size_t)n;
        }
        close(result[0]);

        char buf[sizeof(run->phases)];
        size_t len = 0;
        for (;;) {
                ssize_t n = read(phases[0], buf + len, sizeof(buf) - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        close(phases[0]);

        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_int_equal(got, sizeof(out));
        run->init_r = out.init_r;
        run->r = out.r;
        memcpy(run->message, out.message, sizeof(run->message));
        run->seconds = out.seconds;
        run->no_children = out.no_children;
        run->subreaper = out.subreaper;
        run->mask = out.mask;
        run->pid = out.pid;
        memcpy(run->phases, buf, len + 1);
        assert_int_equal(run->init_r, 0);
}

/* The whole content of workdir/NAME, or "" when it does not exist. */
static const char *slurp(const char *name)
{
        static char buf[4096];
        char path[PATH_MAX];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", workdir, name);
        buf[0] = '\0';
        f = fopen(path, "re");
        if (!f)
                return buf;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static int group_setup(void **state)
{
        if (!mkdtemp(tmpdir))
                return -1;
        snprintf(workdir, sizeof(workdir), "%s/work", tmpdir);
        return mkdir(workdir, 0755);
}

static int group_teardown(void **state)
{
        return quilt_remove_tree(tmpdir, NULL);
}

/* Each test starts with an empty working directory. */
static int test_setup(void **state)
{
        if (quilt_remove_tree(workdir, NULL) < 0)
                return -1;
        return mkdir(workdir, 0755);
}

static void assert_clean_after(const struct run *run)
{
        assert_true(run->no_children);
        assert_int_equal(run->subreaper, 0);
        assert_true(sigisemptyset(&run->mask));
}

static void test_no_commands(void **unused)
{
        char *const none[] = { NULL };
        char *const one[] = { "touch ran", NULL };
        struct run run = { .commands = none };

        run_hook(&run);
        assert_int_equal(run.r, 0);
        assert_string_equal(run.phases, "");

        /* A core from before setup_commands: the field is absent. */
        run = (struct run){ .commands = one,
                            .struct_size = offsetof(struct quilt_container, setup_commands) };
        run_hook(&run);
        assert_int_equal(run.r, 0);
        assert_string_equal(run.phases, "");
        assert_string_equal(slurp("ran"), "");
}

static void test_in_order_with_env_and_cwd(void **unused)
{
        char *const cmds[] = {
                "echo one >> order",
                "echo \"$FOO\" > env; pwd > cwd; echo two >> order",
                "echo three >> order",
                NULL,
        };
        struct run run = { .commands = cmds };
        char cwd[sizeof(workdir) + 1];

        run_hook(&run);
        assert_int_equal(run.r, 0);
        assert_string_equal(run.phases, "1:echo one >> order\n"
                                        "2:echo \"$FOO\" > env; pwd > cwd; echo two >> order\n"
                                        "3:echo three >> order\n");
        assert_string_equal(slurp("order"), "one\ntwo\nthree\n");
        assert_string_equal(slurp("env"), "bar baz\n");
        snprintf(cwd, sizeof(cwd), "%s\n", workdir);
        assert_string_equal(slurp("cwd"), cwd);
        assert_clean_after(&run);
}

static void test_failure_stops_the_sequence(void **unused)
{
        char *const cmds[] = { "true", "false", "touch never", NULL };
        struct run run = { .commands = cmds };

        run_hook(&run);
        assert_true(run.r < 0);
        assert_string_equal(run.message, "setup command 2 (`false`) exited with 1");
        assert_string_equal(run.phases, "1:true\n2:false\n");
        assert_string_equal(slurp("never"), "");
        assert_clean_after(&run);
}

static void test_killed_by_signal(void **unused)
{
        char *const cmds[] = { "kill -9 $$", NULL };
        struct run run = { .commands = cmds };

        run_hook(&run);
        assert_true(run.r < 0);
        assert_string_equal(run.message,
                            "setup command 1 (`kill -9 $$`) was killed by signal 9 (Killed)");
        assert_clean_after(&run);
}

/* The shell's pid is its process group: nothing of it may be left. */
static void assert_group_gone(void)
{
        long pgid = strtol(slurp("pgid"), NULL, 10);

        assert_true(pgid > 1);
        assert_int_equal(kill(-(pid_t)pgid, 0), -1);
        assert_int_equal(errno, ESRCH);
}

static void test_timeout_from_config(void **unused)
{
        const struct quilt_config_entry e[] = { ENTRY("timeout", "1", 2) };
        char *const cmds[] = { "echo $$ > pgid; sleep 30 & sleep 30; wait", "touch never",
                               NULL };
        struct run run = { .commands = cmds, .entries = e, .n_entries = 1 };

        run_hook(&run);
        assert_int_equal(run.r, -ETIMEDOUT);
        assert_string_equal(run.message, "setup command 1 (`echo $$ > pgid; sleep 30 & "
                                         "sleep 30; wait`) timed out after 1 s");
        assert_true(run.seconds > 0.9 && run.seconds < 5);
        assert_string_equal(slurp("never"), "");
        assert_group_gone();
        assert_clean_after(&run);
}

static void test_timeout_from_request(void **unused)
{
        const struct quilt_config_entry e[] = { ENTRY("timeout", "100", 2) };
        char *const cmds[] = { "true", "echo $$ > pgid; exec sleep 30", NULL };
        struct run run = { .commands = cmds, .entries = e, .n_entries = 1,
                           .request_timeout = 1 };

        run_hook(&run);
        assert_int_equal(run.r, -ETIMEDOUT);
        assert_string_equal(run.message,
                            "setup command 2 (`echo $$ > pgid; exec sleep 30`) timed out after 1 s");
        assert_true(run.seconds > 0.9 && run.seconds < 5);
        assert_group_gone();
        assert_clean_after(&run);
}

static void test_missing_shell(void **unused)
{
        const struct quilt_config_entry e[] = { ENTRY("shell", "/nonexistent/sh", 2) };
        char *const cmds[] = { "true", NULL };
        struct run run = { .commands = cmds, .entries = e, .n_entries = 1 };

        run_hook(&run);
        assert_int_equal(run.r, -ENOENT);
        assert_string_equal(run.message,
                            "setup command 1: cannot run /nonexistent/sh: No such file or directory");
        assert_string_equal(run.phases, "1:true\n");
        assert_clean_after(&run);
}

static void test_missing_working_directory(void **unused)
{
        char *const cmds[] = { "true", NULL };
        char dir[sizeof(workdir) + 16], expected[sizeof(dir) + 128];
        struct run run = { .commands = cmds, .working_directory = dir };

        snprintf(dir, sizeof(dir), "%s/nope", workdir);
        snprintf(expected, sizeof(expected),
                 "setup command 1: cannot chdir to %s: No such file or directory", dir);
        run_hook(&run);
        assert_int_equal(run.r, -ENOENT);
        assert_string_equal(run.message, expected);
        assert_clean_after(&run);
}

/* We are not PID 1 here: the hook makes itself a subreaper meanwhile, so
 * orphans come to it (not to the system's init) and it reaps them. */
static void test_orphans_reaped(void **unused)
{
        char *const cmds[] = {
                "sleep 0.3 & echo $! > orphan",
                "grep PPid /proc/$(cat orphan)/status > ppid",
                "sleep 0.2 & sleep 0.2 &",
                "sleep 0.8",
                NULL,
        };
        struct run run = { .commands = cmds };
        char expected[64];

        run_hook(&run);
        assert_int_equal(run.r, 0);
        snprintf(expected, sizeof(expected), "PPid:\t%d\n", (int)run.pid);
        assert_string_equal(slurp("ppid"), expected);
        assert_clean_after(&run);
}

/* A failed setup ends what earlier commands left running: the container
 * will not start.  Also without pre_clone (no record of the groups), the
 * failing command's own group is ended. */
static void test_failure_ends_leftovers(void **unused)
{
        char *const cmds[] = { "sleep 30 & echo $! > bg1", "true",
                               "sleep 30 & echo $! > bg3; exit 4", NULL };
        char *const one[] = { "sleep 30 & echo $! > bg1; exit 5", NULL };
        struct run run = { .commands = cmds };

        run_hook(&run);
        assert_string_equal(run.message, "setup command 3 (`sleep 30 & echo $! > bg3; exit 4`) "
                                         "exited with 4");
        assert_true(run.seconds < 5);
        assert_clean_after(&run);
        assert_int_equal(kill((pid_t)strtol(slurp("bg1"), NULL, 10), 0), -1);
        assert_int_equal(kill((pid_t)strtol(slurp("bg3"), NULL, 10), 0), -1);

        run = (struct run){ .commands = one, .no_pre_clone = true };
        run_hook(&run);
        assert_string_equal(run.message, "setup command 1 (`sleep 30 & echo $! > bg1; exit 5`) "
                                         "exited with 5");
        assert_true(run.seconds < 5);
        assert_clean_after(&run);
        assert_int_equal(kill((pid_t)strtol(slurp("bg1"), NULL, 10), 0), -1);
}

/* A command may leave a daemon running: setup does not wait for it. */
static void test_background_left_running(void **unused)
{
        char *const cmds[] = { "sleep 1 &", NULL };
        struct run run = { .commands = cmds };

        run_hook(&run);
        assert_int_equal(run.r, 0);
        assert_true(run.seconds < 0.8);
        assert_false(run.no_children);
        assert_int_equal(run.subreaper, 0);
}

static void test_long_command_is_cut(void **unused)
{
        char cmd[400], expected[600];
        char *const cmds[] = { cmd, NULL };
        struct run run = { .commands = cmds };

        snprintf(cmd, sizeof(cmd), "exit 3 #");
        memset(cmd + 8, 'x', 300);
        cmd[308] = '\0';
        snprintf(expected, sizeof(expected), "setup command 1 (`%.200s...`) exited with 3", cmd);
        run_hook(&run);
        assert_true(run.r < 0);
        assert_string_equal(run.message, expected);
}

/* A stop (SIGTERM to the container process) ends the setup at once. */
static void test_stop_signal(void **unused)
{
        char *const cmds[] = { "echo $$ > pgid; kill -TERM $PPID; sleep 30", "touch never",
                               NULL };
        struct run run = { .commands = cmds };

        run_hook(&run);
        assert_int_equal(run.r, -ECANCELED);
        assert_string_equal(run.message, "setup command 1 (`echo $$ > pgid; kill -TERM $PPID; "
                                         "sleep 30`) was stopped: the container got signal 15 "
                                         "(Terminated)");
        assert_true(run.seconds < 5);
        assert_string_equal(slurp("never"), "");
        assert_group_gone();
        assert_clean_after(&run);
}

static void test_host_without_child_phase(void **unused)
{
        char *const cmds[] = { "echo a >> order", "echo b >> order", NULL };
        struct run run = { .commands = cmds, .host = &old_host };

        run_hook(&run);
        assert_int_equal(run.r, 0);
        assert_string_equal(run.phases, "");
        assert_string_equal(slurp("order"), "a\nb\n");
}

/* The commands get no fd of ours but 0, 1 and 2. */
static void test_no_fds_leak(void **unused)
{
        char *const cmds[] = { "ls /proc/self/fd > fds", NULL };
        struct run run = { .commands = cmds };
        _cleanup_close_ int extra = open("/dev/null", O_RDONLY);       /* not CLOEXEC */

        assert_true(extra >= 3);
        run_hook(&run);
        assert_int_equal(run.r, 0);
        /* ls's own directory fd is the only one past 2. */
        const char *fds = slurp("fds");
        int count = 0;
        for (const char *p = fds; *p; p++)
                count += *p == '\n';
        assert_int_equal(count, 4);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_descriptor),
                cmocka_unit_test(test_config_defaults),
                cmocka_unit_test(test_config_values),
                cmocka_unit_test(test_config_errors),
                cmocka_unit_test(test_config_without_config_apply),
                cmocka_unit_test_setup(test_no_commands, test_setup),
                cmocka_unit_test_setup(test_in_order_with_env_and_cwd, test_setup),
                cmocka_unit_test_setup(test_failure_stops_the_sequence, test_setup),
                cmocka_unit_test_setup(test_killed_by_signal, test_setup),
                cmocka_unit_test_setup(test_timeout_from_config, test_setup),
                cmocka_unit_test_setup(test_timeout_from_request, test_setup),
                cmocka_unit_test_setup(test_missing_shell, test_setup),
                cmocka_unit_test_setup(test_missing_working_directory, test_setup),
                cmocka_unit_test_setup(test_orphans_reaped, test_setup),
                cmocka_unit_test_setup(test_failure_ends_leftovers, test_setup),
                cmocka_unit_test_setup(test_background_left_running, test_setup),
                cmocka_unit_test_setup(test_long_command_is_cut, test_setup),
                cmocka_unit_test_setup(test_stop_signal, test_setup),
                cmocka_unit_test_setup(test_host_without_child_phase, test_setup),
                cmocka_unit_test_setup(test_no_fds_leak, test_setup),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
