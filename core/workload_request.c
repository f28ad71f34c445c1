/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#if QUILT_HAVE_LIBCAP
#include <sys/capability.h>
#endif

#include "rlimits.h"
#include "util.h"
#include "volumes.h"
#include "workload_request.h"

int quilt_request_mount_type(const char *type)
{
        if (!type || !*type || !strcmp(type, "bind"))
                return QUILT_REQUEST_MOUNT_BIND;
        if (!strcmp(type, "tmpfs"))
                return QUILT_REQUEST_MOUNT_TMPFS;
        if (!strcmp(type, "volume"))
                return QUILT_REQUEST_MOUNT_VOLUME;
        return -1;
}

/* A name or a number of /etc/passwd or /etc/group: what a line of those
 * files can hold, nothing that could confuse "user:group". */
static bool account_is_valid(const char *s, size_t len)
{
        if (len == 0 || len > 256)
                return false;
        for (size_t i = 0; i < len; i++) {
                char ch = s[i];
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.' ||
                      (ch == '$' && i == len - 1)))
                        return false;
        }
        return true;
}

bool quilt_request_user_is_valid(const char *user)
{
        if (!*user)
                return true;
        const char *colon = strchr(user, ':');
        size_t n = colon ? (size_t)(colon - user) : strlen(user);
        return account_is_valid(user, n) && (!colon || account_is_valid(colon + 1, strlen(colon + 1)));
}

static int validate_user(const Quilt__V1__CreateContainerRequest *req, struct quilt_status *st)
{
        if (!quilt_request_user_is_valid(req->user))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "user: '%s' is not USER[:GROUP] (names or numbers)", req->user);
        for (size_t i = 0; i < req->n_supplementary_groups; i++) {
                const char *g = req->supplementary_groups[i];
                if (!account_is_valid(g, strlen(g)))
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "supplementary_groups: '%s' is not a group name or number",
                                                g);
        }
        if (req->n_supplementary_groups > 64)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "supplementary_groups: %zu groups, at most 64",
                                        req->n_supplementary_groups);
        return 0;
}

static int validate_rlimits(const Quilt__V1__CreateContainerRequest *req, struct quilt_status *st)
{
        uint32_t seen = 0;
        for (size_t i = 0; i < req->n_rlimits; i++) {
                const Quilt__V1__Rlimit *l = req->rlimits[i];
                char msg[256];
                if (quilt_rlimit_check(l->type, l->soft, l->hard, msg, sizeof(msg)) < 0 ||
                    quilt_rlimit_check_unique(l->type, &seen, msg, sizeof(msg)) < 0)
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT, "%s", msg);
        }
        return 0;
}

/* "/proc", "//proc/", "/proc/sys" are at or below "/proc"; "/procs" is not. */
static bool at_or_below(const char *path, const char *dir)
{
        while (*path == '/')
                path++;
        dir++;
        size_t n = strlen(dir);
        return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}

static int validate_mount(const Quilt__V1__Mount *mt, size_t i, struct quilt_status *st)
{
        int type = quilt_request_mount_type(mt->type);
        if (type < 0)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "mounts[%zu].type: '%s' is not one of bind, tmpfs, volume", i,
                                        mt->type);
        if (mt->target[0] != '/' || strlen(mt->target) >= PATH_MAX)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "mounts[%zu].target: '%s' is not an absolute path", i,
                                        mt->target);
        if (strspn(mt->target, "/") == strlen(mt->target))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "mounts[%zu].target: cannot mount over the container's root", i);
        static const char *const kernel_dirs[] = { "/proc", "/dev", "/sys" };
        for (size_t k = 0; k < ELEMENTSOF(kernel_dirs); k++)
                if (at_or_below(mt->target, kernel_dirs[k]))
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "mounts[%zu].target: %s is at or below %s, which the ns plugin mounts afresh",
                                                i, mt->target, kernel_dirs[k]);
        if (mt->size_bytes < 0)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "mounts[%zu].size_bytes: %lld is negative", i,
                                        (long long)mt->size_bytes);
        if (mt->mode > 07777)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "mounts[%zu].mode: %o is not a file mode (at most 07777)", i,
                                        mt->mode);
        if (type != QUILT_REQUEST_MOUNT_TMPFS && (mt->size_bytes || mt->mode))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "mounts[%zu]: size_bytes and mode are for tmpfs mounts only", i);
        switch (type) {
        case QUILT_REQUEST_MOUNT_BIND: {
                if (mt->source[0] != '/')
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "mounts[%zu].source: '%s' is not an absolute host path",
                                                i, mt->source);
                struct stat sb;
                if (stat(mt->source, &sb) < 0)
                        return quilt_status_set(st, errno == ENOENT ? QUILT_NOT_FOUND : QUILT_INVALID_ARGUMENT,
                                                "mounts[%zu].source: %s: %s", i, mt->source,
                                                strerror(errno));
                break;
        }
        case QUILT_REQUEST_MOUNT_TMPFS:
                if (mt->source[0])
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "mounts[%zu].source: a tmpfs mount has no source", i);
                break;
        case QUILT_REQUEST_MOUNT_VOLUME:
                if (!quilt_volume_name_is_valid(mt->source))
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "mounts[%zu].source: '%s' is not a volume name", i,
                                                mt->source);
                break;
        }
        return 0;
}

