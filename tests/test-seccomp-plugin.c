/* SPDX-License-Identifier: MIT */
/* The seccomp plugin (plugins/seccomp), driven through its one exported
 * symbol: the built seccomp.so is dlopen'ed (it links libseccomp and
 * json-c, which this test need not), its [seccomp] section goes through
 * the real config_apply, and pre_clone compiles profiles.  The exported
 * programs are then loaded in forked children -- no_new_privs first, then
 * prctl(PR_SET_SECCOMP) as the core does -- which try the calls and report
 * through their exit status.  Skips when the plugin was not built. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
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
#include <sys/socket.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "util.h"
#include "quilt/plugin.h"

/* TEST_PLUGIN_DIR is BUILD/tests/plugins; the real plugins are in BUILD/plugins. */
#define SECCOMP_SO TEST_PLUGIN_DIR "/../../plugins/seccomp.so"

/* Docker's default capability set (CapEff 00000000a80425fb). */
#define DOCKER_CAPS UINT64_C(0xa80425fb)
#define CAP_SYS_ADMIN_BIT (UINT64_C(1) << 21)

static const struct quilt_plugin *P;
static void *handle;
static char tmpdir[] = "/tmp/quilt-seccomp-test-XXXXXX";

static void quiet_log(enum quilt_log_level level, const char *plugin, const char *fmt, ...) {}

static const struct quilt_host host = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_host),
        .log = quiet_log,
        .config_apply = quilt_config_apply,
};

#define ENTRY(k, v, l) { .key = (k), .value = (v), .file = "quilt.ini", .line = (l) }

static int init_with(const struct quilt_config_entry *e, size_t n, void **ret_state,
                     struct quilt_error *err)
{
        const struct quilt_config_section section = {
                .name = "seccomp", .file = "quilt.ini", .line = n ? 1 : 0,
                .n_entries = n, .entries = e,
        };
        return P->init(&host, &section, ret_state, err);
}

/* TMPDIR/NAME with `text`; the path in a static buffer per call site. */
static const char *write_profile(char *path, size_t size, const char *name, const char *text)
{
        snprintf(path, size, "%s/%s", tmpdir, name);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
        return path;
}

static struct quilt_container container(const char *profile, uint64_t caps)
{
        return (struct quilt_container) {
                .struct_size = sizeof(struct quilt_container),
                .id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                .cgroup_fd = -1,
                .capabilities = caps,
                .seccomp_profile = profile ? profile : "",
        };
}

/* ---- descriptor and config ---- */

static void test_descriptor(void **unused)
{
        assert_int_equal(P->abi_version, QUILT_PLUGIN_ABI_VERSION);
        assert_int_equal(P->struct_size, sizeof(struct quilt_plugin));
        assert_string_equal(P->name, "seccomp");
        assert_int_equal(P->features, QUILT_FEATURE_SECCOMP);
        assert_non_null(P->pre_clone);
        assert_null(P->in_child);               /* the core loads the filter */
        /* The only symbol it exports. */
        assert_null(dlsym(handle, "seccomp_profile_compile"));
        assert_null(dlsym(handle, "seccomp_default_profile"));
}

static void test_config_defaults(void **unused)
{
        struct quilt_error err = { 0 };
        void *state = NULL;

        assert_int_equal(init_with(NULL, 0, &state, &err), 0);
        P->fini(state);
        const struct quilt_config_entry e[] = {
                ENTRY("profile", "default", 2), ENTRY("allow_unconfined", "yes", 3),
                ENTRY("allow_ptrace", "false", 4), ENTRY("profiles_dir", "/nonexistent", 5),
        };
        assert_int_equal(init_with(e, 4, &state, &err), 0);
        P->fini(state);
}

struct config_case {
        struct quilt_config_entry entries[2];
        size_t n;
        int code;
        const char *expect;
};

