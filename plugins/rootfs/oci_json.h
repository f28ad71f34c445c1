/* SPDX-License-Identifier: MIT */
/* What OCI layout import and registry pull both read from image JSON:
 * typed lookups, "sha256:HEX" digests, and the platform choice in an
 * image index. */
#ifndef QUILT_OCI_JSON_H
#define QUILT_OCI_JSON_H

#include <json-c/json.h>
#include <stdint.h>

#include "quilt/plugin.h"

#if defined(__x86_64__)
#define OCI_HOST_ARCH "amd64"
#elif defined(__aarch64__)
#define OCI_HOST_ARCH "arm64"
#elif defined(__arm__)
#define OCI_HOST_ARCH "arm"
#elif defined(__i386__)
#define OCI_HOST_ARCH "386"
#elif defined(__riscv) && __riscv_xlen == 64
#define OCI_HOST_ARCH "riscv64"
#else
#define OCI_HOST_ARCH "amd64"
#endif

/* o[key] when o is an object and the member has that type, else NULL. */
json_object *oci_jget(json_object *o, const char *key, json_type type);
const char *oci_jstr(json_object *o, const char *key);
/* A descriptor's "size", or -1 when it has none. */
int64_t oci_jsize(json_object *desc);
/* "sha256:HEX" (64 lowercase hex) -> HEX, or NULL. */
const char *oci_digest_hex(const char *digest);
/* The descriptor of an index to follow: linux/OCI_HOST_ARCH, else the
 * only entry; NULL with err filled otherwise.  `what` names the index. */
json_object *oci_pick_manifest(json_object *index, const char *what, struct quilt_error *err);

#endif
