/* SPDX-License-Identifier: MIT */
/* The grpc core server behind quiltd's socket.
 *
 * Only the generic grpc_server_request_call is used, never registered
 * methods, and one request is always armed: grpc answers a method nobody
 * requested only when the client's deadline expires, so we take every
 * call and reply UNIMPLEMENTED ourselves.  Each accepted call gets its
 * own pluck completion queue and a detached thread that drives it with
 * blocking batches; the main loop only waits on the notification queue.
 * A thread per call keeps the handlers plain sequential code, and calls
 * are few (one CLI command each).
 *
 * The daemon owns the listening socket rather than letting grpc bind it:
 * an accept thread checks each client's SO_PEERCRED (root, our own uid,
 * or a member of socket_group) before handing the connection to grpc
 * with grpc_server_add_channel_from_fd.  The file mode alone would let
 * anyone in if an administrator loosened socket_mode. */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <grpc/byte_buffer.h>
#include <grpc/grpc.h>
#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>

#include "grpc_pb.h"
#include "rpc.h"
#include "server.h"
#include "status.h"
#include "util.h"

/* Requests and responses are small; logs stream in chunks. */
#define MAX_MESSAGE_BYTES (16 * 1024 * 1024)
/* How often the main loop looks at the shutdown flag. */
#define LOOP_TICK_MS 200
/* Calls served at once; more get RESOURCE_EXHAUSTED instead of a thread. */
#define MAX_CALLS 256
/* Pause after accept() fails for lack of fds or memory, which would
 * otherwise leave the listening socket readable and spin the thread. */
#define ACCEPT_BACKOFF_MS 100

struct quilt_server {
        grpc_server *server;
        grpc_completion_queue *cq;              /* notifications: new calls, shutdown */
        grpc_server_credentials *creds;         /* insecure: the socket is the boundary */
        struct quilt_manager *manager;
        char *socket_path;
        bool bound;                             /* the socket file is ours to unlink */
        int listen_fd;
        int wake_fd;                            /* eventfd: stops the accept thread */
        gid_t group;                            /* socket_group, or (gid_t)-1 */
        char *group_name;
        pthread_t accept_thread;
        bool accepting;                         /* accept_thread is running */
        bool shut_down;                         /* shutdown completed, calls finished */
        atomic_bool stop_requested;             /* quilt_server_request_shutdown */
        atomic_bool shutting_down;              /* call threads should wind up */
        struct quilt_call *armed;               /* the outstanding request_call */
        pthread_mutex_t lock;
        pthread_cond_t calls_done;
        unsigned n_calls;                       /* live call threads, under lock */
        char shutdown_tag;
};

struct quilt_call {
        struct quilt_server *server;
        grpc_completion_queue *cq;              /* pluck queue bound to this call */
        grpc_call *call;
        grpc_call_details details;
        grpc_metadata_array metadata;
        const struct quilt_method *method;      /* NULL until looked up (or unknown) */
        grpc_byte_buffer *response;             /* unary: held until the status goes out */
        bool sent_initial_metadata;
        bool close_pending;                     /* RECV_CLOSE_ON_SERVER started, not plucked */
        bool closed;                            /* ... completed: call over or client gone */
        int cancelled;                          /* filled by RECV_CLOSE_ON_SERVER */
        char batch_tag;
        char close_tag;
};

static atomic_int daemon_log_level = QUILT_LOG_INFO;

void quilt_daemon_set_log_level(int level)
{
        atomic_store(&daemon_log_level, level);
}

void quilt_daemon_log(int level, const char *fmt, ...)
{
        if (level > atomic_load(&daemon_log_level))
                return;
        int saved_errno = errno;
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0)
                return;
        /* The whole line in one write(): call threads and the monitors
         * share stderr with us. */
        _cleanup_free_ char *line = NULL;
        int n = asprintf(&line, "quiltd: %s\n", msg);
        if (n > 0)
                (void)quilt_write_all(STDERR_FILENO, line, (size_t)n);
        errno = saved_errno;
}