static void test_config_errors(void **unused)
{
        char bad[PATH_MAX], good[PATH_MAX], missing[PATH_MAX];
        write_profile(bad, sizeof(bad), "cfg-bad.json",
                      "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                      "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOPE\"}]}");
        write_profile(good, sizeof(good), "cfg-good.json", "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}");
        snprintf(missing, sizeof(missing), "%s/missing.json", tmpdir);
        char bad_expect[PATH_MAX + 200];
        snprintf(bad_expect, sizeof(bad_expect),
                 "quilt.ini:7: [seccomp] profile: seccomp profile %s: syscalls[0].action: "
                 "unknown action 'SCMP_ACT_NOPE'", bad);
        const struct config_case cases[] = {
                { { ENTRY("profile", "default", 2), ENTRY("colour", "blue", 3) }, 2, -EINVAL,
                  "quilt.ini:3" },
                { { ENTRY("allow_unconfined", "maybe", 4) }, 1, -EINVAL, "quilt.ini:4" },
                { { ENTRY("profiles_dir", "relative/dir", 5) }, 1, -EINVAL,
                  "quilt.ini:5: [seccomp] profiles_dir: 'relative/dir' is not an absolute path" },
                { { ENTRY("profile", "", 6) }, 1, -EINVAL, "quilt.ini:6: [seccomp] profile: empty" },
                { { ENTRY("profile", bad, 7) }, 1, -EINVAL, bad_expect },
                { { ENTRY("profile", missing, 8) }, 1, -ENOENT, "quilt.ini:8: [seccomp] profile: " },
                { { ENTRY("profile", "mine", 9) }, 1, -EINVAL,
                  "quilt.ini:9: [seccomp] profile: seccomp profile 'mine': a name needs "
                  "profiles_dir" },
                { { ENTRY("profile", "../up", 10) }, 1, -EINVAL, "quilt.ini:10: [seccomp] profile" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct quilt_error err = { 0 };
                void *state = NULL;
                int r = init_with(cases[i].entries, cases[i].n, &state, &err);
                if (r != cases[i].code || !strstr(err.message, cases[i].expect))
                        fail_msg("case %zu: %d '%s', wanted %d '%s'", i, r, err.message,
                                 cases[i].code, cases[i].expect);
                assert_null(state);
        }

        /* A good file and a name in profiles_dir pass. */
        const struct quilt_config_entry ok[] = { ENTRY("profile", good, 2) };
        struct quilt_error err = { 0 };
        void *state = NULL;
        assert_int_equal(init_with(ok, 1, &state, &err), 0);
        P->fini(state);
        const struct quilt_config_entry named[] = { ENTRY("profiles_dir", tmpdir, 2),
                                                    ENTRY("profile", "cfg-good", 3) };
        assert_int_equal(init_with(named, 2, &state, &err), 0);
        P->fini(state);
}

/* ---- profiles ---- */

/* pre_clone with profile `name` under a plugin configured by `e`. */
static int compile_with(const struct quilt_config_entry *e, size_t n, const char *name,
                        uint64_t caps, void **ret_state, struct quilt_container *ret_c,
                        struct quilt_error *err)
{
        int r = init_with(e, n, ret_state, err);
        assert_int_equal(r, 0);
        *ret_c = container(name, caps);
        return P->pre_clone(*ret_state, ret_c, err);
}

struct json_case {
        const char *json;
        const char *expect;             /* after "seccomp profile PATH: " */
};

static void test_malformed_profiles(void **unused)
{
        static const struct json_case cases[] = {
                { "{", "invalid JSON: it ends too early" },
                { "{\"defaultAction\":}", "invalid JSON at byte" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\"} x", "invalid JSON at byte 35" },
                { "[]", "must be a JSON object" },
                { "{}", "no defaultAction" },
                { "{\"defaultAction\":7}", "defaultAction: must be string, not int" },
                { "{\"defaultAction\":\"SCMP_ACT_FOO\"}",
                  "defaultAction: unknown action 'SCMP_ACT_FOO'" },
                { "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}",
                  "defaultErrnoRet: -1 is out of range" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":"
                  "[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_FOO\"]}",
                  "architectures[1]: unknown architecture 'SCMP_ARCH_FOO'" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"archMap\":[{\"architecture\":"
                  "\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_PDP11\"]}]}",
                  "archMap[0].subArchitectures[0]: unknown architecture 'SCMP_ARCH_PDP11'" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}",
                  "syscalls: must be array, not object" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":["
                  "{\"names\":[\"getpid\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                  "{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\"},"
                  "{\"names\":[\"gettid\"],\"action\":\"SCMP_ACT_LOG\"},"
                  "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_FOO\"}]}",
                  "syscalls[3].action: unknown action 'SCMP_ACT_FOO'" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"action\":"
                  "\"SCMP_ACT_ERRNO\"}]}",
                  "syscalls[0]: neither names nor name" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"]}]}",
                  "syscalls[0]: no action" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":\"mkdir\","
                  "\"action\":\"SCMP_ACT_ERRNO\"}]}",
                  "syscalls[0].names: must be array, not string" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\",3],"
                  "\"action\":\"SCMP_ACT_ERRNO\"}]}",
                  "syscalls[0].names[1]: must be a string, not int" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                  "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":5000}]}",
                  "syscalls[0].errnoRet: 5000 is out of range 0..4095" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                  "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
                  "syscalls[0].action: action 'SCMP_ACT_NOTIFY' is not supported" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":1,\"value\":2,"
                  "\"op\":\"SCMP_CMP_FOO\"}]}]}",
                  "syscalls[0].args[0].op: unknown operator 'SCMP_CMP_FOO'" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"op\":\"SCMP_CMP_EQ\"},"
                  "{\"index\":6,\"op\":\"SCMP_CMP_EQ\"}]}]}",
                  "syscalls[0].args[1].index: 6 is out of range 0..5" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                  "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]}]}",
                  "syscalls[0].args[0]: no index" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                  "\"action\":\"SCMP_ACT_ERRNO\",\"includes\":{\"minKernel\":\"new\"}}]}",
                  "syscalls[0].includes.minKernel: 'new' is not MAJOR.MINOR" },
                /* Checked even where the conditions drop the entry. */
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                  "\"action\":\"SCMP_ACT_EROR\",\"includes\":{\"arches\":[\"s390x\"]}}]}",
                  "syscalls[0].action: unknown action 'SCMP_ACT_EROR'" },
                { "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
                  "\"action\":\"SCMP_ACT_ERRNO\",\"excludes\":{\"caps\":\"CAP_SYS_ADMIN\"}}]}",
                  "syscalls[0].excludes.caps: must be array, not string" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char path[PATH_MAX], name[32], want[PATH_MAX + 256];
                struct quilt_error err = { 0 };
                struct quilt_container c;
                void *state;

                snprintf(name, sizeof(name), "bad-%zu.json", i);
                write_profile(path, sizeof(path), name, cases[i].json);
                snprintf(want, sizeof(want), "seccomp profile %s: %s", path, cases[i].expect);
                int r = compile_with(NULL, 0, path, DOCKER_CAPS, &state, &c, &err);
                if (r != -EINVAL || !strstr(err.message, want))
                        fail_msg("case %zu: %d '%s', wanted -EINVAL '%s'", i, r, err.message, want);
                assert_null(c.seccomp_filter);
                P->fini(state);
        }
}

