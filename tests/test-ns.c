/* SPDX-License-Identifier: MIT */
/* The ns plugin's [ns] section: defaults, keys that follow their
 * requirement, and the combinations init refuses.  Built together with
 * plugins/ns/ns_config.c; the host's config_apply is a small fake here so
 * that only the plugin's own logic is under test. */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../plugins/ns/ns.h"

/* Enough of the real config_apply for BOOL, UINT64 and STRING keys. */
static int fake_config_apply(const struct quilt_config_section *section,
                             const struct quilt_config_key *table, void *target,
                             struct quilt_error *err)
{
        for (size_t i = 0; i < section->n_entries; i++) {
                const struct quilt_config_entry *e = &section->entries[i];
                const struct quilt_config_key *k = table;

                while (k->key && strcmp(k->key, e->key) != 0)
                        k++;
                if (!k->key)
                        return quilt_error_set(err, -EINVAL, "%s:%d: [%s] unknown key \"%s\"",
                                               e->file, e->line, section->name, e->key);
                if (k->type == QUILT_CONFIG_BOOL) {
                        bool *b = (bool *)((char *)target + k->offset);
                        if (strcmp(e->value, "true") == 0)
                                *b = true;
                        else if (strcmp(e->value, "false") == 0)
                                *b = false;
                        else
                                return quilt_error_set(err, -EINVAL, "%s:%d: bad bool",
                                                       e->file, e->line);
                } else if (k->type == QUILT_CONFIG_STRING) {
                        *(const char **)((char *)target + k->offset) = e->value;
                } else if (k->type == QUILT_CONFIG_UINT64) {
                        *(uint64_t *)((char *)target + k->offset) =
                                strtoull(e->value, NULL, 0);
                } else {
                        return quilt_error_set(err, -EINVAL, "unexpected key type");
                }
        }
        return 0;
}

static const struct quilt_host host = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_host),
        .config_apply = fake_config_apply,
};

#define ENTRY(k, v, l) { .key = (k), .value = (v), .file = "quilt.ini", .line = (l) }

static int parse(const struct quilt_config_entry *entries, size_t n, struct ns_config *cfg,
                 struct quilt_error *err)
{
        const struct quilt_config_section section = {
                .name = "ns",
                .file = "quilt.ini",
                .line = n ? 1 : 0,
                .n_entries = n,
                .entries = entries,
        };
        return ns_config_parse(&host, &section, cfg, err);
}

static void test_defaults(void **unused)
{
        struct ns_config cfg;
        struct quilt_error err = { 0 };

        assert_int_equal(ns_config_parse(&host, NULL, &cfg, &err), 0);
        ns_config_free(&cfg);
        assert_true(cfg.pid && cfg.mount && cfg.uts && cfg.ipc && cfg.net);
        assert_true(cfg.cgroup);
        assert_false(cfg.time);
        assert_true(cfg.proc && cfg.dev && cfg.sys && cfg.loopback_up);
        assert_int_equal(cfg.shm_size, NS_SHM_SIZE_DEFAULT);
        assert_int_equal(ns_clone_flags(&cfg),
                         CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET);
}

static void test_dependents_follow(void **unused)
{
        const struct quilt_config_entry no_net[] = { ENTRY("net", "false", 2) };
        const struct quilt_config_entry no_mount[] = { ENTRY("mount", "false", 2) };
        struct ns_config cfg;
        struct quilt_error err = { 0 };

        assert_int_equal(parse(no_net, 1, &cfg, &err), 0);
        ns_config_free(&cfg);
        assert_false(cfg.loopback_up);
        assert_false(cfg.sys);
        assert_true(cfg.proc && cfg.dev);
        assert_int_equal(ns_clone_flags(&cfg) & CLONE_NEWNET, 0);

        assert_int_equal(parse(no_mount, 1, &cfg, &err), 0);
        ns_config_free(&cfg);
        assert_false(cfg.proc || cfg.dev || cfg.sys);
        assert_true(cfg.loopback_up);
        assert_int_equal(ns_clone_flags(&cfg) & CLONE_NEWNS, 0);
}

static void test_explicit_off(void **unused)
{
        const struct quilt_config_entry e[] = {
                ENTRY("proc", "false", 2), ENTRY("sys", "false", 3),
                ENTRY("shm_size", "0", 4), ENTRY("cgroup", "false", 5),
                ENTRY("time", "true", 6),
        };
        struct ns_config cfg;
        struct quilt_error err = { 0 };

        assert_int_equal(parse(e, ELEMENTSOF(e), &cfg, &err), 0);
        ns_config_free(&cfg);
        assert_false(cfg.proc);
        assert_false(cfg.sys);
        assert_true(cfg.dev);
        assert_false(cfg.cgroup);
        assert_true(cfg.time);
        assert_int_equal(cfg.shm_size, 0);
        /* The cgroup and time namespaces are unshared in in_child, not at clone. */
        assert_int_equal(ns_clone_flags(&cfg) & CLONE_NEWCGROUP, 0);
        assert_int_equal(ns_clone_flags(&cfg) & CLONE_NEWTIME, 0);
}

