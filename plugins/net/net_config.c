/* SPDX-License-Identifier: MIT */
/* The [net_bridge] section: the bridge's name, subnet and gateway, the
 * MTU, NAT and forwarding, and what goes into /etc/hosts and
 * /etc/resolv.conf.  Every bad value names the FILE:LINE that set it. */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>

#include "net.h"

static const struct quilt_config_key net_keys[] = {
        { "bridge", QUILT_CONFIG_STRING, offsetof(struct net_config, bridge), NULL },
        { "subnet", QUILT_CONFIG_STRING, offsetof(struct net_config, subnet_value), NULL },
        { "gateway", QUILT_CONFIG_STRING, offsetof(struct net_config, gateway_value), NULL },
        { "mtu", QUILT_CONFIG_UINT64, offsetof(struct net_config, mtu), NULL },
        { "nat", QUILT_CONFIG_BOOL, offsetof(struct net_config, nat), NULL },
        { "ip_forward", QUILT_CONFIG_BOOL, offsetof(struct net_config, ip_forward), NULL },
        { "hosts", QUILT_CONFIG_BOOL, offsetof(struct net_config, hosts), NULL },
        { "dns", QUILT_CONFIG_STRING, offsetof(struct net_config, dns_value), NULL },
        { "resolv_conf", QUILT_CONFIG_STRING, offsetof(struct net_config, resolv_conf), NULL },
        { "remove_on_shutdown", QUILT_CONFIG_BOOL, offsetof(struct net_config, remove_on_shutdown), NULL },
        { NULL, 0, 0, NULL },
};

const char *net_ip4_text(uint32_t addr, char *buf, size_t size)
{
        snprintf(buf, size, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff,
                 addr & 0xff);
        return buf;
}

/* inet_pton alone: it takes exactly four decimal parts, no "010" octal or
 * short forms as inet_aton would. */
int net_parse_ip4(const char *s, uint32_t *ret_addr)
{
        struct in_addr a;

        if (!s || inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;
        *ret_addr = ntohl(a.s_addr);
        return 0;
}

int net_parse_cidr4(const char *s, uint32_t *ret_addr, unsigned *ret_prefix)
{
        char addr[INET_ADDRSTRLEN];
        const char *slash = s ? strchr(s, '/') : NULL;
        unsigned prefix = 0;
        size_t n;

        if (!slash || (size_t)(slash - s) >= sizeof(addr))
                return -EINVAL;
        n = (size_t)(slash - s);
        memcpy(addr, s, n);
        addr[n] = '\0';
        if (!slash[1] || strlen(slash + 1) > 2)
                return -EINVAL;
        for (const char *p = slash + 1; *p; p++) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                prefix = prefix * 10 + (unsigned)(*p - '0');
        }
        if (prefix > 32 || net_parse_ip4(addr, ret_addr) < 0)
                return -EINVAL;
        *ret_prefix = prefix;
        return 0;
}

