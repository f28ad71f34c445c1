/* SPDX-License-Identifier: MIT */
/* quilt_tar_entry_check(): which tar entries the rootfs plugin writes,
 * skips or refuses, judged from names and types alone. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tar_entry.h"

#define WRITE QUILT_TAR_ENTRY_WRITE
#define SKIP QUILT_TAR_ENTRY_SKIP

static int check(const char *path, const char *link, mode_t type, char *reason, size_t len)
{
        memset(reason, 'x', len);
        return quilt_tar_entry_check(path, link, type, reason, len);
}

static void test_plain_entries_are_written(void **unused)
{
        char reason[128];
        static const char *const names[] = {
                "bin",      "bin/",          "bin/busybox", "usr/lib/x86_64-linux-gnu/libc.so.6",
                "./etc",    "./etc/passwd",  "././a/b",     ".//etc/hosts",
                "a//b",     "a/./b",         "...",         "..a",
                "a..",      "a/..b/c",       "a/b..",       ".hidden",
                "./.hidden", "a/.../b",      "with space",  "ünïcode/ß",
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                assert_int_equal(check(names[i], NULL, S_IFREG, reason, sizeof(reason)), WRITE);
                assert_int_equal(check(names[i], NULL, S_IFDIR, reason, sizeof(reason)), WRITE);
                assert_int_equal(check(names[i], NULL, S_IFLNK, reason, sizeof(reason)), WRITE);
        }
}

static void test_fifo_is_written(void **unused)
{
        char reason[128];
        assert_int_equal(check("run/initctl", NULL, S_IFIFO, reason, sizeof(reason)), WRITE);
}

static void test_dotdot_escapes(void **unused)
{
        char reason[128];
        static const char *const names[] = {
                "..",    "../",        "../evil",       "./../evil", "a/../../evil",
                "a/..",  "a/../b",     "a/b/../../../c", "a//..//b", "./a/../..",
                "../../../../../../../../../etc/passwd", "a/../",
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                int r = check(names[i], NULL, S_IFREG, reason, sizeof(reason));
                assert_int_equal(r, -EPERM);
                assert_string_equal(reason, "path escapes the root");
        }
}

static void test_absolute_paths(void **unused)
{
        char reason[128];
        static const char *const names[] = { "/", "/etc/passwd", "//etc", "/./etc", "/../x" };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                assert_int_equal(check(names[i], NULL, S_IFREG, reason, sizeof(reason)), -EPERM);
                assert_string_equal(reason, "absolute path");
        }
        /* Not absolute: relative to the root after "./". */
        assert_int_equal(check(".//etc", NULL, S_IFREG, reason, sizeof(reason)), WRITE);
}

static void test_empty_names(void **unused)
{
        char reason[128];
        assert_int_equal(check("", NULL, S_IFREG, reason, sizeof(reason)), -EINVAL);
        assert_string_equal(reason, "empty name");
        assert_int_equal(check(NULL, NULL, S_IFREG, reason, sizeof(reason)), -EINVAL);
        assert_string_equal(reason, "empty name");
}

static void test_root_entry(void **unused)
{
        char reason[128];
        static const char *const roots[] = { ".", "./", "./.", ".//", "././" };
        for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
                assert_int_equal(check(roots[i], NULL, S_IFDIR, reason, sizeof(reason)), SKIP);
                assert_string_equal(reason, "the root directory itself");
                /* Anything but a directory would replace the root. */
                assert_int_equal(check(roots[i], NULL, S_IFLNK, reason, sizeof(reason)), -EINVAL);
                assert_int_equal(check(roots[i], NULL, S_IFREG, reason, sizeof(reason)), -EINVAL);
                assert_int_equal(check(roots[i], "etc/passwd", S_IFREG, reason, sizeof(reason)),
                                 -EINVAL);
        }
}

static void test_devices_are_skipped(void **unused)
{
        char reason[128];
        assert_int_equal(check("dev/null", NULL, S_IFCHR, reason, sizeof(reason)), SKIP);
        assert_string_equal(reason, "character device");
        assert_int_equal(check("dev/sda", NULL, S_IFBLK, reason, sizeof(reason)), SKIP);
        assert_string_equal(reason, "block device");
        assert_int_equal(check("run/sock", NULL, S_IFSOCK, reason, sizeof(reason)), SKIP);
        /* A bad name is refused before the type matters. */
        assert_int_equal(check("../dev/sda", NULL, S_IFBLK, reason, sizeof(reason)), -EPERM);
        assert_int_equal(check("/dev/sda", NULL, S_IFCHR, reason, sizeof(reason)), -EPERM);
}