static void assert_program(const struct quilt_container *c)
{
        const struct sock_filter *f = c->seccomp_filter;

        assert_non_null(f);
        assert_true(c->seccomp_filter_len > 0);
        assert_int_equal(c->seccomp_filter_len % sizeof(struct sock_filter), 0);
        assert_true(c->seccomp_filter_len / sizeof(struct sock_filter) <= BPF_MAXINSNS);
        /* It starts by checking the architecture (seccomp_data.arch). */
        assert_int_equal(f[0].code, BPF_LD | BPF_W | BPF_ABS);
        assert_int_equal(f[0].k, offsetof(struct seccomp_data, arch));
}

static void test_good_profiles(void **unused)
{
        char path[PATH_MAX];
        struct quilt_error err = { 0 };
        struct quilt_container c;
        void *state;

        /* The built-in, with and without capabilities. */
        assert_int_equal(compile_with(NULL, 0, "", DOCKER_CAPS, &state, &c, &err), 0);
        assert_program(&c);
        P->fini(state);
        assert_int_equal(compile_with(NULL, 0, "default", ~UINT64_C(0), &state, &c, &err), 0);
        assert_program(&c);
        P->fini(state);

        /* Every part of the format; names this libseccomp does not know are skipped. */
        write_profile(path, sizeof(path), "good.json",
                      "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":1,"
                      " \"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"], \"listenerPath\":\"\","
                      " \"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],"
                      " \"syscalls\":["
                      "  {\"names\":[\"read\",\"write\",\"no_such_call_at_all\"],\"action\":\"SCMP_ACT_ALLOW\","
                      "   \"comment\":\"x\"},"
                      "  {\"name\":\"getpid\",\"action\":\"SCMP_ACT_LOG\"},"
                      "  {\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\"},"
                      "  {\"names\":[\"kill\"],\"action\":\"SCMP_ACT_TRAP\"},"
                      "  {\"names\":[\"tkill\"],\"action\":\"SCMP_ACT_KILL_PROCESS\"},"
                      "  {\"names\":[\"tgkill\"],\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":7},"
                      "  {\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                      "    {\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"},"
                      "    {\"index\":0,\"value\":8,\"op\":\"SCMP_CMP_EQ\"}]},"
                      "  {\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                      "    {\"index\":0,\"value\":40,\"valueTwo\":0,\"op\":\"SCMP_CMP_NE\"},"
                      "    {\"index\":1,\"value\":18446744073709551615,\"op\":\"SCMP_CMP_LE\"}]},"
                      "  {\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":["
                      "    {\"index\":0,\"value\":2114060288,\"op\":\"SCMP_CMP_MASKED_EQ\"}],"
                      "   \"excludes\":{\"caps\":[\"CAP_SYS_ADMIN\"],\"arches\":[\"s390x\"]}},"
                      "  {\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_ALLOW\","
                      "   \"includes\":{\"minKernel\":\"4.8\",\"arches\":[\"amd64\"]}},"
                      "  {\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_KILL\",\"args\":null,"
                      "   \"includes\":{}, \"excludes\":null}"
                      "]}");
        assert_int_equal(compile_with(NULL, 0, path, DOCKER_CAPS, &state, &c, &err), 0);
        assert_program(&c);
        P->fini(state);

        /* Docker's older archMap form. */
        write_profile(path, sizeof(path), "archmap.json",
                      "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"archMap\":["
                      "{\"architecture\":\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_X86\"]},"
                      "{\"architecture\":\"SCMP_ARCH_AARCH64\",\"subArchitectures\":null}],"
                      "\"syscalls\":null}");
        assert_int_equal(compile_with(NULL, 0, path, DOCKER_CAPS, &state, &c, &err), 0);
        assert_program(&c);
        P->fini(state);

        /* A bare name from profiles_dir; the config's profile when the request has none. */
        const struct quilt_config_entry dir[] = { ENTRY("profiles_dir", tmpdir, 2) };
        assert_int_equal(compile_with(dir, 1, "archmap", DOCKER_CAPS, &state, &c, &err), 0);
        assert_program(&c);
        P->fini(state);
        const struct quilt_config_entry chain[] = { ENTRY("profile", path, 2) };
        assert_int_equal(compile_with(chain, 1, "", DOCKER_CAPS, &state, &c, &err), 0);
        assert_program(&c);
        P->fini(state);

        /* Names that lead nowhere. */
        const char *const nowhere[] = { "../etc/passwd", "a/b", ".hidden", "mine" };
        for (size_t i = 0; i < ELEMENTSOF(nowhere); i++) {
                int r = compile_with(i == 3 ? NULL : dir, i == 3 ? 0 : 1, nowhere[i], DOCKER_CAPS,
                                     &state, &c, &err);
                if (r != -EINVAL)
                        fail_msg("'%s': %d '%s'", nowhere[i], r, err.message);
                P->fini(state);
        }
        assert_int_equal(compile_with(dir, 1, "absent", DOCKER_CAPS, &state, &c, &err), -ENOENT);
        assert_non_null(strstr(err.message, "absent.json"));
        P->fini(state);
}

static void test_unconfined(void **unused)
{
        struct quilt_error err = { 0 };
        struct quilt_container c;
        void *state;

        assert_int_equal(compile_with(NULL, 0, "unconfined", DOCKER_CAPS, &state, &c, &err),
                         -EPERM);
        assert_non_null(strstr(err.message, "seccomp: unconfined is not allowed by the config"));
        P->fini(state);

        const struct quilt_config_entry allow[] = { ENTRY("allow_unconfined", "true", 2) };
        assert_int_equal(compile_with(allow, 1, "unconfined", DOCKER_CAPS, &state, &c, &err), 0);
        assert_null(c.seccomp_filter);
        assert_int_equal(c.seccomp_filter_len, 0);
        P->fini(state);

        /* The integrator's own choice for the chain needs no permission. */
        const struct quilt_config_entry chain[] = { ENTRY("profile", "unconfined", 2) };
        assert_int_equal(compile_with(chain, 1, "", DOCKER_CAPS, &state, &c, &err), 0);
        assert_null(c.seccomp_filter);
        P->fini(state);
}

/* A core too old to load filters must not get a container that runs unconfined. */
static void test_old_core(void **unused)
{
        struct quilt_error err = { 0 };
        struct quilt_container c = container("", DOCKER_CAPS);
        void *state;

        assert_int_equal(init_with(NULL, 0, &state, &err), 0);
        c.struct_size = offsetof(struct quilt_container, seccomp_filter);
        assert_int_equal(P->pre_clone(state, &c, &err), -ENOTSUP);
        P->fini(state);
}

/* ---- the programs, loaded ---- */

/* In a child: load `c`'s program as the core does, run `check`, and
 * return how the child ended (a wait status). */
static int run_confined(const struct quilt_container *c, int (*check)(void))
{
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0) {
                alarm(10);
                struct sock_fprog prog = {
                        .len = (unsigned short)(c->seccomp_filter_len / sizeof(struct sock_filter)),
                        .filter = (struct sock_filter *)c->seccomp_filter,
                };
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        _exit(100);
                if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                        _exit(101);
                /* exit_group itself: a sanitizer's _exit would run its
                 * leak check, with calls the filter may refuse. */
                syscall(SYS_exit_group, check());
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return status;
}

static int compile_and_run(const char *profile, uint64_t caps, int (*check)(void))
{
        struct quilt_error err = { 0 };
        struct quilt_container c;
        void *state;
        int r = compile_with(NULL, 0, profile, caps, &state, &c, &err);
        if (r < 0)
                fail_msg("%s: %d %s", profile, r, err.message);
        int status = run_confined(&c, check);
        P->fini(state);
        return status;
}

#define assert_exited_ok(status)                                                           \
        do {                                                                               \
                int s_ = (status);                                                         \
                if (!WIFEXITED(s_) || WEXITSTATUS(s_) != 0)                                \
                        fail_msg("child: %s %d", WIFEXITED(s_) ? "exit" : "signal",        \
                                 WIFEXITED(s_) ? WEXITSTATUS(s_) : WTERMSIG(s_));          \
        } while (0)

/* Each failed expectation exits with its own code. */
#define EXPECT_ERRNO(n, call, e)                                                           \
        do {                                                                               \
                errno = 0;                                                                 \
                long r_ = (long)(call);                                                    \
                if (r_ != -1 || errno != (e))                                              \
                        return (n);                                                        \
        } while (0)

static int check_default(void)
{
        char dir[] = "/tmp/quilt-seccomp-mnt-XXXXXX";

        EXPECT_ERRNO(1, mount("none", "/", "tmpfs", 0, NULL), EPERM);
        EXPECT_ERRNO(2, umount2("/", MNT_DETACH), EPERM);
        EXPECT_ERRNO(3, syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0), EPERM);
        EXPECT_ERRNO(4, syscall(SYS_add_key, "user", "x", "y", 1, -3), EPERM);
        EXPECT_ERRNO(5, unshare(CLONE_NEWUSER), EPERM);
        EXPECT_ERRNO(6, unshare(0), EPERM);
        EXPECT_ERRNO(7, syscall(SYS_bpf, 0, NULL, 0), EPERM);
        EXPECT_ERRNO(8, syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM);
        EXPECT_ERRNO(9, syscall(SYS_init_module, NULL, 0, ""), EPERM);
        EXPECT_ERRNO(10, syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0), EPERM);
        EXPECT_ERRNO(11, syscall(SYS_userfaultfd, 0), EPERM);
        EXPECT_ERRNO(12, syscall(SYS_setns, -1, 0), EPERM);
        EXPECT_ERRNO(13, syscall(SYS_pivot_root, "/", "/"), EPERM);
        EXPECT_ERRNO(14, syscall(SYS_reboot, 0, 0, 0, NULL), EPERM);
        EXPECT_ERRNO(15, syscall(SYS_open_by_handle_at, -1, NULL, 0), EPERM);
        EXPECT_ERRNO(16, ptrace(PTRACE_TRACEME, 0, NULL, NULL), EPERM);
        EXPECT_ERRNO(17, syscall(SYS_swapoff, "/nonexistent"), EPERM);
        EXPECT_ERRNO(18, syscall(SYS_settimeofday, NULL, NULL), EPERM);
        /* clone with a namespace flag: the arg filter sees it. */
        EXPECT_ERRNO(19, syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, NULL, NULL, 0), EPERM);
        /* clone3 cannot be inspected: ENOSYS, so libc falls back to clone. */
        struct clone_args ca = { .exit_signal = SIGCHLD };
        EXPECT_ERRNO(20, syscall(SYS_clone3, &ca, sizeof(ca)), ENOSYS);
        EXPECT_ERRNO(21, socket(40 /* AF_VSOCK */, SOCK_STREAM, 0), EPERM);

        /* What programs do all day still works. */
        pid_t pid = fork();
        if (pid < 0)
                return 30;
        if (pid == 0)
                syscall(SYS_exit_group, 42);
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 42)
                return 31;
        if (!mkdtemp(dir) || rmdir(dir) < 0)
                return 32;
        if (getpid() <= 0)
                return 33;
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0 || close(fds[0]) < 0 || close(fds[1]) < 0)
                return 34;
        return 0;
}

