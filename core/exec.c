/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container_id.h"
#include "events.h"
#include "exec.h"
#include "monitor_exec.h"
#include "util.h"
#include "workload_request.h"

/* How long quiltd waits for the monitor to say the exec started. */
#define EXEC_START_TIMEOUT_NS (30LL * 1000000000)

static int validate(const Quilt__V1__ExecContainerRequest *req, struct quilt_status *st)
{
        if (req->n_command == 0 || !req->command[0][0])
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT, "command: must not be empty");
        for (size_t i = 0; i < req->n_environment; i++)
                if (!quilt_env_key_is_valid(req->environment[i]->key))
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "environment: key '%s' is not valid: it must be non-empty, without '=' or control characters",
                                                req->environment[i]->key);
        if (req->working_directory[0] && req->working_directory[0] != '/')
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "working_directory: '%s' is not an absolute path",
                                        req->working_directory);
        if (!quilt_request_user_is_valid(req->user))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "user: '%s' is not USER[:GROUP] (names or numbers)", req->user);
        if (req->timeout_seconds < 0)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT, "timeout_seconds: %d is negative",
                                        req->timeout_seconds);
        return 0;
}

/* The request as the monitor gets it: without stdin, which quiltd writes
 * into the pipe itself. */
static uint8_t *pack_for_monitor(const Quilt__V1__ExecContainerRequest *req, size_t *ret_len)
{
        Quilt__V1__ExecContainerRequest copy = *req;
        copy.stdin.data = NULL;
        copy.stdin.len = 0;
        size_t len = quilt__v1__exec_container_request__get_packed_size(&copy);
        uint8_t *buf = malloc(len ? len : 1);
        if (buf)
                quilt__v1__exec_container_request__pack(&copy, buf);
        *ret_len = len;
        return buf;
}

static void record_free(struct quilt_exec_record *r)
{
        if (!r)
                return;
        quilt_strv_free(r->command);
        free(r);
}

static void unlink_record(struct quilt_container_record *c, struct quilt_exec_record *r)
{
        for (struct quilt_exec_record **p = &c->execs; *p; p = &(*p)->next)
                if (*p == r) {
                        *p = r->next;
                        record_free(r);
                        return;
                }
}

/* Pipes with the child's end first: [0] for the monitor, [1] ours. */
static int make_pipes(int child[3], int ours[3])
{
        int p[2];
        for (int i = 0; i < 3; i++) {
                if (pipe2(p, O_CLOEXEC) < 0)
                        return -errno;
                /* stdin: the child reads; stdout, stderr: the child writes. */
                child[i] = i == 0 ? p[0] : p[1];
                ours[i] = i == 0 ? p[1] : p[0];
                fcntl(ours[i], F_SETFL, O_NONBLOCK);
        }
        return 0;
}

int quilt_exec_start(struct quilt_manager *m, const Quilt__V1__ExecContainerRequest *req,
                     struct quilt_exec **ret, struct quilt_status *st)
{
        if (validate(req, st) < 0)
                return -1;
        size_t len = 0;
        _cleanup_free_ uint8_t *payload = pack_for_monitor(req, &len);
        if (!payload)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        if (len > QUILT_MONITOR_EXEC_MESSAGE_MAX - 64)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "command and environment: %zu bytes, at most %d", len,
                                        QUILT_MONITOR_EXEC_MESSAGE_MAX - 64);
        struct quilt_exec *x = calloc(1, sizeof(*x));
        struct quilt_exec_record *rec = calloc(1, sizeof(*rec));
        int child[3] = { -1, -1, -1 }, ours[3] = { -1, -1, -1 };
        if (rec)
                rec->command = quilt_strv_copy_n(req->command, req->n_command);
        if (!x || !rec || !rec->command) {
                free(x);
                record_free(rec);
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        }
        x->manager = m;
        x->stdin_fd = x->stdout_fd = x->stderr_fd = -1;
        int r = make_pipes(child, ours);
        if (r < 0) {
                quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "pipes for the exec: %s", strerror(-r));
                goto fail_unlocked;
        }

        pthread_mutex_lock(&m->lock);
        struct quilt_container_record *c;
        if (quilt_manager_lookup_locked(m, req->container_id, &c, st) < 0) {
                pthread_mutex_unlock(&m->lock);
                goto fail_unlocked;
        }
        x->container = c;
        if (c->state != QUILT_STATE_RUNNING || c->monitor_done) {
                quilt_status_set(st, QUILT_FAILED_PRECONDITION,
                                 "container %.12s is %s: exec needs a RUNNING container", c->id,
                                 quilt_state_name(c->state));
                goto fail_locked;
        }
        snprintf(rec->id, sizeof(rec->id), "%lu", ++c->exec_seq);
        rec->next = c->execs;
        c->execs = rec;
        x->record = rec;
        r = quilt_supervisor_send_exec(c, rec->id, payload, len, child);
        for (int i = 0; i < 3; i++)
                quilt_closep(&child[i]);        /* the monitor has its own now */
        if (r < 0) {
                quilt_status_set(st, QUILT_FAILED_PRECONDITION, "container %.12s: reaching its monitor: %s",
                                 c->id, strerror(-r));
                goto fail_locked;
        }
        int64_t deadline = quilt_monotonic_ns() + EXEC_START_TIMEOUT_NS;
        while (!rec->started && !rec->failed && !c->monitor_done)
                if (!quilt_manager_wait(m, deadline))
                        break;
        if (!rec->started) {
                if (rec->failed)
                        quilt_status_set(st, QUILT_FAILED_PRECONDITION, "exec in %.12s: %s", c->id,
                                         rec->error);
                else if (c->monitor_done)
                        quilt_status_set(st, QUILT_FAILED_PRECONDITION,
                                         "exec in %.12s: the container ended", c->id);
                else
                        quilt_status_set(st, QUILT_DEADLINE_EXCEEDED,
                                         "exec in %.12s: the monitor did not start it", c->id);
                goto fail_locked;
        }
        pthread_mutex_unlock(&m->lock);
        if (req->timeout_seconds > 0)
                x->deadline_ns = quilt_monotonic_ns() + (int64_t)req->timeout_seconds * 1000000000;
        x->stdin_fd = ours[0];
        x->stdout_fd = ours[1];
        x->stderr_fd = ours[2];
        *ret = x;
        return 0;

