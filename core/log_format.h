/* SPDX-License-Identifier: MIT */
/* Container logs on disk: one record per chunk of output, as the monitor
 * read it from the container's pipe (at most 64 KiB):
 *
 *   2026-11-30T08:00:00.123456789Z stdout 6\n
 *   hello\n
 *   \n
 *
 * a header line (RFC 3339 time, stream, byte count), the bytes as they
 * came (binary-safe, any newlines inside), then one '\n'.  Output of
 * setup command N carries " setup=N" at the end of its header line:
 *
 *   2026-11-30T08:00:00.123456789Z stderr 12 setup=1\n  The layout
 * follows the CRI log format's header, but a record is a chunk, not a
 * line: `yes` printing 50 MB costs 50 MB on disk and ~800 records to
 * stream, where per-line records would cost 20 times that.  Nothing is
 * held in memory and a reader can follow the file while it grows. */
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
/* "TIMESTAMP stdout 1048576 setup=4294967295\n" */
#define QUILT_LOG_HEADER_MAX (QUILT_LOG_TIMESTAMP_LEN + 1 + 6 + 1 + 7 + 7 + 10 + 1)
/* Larger records are refused: the monitor never writes more than a pipe read. */
#define QUILT_LOG_RECORD_MAX (1024 * 1024)

struct quilt_log_record {
        int64_t timestamp_ns;
        enum quilt_log_stream_id stream;
        uint32_t setup_command;                 /* 1.. for setup command N, 0 for the command */
        const char *content;                    /* points into the parsed buffer */
        size_t len;
};

/* Write `len` bytes of output (at most QUILT_LOG_RECORD_MAX) as one
 * record with one writev; `setup_command` 0 for the command's output. */
int quilt_log_write(int fd, int64_t timestamp_ns, enum quilt_log_stream_id stream,
                    uint32_t setup_command, const char *data, size_t len);

/* Parse the record at the start of buf.  Returns the bytes it takes (> 0),
 * 0 when buf holds only part of it (read more), -EINVAL when malformed. */
long quilt_log_parse_record(const char *buf, size_t len, struct quilt_log_record *ret);

int quilt_log_format_timestamp(char buf[QUILT_LOG_TIMESTAMP_LEN + 1], int64_t ns);
int quilt_log_parse_timestamp(const char *s, size_t len, int64_t *ret_ns);

#endif
