/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "network_request.h"
#include "plugin_chain.h"

const char *quilt_port_protocol(const char *protocol)
{
        if (!protocol || !protocol[0] || !strcasecmp(protocol, "tcp"))
                return "tcp";
        if (!strcasecmp(protocol, "udp"))
                return "udp";
        return NULL;
}

const char *quilt_network_resolve(const char *requested, const struct quilt_profile *profile)
{
        if (requested && requested[0])
                return requested;
        if (!profile)
                return "";
        if (profile->network)
                return profile->network;
        if (profile->features & QUILT_FEATURE_NETWORK_LOOPBACK)
                return "loopback";
        if (profile->features & QUILT_FEATURE_NETWORK_NONE)
                return "none";
        return "";
}

static const char *provided_modes(uint64_t features, char *buf, size_t size)
{
        snprintf(buf, size, "%s%s%s", features & QUILT_FEATURE_NETWORK_NONE ? " none" : "",
                 features & QUILT_FEATURE_NETWORK_LOOPBACK ? " loopback" : "",
                 features & QUILT_FEATURE_NETWORK_BRIDGE ? " bridge" : "");
        return buf[0] ? buf + 1 : "no networking";
}

int quilt_network_validate(const Quilt__V1__CreateContainerRequest *req,
                           const struct quilt_profile *profile, struct quilt_status *st)
{
        const char *chain = req->profile[0] ? req->profile : "default";
        char modes[64];

        if (req->network[0]) {
                uint64_t feature = quilt_network_feature(req->network);
                if (!feature)
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "network: '%.64s' is not none, loopback or bridge",
                                                req->network);
                if (!(profile->features & feature))
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "network: the %s chain does not provide '%s' (it has: %s)",
                                                chain, req->network,
                                                provided_modes(profile->features, modes, sizeof(modes)));
        }
        if (req->n_ports == 0)
                return 0;
        const char *mode = quilt_network_resolve(req->network, profile);
        if (strcmp(mode, "bridge") != 0)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "ports: published ports need network 'bridge' (this container's is '%s')",
                                        mode[0] ? mode : "none at all");
        for (size_t i = 0; i < req->n_ports; i++) {
                const Quilt__V1__PortMapping *p = req->ports[i];
                const char *proto = quilt_port_protocol(p->protocol);
                if (!proto)
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "ports[%zu]: protocol '%.32s' is not tcp or udp", i,
                                                p->protocol);
                if (p->host_port < 1 || p->host_port > 65535 || p->container_port < 1 ||
                    p->container_port > 65535)
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "ports[%zu]: %u:%u: ports are 1..65535", i, p->host_port,
                                                p->container_port);
                for (size_t j = 0; j < i; j++)
                        if (req->ports[j]->host_port == p->host_port &&
                            !strcmp(quilt_port_protocol(req->ports[j]->protocol), proto))
                                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                        "ports[%zu]: host port %u/%s is published twice", i,
                                                        p->host_port, proto);
        }
        return 0;
}

void quilt_ports_free(Quilt__V1__PortMapping **ports, size_t n)
{
        if (!ports)
                return;
        for (size_t i = 0; i < n; i++)
                if (ports[i]) {
                        free(ports[i]->protocol);
                        free(ports[i]);
                }
        free(ports);
}

Quilt__V1__PortMapping **quilt_ports_copy(Quilt__V1__PortMapping *const *ports, size_t n)
{
        Quilt__V1__PortMapping **copy = calloc(n ? n : 1, sizeof(*copy));
        if (!copy)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                Quilt__V1__PortMapping *p = malloc(sizeof(*p));
                copy[i] = p;
                if (!p)
                        goto fail;
                quilt__v1__port_mapping__init(p);
                p->host_port = ports[i]->host_port;
                p->container_port = ports[i]->container_port;
                const char *proto = quilt_port_protocol(ports[i]->protocol);
                if (!(p->protocol = strdup(proto ? proto : "tcp")))
                        goto fail;
        }
        return copy;
fail:
        quilt_ports_free(copy, n);
        return NULL;
}
