/* SPDX-License-Identifier: MIT */
/* core/plugin_chain.c and core/host.c: loading real .so test plugins
 * (tests/plugins), the ABI checks, stage order, error wrapping and the
 * reverse-order cleanup; the host table; the ABI 1 struct layout. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "plugin_chain.h"
#include "util.h"

#ifndef TEST_PLUGIN_DIR
#error "TEST_PLUGIN_DIR must name the directory of the test plugins"
#endif

static char tmpdir[] = "/tmp/quilt-test-XXXXXX";
static char ini_path[sizeof(tmpdir) + 32];
static char log_path[sizeof(tmpdir) + 32];

static int group_setup(void **state)
{
        if (!mkdtemp(tmpdir))
                return -1;
        snprintf(ini_path, sizeof(ini_path), "%s/quiltd.ini", tmpdir);
        snprintf(log_path, sizeof(log_path), "%s/hooks.log", tmpdir);
        return 0;
}

static int group_teardown(void **state)
{
        return quilt_remove_tree(tmpdir, NULL);
}

/* Each test starts with an empty hook log. */
static int test_setup(void **state)
{
        if (unlink(log_path) < 0 && errno != ENOENT)
                return -1;
        return 0;
}

/* A config with plugin_dir = TEST_PLUGIN_DIR, `body` after "[plugins]\n",
 * where every "@LOG@" stands for the hook log. */
static struct quilt_config *make_config(const char *body)
{
        FILE *f = fopen(ini_path, "we");
        assert_non_null(f);
        fprintf(f, "[daemon]\nplugin_dir = %s\n[plugins]\n", TEST_PLUGIN_DIR);
        for (const char *s = body; *s;) {
                const char *at = strstr(s, "@LOG@");
                if (!at) {
                        fputs(s, f);
                        break;
                }
                fwrite(s, 1, (size_t)(at - s), f);
                fputs(log_path, f);
                s = at + 5;
        }
        assert_int_equal(fclose(f), 0);

        struct quilt_config *cfg = NULL;
        struct quilt_error err = { 0 };
        int r = quilt_config_load(ini_path, &cfg, &err);
        if (r < 0)
                fail_msg("config: %s", err.message);
        return cfg;
}

/* The line of the config file that holds `needle` (for expected messages). */
static int config_line_of(const char *needle)
{
        char line[1024];
        int n = 0;
        FILE *f = fopen(ini_path, "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f)) {
                n++;
                if (strstr(line, needle)) {
                        fclose(f);
                        return n;
                }
        }
        fclose(f);
        fail_msg("'%s' not in the config", needle);
        return 0;
}

static char *read_log(void)
{
        char *data = NULL;
        int r = quilt_read_file(log_path, 1 << 20, &data, NULL);
        if (r == -ENOENT)
                return strdup("");
        assert_int_equal(r, 0);
        return data;
}

static void assert_log(const char *expected)
{
        _cleanup_free_ char *got = read_log();
        if (strcmp(got, expected) != 0)
                print_error("hook log, expected:\n%s\ngot:\n%s\n", expected, got);
        assert_string_equal(got, expected);
}

/* Loading the default chain of `cfg` fails with exactly `message`. */
static void expect_chain_error(struct quilt_config *cfg, int code, const char *message)
{
        struct quilt_plugin_chain *chain = NULL;
        struct quilt_error err = { 0 };

        int r = quilt_plugin_chain_load(cfg, quilt_config_profile(cfg, NULL), quilt_host_table(),
                                        &chain, &err);
        if (r != code || strcmp(err.message, message) != 0)
                print_error("expected %d '%s'\n     got %d '%s'\n", code, message, r, err.message);
        assert_int_equal(r, code);
        assert_int_equal(err.code, code);
        assert_null(chain);
        assert_string_equal(err.message, message);
}

static void expect_load_error(const char *body, int code, const char *message)
{
        struct quilt_config *cfg = make_config(body);

        expect_chain_error(cfg, code, message);
        quilt_config_free(cfg);
}

static struct quilt_plugin_chain *load_chain(const struct quilt_config *cfg)
{
        struct quilt_plugin_chain *chain = NULL;
        struct quilt_error err = { 0 };

        int r = quilt_plugin_chain_load(cfg, quilt_config_profile(cfg, NULL), quilt_host_table(),
                                        &chain, &err);
        if (r < 0)
                fail_msg("chain: %s", err.message);
        return chain;
}

/* ---- ABI ---- */

/* ABI 1 is frozen: a reorder or an insertion must fail here, not in a
 * plugin built against an older header. */
