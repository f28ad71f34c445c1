/* SPDX-License-Identifier: MIT */
/* OCI layer whiteouts: quilt_tar_whiteout() (which names are whiteouts,
 * what they delete, which are refused) and quilt_rootfs_extract_layer_fd()
 * applying layers over each other in a scratch directory. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
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

#include "tar_entry.h"
#include "tar_extract.h"

static int wh(const char *path, char *target)
{
        char reason[128];
        return quilt_tar_whiteout(path, target, 256, reason, sizeof(reason));
}

static void test_ordinary_names(void **unused)
{
        (void)unused;
        char t[256];
        static const char *const names[] = { "etc/passwd", "wh.x", "a/.whx", ".w", "a/b.wh.c",
                                             "./", "", ".wh/x", "a/.wh/b" };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                assert_int_equal(wh(names[i], t), QUILT_WHITEOUT_NONE);
}

static void test_file_whiteouts(void **unused)
{
        (void)unused;
        char t[256];
        assert_int_equal(wh("etc/.wh.passwd", t), QUILT_WHITEOUT_FILE);
        assert_string_equal(t, "etc/passwd");
        assert_int_equal(wh("./.wh.gone", t), QUILT_WHITEOUT_FILE);
        assert_string_equal(t, "gone");
        assert_int_equal(wh("a/b/.wh..hidden", t), QUILT_WHITEOUT_FILE);
        assert_string_equal(t, "a/b/.hidden");
        assert_int_equal(wh("./a//.wh.x", t), QUILT_WHITEOUT_FILE);
        assert_string_equal(t, "a/x");
}

static void test_opaque(void **unused)
{
        (void)unused;
        char t[256];
        assert_int_equal(wh("usr/share/.wh..wh..opq", t), QUILT_WHITEOUT_OPAQUE);
        assert_string_equal(t, "usr/share");
        assert_int_equal(wh(".wh..wh..opq", t), QUILT_WHITEOUT_OPAQUE);
        assert_string_equal(t, "");
        assert_int_equal(wh("./.wh..wh..opq", t), QUILT_WHITEOUT_OPAQUE);
        assert_string_equal(t, "");
        assert_int_equal(wh("a/.wh..wh.plnk", t), QUILT_WHITEOUT_META);
}

static void test_escapes_refused(void **unused)
{
        (void)unused;
        char t[256];
        assert_int_equal(wh("etc/.wh.../../x", t), -EPERM);
        assert_int_equal(wh("../.wh.x", t), -EPERM);
        assert_int_equal(wh("a/../../.wh..wh..opq", t), -EPERM);
        assert_int_equal(wh("/etc/.wh.passwd", t), -EPERM);
        assert_int_equal(wh("etc/.wh..", t), -EPERM);
        assert_int_equal(wh("etc/.wh.", t), -EPERM);
        assert_int_equal(wh(".wh..", t), -EPERM);
}

static void test_target_too_long(void **unused)
{
        (void)unused;
        char t[8], reason[64];
        assert_int_equal(quilt_tar_whiteout("dir/.wh.longname", t, sizeof(t), reason, sizeof(reason)),
                         -ENAMETOOLONG);
        assert_int_equal(quilt_tar_whiteout("a/.wh.b", t, sizeof(t), NULL, 0), QUILT_WHITEOUT_FILE);
        assert_string_equal(t, "a/b");
}

/* ---- layers applied in a scratch dir ---- */

struct ent {
        const char *name;
        mode_t type;
        const char *data;               /* file content or symlink target */
};

static int layer_fd(const struct ent *e)
{
        char path[] = "/tmp/quilt-test-layer-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        unlink(path);
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        assert_int_equal(archive_write_open_fd(a, fd), ARCHIVE_OK);
        for (; e->name; e++) {
                struct archive_entry *ae = archive_entry_new();
                archive_entry_set_pathname(ae, e->name);
                archive_entry_set_filetype(ae, e->type);
                archive_entry_set_perm(ae, e->type == AE_IFDIR ? 0755 : 0644);
                if (e->type == AE_IFLNK)
                        archive_entry_set_symlink(ae, e->data);
                size_t n = e->type == AE_IFREG && e->data ? strlen(e->data) : 0;
                archive_entry_set_size(ae, (la_int64_t)n);
                assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
                if (n)
                        assert_int_equal(archive_write_data(a, e->data, n), (la_ssize_t)n);
                archive_entry_free(ae);
        }
        archive_write_close(a);
        archive_write_free(a);
        return fd;
}

