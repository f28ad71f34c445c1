/* SPDX-License-Identifier: MIT */
/* The values of quilt-cli's resource options (--memory 64M, --cpus 0.5,
 * --pids 64) and their display (12.3 MiB, 0.5).  Pure: no I/O, no grpc. */
#ifndef QUILT_CLI_UNITS_H
#define QUILT_CLI_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* A size in bytes, > 0: digits with an optional fraction ("1.5G"; the
 * result is truncated to whole bytes) and an optional unit, case-
 * insensitive: b; k, kb, kib; m, mb, mib; g, gb, gib; t, tb, tib — all
 * binary (k = 1024).  No sign, no spaces.  Returns 0, or -EINVAL
 * (malformed, negative, zero) / -ERANGE (past INT64_MAX) with *ret_error
 * set to a static description when ret_error is not NULL. */
int quilt_parse_size(const char *s, int64_t *ret, const char **ret_error);

/* A number of CPUs, > 0, with at most three decimals ("0.5", "2",
 * "1.125"; further digits only if they are zeros), as millicores
 * (0.5 -> 500).  Same returns as quilt_parse_size(). */
int quilt_parse_cpus(const char *s, int64_t *ret_millicores, const char **ret_error);

/* A decimal integer in [min, max] (no sign, no spaces).  Same returns:
 * -ERANGE when outside the range. */
int quilt_parse_int_range(const char *s, int64_t min, int64_t max, int64_t *ret,
                          const char **ret_error);

/* Bytes for reading at a glance: "512 B", "1.0 KiB", "12.3 MiB" (one
 * decimal, truncated, from KiB up).  "-" when negative. */
void quilt_format_bytes(int64_t bytes, char *buf, size_t size);

/* Bytes exactly, in the largest binary unit that divides them: "64 MiB",
 * "1536 B", "3 GiB".  "-" when <= 0 (a limit that is not set). */
void quilt_format_bytes_exact(int64_t bytes, char *buf, size_t size);

/* Millicores as CPUs without trailing zeros: "0.5", "2", "1.125".
 * "-" when <= 0. */
void quilt_format_cpus(int64_t millicores, char *buf, size_t size);

/* Nanoseconds as seconds with three decimals, truncated: "1.234 s".
 * "-" when negative. */
void quilt_format_seconds(int64_t ns, char *buf, size_t size);

#endif