static void test_abi_layout(void **state)
{
#if defined(__x86_64__)
        assert_int_equal(QUILT_PLUGIN_ABI_VERSION, 1);
        assert_string_equal(QUILT_PLUGIN_SYMBOL, "quilt_plugin_v1");

        assert_int_equal(offsetof(struct quilt_plugin, abi_version), 0);
        assert_int_equal(offsetof(struct quilt_plugin, struct_size), 4);
        assert_int_equal(offsetof(struct quilt_plugin, name), 8);
        assert_int_equal(offsetof(struct quilt_plugin, description), 16);
        assert_int_equal(offsetof(struct quilt_plugin, init), 24);
        assert_int_equal(offsetof(struct quilt_plugin, fini), 32);
        assert_int_equal(offsetof(struct quilt_plugin, prepare_rootfs), 40);
        assert_int_equal(offsetof(struct quilt_plugin, pre_clone), 48);
        assert_int_equal(offsetof(struct quilt_plugin, in_child), 56);
        assert_int_equal(offsetof(struct quilt_plugin, post_start), 64);
        assert_int_equal(offsetof(struct quilt_plugin, cleanup), 72);
        assert_int_equal(offsetof(struct quilt_plugin, daemon_start), 80);
        assert_int_equal(offsetof(struct quilt_plugin, daemon_stop), 88);
        assert_int_equal(offsetof(struct quilt_plugin, kill), 96);
        assert_int_equal(offsetof(struct quilt_plugin, stats), 104);
        assert_int_equal(offsetof(struct quilt_plugin, update), 112);
        assert_int_equal(offsetof(struct quilt_plugin, features), 120);
        assert_int_equal(offsetof(struct quilt_plugin, attach), 128);
        assert_int_equal(offsetof(struct quilt_plugin, configured_features), 136);
        assert_int_equal(offsetof(struct quilt_plugin, check_request), 144);
        assert_int_equal(sizeof(struct quilt_plugin), 152);

        assert_int_equal(offsetof(struct quilt_container, id), 8);
        assert_int_equal(offsetof(struct quilt_container, name), 16);
        assert_int_equal(offsetof(struct quilt_container, dir), 24);
        assert_int_equal(offsetof(struct quilt_container, rootfs), 32);
        assert_int_equal(offsetof(struct quilt_container, image), 40);
        assert_int_equal(offsetof(struct quilt_container, hostname), 48);
        assert_int_equal(offsetof(struct quilt_container, working_directory), 56);
        assert_int_equal(offsetof(struct quilt_container, argv), 64);
        assert_int_equal(offsetof(struct quilt_container, envp), 72);
        assert_int_equal(offsetof(struct quilt_container, clone_flags), 80);
        assert_int_equal(offsetof(struct quilt_container, pid), 88);
        assert_int_equal(offsetof(struct quilt_container, struct_size), 0);
        assert_int_equal(offsetof(struct quilt_container, resources), 96);
        assert_int_equal(offsetof(struct quilt_container, cgroup_fd), 104);
        assert_int_equal(offsetof(struct quilt_container, setup_commands), 112);
        assert_int_equal(offsetof(struct quilt_container, setup_timeout_seconds), 120);
        assert_int_equal(offsetof(struct quilt_container, read_only_rootfs), 124);
        assert_int_equal(offsetof(struct quilt_container, mounts), 128);
        assert_int_equal(offsetof(struct quilt_container, n_mounts), 136);
        assert_int_equal(offsetof(struct quilt_container, cap_add), 144);
        assert_int_equal(offsetof(struct quilt_container, cap_drop), 152);
        assert_int_equal(offsetof(struct quilt_container, capabilities), 160);
        assert_int_equal(offsetof(struct quilt_container, no_new_privs), 168);
        assert_int_equal(offsetof(struct quilt_container, seccomp_filter), 176);
        assert_int_equal(offsetof(struct quilt_container, seccomp_filter_len), 184);
        assert_int_equal(offsetof(struct quilt_container, seccomp_profile), 192);
        assert_int_equal(offsetof(struct quilt_container, network), 200);
        assert_int_equal(offsetof(struct quilt_container, ports), 208);
        assert_int_equal(offsetof(struct quilt_container, n_ports), 216);
        assert_int_equal(offsetof(struct quilt_container, ip_address), 224);
        assert_int_equal(offsetof(struct quilt_container, uid_range), 272);
        assert_int_equal(offsetof(struct quilt_container, gid_range), 280);
        assert_int_equal(offsetof(struct quilt_container, rootfs_ids_mapped), 288);
        assert_int_equal(sizeof(struct quilt_container), 296);

        assert_int_equal(offsetof(struct quilt_port, protocol), 4);
        assert_int_equal(offsetof(struct quilt_port, host_port), 8);
        assert_int_equal(offsetof(struct quilt_port, container_port), 10);
        assert_int_equal(sizeof(struct quilt_port), 12);

        assert_int_equal(offsetof(struct quilt_mount, type), 4);
        assert_int_equal(offsetof(struct quilt_mount, source), 8);
        assert_int_equal(offsetof(struct quilt_mount, target), 16);
        assert_int_equal(offsetof(struct quilt_mount, volume), 24);
        assert_int_equal(offsetof(struct quilt_mount, read_only), 32);
        assert_int_equal(offsetof(struct quilt_mount, mode), 36);
        assert_int_equal(offsetof(struct quilt_mount, size_bytes), 40);
        assert_int_equal(sizeof(struct quilt_mount), 48);

        assert_int_equal(offsetof(struct quilt_resources, struct_size), 0);
        assert_int_equal(offsetof(struct quilt_resources, memory_limit_bytes), 8);
        assert_int_equal(offsetof(struct quilt_resources, memory_swap_limit_bytes), 16);
        assert_int_equal(offsetof(struct quilt_resources, cpu_millicores), 24);
        assert_int_equal(offsetof(struct quilt_resources, cpu_weight), 32);
        assert_int_equal(offsetof(struct quilt_resources, pids_limit), 40);
        assert_int_equal(sizeof(struct quilt_resources), 48);

        assert_int_equal(offsetof(struct quilt_stats, memory_current_bytes), 8);
        assert_int_equal(offsetof(struct quilt_stats, memory_peak_bytes), 16);
        assert_int_equal(offsetof(struct quilt_stats, cpu_usage_ns), 24);
        assert_int_equal(offsetof(struct quilt_stats, pids_current), 32);
        assert_int_equal(offsetof(struct quilt_stats, oom_kill_count), 40);
        assert_int_equal(sizeof(struct quilt_stats), 48);

        assert_int_equal(offsetof(struct quilt_host, abi_version), 0);
        assert_int_equal(offsetof(struct quilt_host, struct_size), 4);
        assert_int_equal(offsetof(struct quilt_host, log), 8);
        assert_int_equal(offsetof(struct quilt_host, config_apply), 16);
        assert_int_equal(offsetof(struct quilt_host, remove_tree), 24);
        assert_int_equal(offsetof(struct quilt_host, child_phase), 32);
        assert_int_equal(offsetof(struct quilt_host, open_in_root), 40);
        assert_int_equal(offsetof(struct quilt_host, state_dir), 48);
        assert_int_equal(sizeof(struct quilt_host), 56);

        assert_int_equal(offsetof(struct quilt_error, code), 0);
        assert_int_equal(offsetof(struct quilt_error, message), 4);
        assert_int_equal(sizeof(struct quilt_error), 4 + QUILT_ERROR_MESSAGE_MAX);

        assert_int_equal(offsetof(struct quilt_config_entry, key), 0);
        assert_int_equal(offsetof(struct quilt_config_entry, value), 8);
        assert_int_equal(offsetof(struct quilt_config_entry, file), 16);
        assert_int_equal(offsetof(struct quilt_config_entry, line), 24);
        assert_int_equal(sizeof(struct quilt_config_entry), 32);

        assert_int_equal(offsetof(struct quilt_config_section, name), 0);
        assert_int_equal(offsetof(struct quilt_config_section, file), 8);
        assert_int_equal(offsetof(struct quilt_config_section, line), 16);
        assert_int_equal(offsetof(struct quilt_config_section, n_entries), 24);
        assert_int_equal(offsetof(struct quilt_config_section, entries), 32);
        assert_int_equal(sizeof(struct quilt_config_section), 40);

        assert_int_equal(offsetof(struct quilt_config_key, key), 0);
        assert_int_equal(offsetof(struct quilt_config_key, type), 8);
        assert_int_equal(offsetof(struct quilt_config_key, offset), 16);
        assert_int_equal(offsetof(struct quilt_config_key, choices), 24);
        assert_int_equal(sizeof(struct quilt_config_key), 32);

        assert_int_equal(QUILT_STAGE_PREPARE_ROOTFS, 0);
        assert_int_equal(QUILT_STAGE_PRE_CLONE, 1);
        assert_int_equal(QUILT_STAGE_IN_CHILD, 2);
        assert_int_equal(QUILT_STAGE_POST_START, 3);
        assert_int_equal(QUILT_STAGE_CLEANUP, 4);
        assert_int_equal(QUILT_STAGE_COUNT, 5);
        assert_int_equal(QUILT_LOG_ERROR, 0);
        assert_int_equal(QUILT_LOG_DEBUG, 3);
        assert_int_equal(QUILT_CONFIG_BOOL, 0);
        assert_int_equal(QUILT_CONFIG_CHOICE, 3);
#else
        skip();
#endif
}

