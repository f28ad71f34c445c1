/* SPDX-License-Identifier: MIT */
/* Whether a tar entry may be written into a root tree, judged from its
 * names and type alone.  Pure (no file system access, no allocation), so
 * it is unit-tested on its own (tests/test-tar-entry.c).  libarchive's
 * ARCHIVE_EXTRACT_SECURE_* flags check the same things; this is the
 * second, independent line of defence. */
#ifndef QUILT_TAR_ENTRY_H
#define QUILT_TAR_ENTRY_H

#include <stddef.h>
#include <sys/types.h>

enum {
        QUILT_TAR_ENTRY_WRITE = 0,      /* extract it */
        QUILT_TAR_ENTRY_SKIP = 1,       /* leave it out (a device node, the root itself) */
};

/* `path` as stored in the archive; `hardlink_target` NULL unless the entry
 * is a hard link; `type` the S_IFMT bits (0 when unknown).
 * Returns QUILT_TAR_ENTRY_WRITE, QUILT_TAR_ENTRY_SKIP (`reason` says why,
 * for a debug log) or a negative errno when the entry must fail the whole
 * extraction: -EPERM for absolute paths and ".." components (reason
 * "path escapes the root", ...), -EINVAL for empty names and unsupported
 * types.  `reason` may be NULL. */
int quilt_tar_entry_check(const char *path, const char *hardlink_target, mode_t type,
                          char *reason, size_t reason_len);

/* `path` past its leading "./" (and "." alone), plus any slashes after
 * them: "./usr/bin" -> "usr/bin", ".//etc" -> "etc", "./" -> "".
 * Points into `path`; "" means the root directory itself. */
const char *quilt_tar_entry_strip(const char *path);

#endif
