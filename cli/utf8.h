/* SPDX-License-Identifier: MIT */
#ifndef QUILT_UTF8_H
#define QUILT_UTF8_H

#include <stddef.h>

/* Length (2-4) of the valid multi-byte UTF-8 sequence at `s`, reading at
 * most `left` bytes, or 0 when the bytes there are not one (including
 * ASCII: callers handle bytes below 0x80 themselves).  Overlong forms,
 * surrogates and code points past U+10FFFF are invalid (RFC 3629). */
size_t quilt_utf8_sequence(const unsigned char *s, size_t left);

#endif