static void test_stage_names(void **state)
{
        assert_string_equal(quilt_stage_names[QUILT_STAGE_PREPARE_ROOTFS], "prepare_rootfs");
        assert_string_equal(quilt_stage_names[QUILT_STAGE_PRE_CLONE], "pre_clone");
        assert_string_equal(quilt_stage_names[QUILT_STAGE_IN_CHILD], "in_child");
        assert_string_equal(quilt_stage_names[QUILT_STAGE_POST_START], "post_start");
        assert_string_equal(quilt_stage_names[QUILT_STAGE_CLEANUP], "cleanup");
}

static int hook_a(void *s, struct quilt_container *c, struct quilt_error *e) { return 0; }
static int hook_b(void *s, struct quilt_container *c, struct quilt_error *e) { return 0; }

/* A field past struct_size is absent, whatever the memory there holds. */
static void test_hook_struct_size(void **state)
{
        struct quilt_plugin p = {
                .abi_version = QUILT_PLUGIN_ABI_VERSION,
                .struct_size = sizeof(struct quilt_plugin),
                .name = "x",
                .prepare_rootfs = hook_a,
                .pre_clone = hook_b,
                .in_child = hook_a,
                .post_start = hook_b,
                .cleanup = hook_a,
        };

        assert_ptr_equal(quilt_plugin_hook(&p, QUILT_STAGE_PREPARE_ROOTFS), hook_a);
        assert_ptr_equal(quilt_plugin_hook(&p, QUILT_STAGE_PRE_CLONE), hook_b);
        assert_ptr_equal(quilt_plugin_hook(&p, QUILT_STAGE_IN_CHILD), hook_a);
        assert_ptr_equal(quilt_plugin_hook(&p, QUILT_STAGE_POST_START), hook_b);
        assert_ptr_equal(quilt_plugin_hook(&p, QUILT_STAGE_CLEANUP), hook_a);
        assert_null(quilt_plugin_hook(&p, QUILT_STAGE_COUNT));
        assert_null(quilt_plugin_hook(&p, (enum quilt_stage)-1));
        assert_null(quilt_plugin_hook(NULL, QUILT_STAGE_PRE_CLONE));

        p.struct_size = offsetof(struct quilt_plugin, post_start);
        assert_ptr_equal(quilt_plugin_hook(&p, QUILT_STAGE_IN_CHILD), hook_a);
        assert_null(quilt_plugin_hook(&p, QUILT_STAGE_POST_START));
        assert_null(quilt_plugin_hook(&p, QUILT_STAGE_CLEANUP));
        /* Half a pointer is no pointer. */
        p.struct_size = offsetof(struct quilt_plugin, post_start) + 4;
        assert_null(quilt_plugin_hook(&p, QUILT_STAGE_POST_START));
        p.struct_size = 8;
        assert_null(quilt_plugin_hook(&p, QUILT_STAGE_PREPARE_ROOTFS));

        p.prepare_rootfs = NULL;
        p.struct_size = sizeof(struct quilt_plugin);
        assert_null(quilt_plugin_hook(&p, QUILT_STAGE_PREPARE_ROOTFS));
}