static void test_default_profile(void **unused)
{
        assert_exited_ok(compile_and_run("default", DOCKER_CAPS, check_default));
}

/* With CAP_SYS_ADMIN, Docker's profile lets the namespace calls through
 * (the capability then decides). */
static int check_admin(void)
{
        if (unshare(0) < 0)
                return 1;
        EXPECT_ERRNO(2, syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM);
        return 0;
}

static void test_default_profile_admin(void **unused)
{
        assert_exited_ok(compile_and_run("default", DOCKER_CAPS | CAP_SYS_ADMIN_BIT, check_admin));
}

#if defined(__x86_64__)
/* A 64-bit process may still make i386 system calls (int $0x80): the
 * filter covers that architecture too, as Docker's does. */
static long int80(long nr, long a, long b, long c)
{
        long ret;
        __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
        return ret;
}

static int check_i386(void)
{
        long pid = int80(20 /* i386 getpid */, 0, 0, 0);
        if (pid == -ENOSYS)
                return 0;                       /* no IA32 emulation in this kernel */
        if (pid != getpid())
                return 1;
        if (int80(21 /* i386 mount */, 0, 0, 0) != -EPERM)
                return 2;
        if (int80(310 /* i386 unshare */, 0, 0, 0) != -EPERM)
                return 3;
        if (int80(435 /* i386 clone3 */, 0, 0, 0) != -ENOSYS)
                return 4;
        if (int80(120 /* i386 clone */, CLONE_NEWNET | SIGCHLD, 0, 0) != -EPERM)
                return 5;
        return 0;
}

