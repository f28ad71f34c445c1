/* SPDX-License-Identifier: MIT */
/* quiltd's image API over the content-addressed store the rootfs plugin
 * fills (STATE_DIR/images, see plugins/rootfs/image_store.h):
 *
 *   STATE_DIR/images/sha256/HEX/{rootfs,meta}   an image
 *   STATE_DIR/images/tags/NAME                  "sha256:HEX\n"; '/' in a
 *                                               tag is stored as "%2F"
 *
 * Imports run in the single-threaded helper quilt-image (posix_spawn'd;
 * the daemon never runs the unpacking code itself).  One rwlock orders
 * the API: creates that name a stored image hold it shared from resolving
 * the reference until the container is registered (its record then names
 * "sha256:HEX"), so RemoveImage (exclusive) always sees every user.
 * Lock order: the images lock, then the manager's mutex. */
#ifndef QUILT_IMAGES_H
#define QUILT_IMAGES_H

#include "quilt.pb-c.h"
#include "status.h"

struct quilt_manager;

/* "sha256:" + 64 hex + NUL */
#define QUILT_IMAGE_DIGEST_SIZE (7 + 64 + 1)

/* The image store's lock: shared while a create resolves a reference and
 * registers its container, exclusive while RemoveImage counts users. */
void quilt_images_read_lock(struct quilt_manager *m);
void quilt_images_unlock(struct quilt_manager *m);

/* Resolve a reference that is not a path: "sha256:HEX", "sha256:PREFIX"
 * or a bare PREFIX (>= 12 hex digits, unique), or a tag.  Call with the
 * images lock held (either way).  NOT_FOUND "image: no such image 'REF'". */
int quilt_images_resolve(struct quilt_manager *m, const char *ref,
                         char ret_digest[QUILT_IMAGE_DIGEST_SIZE], struct quilt_status *st);

#endif