fail_locked:
        if (x->record) {
                unlink_record(c, x->record);
                x->record = NULL;
                rec = NULL;
        }
        pthread_mutex_unlock(&m->lock);
fail_unlocked:
        for (int i = 0; i < 3; i++) {
                quilt_closep(&child[i]);
                quilt_closep(&ours[i]);
        }
        if (x->container)
                quilt_container_unref(x->container);
        record_free(rec);
        free(x);
        return -1;
}

bool quilt_exec_exited(struct quilt_exec *x, int *ret_code, int *ret_signal, bool *ret_gone)
{
        struct quilt_manager *m = x->manager;
        pthread_mutex_lock(&m->lock);
        bool exited = x->record->exited;
        *ret_gone = !exited && x->container->monitor_done;
        *ret_code = x->record->exit_code;
        *ret_signal = x->record->exit_signal;
        pthread_mutex_unlock(&m->lock);
        return exited;
}

void quilt_exec_wait(struct quilt_exec *x, int timeout_ms)
{
        struct quilt_manager *m = x->manager;
        pthread_mutex_lock(&m->lock);
        if (!x->record->exited && !x->container->monitor_done)
                quilt_manager_wait(m, quilt_monotonic_ns() + (int64_t)timeout_ms * 1000000);
        pthread_mutex_unlock(&m->lock);
}

void quilt_exec_kill(struct quilt_exec *x, bool timed_out)
{
        struct quilt_manager *m = x->manager;
        char msg[64];
        snprintf(msg, sizeof(msg), "exec-kill %s", x->record->id);
        pthread_mutex_lock(&m->lock);
        x->record->timed_out |= timed_out;
        if (!x->record->exited)
                (void)quilt_supervisor_send(x->container, msg);
        pthread_mutex_unlock(&m->lock);
}

void quilt_exec_check_timeout(struct quilt_exec *x)
{
        if (x->deadline_ns && !x->timed_out && quilt_monotonic_ns() >= x->deadline_ns) {
                quilt_exec_kill(x, true);
                x->timed_out = true;
        }
}

void quilt_exec_free(struct quilt_exec *x)
{
        if (!x)
                return;
        struct quilt_manager *m = x->manager;
        quilt_closep(&x->stdin_fd);
        quilt_closep(&x->stdout_fd);
        quilt_closep(&x->stderr_fd);
        pthread_mutex_lock(&m->lock);
        unlink_record(x->container, x->record);
        pthread_mutex_unlock(&m->lock);
        quilt_container_unref(x->container);
        free(x);
}

void quilt_exec_message(struct quilt_container_record *c, const char *msg)
{
        char verb[16], id[QUILT_EXEC_ID_MAX];
        int off = 0;
        if (sscanf(msg, "%15s %31s %n", verb, id, &off) != 2)
                return;
        struct quilt_exec_record *r = c->execs;
        while (r && strcmp(r->id, id))
                r = r->next;
        if (!r)
                return;                         /* its caller is gone */
        int a, b;
        /* Events here, in the monitor's order: an exit never comes out
         * before its start. */
        if (!strcmp(verb, "exec-started") && sscanf(msg + off, "%d", &a) == 1) {
                r->started = true;
                r->pid = a;
                quilt_events_emit(c->manager->events, "exec-started", c->id, c->name, "exec_id", r->id,
                                  "pid", QUILT_EVENT_INT(a), "command",
                                  QUILT_EVENT_ARGV(r->command, SIZE_MAX), NULL);
        } else if (!strcmp(verb, "exec-exited") && sscanf(msg + off, "%d %d", &a, &b) == 2) {
                r->exited = true;
                r->exit_code = a;
                r->exit_signal = b;
                quilt_events_emit(c->manager->events, "exec-exited", c->id, c->name, "exec_id", r->id,
                                  "exit_code", QUILT_EVENT_INT(a), "exit_signal", QUILT_EVENT_INT(b),
                                  "timed_out", QUILT_EVENT_BOOL(r->timed_out), NULL);
        } else if (!strcmp(verb, "exec-failed")) {
                r->failed = true;
                snprintf(r->error, sizeof(r->error), "%s", msg + off);
        }
}