static const char *status_code_name(enum quilt_status_code code)
{
        static const char *const names[] = {
                [QUILT_OK] = "OK",
                [QUILT_CANCELLED] = "CANCELLED",
                [QUILT_UNKNOWN] = "UNKNOWN",
                [QUILT_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
                [QUILT_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
                [QUILT_NOT_FOUND] = "NOT_FOUND",
                [QUILT_ALREADY_EXISTS] = "ALREADY_EXISTS",
                [QUILT_PERMISSION_DENIED] = "PERMISSION_DENIED",
                [QUILT_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
                [QUILT_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
                [QUILT_ABORTED] = "ABORTED",
                [QUILT_OUT_OF_RANGE] = "OUT_OF_RANGE",
                [QUILT_UNIMPLEMENTED] = "UNIMPLEMENTED",
                [QUILT_INTERNAL] = "INTERNAL",
                [QUILT_UNAVAILABLE] = "UNAVAILABLE",
        };
        if ((unsigned)code < ELEMENTSOF(names) && names[code])
                return names[code];
        return "?";
}

static void call_free(struct quilt_call *c)
{
        if (!c)
                return;
        if (c->response)
                grpc_byte_buffer_destroy(c->response);
        if (c->call)
                grpc_call_unref(c->call);
        grpc_call_details_destroy(&c->details);
        grpc_metadata_array_destroy(&c->metadata);
        /* Every batch has been plucked by now, so the queue is empty. */
        if (c->cq) {
                grpc_completion_queue_shutdown(c->cq);
                grpc_completion_queue_destroy(c->cq);
        }
        free(c);
}

static struct quilt_call *call_new(struct quilt_server *s)
{
        struct quilt_call *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->server = s;
        grpc_call_details_init(&c->details);
        grpc_metadata_array_init(&c->metadata);
        c->cq = grpc_completion_queue_create_for_pluck(NULL);
        if (!c->cq) {
                call_free(c);
                return NULL;
        }
        return c;
}

/* Run one batch and wait for it.  -ECANCELED when it failed, which on a
 * server call means the call is dead (client gone, cancelled, shutdown). */
static int call_batch(struct quilt_call *c, const grpc_op *ops, size_t n)
{
        grpc_call_error e = grpc_call_start_batch(c->call, ops, n, &c->batch_tag, NULL);
        if (e != GRPC_CALL_OK) {
                quilt_daemon_log(QUILT_LOG_ERROR, "grpc_call_start_batch: %s",
                                 grpc_call_error_to_string(e));
                return -EIO;
        }
        grpc_event ev = grpc_completion_queue_pluck(c->cq, &c->batch_tag,
                                                    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
                return -EIO;
        return ev.success ? 0 : -ECANCELED;
}

/* RECV_CLOSE_ON_SERVER completes when the call is over for the client:
 * after our status, or early when it cancels or disconnects.  Started
 * first, in its own batch, so a stream can poll it. */
static void call_start_close(struct quilt_call *c)
{
        grpc_op op = { .op = GRPC_OP_RECV_CLOSE_ON_SERVER };
        op.data.recv_close_on_server.cancelled = &c->cancelled;
        if (grpc_call_start_batch(c->call, &op, 1, &c->close_tag, NULL) == GRPC_CALL_OK)
                c->close_pending = true;
        else
                c->closed = true;
}

static void call_poll_close(struct quilt_call *c, gpr_timespec deadline)
{
        if (!c->close_pending)
                return;
        grpc_event ev = grpc_completion_queue_pluck(c->cq, &c->close_tag, deadline, NULL);
        if (ev.type == GRPC_OP_COMPLETE) {
                c->close_pending = false;
                c->closed = true;
        }
}

bool quilt_call_cancelled(struct quilt_call *c)
{
        if (atomic_load(&c->server->shutting_down))
                return true;
        call_poll_close(c, gpr_time_0(GPR_CLOCK_MONOTONIC));
        /* Before our status is sent, the close can only mean the client
         * cancelled or went away. */
        return c->closed;
}

int quilt_call_send(struct quilt_call *c, const ProtobufCMessage *msg)
{
        if (protobuf_c_message_get_packed_size(msg) > MAX_MESSAGE_BYTES)
                return -EMSGSIZE;

        if (!c->method->server_streaming) {
                if (c->response)
                        return -EINVAL;
                c->response = quilt_pb_pack(msg);
                return c->response ? 0 : -ENOMEM;
        }

        if (quilt_call_cancelled(c))
                return -ECANCELED;
        grpc_byte_buffer *bb = quilt_pb_pack(msg);
        if (!bb)
                return -ENOMEM;
        grpc_op ops[2];
        size_t n = 0;
        memset(ops, 0, sizeof(ops));
        if (!c->sent_initial_metadata)
                ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = bb;
        c->sent_initial_metadata = true;
        int r = call_batch(c, ops, n);
        grpc_byte_buffer_destroy(bb);
        return r;
}

/* Read the one request message and run the handler; `st` gets the status. */
static void call_handle(struct quilt_call *c, int id, struct quilt_status *st)
{
        const struct quilt_method *method = &quilt_methods[id];
        grpc_byte_buffer *bb = NULL;
        grpc_op op = { .op = GRPC_OP_RECV_MESSAGE };
        op.data.recv_message.recv_message = &bb;
        if (call_batch(c, &op, 1) < 0) {
                quilt_status_set(st, QUILT_CANCELLED, "call ended before its request");
                return;
        }
        if (!bb) {
                quilt_status_set(st, QUILT_INVALID_ARGUMENT, "missing %s",
                                 method->request->short_name);
                return;
        }
        ProtobufCMessage *req = quilt_pb_unpack(bb, method->request);
        grpc_byte_buffer_destroy(bb);
        if (!req) {
                quilt_status_set(st, QUILT_INVALID_ARGUMENT, "malformed %s",
                                 method->request->short_name);
                return;
        }

        int r;
        if (quilt_rpc_handlers[id])
                r = quilt_rpc_handlers[id](c, c->server->manager, req, st);
        else
                r = quilt_status_set(st, QUILT_UNIMPLEMENTED, "%s is not implemented", method->path);
        protobuf_c_message_free_unpacked(req, NULL);

        if (r < 0) {
                if (st->code == QUILT_OK)
                        quilt_status_set(st, QUILT_INTERNAL, "%s failed without a status",
                                         method->path);
                return;
        }
        st->code = QUILT_OK;
        st->message[0] = '\0';
        /* A unary call answered OK without a message would leave the
         * client with a protocol error instead of a reason. */
        if (!method->server_streaming && !c->response)
                quilt_status_set(st, QUILT_INTERNAL, "%s produced no response", method->path);
}

/* The last batch: status, with the held unary response if it is OK. */
static void call_finish(struct quilt_call *c, const struct quilt_status *st)
{
        grpc_op ops[3];
        size_t n = 0;
        memset(ops, 0, sizeof(ops));
        if (!c->sent_initial_metadata)
                ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        if (st->code == QUILT_OK && c->response) {
                ops[n].op = GRPC_OP_SEND_MESSAGE;
                ops[n++].data.send_message.send_message = c->response;
        }
        grpc_slice details = grpc_slice_from_copied_string(st->message);
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n].data.send_status_from_server.status = (grpc_status_code)st->code;
        ops[n++].data.send_status_from_server.status_details = st->message[0] ? &details : NULL;
        c->sent_initial_metadata = true;
        /* A failure means the client is gone: nobody to tell. */
        (void)call_batch(c, ops, n);
        grpc_slice_unref(details);
}

static void call_serve(struct quilt_call *c)
{
        struct quilt_status st = { .code = QUILT_OK };
        const char *path = (const char *)GRPC_SLICE_START_PTR(c->details.method);
        int path_len = (int)GRPC_SLICE_LENGTH(c->details.method);

        call_start_close(c);
        int id = quilt_method_lookup(path, (size_t)path_len);
        if (id < 0)
                quilt_status_set(&st, QUILT_UNIMPLEMENTED, "unknown method %.*s", path_len, path);
        else {
                c->method = &quilt_methods[id];
                call_handle(c, id, &st);
        }
        call_finish(c, &st);
        /* Our status is out, so this completes promptly; the call may not
         * be released before it has. */
        call_poll_close(c, gpr_inf_future(GPR_CLOCK_REALTIME));

        int level = st.code == QUILT_INTERNAL || st.code == QUILT_UNKNOWN ?
                QUILT_LOG_WARNING : QUILT_LOG_DEBUG;
        quilt_daemon_log(level, "%.*s: %s%s%s", path_len, path, status_code_name(st.code),
                         st.message[0] ? ": " : "", st.message);
}

static void *call_thread(void *userdata)
{
        struct quilt_call *c = userdata;
        struct quilt_server *s = c->server;

        call_serve(c);
        call_free(c);

        pthread_mutex_lock(&s->lock);
        if (--s->n_calls == 0)
                pthread_cond_broadcast(&s->calls_done);
        pthread_mutex_unlock(&s->lock);
        return NULL;
}

/* Refuse a call without a thread: cancel_with_status needs no batch. */
static void call_reject(struct quilt_call *c, grpc_status_code code, const char *why)
{
        grpc_call_cancel_with_status(c->call, code, why, NULL);
        call_free(c);
}

static void server_dispatch(struct quilt_server *s, struct quilt_call *c)
{
        pthread_mutex_lock(&s->lock);
        bool full = s->n_calls >= MAX_CALLS;
        if (!full)
                s->n_calls++;
        pthread_mutex_unlock(&s->lock);
        if (full) {
                quilt_daemon_log(QUILT_LOG_WARNING, "%d calls in progress, refusing another",
                                 MAX_CALLS);
                call_reject(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "quiltd: too many calls");
                return;
        }

        pthread_attr_t attr;
        pthread_t thread;
        int r = pthread_attr_init(&attr);
        if (r == 0) {
                r = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                if (r == 0)
                        r = pthread_create(&thread, &attr, call_thread, c);
                pthread_attr_destroy(&attr);
        }
        if (r != 0) {
                pthread_mutex_lock(&s->lock);
                if (--s->n_calls == 0)
                        pthread_cond_broadcast(&s->calls_done);
                pthread_mutex_unlock(&s->lock);
                quilt_daemon_log(QUILT_LOG_WARNING, "cannot start a call thread: %s", strerror(r));
                call_reject(c, GRPC_STATUS_RESOURCE_EXHAUSTED, "quiltd: cannot start a call thread");
        }
}

/* Keep one generic request outstanding on the notification queue. */
static int server_arm(struct quilt_server *s)
{
        struct quilt_call *c = call_new(s);
        if (!c)
                return -ENOMEM;
        grpc_call_error e = grpc_server_request_call(s->server, &c->call, &c->details, &c->metadata,
                                                     c->cq, s->cq, c);
        if (e != GRPC_CALL_OK) {
                quilt_daemon_log(QUILT_LOG_ERROR, "grpc_server_request_call: %s",
                                 grpc_call_error_to_string(e));
                call_free(c);
                return -EIO;
        }
        s->armed = c;
        return 0;
}

/* Who may talk to the daemon: root, the daemon's own user (a daemon
 * run by hand), or a member of socket_group.  SO_PEERGROUPS gives the
 * peer's supplementary groups as they were at connect(), so there is no
 * race with a process that changes them afterwards. */
static bool peer_allowed(const struct quilt_server *s, int fd, struct ucred *cred)
{
        socklen_t len = sizeof(*cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) < 0)
                return false;
        if (cred->uid == 0 || cred->uid == geteuid())
                return true;
        if (s->group == (gid_t)-1)
                return false;
        if (cred->gid == s->group)
                return true;

        socklen_t glen = 0;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, NULL, &glen) < 0 && errno != ERANGE)
                return false;
        if (glen == 0)
                return false;
        _cleanup_free_ gid_t *groups = malloc(glen);
        if (!groups || getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) < 0)
                return false;
        for (size_t i = 0; i < glen / sizeof(gid_t); i++)
                if (groups[i] == s->group)
                        return true;
        return false;
}

