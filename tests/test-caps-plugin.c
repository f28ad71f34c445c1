/* SPDX-License-Identifier: MIT */
/* The caps plugin (plugins/caps), built into this test: its descriptor,
 * the [caps] section through the real config_apply, the set a request
 * gets (Docker's add/drop rules), and the in_child hook itself, run in a
 * forked child whose /proc/self/status the test reads back. */
#include <fcntl.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "util.h"
#include "../plugins/caps/caps.h"

extern const struct quilt_plugin quilt_plugin_v1;
#define P (&quilt_plugin_v1)

#define DOCKER_DEFAULT UINT64_C(0x00000000a80425fb)

static const struct quilt_host host = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_host),
        .config_apply = quilt_config_apply,
};

#define ENTRY(k, v, l) { .key = (k), .value = (v), .file = "quilt.ini", .line = (l) }

static int init_with(const struct quilt_config_entry *e, size_t n, void **ret_state,
                     struct quilt_error *err)
{
        const struct quilt_config_section section = {
                .name = "caps", .file = "quilt.ini", .line = n ? 1 : 0,
                .n_entries = n, .entries = e,
        };
        return P->init(&host, &section, ret_state, err);
}

static char *const none[] = { NULL };

static struct quilt_container container(char *const *add, char *const *drop)
{
        return (struct quilt_container) {
                .struct_size = sizeof(struct quilt_container),
                .cap_add = add ? add : none,
                .cap_drop = drop ? drop : none,
                .capabilities = ~UINT64_C(0),
        };
}

/* What ALL gives: the kernel's, less what this process lacks itself. */
static uint64_t available(void)
{
        return caps_available(caps_kernel_last());
}

/* ---- descriptor, names, kernel ---- */

static void test_descriptor(void **unused)
{
        assert_int_equal(P->abi_version, QUILT_PLUGIN_ABI_VERSION);
        assert_int_equal(P->struct_size, sizeof(struct quilt_plugin));
        assert_string_equal(P->name, "caps");
        assert_non_null(P->description);
        assert_int_equal(P->features, QUILT_FEATURE_CAPABILITIES);
        assert_non_null(P->init);
        assert_non_null(P->fini);
        assert_non_null(P->pre_clone);
        assert_non_null(P->in_child);
        assert_null(P->prepare_rootfs);
        assert_null(P->post_start);
        assert_null(P->cleanup);
}

static void test_names(void **unused)
{
        assert_int_equal(caps_from_name("NET_ADMIN"), CAP_NET_ADMIN);
        assert_int_equal(caps_from_name("net_admin"), CAP_NET_ADMIN);
        assert_int_equal(caps_from_name("CAP_NET_ADMIN"), CAP_NET_ADMIN);
        assert_int_equal(caps_from_name("cap_Net_Admin"), CAP_NET_ADMIN);
        assert_int_equal(caps_from_name("CHOWN"), 0);
        assert_int_equal(caps_from_name("CHECKPOINT_RESTORE"), 40);
        assert_int_equal(caps_from_name("ALL"), -EINVAL);       /* a word, not a capability */
        assert_int_equal(caps_from_name("CAP_"), -EINVAL);
        assert_int_equal(caps_from_name(""), -EINVAL);
        assert_int_equal(caps_from_name("NET_ADMINX"), -EINVAL);
        assert_int_equal(caps_from_name("NET"), -EINVAL);
        assert_true(caps_is_all("all") && caps_is_all("ALL"));
        assert_false(caps_is_all("CAP_ALL"));
        /* Every named capability round-trips. */
        for (unsigned i = 0; i < CAPS_NAMED; i++) {
                assert_non_null(caps_name(i));
                assert_int_equal(caps_from_name(caps_name(i)), (int)i);
        }
        assert_null(caps_name(CAPS_NAMED));
        assert_int_equal(CAPS_NAMED - 1 >= CAP_LAST_CAP, true);
}

static void test_kernel_last(void **unused)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        if (quilt_read_file("/proc/sys/kernel/cap_last_cap", 64, &text, &len) < 0)
                skip();
        assert_int_equal(caps_kernel_last(), strtoul(text, NULL, 10));
        assert_int_equal(caps_kernel_mask(40), (UINT64_C(1) << 41) - 1);
        assert_int_equal(caps_kernel_mask(63), ~UINT64_C(0));
        assert_int_equal(caps_kernel_mask(70), ~UINT64_C(0));

        /* What we have ourselves, as /proc/self/status says. */
        _cleanup_free_ char *status = NULL;
        assert_int_equal(quilt_read_file("/proc/self/status", 65536, &status, &len), 0);
        const char *prm = strstr(status, "CapPrm:"), *bnd = strstr(status, "CapBnd:");
        assert_non_null(prm);
        assert_non_null(bnd);
        assert_int_equal(available(), strtoull(prm + 7, NULL, 16) & strtoull(bnd + 7, NULL, 16));
}