static void expect_error(const struct quilt_config_entry *e, size_t n, const char *message)
{
        struct ns_config cfg;
        struct quilt_error err = { 0 };

        assert_int_equal(parse(e, n, &cfg, &err), -EINVAL);
        assert_int_equal(err.code, -EINVAL);
        assert_string_equal(err.message, message);
}

static void test_bad_combinations(void **unused)
{
        const struct quilt_config_entry proc[] = {
                ENTRY("mount", "false", 2), ENTRY("proc", "true", 3),
        };
        const struct quilt_config_entry dev[] = {
                ENTRY("dev", "true", 2), ENTRY("mount", "false", 3),
        };
        const struct quilt_config_entry sys_net[] = {
                ENTRY("net", "false", 2), ENTRY("sys", "true", 7),
        };
        const struct quilt_config_entry sys_mount[] = {
                ENTRY("mount", "false", 2), ENTRY("sys", "true", 4),
        };
        const struct quilt_config_entry lo[] = {
                ENTRY("loopback_up", "true", 5), ENTRY("net", "false", 6),
        };

        expect_error(proc, ELEMENTSOF(proc), "quilt.ini:3: [ns] proc = true needs mount = true");
        expect_error(dev, ELEMENTSOF(dev), "quilt.ini:2: [ns] dev = true needs mount = true");
        expect_error(sys_net, ELEMENTSOF(sys_net), "quilt.ini:7: [ns] sys = true needs net = true");
        expect_error(sys_mount, ELEMENTSOF(sys_mount),
                     "quilt.ini:4: [ns] sys = true needs mount = true");
        expect_error(lo, ELEMENTSOF(lo),
                     "quilt.ini:5: [ns] loopback_up = true needs net = true");
}

/* The last of repeated keys wins, in the value and in the line named. */
static void test_last_entry_wins(void **unused)
{
        const struct quilt_config_entry ok[] = {
                ENTRY("proc", "true", 2), ENTRY("mount", "false", 3), ENTRY("proc", "false", 4),
        };
        const struct quilt_config_entry bad[] = {
                ENTRY("proc", "false", 2), ENTRY("mount", "false", 3), ENTRY("proc", "true", 9),
        };
        struct ns_config cfg;
        struct quilt_error err = { 0 };

        assert_int_equal(parse(ok, ELEMENTSOF(ok), &cfg, &err), 0);
        ns_config_free(&cfg);
        assert_false(cfg.proc);
        expect_error(bad, ELEMENTSOF(bad), "quilt.ini:9: [ns] proc = true needs mount = true");
}

static void test_unknown_key(void **unused)
{
        const struct quilt_config_entry e[] = { ENTRY("user", "true", 2) };

        expect_error(e, 1, "quilt.ini:2: [ns] unknown key \"user\"");
}

static void test_host_without_config_apply(void **unused)
{
        const struct quilt_host short_host = {
                .abi_version = QUILT_PLUGIN_ABI_VERSION,
                .struct_size = offsetof(struct quilt_host, config_apply),
                .config_apply = fake_config_apply,      /* past struct_size: absent */
        };
        const struct quilt_config_entry e[] = { ENTRY("pid", "false", 2) };
        const struct quilt_config_section section = { "ns", "quilt.ini", 1, 1, e };
        const struct quilt_config_section empty = { "ns", NULL, 0, 0, NULL };
        struct ns_config cfg;
        struct quilt_error err = { 0 };

        assert_int_equal(ns_config_parse(&short_host, &section, &cfg, &err), -ENOTSUP);
        /* An empty section needs no config_apply: the defaults apply. */
        assert_int_equal(ns_config_parse(&short_host, &empty, &cfg, &err), 0);
        assert_true(cfg.pid);
        assert_int_equal(cfg.masked.n, 12);
        ns_config_free(&cfg);
}

static void expect_paths(const struct ns_path_list *l, const char *const *paths, size_t n)
{
        assert_int_equal(l->n, n);
        for (size_t i = 0; i < n; i++) {
                const char *base = l->items[i].base == NS_PATH_PROC ? "/proc/" : "/sys/";

                assert_string_equal(l->items[i].path, paths[i]);
                assert_true(strncmp(paths[i], base, strlen(base)) == 0);
                assert_string_equal(l->items[i].rel, paths[i] + strlen(base));
        }
}

