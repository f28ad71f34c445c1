/* SPDX-License-Identifier: MIT */
/* quiltd's gRPC server on grpc core: a unix socket the daemon listens
 * on itself (each client's credentials are checked before grpc sees the
 * connection), one always-armed generic request, and one detached thread
 * per call that runs the method's handler (rpc.h) with blocking batches
 * on the call's own completion queue.  No container logic lives here. */
#ifndef QUILT_SERVER_H
#define QUILT_SERVER_H

#include <stdbool.h>
#include <protobuf-c/protobuf-c.h>

#include "config.h"
#include "quilt/plugin.h"

struct quilt_server;
struct quilt_manager;
struct quilt_call;

/* Daemon log lines on stderr: "quiltd: message".  Messages above the
 * level (enum quilt_log_level) are dropped. */
void quilt_daemon_set_log_level(int level);
__attribute__((format(printf, 2, 3)))
void quilt_daemon_log(int level, const char *fmt, ...);

/* Create the grpc server and listen on cfg->socket_path with
 * cfg->socket_mode (and cfg->socket_group); clients wait in the backlog
 * until quilt_server_run.  grpc_init must have been called.  The caller
 * must hold the state dir lock: a socket file already at the path is
 * taken for a dead daemon's and replaced. */
int quilt_server_new(const struct quilt_config *cfg, struct quilt_server **ret,
                     struct quilt_error *err);

/* Start serving calls against `m` and return after
 * quilt_server_request_shutdown, once the server has stopped accepting,
 * every open call has been cancelled and every call thread has finished:
 * `m` is no longer used then. */
int quilt_server_run(struct quilt_server *s, struct quilt_manager *m);

/* Ask quilt_server_run to return (within ~200 ms).  Any thread; only
 * stores an atomic flag, so a signal handler may call it too. */
void quilt_server_request_shutdown(struct quilt_server *s);

/* Destroy the server and unlink its socket.  NULL is fine. */
void quilt_server_free(struct quilt_server *s);

/* For handlers (rpc.c).  Send one response message: on a unary method it
 * is held and sent together with the OK status; on a streaming method it
 * goes out now.  0, -ECANCELED when the client went away or the server is
 * shutting down, -EMSGSIZE when it exceeds the send limit, -EINVAL for a
 * second message on a unary method, -ENOMEM. */
int quilt_call_send(struct quilt_call *call, const ProtobufCMessage *msg);

/* True once the client cancelled or disconnected, or the server began
 * shutting down.  Cheap enough to call between stream messages. */
bool quilt_call_cancelled(struct quilt_call *call);

#endif
