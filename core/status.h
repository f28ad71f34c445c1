/* SPDX-License-Identifier: MIT */
/* Errors as the API reports them: a gRPC status code and a message.
 * The codes are gRPC's numbers so the server passes them through; core/
 * itself does not depend on grpc headers. */
#ifndef QUILT_STATUS_H
#define QUILT_STATUS_H

enum quilt_status_code {
        QUILT_OK = 0,
        QUILT_CANCELLED = 1,
        QUILT_UNKNOWN = 2,
        QUILT_INVALID_ARGUMENT = 3,
        QUILT_DEADLINE_EXCEEDED = 4,
        QUILT_NOT_FOUND = 5,
        QUILT_ALREADY_EXISTS = 6,
        QUILT_PERMISSION_DENIED = 7,
        QUILT_RESOURCE_EXHAUSTED = 8,
        QUILT_FAILED_PRECONDITION = 9,
        QUILT_ABORTED = 10,
        QUILT_OUT_OF_RANGE = 11,
        QUILT_UNIMPLEMENTED = 12,
        QUILT_INTERNAL = 13,
        QUILT_UNAVAILABLE = 14,
};

#define QUILT_STATUS_MESSAGE_MAX 1024

struct quilt_status {
        enum quilt_status_code code;
        char message[QUILT_STATUS_MESSAGE_MAX];
};

/* Fill `st` and return -1, so callers can `return quilt_status_set(...)`. */
__attribute__((format(printf, 3, 4)))
int quilt_status_set(struct quilt_status *st, enum quilt_status_code code, const char *fmt, ...);

#endif
