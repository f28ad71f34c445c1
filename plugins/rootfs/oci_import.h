/* SPDX-License-Identifier: MIT */
/* Importing an OCI image layout (a directory or a tar of one) or a
 * docker-archive tar (`docker save`) into the image store, flattened:
 * the layers are applied in order, whiteouts honoured, into one rootfs.
 * Built into quilt-image only (it needs json-c; the rootfs plugin never
 * parses manifests).
 *
 *   STORE/sha256/HEX/rootfs   the flattened layers
 *   STORE/sha256/HEX/meta     as for a tarball (size: of the tar, or of the
 *                             blobs used for a directory)
 *   STORE/sha256/HEX/config   the image config's defaults, one value a line:
 *                             "KEY\tVALUE" with KEY Entrypoint, Cmd, Env (one
 *                             line per element, in order), WorkingDir, User;
 *                             in VALUE '\\', newline, tab and CR are written
 *                             \\\\, \\n, \\t, \\r.
 *
 * HEX is the sha256 of the image's manifest blob (the platform manifest
 * an index leads to); a docker-archive without index.json has no manifest
 * blob and is keyed by its config's digest (Docker's image id).  Every
 * blob is hashed and compared with the digest that names it before use. */
#ifndef QUILT_OCI_IMPORT_H
#define QUILT_OCI_IMPORT_H

#include "image_store.h"

enum oci_format {
        OCI_FORMAT_TARBALL = 0,         /* a plain rootfs tarball */
        OCI_FORMAT_LAYOUT = 1,          /* oci-layout + index.json */
        OCI_FORMAT_DOCKER = 2,          /* manifest.json (docker save) */
};

/* What `path` holds: a directory is a layout (or docker-archive tree); a
 * tar file is looked into for oci-layout/index.json and manifest.json at
 * its top.  Returns an oci_format or a negative errno. */
int oci_detect(const char *path, struct quilt_error *err);

/* Import the layout or archive `path` into `store`. */
int oci_import(const char *store, const char *path, const struct quilt_host *host,
               struct image_store_entry *ret, struct quilt_error *err);

#endif