static void *accept_thread(void *userdata)
{
        struct quilt_server *s = userdata;
        struct pollfd fds[2] = {
                { .fd = s->listen_fd, .events = POLLIN },
                { .fd = s->wake_fd, .events = POLLIN },
        };

        for (;;) {
                if (poll(fds, ELEMENTSOF(fds), -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        quilt_daemon_log(QUILT_LOG_ERROR, "poll: %m; no longer accepting clients");
                        return NULL;
                }
                if (fds[1].revents)
                        return NULL;
                if (!fds[0].revents)
                        continue;

                int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                continue;
                        quilt_daemon_log(QUILT_LOG_WARNING, "accept: %m");
                        /* Wait on the wake fd alone, so shutdown still gets through. */
                        if (poll(&fds[1], 1, ACCEPT_BACKOFF_MS) > 0)
                                return NULL;
                        continue;
                }

                struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
                if (!peer_allowed(s, fd, &cred)) {
                        quilt_daemon_log(QUILT_LOG_WARNING,
                                         "refusing client pid %d uid %u: only root%s%s may connect",
                                         (int)cred.pid, (unsigned)cred.uid,
                                         s->group_name ? " and group " : "",
                                         s->group_name ? s->group_name : "");
                        close(fd);
                        continue;
                }
                quilt_daemon_log(QUILT_LOG_DEBUG, "client pid %d uid %u connected",
                                 (int)cred.pid, (unsigned)cred.uid);
                /* grpc owns the fd from here on, also when it fails. */
                grpc_server_add_channel_from_fd(s->server, fd, s->creds);
        }
}