/* "/data/" and "//data" are the same mount point as "/data". */
static bool same_target(const char *a, const char *b)
{
        for (;;) {
                while (*a == '/' && (a[1] == '/' || a[1] == '\0'))
                        a++;
                while (*b == '/' && (b[1] == '/' || b[1] == '\0'))
                        b++;
                if (*a != *b)
                        return false;
                if (!*a)
                        return true;
                a++;
                b++;
        }
}

static int validate_mounts(const Quilt__V1__CreateContainerRequest *req, struct quilt_status *st)
{
        if (req->n_mounts > 256)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT, "mounts: %zu mounts, at most 256",
                                        req->n_mounts);
        for (size_t i = 0; i < req->n_mounts; i++) {
                if (validate_mount(req->mounts[i], i, st) < 0)
                        return -1;
                for (size_t j = 0; j < i; j++)
                        if (same_target(req->mounts[j]->target, req->mounts[i]->target))
                                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                        "mounts[%zu].target: %s is also the target of mounts[%zu]",
                                                        i, req->mounts[i]->target, j);
        }
        return 0;
}

/* "NET_ADMIN", "cap_net_admin", or "ALL". */
static int validate_caps(char *const *names, size_t n, const char *field, bool all_ok,
                         struct quilt_status *st)
{
        for (size_t i = 0; i < n; i++) {
                const char *name = names[i];
                if (all_ok && !strcasecmp(name, "ALL"))
                        continue;
#if QUILT_HAVE_LIBCAP
                /* cap_from_name wants "cap_net_admin" or "CAP_NET_ADMIN". */
                char full[64] = "CAP_";
                size_t len = strlen(name), prefix = strncasecmp(name, "CAP_", 4) ? 4 : 0;
                cap_value_t v;
                if (len < sizeof(full) - 4) {
                        memcpy(full + prefix, name, len + 1);
                        if (cap_from_name(full, &v) == 0)
                                continue;
                }
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT, "%s: unknown capability '%.64s'",
                                        field, name);
#else
                /* Without libcap the capability plugin checks the names. */
                if (!*name)
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT, "%s: empty capability name",
                                                field);
#endif
        }
        return 0;
}

static const char *chain_name(const char *profile)
{
        return *profile ? profile : "default";
}

static int need_feature(const struct quilt_profile *profile, const char *request_profile,
                        uint64_t feature, const char *field, const char *plugin,
                        struct quilt_status *st)
{
        if (profile->features & feature)
                return 0;
        return quilt_status_set(st, QUILT_FAILED_PRECONDITION,
                                "%s: the %s chain has no plugin that provides it (add %s to its chain)",
                                field, chain_name(request_profile), plugin);
}

