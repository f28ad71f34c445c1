/* SPDX-License-Identifier: MIT */
/* quilt-cli's resource option values (--memory, --cpus, --cpu-weight,
 * --pids) and how it displays sizes, CPUs and times. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "units.h"

static void check_size(const char *s, int64_t expected)
{
        int64_t v = -12345;
        const char *error = "unset";

        assert_int_equal(quilt_parse_size(s, &v, &error), 0);
        assert_int_equal(v, expected);
        assert_string_equal(error, "unset");     /* only set on failure */
}

static void check_size_error(const char *s, int expected_r, const char *error_part)
{
        int64_t v = -12345;
        const char *error = NULL;

        assert_int_equal(quilt_parse_size(s, &v, &error), expected_r);
        assert_int_equal(v, -12345);            /* untouched */
        assert_non_null(error);
        assert_non_null(strstr(error, error_part));
}

static void test_size_plain_and_units(void **state)
{
        check_size("1", 1);
        check_size("1048576", 1048576);
        check_size("1b", 1);
        check_size("100B", 100);
        check_size("512k", 512 * 1024);
        check_size("512K", 512 * 1024);
        check_size("512kb", 512 * 1024);
        check_size("512KiB", 512 * 1024);
        check_size("512kib", 512 * 1024);
        check_size("64M", 64 << 20);
        check_size("64m", 64 << 20);
        check_size("64MB", 64 << 20);
        check_size("64MiB", 64 << 20);
        check_size("1G", INT64_C(1) << 30);
        check_size("1g", INT64_C(1) << 30);
        check_size("3GiB", INT64_C(3) << 30);
        check_size("2T", INT64_C(2) << 40);
        check_size("2TiB", INT64_C(2) << 40);
        check_size("007k", 7 * 1024);
}

static void test_size_fractions(void **state)
{
        check_size("1.5G", INT64_C(3) << 29);
        check_size("1.5k", 1536);
        check_size(".5M", 512 * 1024);
        check_size("0.5M", 512 * 1024);
        /* Truncated to whole bytes. */
        check_size("0.1k", 102);
        check_size("1.9", 1);
        check_size("1.999999999999999999999999k", 2047);
}

static void test_size_fraction_to_zero(void **state)
{
        check_size_error("0.000000000000000000001G", -EINVAL, "greater than 0");
        check_size_error("0.5", -EINVAL, "greater than 0");
        check_size_error("0.5b", -EINVAL, "greater than 0");
}

static void test_size_rejects_zero_and_negative(void **state)
{
        check_size_error("0", -EINVAL, "greater than 0");
        check_size_error("0M", -EINVAL, "greater than 0");
        check_size_error("0.0G", -EINVAL, "greater than 0");
        check_size_error("-1", -EINVAL, "negative");
        check_size_error("-64M", -EINVAL, "negative");
        check_size_error("-.5G", -EINVAL, "negative");
}