/* Join the accept thread and close the listening socket, so clients
 * arriving during shutdown are refused at once. */
static void server_stop_accepting(struct quilt_server *s)
{
        if (s->accepting) {
                uint64_t one = 1;
                if (write(s->wake_fd, &one, sizeof(one)) < 0)
                        quilt_daemon_log(QUILT_LOG_ERROR, "waking the accept thread: %m");
                else
                        pthread_join(s->accept_thread, NULL);
                s->accepting = false;
        }
        quilt_closep(&s->listen_fd);
        s->listen_fd = -1;
}

/* Stop accepting, cancel every call, wait for the shutdown tag and the
 * armed request, then for the call threads. */
static void server_shutdown(struct quilt_server *s)
{
        atomic_store(&s->shutting_down, true);
        /* No add_channel_from_fd may race with the shutdown. */
        server_stop_accepting(s);
        grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
        /* Open log streams, and sends a client does not read, would
         * otherwise hold the shutdown up until their clients leave. */
        grpc_server_cancel_all_calls(s->server);

        bool tag_seen = false;
        while (!tag_seen || s->armed) {
                grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                                           NULL);
                if (ev.type != GRPC_OP_COMPLETE)
                        break;
                if (ev.tag == &s->shutdown_tag) {
                        tag_seen = true;
                        continue;
                }
                struct quilt_call *c = ev.tag;
                if (c == s->armed)
                        s->armed = NULL;
                if (ev.success)
                        call_reject(c, GRPC_STATUS_UNAVAILABLE, "quiltd is shutting down");
                else
                        call_free(c);
        }

        pthread_mutex_lock(&s->lock);
        while (s->n_calls > 0)
                pthread_cond_wait(&s->calls_done, &s->lock);
        pthread_mutex_unlock(&s->lock);
        s->shut_down = true;
}