/* ---- running a chain ---- */

#define P4_CHAIN \
        "chain = p1, p2, p3, p4\n" \
        "[p1]\nlog = @LOG@\n" \
        "[p2]\nlog = @LOG@\nclone_flags = 0x20000000\n" \
        "[p4]\nlog = @LOG@\n"

static void test_stage_order(void **state)
{
        /* p3 without a section: it runs, but logs nowhere. */
        struct quilt_config *cfg = make_config(P4_CHAIN);
        struct quilt_plugin_chain *chain = load_chain(cfg);
        struct quilt_container c = { .struct_size = sizeof(c), .id = "quilt-test" };
        struct quilt_error err = { 0 };

        assert_int_equal(chain->n, 4);
        assert_string_equal(chain->plugins[1].instance, "p2");
        assert_string_equal(chain->plugins[1].path, TEST_PLUGIN_DIR "/p2.so");
        for (size_t i = 0; i < 4; i++) {
                assert_true(chain->plugins[i].initialized);
                assert_false(chain->plugins[i].entered);
        }
        assert_log("p1 init\np2 init\np4 init\n");

        assert_int_equal(quilt_plugin_chain_run(chain, QUILT_STAGE_PREPARE_ROOTFS, &c, &err), 0);
        /* p4 has no prepare_rootfs hook: skipped, not entered. */
        assert_true(chain->plugins[0].entered);
        assert_true(chain->plugins[2].entered);
        assert_false(chain->plugins[3].entered);
        assert_int_equal(quilt_plugin_chain_run(chain, QUILT_STAGE_PRE_CLONE, &c, &err), 0);
        assert_true(chain->plugins[3].entered);
        assert_true(c.clone_flags == 0x20000000);
        assert_int_equal(quilt_plugin_chain_run(chain, QUILT_STAGE_POST_START, &c, &err), 0);
        assert_int_equal(quilt_plugin_chain_run(chain, QUILT_STAGE_IN_CHILD, &c, &err), 0);
        assert_int_equal(quilt_plugin_chain_cleanup(chain, &c, &err), 0);
        quilt_plugin_chain_free(chain);
        assert_log("p1 init\np2 init\np4 init\n"
                   "p1 prepare_rootfs\np2 prepare_rootfs\n"
                   "p1 pre_clone\np2 pre_clone\np4 pre_clone\n"
                   "p1 post_start\np2 post_start\np4 post_start\n"
                   "p1 in_child\np2 in_child\np4 in_child\n"
                   "p4 cleanup\np2 cleanup\np1 cleanup\n"
                   "p4 fini\np2 fini\np1 fini\n");
        quilt_config_free(cfg);
}

/* Plugin 3 of 4 fails pre_clone: the message names it and the stage, the
 * code is the plugin's, and cleanup runs 3, 2, 1 (4 never ran a hook). */
static void test_failure_mid_chain(void **state)
{
        struct quilt_config *cfg = make_config(
                "chain = p1, p2, p3, p4\n"
                "[p1]\nlog = @LOG@\n[p2]\nlog = @LOG@\n"
                "[p3]\nlog = @LOG@\nfail_stage = pre_clone\nfail_code = 28\n"
                "[p4]\nlog = @LOG@\n");
        struct quilt_plugin_chain *chain = load_chain(cfg);
        struct quilt_container c = { .struct_size = sizeof(c), .id = "quilt-test" };
        struct quilt_error err = { 0 };

        assert_int_equal(quilt_plugin_chain_run(chain, QUILT_STAGE_PREPARE_ROOTFS, &c, &err), 0);
        assert_int_equal(quilt_plugin_chain_run(chain, QUILT_STAGE_PRE_CLONE, &c, &err), -ENOSPC);
        assert_int_equal(err.code, -ENOSPC);
        assert_string_equal(err.message, "p3: pre_clone: injected failure (fail_code 28)");
        assert_true(chain->plugins[0].entered);
        assert_true(chain->plugins[1].entered);
        assert_true(chain->plugins[2].entered);
        assert_false(chain->plugins[3].entered);

        memset(&err, 0, sizeof(err));
        assert_int_equal(quilt_plugin_chain_cleanup(chain, &c, &err), 0);
        assert_int_equal(err.code, 0);
        quilt_plugin_chain_free(chain);
        assert_log("p1 init\np2 init\np3 init\np4 init\n"
                   "p1 prepare_rootfs\np2 prepare_rootfs\np3 prepare_rootfs\n"
                   "p1 pre_clone\np2 pre_clone\np3 pre_clone\n"
                   "p3 cleanup\np2 cleanup\np1 cleanup\n"
                   "p4 fini\np3 fini\np2 fini\np1 fini\n");
        quilt_config_free(cfg);
}

/* A failure marks every plugin before it entered, even one that had no
 * hook at this stage; the ones after it stay out of cleanup. */
