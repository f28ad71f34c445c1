/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "container_id.h"
#include "util.h"

static void test_ids(void **state)
{
        char a[QUILT_ID_LEN + 1], b[QUILT_ID_LEN + 1];
        assert_int_equal(quilt_id_generate(a), 0);
        assert_int_equal(quilt_id_generate(b), 0);
        assert_true(quilt_id_is_valid(a));
        assert_string_not_equal(a, b);
        assert_false(quilt_id_is_valid("abc"));
        a[3] = 'G';
        assert_false(quilt_id_is_valid(a));
        assert_false(quilt_id_is_valid(NULL));
}

static void test_names(void **state)
{
        assert_true(quilt_name_is_valid("web"));
        assert_true(quilt_name_is_valid("a.b_c-1"));
        assert_false(quilt_name_is_valid(""));
        assert_false(quilt_name_is_valid("-x"));
        assert_false(quilt_name_is_valid("a/b"));
        assert_false(quilt_name_is_valid("../x"));
        assert_false(quilt_name_is_valid("a b"));
        char longname[QUILT_NAME_MAX + 2];
        memset(longname, 'a', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = '\0';
        assert_false(quilt_name_is_valid(longname));
        longname[QUILT_NAME_MAX] = '\0';
        assert_true(quilt_name_is_valid(longname));
}

static void test_hostnames(void **state)
{
        assert_true(quilt_hostname_is_valid("box"));
        assert_true(quilt_hostname_is_valid("a-b.example"));
        assert_false(quilt_hostname_is_valid(""));
        assert_false(quilt_hostname_is_valid("-a"));
        assert_false(quilt_hostname_is_valid("a-"));
        assert_false(quilt_hostname_is_valid("a..b"));
        assert_false(quilt_hostname_is_valid("a_b"));
        assert_false(quilt_hostname_is_valid("a b"));
        char h[70];
        memset(h, 'a', 65);
        h[65] = '\0';
        assert_false(quilt_hostname_is_valid(h));
}

static void test_env_keys(void **state)
{
        assert_true(quilt_env_key_is_valid("PATH"));
        assert_true(quilt_env_key_is_valid("my.var"));
        assert_false(quilt_env_key_is_valid(""));
        assert_false(quilt_env_key_is_valid("A=B"));
        assert_false(quilt_env_key_is_valid("A\nB"));
        assert_false(quilt_env_key_is_valid(NULL));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ids),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_hostnames),
                cmocka_unit_test(test_env_keys),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