/* ---- config ---- */

static void test_config_defaults(void **unused)
{
        struct quilt_error err = { 0 };
        void *state = NULL;

        assert_int_equal(P->init(&host, NULL, &state, &err), 0);
        P->fini(state);

        struct caps_config cfg;
        assert_int_equal(caps_config_parse(&host, NULL, &cfg, &err), 0);
        assert_int_equal(cfg.default_set, DOCKER_DEFAULT);
        assert_int_equal(CAPS_DEFAULT_MASK, DOCKER_DEFAULT);
        assert_true(cfg.no_new_privs);
        assert_true(cfg.allow_add_all);

        /* An empty section needs no config_apply. */
        const struct quilt_host bare = { .abi_version = QUILT_PLUGIN_ABI_VERSION,
                                         .struct_size = sizeof(struct quilt_host) };
        const struct quilt_config_section empty = { .name = "caps" };
        assert_int_equal(caps_config_parse(&bare, &empty, &cfg, &err), 0);
        assert_int_equal(cfg.default_set, DOCKER_DEFAULT);
}

static void test_config_values(void **unused)
{
        const struct quilt_config_entry e[] = {
                ENTRY("default", " chown,kill  CAP_NET_RAW,", 2),
                ENTRY("no_new_privs", "no", 3),
                ENTRY("allow_add", "NET_ADMIN, cap_sys_time", 4),
        };
        const struct quilt_config_section section = {
                .name = "caps", .file = "quilt.ini", .line = 1, .n_entries = 3, .entries = e,
        };
        struct quilt_error err = { 0 };
        struct caps_config cfg;

        assert_int_equal(caps_config_parse(&host, &section, &cfg, &err), 0);
        assert_int_equal(cfg.default_set,
                         CAPS_BIT(CAP_CHOWN) | CAPS_BIT(CAP_KILL) | CAPS_BIT(CAP_NET_RAW));
        assert_false(cfg.no_new_privs);
        assert_false(cfg.allow_add_all);
        assert_int_equal(cfg.allow_add, CAPS_BIT(CAP_NET_ADMIN) | CAPS_BIT(CAP_SYS_TIME));

        /* Empty lists: no capabilities, nothing may be added. */
        const struct quilt_config_entry e2[] = {
                ENTRY("default", "", 2), ENTRY("allow_add", "", 3),
        };
        const struct quilt_config_section section2 = {
                .name = "caps", .file = "quilt.ini", .line = 1, .n_entries = 2, .entries = e2,
        };
        assert_int_equal(caps_config_parse(&host, &section2, &cfg, &err), 0);
        assert_int_equal(cfg.default_set, 0);
        assert_int_equal(cfg.allow_add, 0);
        assert_false(cfg.allow_add_all);
        assert_true(cfg.no_new_privs);

        const struct quilt_config_entry e3[] = { ENTRY("allow_add", "all", 2) };
        const struct quilt_config_section section3 = {
                .name = "caps", .file = "quilt.ini", .line = 1, .n_entries = 1, .entries = e3,
        };
        assert_int_equal(caps_config_parse(&host, &section3, &cfg, &err), 0);
        assert_true(cfg.allow_add_all);
}

static void expect_init_error(const struct quilt_config_entry *e, size_t n, const char *message)
{
        struct quilt_error err = { 0 };
        void *state = NULL;

        assert_int_equal(init_with(e, n, &state, &err), -EINVAL);
        assert_int_equal(err.code, -EINVAL);
        assert_string_equal(err.message, message);
        assert_null(state);
}