int quilt_server_run(struct quilt_server *s, struct quilt_manager *m)
{
        s->manager = m;
        grpc_server_start(s->server);

        /* Armed before the first client can connect. */
        int r = server_arm(s);
        if (r == 0) {
                /* grpc_server_add_channel_from_fd needs a started server. */
                r = -pthread_create(&s->accept_thread, NULL, accept_thread, s);
                if (r < 0)
                        quilt_daemon_log(QUILT_LOG_ERROR, "cannot start the accept thread: %s",
                                         strerror(-r));
                else
                        s->accepting = true;
        }
        if (r == 0)
                quilt_daemon_log(QUILT_LOG_INFO, "listening on %s", s->socket_path);

        while (r == 0 && !atomic_load(&s->stop_requested)) {
                gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                                     gpr_time_from_millis(LOOP_TICK_MS, GPR_TIMESPAN));
                grpc_event ev = grpc_completion_queue_next(s->cq, deadline, NULL);
                if (ev.type == GRPC_QUEUE_TIMEOUT)
                        continue;
                if (ev.type != GRPC_OP_COMPLETE) {
                        r = -EIO;
                        break;
                }
                /* Only requests complete here before we shut down. */
                struct quilt_call *c = ev.tag;
                s->armed = NULL;
                r = server_arm(s);
                if (ev.success)
                        server_dispatch(s, c);
                else
                        call_free(c);
        }

        quilt_daemon_log(QUILT_LOG_INFO, "shutting down");
        server_shutdown(s);
        return r;
}

