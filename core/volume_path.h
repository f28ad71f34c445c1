/* SPDX-License-Identifier: MIT */
/* Named volumes' names, and where their data lives, for quiltd
 * (volumes.c), the monitor (which mounts it) and quilt-cli:
 * STATE_DIR/volumes/NAME/_data. */
#ifndef QUILT_VOLUME_PATH_H
#define QUILT_VOLUME_PATH_H

#include <stdbool.h>

#define QUILT_VOLUMES_DIR "volumes"
#define QUILT_VOLUME_NAME_MAX 64
#define QUILT_VOLUME_DATA_DIR "_data"

/* Whether `name` is [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 characters:
 * one rule for quiltd and quilt-cli. */
bool quilt_volume_name_is_valid(const char *name);

/* malloc'd; NULL when out of memory.  `name` must be valid already. */
char *quilt_volume_data_path(const char *state_dir, const char *name);

#endif
