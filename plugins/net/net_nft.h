/* SPDX-License-Identifier: MIT */
/* NAT and published ports of one bridge, over libnftables.
 *
 * All rules of a bridge live in the table `ip quilt_<bridge>` (the bridge
 * name with every character outside [A-Za-z0-9_] turned into '_'):
 *
 *   map tcp_ports, udp_ports   host port : container address . port
 *   chain prerouting, output   DNAT of published ports to local addresses
 *   chain postrouting          masquerade: subnet to the outside (optional),
 *                              127.0.0.0/8 into the bridge, hairpin
 *
 * Every function returns 0 or a negative errno and fills `err` only on
 * failure.  They run in the single-threaded monitor; callers serialize
 * calls for one bridge (flock). */
#ifndef QUILT_NET_NFT_H
#define QUILT_NET_NFT_H

#include <stddef.h>

#include <quilt/plugin.h>

/* Create the table, its chains and maps when missing and (re)write the
 * rules, in one transaction.  Idempotent: rules are never duplicated and
 * the maps' elements (ports of running containers) are kept. */
int net_nft_ensure(const char *bridge, const char *subnet_cidr, int masquerade, struct quilt_error *err);

/* Publish `ports` of the container at `container_ip`, all or none.  A host
 * port another container publishes fails with -EADDRINUSE; a port already
 * published identically by this container is left as it is. */
int net_nft_add_ports(const char *bridge, const char *container_ip, const struct quilt_port *const *ports,
                      size_t n_ports, struct quilt_error *err);

/* Withdraw `ports`, only where they still point at `container_ip`.
 * Missing elements or a missing table are not errors. */
int net_nft_remove_ports(const char *bridge, const char *container_ip, const struct quilt_port *const *ports,
                         size_t n_ports, struct quilt_error *err);

/* Delete the bridge's table; a missing table is not an error. */
int net_nft_remove_table(const char *bridge, struct quilt_error *err);

/* Enable forwarding and route_localnet on `bridge`; the host-wide
 * net.ipv4.ip_forward only when `ip_forward` != 0. */
int net_sysctl_bridge(const char *bridge, int ip_forward, struct quilt_error *err);

#endif
