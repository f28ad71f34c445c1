/* SPDX-License-Identifier: MIT */
/* Private declarations shared by the files of the seccomp plugin.  Nothing
 * here is exported: the plugin is built with -fvisibility=hidden and only
 * quilt_plugin_v1 (seccomp.c) is visible. */
#ifndef QUILT_SECCOMP_PLUGIN_H
#define QUILT_SECCOMP_PLUGIN_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <seccomp.h>            /* libseccomp: why this header has another name */

#include "quilt/plugin.h"

#include "cleanup.h"         /* header-only: nothing of core/ is linked */

/* The names a profile may have besides a path. */
#define SECCOMP_PROFILE_DEFAULT "default"
#define SECCOMP_PROFILE_UNCONFINED "unconfined"

/* A profile file larger than this is refused: Docker's default is 13 KiB,
 * so this leaves room for any real profile without reading a huge file
 * into the monitor. */
#define SECCOMP_PROFILE_MAX_BYTES (4u << 20)

/* The [seccomp] section, as the key table in seccomp_config.c fills it. */
struct seccomp_config {
        const char *profile;            /* "default", "unconfined", a NAME or an absolute path */
        bool allow_unconfined;          /* a request may ask for "unconfined" */
        const char *profiles_dir;       /* where a request's bare NAME is NAME.json; NULL = none */
        bool allow_ptrace;              /* the built-in profile allows ptrace (Docker's >= 4.8) */
};

struct seccomp_state {
        const struct quilt_host *host;
        struct seccomp_config cfg;
        /* The last container's program (pre_clone), owned here: the core
         * only borrows c->seccomp_filter. */
        void *filter;
        size_t filter_len;
};

/* seccomp_config.c: apply `section` (may be NULL or empty) over the
 * defaults and check it; errors name FILE:LINE of the offending entry. */
int seccomp_config_parse(const struct quilt_host *host, const struct quilt_config_section *section,
                         struct seccomp_config *cfg, struct quilt_error *err);

/* Where a profile name leads: the built-in, none, or a JSON file. */
enum seccomp_source_kind {
        SECCOMP_SOURCE_DEFAULT,
        SECCOMP_SOURCE_UNCONFINED,
        SECCOMP_SOURCE_FILE,
};

/* seccomp_config.c: resolve `name` ("default", "unconfined", an absolute
 * path, or a bare NAME looked up as PROFILES_DIR/NAME.json).  The path,
 * when there is one, is malloc'ed into *ret_path.  Fails with -EINVAL
 * for a name that leads nowhere. */
int seccomp_resolve(const struct seccomp_config *cfg, const char *name,
                    enum seccomp_source_kind *ret_kind, char **ret_path, struct quilt_error *err);

/* What a profile's conditions (includes/excludes) are checked against. */
struct seccomp_target {
        uint64_t capabilities;          /* bit N = capability N held by the container */
        bool allow_ptrace;              /* the built-in profile's ptrace switch */
};

/* seccomp_profile.c: compile the Docker/OCI JSON `text` (`len` bytes) into
 * a libseccomp context for the native architecture (plus the profile's
 * other architectures).  `origin` names the profile in messages:
 * "seccomp profile ORIGIN: syscalls[3].action: unknown action 'X'".
 * Malformed profiles fail with -EINVAL. */
int seccomp_profile_compile(const char *text, size_t len, const char *origin,
                            const struct seccomp_target *target, scmp_filter_ctx *ret_ctx,
                            struct quilt_error *err);

/* seccomp_default.c: the built-in profile, Docker's default as JSON. */
extern const char seccomp_default_profile[];

/* seccomp_export.c: read a whole profile file (at most
 * SECCOMP_PROFILE_MAX_BYTES) into a NUL-terminated buffer. */
int seccomp_read_file(const char *path, char **ret_text, size_t *ret_len, struct quilt_error *err);

/* seccomp_export.c: the context's classic BPF program (struct
 * sock_filter[]), malloc'ed, as the kernel will take it. */
int seccomp_export(scmp_filter_ctx ctx, void **ret_filter, size_t *ret_len,
                   struct quilt_error *err);

/* A _cleanup_ helper for libseccomp contexts. */
static inline void seccomp_releasep(scmp_filter_ctx *ctx)
{
        if (*ctx)
                seccomp_release(*ctx);
        *ctx = NULL;
}
#define _cleanup_seccomp_ _cleanup_(seccomp_releasep)

#endif
