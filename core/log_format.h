/* SPDX-License-Identifier: MIT */
/* Container logs on disk, one record per line in the CRI format:
 *
 *   2026-11-30T08:00:00.123456789Z stdout F hello
 *
 * "F" ends a line of output (the reader appends the newline), "P" is a
 * piece of a longer line or output without a trailing newline.  Records
 * are written by the monitor as output arrives, so nothing is held in
 * memory and a reader can follow the file while it grows. */
#ifndef QUILT_LOG_FORMAT_H
#define QUILT_LOG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum quilt_log_stream_id {
        QUILT_LOG_STDOUT = 1,                   /* = quilt.v1.LogSource */
        QUILT_LOG_STDERR = 2,
};

#define QUILT_LOG_TIMESTAMP_LEN 30              /* 2026-11-30T08:00:00.123456789Z */
/* Header: timestamp, space, "stdout"/"stderr", space, P|F, space. */
#define QUILT_LOG_HEADER_MAX (QUILT_LOG_TIMESTAMP_LEN + 1 + 6 + 1 + 1 + 1)

struct quilt_log_record {
        int64_t timestamp_ns;
        enum quilt_log_stream_id stream;
        bool partial;
        const char *content;                    /* points into the parsed line */
        size_t len;                             /* without the newline */
};

/* Write the header of a record into buf (at least QUILT_LOG_HEADER_MAX
 * bytes); returns its length. */
size_t quilt_log_format_header(char *buf, int64_t timestamp_ns, enum quilt_log_stream_id stream,
                               bool partial);

/* Write `len` bytes of output as records to fd: one F record per complete
 * line, a P record for a trailing piece without newline. */
int quilt_log_write(int fd, int64_t timestamp_ns, enum quilt_log_stream_id stream,
                    const char *data, size_t len);

/* Parse one line (without its '\n').  -EINVAL when malformed. */
int quilt_log_parse_line(const char *line, size_t len, struct quilt_log_record *ret);

int quilt_log_format_timestamp(char buf[QUILT_LOG_TIMESTAMP_LEN + 1], int64_t ns);
int quilt_log_parse_timestamp(const char *s, size_t len, int64_t *ret_ns);

#endif
