/* SPDX-License-Identifier: MIT */
/* The values of quilt-cli's mount and limit options (create, run):
 *
 *   -v, --volume SRC:DST[:ro|:rw]   SRC "/..." a host path (bind), else a
 *                                   volume name
 *   --mount type=bind|tmpfs|volume,source=S,target=T,readonly,size=N,mode=M
 *   --tmpfs DST[:size=64m,mode=1777,ro]
 *   --ulimit NAME=SOFT[:HARD]       "unlimited" (or -1) allowed; HARD
 *                                   defaults to SOFT
 *
 * Pure: no I/O, no grpc.  Each parser returns 0, -EINVAL with *ret_error
 * (malloc'd, without the option's name: the caller adds it) describing
 * what is wrong, or -ENOMEM (*ret_error NULL). */
#ifndef QUILT_CLI_MOUNT_SPEC_H
#define QUILT_CLI_MOUNT_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "rlimits.h"              /* the names quiltd knows, QUILT_RLIMIT_UNLIMITED */
#include "volume_path.h"

/* As the wire's Mount message: type "bind", "tmpfs" or "volume". */
struct quilt_mount_spec {
        const char *type;               /* static */
        char *source;                   /* bind: absolute host path; volume: name; tmpfs: NULL */
        char *target;                   /* absolute path in the container */
        bool read_only;
        int64_t size_bytes;             /* tmpfs; 0: the kernel's default */
        uint32_t mode;                  /* tmpfs; 0: 01777 */
};

struct quilt_cli_rlimit {
        char *type;                     /* one spelling: "nofile" for NOFILE, RLIMIT_NOFILE, ... */
        uint64_t soft, hard;
};

int quilt_parse_volume_option(const char *arg, struct quilt_mount_spec *ret, char **ret_error);
int quilt_parse_mount_option(const char *arg, struct quilt_mount_spec *ret, char **ret_error);
int quilt_parse_tmpfs_option(const char *arg, struct quilt_mount_spec *ret, char **ret_error);
int quilt_parse_ulimit_option(const char *arg, struct quilt_cli_rlimit *ret, char **ret_error);

/* Free what a spec owns and zero it; fine on a zeroed one. */
void quilt_mount_spec_clear(struct quilt_mount_spec *m);
void quilt_cli_rlimit_clear(struct quilt_cli_rlimit *r);


#endif
