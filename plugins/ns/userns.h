/* SPDX-License-Identifier: MIT */
/* Private declarations of the userns plugin (userns.c, userns_config.c).
 * Nothing here is exported: only quilt_plugin_v1 (userns.c) is visible. */
#ifndef QUILT_USERNS_H
#define QUILT_USERNS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "quilt/plugin.h"

#include "cleanup.h"         /* header-only: nothing of core/ is linked */

#define USERNS_PLUGIN_NAME "userns"

/* Container ids 0..COUNT-1 become host ids START..START+COUNT-1: the
 * range useradd hands out first in /etc/subuid, 65536 ids as Docker and
 * Podman give a container. */
#define USERNS_DEFAULT_START 100000u
#define USERNS_DEFAULT_COUNT 65536u
#define USERNS_SUBUID_FILE "/etc/subuid"
#define USERNS_SUBGID_FILE "/etc/subgid"

/* How the root tree's owners are made to match the mapping. */
enum userns_idmap {
        USERNS_IDMAP_AUTO,      /* an idmapped mount, else chown */
        USERNS_IDMAP_CHOWN,     /* always chown (shift) the tree */
};

/* The [userns] section, as the key table in userns_config.c fills it. */
struct userns_config {
        /* Raw values; they point into the section and are only read by
         * userns_config_parse. */
        const char *uid_map_value;
        const char *gid_map_value;
        const char *subuid_value;
        const char *subuid_file;
        const char *subgid_file;
        int idmap;              /* enum userns_idmap */
        /* The result. */
        struct quilt_id_range uid;
        struct quilt_id_range gid;
};

/* userns_config.c: apply `section` (may be NULL or empty) over the
 * defaults, read /etc/subuid and /etc/subgid when it says `subuid`, and
 * check the ranges; errors name FILE:LINE of the offending entry. */
int userns_config_parse(const struct quilt_host *host, const struct quilt_config_section *section,
                        struct userns_config *cfg, struct quilt_error *err);

/* "START:COUNT" into *ret; -EINVAL with a reason in err (no FILE:LINE). */
int userns_range_parse(const char *value, struct quilt_id_range *ret, struct quilt_error *err);

/* The first "NAME:START:COUNT" line of the subordinate id file `path`
 * whose first field is `name`.  -ENOENT: no such line; other errors with
 * a reason in err. */
int userns_subid_lookup(const char *path, const char *name, struct quilt_id_range *ret,
                        struct quilt_error *err);

/* userns_shift.c: chown every file of the tree at `root` that lies on
 * root's own mount from its container ids to the host ids they map to.
 * Symlinks are never followed; setuid and setgid bits are kept. */
int userns_shift_tree(const char *root, const struct quilt_id_range *uid,
                      const struct quilt_id_range *gid, size_t *ret_changed, struct quilt_error *err);

/* Container id `id` as the host stores it; an id the range does not
 * cover stays as it is (the container sees it as the overflow id). */
static inline uint32_t userns_shift_id(const struct quilt_id_range *r, uint32_t id)
{
        return id < r->count ? r->host_start + id : id;
}

#endif
