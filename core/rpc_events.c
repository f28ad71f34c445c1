/* SPDX-License-Identifier: MIT */
/* WaitContainer and StreamEvents: methods that block until the daemon
 * has something to tell, waking every 200 ms to check that their client
 * is still there (a dropped client, or the daemon's shutdown, must not
 * leave a call thread waiting). */
#include <string.h>

#include "events.h"
#include "manager.h"
#include "rpc.h"
#include "server.h"
#include "util.h"

/* How long one wait for the next event may block before the stream
 * checks whether its client is still there. */
#define EVENTS_POLL_MS 200

static bool call_cancelled(void *userdata)
{
        return quilt_call_cancelled(userdata);
}

static void status_response_freep(Quilt__V1__ContainerStatusResponse **p)
{
        if (*p)
                quilt_status_response_free(*p);
}

int quilt_rpc_wait(struct quilt_call *call, struct quilt_manager *m, const ProtobufCMessage *msg,
                   struct quilt_status *st)
{
        const Quilt__V1__WaitContainerRequest *req = (const void *)msg;
        _cleanup_(status_response_freep) Quilt__V1__ContainerStatusResponse *status = NULL;

        if (quilt_manager_wait_container(m, req->container_id, req->timeout_seconds, call_cancelled,
                                         call, &status, st) < 0)
                return -1;

        Quilt__V1__WaitContainerResponse resp = QUILT__V1__WAIT_CONTAINER_RESPONSE__INIT;
        resp.status = status;
        int r = quilt_call_send(call, &resp.base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

static void sub_freep(struct quilt_event_sub **p)
{
        quilt_events_unsubscribe(*p);
}

/* `e` as a message; the strings stay e's (packing only reads them). */
static int send_event(struct quilt_call *call, const struct quilt_event *e)
{
        Quilt__V1__Event__AttributesEntry entries[QUILT_EVENT_ATTRS_MAX];
        Quilt__V1__Event__AttributesEntry *ptrs[QUILT_EVENT_ATTRS_MAX];
        Quilt__V1__Event msg = QUILT__V1__EVENT__INIT;

        msg.type = e->type;
        msg.container_id = e->id;
        msg.name = e->name;
        msg.time_ns = e->time_ns;
        msg.sequence = e->sequence;
        for (size_t i = 0; i < e->n_attrs; i++) {
                quilt__v1__event__attributes_entry__init(&entries[i]);
                entries[i].key = e->attrs[i].key;
                entries[i].value = e->attrs[i].value;
                ptrs[i] = &entries[i];
        }
        msg.attributes = ptrs;
        msg.n_attributes = e->n_attrs;
        return quilt_call_send(call, &msg.base);
}

int quilt_rpc_events(struct quilt_call *call, struct quilt_manager *m, const ProtobufCMessage *msg,
                     struct quilt_status *st)
{
        const Quilt__V1__StreamEventsRequest *req = (const void *)msg;
        _cleanup_(sub_freep) struct quilt_event_sub *sub = NULL;

        const struct quilt_event_filter filter = {
                .containers = (const char *const *)req->container_ids,
                .n_containers = req->n_container_ids,
                .types = (const char *const *)req->types,
                .n_types = req->n_types,
        };
        if (quilt_manager_subscribe_events(m, &filter, req->since_ns, &sub, st) < 0)
                return -1;

        for (;;) {
                if (quilt_call_cancelled(call))
                        return quilt_status_set(st, QUILT_CANCELLED, "call cancelled");
                struct quilt_event e;
                int r = quilt_events_next(sub, &e, EVENTS_POLL_MS);
                if (r == -EAGAIN)
                        continue;
                if (r < 0)
                        return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "reading events: %s",
                                                strerror(-r));
                r = send_event(call, &e);
                quilt_event_done(&e);
                if (r < 0)
                        return quilt_rpc_send_failed(r, st);
        }
}
