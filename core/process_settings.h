/* SPDX-License-Identifier: MIT */
/* Who the container's command runs as, and with which resource limits
 * (CreateContainerRequest.user, .supplementary_groups, .rlimits).
 *
 * quilt_process_resolve runs in the monitor before clone: it reads the
 * image's own /etc/passwd and /etc/group (never NSS: those are the host's
 * users) through quilt_openat_in_root, so a symlinked /etc/passwd cannot
 * read the host's.  quilt_process_apply runs in the container process
 * just before exec and allocates nothing. */
#ifndef QUILT_PROCESS_SETTINGS_H
#define QUILT_PROCESS_SETTINGS_H

#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "quilt/plugin.h"
#include "rlimits.h"

struct quilt_process_rlimit {
        int resource;                           /* RLIMIT_* */
        struct rlimit limit;
};

struct quilt_process_settings {
        uid_t uid;
        gid_t gid;
        gid_t *groups;                          /* setgroups list: gid first, the rest sorted, no repeats */
        size_t n_groups;
        char *home;                             /* the passwd entry's home, "/" when unknown */
        struct quilt_process_rlimit *rlimits;   /* in request order, each resource once */
        size_t n_rlimits;
};

/* Frees what `s` holds and zeroes it (not `s` itself: it is usually a
 * member of a bigger struct).  NULL and repeated calls are fine. */
void quilt_process_settings_clear(struct quilt_process_settings *s);

/* Fill `ret` (cleared first; left cleared on failure).
 *
 * `root_fd`: the container's root tree (an O_PATH fd of c->rootfs).
 * `user`: NULL or "" (root), "UID", "UID:GID", "NAME", "NAME:GROUP",
 *   "UID:GROUP", "NAME:GID".  A NAME or GROUP is looked up in the root's
 *   /etc/passwd or /etc/group (first match wins); a number is taken as is
 *   (like Docker, a UID with no passwd entry is fine: gid 0, home "/").
 *   With no GROUP, gid is the passwd entry's.
 * `groups`, `n_groups`: the request's supplementary groups, names or gids.
 * The setgroups list is: the gid (a primary group left out of the list
 * could be bypassed, CVE-2023-25173), then, when no GROUP was given and
 * the user has a passwd entry, every /etc/group entry that lists the
 * user's name as a member (initgroups; like Docker, an explicit GROUP
 * means only that group), then `groups`.
 * `rlimits`, `n_rlimits`: checked with quilt_rlimit_check_list.
 *
 * Errors: -ENOENT "user 'bob' not found in the container's /etc/passwd",
 * "group 'staff' not found in the container's /etc/group"; -EINVAL for a
 * malformed user/group ("user 'a:b:c': ...") or rlimit (the
 * quilt_rlimit_check message) and for an /etc/passwd or /etc/group that
 * is not a regular file; -EFBIG when one is over 16 MiB; other negative
 * errnos from opening or reading them ("reading the container's
 * /etc/passwd: ...").  A missing file is no error: it has no entries. */
int quilt_process_resolve(int root_fd, const char *user,
                          char *const *groups, size_t n_groups,
                          const struct quilt_rlimit_spec *rlimits, size_t n_rlimits,
                          struct quilt_process_settings *ret, struct quilt_error *err);

/* In the container process, right before exec; no allocation, no stdio.
 * In this order: setrlimit each (while still privileged, so raising a
 * hard limit works), setgroups, setresgid, setresuid (gid before uid:
 * afterwards we could not change it).  Errors: "setrlimit NOFILE: reason",
 * "setgroups: reason", "setresgid 1000: reason", "setresuid 1000: reason". */
int quilt_process_apply(const struct quilt_process_settings *s, struct quilt_error *err);
/* The two halves, for a caller that must put something between them: the
 * monitor's child sets the limits before the capability drop (raising a
 * hard limit needs CAP_SYS_RESOURCE) and the ids after the setup commands. */
int quilt_process_apply_rlimits(const struct quilt_process_settings *s, struct quilt_error *err);
int quilt_process_apply_ids(const struct quilt_process_settings *s, struct quilt_error *err);

#endif