int quilt_workload_validate(const Quilt__V1__CreateContainerRequest *req,
                            const struct quilt_profile *profile, struct quilt_status *st)
{
        for (size_t i = 0; i < req->n_setup_commands; i++)
                if (!req->setup_commands[i][0])
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "setup_commands[%zu]: must not be empty", i);
        if (req->setup_timeout_seconds < 0)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "setup_timeout_seconds: %d is negative",
                                        req->setup_timeout_seconds);
        if (req->n_readiness_probe > 0 && !req->readiness_probe[0][0])
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "readiness_probe: the program (readiness_probe[0]) must not be empty");
        if (req->readiness_interval_ms < 0)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT, "readiness_interval_ms: %d is negative",
                                        req->readiness_interval_ms);
        if (req->init && req->no_init)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "init and no_init: only one of them can be set");
        if (validate_user(req, st) < 0 || validate_rlimits(req, st) < 0 || validate_mounts(req, st) < 0 ||
            validate_caps(req->cap_add, req->n_cap_add, "cap_add", true, st) < 0 ||
            validate_caps(req->cap_drop, req->n_cap_drop, "cap_drop", true, st) < 0)
                return -1;
        if (req->seccomp_profile[0]) {
                const char *p = req->seccomp_profile;
                struct stat sb;
                if (p[0] == '/' && stat(p, &sb) < 0)
                        return quilt_status_set(st, errno == ENOENT ? QUILT_NOT_FOUND : QUILT_INVALID_ARGUMENT,
                                                "seccomp_profile: %s: %s", p, strerror(errno));
                if (p[0] != '/' && !quilt_volume_name_is_valid(p))
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "seccomp_profile: '%s' is neither an absolute path nor a profile name",
                                                p);
                if (need_feature(profile, req->profile, QUILT_FEATURE_SECCOMP, "seccomp_profile", "seccomp",
                                 st) < 0)
                        return -1;
        }
        if ((req->n_cap_add || req->n_cap_drop) &&
            need_feature(profile, req->profile, QUILT_FEATURE_CAPABILITIES, "cap_add/cap_drop", "caps", st) < 0)
                return -1;
        if (req->n_setup_commands > 0 &&
            need_feature(profile, req->profile, QUILT_FEATURE_SETUP_COMMANDS, "setup_commands", "setup", st) < 0)
                return -1;
        if (req->n_mounts > 0 &&
            need_feature(profile, req->profile, QUILT_FEATURE_MOUNTS, "mounts", "mounts", st) < 0)
                return -1;
        if (req->read_only_rootfs &&
            need_feature(profile, req->profile, QUILT_FEATURE_READ_ONLY_ROOTFS, "read_only_rootfs", "rootfs", st) < 0)
                return -1;
        return 0;
}

bool quilt_workload_init(const Quilt__V1__CreateContainerRequest *req, const struct quilt_config *cfg)
{
        return req->init || (cfg->init && !req->no_init);
}

char **quilt_workload_volumes(const Quilt__V1__CreateContainerRequest *req)
{
        char **v = calloc(req->n_mounts + 1, sizeof(char *));
        if (!v)
                return NULL;
        size_t n = 0;
        for (size_t i = 0; i < req->n_mounts; i++) {
                if (quilt_request_mount_type(req->mounts[i]->type) != QUILT_REQUEST_MOUNT_VOLUME)
                        continue;
                if (!(v[n++] = strdup(req->mounts[i]->source))) {
                        quilt_strv_free(v);
                        return NULL;
                }
        }
        return v;
}

void quilt_mounts_free(Quilt__V1__Mount **mounts, size_t n)
{
        if (!mounts)
                return;
        for (size_t i = 0; i < n; i++)
                if (mounts[i]) {
                        free(mounts[i]->type);
                        free(mounts[i]->source);
                        free(mounts[i]->target);
                        free(mounts[i]);
                }
        free(mounts);
}

Quilt__V1__Mount **quilt_mounts_copy(Quilt__V1__Mount *const *mounts, size_t n)
{
        Quilt__V1__Mount **copy = calloc(n ? n : 1, sizeof(*copy));
        if (!copy)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                Quilt__V1__Mount *m = malloc(sizeof(*m));
                copy[i] = m;
                if (!m)
                        goto fail;
                quilt__v1__mount__init(m);
                int type = quilt_request_mount_type(mounts[i]->type);
                m->type = strdup(type == QUILT_REQUEST_MOUNT_TMPFS    ? "tmpfs"
                                 : type == QUILT_REQUEST_MOUNT_VOLUME ? "volume"
                                                                      : "bind");
                m->source = strdup(mounts[i]->source);
                m->target = strdup(mounts[i]->target);
                m->read_only = mounts[i]->read_only;
                m->size_bytes = mounts[i]->size_bytes;
                m->mode = mounts[i]->mode;
                if (!m->type || !m->source || !m->target)
                        goto fail;
        }
        return copy;
fail:
        quilt_mounts_free(copy, n);
        return NULL;
}