static void test_config_errors(void **unused)
{
        const struct quilt_config_entry bad_default[] = {
                ENTRY("default", "CHOWN, FOO, KILL", 5),
        };
        const struct quilt_config_entry bad_allow[] = {
                ENTRY("default", "CHOWN", 2), ENTRY("allow_add", "NET_ADMIN SYS_TYPO", 7),
        };
        const struct quilt_config_entry later_wins[] = {
                ENTRY("default", "FOO", 2), ENTRY("default", "CAP_BAR", 9),
        };
        const struct quilt_config_entry bad_bool[] = { ENTRY("no_new_privs", "maybe", 4) };
        const struct quilt_config_entry unknown[] = { ENTRY("cap_add", "NET_ADMIN", 6) };

        expect_init_error(bad_default, 1, "quilt.ini:5: [caps] default: unknown capability 'FOO'");
        expect_init_error(bad_allow, 2,
                          "quilt.ini:7: [caps] allow_add: unknown capability 'SYS_TYPO'");
        expect_init_error(later_wins, 2,
                          "quilt.ini:9: [caps] default: unknown capability 'CAP_BAR'");
        expect_init_error(bad_bool, 1,
                          "quilt.ini:4: [caps] no_new_privs: 'maybe' is not a boolean "
                          "(true/false, yes/no, on/off, 1/0)");
        expect_init_error(unknown, 1,
                          "quilt.ini:6: [caps] unknown key 'cap_add' "
                          "(known: default, allow_add, no_new_privs)");
}

/* ---- the set a request gets ---- */

static int pre_clone_with(const struct quilt_config_entry *e, size_t n, char *const *add,
                          char *const *drop, uint64_t *ret_set, struct quilt_error *err)
{
        void *state = NULL;
        struct quilt_error init_err = { 0 };
        struct quilt_container c = container(add, drop);
        int r;

        assert_int_equal(init_with(e, n, &state, &init_err), 0);
        r = P->pre_clone(state, &c, err);
        if (r == 0) {
                assert_int_equal(((struct caps_state *)state)->set, c.capabilities);
                *ret_set = c.capabilities;
        } else {
                assert_int_equal(c.capabilities, ~UINT64_C(0));  /* untouched */
        }
        P->fini(state);
        return r;
}

static uint64_t set_of(char *const *add, char *const *drop)
{
        struct quilt_error err = { 0 };
        uint64_t set = 0;

        assert_int_equal(pre_clone_with(NULL, 0, add, drop, &set, &err), 0);
        return set;
}

static void expect_set_error(const struct quilt_config_entry *e, size_t n, char *const *add,
                             char *const *drop, int code, const char *message)
{
        struct quilt_error err = { 0 };
        uint64_t set = 0;

        assert_int_equal(pre_clone_with(e, n, add, drop, &set, &err), code);
        assert_int_equal(err.code, code);
        assert_string_equal(err.message, message);
}

#define LIST(...) ((char *const[]) { __VA_ARGS__, NULL })

static void test_set_default(void **unused)
{
        struct quilt_container c = container(NULL, NULL);
        struct quilt_error err = { 0 };
        void *state = NULL;

        assert_int_equal(P->init(&host, NULL, &state, &err), 0);
        assert_int_equal(P->pre_clone(state, &c, &err), 0);
        assert_int_equal(c.capabilities, DOCKER_DEFAULT);
        assert_int_equal(c.no_new_privs, 1);
        P->fini(state);

        const struct quilt_config_entry off[] = { ENTRY("no_new_privs", "false", 2) };
        c = container(NULL, NULL);
        c.no_new_privs = 1;
        assert_int_equal(init_with(off, 1, &state, &err), 0);
        assert_int_equal(P->pre_clone(state, &c, &err), 0);
        assert_int_equal(c.no_new_privs, 0);
        P->fini(state);
}

static void test_set_add_drop(void **unused)
{
        assert_int_equal(set_of(LIST("NET_ADMIN"), NULL), DOCKER_DEFAULT | CAPS_BIT(12));
        assert_int_equal(set_of(LIST("cap_net_admin"), NULL), DOCKER_DEFAULT | CAPS_BIT(12));
        assert_int_equal(set_of(LIST("Cap_Sys_Ptrace", "sys_time"), NULL),
                         DOCKER_DEFAULT | CAPS_BIT(CAP_SYS_PTRACE) | CAPS_BIT(CAP_SYS_TIME));
        assert_int_equal(set_of(NULL, LIST("NET_RAW")), DOCKER_DEFAULT & ~CAPS_BIT(CAP_NET_RAW));
        assert_int_equal(set_of(NULL, LIST("cap_chown", "mknod")),
                         DOCKER_DEFAULT & ~CAPS_BIT(CAP_CHOWN) & ~CAPS_BIT(CAP_MKNOD));
        /* Dropping what is not there is fine. */
        assert_int_equal(set_of(NULL, LIST("SYS_ADMIN")), DOCKER_DEFAULT);
        /* Docker: in both lists, the add wins. */
        assert_int_equal(set_of(LIST("NET_ADMIN", "KILL"), LIST("NET_ADMIN", "KILL")),
                         DOCKER_DEFAULT | CAPS_BIT(12));
        /* Twice is once. */
        assert_int_equal(set_of(LIST("NET_ADMIN", "CAP_NET_ADMIN"), NULL),
                         DOCKER_DEFAULT | CAPS_BIT(12));
}

