/* SPDX-License-Identifier: MIT */
/* The QuiltService methods: each takes the request server.c decoded,
 * calls the manager once and sends what it answered.  Validation and
 * container logic belong to the manager; no plugin is called from here. */
#include <string.h>

#include "manager.h"
#include "rpc.h"
#include "server.h"
#include "util.h"
#include "volumes.h"

/* How long one wait for new log data may block before the stream checks
 * whether its client is still there. */
#define LOG_POLL_MS 200

static void status_response_freep(Quilt__V1__ContainerStatusResponse **p)
{
        if (*p)
                quilt_status_response_free(*p);
}

static void list_response_freep(Quilt__V1__ListContainersResponse **p)
{
        if (*p)
                quilt_list_response_free(*p);
}

static void log_stream_freep(struct quilt_log_stream **p)
{
        if (*p)
                quilt_log_stream_free(*p);
}

/* A failed send: the client is gone (the status will not reach anyone,
 * but the call still needs one) or the response cannot be sent. */
int quilt_rpc_send_failed(int r, struct quilt_status *st)
{
        if (r == -EMSGSIZE)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "response too large");
        if (r == -ECANCELED)
                return quilt_status_set(st, QUILT_CANCELLED, "call cancelled");
        return quilt_status_set(st, QUILT_INTERNAL, "sending response: %s", strerror(-r));
}

