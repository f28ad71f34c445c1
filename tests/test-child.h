/* SPDX-License-Identifier: MIT */
/* For unit tests that run a helper binary as a child (quilt-init,
 * quilt-exec): waiting with a deadline and reading with one, so a hang
 * fails the test instead of stalling it; the helpers' error report.
 * Include after <cmocka.h>. */
#ifndef QUILT_TEST_CHILD_H
#define QUILT_TEST_CHILD_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child_protocol.h"

/* waitpid with a deadline; on timeout the child is killed and the test fails. */
static inline int wait_status(pid_t pid, int timeout_ms)
{
        int status;
        for (int waited = 0;; waited += 10) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid)
                        return status;
                assert_int_equal(r, 0);
                if (waited >= timeout_ms) {
                        kill(pid, SIGKILL);
                        waitpid(pid, &status, 0);
                        fail_msg("pid %d did not exit within %d ms", (int)pid, timeout_ms);
                }
                usleep(10 * 1000);
        }
}

static inline int exit_code(int status)
{
        if (!WIFEXITED(status))
                fail_msg("not a normal exit: status 0x%x", status);
        return WEXITSTATUS(status);
}

/* One read that must bring something (or EOF) within timeout_ms. */
static inline ssize_t read_timeout(int fd, void *buf, size_t len, int timeout_ms)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r;
        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r == 0)
                fail_msg("no data on fd %d within %d ms", fd, timeout_ms);
        ssize_t n;
        do
                n = read(fd, buf, len);
        while (n < 0 && errno == EINTR);
        assert_true(n >= 0);
        return n;
}

/* A helper that failed before its command reports it on its --error-fd:
 * one whole QUILT_CHILD_ERROR message with `code` and `message` (NUL-
 * terminated in its buffer), then EOF.  Closes fd. */
static inline void expect_child_error(int fd, int code, const char *message)
{
        struct quilt_child_message msg;
        assert_int_equal(read_timeout(fd, &msg, sizeof(msg), 10000), sizeof(msg));
        assert_int_equal(msg.type, QUILT_CHILD_ERROR);
        assert_int_equal(msg.code, code);
        assert_non_null(memchr(msg.message, '\0', sizeof(msg.message)));
        assert_string_equal(msg.message, message);
        /* one message, then EOF */
        assert_int_equal(read_timeout(fd, &msg, sizeof(msg), 10000), 0);
        close(fd);
}

#endif
