/* SPDX-License-Identifier: MIT */
/* Resource limit names and request checks (see rlimits.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cleanup.h"
#include "rlimits.h"

static const char *const names[] = {
        [RLIMIT_AS] = "AS",
        [RLIMIT_CORE] = "CORE",
        [RLIMIT_CPU] = "CPU",
        [RLIMIT_DATA] = "DATA",
        [RLIMIT_FSIZE] = "FSIZE",
        [RLIMIT_LOCKS] = "LOCKS",
        [RLIMIT_MEMLOCK] = "MEMLOCK",
        [RLIMIT_MSGQUEUE] = "MSGQUEUE",
        [RLIMIT_NICE] = "NICE",
        [RLIMIT_NOFILE] = "NOFILE",
        [RLIMIT_NPROC] = "NPROC",
        [RLIMIT_RSS] = "RSS",
        [RLIMIT_RTPRIO] = "RTPRIO",
        [RLIMIT_RTTIME] = "RTTIME",
        [RLIMIT_SIGPENDING] = "SIGPENDING",
        [RLIMIT_STACK] = "STACK",
};

/* The `seen` mask of quilt_rlimit_check_unique has one bit per resource. */
_Static_assert(ELEMENTSOF(names) <= 32, "rlimit resources must fit a uint32_t mask");

/* For the error message: sorted, so a user can find theirs. */
#define KNOWN_NAMES "AS, CORE, CPU, DATA, FSIZE, LOCKS, MEMLOCK, MSGQUEUE, NICE, " \
        "NOFILE, NPROC, RSS, RTPRIO, RTTIME, SIGPENDING, STACK"

int quilt_rlimit_resource(const char *name)
{
        if (!name)
                return -EINVAL;
        if (!strncasecmp(name, "RLIMIT_", 7))
                name += 7;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (names[i] && !strcasecmp(name, names[i]))
                        return (int)i;
        return -EINVAL;
}

const char *quilt_rlimit_name(int resource)
{
        if (resource < 0 || (size_t)resource >= ELEMENTSOF(names) || !names[resource])
                return "?";
        return names[resource];
}

__attribute__((format(printf, 3, 4)))
static int fail(char *msg, size_t msg_size, const char *fmt, ...)
{
        if (msg && msg_size > 0) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(msg, msg_size, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

/* "unlimited" or the number, into buf. */
static const char *value_str(uint64_t v, char buf[static 21])
{
        if (v == QUILT_RLIMIT_UNLIMITED)
                return "unlimited";
        snprintf(buf, 21, "%" PRIu64, v);
        return buf;
}

/* Where rlim_t is narrower than 64 bits, or a number would read as
 * RLIM_INFINITY, setrlimit would not get what was asked for. */
static bool value_fits(uint64_t v)
{
        if (v == QUILT_RLIMIT_UNLIMITED)
                return true;
        rlim_t r = (rlim_t)v;
        return (uint64_t)r == v && r != RLIM_INFINITY;
}

int quilt_rlimit_check(const char *name, uint64_t soft, uint64_t hard, char *msg, size_t msg_size)
{
        int resource = quilt_rlimit_resource(name);
        if (resource < 0)
                return fail(msg, msg_size, "rlimits: unknown type '%.64s' (one of " KNOWN_NAMES ")",
                            name ? name : "");
        const char *n = quilt_rlimit_name(resource);
        char a[21], b[21];
        if (!value_fits(soft) || !value_fits(hard))
                return fail(msg, msg_size, "rlimits: %s: limit %s is too large for this system",
                            n, value_str(value_fits(soft) ? hard : soft, a));
        /* UINT64_MAX (unlimited) is above every number, so plain order works. */
        if (soft > hard)
                return fail(msg, msg_size, "rlimits: %s: soft limit %s is above the hard limit %s",
                            n, value_str(soft, a), value_str(hard, b));
        return 0;
}

int quilt_rlimit_check_unique(const char *name, uint32_t *seen, char *msg, size_t msg_size)
{
        int resource = quilt_rlimit_resource(name);
        if (resource < 0)
                return fail(msg, msg_size, "rlimits: unknown type '%.64s' (one of " KNOWN_NAMES ")",
                            name ? name : "");
        uint32_t bit = UINT32_C(1) << resource;
        if (*seen & bit)
                return fail(msg, msg_size, "rlimits: %s given twice", quilt_rlimit_name(resource));
        *seen |= bit;
        return 0;
}

int quilt_rlimit_check_list(const struct quilt_rlimit_spec *list, size_t n, char *msg, size_t msg_size)
{
        uint32_t seen = 0;
        for (size_t i = 0; i < n; i++) {
                int r = quilt_rlimit_check(list[i].type, list[i].soft, list[i].hard, msg, msg_size);
                if (r < 0)
                        return r;
                r = quilt_rlimit_check_unique(list[i].type, &seen, msg, msg_size);
                if (r < 0)
                        return r;
        }
        return 0;
}