static int apply(const char *root, const struct ent *e, struct quilt_error *err)
{
        int fd = layer_fd(e);
        int r = quilt_rootfs_extract_layer_fd("layer", fd, root, NULL, err);
        close(fd);
        return r;
}

static bool exists(const char *root, const char *rel)
{
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        struct stat st;
        return lstat(p, &st) == 0;
}

static void test_layers_applied(void **unused)
{
        (void)unused;
        char root[] = "/tmp/quilt-test-root-XXXXXX", host[] = "/tmp/quilt-test-host-XXXXXX";
        assert_non_null(mkdtemp(root));
        assert_non_null(mkdtemp(host));
        char keep[600];
        snprintf(keep, sizeof(keep), "%s/keep", host);
        close(open(keep, O_WRONLY | O_CREAT, 0644));

        struct quilt_error err = { 0 };
        const struct ent l1[] = { { "etc", AE_IFDIR, NULL },       { "etc/victim", AE_IFREG, "v" },
                                  { "opq", AE_IFDIR, NULL },       { "opq/old", AE_IFREG, "o" },
                                  { "opq/sub", AE_IFDIR, NULL },   { "opq/sub/deep", AE_IFREG, "d" },
                                  { "dir", AE_IFDIR, NULL },       { "dir/in", AE_IFREG, "i" },
                                  { "lnk", AE_IFLNK, host },       { NULL, 0, NULL } };
        assert_int_equal(apply(root, l1, &err), 0);
        const struct ent l2[] = { { "opq/new", AE_IFREG, "n" },    { "opq/.wh..wh..opq", AE_IFREG, "" },
                                  { "etc/.wh.victim", AE_IFREG, "" }, { ".wh.dir", AE_IFREG, "" },
                                  { "etc/.wh.never-there", AE_IFREG, "" },
                                  { "nodir/.wh.x", AE_IFREG, "" }, { NULL, 0, NULL } };
        assert_int_equal(apply(root, l2, &err), 0);
        assert_false(exists(root, "etc/victim"));
        assert_false(exists(root, "etc/.wh.victim"));
        assert_false(exists(root, "dir"));
        assert_false(exists(root, "opq/old"));
        assert_false(exists(root, "opq/sub"));
        assert_false(exists(root, "opq/.wh..wh..opq"));
        assert_true(exists(root, "opq/new"));
        assert_true(exists(root, "etc"));
        assert_false(exists(root, "nodir/.wh.x"));

        /* Neither kind of whiteout goes through the symlink to the host. */
        const struct ent l3[] = { { "lnk/.wh.keep", AE_IFREG, "" }, { NULL, 0, NULL } };
        assert_int_equal(apply(root, l3, &err), -EPERM);
        assert_non_null(strstr(err.message, "whiteout goes through a symlink"));
        const struct ent l4[] = { { "lnk/.wh..wh..opq", AE_IFREG, "" }, { NULL, 0, NULL } };
        assert_int_equal(apply(root, l4, &err), -EPERM);
        const struct ent l5[] = { { "etc/.wh.../../keep", AE_IFREG, "" }, { NULL, 0, NULL } };
        assert_int_equal(apply(root, l5, &err), -EPERM);
        assert_true(access(keep, F_OK) == 0);
        /* Whiting out the symlink itself removes the link, not its target. */
        const struct ent l6[] = { { ".wh.lnk", AE_IFREG, "" }, { NULL, 0, NULL } };
        assert_int_equal(apply(root, l6, &err), 0);
        assert_false(exists(root, "lnk"));
        assert_true(access(keep, F_OK) == 0);

        char cmd[1200];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, host);
        assert_int_equal(system(cmd), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ordinary_names),
                cmocka_unit_test(test_file_whiteouts),
                cmocka_unit_test(test_opaque),
                cmocka_unit_test(test_escapes_refused),
                cmocka_unit_test(test_target_too_long),
                cmocka_unit_test(test_layers_applied),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
