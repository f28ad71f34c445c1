/* SPDX-License-Identifier: MIT */
/* The container's /etc/hosts and /etc/resolv.conf, written into its
 * directory (CONTAINER_DIR/hosts, CONTAINER_DIR/resolv.conf) and bind-
 * mounted over the image's files by in_child: the image is never touched. */
#ifndef QUILT_NET_FILES_H
#define QUILT_NET_FILES_H

#include "net.h"
#include "net_ipam.h"

/* CONTAINERS_DIR/ID/hosts for the container holding lease `self`: the
 * loopback names, its own address and name, and (with `peers`) every
 * other container with a lease on the bridge.  With `create` the file is
 * made (mode 0644); without, an existing file is rewritten in place (it
 * may be bind-mounted: its inode must stay) and a missing one is left
 * alone. */
int net_files_write_hosts(const struct net_ipam *ipam, const char *path, const struct net_lease *self,
                          bool peers, bool create, struct quilt_error *err);

/* Rewrite, in place, the hosts file of every container with a lease on
 * the bridge except `except_id` (NULL: all).  With the lock held. */
int net_files_update_peers(const struct net_ipam *ipam, const char *containers_dir,
                           const char *except_id, struct quilt_error *err);

/* All of `len` bytes, across short writes and EINTR; 0 or -errno. */
int net_write_all(int fd, const char *buf, size_t len);

/* PATH (mode 0644): cfg->dns, or else the nameservers of cfg->resolv_conf
 * that a container can reach (not loopback, IPv4), with its search and
 * options lines. */
int net_files_write_resolv(const struct net_config *cfg, const char *path, struct quilt_error *err);

#endif
