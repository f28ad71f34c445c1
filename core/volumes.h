/* SPDX-License-Identifier: MIT */
/* Named volumes: directories that outlive the containers mounting them
 * (Mount.type "volume", source = the volume's name).
 *
 *   STATE_DIR/volumes/NAME/_data     the data (mode 0755), what is mounted
 *   STATE_DIR/volumes/.new-*         a create in progress (renamed to NAME)
 *   STATE_DIR/volumes/.removed-*     a remove in progress (or cut short)
 *
 * A volume appears and disappears by one rename, so a reader sees it
 * whole or not at all.  Users are the container records whose `volumes`
 * name it (any state, until the record is gone); RemoveVolume checks them
 * and takes the name away under the manager's mutex, so a create that
 * resolves a volume (quilt_volume_path) and registers its record in the
 * same critical section never ends up with a volume removed under it. */
#ifndef QUILT_VOLUMES_H
#define QUILT_VOLUMES_H

#include <stdbool.h>

#include "quilt.pb-c.h"
#include "status.h"
#include "volume_path.h"

struct quilt_manager;


/* STATE_DIR/volumes/NAME/_data (malloc'd) of an existing volume.
 * INVALID_ARGUMENT for a malformed name, NOT_FOUND "volume 'x' does not
 * exist (create it with quilt-cli volume create x)".  Call with m->lock
 * held and register the container (its `volumes`) before dropping it. */
int quilt_volume_path(const struct quilt_manager *m, const char *name, char **ret_path,
                      struct quilt_status *st);

/* Optional, at start-up before any API call: make STATE_DIR/volumes and
 * remove what a crash left of creates and removes (.new-*, .removed-*). */
int quilt_volumes_init(struct quilt_manager *m, struct quilt_status *st);

/* CreateVolume: ALREADY_EXISTS when NAME exists. */
int quilt_manager_create_volume(struct quilt_manager *m, const char *name,
                                Quilt__V1__CreateVolumeResponse **ret, struct quilt_status *st);
/* ListVolumes, sorted by name. */
int quilt_manager_list_volumes(struct quilt_manager *m, Quilt__V1__ListVolumesResponse **ret,
                               struct quilt_status *st);
/* RemoveVolume: NOT_FOUND, or FAILED_PRECONDITION while a container
 * record mounts it.  *ret_name malloc'd. */
int quilt_manager_remove_volume(struct quilt_manager *m, const char *name, char **ret_name,
                                struct quilt_status *st);

void quilt_create_volume_response_free(Quilt__V1__CreateVolumeResponse *r);
void quilt_list_volumes_response_free(Quilt__V1__ListVolumesResponse *r);

#endif