static void test_unknown_type_refused(void **unused)
{
        char reason[128];
        assert_int_equal(check("weird", NULL, 0, reason, sizeof(reason)), -EINVAL);
        assert_string_equal(reason, "unsupported file type 00");
        assert_int_equal(check("weird", NULL, 0170000, reason, sizeof(reason)), -EINVAL);
}

static void test_hardlinks(void **unused)
{
        char reason[128];
        assert_int_equal(check("bin/ls", "bin/busybox", S_IFREG, reason, sizeof(reason)), WRITE);
        assert_int_equal(check("./bin/ls", "./bin/busybox", S_IFREG, reason, sizeof(reason)), WRITE);
        /* The type of a hard link entry does not matter: no inode is made. */
        assert_int_equal(check("bin/ls", "bin/busybox", 0, reason, sizeof(reason)), WRITE);

        assert_int_equal(check("x", "../../etc/passwd", S_IFREG, reason, sizeof(reason)), -EPERM);
        assert_string_equal(reason, "hard link target '../../etc/passwd' escapes the root");
        assert_int_equal(check("x", "a/../../etc/passwd", S_IFREG, reason, sizeof(reason)), -EPERM);
        assert_int_equal(check("x", "/etc/passwd", S_IFREG, reason, sizeof(reason)), -EPERM);
        assert_string_equal(reason, "hard link target '/etc/passwd' is absolute");
        assert_int_equal(check("x", "", S_IFREG, reason, sizeof(reason)), -EINVAL);
        assert_string_equal(reason, "empty hard link target");
        assert_int_equal(check("x", "./", S_IFREG, reason, sizeof(reason)), -EINVAL);
        assert_string_equal(reason, "hard link to the root");
        assert_int_equal(check("x", ".", S_IFREG, reason, sizeof(reason)), -EINVAL);
        /* The entry's own name is checked first. */
        assert_int_equal(check("../x", "bin/busybox", S_IFREG, reason, sizeof(reason)), -EPERM);
        assert_string_equal(reason, "path escapes the root");
}

static void test_reason_optional_and_truncated(void **unused)
{
        assert_int_equal(quilt_tar_entry_check("../x", NULL, S_IFREG, NULL, 0), -EPERM);
        assert_int_equal(quilt_tar_entry_check("dev/null", NULL, S_IFCHR, NULL, 0), SKIP);
        char small[6];
        assert_int_equal(check("../x", NULL, S_IFREG, small, sizeof(small)), -EPERM);
        assert_string_equal(small, "path ");
}

static void test_strip(void **unused)
{
        assert_string_equal(quilt_tar_entry_strip("./usr/bin"), "usr/bin");
        assert_string_equal(quilt_tar_entry_strip("././usr"), "usr");
        assert_string_equal(quilt_tar_entry_strip(".//etc"), "etc");
        assert_string_equal(quilt_tar_entry_strip("./"), "");
        assert_string_equal(quilt_tar_entry_strip("."), "");
        assert_string_equal(quilt_tar_entry_strip("./."), "");
        assert_string_equal(quilt_tar_entry_strip("usr"), "usr");
        assert_string_equal(quilt_tar_entry_strip(".hidden"), ".hidden");
        assert_string_equal(quilt_tar_entry_strip("..x"), "..x");
        assert_string_equal(quilt_tar_entry_strip("a/./b"), "a/./b");
        assert_string_equal(quilt_tar_entry_strip(NULL), "");
        /* Only leading "./" goes: the result points into the argument. */
        const char *p = "./x";
        assert_ptr_equal(quilt_tar_entry_strip(p), p + 2);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_plain_entries_are_written),
                cmocka_unit_test(test_fifo_is_written),
                cmocka_unit_test(test_dotdot_escapes),
                cmocka_unit_test(test_absolute_paths),
                cmocka_unit_test(test_empty_names),
                cmocka_unit_test(test_root_entry),
                cmocka_unit_test(test_devices_are_skipped),
                cmocka_unit_test(test_unknown_type_refused),
                cmocka_unit_test(test_hardlinks),
                cmocka_unit_test(test_reason_optional_and_truncated),
                cmocka_unit_test(test_strip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