static void test_size_rejects_garbage(void **state)
{
        const char *bad[] = {
                "", " ", "M", "k", "b", ".", ".M", "1.", "1.M", "1..5M", "1.5.5M",
                "64X", "64 M", " 64M", "64M ", "+64M", "0x10", "1e6", "64Mi", "64MBB",
                "64Bk", "12,5M", "1_000", "--cpus", "-", "-M", "64M\n", "inf", "nan",
                "1P", "1E",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                check_size_error(bad[i], -EINVAL, "is not a size");
}

static void test_size_overflow(void **state)
{
        check_size("9223372036854775807", INT64_MAX);
        check_size("9223372036854775807b", INT64_MAX);
        check_size_error("9223372036854775808", -ERANGE, "too large");
        check_size_error("99999999999999999999999999", -ERANGE, "too large");
        check_size("8388607T", INT64_C(8388607) << 40);
        check_size_error("8388608T", -ERANGE, "too large");
        check_size("8589934591G", INT64_C(8589934591) << 30);
        check_size_error("8589934592G", -ERANGE, "too large");
        /* A fraction stays below one more unit: never past INT64_MAX. */
        check_size("8388607.999999999999T", (INT64_C(8388607) << 40) + 1099511627774);
        check_size("8589934591.99999999999G", INT64_MAX);
        check_size("9007199254740991.99999K", INT64_MAX);
}

static void check_cpus(const char *s, int64_t expected)
{
        int64_t v = -1;
        assert_int_equal(quilt_parse_cpus(s, &v, NULL), 0);
        assert_int_equal(v, expected);
}

static void check_cpus_error(const char *s, int expected_r, const char *error_part)
{
        int64_t v = -12345;
        const char *error = NULL;

        assert_int_equal(quilt_parse_cpus(s, &v, &error), expected_r);
        assert_int_equal(v, -12345);
        assert_non_null(error);
        assert_non_null(strstr(error, error_part));
}

static void test_cpus(void **state)
{
        check_cpus("0.5", 500);
        check_cpus(".5", 500);
        check_cpus("1", 1000);
        check_cpus("2", 2000);
        check_cpus("1.25", 1250);
        check_cpus("1.125", 1125);
        check_cpus("0.001", 1);
        check_cpus("0.100", 100);
        check_cpus("0.5000000", 500);   /* extra zeros change nothing */
        check_cpus("64", 64000);
        check_cpus("9223372036854775.807", INT64_MAX);
}

static void test_cpus_errors(void **state)
{
        check_cpus_error("0", -EINVAL, "greater than 0");
        check_cpus_error("0.000", -EINVAL, "greater than 0");
        check_cpus_error("0.0004", -EINVAL, "three decimals");
        check_cpus_error("1.0001", -EINVAL, "three decimals");
        check_cpus_error("-1", -EINVAL, "negative");
        check_cpus_error("-0.5", -EINVAL, "negative");
        check_cpus_error("9223372036854776", -ERANGE, "too large");
        check_cpus_error("99999999999999999999", -ERANGE, "too large");
        const char *bad[] = { "", ".", "1.", "abc", "1,5", "0.5c", " 1", "1 ", "+1", "1e3", "0x1", "--pids", "-" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                check_cpus_error(bad[i], -EINVAL, "not a number of CPUs");
}

static void test_int_range(void **state)
{
        int64_t v = 0;
        const char *error = NULL;

        assert_int_equal(quilt_parse_int_range("1", 1, 10000, &v, &error), 0);
        assert_int_equal(v, 1);
        assert_int_equal(quilt_parse_int_range("10000", 1, 10000, &v, &error), 0);
        assert_int_equal(v, 10000);
        assert_int_equal(quilt_parse_int_range("0100", 1, 10000, &v, &error), 0);
        assert_int_equal(v, 100);
        assert_int_equal(quilt_parse_int_range("9223372036854775807", 1, INT64_MAX, &v, &error), 0);
        assert_int_equal(v, INT64_MAX);

        v = 77;
        assert_int_equal(quilt_parse_int_range("0", 1, 10000, &v, &error), -ERANGE);
        assert_string_equal(error, "is out of range");
        assert_int_equal(quilt_parse_int_range("10001", 1, 10000, &v, &error), -ERANGE);
        assert_int_equal(quilt_parse_int_range("-5", 1, 10000, &v, &error), -ERANGE);
        assert_int_equal(quilt_parse_int_range("9223372036854775808", 1, INT64_MAX, &v, &error), -ERANGE);
        assert_int_equal(quilt_parse_int_range("99999999999999999999999", 1, INT64_MAX, &v, &error), -ERANGE);
        assert_int_equal(v, 77);

        const char *bad[] = { "", "x", "1.5", "1k", " 1", "1 ", "+1", "0x10", "-", "-x", "--pids",
                              "99999999999999999999999x", "-1x" };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                error = NULL;
                assert_int_equal(quilt_parse_int_range(bad[i], 1, INT64_MAX, &v, &error), -EINVAL);
                assert_string_equal(error, "is not a whole number");
        }
        assert_int_equal(v, 77);
}

#define FMT(fn, value, expected) do {                           \
                char buf[32];                                   \
                memset(buf, 'x', sizeof(buf));                  \
                fn(value, buf, sizeof(buf));                    \
                assert_string_equal(buf, expected);             \
        } while (0)

