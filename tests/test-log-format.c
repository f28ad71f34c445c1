/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "log_format.h"
#include "util.h"

static void test_timestamp_roundtrip(void **state)
{
        char buf[QUILT_LOG_TIMESTAMP_LEN + 1];
        int64_t ns = 1795939200123456789LL;
        assert_int_equal(quilt_log_format_timestamp(buf, ns), 0);
        assert_int_equal(strlen(buf), QUILT_LOG_TIMESTAMP_LEN);
        int64_t back;
        assert_int_equal(quilt_log_parse_timestamp(buf, strlen(buf), &back), 0);
        assert_true(back == ns);
        assert_int_equal(quilt_log_parse_timestamp("2026-13-01T00:00:00.000000000Z", 30, &back), -EINVAL);
        assert_int_equal(quilt_log_parse_timestamp("2026-01-01 00:00:00.000000000Z", 30, &back), -EINVAL);
        assert_int_equal(quilt_log_parse_timestamp("2026-01-01T00:00:00Z", 20, &back), -EINVAL);
}

/* Write output through quilt_log_write, then parse it back: the bytes
 * and the streams must come back exactly. */
static void test_write_parse(void **state)
{
        FILE *f = tmpfile();
        assert_non_null(f);
        int fd = fileno(f);
        const char out1[] = "hello\nworld\npartial";
        const char err1[] = "\n\nerr line\n";
        assert_int_equal(quilt_log_write(fd, 5, QUILT_LOG_STDOUT, out1, strlen(out1)), 0);
        assert_int_equal(quilt_log_write(fd, 6, QUILT_LOG_STDERR, err1, strlen(err1)), 0);
        assert_int_equal(quilt_log_write(fd, 7, QUILT_LOG_STDOUT, " rest\n", 6), 0);

        rewind(f);
        char line[256];
        char got_out[256] = "", got_err[256] = "";
        int records = 0;
        while (fgets(line, sizeof(line), f)) {
                size_t len = strlen(line);
                assert_true(len > 0 && line[len - 1] == '\n');
                struct quilt_log_record rec;
                assert_int_equal(quilt_log_parse_line(line, len - 1, &rec), 0);
                char *dst = rec.stream == QUILT_LOG_STDOUT ? got_out : got_err;
                strncat(dst, rec.content, rec.len);
                if (!rec.partial)
                        strcat(dst, "\n");
                records++;
        }
        assert_string_equal(got_out, "hello\nworld\npartial rest\n");
        assert_string_equal(got_err, "\n\nerr line\n");
        assert_int_equal(records, 7);
        fclose(f);
}

static void test_parse_rejects(void **state)
{
        struct quilt_log_record rec;
        const char *bad[] = {
                "",
                "garbage",
                "2026-11-30T08:00:00.123456789Z stdin F x",
                "2026-11-30T08:00:00.123456789Z stdout X x",
                "2026-11-30T08:00:00.123456789Z stdout Fx",
                "2026-11-30T08:00:00.123456789Z stdout P",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(quilt_log_parse_line(bad[i], strlen(bad[i]), &rec), -EINVAL);
        const char *ok = "2026-11-30T08:00:00.123456789Z stderr F";
        assert_int_equal(quilt_log_parse_line(ok, strlen(ok), &rec), 0);
        assert_int_equal(rec.len, 0);
        assert_int_equal(rec.stream, QUILT_LOG_STDERR);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_timestamp_roundtrip),
                cmocka_unit_test(test_write_parse),
                cmocka_unit_test(test_parse_rejects),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