void quilt_server_request_shutdown(struct quilt_server *s)
{
        atomic_store(&s->stop_requested, true);
}

void quilt_server_free(struct quilt_server *s)
{
        if (!s)
                return;
        if (s->server) {
                if (!s->shut_down && s->cq)
                        server_shutdown(s);
                grpc_server_destroy(s->server);
        }
        if (s->cq) {
                grpc_completion_queue_shutdown(s->cq);
                while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME),
                                                  NULL).type != GRPC_QUEUE_SHUTDOWN)
                        ;
                grpc_completion_queue_destroy(s->cq);
        }
        if (s->creds)
                grpc_server_credentials_release(s->creds);
        quilt_closep(&s->listen_fd);
        quilt_closep(&s->wake_fd);
        if (s->bound && unlink(s->socket_path) < 0 && errno != ENOENT)
                quilt_daemon_log(QUILT_LOG_WARNING, "unlink %s: %m", s->socket_path);
        free(s->socket_path);
        free(s->group_name);
        pthread_cond_destroy(&s->calls_done);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

static void server_freep(struct quilt_server **s)
{
        quilt_server_free(*s);
}

static int lookup_group(const char *name, gid_t *ret, struct quilt_error *err)
{
        long size = sysconf(_SC_GETGR_R_SIZE_MAX);
        size_t len = size > 0 ? (size_t)size : 4096;

        for (;;) {
                _cleanup_free_ char *buf = malloc(len);
                if (!buf)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                struct group grp, *found = NULL;
                int r = getgrnam_r(name, &grp, buf, len, &found);
                if (r == ERANGE) {
                        len *= 2;
                        continue;
                }
                if (r != 0)
                        return quilt_error_set(err, -r, "socket_group '%s': %s", name, strerror(r));
                if (!found)
                        return quilt_error_set(err, -ENOENT, "socket_group '%s': no such group", name);
                *ret = grp.gr_gid;
                return 0;
        }
}

/* Bind with a tight umask so the socket never exists with a looser mode
 * than asked for, then give it its group and mode. */
