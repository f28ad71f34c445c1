/* SPDX-License-Identifier: MIT */
/* The caps plugin: the container's capabilities reduced to a set (Docker's
 * default 14 unless [caps] default says otherwise), adjusted per request
 * by cap_add / cap_drop, and no_new_privs.  pre_clone decides the set
 * (c->capabilities, c->no_new_privs); in_child applies it in the container
 * process, after the root switch and mounts (which need CAP_SYS_ADMIN)
 * and before the setup commands, so those are confined too.
 *
 * Root in the container keeps the set across exec.  The core switches to
 * the request's user after us: a non-root user loses permitted and
 * effective there (no keepcaps), Docker's behaviour; the bounding set
 * stays the set.  A request that drops SETUID/SETGID and sets a user
 * fails there with EPERM. */
#include <stdlib.h>

#include "caps.h"

static int caps_init(const struct quilt_host *host, const struct quilt_config_section *section,
                     void **ret_state, struct quilt_error *err)
{
        _cleanup_free_ struct caps_state *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        s->host = host;
        r = caps_config_parse(host, section, &s->cfg, err);
        if (r < 0)
                return r;
        s->kernel_last = caps_kernel_last();
        *ret_state = TAKE_PTR(s);
        return 0;
}

static void caps_fini(void *state)
{
        free(state);
}

static int caps_pre_clone(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct caps_state *s = state;
        char *const *add = QUILT_CONTAINER_HAS(c, cap_add) ? c->cap_add : NULL;
        char *const *drop = QUILT_CONTAINER_HAS(c, cap_drop) ? c->cap_drop : NULL;
        uint64_t allowed = s->cfg.allow_add_all ? ~UINT64_C(0) : s->cfg.allow_add;
        int r;

        s->prepared = false;
        r = caps_compute(s->cfg.default_set, allowed, caps_available(s->kernel_last), add, drop,
                         &s->set, err);
        if (r < 0)
                return r;
        if (QUILT_CONTAINER_HAS(c, capabilities))
                c->capabilities = s->set;
        if (QUILT_CONTAINER_HAS(c, no_new_privs))
                c->no_new_privs = s->cfg.no_new_privs;
        s->prepared = true;
        return 0;
}

static int caps_in_child(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct caps_state *s = state;

        (void)c;
        /* Never run unconfined because pre_clone did not run. */
        if (!s->prepared)
                return quilt_error_set(err, -EINVAL, "no capability set was prepared");
        return caps_apply(s->set, s->kernel_last, s->cfg.no_new_privs, err);
}

QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_plugin),
        .name = "caps",
        .description = "capabilities: bounding/permitted/effective reduced to a set, "
                       "cap_add/cap_drop, no_new_privs",
        .init = caps_init,
        .fini = caps_fini,
        .pre_clone = caps_pre_clone,
        .in_child = caps_in_child,
        .features = QUILT_FEATURE_CAPABILITIES,
};