static void test_set_all(void **unused)
{
        assert_int_equal(set_of(NULL, LIST("ALL")), 0);
        assert_int_equal(set_of(NULL, LIST("all")), 0);
        /* Docker: drop ALL, then only the listed. */
        assert_int_equal(set_of(LIST("NET_BIND_SERVICE", "SYS_ADMIN"), LIST("ALL")),
                         CAPS_BIT(CAP_NET_BIND_SERVICE) | CAPS_BIT(CAP_SYS_ADMIN));
        assert_int_equal(set_of(LIST("CHOWN"), LIST("KILL", "ALL")), CAPS_BIT(CAP_CHOWN));
        /* add ALL: every capability of the kernel, minus the drops. */
        assert_int_equal(set_of(LIST("ALL"), NULL), available());
        assert_int_equal(set_of(LIST("ALL"), LIST("SYS_ADMIN")),
                         available() & ~CAPS_BIT(CAP_SYS_ADMIN));
        assert_int_equal(set_of(LIST("ALL"), LIST("ALL")), available());
}

static void test_set_errors(void **unused)
{
        expect_set_error(NULL, 0, LIST("NET_ADMIN", "FOO"), NULL, -EINVAL,
                         "cap_add: unknown capability 'FOO'");
        expect_set_error(NULL, 0, NULL, LIST("CAP_BOGUS"), -EINVAL,
                         "cap_drop: unknown capability 'CAP_BOGUS'");
        expect_set_error(NULL, 0, LIST(""), NULL, -EINVAL, "cap_add: unknown capability ''");
        /* ALL is a word of its own, CAP_ALL is not it. */
        expect_set_error(NULL, 0, NULL, LIST("CAP_ALL"), -EINVAL,
                         "cap_drop: unknown capability 'CAP_ALL'");
        /* A long name is quoted cut, so the message keeps its end. */
        char long_name[300];
        memset(long_name, 'X', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        struct quilt_error err = { 0 };
        uint64_t set;
        assert_int_equal(pre_clone_with(NULL, 0, LIST(long_name), NULL, &set, &err), -EINVAL);
        assert_int_equal(strlen(err.message), strlen("cap_add: unknown capability ''") + 64);
}

static void test_set_allow_add(void **unused)
{
        const struct quilt_config_entry only_net[] = {
                ENTRY("allow_add", "NET_ADMIN", 2),
        };
        const struct quilt_config_entry nothing[] = { ENTRY("allow_add", "", 2) };
        struct quilt_error err = { 0 };
        uint64_t set = 0;

        assert_int_equal(pre_clone_with(only_net, 1, LIST("NET_ADMIN"), NULL, &set, &err), 0);
        assert_int_equal(set, DOCKER_DEFAULT | CAPS_BIT(12));
        expect_set_error(only_net, 1, LIST("NET_ADMIN", "SYS_ADMIN"), NULL, -EPERM,
                         "cap_add: capability 'SYS_ADMIN' is not allowed ([caps] allow_add)");
        expect_set_error(nothing, 1, LIST("ALL"), NULL, -EPERM,
                         "cap_add: ALL is not allowed ([caps] allow_add does not list "
                         "DAC_READ_SEARCH)");
        /* Adding back what the default has is no addition. */
        assert_int_equal(pre_clone_with(nothing, 1, LIST("CHOWN"), LIST("ALL"), &set, &err), 0);
        assert_int_equal(set, CAPS_BIT(CAP_CHOWN));
        assert_int_equal(pre_clone_with(nothing, 1, NULL, LIST("KILL"), &set, &err), 0);
        assert_int_equal(set, DOCKER_DEFAULT & ~CAPS_BIT(CAP_KILL));
}

/* What the running kernel (or we) lack: a default is cut to it, an add
 * refused, a drop ignored. */
static void test_set_kernel(void **unused)
{
        const uint64_t old_kernel = caps_kernel_mask(37);   /* before PERFMON, BPF */
        const uint64_t base = DOCKER_DEFAULT | CAPS_BIT(39);
        struct quilt_error err = { 0 };
        uint64_t set = 0;

        assert_int_equal(caps_compute(base, ~UINT64_C(0), old_kernel, NULL, NULL, &set, &err), 0);
        assert_int_equal(set, DOCKER_DEFAULT);
        assert_int_equal(caps_compute(base, ~UINT64_C(0), old_kernel, NULL, LIST("BPF"), &set,
                                      &err), 0);
        assert_int_equal(set, DOCKER_DEFAULT);
        assert_int_equal(caps_compute(base, ~UINT64_C(0), old_kernel, LIST("bpf"), NULL, &set,
                                      &err), -EINVAL);
        assert_string_equal(err.message,
                            "cap_add: capability 'bpf' is not available (the running kernel or "
                            "quiltd lacks it)");
        assert_int_equal(caps_compute(base, ~UINT64_C(0), old_kernel, LIST("ALL"), NULL, &set,
                                      &err), 0);
        assert_int_equal(set, old_kernel);
}

/* An older core without the capability fields: the defaults, and
 * nothing written past its struct. */
static void test_old_core(void **unused)
{
        struct quilt_container c = container(LIST("FOO"), LIST("ALL"));
        struct quilt_error err = { 0 };
        void *state = NULL;

        c.struct_size = offsetof(struct quilt_container, cap_add);
        assert_int_equal(P->init(&host, NULL, &state, &err), 0);
        assert_int_equal(P->pre_clone(state, &c, &err), 0);
        assert_int_equal(c.capabilities, ~UINT64_C(0));
        assert_int_equal(((struct caps_state *)state)->set, DOCKER_DEFAULT);
        P->fini(state);
}

/* ---- in_child, in a forked child ---- */

struct status {
        uint64_t inh, prm, eff, bnd, amb;
        int no_new_privs;
        int r;                                  /* of in_child */
        char message[256];
};

static uint64_t field_hex(const char *text, const char *key)
{
        const char *p = strstr(text, key);
        assert_non_null(p);
        return strtoull(p + strlen(key), NULL, 16);
}

static void parse_status(const char *text, struct status *st)
{
        const char *p = strstr(text, "NoNewPrivs:");
        st->inh = field_hex(text, "CapInh:");
        st->prm = field_hex(text, "CapPrm:");
        st->eff = field_hex(text, "CapEff:");
        st->bnd = field_hex(text, "CapBnd:");
        st->amb = field_hex(text, "CapAmb:");
        assert_non_null(p);
        st->no_new_privs = atoi(p + strlen("NoNewPrivs:"));
}

/* Fork; in the child init + pre_clone + in_child (+ setresuid to `uid`
 * when >= 0), then hand back /proc/self/status through a pipe. */
static void run_in_child(const struct quilt_config_entry *e, size_t n, char *const *add,
                         char *const *drop, int uid, bool skip_pre_clone, struct status *st)
{
        int fds[2];
        char buf[8192];
        size_t len = 0;
        ssize_t k;
        int status;

        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                struct quilt_container c = container(add, drop);
                struct quilt_error err = { 0 };
                void *state = NULL;
                char out[8192];
                int r;

                close(fds[0]);
                r = init_with(e, n, &state, &err);
                if (r == 0 && !skip_pre_clone)
                        r = P->pre_clone(state, &c, &err);
                if (r == 0)
                        r = P->in_child(state, &c, &err);
                if (r == 0 && uid >= 0 && (setresgid(uid, uid, uid) < 0 ||
                                           setresuid(uid, uid, uid) < 0)) {
                        r = -errno;
                        snprintf(err.message, sizeof(err.message), "setresuid: %m");
                }
                int m = snprintf(out, sizeof(out), "R:%d:%.200s\n", r, r < 0 ? err.message : "");
                int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
                ssize_t got = fd >= 0 ? read(fd, out + m, sizeof(out) - (size_t)m - 1) : -1;
                if (got > 0)
                        m += (int)got;
                (void)quilt_write_all(fds[1], out, (size_t)m);
                _exit(0);
        }
        close(fds[1]);
        while ((k = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
                len += (size_t)k;
        buf[len] = '\0';
        close(fds[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

        memset(st, 0, sizeof(*st));
        assert_int_equal(sscanf(buf, "R:%d:", &st->r), 1);
        const char *msg = strchr(buf + 2, ':') + 1;
        size_t mlen = strcspn(msg, "\n");
        snprintf(st->message, sizeof(st->message), "%.*s", (int)mlen, msg);
        if (st->r == 0)
                parse_status(msg + mlen, st);
}

static int need_root(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        return 0;
}

static void test_child_default(void **unused)
{
        struct status st;

        need_root(NULL);
        run_in_child(NULL, 0, NULL, NULL, -1, false, &st);
        assert_int_equal(st.r, 0);
        assert_int_equal(st.eff, DOCKER_DEFAULT);
        assert_int_equal(st.prm, DOCKER_DEFAULT);
        assert_int_equal(st.bnd, DOCKER_DEFAULT);
        assert_int_equal(st.inh, 0);
        assert_int_equal(st.amb, 0);
        assert_int_equal(st.no_new_privs, 1);
}

static void test_child_drop_all(void **unused)
{
        struct status st;

        need_root(NULL);
        run_in_child(NULL, 0, NULL, LIST("ALL"), -1, false, &st);
        assert_int_equal(st.r, 0);
        assert_int_equal(st.eff, 0);
        assert_int_equal(st.prm, 0);
        assert_int_equal(st.bnd, 0);
        assert_int_equal(st.inh, 0);
        assert_int_equal(st.amb, 0);
        assert_int_equal(st.no_new_privs, 1);
}

static void test_child_add_and_config(void **unused)
{
        const struct quilt_config_entry e[] = {
                ENTRY("default", "CHOWN", 2), ENTRY("no_new_privs", "off", 3),
        };
        const uint64_t want = CAPS_BIT(CAP_CHOWN) | CAPS_BIT(CAP_NET_ADMIN);
        struct status st;

        need_root(NULL);
        run_in_child(e, 2, LIST("cap_net_admin"), NULL, -1, false, &st);
        assert_int_equal(st.r, 0);
        assert_int_equal(st.eff, want);
        assert_int_equal(st.prm, want);
        assert_int_equal(st.bnd, want);
        assert_int_equal(st.inh, 0);
        assert_int_equal(st.no_new_privs, 0);

        /* add ALL: every capability the kernel has. */
        run_in_child(NULL, 0, LIST("ALL"), NULL, -1, false, &st);
        assert_int_equal(st.r, 0);
        assert_int_equal(st.eff, available());
        assert_int_equal(st.bnd, available());
        assert_int_equal(st.inh, 0);
}

/* What the core does next: a non-root user loses permitted and effective;
 * the bounding set stays. */
static void test_child_then_user(void **unused)
{
        struct status st;

        need_root(NULL);
        run_in_child(NULL, 0, NULL, NULL, 1000, false, &st);
        assert_int_equal(st.r, 0);
        assert_int_equal(st.eff, 0);
        assert_int_equal(st.prm, 0);
        assert_int_equal(st.bnd, DOCKER_DEFAULT);
        assert_int_equal(st.amb, 0);
        assert_int_equal(st.no_new_privs, 1);

        /* Without SETUID/SETGID the switch is refused. */
        run_in_child(NULL, 0, NULL, LIST("SETUID", "SETGID"), 1000, false, &st);
        assert_int_equal(st.r, -EPERM);
}

static void test_child_without_pre_clone(void **unused)
{
        struct status st;

        need_root(NULL);
        run_in_child(NULL, 0, NULL, NULL, -1, true, &st);
        assert_int_equal(st.r, -EINVAL);
        assert_string_equal(st.message, "no capability set was prepared");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_descriptor),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_kernel_last),
                cmocka_unit_test(test_config_defaults),
                cmocka_unit_test(test_config_values),
                cmocka_unit_test(test_config_errors),
                cmocka_unit_test(test_set_default),
                cmocka_unit_test(test_set_add_drop),
                cmocka_unit_test(test_set_all),
                cmocka_unit_test(test_set_errors),
                cmocka_unit_test(test_set_allow_add),
                cmocka_unit_test(test_set_kernel),
                cmocka_unit_test(test_old_core),
                cmocka_unit_test(test_child_default),
                cmocka_unit_test(test_child_drop_all),
                cmocka_unit_test(test_child_add_and_config),
                cmocka_unit_test(test_child_then_user),
                cmocka_unit_test(test_child_without_pre_clone),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