static void test_failure_marks_earlier(void **state)
{
        struct quilt_config *cfg = make_config(
                "chain = p4, p1, p2\n"
                "[p4]\nlog = @LOG@\n"
                "[p1]\nlog = @LOG@\nfail_stage = prepare_rootfs\n"
                "[p2]\nlog = @LOG@\n");
        struct quilt_plugin_chain *chain = load_chain(cfg);
        struct quilt_error err = { 0 };

        assert_int_equal(quilt_plugin_chain_run(chain, QUILT_STAGE_PREPARE_ROOTFS, NULL, &err), -EIO);
        assert_string_equal(err.message, "p1: prepare_rootfs: injected failure (fail_code 5)");
        assert_true(chain->plugins[0].entered);
        assert_true(chain->plugins[1].entered);
        assert_false(chain->plugins[2].entered);
        assert_int_equal(quilt_plugin_chain_cleanup(chain, NULL, &err), 0);
        quilt_plugin_chain_free(chain);
        assert_log("p4 init\np1 init\np2 init\n"
                   "p1 prepare_rootfs\n"
                   "p1 cleanup\np4 cleanup\n"
                   "p2 fini\np1 fini\np4 fini\n");
        quilt_config_free(cfg);
}

/* Cleanup runs on every entered plugin even when some fail, and reports
 * the first failure (in cleanup order). */
static void test_cleanup_keeps_going(void **state)
{
        struct quilt_config *cfg = make_config(
                "chain = p1, p2, p3, p4\n"
                "[p1]\nlog = @LOG@\n"
                "[p2]\nlog = @LOG@\nfail_stage = cleanup\nfail_code = 16\n"
                "[p3]\nlog = @LOG@\nfail_stage = cleanup\n"
                "[p4]\nlog = @LOG@\n");
        struct quilt_plugin_chain *chain = load_chain(cfg);
        struct quilt_error err = { 0 };

        quilt_plugin_chain_enter_all(chain);
        for (size_t i = 0; i < chain->n; i++)
                assert_true(chain->plugins[i].entered);
        assert_int_equal(quilt_plugin_chain_cleanup(chain, NULL, &err), -EIO);
        assert_int_equal(err.code, -EIO);
        assert_string_equal(err.message, "p3: cleanup: injected failure (fail_code 5)");
        /* A NULL err is fine too. */
        assert_int_equal(quilt_plugin_chain_cleanup(chain, NULL, NULL), -EIO);
        quilt_plugin_chain_free(chain);
        assert_log("p1 init\np2 init\np3 init\np4 init\n"
                   "p4 cleanup\np3 cleanup\np2 cleanup\np1 cleanup\n"
                   "p4 cleanup\np3 cleanup\np2 cleanup\np1 cleanup\n"
                   "p4 fini\np3 fini\np2 fini\np1 fini\n");
        quilt_config_free(cfg);
}

/* A hook that fails without a message gets its errno's description. */
static void test_failure_without_message(void **state)
{
        struct quilt_config *cfg = make_config(
                "chain = p1\n[p1]\nfail_stage = in_child\nfail_quietly = yes\nfail_code = 13\n");
        struct quilt_plugin_chain *chain = load_chain(cfg);
        struct quilt_error err;

        /* Left over from before: must not leak into this failure. */
        err.code = -ENOENT;
        strcpy(err.message, "stale");
        assert_int_equal(quilt_plugin_chain_run(chain, QUILT_STAGE_IN_CHILD, NULL, &err), -EACCES);
        assert_int_equal(err.code, -EACCES);
        assert_string_equal(err.message, "p1: in_child: Permission denied");
        /* And a NULL err. */
        assert_int_equal(quilt_plugin_chain_run(chain, QUILT_STAGE_IN_CHILD, NULL, NULL), -EACCES);
        quilt_plugin_chain_free(chain);
        quilt_config_free(cfg);
}

/* One plugin, three instances: separate sections and states. */
static void test_instances(void **state)
{
        struct quilt_config *cfg = make_config(
                "chain = recorder:a, recorder, recorder:b\n"
                "[recorder:a]\nlog = @LOG@\n"
                "[recorder]\nlog = @LOG@\nfail_stage = post_start\n"
                "[recorder:b]\nlog = @LOG@\n");
        struct quilt_plugin_chain *chain = load_chain(cfg);
        struct quilt_error err = { 0 };

        assert_string_equal(chain->plugins[0].instance, "recorder:a");
        assert_string_equal(chain->plugins[0].path, TEST_PLUGIN_DIR "/recorder.so");
        assert_string_equal(chain->plugins[2].path, TEST_PLUGIN_DIR "/recorder.so");
        assert_int_equal(quilt_plugin_chain_run(chain, QUILT_STAGE_PRE_CLONE, NULL, &err), 0);
        assert_int_equal(quilt_plugin_chain_run(chain, QUILT_STAGE_POST_START, NULL, &err), -EIO);
        assert_string_equal(err.message, "recorder: post_start: injected failure (fail_code 5)");
        quilt_plugin_chain_free(chain);
        assert_log("recorder:a init\nrecorder init\nrecorder:b init\n"
                   "recorder:a pre_clone\nrecorder pre_clone\nrecorder:b pre_clone\n"
                   "recorder:a post_start\nrecorder post_start\n"
                   "recorder:b fini\nrecorder fini\nrecorder:a fini\n");
        quilt_config_free(cfg);
}

/* A config put together in code, without sections: init still gets a
 * section named after the instance. */
