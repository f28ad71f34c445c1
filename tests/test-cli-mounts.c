/* SPDX-License-Identifier: MIT */
/* quilt-cli's mount and limit option values: -v, --mount, --tmpfs,
 * --ulimit (cli/mount_spec.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mount_spec.h"

typedef int (*mount_parser)(const char *arg, struct quilt_mount_spec *ret, char **ret_error);

static void check_mount(mount_parser parse, const char *arg, const char *type, const char *source,
                        const char *target, bool ro, int64_t size, uint32_t mode)
{
        struct quilt_mount_spec m = {};
        char *error = NULL;

        assert_int_equal(parse(arg, &m, &error), 0);
        assert_null(error);
        assert_string_equal(m.type, type);
        if (source)
                assert_string_equal(m.source, source);
        else
                assert_null(m.source);
        assert_string_equal(m.target, target);
        assert_int_equal(m.read_only, ro);
        assert_int_equal(m.size_bytes, size);
        assert_int_equal(m.mode, mode);
        quilt_mount_spec_clear(&m);
        assert_null(m.source);
        assert_null(m.target);
}

static void check_mount_error(mount_parser parse, const char *arg, const char *error_part)
{
        struct quilt_mount_spec m = { .type = "untouched" };
        char *error = NULL;

        assert_int_equal(parse(arg, &m, &error), -EINVAL);
        assert_string_equal(m.type, "untouched");
        assert_non_null(error);
        if (!strstr(error, error_part))
                fail_msg("'%s': error '%s' does not mention '%s'", arg, error, error_part);
        free(error);
}

static void test_volume_bind_and_named(void **state)
{
        check_mount(quilt_parse_volume_option, "/srv/data:/data", "bind", "/srv/data", "/data", false, 0, 0);
        check_mount(quilt_parse_volume_option, "/srv/data:/data:ro", "bind", "/srv/data", "/data", true, 0, 0);
        check_mount(quilt_parse_volume_option, "/srv/data:/data:rw", "bind", "/srv/data", "/data", false, 0, 0);
        check_mount(quilt_parse_volume_option, "/:/host:ro", "bind", "/", "/host", true, 0, 0);
        check_mount(quilt_parse_volume_option, "data:/data", "volume", "data", "/data", false, 0, 0);
        check_mount(quilt_parse_volume_option, "my_vol.1-x:/var/lib/x:ro", "volume", "my_vol.1-x",
                    "/var/lib/x", true, 0, 0);
        /* the last of ro/rw wins, as in Docker */
        check_mount(quilt_parse_volume_option, "v:/d:ro,rw", "volume", "v", "/d", false, 0, 0);
}

