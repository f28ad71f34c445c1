/* SPDX-License-Identifier: MIT */
/* The userns plugin's [userns] section (defaults, HOST_START:COUNT, the
 * subuid file, the errors init gives with FILE:LINE) and its chown
 * fallback (userns_shift.c) on a scratch tree.  Built together with
 * plugins/ns/userns_config.c and userns_shift.c; the host's config_apply
 * is quiltd's own (core/config_apply.c), as the other plugin tests use. */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "../plugins/ns/userns.h"
#include "config.h"
#include "test-child.h"

static const struct quilt_host host = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_host),
        .config_apply = quilt_config_apply,
};

#define ENTRY(k, v, l) { .key = (k), .value = (v), .file = "quilt.ini", .line = (l) }

static int parse(const struct quilt_config_entry *entries, size_t n, struct userns_config *cfg,
                 struct quilt_error *err)
{
        const struct quilt_config_section section = {
                .name = "userns",
                .file = "quilt.ini",
                .line = n ? 1 : 0,
                .n_entries = n,
                .entries = entries,
        };
        return userns_config_parse(&host, &section, cfg, err);
}

static void expect_error(const struct quilt_config_entry *e, size_t n, const char *message)
{
        struct userns_config cfg;
        struct quilt_error err = { 0 };

        assert_true(parse(e, n, &cfg, &err) < 0);
        if (!strstr(err.message, message))
                fail_msg("\"%s\" not in \"%s\"", message, err.message);
}

static void test_defaults(void **unused)
{
        struct userns_config cfg;
        struct quilt_error err = { 0 };

        assert_int_equal(userns_config_parse(&host, NULL, &cfg, &err), 0);
        assert_int_equal(cfg.uid.host_start, 100000);
        assert_int_equal(cfg.uid.count, 65536);
        assert_int_equal(cfg.gid.host_start, 100000);
        assert_int_equal(cfg.gid.count, 65536);
        assert_int_equal(cfg.idmap, USERNS_IDMAP_AUTO);
}

static void test_maps(void **unused)
{
        const struct quilt_config_entry e[] = {
                ENTRY("uid_map", "200000:1000", 2),
                ENTRY("gid_map", "300000:1", 3),
                ENTRY("idmap", "chown", 4),
        };
        struct userns_config cfg;
        struct quilt_error err = { 0 };

        assert_int_equal(parse(e, ELEMENTSOF(e), &cfg, &err), 0);
        assert_int_equal(cfg.uid.host_start, 200000);
        assert_int_equal(cfg.uid.count, 1000);
        assert_int_equal(cfg.gid.host_start, 300000);
        assert_int_equal(cfg.gid.count, 1);
        assert_int_equal(cfg.idmap, USERNS_IDMAP_CHOWN);
        /* Nothing of the section is kept. */
        assert_null(cfg.uid_map_value);
        assert_null(cfg.subuid_file);
}

static void test_range_parse(void **unused)
{
        static const char *const good[] = { "1:1", "100000:65536", "4294901759:65536",
                                            "4294967294:1" };
        static const char *const bad[] = { "", "100000", "100000:", ":65536", "0:65536",
                                           "1:0", "4294901760:65536", "4294967295:1",
                                           "4294967296:1", "1:4294967295", "-1:5", "+1:5",
                                           " 1:5", "1:5 ", "1:2:3", "0x10:5", "a:b",
                                           "99999999999:1" };
        struct quilt_id_range r;
        struct quilt_error err = { 0 };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (userns_range_parse(good[i], &r, &err) != 0)
                        fail_msg("\"%s\" refused: %s", good[i], err.message);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (userns_range_parse(bad[i], &r, &err) >= 0)
                        fail_msg("\"%s\" taken", bad[i]);
        assert_int_equal(userns_range_parse("4294967294:1", &r, &err), 0);
        assert_int_equal(r.host_start, 4294967294u);
        assert_int_equal(r.count, 1);
}

