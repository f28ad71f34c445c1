/* SPDX-License-Identifier: MIT */
/* Private declarations shared by the files of the net plugins.  Nothing
 * here is exported: the plugins are built with -fvisibility=hidden and only
 * quilt_plugin_v1 (net_loopback.c, net_bridge.c) is visible. */
#ifndef QUILT_NET_H
#define QUILT_NET_H

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "quilt/plugin.h"

#include "cleanup.h"         /* header-only: nothing of core/ is linked */
#include "loopback.h"

#define NET_BRIDGE_DEFAULT "quilt0"
#define NET_SUBNET_DEFAULT "10.88.0.0/16"
#define NET_RESOLV_CONF_DEFAULT "/etc/resolv.conf"
#define NET_MTU_DEFAULT 1500
/* resolv.conf(5) reads no more than 3; a few more cost nothing. */
#define NET_DNS_MAX 8

/* The [net_bridge] section, as the key table in net_config.c fills it
 * (strings point into the section), then checked and parsed. */
struct net_config {
        const char *bridge;
        const char *subnet_value;
        const char *gateway_value;
        uint64_t mtu;
        bool nat;
        bool ip_forward;
        bool hosts;
        const char *dns_value;
        const char *resolv_conf;
        bool remove_on_shutdown;
        /* Parsed, host byte order. */
        uint32_t network;
        unsigned prefix;
        uint32_t gateway;
        uint32_t dns[NET_DNS_MAX];
        size_t n_dns;
        char subnet[24];        /* canonical "10.88.0.0/16" */
        char gateway_text[16];
};

/* net_config.c: apply `section` (may be NULL or empty) over the defaults
 * and check it; errors name FILE:LINE of the offending entry. */
int net_config_parse(const struct quilt_host *host, const struct quilt_config_section *section,
                     struct net_config *cfg, struct quilt_error *err);
/* "10.88.0.0/16" into host-order address and prefix; -EINVAL if malformed. */
int net_parse_cidr4(const char *s, uint32_t *ret_addr, unsigned *ret_prefix);
int net_parse_ip4(const char *s, uint32_t *ret_addr);
/* Host-order address as dotted quad into buf (at least 16 bytes). */
const char *net_ip4_text(uint32_t addr, char *buf, size_t size);

static inline uint32_t net_mask(unsigned prefix)
{
        return prefix == 0 ? 0 : UINT32_MAX << (32 - prefix);
}

/* True when the container asks for `mode` ("none", "loopback", "bridge");
 * a core built before the network fields never does. */
static inline bool net_mode_is(const struct quilt_container *c, const char *mode)
{
        return QUILT_CONTAINER_HAS(c, network) && c->network && strcmp(c->network, mode) == 0;
}

/* Both plugins give every mode they handle a network namespace of its own. */
static inline bool net_mode_handled(const struct quilt_container *c, uint64_t features)
{
        return (net_mode_is(c, "none") && (features & QUILT_FEATURE_NETWORK_NONE)) ||
               (net_mode_is(c, "loopback") && (features & QUILT_FEATURE_NETWORK_LOOPBACK)) ||
               (net_mode_is(c, "bridge") && (features & QUILT_FEATURE_NETWORK_BRIDGE));
}

/* The pre_clone and in_child of modes none and loopback, the same in
 * both plugins. */
static inline int net_simple_pre_clone(struct quilt_container *c, uint64_t features)
{
        if (net_mode_handled(c, features))
                c->clone_flags |= CLONE_NEWNET;
        return 0;
}

static inline int net_simple_in_child(struct quilt_container *c, uint64_t features,
                                      struct quilt_error *err)
{
        if (!net_mode_handled(c, features) || net_mode_is(c, "none"))
                return 0;
        return quilt_loopback_up(err);
}

#endif
