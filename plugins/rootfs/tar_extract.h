/* SPDX-License-Identifier: MIT */
/* Unpacking an image tarball into a root tree with libarchive.  Kept apart
 * from the hooks so tests/test-rootfs-extract.c can drive it directly. */
#ifndef QUILT_TAR_EXTRACT_H
#define QUILT_TAR_EXTRACT_H

#include "quilt/plugin.h"

/* Extract the tarball `image` (plain or compressed with anything libarchive
 * reads: gzip, xz, zstd, bzip2, ...) into the existing directory `dest`.
 * Every entry passes quilt_tar_entry_check() first; a refused entry fails
 * the whole extraction with "extracting IMAGE: tar entry 'NAME': REASON".
 * Nothing is ever written outside `dest`.  On failure `dest` may hold a
 * partial tree: the caller removes it.  Returns 0 or a negative errno
 * (-ENOENT with the path when the image is missing). */
int quilt_rootfs_extract(const char *image, const char *dest, struct quilt_error *err);

/* The same, logging skipped entries (debug) and libarchive warnings
 * through host->log.  `host` may be NULL. */
int quilt_rootfs_extract_with_host(const char *image, const char *dest,
                                   const struct quilt_host *host, struct quilt_error *err);

/* The same from an open file: `image_fd` (read from offset 0 whatever its
 * position; not closed) is extracted, `image` only names it in messages.
 * Extracting the very fd that was hashed keeps the content and its digest
 * together even if the path is replaced in between. */
int quilt_rootfs_extract_fd(const char *image, int image_fd, const char *dest,
                            const struct quilt_host *host, struct quilt_error *err);

/* One layer of an OCI or docker image, applied over what `dest` holds
 * (the layers below): first every whiteout in it (DIR/.wh.NAME deletes
 * DIR/NAME, DIR/.wh..wh..opq empties DIR; never through a symlink), then
 * its entries as quilt_rootfs_extract_fd() writes them, the whiteout
 * entries themselves left out.  Reads the layer twice. */
int quilt_rootfs_extract_layer_fd(const char *image, int image_fd, const char *dest,
                                  const struct quilt_host *host, struct quilt_error *err);

#endif
