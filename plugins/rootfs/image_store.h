/* SPDX-License-Identifier: MIT */
/* The content-addressed image store (issue 4, first slice: rootfs
 * tarballs).  An image is unpacked once, keyed by the sha256 of its file:
 *
 *   STORE/sha256/HEX/rootfs     the unpacked tree (never written by a
 *                               container: overlay mounts it as a lower dir)
 *   STORE/sha256/HEX/meta       key=value: digest, source, size,
 *                               unpacked_bytes, created
 *   STORE/sha256/HEX.lock       flock'ed while the entry is looked up or made
 *   STORE/sha256/HEX.tmp-XXXXXX an unpack in progress, renamed to HEX when
 *                               complete (removed on failure, and by the next
 *                               holder of the lock after a crash)
 *
 * STORE defaults to STATE_DIR/images, STATE_DIR being the parent of the
 * containers/ directory a container's dir lives in. */
#ifndef QUILT_IMAGE_STORE_H
#define QUILT_IMAGE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "quilt/plugin.h"
#include "sha256.h"

/* How a stored image is named in a container spec: "sha256:HEX". */
#define IMAGE_DIGEST_PREFIX "sha256:"

struct image_store_entry {
        char hex[QUILT_SHA256_HEX_SIZE];        /* the tarball's sha256 */
        char *dir;                              /* STORE/sha256/HEX */
        char *rootfs;                           /* STORE/sha256/HEX/rootfs */
        uint64_t size;                          /* of the tarball */
        bool unpacked;                          /* this call unpacked it (a miss) */
};

/* STATE_DIR/images for a container dir STATE_DIR/containers/ID, or NULL
 * (errno set) when `container_dir` has no grandparent. */
char *image_store_default_path(const char *container_dir);

/* Find the image `tarball` in `store`, unpacking it first when it is not
 * there yet.  `store` (absolute) and STORE/sha256 are created (0700) as
 * needed.  Safe against concurrent callers in other processes: exactly
 * one of them unpacks, the others wait on the lock and find the entry.  A
 * failed unpack leaves no entry and no temporary directory.  Needs
 * host->remove_tree; host->log is optional.  Returns 0 or a negative
 * errno with `err` filled; *ret is filled on success only. */
int image_store_get(const char *store, const char *tarball, const struct quilt_host *host,
                    struct image_store_entry *ret, struct quilt_error *err);

/* An image already in `store` by its full digest `hex` (64 lower-case hex
 * digits), looked up under its lock like image_store_get: an unpack in
 * progress is waited for.  -ENOENT with `err` filled when it is not
 * there; never unpacks.  ret->size is 0. */
int image_store_find(const char *store, const char *hex, const struct quilt_host *host,
                     struct image_store_entry *ret, struct quilt_error *err);

/* Create STORE/sha256 (0700, with its parents) if needed. */
int image_store_prepare(const char *store, struct quilt_error *err);

/* Writes an entry's content into its temporary directory `dir`:
 * `rootfs` (dir/rootfs, empty, 0755) and any file besides meta. */
typedef int (*image_store_fill_fn)(const char *dir, const char *rootfs, void *data,
                                   struct quilt_error *err);

/* The general form of image_store_get() for a key computed by the
 * caller (an OCI image's manifest digest): under HEX's lock, a hit is
 * returned as is, a miss is filled by fill(data) into a temporary
 * directory renamed into place when complete (removed on failure).
 * `source` and `size` go to meta. */
int image_store_put(const char *store, const char *hex, const char *source, uint64_t size,
                    image_store_fill_fn fill, void *data, const struct quilt_host *host,
                    struct image_store_entry *ret, struct quilt_error *err);

/* Whether `s` is 64 lower-case hex digits. */
bool image_store_hex_is_valid(const char *s);

/* Free what image_store_get allocated; fine on a zeroed entry, idempotent. */
void image_store_entry_clear(struct image_store_entry *e);

#endif