static void test_default_profile_i386(void **unused)
{
        assert_exited_ok(compile_and_run("default", DOCKER_CAPS, check_i386));
}
#endif

static int check_ptrace_allowed(void)
{
        if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
                return 1;
        return 0;
}

/* allow_ptrace = true restores Docker's (kernel >= 4.8) ptrace rule. */
static void test_allow_ptrace(void **unused)
{
        const struct quilt_config_entry e[] = { ENTRY("allow_ptrace", "true", 2) };
        struct quilt_error err = { 0 };
        struct quilt_container c;
        void *state;

        assert_int_equal(compile_with(e, 1, "default", DOCKER_CAPS, &state, &c, &err), 0);
        assert_exited_ok(run_confined(&c, check_ptrace_allowed));
        P->fini(state);
}

static char mkdir_target[PATH_MAX];

static int check_mkdir_eperm(void)
{
        EXPECT_ERRNO(1, mkdir(mkdir_target, 0700), EPERM);
        EXPECT_ERRNO(2, mkdirat(AT_FDCWD, mkdir_target, 0700), EPERM);
        if (getpid() <= 0)
                return 3;
        return 0;
}

static int check_mkdir_eacces(void)
{
        EXPECT_ERRNO(1, mkdir(mkdir_target, 0700), EACCES);
        return 0;
}