static void test_hand_built_config(void **state)
{
        struct quilt_config *cfg = quilt_config_new_default();
        struct quilt_profile *prof = &cfg->profiles[0];
        struct quilt_plugin_chain *chain = NULL;
        struct quilt_error err = { 0 };

        assert_int_equal(quilt_config_set_string(&cfg->plugin_dir, TEST_PLUGIN_DIR), 0);
        prof->entries = calloc(1, sizeof(*prof->entries));
        assert_non_null(prof->entries);
        prof->n_entries = 1;
        prof->entries[0].plugin = strdup("recorder");
        prof->entries[0].instance = strdup("recorder:x");
        /* NULL profile and host: the default chain, the default table. */
        assert_int_equal(quilt_plugin_chain_load(cfg, NULL, NULL, &chain, &err), 0);
        assert_int_equal(chain->n, 1);
        assert_int_equal(quilt_plugin_chain_run(chain, QUILT_STAGE_PRE_CLONE, NULL, &err), 0);
        quilt_plugin_chain_free(chain);
        quilt_config_free(cfg);
}

static void test_empty_chain(void **state)
{
        struct quilt_config *cfg = make_config("chain =\n");
        struct quilt_plugin_chain *chain = load_chain(cfg);
        struct quilt_error err = { 0 };

        assert_int_equal(chain->n, 0);
        for (int s = 0; s < QUILT_STAGE_CLEANUP; s++)
                assert_int_equal(quilt_plugin_chain_run(chain, s, NULL, &err), 0);
        assert_int_equal(quilt_plugin_chain_cleanup(chain, NULL, &err), 0);
        quilt_plugin_chain_enter_all(chain);
        quilt_plugin_chain_free(chain);

        /* NULL chains are fine; cleanup is not a chain stage. */
        assert_int_equal(quilt_plugin_chain_run(NULL, QUILT_STAGE_PRE_CLONE, NULL, &err), 0);
        assert_int_equal(quilt_plugin_chain_cleanup(NULL, NULL, &err), 0);
        quilt_plugin_chain_enter_all(NULL);
        quilt_plugin_chain_free(NULL);
        assert_int_equal(quilt_plugin_chain_run(NULL, QUILT_STAGE_CLEANUP, NULL, &err),
                         -EINVAL);
        assert_int_equal(quilt_plugin_chain_run(NULL, QUILT_STAGE_COUNT, NULL, &err), -EINVAL);
        quilt_config_free(cfg);
}

/* ---- attach (an exec joining the running container) ---- */

/* Every plugin's attach in chain order, with the pid; a plugin built
 * before attach existed (p5: struct_size ends before it) is skipped even
 * though its descriptor has one; entered or not does not matter. */
static void test_attach_order(void **state)
{
        struct quilt_config *cfg = make_config(
                "chain = p1, p5, p2\n"
                "[p1]\nlog = @LOG@\n[p5]\nlog = @LOG@\n[p2]\nlog = @LOG@\n");
        struct quilt_plugin_chain *chain = load_chain(cfg);
        struct quilt_container c = { .struct_size = sizeof(c), .id = "quilt-test" };
        struct quilt_error err = { 0 };

        assert_null(QUILT_PLUGIN_FIELD(chain->plugins[1].plugin, attach));
        assert_non_null(QUILT_PLUGIN_FIELD(chain->plugins[0].plugin, attach));
        assert_int_equal(quilt_plugin_chain_attach(chain, &c, 4242, &err), 0);
        assert_false(chain->plugins[0].entered);
        quilt_plugin_chain_enter_all(chain);
        assert_int_equal(quilt_plugin_chain_attach(chain, &c, 4343, NULL), 0);
        quilt_plugin_chain_free(chain);
        assert_log("p1 init\np5 init\np2 init\n"
                   "p1 attach 4242\np2 attach 4242\n"
                   "p1 attach 4343\np2 attach 4343\n"
                   "p2 fini\np5 fini\np1 fini\n");
        quilt_config_free(cfg);
}

/* The first failure stops the chain and names the instance and stage. */
static void test_attach_failure(void **state)
{
        struct quilt_config *cfg = make_config(
                "chain = p1, p2, p3\n"
                "[p1]\nlog = @LOG@\n"
                "[p2]\nlog = @LOG@\nfail_stage = attach\nfail_code = 28\n"
                "[p3]\nlog = @LOG@\n");
        struct quilt_plugin_chain *chain = load_chain(cfg);
        struct quilt_container c = { .struct_size = sizeof(c), .id = "quilt-test" };
        struct quilt_error err;

        strcpy(err.message, "stale");
        err.code = -ENOENT;
        assert_int_equal(quilt_plugin_chain_attach(chain, &c, 77, &err), -ENOSPC);
        assert_int_equal(err.code, -ENOSPC);
        assert_string_equal(err.message, "p2: attach: injected failure (fail_code 28)");
        assert_int_equal(quilt_plugin_chain_attach(chain, &c, 78, NULL), -ENOSPC);
        quilt_plugin_chain_free(chain);
        assert_log("p1 init\np2 init\np3 init\n"
                   "p1 attach 77\np2 attach 77\n"
                   "p1 attach 78\np2 attach 78\n"
                   "p3 fini\np2 fini\np1 fini\n");
        quilt_config_free(cfg);
}

/* Without a message, the errno's description; an empty or NULL chain
 * attaches nothing. */
