/* SPDX-License-Identifier: MIT */
/* ExecContainer: server-streaming.  The request carries stdin whole; the
 * call thread writes it into the exec's stdin pipe while it streams the
 * stdout and stderr chunks as they come, then sends one last message with
 * the exit status.  A timeout or a client that goes away SIGKILLs the
 * command. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exec.h"
#include "rpc.h"
#include "server.h"
#include "util.h"

#define EXEC_POLL_MS 100
#define EXEC_CHUNK (64 * 1024)
/* After the command exited, how long output may still trickle in (from
 * processes it left behind holding the pipes) before the call ends. */
#define EXEC_DRAIN_AFTER_EXIT_NS (200LL * 1000000)

static void exec_freep(struct quilt_exec **x)
{
        quilt_exec_free(*x);
}

static int send_chunk(struct quilt_call *call, struct quilt_exec *x, int source, uint8_t *data,
                      size_t len, struct quilt_status *st)
{
        Quilt__V1__ExecContainerResponse resp = QUILT__V1__EXEC_CONTAINER_RESPONSE__INIT;
        resp.source = source;
        resp.content.data = data;
        resp.content.len = len;
        resp.exec_id = x->record->id;
        int r = quilt_call_send(call, &resp.base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

/* Read what one output pipe has now.  1: data sent or nothing yet; 0: EOF
 * (fd closed); -1: the call failed. */
static int pump(struct quilt_call *call, struct quilt_exec *x, int *fd, int source, uint8_t *buf,
                struct quilt_status *st)
{
        ssize_t n = read(*fd, buf, EXEC_CHUNK);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 1;
        if (n <= 0) {
                quilt_closep(fd);
                return 0;
        }
        return send_chunk(call, x, source, buf, (size_t)n, st) < 0 ? -1 : 1;
}

/* -1 (CANCELLED, the command killed) when the client went away; else 0,
 * with the command killed once its timeout passed. */
static int watch(struct quilt_call *call, struct quilt_exec *x, struct quilt_status *st)
{
        if (quilt_call_cancelled(call)) {
                quilt_exec_kill(x, false);
                return quilt_status_set(st, QUILT_CANCELLED, "call cancelled");
        }
        quilt_exec_check_timeout(x);
        return 0;
}

int quilt_rpc_exec(struct quilt_call *call, struct quilt_manager *m, const ProtobufCMessage *msg,
                   struct quilt_status *st)
{
        const Quilt__V1__ExecContainerRequest *req = (const void *)msg;
        _cleanup_(exec_freep) struct quilt_exec *x = NULL;
        if (quilt_exec_start(m, req, &x, st) < 0)
                return -1;
        _cleanup_free_ uint8_t *buf = malloc(EXEC_CHUNK);
        if (!buf) {
                quilt_exec_kill(x, false);
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        }

        const uint8_t *in = req->stdin.data;
        size_t in_left = req->stdin.len;
        if (in_left == 0)
                quilt_closep(&x->stdin_fd);
        bool gone = false;
        int64_t exited_at = 0;
        int code = 0, sig = 0;

        for (;;) {
                if (watch(call, x, st) < 0)
                        return -1;
                int64_t now = quilt_monotonic_ns();
                if (!exited_at && quilt_exec_exited(x, &code, &sig, &gone))
                        exited_at = now;
                if (x->stdout_fd < 0 && x->stderr_fd < 0)
                        break;
                if (gone || (exited_at && now - exited_at > EXEC_DRAIN_AFTER_EXIT_NS))
                        break;

                struct pollfd p[3];
                int kind[3];
                nfds_t n = 0;
                if (x->stdout_fd >= 0) {
                        kind[n] = 1;
                        p[n++] = (struct pollfd){ .fd = x->stdout_fd, .events = POLLIN };
                }
                if (x->stderr_fd >= 0) {
                        kind[n] = 2;
                        p[n++] = (struct pollfd){ .fd = x->stderr_fd, .events = POLLIN };
                }
                if (x->stdin_fd >= 0) {
                        kind[n] = 0;
                        p[n++] = (struct pollfd){ .fd = x->stdin_fd, .events = POLLOUT };
                }
                if (poll(p, n, EXEC_POLL_MS) < 0 && errno != EINTR)
                        return quilt_status_set(st, QUILT_INTERNAL, "poll: %s", strerror(errno));
                for (nfds_t i = 0; i < n; i++) {
                        if (!p[i].revents)
                                continue;
                        if (kind[i] == 0) {
                                ssize_t w = write(x->stdin_fd, in, in_left);
                                if (w > 0) {
                                        in += w;
                                        in_left -= (size_t)w;
                                }
                                /* Written, or the command closed its stdin. */
                                if (in_left == 0 || (w < 0 && errno != EAGAIN && errno != EINTR))
                                        quilt_closep(&x->stdin_fd);
                                continue;
                        }
                        int *fd = kind[i] == 1 ? &x->stdout_fd : &x->stderr_fd;
                        int source = kind[i] == 1 ? QUILT__V1__LOG_SOURCE__LOG_SOURCE_STDOUT
                                                  : QUILT__V1__LOG_SOURCE__LOG_SOURCE_STDERR;
                        if (pump(call, x, fd, source, buf, st) < 0) {
                                quilt_exec_kill(x, false);
                                return -1;
                        }
                }
        }
        quilt_closep(&x->stdin_fd);

        /* The output is complete: now the status. */
        while (!quilt_exec_exited(x, &code, &sig, &gone) && !gone) {
                if (watch(call, x, st) < 0)
                        return -1;
                quilt_exec_wait(x, EXEC_POLL_MS);
        }
        if (gone)
                return quilt_status_set(st, QUILT_ABORTED, "the container ended during the exec");

        Quilt__V1__ExecContainerResponse resp = QUILT__V1__EXEC_CONTAINER_RESPONSE__INIT;
        resp.exited = true;
        resp.exit_code = code;
        resp.exit_signal = sig;
        resp.timed_out = x->timed_out;
        resp.exec_id = x->record->id;
        int r = quilt_call_send(call, &resp.base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}
