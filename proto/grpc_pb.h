/* SPDX-License-Identifier: MIT */
/* Glue between grpc core byte buffers and protobuf-c messages, and the
 * method table of quilt.v1.QuiltService (protoc-c's service descriptors
 * do not mark streaming methods, so we keep our own). */
#ifndef QUILT_GRPC_PB_H
#define QUILT_GRPC_PB_H

#include <stdbool.h>
#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "quilt.pb-c.h"

enum quilt_method_id {
        QUILT_METHOD_CREATE_CONTAINER,
        QUILT_METHOD_GET_CONTAINER_STATUS,
        QUILT_METHOD_GET_CONTAINER_LOGS,
        QUILT_METHOD_STOP_CONTAINER,
        QUILT_METHOD_REMOVE_CONTAINER,
        QUILT_METHOD_LIST_CONTAINERS,
        QUILT_METHOD_GET_CONTAINER_STATS,
        QUILT_METHOD_UPDATE_CONTAINER_RESOURCES,
        QUILT_METHOD_IMPORT_IMAGE,
        QUILT_METHOD_LIST_IMAGES,
        QUILT_METHOD_REMOVE_IMAGE,
        QUILT_METHOD_PULL_IMAGE,
        QUILT_METHOD_CREATE_VOLUME,
        QUILT_METHOD_LIST_VOLUMES,
        QUILT_METHOD_REMOVE_VOLUME,
        QUILT_METHOD_EXEC_CONTAINER,
        QUILT_METHOD_WAIT_CONTAINER,
        QUILT_METHOD_STREAM_EVENTS,
        QUILT_METHOD_COUNT,
};

struct quilt_method {
        const char *path;                       /* "/quilt.v1.QuiltService/CreateContainer" */
        bool server_streaming;
        const ProtobufCMessageDescriptor *request;
        const ProtobufCMessageDescriptor *response;
};

extern const struct quilt_method quilt_methods[QUILT_METHOD_COUNT];

/* The method whose path equals `path` (length `len`), or -1. */
int quilt_method_lookup(const char *path, size_t len);

/* Unpack `bb` as `desc`; NULL on a malformed message.  Free the result
 * with protobuf_c_message_free_unpacked(msg, NULL). */
ProtobufCMessage *quilt_pb_unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc);

/* Pack `msg` into a new byte buffer (grpc_byte_buffer_destroy it). */
grpc_byte_buffer *quilt_pb_pack(const ProtobufCMessage *msg);

#endif
