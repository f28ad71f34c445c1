/* SPDX-License-Identifier: MIT */
/* Shared by the plugins that name capabilities (caps: cap_add, cap_drop
 * and its config lists; seccomp: a profile's "caps" conditions): each
 * links its own copy (plugins export nothing but their descriptor). */
#ifndef QUILT_PLUGIN_CAP_NAMES_H
#define QUILT_PLUGIN_CAP_NAMES_H

/* Capabilities with a name here: 0 .. QUILT_CAP_NAMED - 1. */
#define QUILT_CAP_NAMED 41

/* The kernel's name of capability `cap` without "CAP_" ("NET_ADMIN" for
 * 12); NULL past the table. */
const char *quilt_cap_name(unsigned cap);

#endif