static int server_listen(struct quilt_server *s, const struct quilt_config *cfg,
                         struct quilt_error *err)
{
        if (cfg->socket_group && cfg->socket_group[0]) {
                int r = lookup_group(cfg->socket_group, &s->group, err);
                if (r < 0)
                        return r;
                s->group_name = strdup(cfg->socket_group);
                if (!s->group_name)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
        }

        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t len = strlen(s->socket_path);
        if (len >= sizeof(sa.sun_path))
                return quilt_error_set(err, -ENAMETOOLONG, "socket path %s is too long (at most %zu bytes)",
                                       s->socket_path, sizeof(sa.sun_path) - 1);
        memcpy(sa.sun_path, s->socket_path, len + 1);

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return quilt_error_set(err, -errno, "socket: %m");

        /* A socket file left by a daemon that died: the caller holds the
         * state dir lock, so no live daemon serves it. */
        struct stat st;
        if (lstat(s->socket_path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return quilt_error_set(err, -EEXIST, "%s exists and is not a socket",
                                               s->socket_path);
                if (unlink(s->socket_path) < 0 && errno != ENOENT)
                        return quilt_error_set(err, -errno, "unlink %s: %m", s->socket_path);
        }

        mode_t old_umask = umask(0177);
        socklen_t sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
        int r = bind(fd, (struct sockaddr *)&sa, sa_len);
        int saved_errno = errno;
        umask(old_umask);
        if (r < 0)
                return quilt_error_set(err, -saved_errno, "bind %s: %s", s->socket_path,
                                       strerror(saved_errno));
        s->bound = true;

        if (s->group != (gid_t)-1 && chown(s->socket_path, (uid_t)-1, s->group) < 0)
                return quilt_error_set(err, -errno, "chown %s to group %s: %m", s->socket_path,
                                       cfg->socket_group);
        if (chmod(s->socket_path, cfg->socket_mode) < 0)
                return quilt_error_set(err, -errno, "chmod %s: %m", s->socket_path);
        if (listen(fd, SOMAXCONN) < 0)
                return quilt_error_set(err, -errno, "listen %s: %m", s->socket_path);

        s->wake_fd = eventfd(0, EFD_CLOEXEC);
        if (s->wake_fd < 0)
                return quilt_error_set(err, -errno, "eventfd: %m");
        s->listen_fd = TAKE_FD(fd);
        return 0;
}

int quilt_server_new(const struct quilt_config *cfg, struct quilt_server **ret,
                     struct quilt_error *err)
{
        if (!cfg->socket_path || !cfg->socket_path[0])
                return quilt_error_set(err, -EINVAL, "no socket path");

        _cleanup_(server_freep) struct quilt_server *s = calloc(1, sizeof(*s));
        if (!s)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        pthread_mutex_init(&s->lock, NULL);
        pthread_cond_init(&s->calls_done, NULL);
        s->listen_fd = -1;
        s->wake_fd = -1;
        s->group = (gid_t)-1;
        s->socket_path = strdup(cfg->socket_path);
        if (!s->socket_path)
                return quilt_error_set(err, -ENOMEM, "out of memory");

        grpc_arg args[] = {
                { .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                  .value.integer = MAX_MESSAGE_BYTES },
                { .type = GRPC_ARG_INTEGER, .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
                  .value.integer = MAX_MESSAGE_BYTES },
        };
        grpc_channel_args channel_args = { .num_args = ELEMENTSOF(args), .args = args };
        s->server = grpc_server_create(&channel_args, NULL);
        s->cq = grpc_completion_queue_create_for_next(NULL);
        s->creds = grpc_insecure_server_credentials_create();
        if (!s->server || !s->cq || !s->creds)
                return quilt_error_set(err, -ENOMEM, "cannot create the grpc server");
        grpc_server_register_completion_queue(s->server, s->cq, NULL);

        int r = server_listen(s, cfg, err);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}
