/* SPDX-License-Identifier: MIT */
/* The gRPC call machinery of quilt-cli: one channel to quiltd's Unix socket,
 * a blocking unary call and a blocking server-streaming call. */
#ifndef QUILT_CLIENT_H
#define QUILT_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "grpc_pb.h"

struct quilt_client;

/* Why a call failed.  `code` is a grpc_status_code (GRPC_STATUS_OK when the
 * call succeeded); `message` is malloc'd or NULL.  `unreachable` is set when
 * no connection to the daemon could be made at all, so the caller can name
 * the socket instead of echoing a transport error. */
struct quilt_client_error {
        int code;
        bool unreachable;
        char *message;
};

void quilt_client_error_clear(struct quilt_client_error *err);

/* "NOT_FOUND" for GRPC_STATUS_NOT_FOUND, etc.; "CODE_<n>" style for codes
 * this build does not know (returned in a static buffer). */
const char *quilt_client_status_name(int code);

/* Initialise grpc and make a channel to `socket_path`.  No connection is
 * made until the first call.  Returns 0 or -ENOMEM. */
int quilt_client_open(const char *socket_path, struct quilt_client **ret);
/* Destroy the channel and shut grpc down; NULL is fine. */
void quilt_client_free(struct quilt_client *c);

/* Unary call of method `m` with a deadline of `timeout_ms` (<= 0: none).
 * On success *ret_resp is the unpacked response (free it with
 * protobuf_c_message_free_unpacked(resp, NULL)).  Returns 0, or a negative
 * errno-style code with `err` filled (-EIO when the RPC itself failed). */
int quilt_client_unary(struct quilt_client *c, enum quilt_method_id m,
                       const ProtobufCMessage *req, int64_t timeout_ms,
                       ProtobufCMessage **ret_resp, struct quilt_client_error *err);

struct quilt_stream_ops {
        /* Called for each response message, which the callee only borrows.
         * A negative return cancels the call; quilt_client_stream() then
         * returns that value (err->code is GRPC_STATUS_CANCELLED). */
        int (*on_message)(const ProtobufCMessage *msg, void *userdata);
        /* Optional: called about every `tick_ms` while waiting for the next
         * message, so the caller can react to e.g. a signal flag without
         * grpc's threads having to cooperate. */
        void (*on_tick)(void *userdata);
        int64_t tick_ms;
        /* Optional, asked every `tick_ms` too: true cancels the call (a
         * Ctrl-C while the stream is idle); quilt_client_stream() then
         * returns -EIO with err->code GRPC_STATUS_CANCELLED. */
        bool (*should_cancel)(void *userdata);
};

/* Server-streaming call of method `m`; returns when the server ends the
 * stream.  Same return convention as quilt_client_unary(). */
int quilt_client_stream(struct quilt_client *c, enum quilt_method_id m,
                        const ProtobufCMessage *req, int64_t timeout_ms,
                        const struct quilt_stream_ops *ops, void *userdata,
                        struct quilt_client_error *err);

#endif
