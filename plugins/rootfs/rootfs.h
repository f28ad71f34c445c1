/* SPDX-License-Identifier: MIT */
/* Private declarations shared by the files of the rootfs plugin.  Nothing
 * here is exported: the plugin is built with -fvisibility=hidden and only
 * quilt_plugin_v1 (rootfs.c) is visible. */
#ifndef QUILT_ROOTFS_H
#define QUILT_ROOTFS_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include "quilt/plugin.h"

#include "cleanup.h"         /* header-only: nothing of core/ is linked */


#define ROOTFS_PLUGIN_NAME "rootfs"

#endif