static void test_attach_quiet_failure_and_empty(void **state)
{
        struct quilt_config *cfg = make_config(
                "chain = p1\n[p1]\nfail_stage = attach\nfail_quietly = yes\nfail_code = 1\n");
        struct quilt_plugin_chain *chain = load_chain(cfg);
        struct quilt_error err = { 0 };

        assert_int_equal(quilt_plugin_chain_attach(chain, NULL, 1, &err), -EPERM);
        assert_string_equal(err.message, "p1: attach: Operation not permitted");
        quilt_plugin_chain_free(chain);
        quilt_config_free(cfg);

        cfg = make_config("chain =\n");
        chain = load_chain(cfg);
        assert_int_equal(quilt_plugin_chain_attach(chain, NULL, 1, &err), 0);
        assert_int_equal(quilt_plugin_chain_attach(NULL, NULL, 1, &err), 0);
        quilt_plugin_chain_free(chain);
        quilt_config_free(cfg);
}

/* ---- load errors ---- */

static void test_init_failure(void **state)
{
        /* p1 was initialized before p2 failed: it is fini'ed again. */
        expect_load_error("chain = p1, p2, p3\n[p1]\nlog = @LOG@\n"
                          "[p2]\nlog = @LOG@\nfail_init = yes\n[p3]\nlog = @LOG@\n",
                          -EINVAL, "plugin 'p2': refusing to start (fail_init = yes)");
        assert_log("p1 init\np1 fini\n");
}

/* The plugin's config_apply message, with the file's path and line. */
static void test_init_bad_key(void **state)
{
        struct quilt_config *cfg = make_config("chain = p1, recorder:x\n"
                                               "[recorder:x]\nlog = @LOG@\nbogus = 1\n");
        char expected[1024];

        snprintf(expected, sizeof(expected), "plugin 'recorder:x': %s:%d: [recorder:x] unknown key "
                 "'bogus' (known: log, fail_stage, fail_init, fail_quietly, fail_code, clone_flags)",
                 ini_path, config_line_of("bogus"));
        expect_chain_error(cfg, -EINVAL, expected);
        quilt_config_free(cfg);
}

static void test_init_bad_value(void **state)
{
        struct quilt_config *cfg = make_config("chain = p1\n"
                                               "[p1]\nfail_stage = sometimes\n");
        char expected[1024];

        snprintf(expected, sizeof(expected), "plugin 'p1': %s:%d: [p1] fail_stage: 'sometimes' is "
                 "not one of none, prepare_rootfs, pre_clone, in_child, post_start, cleanup, attach",
                 ini_path, config_line_of("sometimes"));
        expect_chain_error(cfg, -EINVAL, expected);
        quilt_config_free(cfg);
}

static void test_missing_plugin(void **state)
{
        expect_load_error("chain = p1, missing\n[p1]\nlog = @LOG@\n", -ENOENT,
                          "plugin 'missing': " TEST_PLUGIN_DIR "/missing.so: "
                          "No such file or directory");
        assert_log("p1 init\np1 fini\n");
}

static void test_wrong_abi(void **state)
{
        expect_load_error("chain = wrong_abi\n", -EPROTO,
                          "plugin 'wrong_abi' (" TEST_PLUGIN_DIR "/wrong_abi.so): "
                          "ABI version 2, this Quilt speaks 1");
}

static void test_no_symbol(void **state)
{
        expect_load_error("chain = no_symbol\n", -ENOEXEC,
                          "plugin 'no_symbol' (" TEST_PLUGIN_DIR "/no_symbol.so): "
                          "no symbol quilt_plugin_v1, not a Quilt plugin");
}

static void test_small_struct(void **state)
{
        char expected[1024];

        snprintf(expected, sizeof(expected), "plugin 'small_struct' (%s/small_struct.so): "
                 "descriptor of %zu bytes is too small, ABI 1 needs at least %zu",
                 TEST_PLUGIN_DIR, offsetof(struct quilt_plugin, cleanup),
                 offsetof(struct quilt_plugin, cleanup) + sizeof(quilt_hook_fn));
        expect_load_error("chain = small_struct\n", -EPROTO, expected);
}

static void test_name_mismatch(void **state)
{
        expect_load_error("chain = name_mismatch\n", -EPROTO,
                          "plugin 'name_mismatch' (" TEST_PLUGIN_DIR "/name_mismatch.so): "
                          "calls itself 'other'");
}

/* A bigger descriptor (fields appended later in ABI 1) is fine; a plugin
 * without init must not silently ignore keys in its section. */
static void test_future_plugin(void **state)
{
        struct quilt_config *cfg = make_config("chain = future\n");
        struct quilt_plugin_chain *chain = load_chain(cfg);
        struct quilt_error err = { 0 };

        assert_int_equal(quilt_plugin_chain_run(chain, QUILT_STAGE_PRE_CLONE, NULL, &err), 0);
        assert_true(chain->plugins[0].entered);
        quilt_plugin_chain_free(chain);
        quilt_config_free(cfg);

        char expected[1024];
        cfg = make_config("chain = future\n[future]\nk = v\n");
        snprintf(expected, sizeof(expected), "plugin 'future': %s:%d: [future] unknown key 'k' "
                 "(known: none)", ini_path, config_line_of("k = v"));
        expect_chain_error(cfg, -EINVAL, expected);
        quilt_config_free(cfg);
}