static int rpc_create(struct quilt_call *call, struct quilt_manager *m,
                      const ProtobufCMessage *msg, struct quilt_status *st)
{
        const Quilt__V1__CreateContainerRequest *req = (const void *)msg;
        _cleanup_free_ char *id = NULL;

        if (quilt_manager_create(m, req, &id, st) < 0)
                return -1;

        Quilt__V1__CreateContainerResponse resp = QUILT__V1__CREATE_CONTAINER_RESPONSE__INIT;
        resp.container_id = id;
        int r = quilt_call_send(call, &resp.base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

static int rpc_status(struct quilt_call *call, struct quilt_manager *m,
                      const ProtobufCMessage *msg, struct quilt_status *st)
{
        const Quilt__V1__GetContainerStatusRequest *req = (const void *)msg;
        _cleanup_(status_response_freep) Quilt__V1__ContainerStatusResponse *resp = NULL;

        if (quilt_manager_status(m, req->container_id, &resp, st) < 0)
                return -1;

        int r = quilt_call_send(call, &resp->base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

static int rpc_logs(struct quilt_call *call, struct quilt_manager *m,
                    const ProtobufCMessage *msg, struct quilt_status *st)
{
        const Quilt__V1__GetContainerLogsRequest *req = (const void *)msg;
        _cleanup_(log_stream_freep) struct quilt_log_stream *stream = NULL;

        if (quilt_manager_open_logs(m, req->container_id, req->follow, &stream, st) < 0)
                return -1;

        for (;;) {
                /* Checked before every wait and every chunk: a following
                 * stream would otherwise outlive its client, and holds up
                 * the daemon's shutdown. */
                if (quilt_call_cancelled(call))
                        return quilt_status_set(st, QUILT_CANCELLED, "call cancelled");

                struct quilt_log_chunk chunk;
                int r = quilt_log_stream_next(stream, &chunk, LOG_POLL_MS);
                if (r == -EAGAIN)
                        continue;
                if (r < 0)
                        return quilt_status_set(st, QUILT_INTERNAL, "reading logs of %s: %s",
                                                req->container_id, strerror(-r));
                if (r == 0)
                        return 0;

                Quilt__V1__LogStreamResponse resp = QUILT__V1__LOG_STREAM_RESPONSE__INIT;
                resp.source = chunk.source;
                /* protobuf-c's field is not const; packing only reads it. */
                resp.content.data = (uint8_t *)chunk.data;
                resp.content.len = chunk.len;
                resp.timestamp_nanos = chunk.timestamp_ns;
                resp.setup_command = chunk.setup_command;
                r = quilt_call_send(call, &resp.base);
                if (r < 0)
                        return quilt_rpc_send_failed(r, st);
        }
}

static int rpc_stop(struct quilt_call *call, struct quilt_manager *m,
                    const ProtobufCMessage *msg, struct quilt_status *st)
{
        const Quilt__V1__StopContainerRequest *req = (const void *)msg;
        _cleanup_(status_response_freep) Quilt__V1__ContainerStatusResponse *status = NULL;

        if (quilt_manager_stop(m, req->container_id, req->timeout_seconds, &status, st) < 0)
                return -1;

        Quilt__V1__StopContainerResponse resp = QUILT__V1__STOP_CONTAINER_RESPONSE__INIT;
        resp.status = status;
        int r = quilt_call_send(call, &resp.base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

static int rpc_remove(struct quilt_call *call, struct quilt_manager *m,
                      const ProtobufCMessage *msg, struct quilt_status *st)
{
        const Quilt__V1__RemoveContainerRequest *req = (const void *)msg;
        _cleanup_free_ char *id = NULL;

        if (quilt_manager_remove(m, req->container_id, req->force, &id, st) < 0)
                return -1;

        Quilt__V1__RemoveContainerResponse resp = QUILT__V1__REMOVE_CONTAINER_RESPONSE__INIT;
        resp.container_id = id;
        int r = quilt_call_send(call, &resp.base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

static int rpc_list(struct quilt_call *call, struct quilt_manager *m,
                    const ProtobufCMessage *msg, struct quilt_status *st)
{
        _cleanup_(list_response_freep) Quilt__V1__ListContainersResponse *resp = NULL;

        if (quilt_manager_list(m, &resp, st) < 0)
                return -1;

        int r = quilt_call_send(call, &resp->base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

static void stats_response_freep(Quilt__V1__ContainerStatsResponse **p)
{
        if (*p)
                quilt_stats_response_free(*p);
}

static int rpc_stats(struct quilt_call *call, struct quilt_manager *m,
                     const ProtobufCMessage *msg, struct quilt_status *st)
{
        const Quilt__V1__GetContainerStatsRequest *req = (const void *)msg;
        _cleanup_(stats_response_freep) Quilt__V1__ContainerStatsResponse *resp = NULL;

        if (quilt_manager_stats(m, req->container_id, &resp, st) < 0)
                return -1;

        int r = quilt_call_send(call, &resp->base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

static int rpc_update(struct quilt_call *call, struct quilt_manager *m,
                      const ProtobufCMessage *msg, struct quilt_status *st)
{
        const Quilt__V1__UpdateContainerResourcesRequest *req = (const void *)msg;
        _cleanup_(status_response_freep) Quilt__V1__ContainerStatusResponse *status = NULL;

        if (quilt_manager_update(m, req->container_id, req->resources, &status, st) < 0)
                return -1;

        Quilt__V1__UpdateContainerResourcesResponse resp =
                QUILT__V1__UPDATE_CONTAINER_RESOURCES_RESPONSE__INIT;
        resp.status = status;
        int r = quilt_call_send(call, &resp.base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

static void import_response_freep(Quilt__V1__ImportImageResponse **p)
{
        if (*p)
                quilt_import_image_response_free(*p);
}

static void list_images_freep(Quilt__V1__ListImagesResponse **p)
{
        if (*p)
                quilt_list_images_response_free(*p);
}

static int rpc_import_image(struct quilt_call *call, struct quilt_manager *m,
                            const ProtobufCMessage *msg, struct quilt_status *st)
{
        const Quilt__V1__ImportImageRequest *req = (const void *)msg;
        _cleanup_(import_response_freep) Quilt__V1__ImportImageResponse *resp = NULL;

        if (quilt_manager_import_image(m, req->path, req->tag, &resp, st) < 0)
                return -1;

        int r = quilt_call_send(call, &resp->base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

static void pull_response_freep(Quilt__V1__PullImageResponse **p)
{
        if (*p)
                quilt_pull_image_response_free(*p);
}

static int rpc_pull_image(struct quilt_call *call, struct quilt_manager *m,
                          const ProtobufCMessage *msg, struct quilt_status *st)
{
        const Quilt__V1__PullImageRequest *req = (const void *)msg;
        _cleanup_(pull_response_freep) Quilt__V1__PullImageResponse *resp = NULL;

        if (quilt_manager_pull_image(m, req->reference, &resp, st) < 0)
                return -1;

        int r = quilt_call_send(call, &resp->base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

static int rpc_list_images(struct quilt_call *call, struct quilt_manager *m,
                           const ProtobufCMessage *msg, struct quilt_status *st)
{
        _cleanup_(list_images_freep) Quilt__V1__ListImagesResponse *resp = NULL;

        if (quilt_manager_list_images(m, &resp, st) < 0)
                return -1;

        int r = quilt_call_send(call, &resp->base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

static int rpc_remove_image(struct quilt_call *call, struct quilt_manager *m,
                            const ProtobufCMessage *msg, struct quilt_status *st)
{
        const Quilt__V1__RemoveImageRequest *req = (const void *)msg;
        _cleanup_free_ char *digest = NULL;

        if (quilt_manager_remove_image(m, req->image, &digest, st) < 0)
                return -1;

        Quilt__V1__RemoveImageResponse resp = QUILT__V1__REMOVE_IMAGE_RESPONSE__INIT;
        resp.digest = digest;
        int r = quilt_call_send(call, &resp.base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

static void create_volume_freep(Quilt__V1__CreateVolumeResponse **p)
{
        if (*p)
                quilt_create_volume_response_free(*p);
}

static void list_volumes_freep(Quilt__V1__ListVolumesResponse **p)
{
        if (*p)
                quilt_list_volumes_response_free(*p);
}

static int rpc_create_volume(struct quilt_call *call, struct quilt_manager *m,
                             const ProtobufCMessage *msg, struct quilt_status *st)
{
        const Quilt__V1__CreateVolumeRequest *req = (const void *)msg;
        _cleanup_(create_volume_freep) Quilt__V1__CreateVolumeResponse *resp = NULL;

        if (quilt_manager_create_volume(m, req->name, &resp, st) < 0)
                return -1;

        int r = quilt_call_send(call, &resp->base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

static int rpc_list_volumes(struct quilt_call *call, struct quilt_manager *m,
                            const ProtobufCMessage *msg, struct quilt_status *st)
{
        _cleanup_(list_volumes_freep) Quilt__V1__ListVolumesResponse *resp = NULL;

        if (quilt_manager_list_volumes(m, &resp, st) < 0)
                return -1;

        int r = quilt_call_send(call, &resp->base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

static int rpc_remove_volume(struct quilt_call *call, struct quilt_manager *m,
                             const ProtobufCMessage *msg, struct quilt_status *st)
{
        const Quilt__V1__RemoveVolumeRequest *req = (const void *)msg;
        _cleanup_free_ char *name = NULL;

        if (quilt_manager_remove_volume(m, req->name, &name, st) < 0)
                return -1;

        Quilt__V1__RemoveVolumeResponse resp = QUILT__V1__REMOVE_VOLUME_RESPONSE__INIT;
        resp.name = name;
        int r = quilt_call_send(call, &resp.base);
        return r < 0 ? quilt_rpc_send_failed(r, st) : 0;
}

const quilt_rpc_handler quilt_rpc_handlers[QUILT_METHOD_COUNT] = {
        [QUILT_METHOD_CREATE_CONTAINER] = rpc_create,
        [QUILT_METHOD_GET_CONTAINER_STATUS] = rpc_status,
        [QUILT_METHOD_GET_CONTAINER_LOGS] = rpc_logs,
        [QUILT_METHOD_STOP_CONTAINER] = rpc_stop,
        [QUILT_METHOD_REMOVE_CONTAINER] = rpc_remove,
        [QUILT_METHOD_LIST_CONTAINERS] = rpc_list,
        [QUILT_METHOD_GET_CONTAINER_STATS] = rpc_stats,
        [QUILT_METHOD_UPDATE_CONTAINER_RESOURCES] = rpc_update,
        [QUILT_METHOD_IMPORT_IMAGE] = rpc_import_image,
        [QUILT_METHOD_LIST_IMAGES] = rpc_list_images,
        [QUILT_METHOD_REMOVE_IMAGE] = rpc_remove_image,
        [QUILT_METHOD_PULL_IMAGE] = rpc_pull_image,
        [QUILT_METHOD_CREATE_VOLUME] = rpc_create_volume,
        [QUILT_METHOD_LIST_VOLUMES] = rpc_list_volumes,
        [QUILT_METHOD_REMOVE_VOLUME] = rpc_remove_volume,
        [QUILT_METHOD_EXEC_CONTAINER] = quilt_rpc_exec,
        [QUILT_METHOD_WAIT_CONTAINER] = quilt_rpc_wait,
        [QUILT_METHOD_STREAM_EVENTS] = quilt_rpc_events,
};
