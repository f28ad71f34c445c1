/* SPDX-License-Identifier: MIT */
/* The seccomp plugin: in pre_clone (the monitor) it picks the container's
 * profile -- the request's seccomp_profile, else the [seccomp] profile --
 * and compiles it with libseccomp into a classic BPF program for
 * c->seccomp_filter.  It loads nothing itself: the core loads the program
 * as the very last step before every exec of the container (its command,
 * each setup command, each exec), after no_new_privs and the capability
 * drop, so nothing of ours runs under it.
 *
 * List it after the capability plugin: a profile's "caps" conditions
 * (Docker's: CAP_SYS_ADMIN allows mount, ...) are checked against
 * c->capabilities as that plugin left it; without one the container keeps
 * every capability and the profile's privileged rules apply.
 *
 * Profile names: "default" (Docker's default, seccomp_default.c),
 * "unconfined" (no filter; a request may ask for it only with
 * allow_unconfined = true), an absolute path to a Docker/OCI JSON file,
 * or a bare NAME, read as PROFILES_DIR/NAME.json. */
#include <string.h>

#include "seccomp_plugin.h"

static int seccomp_plugin_init(const struct quilt_host *host,
                               const struct quilt_config_section *section, void **ret_state,
                               struct quilt_error *err)
{
        _cleanup_free_ struct seccomp_state *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        s->host = host;
        r = seccomp_config_parse(host, section, &s->cfg, err);
        if (r < 0)
                return r;
        *ret_state = TAKE_PTR(s);
        return 0;
}

static void seccomp_plugin_fini(void *state)
{
        struct seccomp_state *s = state;

        if (s)
                free(s->filter);
        free(s);
}

static const char *requested_profile(const struct quilt_container *c)
{
        if (QUILT_CONTAINER_HAS(c, seccomp_profile) && c->seccomp_profile && c->seccomp_profile[0])
                return c->seccomp_profile;
        return NULL;
}

/* The container's filter, compiled (*ret_ctx NULL: unconfined).  Reads
 * only the configuration: quiltd's check_request threads share it. */
static int compile_filter(const struct seccomp_state *s, const struct quilt_container *c,
                          scmp_filter_ctx *ret_ctx, struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        const char *requested = requested_profile(c);
        const char *name = requested ? requested : s->cfg.profile;
        enum seccomp_source_kind kind;
        size_t len;
        int r;

        *ret_ctx = NULL;
        r = seccomp_resolve(&s->cfg, name, &kind, &path, err);
        if (r < 0)
                return r;
        if (kind == SECCOMP_SOURCE_UNCONFINED) {
                if (requested && !s->cfg.allow_unconfined)
                        return quilt_error_set(err, -EPERM,
                                               "seccomp: unconfined is not allowed by the config "
                                               "(allow_unconfined in [seccomp])");
                return 0;
        }

        const struct seccomp_target target = {
                .capabilities = QUILT_CONTAINER_HAS(c, capabilities) ? c->capabilities :
                                                                       ~UINT64_C(0),
                .allow_ptrace = s->cfg.allow_ptrace,
        };
        if (kind == SECCOMP_SOURCE_DEFAULT)
                return seccomp_profile_compile(seccomp_default_profile, strlen(seccomp_default_profile),
                                               "default", &target, ret_ctx, err);
        r = seccomp_read_file(path, &text, &len, err);
        if (r < 0)
                return r;
        return seccomp_profile_compile(text, len, path, &target, ret_ctx, err);
}

/* A profile that cannot be read or compiled, or a forbidden unconfined,
 * is the caller's error, not a failed container. */
static int seccomp_plugin_check_request(void *state, const struct quilt_container *c,
                                        struct quilt_error *err)
{
        _cleanup_seccomp_ scmp_filter_ctx ctx = NULL;

        return compile_filter(state, c, &ctx, err);
}

static int seccomp_plugin_pre_clone(void *state, struct quilt_container *c,
                                    struct quilt_error *err)
{
        struct seccomp_state *s = state;
        _cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
        int r;

        free(s->filter);
        s->filter = NULL;
        s->filter_len = 0;
        /* A core that cannot load a filter would run the container
         * unconfined while the chain promises otherwise. */
        if (!QUILT_CONTAINER_HAS(c, seccomp_filter_len))
                return quilt_error_set(err, -ENOTSUP,
                                       "this quiltd cannot load seccomp filters (too old)");
        c->seccomp_filter = NULL;
        c->seccomp_filter_len = 0;

        r = compile_filter(s, c, &ctx, err);
        if (r < 0 || !ctx)
                return r;
        r = seccomp_export(ctx, &s->filter, &s->filter_len, err);
        if (r < 0)
                return r;
        c->seccomp_filter = s->filter;
        c->seccomp_filter_len = s->filter_len;
        if (QUILT_HOST_HAS(s->host, log))
                s->host->log(QUILT_LOG_DEBUG, "seccomp", "profile %s: %zu instructions",
                             requested_profile(c) ? requested_profile(c) : s->cfg.profile,
                             s->filter_len / 8);
        return 0;
}

QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_plugin),
        .name = "seccomp",
        .description = "seccomp filters from Docker/OCI profiles (libseccomp)",
        .init = seccomp_plugin_init,
        .fini = seccomp_plugin_fini,
        .pre_clone = seccomp_plugin_pre_clone,
        .check_request = seccomp_plugin_check_request,
        .features = QUILT_FEATURE_SECCOMP,
};
