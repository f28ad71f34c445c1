/* SPDX-License-Identifier: MIT */
/* Shared by the plugins that give a container a network namespace (ns,
 * net_loopback, net_bridge): each links its own copy (plugins export
 * nothing but their descriptor). */
#ifndef QUILT_PLUGIN_LOOPBACK_H
#define QUILT_PLUGIN_LOOPBACK_H

#include "quilt/plugin.h"

/* Bring `lo` up in the current network namespace.  Two ioctls on a
 * throwaway socket, nothing allocated: fine in in_child. */
int quilt_loopback_up(struct quilt_error *err);

#endif
