/* SPDX-License-Identifier: MIT */
/* The net_loopback plugin: a private network namespace with only `lo`
 * (up in mode "loopback", down in mode "none").  Nothing outlives the
 * namespace, so there is no cleanup hook and no state. */
#include "net.h"

#define NET_LOOPBACK_FEATURES (QUILT_FEATURE_NETWORK_NONE | QUILT_FEATURE_NETWORK_LOOPBACK)

static const struct quilt_config_key loopback_keys[] = {
        { NULL, 0, 0, NULL },
};

/* No settings: any key in [net_loopback] is an unknown key at FILE:LINE. */
static int loopback_init(const struct quilt_host *host, const struct quilt_config_section *section,
                         void **ret_state, struct quilt_error *err)
{
        char dummy = 0;

        *ret_state = NULL;
        if (section && section->n_entries > 0 && QUILT_HOST_HAS(host, config_apply))
                return host->config_apply(section, loopback_keys, &dummy, err);
        return 0;
}

static int loopback_pre_clone(void *state, struct quilt_container *c, struct quilt_error *err)
{
        (void)state;
        (void)err;
        return net_simple_pre_clone(c, NET_LOOPBACK_FEATURES);
}

static int loopback_in_child(void *state, struct quilt_container *c, struct quilt_error *err)
{
        (void)state;
        return net_simple_in_child(c, NET_LOOPBACK_FEATURES, err);
}

QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_plugin),
        .name = "net_loopback",
        .description = "a private network namespace with only lo",
        .init = loopback_init,
        .pre_clone = loopback_pre_clone,
        .in_child = loopback_in_child,
        .features = NET_LOOPBACK_FEATURES,
};
