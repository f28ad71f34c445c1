/* SPDX-License-Identifier: MIT */
/* Small rtnetlink helpers over libmnl: links, IPv4 addresses and routes.
 * A socket works in the network namespace it was opened in, whichever
 * namespace the process is in later; every call waits for the kernel's
 * answer and returns 0 (or an ifindex) or a negative errno. */
#ifndef QUILT_NET_NETLINK_H
#define QUILT_NET_NETLINK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct mnl_socket;

struct net_nl {
        struct mnl_socket *sock;
        uint32_t portid;
        uint32_t seq;
};

int net_nl_open(struct net_nl *nl);
/* Idempotent. */
void net_nl_close(struct net_nl *nl);

/* The ifindex of `name` (> 0), or -ENODEV. */
int net_nl_link_index(struct net_nl *nl, const char *name);
/* A new bridge (down); -EEXIST when `name` exists. */
int net_nl_create_bridge(struct net_nl *nl, const char *name, uint32_t mtu);
/* A veth pair: `name` here, `peer` created straight in the network
 * namespace of `peer_pid` (0: here too); both with `mtu`. */
int net_nl_create_veth(struct net_nl *nl, const char *name, const char *peer, pid_t peer_pid,
                       uint32_t mtu);
/* Enslave link `ifindex` to `master` (0: leave as is), then bring it up
 * when `up`. */
int net_nl_set_link(struct net_nl *nl, int ifindex, int master, bool up);
/* -ENODEV when there is no such link. */
int net_nl_delete_link(struct net_nl *nl, const char *name);
/* ADDR/PREFIX (host byte order) on `ifindex`, with the subnet's
 * broadcast; -EEXIST when it is there already. */
int net_nl_add_addr4(struct net_nl *nl, int ifindex, uint32_t addr, unsigned prefix);
/* The default route via `gateway` out of `ifindex`, in table main. */
int net_nl_add_default_route4(struct net_nl *nl, uint32_t gateway, int ifindex);

/* An IPv4 destination of the main table, or an address's subnet. */
struct net_nl_net4 {
        uint32_t addr;          /* host byte order; for an address: the address itself */
        unsigned prefix;
        int ifindex;            /* 0: none (say, a multipath route) */
};
/* Called for each entry; returning non-zero stops the callbacks (the dump
 * is still read to its end) and becomes the dump's result. */
typedef int (*net_nl_net4_fn)(const struct net_nl_net4 *n, void *userdata);
/* Unicast routes of the main table (not the default route). */
int net_nl_dump_routes4(struct net_nl *nl, net_nl_net4_fn fn, void *userdata);
/* Every IPv4 address, with its prefix. */
int net_nl_dump_addrs4(struct net_nl *nl, net_nl_net4_fn fn, void *userdata);

#endif
