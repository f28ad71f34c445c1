/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#include "client.h"

struct quilt_client {
        grpc_channel *channel;
};

/* Log replies can carry large chunks and ps may list many containers;
 * grpc's default 4 MiB receive limit would fail those calls. */
#define MAX_RECEIVE_BYTES (64 << 20)

void quilt_client_error_clear(struct quilt_client_error *err)
{
        if (!err)
                return;
        free(err->message);
        *err = (struct quilt_client_error) { .code = GRPC_STATUS_OK };
}

__attribute__((format(printf, 3, 4)))
static void error_set(struct quilt_client_error *err, int code, const char *fmt, ...)
{
        if (!err)
                return;
        free(err->message);
        err->message = NULL;
        err->code = code;
        err->unreachable = false;
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(&err->message, fmt, ap) < 0)
                err->message = NULL;
        va_end(ap);
}

const char *quilt_client_status_name(int code)
{
        static const char *const names[] = {
                [GRPC_STATUS_OK] = "OK",
                [GRPC_STATUS_CANCELLED] = "CANCELLED",
                [GRPC_STATUS_UNKNOWN] = "UNKNOWN",
                [GRPC_STATUS_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
                [GRPC_STATUS_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
                [GRPC_STATUS_NOT_FOUND] = "NOT_FOUND",
                [GRPC_STATUS_ALREADY_EXISTS] = "ALREADY_EXISTS",
                [GRPC_STATUS_PERMISSION_DENIED] = "PERMISSION_DENIED",
                [GRPC_STATUS_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
                [GRPC_STATUS_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
                [GRPC_STATUS_ABORTED] = "ABORTED",
                [GRPC_STATUS_OUT_OF_RANGE] = "OUT_OF_RANGE",
                [GRPC_STATUS_UNIMPLEMENTED] = "UNIMPLEMENTED",
                [GRPC_STATUS_INTERNAL] = "INTERNAL",
                [GRPC_STATUS_UNAVAILABLE] = "UNAVAILABLE",
                [GRPC_STATUS_DATA_LOSS] = "DATA_LOSS",
                [GRPC_STATUS_UNAUTHENTICATED] = "UNAUTHENTICATED",
        };
        static char other[32];

        if (code >= 0 && (size_t)code < sizeof(names) / sizeof(names[0]) && names[code])
                return names[code];
        snprintf(other, sizeof(other), "STATUS_%d", code);
        return other;
}

/* grpc reports connection trouble through gpr_log at ERROR level, on top
 * of the status the call returns; we print that status ourselves, once.
 * GRPC_VERBOSITY or GRPC_TRACE in the environment keep grpc's own log. */
static void quiet_log(gpr_log_func_args *args)
{
}

int quilt_client_open(const char *socket_path, struct quilt_client **ret)
{
        struct quilt_client *c = calloc(1, sizeof(*c));
        char *target = NULL;

        if (!c || asprintf(&target, "unix:%s", socket_path) < 0) {
                free(c);
                return -ENOMEM;
        }

        if (!getenv("GRPC_VERBOSITY") && !getenv("GRPC_TRACE"))
                gpr_set_log_function(quiet_log);
        grpc_init();

        grpc_arg args[] = {
                { .type = GRPC_ARG_INTEGER, .key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                  .value.integer = MAX_RECEIVE_BYTES },
        };
        grpc_channel_args channel_args = { .num_args = sizeof(args) / sizeof(args[0]), .args = args };
        grpc_channel_credentials *creds = grpc_insecure_credentials_create();
        c->channel = grpc_channel_create(target, creds, &channel_args);
        grpc_channel_credentials_release(creds);
        free(target);

        *ret = c;
        return 0;
}

void quilt_client_free(struct quilt_client *c)
{
        if (!c)
                return;
        if (c->channel)
                grpc_channel_destroy(c->channel);
        free(c);
        /* From the main thread this cleans up synchronously, so grpc's
         * threads are gone before exit() runs destructors. */
        grpc_shutdown();
}

static gpr_timespec deadline_after(int64_t ms)
{
        if (ms <= 0)
                return gpr_inf_future(GPR_CLOCK_MONOTONIC);
        return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

/* A call with its own pluck queue, and the receive side of its status. */
struct call {
        grpc_completion_queue *cq;
        grpc_call *call;
        grpc_metadata_array initial_md, trailing_md;
        grpc_status_code status;
        grpc_slice details;
        const char *error_string;
        bool got_message;       /* the daemon did answer on this call */
};

static int call_begin(struct quilt_client *c, const char *path, int64_t timeout_ms, struct call *k)
{
        *k = (struct call) { .details = grpc_empty_slice() };
        grpc_metadata_array_init(&k->initial_md);
        grpc_metadata_array_init(&k->trailing_md);
        k->cq = grpc_completion_queue_create_for_pluck(NULL);
        if (!k->cq)
                return -ENOMEM;
        k->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, k->cq,
                                           grpc_slice_from_static_string(path), NULL,
                                           deadline_after(timeout_ms), NULL);
        return k->call ? 0 : -ENOMEM;
}

static void call_end(struct call *k)
{
        if (k->call)
                grpc_call_unref(k->call);
        if (k->cq) {
                /* Every batch we started has been plucked, so the queue is
                 * empty and the shutdown event comes at once. */
                grpc_completion_queue_shutdown(k->cq);
                while (grpc_completion_queue_pluck(k->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME),
                                                   NULL).type != GRPC_QUEUE_SHUTDOWN)
                        ;
                grpc_completion_queue_destroy(k->cq);
        }
        grpc_metadata_array_destroy(&k->initial_md);
        grpc_metadata_array_destroy(&k->trailing_md);
        grpc_slice_unref(k->details);
        gpr_free((void *)k->error_string);
}

/* The ops that open a call: metadata (without wait_for_ready, so a daemon
 * that is not there fails the call at once instead of being waited for),
 * the one request message and the half-close. */
static size_t fill_send_ops(grpc_op *ops, grpc_byte_buffer *req)
{
        ops[0] = (grpc_op) { .op = GRPC_OP_SEND_INITIAL_METADATA };
        ops[1] = (grpc_op) { .op = GRPC_OP_SEND_MESSAGE, .data.send_message.send_message = req };
        ops[2] = (grpc_op) { .op = GRPC_OP_SEND_CLOSE_FROM_CLIENT };
        return 3;
}

static grpc_op status_op(struct call *k)
{
        return (grpc_op) {
                .op = GRPC_OP_RECV_STATUS_ON_CLIENT,
                .data.recv_status_on_client = {
                        .trailing_metadata = &k->trailing_md,
                        .status = &k->status,
                        .status_details = &k->details,
                        .error_string = &k->error_string,
                },
        };
}

/* Wait for the batch tagged `tag`, calling the tick callback between
 * waits when there is one. */
static bool wait_tag(struct call *k, void *tag, const struct quilt_stream_ops *ops, void *userdata)
{
        for (;;) {
                bool ticking = ops && (ops->on_tick || ops->should_cancel) && ops->tick_ms > 0;
                grpc_event ev = grpc_completion_queue_pluck(
                        k->cq, tag,
                        ticking ? deadline_after(ops->tick_ms) : gpr_inf_future(GPR_CLOCK_REALTIME),
                        NULL);
                if (ev.type == GRPC_OP_COMPLETE)
                        return ev.success;
                if (ev.type == GRPC_QUEUE_TIMEOUT && ticking) {
                        if (ops->on_tick)
                                ops->on_tick(userdata);
                        /* The pending batch then completes, failed. */
                        if (ops->should_cancel && ops->should_cancel(userdata))
                                grpc_call_cancel(k->call, NULL);
                        continue;
                }
                return false;   /* shut down: cannot happen while we own the queue */
        }
}

/* Turn the received status into the return value and `err`. */
static int call_result(struct quilt_client *c, struct call *k, struct quilt_client_error *err)
{
        if (k->status == GRPC_STATUS_OK)
                return 0;

        size_t len = GRPC_SLICE_LENGTH(k->details);
        if (len > 0)
                error_set(err, k->status, "%.*s", (int)len, (const char *)GRPC_SLICE_START_PTR(k->details));
        else
                error_set(err, k->status, "%s", quilt_client_status_name(k->status));

        /* UNAVAILABLE is also a status the daemon may answer with itself,
         * and a deadline may pass on a slow answer; only a channel that is
         * not connected means "not reachable" (a socket nobody accepts on
         * ends in DEADLINE_EXCEEDED while still connecting). */
        if (err && !k->got_message &&
            (k->status == GRPC_STATUS_UNAVAILABLE || k->status == GRPC_STATUS_DEADLINE_EXCEEDED) &&
            grpc_channel_check_connectivity_state(c->channel, 0) != GRPC_CHANNEL_READY)
                err->unreachable = true;
        return -EIO;
}

int quilt_client_unary(struct quilt_client *c, enum quilt_method_id m,
                       const ProtobufCMessage *req, int64_t timeout_ms,
                       ProtobufCMessage **ret_resp, struct quilt_client_error *err)
{
        const struct quilt_method *method = &quilt_methods[m];
        grpc_byte_buffer *req_bb = NULL, *resp_bb = NULL;
        struct call k;
        grpc_op ops[6];
        int r;

        *ret_resp = NULL;
        r = call_begin(c, method->path, timeout_ms, &k);
        if (r < 0) {
                error_set(err, GRPC_STATUS_INTERNAL, "cannot create a call: %s", strerror(-r));
                goto out;
        }
        req_bb = quilt_pb_pack(req);

        size_t n = fill_send_ops(ops, req_bb);
        ops[n++] = (grpc_op) { .op = GRPC_OP_RECV_INITIAL_METADATA,
                               .data.recv_initial_metadata.recv_initial_metadata = &k.initial_md };
        ops[n++] = (grpc_op) { .op = GRPC_OP_RECV_MESSAGE, .data.recv_message.recv_message = &resp_bb };
        ops[n++] = status_op(&k);

        grpc_call_error e = grpc_call_start_batch(k.call, ops, n, &k, NULL);
        if (e != GRPC_CALL_OK) {
                error_set(err, GRPC_STATUS_INTERNAL, "grpc_call_start_batch: error %d", e);
                r = -EIO;
                goto out;
        }
        (void)wait_tag(&k, &k, NULL, NULL);

        r = call_result(c, &k, err);
        if (r < 0)
                goto out;
        if (!resp_bb) {
                error_set(err, GRPC_STATUS_INTERNAL, "%s: the daemon sent no reply", method->path);
                r = -EBADMSG;
                goto out;
        }
        *ret_resp = quilt_pb_unpack(resp_bb, method->response);
        if (!*ret_resp) {
                error_set(err, GRPC_STATUS_INTERNAL, "%s: malformed reply", method->path);
                r = -EBADMSG;
        }
out:
        if (req_bb)
                grpc_byte_buffer_destroy(req_bb);
        if (resp_bb)
                grpc_byte_buffer_destroy(resp_bb);
        call_end(&k);
        return r;
}

int quilt_client_stream(struct quilt_client *c, enum quilt_method_id m,
                        const ProtobufCMessage *req, int64_t timeout_ms,
                        const struct quilt_stream_ops *sops, void *userdata,
                        struct quilt_client_error *err)
{
        const struct quilt_method *method = &quilt_methods[m];
        grpc_byte_buffer *req_bb = NULL;
        /* Distinct tags for the three kinds of batches in flight. */
        char tag_start, tag_status, tag_recv;
        bool started = false, status_started = false;
        int local = 0;          /* our own reason to end early, if any */
        struct call k;
        grpc_op ops[4];
        grpc_call_error e;
        int r;

        r = call_begin(c, method->path, timeout_ms, &k);
        if (r < 0) {
                error_set(err, GRPC_STATUS_INTERNAL, "cannot create a call: %s", strerror(-r));
                goto out;
        }
        req_bb = quilt_pb_pack(req);

        size_t n = fill_send_ops(ops, req_bb);
        ops[n++] = (grpc_op) { .op = GRPC_OP_RECV_INITIAL_METADATA,
                               .data.recv_initial_metadata.recv_initial_metadata = &k.initial_md };
        e = grpc_call_start_batch(k.call, ops, n, &tag_start, NULL);
        if (e == GRPC_CALL_OK) {
                started = true;
                ops[0] = status_op(&k);
                e = grpc_call_start_batch(k.call, ops, 1, &tag_status, NULL);
                status_started = e == GRPC_CALL_OK;
        }
        if (e != GRPC_CALL_OK) {
                grpc_call_cancel(k.call, NULL);
                error_set(err, GRPC_STATUS_INTERNAL, "grpc_call_start_batch: error %d", e);
                r = -EIO;
                goto drain;
        }

        for (;;) {
                grpc_byte_buffer *bb = NULL;
                ops[0] = (grpc_op) { .op = GRPC_OP_RECV_MESSAGE, .data.recv_message.recv_message = &bb };
                e = grpc_call_start_batch(k.call, ops, 1, &tag_recv, NULL);
                if (e != GRPC_CALL_OK) {
                        grpc_call_cancel(k.call, NULL);
                        local = -EIO;
                        error_set(err, GRPC_STATUS_INTERNAL, "grpc_call_start_batch: error %d", e);
                        break;
                }
                /* A NULL buffer is the end of the stream (or of the call). */
                if (!wait_tag(&k, &tag_recv, sops, userdata) || !bb) {
                        if (bb)
                                grpc_byte_buffer_destroy(bb);
                        break;
                }
                k.got_message = true;
                ProtobufCMessage *msg = quilt_pb_unpack(bb, method->response);
                grpc_byte_buffer_destroy(bb);
                if (!msg) {
                        grpc_call_cancel(k.call, NULL);
                        local = -EBADMSG;
                        error_set(err, GRPC_STATUS_INTERNAL, "%s: malformed message", method->path);
                        break;
                }
                r = sops->on_message(msg, userdata);
                protobuf_c_message_free_unpacked(msg, NULL);
                if (r < 0) {
                        grpc_call_cancel(k.call, NULL);
                        local = r;
                        error_set(err, GRPC_STATUS_CANCELLED, "cancelled by the client");
                        break;
                }
        }

drain:
        if (started)
                (void)wait_tag(&k, &tag_start, sops, userdata);
        if (status_started)
                (void)wait_tag(&k, &tag_status, sops, userdata);
        if (local < 0)
                r = local;
        else if (status_started)
                r = call_result(c, &k, err);
out:
        if (req_bb)
                grpc_byte_buffer_destroy(req_bb);
        call_end(&k);
        return r;
}
