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

static char *read_all(FILE *f, size_t *ret_len)
{
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        rewind(f);
        char *buf = malloc((size_t)n + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
        *ret_len = (size_t)n;
        return buf;
}

/* Write output through quilt_log_write, then parse it back: the bytes,
 * binary ones included, and the streams must come back exactly. */
static void test_write_parse(void **state)
{
        FILE *f = tmpfile();
        assert_non_null(f);
        int fd = fileno(f);
        const char out1[] = "hello\nworld\npartial";
        const char bin[] = { 'a', '\0', '\n', '\xff', 'b' };
        assert_int_equal(quilt_log_write(fd, 5, QUILT_LOG_STDOUT, 0, out1, strlen(out1)), 0);
        assert_int_equal(quilt_log_write(fd, 6, QUILT_LOG_STDERR, 3, bin, sizeof(bin)), 0);
        assert_int_equal(quilt_log_write(fd, 7, QUILT_LOG_STDOUT, 0, "", 0), 0);
        assert_int_equal(quilt_log_write(fd, 8, QUILT_LOG_STDOUT, 0, " rest\n", 6), 0);

        size_t len;
        char *buf = read_all(f, &len);
        struct quilt_log_record rec;
        size_t off = 0;
        long used;

        used = quilt_log_parse_record(buf, len, &rec);
        assert_true(used > 0);
        assert_int_equal(rec.stream, QUILT_LOG_STDOUT);
        assert_int_equal(rec.setup_command, 0);
        assert_true(rec.timestamp_ns == 5);
        assert_int_equal(rec.len, strlen(out1));
        assert_memory_equal(rec.content, out1, rec.len);
        off += (size_t)used;

        used = quilt_log_parse_record(buf + off, len - off, &rec);
        assert_true(used > 0);
        assert_int_equal(rec.stream, QUILT_LOG_STDERR);
        assert_int_equal(rec.setup_command, 3);
        assert_int_equal(rec.len, sizeof(bin));
        assert_memory_equal(rec.content, bin, sizeof(bin));
        off += (size_t)used;

        used = quilt_log_parse_record(buf + off, len - off, &rec);
        assert_true(used > 0);
        assert_int_equal(rec.len, 0);
        off += (size_t)used;

        /* Every truncation of the last record asks for more, never fails. */
        for (size_t cut = 0; cut < len - off; cut++)
                assert_int_equal(quilt_log_parse_record(buf + off, cut, &rec), 0);
        used = quilt_log_parse_record(buf + off, len - off, &rec);
        assert_int_equal((size_t)used, len - off);
        assert_memory_equal(rec.content, " rest\n", 6);
        free(buf);
        fclose(f);
}

static void test_parse_rejects(void **state)
{
        struct quilt_log_record rec;
        const char *bad[] = {
                "garbage that is long enough to hold a whole header line\n",
                "2026-11-30T08:00:00.123456789Z stdin 1\nx\n",
                "2026-11-30T08:00:00.123456789Z stdout \nx\n",
                "2026-11-30T08:00:00.123456789Z stdout 1x\nx\n",
                "2026-11-30T08:00:00.123456789Z stdout 1\nxy",
                "2026-11-30T08:00:00.123456789Z stdout 99999999\n",
                "2026-11-30T08:00:00.123456789Z stdout 1 setup=\nx\n",
                "2026-11-30T08:00:00.123456789Z stdout 1 setup=x\nx\n",
                "2026-11-30T08:00:00.123456789Z stdout 1 sotup=1\nx\n",
                "2026-11-30T08:00:00.123456789Z stdout 1 setup=99999999999\nx\n",
                "2026-11-30T08:00:00.123456789Z stdout 1 \nx\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                assert_int_equal(quilt_log_parse_record(bad[i], strlen(bad[i]), &rec), -EINVAL);
        const char *ok = "2026-11-30T08:00:00.123456789Z stderr 2\nhi\n";
        assert_int_equal(quilt_log_parse_record(ok, strlen(ok), &rec), (long)strlen(ok));
        assert_int_equal(rec.len, 2);
        assert_int_equal(rec.stream, QUILT_LOG_STDERR);
        const char *tagged = "2026-11-30T08:00:00.123456789Z stdout 2 setup=12\nhi\n";
        assert_int_equal(quilt_log_parse_record(tagged, strlen(tagged), &rec), (long)strlen(tagged));
        assert_int_equal(rec.setup_command, 12);
        assert_int_equal(quilt_log_write(-1, 0, QUILT_LOG_STDOUT, 0, ok, QUILT_LOG_RECORD_MAX + 1), -E2BIG);
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