static void test_paths_default(void **unused)
{
        static const char *const masked[] = {
                "/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                "/sys/devices/virtual/powercap",
        };
        static const char *const readonly[] = {
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
        };
        struct ns_config cfg;
        struct quilt_error err = { 0 };

        assert_int_equal(ns_config_parse(&host, NULL, &cfg, &err), 0);
        expect_paths(&cfg.masked, masked, ELEMENTSOF(masked));
        expect_paths(&cfg.readonly, readonly, ELEMENTSOF(readonly));
        assert_int_equal(cfg.masked.items[11].base, NS_PATH_SYS);
        assert_string_equal(cfg.masked.items[11].rel, "devices/virtual/powercap");
        ns_config_free(&cfg);
        ns_config_free(&cfg);           /* idempotent */
}

static void test_paths_custom(void **unused)
{
        const struct quilt_config_entry e[] = {
                ENTRY("masked_paths", " /proc/kcore ,/sys/kernel/debug,, /proc/a/b ,", 2),
                ENTRY("readonly_paths", "/proc/sys", 3),
        };
        const struct quilt_config_entry none[] = {
                ENTRY("masked_paths", "", 2), ENTRY("readonly_paths", "  ", 3),
        };
        static const char *const masked[] = { "/proc/kcore", "/sys/kernel/debug", "/proc/a/b" };
        static const char *const readonly[] = { "/proc/sys" };
        struct ns_config cfg;
        struct quilt_error err = { 0 };

        assert_int_equal(parse(e, ELEMENTSOF(e), &cfg, &err), 0);
        expect_paths(&cfg.masked, masked, ELEMENTSOF(masked));
        expect_paths(&cfg.readonly, readonly, ELEMENTSOF(readonly));
        /* The lists own their strings: the section may go away. */
        assert_null(cfg.masked_paths_value);
        ns_config_free(&cfg);

        assert_int_equal(parse(none, ELEMENTSOF(none), &cfg, &err), 0);
        assert_int_equal(cfg.masked.n, 0);
        assert_int_equal(cfg.readonly.n, 0);
        ns_config_free(&cfg);
}

static void test_paths_refused(void **unused)
{
        const struct quilt_config_entry rel[] = {
                ENTRY("masked_paths", "/proc/kcore, proc/keys", 4),
        };
        const struct quilt_config_entry ro_rel[] = {
                ENTRY("masked_paths", "/proc/kcore", 2), ENTRY("readonly_paths", "sys", 6),
        };
        const struct quilt_config_entry outside[] = { ENTRY("masked_paths", "/etc/shadow", 3) };
        const struct quilt_config_entry dotdot[] = {
                ENTRY("readonly_paths", "/proc/../etc", 5),
        };
        const struct quilt_config_entry base[] = { ENTRY("masked_paths", "/proc/", 7) };
        const struct quilt_config_entry bare[] = { ENTRY("masked_paths", "/sys", 8) };
        const struct quilt_config_entry slashes[] = { ENTRY("masked_paths", "/proc//kcore", 9) };
        const struct quilt_config_entry dot[] = { ENTRY("readonly_paths", "/sys/./x", 10) };
        const struct quilt_config_entry trailing[] = { ENTRY("readonly_paths", "/proc/sys/", 11) };

        expect_error(rel, 1,
                     "quilt.ini:4: [ns] masked_paths: \"proc/keys\" is not an absolute path");
        expect_error(ro_rel, ELEMENTSOF(ro_rel),
                     "quilt.ini:6: [ns] readonly_paths: \"sys\" is not an absolute path");
        expect_error(outside, 1,
                     "quilt.ini:3: [ns] masked_paths: \"/etc/shadow\" is not a plain path below "
                     "/proc or /sys");
        expect_error(dotdot, 1,
                     "quilt.ini:5: [ns] readonly_paths: \"/proc/../etc\" is not a plain path "
                     "below /proc or /sys");
        expect_error(base, 1,
                     "quilt.ini:7: [ns] masked_paths: \"/proc/\" is not a plain path below "
                     "/proc or /sys");
        expect_error(bare, 1,
                     "quilt.ini:8: [ns] masked_paths: \"/sys\" is not a plain path below "
                     "/proc or /sys");
        expect_error(slashes, 1,
                     "quilt.ini:9: [ns] masked_paths: \"/proc//kcore\" is not a plain path "
                     "below /proc or /sys");
        expect_error(dot, 1,
                     "quilt.ini:10: [ns] readonly_paths: \"/sys/./x\" is not a plain path "
                     "below /proc or /sys");
        expect_error(trailing, 1,
                     "quilt.ini:11: [ns] readonly_paths: \"/proc/sys/\" is not a plain path "
                     "below /proc or /sys");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_dependents_follow),
                cmocka_unit_test(test_explicit_off),
                cmocka_unit_test(test_bad_combinations),
                cmocka_unit_test(test_last_entry_wins),
                cmocka_unit_test(test_unknown_key),
                cmocka_unit_test(test_host_without_config_apply),
                cmocka_unit_test(test_paths_default),
                cmocka_unit_test(test_paths_custom),
                cmocka_unit_test(test_paths_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