static void test_errors_name_file_and_line(void **unused)
{
        const struct quilt_config_entry root[] = { ENTRY("uid_map", "0:65536", 3) };
        const struct quilt_config_entry zero[] = { ENTRY("gid_map", "100000:0", 4) };
        const struct quilt_config_entry over[] = { ENTRY("uid_map", "4294967000:65536", 5) };
        const struct quilt_config_entry junk[] = { ENTRY("uid_map", "lots", 6) };
        const struct quilt_config_entry both[] = { ENTRY("uid_map", "1:1", 2),
                                                   ENTRY("subuid", "quilt", 7) };
        const struct quilt_config_entry empty[] = { ENTRY("subuid", "", 8) };
        const struct quilt_config_entry colon[] = { ENTRY("subuid", "a:b", 9) };
        const struct quilt_config_entry choice[] = { ENTRY("idmap", "never", 10) };
        const struct quilt_config_entry unknown[] = { ENTRY("uid_mapping", "1:1", 11) };

        expect_error(root, 1, "quilt.ini:3: [userns] uid_map: host id 0 would map the container's root");
        expect_error(zero, 1, "quilt.ini:4: [userns] gid_map: the count must be at least 1");
        expect_error(over, 1, "quilt.ini:5: [userns] uid_map: 4294967000 + 65536 ids go past");
        expect_error(junk, 1, "quilt.ini:6: [userns] uid_map: \"lots\" is not HOST_START:COUNT");
        expect_error(both, 2, "quilt.ini:2: [userns] uid_map and subuid exclude each other");
        expect_error(empty, 1, "quilt.ini:8: [userns] subuid: \"\" is not a user name or uid");
        expect_error(colon, 1, "quilt.ini:9: [userns] subuid");
        expect_error(choice, 1, "quilt.ini:10: [userns] idmap");
        expect_error(unknown, 1, "quilt.ini:11: [userns] unknown key 'uid_mapping'");
}

/* A scratch subuid file; the caller unlinks and frees it. */
static char *subid_file(const char *text)
{
        char *path = strdup("/tmp/quilt-test-subuid-XXXXXX");
        assert_non_null(path);
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        return path;
}

static void test_subuid(void **unused)
{
        _cleanup_free_ char *uids = subid_file("quilt-other:300000:65536\n"
                                               "quilt:200000:65536\n"
                                               "1234:400000:10\n"
                                               "quilt:500000:65536\n");
        _cleanup_free_ char *gids = subid_file("quilt:210000:1000\n1234:410000:20");
        const struct quilt_config_entry byname[] = {
                ENTRY("subuid", "quilt", 2), ENTRY("subuid_file", uids, 3),
                ENTRY("subgid_file", gids, 4),
        };
        const struct quilt_config_entry byuid[] = {
                ENTRY("subuid", "1234", 2), ENTRY("subuid_file", uids, 3),
                ENTRY("subgid_file", gids, 4),
        };
        const struct quilt_config_entry prefix[] = {
                ENTRY("subuid", "quil", 2), ENTRY("subuid_file", uids, 3),
                ENTRY("subgid_file", gids, 4),
        };
        struct userns_config cfg;
        struct quilt_error err = { 0 };

        /* The first line of the name, not a longer name that starts so. */
        assert_int_equal(parse(byname, ELEMENTSOF(byname), &cfg, &err), 0);
        assert_int_equal(cfg.uid.host_start, 200000);
        assert_int_equal(cfg.uid.count, 65536);
        assert_int_equal(cfg.gid.host_start, 210000);
        assert_int_equal(cfg.gid.count, 1000);

        /* A last line without a newline counts too. */
        assert_int_equal(parse(byuid, ELEMENTSOF(byuid), &cfg, &err), 0);
        assert_int_equal(cfg.uid.host_start, 400000);
        assert_int_equal(cfg.uid.count, 10);
        assert_int_equal(cfg.gid.host_start, 410000);
        assert_int_equal(cfg.gid.count, 20);

        expect_error(prefix, ELEMENTSOF(prefix), "quilt.ini:2: [userns] subuid = quil: ");
        expect_error(prefix, ELEMENTSOF(prefix), "has no line for \"quil\"");
        unlink(uids);
        unlink(gids);
}

static void test_subuid_bad_files(void **unused)
{
        _cleanup_free_ char *rootmap = subid_file("quilt:0:65536\n");
        const struct quilt_config_entry root[] = {
                ENTRY("subuid", "quilt", 2), ENTRY("subuid_file", rootmap, 3),
                ENTRY("subgid_file", rootmap, 4),
        };
        const struct quilt_config_entry missing[] = {
                ENTRY("subuid", "quilt", 6),
                ENTRY("subuid_file", "/nonexistent/quilt-test-subuid", 7),
        };
        char want[256];

        snprintf(want, sizeof(want), "quilt.ini:2: [userns] subuid = quilt: %s:1: host id 0", rootmap);
        expect_error(root, ELEMENTSOF(root), want);
        expect_error(missing, ELEMENTSOF(missing),
                     "quilt.ini:6: [userns] subuid = quilt: /nonexistent/quilt-test-subuid: No such file");
        unlink(rootmap);
}

