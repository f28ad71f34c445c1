/* SPDX-License-Identifier: MIT */
/* The network part of CreateContainerRequest: the mode (checked against
 * what the chain's plugins provide, and the chain's default filled in)
 * and the published ports. */
#ifndef QUILT_NETWORK_REQUEST_H
#define QUILT_NETWORK_REQUEST_H

#include <stddef.h>

#include "config.h"
#include "quilt.pb-c.h"
#include "status.h"

/* INVALID_ARGUMENT for a mode the chain does not provide, ports without
 * "bridge", a port out of 1..65535, an unknown protocol, or one host port
 * published twice. */
int quilt_network_validate(const Quilt__V1__CreateContainerRequest *req,
                           const struct quilt_profile *profile, struct quilt_status *st);

/* The mode a container of `profile` gets when it asked for `requested`:
 * that one if set; else the chain's `network` key; else "loopback", else
 * "none" where provided; else "" (the chain does no networking). */
const char *quilt_network_resolve(const char *requested, const struct quilt_profile *profile);

/* "tcp" or "udp" for PortMapping.protocol ("" is tcp); NULL otherwise. */
const char *quilt_port_protocol(const char *protocol);

/* A deep copy of the request's ports, protocols spelled out; NULL when
 * out of memory. */
Quilt__V1__PortMapping **quilt_ports_copy(Quilt__V1__PortMapping *const *ports, size_t n);
void quilt_ports_free(Quilt__V1__PortMapping **ports, size_t n);

#endif
