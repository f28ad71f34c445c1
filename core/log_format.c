/* SPDX-License-Identifier: MIT */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "log_format.h"
#include "util.h"

int quilt_log_format_timestamp(char buf[QUILT_LOG_TIMESTAMP_LEN + 1], int64_t ns)
{
        time_t secs = (time_t)(ns / 1000000000);
        long frac = (long)(ns % 1000000000);
        struct tm tm;
        if (ns < 0 || !gmtime_r(&secs, &tm))
                return -EINVAL;
        int n = snprintf(buf, QUILT_LOG_TIMESTAMP_LEN + 1, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec, frac);
        return n == QUILT_LOG_TIMESTAMP_LEN ? 0 : -EINVAL;
}

static int parse_digits(const char *s, size_t n, int *ret)
{
        int v = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return 0;
}

int quilt_log_parse_timestamp(const char *s, size_t len, int64_t *ret_ns)
{
        /* Fixed layout: YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ */
        if (len != QUILT_LOG_TIMESTAMP_LEN || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
            s[13] != ':' || s[16] != ':' || s[19] != '.' || s[29] != 'Z')
                return -EINVAL;
        int year, mon, day, hour, min, sec, frac;
        if (parse_digits(s, 4, &year) < 0 || parse_digits(s + 5, 2, &mon) < 0 ||
            parse_digits(s + 8, 2, &day) < 0 || parse_digits(s + 11, 2, &hour) < 0 ||
            parse_digits(s + 14, 2, &min) < 0 || parse_digits(s + 17, 2, &sec) < 0 ||
            parse_digits(s + 20, 9, &frac) < 0)
                return -EINVAL;
        if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60)
                return -EINVAL;
        struct tm tm = {
                .tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day,
                .tm_hour = hour, .tm_min = min, .tm_sec = sec,
        };
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
                return -EINVAL;
        *ret_ns = (int64_t)t * 1000000000 + frac;
        return 0;
}

int quilt_log_write(int fd, int64_t timestamp_ns, enum quilt_log_stream_id stream,
                    uint32_t setup_command, const char *data, size_t len)
{
        if (len > QUILT_LOG_RECORD_MAX)
                return -E2BIG;
        char ts[QUILT_LOG_TIMESTAMP_LEN + 1];
        if (quilt_log_format_timestamp(ts, timestamp_ns) < 0)
                quilt_log_format_timestamp(ts, 0);
        char header[QUILT_LOG_HEADER_MAX + 1];
        const char *name = stream == QUILT_LOG_STDERR ? "stderr" : "stdout";
        int hlen = setup_command
                           ? snprintf(header, sizeof(header), "%s %s %zu setup=%u\n", ts, name, len,
                                      (unsigned)setup_command)
                           : snprintf(header, sizeof(header), "%s %s %zu\n", ts, name, len);
        struct iovec iov[3] = {
                { header, (size_t)hlen },
                { (void *)data, len },
                { (void *)"\n", 1 },
        };
        size_t total = (size_t)hlen + len + 1;
        /* One writev per record: with O_APPEND a record is never split by
         * another writer. */
        ssize_t n;
        do
                n = writev(fd, iov, 3);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        return (size_t)n == total ? 0 : -EIO;
}

/* The decimal number at *p, ending at `end` or a space; *p moves past it.
 * false for no digits, anything else, or more than `max`. */
static bool parse_header_number(const char **p, const char *end, uint64_t max, uint64_t *ret)
{
        const char *start = *p;
        uint64_t v = 0;
        for (; *p < end && **p != ' '; (*p)++) {
                if (**p < '0' || **p > '9')
                        return false;
                v = v * 10 + (uint64_t)(**p - '0');
                if (v > max)
                        return false;
        }
        *ret = v;
        return *p > start;
}

long quilt_log_parse_record(const char *buf, size_t len, struct quilt_log_record *ret)
{
        const char *nl = memchr(buf, '\n', len < QUILT_LOG_HEADER_MAX ? len : QUILT_LOG_HEADER_MAX);
        if (!nl)
                return len < QUILT_LOG_HEADER_MAX ? 0 : -EINVAL;
        size_t hlen = (size_t)(nl - buf);
        /* TIMESTAMP SP stdout|stderr SP digits */
        if (hlen < QUILT_LOG_TIMESTAMP_LEN + 1 + 6 + 2 || buf[QUILT_LOG_TIMESTAMP_LEN] != ' ' ||
            buf[QUILT_LOG_TIMESTAMP_LEN + 7] != ' ')
                return -EINVAL;
        int64_t ts;
        if (quilt_log_parse_timestamp(buf, QUILT_LOG_TIMESTAMP_LEN, &ts) < 0)
                return -EINVAL;
        const char *p = buf + QUILT_LOG_TIMESTAMP_LEN + 1;
        enum quilt_log_stream_id stream;
        if (!memcmp(p, "stdout", 6))
                stream = QUILT_LOG_STDOUT;
        else if (!memcmp(p, "stderr", 6))
                stream = QUILT_LOG_STDERR;
        else
                return -EINVAL;
        uint64_t size, setup = 0;
        p += 7;
        if (!parse_header_number(&p, nl, QUILT_LOG_RECORD_MAX, &size))
                return -EINVAL;
        if (p < nl) {
                if (nl - p < 8 || memcmp(p, " setup=", 7))
                        return -EINVAL;
                p += 7;
                if (!parse_header_number(&p, nl, UINT32_MAX, &setup) || p < nl)
                        return -EINVAL;
        }
        size_t total = hlen + 1 + (size_t)size + 1;
        if (len < total)
                return 0;
        if (buf[total - 1] != '\n')
                return -EINVAL;
        ret->timestamp_ns = ts;
        ret->stream = stream;
        ret->setup_command = (uint32_t)setup;
        ret->content = nl + 1;
        ret->len = (size_t)size;
        return (long)total;
}
