/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include "grpc_pb.h"

#define METHOD(name, streaming, req, resp)                              \
        { "/quilt.v1.QuiltService/" name, streaming,                    \
          &quilt__v1__##req##__descriptor, &quilt__v1__##resp##__descriptor }

const struct quilt_method quilt_methods[QUILT_METHOD_COUNT] = {
        [QUILT_METHOD_CREATE_CONTAINER] =
                METHOD("CreateContainer", false, create_container_request, create_container_response),
        [QUILT_METHOD_GET_CONTAINER_STATUS] =
                METHOD("GetContainerStatus", false, get_container_status_request, container_status_response),
        [QUILT_METHOD_GET_CONTAINER_LOGS] =
                METHOD("GetContainerLogs", true, get_container_logs_request, log_stream_response),
        [QUILT_METHOD_STOP_CONTAINER] =
                METHOD("StopContainer", false, stop_container_request, stop_container_response),
        [QUILT_METHOD_REMOVE_CONTAINER] =
                METHOD("RemoveContainer", false, remove_container_request, remove_container_response),
        [QUILT_METHOD_LIST_CONTAINERS] =
                METHOD("ListContainers", false, list_containers_request, list_containers_response),
        [QUILT_METHOD_GET_CONTAINER_STATS] =
                METHOD("GetContainerStats", false, get_container_stats_request, container_stats_response),
        [QUILT_METHOD_UPDATE_CONTAINER_RESOURCES] =
                METHOD("UpdateContainerResources", false, update_container_resources_request,
                       update_container_resources_response),
        [QUILT_METHOD_IMPORT_IMAGE] =
                METHOD("ImportImage", false, import_image_request, import_image_response),
        [QUILT_METHOD_LIST_IMAGES] =
                METHOD("ListImages", false, list_images_request, list_images_response),
        [QUILT_METHOD_REMOVE_IMAGE] =
                METHOD("RemoveImage", false, remove_image_request, remove_image_response),
        [QUILT_METHOD_PULL_IMAGE] =
                METHOD("PullImage", false, pull_image_request, pull_image_response),
        [QUILT_METHOD_CREATE_VOLUME] =
                METHOD("CreateVolume", false, create_volume_request, create_volume_response),
        [QUILT_METHOD_LIST_VOLUMES] =
                METHOD("ListVolumes", false, list_volumes_request, list_volumes_response),
        [QUILT_METHOD_REMOVE_VOLUME] =
                METHOD("RemoveVolume", false, remove_volume_request, remove_volume_response),
        [QUILT_METHOD_EXEC_CONTAINER] =
                METHOD("ExecContainer", true, exec_container_request, exec_container_response),
        [QUILT_METHOD_WAIT_CONTAINER] =
                METHOD("WaitContainer", false, wait_container_request, wait_container_response),
        [QUILT_METHOD_STREAM_EVENTS] =
                METHOD("StreamEvents", true, stream_events_request, event),
};

int quilt_method_lookup(const char *path, size_t len)
{
        for (int i = 0; i < QUILT_METHOD_COUNT; i++)
                if (strlen(quilt_methods[i].path) == len && !memcmp(quilt_methods[i].path, path, len))
                        return i;
        return -1;
}

ProtobufCMessage *quilt_pb_unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc)
{
        if (!bb)
                return NULL;
        grpc_byte_buffer_reader reader;
        if (!grpc_byte_buffer_reader_init(&reader, bb))
                return NULL;
        grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
        grpc_byte_buffer_reader_destroy(&reader);
        ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(all),
                                                          GRPC_SLICE_START_PTR(all));
        grpc_slice_unref(all);
        return msg;
}

grpc_byte_buffer *quilt_pb_pack(const ProtobufCMessage *msg)
{
        size_t len = protobuf_c_message_get_packed_size(msg);
        grpc_slice slice = grpc_slice_malloc(len);
        protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
        grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
        grpc_slice_unref(slice);
        return bb;
}