static void test_shift_id(void **unused)
{
        const struct quilt_id_range r = { 100000, 65536 };

        assert_int_equal(userns_shift_id(&r, 0), 100000);
        assert_int_equal(userns_shift_id(&r, 1000), 101000);
        assert_int_equal(userns_shift_id(&r, 65535), 165535);
        /* Not in the range: left alone (nobody in the container). */
        assert_int_equal(userns_shift_id(&r, 65536), 65536);
        assert_int_equal(userns_shift_id(&r, 4294967294u), 4294967294u);
}

/* In the forked child: no cmocka asserts there, a failed check exits. */
static void expect_owner(int dir, const char *name, uid_t uid, gid_t gid)
{
        struct stat st;
        if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_uid != uid ||
            st.st_gid != gid) {
                fprintf(stderr, "%s: %u:%u, not %u:%u\n", name, (unsigned)st.st_uid,
                        (unsigned)st.st_gid, (unsigned)uid, (unsigned)gid);
                _exit(20);
        }
}

/* The shift in a mount namespace of its own (a tmpfs on `tree` to work
 * on, and one mounted inside the tree that it must leave alone).  Exits 0
 * when all is as expected; a failed check exits non-zero. */
_Noreturn static void shift_child(const char *tree)
{
        const struct quilt_id_range uid = { 100000, 65536 }, gid = { 200000, 1000 };
        struct quilt_error err = { 0 };
        size_t changed = 0;

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", tree, "tmpfs", 0, "mode=0755") < 0)
                _exit(10);
        int dir = open(tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0 || mkdirat(dir, "etc", 0755) < 0 || mkdirat(dir, "mnt", 0755) < 0 ||
            mkdirat(dir, "outside", 0755) < 0)
                _exit(11);
        int fd = openat(dir, "etc/passwd", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        int su = openat(dir, "etc/su", O_CREAT | O_WRONLY | O_CLOEXEC, 0755);
        int far = openat(dir, "outside/target", O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0 || su < 0 || far < 0 || fchmod(su, 06755) < 0 ||
            fchownat(dir, "etc/passwd", 1000, 70000, 0) < 0 ||
            symlinkat("../outside/target", dir, "etc/link") < 0)
                _exit(12);
        close(fd);
        close(su);
        close(far);
        /* The tree to shift is tree/etc+mnt; "outside" plays the host. */
        char root[PATH_MAX], mnt[PATH_MAX];
        snprintf(root, sizeof(root), "%s/etc", tree);
        snprintf(mnt, sizeof(mnt), "%s/etc/sub", tree);
        if (mkdir(mnt, 0755) < 0 || mount("tmpfs", mnt, "tmpfs", 0, "mode=0755") < 0)
                _exit(13);
        if (userns_shift_tree(root, &uid, &gid, &changed, &err) < 0) {
                fprintf(stderr, "shift: %s\n", err.message);
                _exit(14);
        }
        expect_owner(dir, "etc", 100000, 200000);
        expect_owner(dir, "etc/passwd", 101000, 70000);         /* gid 70000: not in range */
        expect_owner(dir, "etc/su", 100000, 200000);
        expect_owner(dir, "etc/link", 100000, 200000);          /* the link itself ... */
        expect_owner(dir, "outside/target", 0, 0);              /* ... not what it points at */
        expect_owner(dir, "etc/sub", 0, 0);                     /* another mount */
        struct stat st;
        if (fstatat(dir, "etc/su", &st, 0) < 0 || (st.st_mode & 07777) != 06755)
                _exit(15);
        if (changed != 4)
                _exit(16);
        /* Our mount namespace, and the tmpfs with it, ends with us. */
        _exit(0);
}

static void test_shift_tree(void **unused)
{
        char tree[] = "/tmp/quilt-test-shift-XXXXXX";

        if (geteuid() != 0)
                skip();
        assert_non_null(mkdtemp(tree));
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                shift_child(tree);
        int status = wait_status(pid, 10000);
        rmdir(tree);
        assert_int_equal(exit_code(status), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_maps),
                cmocka_unit_test(test_range_parse),
                cmocka_unit_test(test_errors_name_file_and_line),
                cmocka_unit_test(test_subuid),
                cmocka_unit_test(test_subuid_bad_files),
                cmocka_unit_test(test_shift_id),
                cmocka_unit_test(test_shift_tree),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
