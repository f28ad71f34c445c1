/* SPDX-License-Identifier: MIT */
/* Resource limits of a container's processes (CreateContainerRequest.rlimits):
 * names, checks and the conversion to setrlimit's values.  Pure functions,
 * shared by quiltd (request validation) and the monitor. */
#ifndef QUILT_RLIMITS_H
#define QUILT_RLIMITS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

/* A request's value for "unlimited" (RLIM_INFINITY). */
#define QUILT_RLIMIT_UNLIMITED UINT64_MAX

/* One entry of a request, as the caller holds it (Quilt.V1.Rlimit). */
struct quilt_rlimit_spec {
        const char *type;                       /* "NOFILE", "nofile", "RLIMIT_NOFILE" */
        uint64_t soft;
        uint64_t hard;
};

/* "NOFILE", "nofile", "RLIMIT_NOFILE" (case-insensitive, optional RLIMIT_
 * prefix) -> RLIMIT_NOFILE; -EINVAL for anything else. */
int quilt_rlimit_resource(const char *name);

/* RLIMIT_NOFILE -> "NOFILE"; "?" for an unknown resource. */
const char *quilt_rlimit_name(int resource);

/* 0, or -EINVAL with `msg` filled ("rlimits: unknown type 'FOO' (one of
 * AS, CORE, ...)", "rlimits: NOFILE: soft limit 2048 is above the hard
 * limit 1024").  QUILT_RLIMIT_UNLIMITED is unlimited and above every
 * number.  `msg` may be NULL. */
int quilt_rlimit_check(const char *name, uint64_t soft, uint64_t hard, char *msg, size_t msg_size);

/* Refuses a type given twice in one request ("NOFILE" and "rlimit_nofile"
 * count as the same): call once per entry with the same `seen`, zeroed
 * before the first.  Run quilt_rlimit_check first (an unknown name fails
 * here too).  0, or -EINVAL with "rlimits: NOFILE given twice". */
int quilt_rlimit_check_unique(const char *name, uint32_t *seen, char *msg, size_t msg_size);

/* quilt_rlimit_check and quilt_rlimit_check_unique over a whole list. */
int quilt_rlimit_check_list(const struct quilt_rlimit_spec *list, size_t n, char *msg, size_t msg_size);

/* A checked request value as setrlimit wants it. */
static inline rlim_t quilt_rlimit_value(uint64_t v)
{
        return v == QUILT_RLIMIT_UNLIMITED ? RLIM_INFINITY : (rlim_t)v;
}

#endif