static void test_volume_errors(void **state)
{
        check_mount_error(quilt_parse_volume_option, "./data:/data", "relative");
        check_mount_error(quilt_parse_volume_option, "./data:/data", "$PWD/data");
        check_mount_error(quilt_parse_volume_option, "../data:/data", "relative");
        check_mount_error(quilt_parse_volume_option, "data/sub:/data", "relative");
        check_mount_error(quilt_parse_volume_option, "~/data:/data", "relative");
        check_mount_error(quilt_parse_volume_option, ".:/data", "relative");
        check_mount_error(quilt_parse_volume_option, "bad name:/data", "neither an absolute host path nor a volume name");
        check_mount_error(quilt_parse_volume_option, "_x:/data", "neither");
        check_mount_error(quilt_parse_volume_option, "/data", "SRC:DST");
        check_mount_error(quilt_parse_volume_option, "data", "SRC:DST");
        check_mount_error(quilt_parse_volume_option, ":/data", "source");
        check_mount_error(quilt_parse_volume_option, "/a:", "target");
        check_mount_error(quilt_parse_volume_option, "/a:rel", "not an absolute path");
        check_mount_error(quilt_parse_volume_option, "/a:/b:rx", "unknown mount option 'rx'");
        check_mount_error(quilt_parse_volume_option, "/a:/b:", "ends in ':'");
        check_mount_error(quilt_parse_volume_option, "/a:/b:ro:x", "too many ':'");
        /* 65 characters: one too many for a name */
        check_mount_error(quilt_parse_volume_option,
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:/d", "neither");
        check_mount(quilt_parse_volume_option,
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:/d", "volume",
                    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "/d", false, 0, 0);
}

static void test_mount_long_form(void **state)
{
        check_mount(quilt_parse_mount_option, "type=bind,source=/srv,target=/srv", "bind", "/srv", "/srv",
                    false, 0, 0);
        check_mount(quilt_parse_mount_option, "type=bind,src=/srv,dst=/x,readonly", "bind", "/srv", "/x",
                    true, 0, 0);
        check_mount(quilt_parse_mount_option, "type=bind,src=/srv,destination=/x,ro=true", "bind", "/srv",
                    "/x", true, 0, 0);
        check_mount(quilt_parse_mount_option, "type=bind,src=/srv,target=/x,readonly=false", "bind", "/srv",
                    "/x", false, 0, 0);
        /* no type: a volume, as in Docker */
        check_mount(quilt_parse_mount_option, "source=data,target=/data", "volume", "data", "/data", false, 0, 0);
        check_mount(quilt_parse_mount_option, "type=volume,src=data,target=/data,ro", "volume", "data", "/data",
                    true, 0, 0);
        check_mount(quilt_parse_mount_option, "type=tmpfs,target=/run,size=64m,mode=1777", "tmpfs", NULL,
                    "/run", false, 64 << 20, 01777);
        check_mount(quilt_parse_mount_option, "type=tmpfs,dst=/run,tmpfs-size=1g,tmpfs-mode=700", "tmpfs",
                    NULL, "/run", false, INT64_C(1) << 30, 0700);
        check_mount(quilt_parse_mount_option, "type=tmpfs,target=/run", "tmpfs", NULL, "/run", false, 0, 0);
}

static void test_mount_errors(void **state)
{
        check_mount_error(quilt_parse_mount_option, "type=nfs,target=/x", "type 'nfs'");
        check_mount_error(quilt_parse_mount_option, "type=bind,source=/x", "target=PATH");
        check_mount_error(quilt_parse_mount_option, "type=bind,target=/x", "source=/HOST/PATH");
        check_mount_error(quilt_parse_mount_option, "type=bind,source=rel,target=/x", "relative");
        check_mount_error(quilt_parse_mount_option, "type=volume,target=/x", "anonymous volumes");
        check_mount_error(quilt_parse_mount_option, "type=volume,source=/abs,target=/x", "not a valid volume name");
        check_mount_error(quilt_parse_mount_option, "type=tmpfs,source=x,target=/x", "takes no source");
        check_mount_error(quilt_parse_mount_option, "type=bind,source=/a,target=/x,size=1m", "size only goes with type=tmpfs");
        check_mount_error(quilt_parse_mount_option, "type=volume,source=a,target=/x,mode=700", "mode only goes");
        check_mount_error(quilt_parse_mount_option, "type=tmpfs,target=/x,size=lots", "size 'lots'");
        check_mount_error(quilt_parse_mount_option, "type=tmpfs,target=/x,mode=999", "not an octal mode");
        check_mount_error(quilt_parse_mount_option, "type=tmpfs,target=/x,mode=17777", "larger than 7777");
        check_mount_error(quilt_parse_mount_option, "type=tmpfs,target=/x,mode=0", "no access");
        check_mount_error(quilt_parse_mount_option, "type=tmpfs,target=x", "not an absolute path");
        check_mount_error(quilt_parse_mount_option, "type=bind,source=/a,target=/x,bogus=1", "unknown key 'bogus'");
        check_mount_error(quilt_parse_mount_option, "type=bind,source=/a,target=/x,readonly=maybe", "true or false");
        check_mount_error(quilt_parse_mount_option, "type,source=/a,target=/x", "needs a value");
}

static void test_tmpfs(void **state)
{
        check_mount(quilt_parse_tmpfs_option, "/run", "tmpfs", NULL, "/run", false, 0, 0);
        check_mount(quilt_parse_tmpfs_option, "/run:size=64m", "tmpfs", NULL, "/run", false, 64 << 20, 0);
        check_mount(quilt_parse_tmpfs_option, "/run:size=64m,mode=1777", "tmpfs", NULL, "/run", false,
                    64 << 20, 01777);
        check_mount(quilt_parse_tmpfs_option, "/cache:mode=0700,ro", "tmpfs", NULL, "/cache", true, 0, 0700);
        check_mount(quilt_parse_tmpfs_option, "/x:rw,size=65536k", "tmpfs", NULL, "/x", false, 65536 * 1024, 0);
        check_mount_error(quilt_parse_tmpfs_option, "run", "not an absolute path");
        check_mount_error(quilt_parse_tmpfs_option, ":size=1m", "missing");
        check_mount_error(quilt_parse_tmpfs_option, "/x:noexec", "unsupported tmpfs option 'noexec'");
        check_mount_error(quilt_parse_tmpfs_option, "/x:size=0", "size '0'");
        check_mount_error(quilt_parse_tmpfs_option, "/x:mode=8", "not an octal mode");
}

static void check_ulimit(const char *arg, const char *type, uint64_t soft, uint64_t hard)
{
        struct quilt_cli_rlimit r = {};
        char *error = NULL;

        assert_int_equal(quilt_parse_ulimit_option(arg, &r, &error), 0);
        assert_null(error);
        assert_string_equal(r.type, type);
        assert_true(r.soft == soft);
        assert_true(r.hard == hard);
        quilt_cli_rlimit_clear(&r);
        assert_null(r.type);
}

static void check_ulimit_error(const char *arg, const char *error_part)
{
        struct quilt_cli_rlimit r = {};
        char *error = NULL;

        assert_int_equal(quilt_parse_ulimit_option(arg, &r, &error), -EINVAL);
        assert_null(r.type);
        assert_non_null(error);
        if (!strstr(error, error_part))
                fail_msg("'%s': error '%s' does not mention '%s'", arg, error, error_part);
        free(error);
}

static void test_ulimit(void **state)
{
        check_ulimit("nofile=1024:4096", "nofile", 1024, 4096);
        check_ulimit("nofile=1024", "nofile", 1024, 1024);      /* HARD defaults to SOFT */
        check_ulimit("NOFILE=10", "nofile", 10, 10);
        check_ulimit("RLIMIT_NPROC=10:20", "nproc", 10, 20);
        check_ulimit("rlimit_core=0", "core", 0, 0);
        check_ulimit("core=unlimited", "core", QUILT_RLIMIT_UNLIMITED, QUILT_RLIMIT_UNLIMITED);
        check_ulimit("core=-1", "core", QUILT_RLIMIT_UNLIMITED, QUILT_RLIMIT_UNLIMITED);
        check_ulimit("stack=8388608:unlimited", "stack", 8388608, QUILT_RLIMIT_UNLIMITED);
        check_ulimit("memlock=18446744073709551614", "memlock", UINT64_MAX - 1, UINT64_MAX - 1);
}

static void test_ulimit_errors(void **state)
{
        check_ulimit_error("nofile", "NAME=SOFT[:HARD]");
        check_ulimit_error("=5", "NAME=SOFT[:HARD]");
        check_ulimit_error("files=5", "unknown limit 'files'");
        check_ulimit_error("RLIMIT_=5", "unknown limit");
        check_ulimit_error("nofile=", "missing");
        check_ulimit_error("nofile=10:", "missing");
        check_ulimit_error("nofile=ten", "'ten' is not a number");
        check_ulimit_error("nofile=+5", "not a number");
        check_ulimit_error("nofile=4096:1024", "above the hard limit");
        check_ulimit_error("nofile=unlimited:1024", "above the hard limit");
        check_ulimit_error("memlock=18446744073709551615", "too large");
        check_ulimit_error("memlock=99999999999999999999", "too large");
}

static void test_volume_names(void **state)
{
        assert_true(quilt_volume_name_is_valid("a"));
        assert_true(quilt_volume_name_is_valid("A0_.-"));
        assert_false(quilt_volume_name_is_valid(""));
        assert_false(quilt_volume_name_is_valid("-a"));
        assert_false(quilt_volume_name_is_valid(".a"));
        assert_false(quilt_volume_name_is_valid("a/b"));
        assert_false(quilt_volume_name_is_valid("a:b"));
        assert_false(quilt_volume_name_is_valid("\xc3\xa9"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_volume_bind_and_named),
                cmocka_unit_test(test_volume_errors),
                cmocka_unit_test(test_mount_long_form),
                cmocka_unit_test(test_mount_errors),
                cmocka_unit_test(test_tmpfs),
                cmocka_unit_test(test_ulimit),
                cmocka_unit_test(test_ulimit_errors),
                cmocka_unit_test(test_volume_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
