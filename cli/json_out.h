/* SPDX-License-Identifier: MIT */
/* A small streaming JSON writer (pretty-printed, 2-space indent, or
 * compact on one line) and the JSON form of a container's status, for
 * status --json and ps --json. */
#ifndef QUILT_JSON_OUT_H
#define QUILT_JSON_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "quilt.pb-c.h"

#define QUILT_JSON_MAX_DEPTH 32

struct quilt_json {
        FILE *f;
        unsigned depth;
        bool after_key;                         /* the next value follows "key": */
        bool compact;                           /* one line: no indentation, "key":value */
        bool nonempty[QUILT_JSON_MAX_DEPTH];    /* the container at that depth has members */
};

void quilt_json_init(struct quilt_json *j, FILE *f);
/* The same document on one line (JSON Lines, as events --json writes). */
void quilt_json_init_compact(struct quilt_json *j, FILE *f);

void quilt_json_begin_object(struct quilt_json *j);
void quilt_json_end_object(struct quilt_json *j);
void quilt_json_begin_array(struct quilt_json *j);
void quilt_json_end_array(struct quilt_json *j);

/* A member name inside an object; the next call writes its value. */
void quilt_json_key(struct quilt_json *j, const char *key);

void quilt_json_string(struct quilt_json *j, const char *s);   /* NULL writes "" */
void quilt_json_int(struct quilt_json *j, int64_t v);
void quilt_json_uint(struct quilt_json *j, uint64_t v);
void quilt_json_bool(struct quilt_json *j, bool v);

/* End the document with a newline. */
void quilt_json_finish(struct quilt_json *j);

/* Write `len` bytes of `s` as a quoted JSON string: " and \ escaped,
 * control characters as \u00XX, valid UTF-8 passed through and each byte
 * of invalid UTF-8 replaced by U+FFFD (so the output is always valid JSON). */
void quilt_json_write_string(FILE *f, const char *s, size_t len);

/* Resources as an object: memoryLimitBytes, memorySwapLimitBytes,
 * cpuMillicores, cpuWeight, pidsLimit (0 = not set); NULL writes zeros. */
void quilt_json_resources(struct quilt_json *j, const Quilt__V1__Resources *r);

/* A mount: type ("bind" for the wire's empty type), source, target,
 * readOnly, sizeBytes, mode (a number: 1023 is 01777; 0 = the default). */
void quilt_json_mount(struct quilt_json *j, const Quilt__V1__Mount *m);

/* The container as one object with the field names of the proto3 JSON
 * mapping (containerId, state as the enum name, createdAtNs, ...).  Every
 * field is written, defaults included, and int64 values as plain numbers so
 * scripts need no special cases; resources is always an object (all 0 when
 * the daemon sent none).  The workload fields: setupCommand (the one
 * running while SETUP, else 0), setupCommands, init, mounts (an array
 * of quilt_json_mount objects), user, readOnlyRootfs. */
void quilt_json_container(struct quilt_json *j, const Quilt__V1__ContainerStatusResponse *st);

#endif
