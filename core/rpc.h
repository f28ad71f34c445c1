/* SPDX-License-Identifier: MIT */
/* One handler per QuiltService method: turn the decoded request into a
 * manager call and send the response through quilt_call_send.  The call
 * plumbing (batches, status, cancellation) lives in server.c. */
#ifndef QUILT_RPC_H
#define QUILT_RPC_H

#include <protobuf-c/protobuf-c.h>

#include "grpc_pb.h"
#include "status.h"

struct quilt_call;
struct quilt_manager;

/* `req` is the unpacked request of the method's descriptor.  Return 0
 * for an OK status (after sending the response), or a negative value
 * with `st` filled in: its code becomes the call's status. */
typedef int (*quilt_rpc_handler)(struct quilt_call *call, struct quilt_manager *m,
                                 const ProtobufCMessage *req, struct quilt_status *st);

/* The status for a failed quilt_call_send (r < 0); returns -1. */
int quilt_rpc_send_failed(int r, struct quilt_status *st);

/* Handlers in files of their own. */
int quilt_rpc_exec(struct quilt_call *call, struct quilt_manager *m, const ProtobufCMessage *req,
                   struct quilt_status *st);

/* rpc_events.c */
int quilt_rpc_wait(struct quilt_call *call, struct quilt_manager *m, const ProtobufCMessage *req,
                   struct quilt_status *st);
int quilt_rpc_events(struct quilt_call *call, struct quilt_manager *m, const ProtobufCMessage *req,
                     struct quilt_status *st);

/* Indexed by enum quilt_method_id. */
extern const quilt_rpc_handler quilt_rpc_handlers[QUILT_METHOD_COUNT];

#endif