/* A Linux interface name: 1..15 bytes, no '/', ':' or blanks, not "." or "..". */
static bool ifname_valid(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (*p == '/' || *p == ':' || *p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

static int parse_dns(const struct quilt_config_section *section, struct net_config *cfg,
                     struct quilt_error *err)
{
        const char *p = cfg->dns_value;

        cfg->n_dns = 0;
        while (p && *p) {
                char one[INET_ADDRSTRLEN + 8];
                size_t n;

                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                if (!*p)
                        break;
                n = strcspn(p, ", \t");
                if (n >= sizeof(one))
                        return quilt_config_error(section, "net_bridge", "dns", -EINVAL, err,
                                                  "dns: '%.*s' is not an IPv4 address", (int)n, p);
                memcpy(one, p, n);
                one[n] = '\0';
                if (cfg->n_dns == NET_DNS_MAX)
                        return quilt_config_error(section, "net_bridge", "dns", -EINVAL, err,
                                                  "dns: more than %d nameservers", NET_DNS_MAX);
                if (net_parse_ip4(one, &cfg->dns[cfg->n_dns]) < 0)
                        return quilt_config_error(section, "net_bridge", "dns", -EINVAL, err,
                                                  "dns: '%s' is not an IPv4 address", one);
                cfg->n_dns++;
                p += n;
        }
        return 0;
}

int net_config_parse(const struct quilt_host *host, const struct quilt_config_section *section,
                     struct net_config *cfg, struct quilt_error *err)
{
        uint32_t mask, broadcast;
        int r;

        *cfg = (struct net_config) {
                .bridge = NET_BRIDGE_DEFAULT,
                .subnet_value = NET_SUBNET_DEFAULT,
                .gateway_value = "",
                .mtu = NET_MTU_DEFAULT,
                .nat = true,
                .ip_forward = true,
                .hosts = true,
                .dns_value = "",
                .resolv_conf = NET_RESOLV_CONF_DEFAULT,
        };
        if (section && section->n_entries > 0) {
                if (!QUILT_HOST_HAS(host, config_apply))
                        return quilt_error_set(err, -ENOTSUP,
                                               "the host offers no config_apply to read [%s]",
                                               section->name ? section->name : "net_bridge");
                r = host->config_apply(section, net_keys, cfg, err);
                if (r < 0)
                        return r;
        }

        if (!ifname_valid(cfg->bridge))
                return quilt_config_error(section, "net_bridge", "bridge", -EINVAL, err,
                                          "bridge: '%s' is not a valid interface name "
                                          "(1 to %d bytes, no '/', ':' or blanks)",
                                          cfg->bridge, IFNAMSIZ - 1);
        if (net_parse_cidr4(cfg->subnet_value, &cfg->network, &cfg->prefix) < 0)
                return quilt_config_error(section, "net_bridge", "subnet", -EINVAL, err,
                                          "subnet: '%s' is not an IPv4 CIDR (like %s)",
                                          cfg->subnet_value, NET_SUBNET_DEFAULT);
        if (cfg->prefix < 8 || cfg->prefix > 30)
                return quilt_config_error(section, "net_bridge", "subnet", -EINVAL, err,
                                          "subnet: prefix /%u of '%s' is not within /8../30",
                                          cfg->prefix, cfg->subnet_value);
        mask = net_mask(cfg->prefix);
        if (cfg->network & ~mask) {
                char want[16];
                return quilt_config_error(section, "net_bridge", "subnet", -EINVAL, err,
                                          "subnet: '%s' has host bits set (did you mean %s/%u?)",
                                          cfg->subnet_value,
                                          net_ip4_text(cfg->network & mask, want, sizeof(want)),
                                          cfg->prefix);
        }
        broadcast = cfg->network | ~mask;
        snprintf(cfg->subnet, sizeof(cfg->subnet), "%u.%u.%u.%u/%u", cfg->network >> 24,
                 (cfg->network >> 16) & 0xff, (cfg->network >> 8) & 0xff, cfg->network & 0xff,
                 cfg->prefix);

        if (!cfg->gateway_value[0])
                cfg->gateway = cfg->network + 1;
        else if (net_parse_ip4(cfg->gateway_value, &cfg->gateway) < 0)
                return quilt_config_error(section, "net_bridge", "gateway", -EINVAL, err,
                                          "gateway: '%s' is not an IPv4 address", cfg->gateway_value);
        if ((cfg->gateway & mask) != cfg->network || cfg->gateway == cfg->network ||
            cfg->gateway == broadcast)
                return quilt_config_error(section, "net_bridge", "gateway", -EINVAL, err,
                                          "gateway: %s is not a host address of %s",
                                          cfg->gateway_value, cfg->subnet);
        net_ip4_text(cfg->gateway, cfg->gateway_text, sizeof(cfg->gateway_text));

        if (cfg->mtu < 68 || cfg->mtu > 65535)
                return quilt_config_error(section, "net_bridge", "mtu", -EINVAL, err,
                                          "mtu: %llu is not within 68..65535",
                                          (unsigned long long)cfg->mtu);
        if (cfg->resolv_conf[0] != '/')
                return quilt_config_error(section, "net_bridge", "resolv_conf", -EINVAL, err,
                                          "resolv_conf: '%s' is not an absolute path",
                                          cfg->resolv_conf);
        return parse_dns(section, cfg, err);
}