static int check_mkdir_dies(void)
{
        mkdir(mkdir_target, 0700);
        return 1;
}

static int check_default_errno(void)
{
        /* Not on the allowlist: defaultErrnoRet. */
        EXPECT_ERRNO(1, syscall(SYS_getppid), ENOSYS);
        return 0;
}

static void test_custom_profiles(void **unused)
{
        char path[PATH_MAX];

        snprintf(mkdir_target, sizeof(mkdir_target), "%s/made", tmpdir);
        write_profile(path, sizeof(path), "deny-mkdir.json",
                      "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                      "[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\"}]}");
        assert_exited_ok(compile_and_run(path, DOCKER_CAPS, check_mkdir_eperm));

        write_profile(path, sizeof(path), "eacces-mkdir.json",
                      "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                      "[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":13}]}");
        assert_exited_ok(compile_and_run(path, DOCKER_CAPS, check_mkdir_eacces));

        write_profile(path, sizeof(path), "enosys-default.json",
                      "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
                      "\"syscalls\":[{\"names\":[\"exit_group\",\"exit\",\"rt_sigreturn\"],"
                      "\"action\":\"SCMP_ACT_ALLOW\"}]}");
        assert_exited_ok(compile_and_run(path, DOCKER_CAPS, check_default_errno));

        write_profile(path, sizeof(path), "kill-mkdir.json",
                      "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
                      "[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_KILL\"}]}");
        int status = compile_and_run(path, DOCKER_CAPS, check_mkdir_dies);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGSYS);
        struct stat st;
        assert_int_equal(stat(mkdir_target, &st), -1);
}

static int setup_all(void **unused)
{
        if (access(SECCOMP_SO, F_OK) < 0) {
                fprintf(stderr, "seccomp.so not built (%s): skipping\n", SECCOMP_SO);
                exit(77);
        }
        handle = dlopen(SECCOMP_SO, RTLD_NOW | RTLD_LOCAL);
        if (!handle) {
                fprintf(stderr, "dlopen %s: %s\n", SECCOMP_SO, dlerror());
                return -1;
        }
        P = dlsym(handle, QUILT_PLUGIN_SYMBOL);
        if (!P || !mkdtemp(tmpdir))
                return -1;
        return 0;
}

static int teardown_all(void **unused)
{
        struct quilt_error err = { 0 };

        if (quilt_remove_tree(tmpdir, &err) < 0)
                return -1;
        /* No dlclose: ASan reports leaks against the symbols it can still see. */
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_descriptor),
                cmocka_unit_test(test_config_defaults),
                cmocka_unit_test(test_config_errors),
                cmocka_unit_test(test_malformed_profiles),
                cmocka_unit_test(test_good_profiles),
                cmocka_unit_test(test_unconfined),
                cmocka_unit_test(test_old_core),
                cmocka_unit_test(test_default_profile),
                cmocka_unit_test(test_default_profile_admin),
#if defined(__x86_64__)
                cmocka_unit_test(test_default_profile_i386),
#endif
                cmocka_unit_test(test_allow_ptrace),
                cmocka_unit_test(test_custom_profiles),
        };
        return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