/* Not an ELF file at all: dlopen's own words. */
static void test_not_elf(void **state)
{
        char path[sizeof(tmpdir) + 32];
        struct quilt_config *cfg = make_config("chain = garbage\n");
        struct quilt_plugin_chain *chain = NULL;
        struct quilt_error err = { 0 };

        snprintf(path, sizeof(path), "%s/garbage.so", tmpdir);
        assert_int_equal(quilt_write_file_atomic(path, "not elf\n", 8, 0644), 0);
        assert_int_equal(quilt_config_set_string(&cfg->plugin_dir, tmpdir), 0);
        assert_int_equal(quilt_plugin_chain_load(cfg, NULL, NULL, &chain, &err), -ENOEXEC);
        assert_null(chain);
        assert_int_equal(strncmp(err.message, "plugin 'garbage': ", 18), 0);
        assert_non_null(strstr(err.message, path));
        assert_int_equal(unlink(path), 0);

        /* A name that would leave plugin_dir is refused before any path is built. */
        free(cfg->profiles[0].entries[0].plugin);
        cfg->profiles[0].entries[0].plugin = strdup("../garbage");
        assert_int_equal(quilt_plugin_chain_load(cfg, NULL, NULL, &chain, &err), -EINVAL);
        assert_string_equal(err.message, "plugin '../garbage': invalid plugin name");
        quilt_config_free(cfg);
}

/* ---- the host table ---- */

/* Run `fn` with stderr going to a file; return what it wrote. */
static char *capture_stderr(void (*fn)(void))
{
        char path[sizeof(tmpdir) + 32];
        char *data = NULL;

        snprintf(path, sizeof(path), "%s/stderr", tmpdir);
        fflush(stderr);
        int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        assert_true(saved >= 0);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        close(fd);
        fn();
        assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
        close(saved);
        assert_int_equal(quilt_read_file(path, 1 << 20, &data, NULL), 0);
        unlink(path);
        return data;
}

static int errno_after_log;

static void log_some(void)
{
        const struct quilt_host *h = quilt_host_table();

        h->log(QUILT_LOG_DEBUG, "p", "hidden at the default level");
        h->log(QUILT_LOG_WARNING, "p", "hello %d", 42);
        h->log(QUILT_LOG_ERROR, NULL, "no plugin\nsecond line\n");
        errno = ENOENT;
        h->log(QUILT_LOG_INFO, "rootfs:chroot", "open x: %m");
        errno_after_log = errno;
        quilt_host_set_log_level(QUILT_LOG_DEBUG);
        h->log(QUILT_LOG_DEBUG, "p", "now shown");
        quilt_host_set_log_level(QUILT_LOG_ERROR);
        h->log(QUILT_LOG_WARNING, "p", "hidden at error level");
        quilt_host_set_log_level(QUILT_LOG_INFO);
}

static void test_host_table(void **state)
{
        const struct quilt_host *h = quilt_host_table();

        assert_non_null(h);
        assert_ptr_equal(quilt_host_table(), h);
        assert_int_equal(h->abi_version, QUILT_PLUGIN_ABI_VERSION);
        assert_int_equal(h->struct_size, sizeof(struct quilt_host));
        assert_ptr_equal(h->config_apply, quilt_config_apply);
        assert_ptr_equal(h->remove_tree, quilt_remove_tree);
        assert_non_null(h->log);

        _cleanup_free_ char *out = capture_stderr(log_some);
        assert_string_equal(out, "quilt[warning] p: hello 42\n"
                                 "quilt[error] no plugin second line\n"
                                 "quilt[info] rootfs:chroot: open x: No such file or directory\n"
                                 "quilt[debug] p: now shown\n");
        assert_int_equal(errno_after_log, ENOENT);

        /* remove_tree through the table: a tree, then a missing path. */
        char path[sizeof(tmpdir) + 32], sub[sizeof(tmpdir) + 64];
        struct quilt_error err = { 0 };
        snprintf(path, sizeof(path), "%s/tree", tmpdir);
        snprintf(sub, sizeof(sub), "%s/tree/a", tmpdir);
        assert_int_equal(mkdir(path, 0700), 0);
        assert_int_equal(mkdir(sub, 0700), 0);
        assert_int_equal(h->remove_tree(path, &err), 0);
        assert_int_equal(access(path, F_OK), -1);
        assert_int_equal(h->remove_tree(path, &err), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_abi_layout),
                cmocka_unit_test(test_stage_names),
                cmocka_unit_test(test_hook_struct_size),
                cmocka_unit_test_setup(test_stage_order, test_setup),
                cmocka_unit_test_setup(test_failure_mid_chain, test_setup),
                cmocka_unit_test_setup(test_failure_marks_earlier, test_setup),
                cmocka_unit_test_setup(test_cleanup_keeps_going, test_setup),
                cmocka_unit_test_setup(test_failure_without_message, test_setup),
                cmocka_unit_test_setup(test_instances, test_setup),
                cmocka_unit_test_setup(test_hand_built_config, test_setup),
                cmocka_unit_test_setup(test_empty_chain, test_setup),
                cmocka_unit_test_setup(test_attach_order, test_setup),
                cmocka_unit_test_setup(test_attach_failure, test_setup),
                cmocka_unit_test_setup(test_attach_quiet_failure_and_empty, test_setup),
                cmocka_unit_test_setup(test_init_failure, test_setup),
                cmocka_unit_test_setup(test_init_bad_key, test_setup),
                cmocka_unit_test_setup(test_init_bad_value, test_setup),
                cmocka_unit_test_setup(test_missing_plugin, test_setup),
                cmocka_unit_test_setup(test_wrong_abi, test_setup),
                cmocka_unit_test_setup(test_no_symbol, test_setup),
                cmocka_unit_test_setup(test_small_struct, test_setup),
                cmocka_unit_test_setup(test_name_mismatch, test_setup),
                cmocka_unit_test_setup(test_future_plugin, test_setup),
                cmocka_unit_test_setup(test_not_elf, test_setup),
                cmocka_unit_test(test_host_table),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