static void test_format_bytes(void **state)
{
        FMT(quilt_format_bytes, -1, "-");
        FMT(quilt_format_bytes, 0, "0 B");
        FMT(quilt_format_bytes, 1023, "1023 B");
        FMT(quilt_format_bytes, 1024, "1.0 KiB");
        FMT(quilt_format_bytes, 1536, "1.5 KiB");
        FMT(quilt_format_bytes, 2047, "1.9 KiB");   /* truncated, never rounded up */
        FMT(quilt_format_bytes, 12897484, "12.2 MiB");  /* 12.29999 */
        FMT(quilt_format_bytes, 12897485, "12.3 MiB");
        FMT(quilt_format_bytes, INT64_C(1) << 30, "1.0 GiB");
        FMT(quilt_format_bytes, (INT64_C(5) << 40) + (INT64_C(1) << 39), "5.5 TiB");
        FMT(quilt_format_bytes, INT64_MAX, "7.9 EiB");
}

static void test_format_bytes_exact(void **state)
{
        FMT(quilt_format_bytes_exact, 0, "-");
        FMT(quilt_format_bytes_exact, -1, "-");
        FMT(quilt_format_bytes_exact, 1, "1 B");
        FMT(quilt_format_bytes_exact, 1536, "1536 B");
        FMT(quilt_format_bytes_exact, 1000000, "1000000 B");
        FMT(quilt_format_bytes_exact, 524288, "512 KiB");
        FMT(quilt_format_bytes_exact, 64 << 20, "64 MiB");
        FMT(quilt_format_bytes_exact, INT64_C(1536) << 20, "1536 MiB");
        FMT(quilt_format_bytes_exact, INT64_C(3) << 30, "3 GiB");
        FMT(quilt_format_bytes_exact, INT64_C(1) << 62, "4 EiB");
        FMT(quilt_format_bytes_exact, INT64_MAX, "9223372036854775807 B");
}

static void test_format_cpus_and_seconds(void **state)
{
        FMT(quilt_format_cpus, 0, "-");
        FMT(quilt_format_cpus, -5, "-");
        FMT(quilt_format_cpus, 1, "0.001");
        FMT(quilt_format_cpus, 10, "0.01");
        FMT(quilt_format_cpus, 500, "0.5");
        FMT(quilt_format_cpus, 1000, "1");
        FMT(quilt_format_cpus, 1250, "1.25");
        FMT(quilt_format_cpus, 2125, "2.125");
        FMT(quilt_format_cpus, 64000, "64");

        FMT(quilt_format_seconds, -1, "-");
        FMT(quilt_format_seconds, 0, "0.000 s");
        FMT(quilt_format_seconds, 999999, "0.000 s");
        FMT(quilt_format_seconds, 1234567890, "1.234 s");
        FMT(quilt_format_seconds, INT64_C(3600) * 1000000000, "3600.000 s");
}

/* Every value the parsers accept reads back the same through the exact
 * formatters, and the parsers take what the formatters print (minus the
 * space), so a limit shown by status can be given again to update. */
static void test_round_trip(void **state)
{
        static const int64_t sizes[] = { 1, 1536, 524288, 64 << 20, INT64_C(3) << 30, INT64_C(7) << 40 };
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                char buf[32], *sp;
                int64_t v = 0;
                quilt_format_bytes_exact(sizes[i], buf, sizeof(buf));
                sp = strchr(buf, ' ');
                assert_non_null(sp);
                memmove(sp, sp + 1, strlen(sp));
                assert_int_equal(quilt_parse_size(buf, &v, NULL), 0);
                assert_int_equal(v, sizes[i]);
        }
        for (int64_t m = 1; m < 5000; m += 7) {
                char buf[32];
                int64_t v = 0;
                quilt_format_cpus(m, buf, sizeof(buf));
                assert_int_equal(quilt_parse_cpus(buf, &v, NULL), 0);
                assert_int_equal(v, m);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_size_plain_and_units),
                cmocka_unit_test(test_size_fractions),
                cmocka_unit_test(test_size_fraction_to_zero),
                cmocka_unit_test(test_size_rejects_zero_and_negative),
                cmocka_unit_test(test_size_rejects_garbage),
                cmocka_unit_test(test_size_overflow),
                cmocka_unit_test(test_cpus),
                cmocka_unit_test(test_cpus_errors),
                cmocka_unit_test(test_int_range),
                cmocka_unit_test(test_format_bytes),
                cmocka_unit_test(test_format_bytes_exact),
                cmocka_unit_test(test_format_cpus_and_seconds),
                cmocka_unit_test(test_round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
