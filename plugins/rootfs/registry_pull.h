/* SPDX-License-Identifier: MIT */
/* Pulling an image from a registry (OCI distribution API v2) into the
 * image store.  Built into quilt-image only (libcurl, json-c); never in
 * the daemon nor the rootfs plugin.
 *
 * REF is HOST[:PORT]/NAME[:TAG] or HOST[:PORT]/NAME@sha256:HEX (the
 * registry must be named: a first component with '.' or ':', or
 * "localhost"; the tag defaults to "latest").  The blobs are fetched into
 * a temporary OCI image layout STORE/pull-XXXXXX, each hashed as it
 * streams and refused on a digest or size mismatch, then imported with
 * oci_import() (so the digest checks, whiteouts and extraction
 * protections are the layout import's) and the layout removed.
 *
 *   GET /v2/NAME/manifests/REFERENCE  Accept: OCI index and manifest,
 *                                     docker manifest list and schema 2;
 *                                     an index is followed to linux/HOST_ARCH
 *   GET /v2/NAME/blobs/DIGEST         the config and every layer
 *
 * Plain HTTP for loopback registries only (127.0.0.0/8, localhost, ::1)
 * and the hosts given in `insecure` (HOST or HOST:PORT as in REF); https
 * (certificates verified) otherwise.  Token authentication is not
 * supported: a registry answering 401 is an error saying so. */
#ifndef QUILT_REGISTRY_PULL_H
#define QUILT_REGISTRY_PULL_H

#include "image_store.h"

int registry_pull(const char *store, const char *ref, char *const *insecure, size_t n_insecure,
                  const struct quilt_host *host, struct image_store_entry *ret,
                  struct quilt_error *err);

#endif
