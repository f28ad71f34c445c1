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

/* OCI layer whiteouts (image-spec layer.md), judged from the name alone. */
enum {
        QUILT_WHITEOUT_NONE = 0,        /* an ordinary entry */
        QUILT_WHITEOUT_FILE = 1,        /* DIR/.wh.NAME: delete DIR/NAME from the layers below */
        QUILT_WHITEOUT_OPAQUE = 2,      /* DIR/.wh..wh..opq: empty DIR of the layers below */
        QUILT_WHITEOUT_META = 3,        /* another .wh..wh.* (aufs bookkeeping): ignored */
};

/* `path` as stored in the archive (a leading "./" is stripped here).
 * Returns one of the above, with `target` (of `target_len`) set to the
 * path to delete (FILE) or the directory to empty (OPAQUE, "" for the
 * root), or a negative errno: -EPERM for an absolute name, a ".."
 * component, or a whiteout naming "", "." or ".."; -ENAMETOOLONG.
 * Pure, like quilt_tar_entry_check().  A whiteout entry itself is never
 * written to the tree. */
int quilt_tar_whiteout(const char *path, char *target, size_t target_len, char *reason,
                       size_t reason_len);

#endif
