/* SPDX-License-Identifier: MIT */
/* SHA-256 (FIPS 180-4), self-contained: the image store keys images by
 * the digest of their file, and a firmware build should not need a crypto
 * library for that. */
#ifndef QUILT_SHA256_H
#define QUILT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define QUILT_SHA256_DIGEST_SIZE 32
#define QUILT_SHA256_HEX_SIZE 65              /* 64 hex digits and the NUL */

struct quilt_sha256 {
        uint32_t h[8];
        uint64_t length;                        /* bytes fed so far */
        uint8_t block[64];
        size_t fill;                            /* bytes waiting in block */
};

void quilt_sha256_init(struct quilt_sha256 *s);
void quilt_sha256_update(struct quilt_sha256 *s, const void *data, size_t n);
void quilt_sha256_final(struct quilt_sha256 *s, uint8_t ret[QUILT_SHA256_DIGEST_SIZE]);

/* Lower-case hex of a digest, NUL-terminated. */
void quilt_sha256_hex(const uint8_t digest[QUILT_SHA256_DIGEST_SIZE],
                      char ret[QUILT_SHA256_HEX_SIZE]);

/* Hash everything read from `fd` from its current offset to the end.
 * Returns 0 or a negative errno; *ret_size gets the byte count. */
int quilt_sha256_fd(int fd, char ret_hex[QUILT_SHA256_HEX_SIZE], uint64_t *ret_size);

#endif
