/* SPDX-License-Identifier: MIT */
#include <unistd.h>

#include "log_format.h"
#include "monitor.h"
#include "util.h"

/* A pipe holds 64 KiB by default: one read takes what is there. */
#define PUMP_CHUNK (64 * 1024)

int quilt_log_pump_read(struct quilt_log_pump *pump, int log_fd)
{
        static char buf[PUMP_CHUNK];
        if (pump->fd < 0)
                return 0;
        for (int rounds = 0; rounds < 16; rounds++) {
                ssize_t n = read(pump->fd, buf, sizeof(buf));
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 1;
                        return -errno;
                }
                if (n == 0) {
                        close(pump->fd);
                        pump->fd = -1;
                        return 0;
                }
                int r = quilt_log_write(log_fd, quilt_now_ns(), (enum quilt_log_stream_id)pump->stream,
                                        pump->setup_command, buf, (size_t)n);
                if (r < 0)
                        return r;
        }
        return 1;
}
