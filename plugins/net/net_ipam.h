/* SPDX-License-Identifier: MIT */
/* Address management of one bridge, on disk so that every monitor and
 * every daemon (also after a restart) sees the same leases:
 *
 *   STATE/plugins/net_bridge/BRIDGE/lock          flock(2)ed around every change
 *   STATE/plugins/net_bridge/BRIDGE/next          where the next search starts
 *   STATE/plugins/net_bridge/BRIDGE/leases/IP     "ID\nNAME\nHOSTNAME\n"
 *
 * A lease file is created with O_CREAT|O_EXCL, so even a caller that
 * forgot the lock never hands out an address twice.  The network address,
 * the gateway and the broadcast address are never leased. */
#ifndef QUILT_NET_IPAM_H
#define QUILT_NET_IPAM_H

#include <stddef.h>
#include <stdint.h>

#include "net.h"

struct net_ipam {
        char *dir;              /* STATE/plugins/net_bridge/BRIDGE */
        uint32_t network;       /* host byte order */
        unsigned prefix;
        uint32_t gateway;
        char subnet[24];        /* for messages */
};

struct net_lease {
        uint32_t addr;
        char ip[16];
        char id[80];
        char name[256];
        char hostname[256];
};

/* Paths only: nothing is created until net_ipam_lock. */
int net_ipam_init(struct net_ipam *ipam, const char *state_dir, const struct net_config *cfg);
void net_ipam_done(struct net_ipam *ipam);

/* Create the directories if needed and take the bridge's lock; close
 * *ret_fd to release it. */
int net_ipam_lock(const struct net_ipam *ipam, int *ret_fd, struct quilt_error *err);

/* With the lock held: a free address for container `id` (-ENOSPC "no free
 * address in SUBNET" when there is none). */
int net_ipam_allocate(const struct net_ipam *ipam, const char *id, const char *name,
                      const char *hostname, uint32_t *ret_addr, struct quilt_error *err);
/* With the lock held: drop the lease of `addr` if `id` holds it; a missing
 * lease (or somebody else's) is not an error. */
int net_ipam_release(const struct net_ipam *ipam, uint32_t addr, const char *id);
/* The address `id` holds, or -ENOENT. */
int net_ipam_find(const struct net_ipam *ipam, const char *id, uint32_t *ret_addr);

/* Every lease, in no particular order; a non-zero return of `fn` stops
 * the walk and is returned. */
typedef int (*net_ipam_lease_fn)(const struct net_lease *lease, void *userdata);
int net_ipam_foreach(const struct net_ipam *ipam, net_ipam_lease_fn fn, void *userdata);

/* With the lock held: drop every lease whose container directory
 * CONTAINERS_DIR/ID is gone; *ret_removed counts them. */
int net_ipam_gc(const struct net_ipam *ipam, const char *containers_dir, size_t *ret_removed,
                struct quilt_error *err);

#endif
