/* SPDX-License-Identifier: MIT */
/* Private declarations shared by the files of the ns plugin.  Nothing here
 * is exported: the plugin is built with -fvisibility=hidden and only
 * quilt_plugin_v1 (ns.c) is visible. */
#ifndef QUILT_NS_H
#define QUILT_NS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "quilt/plugin.h"

#include "cleanup.h"         /* header-only: nothing of core/ is linked */
#include "fs_create.h"


/* Default size of the /dev/shm tmpfs, like Docker's. */
#define NS_SHM_SIZE_DEFAULT (64ull * 1024 * 1024)
/* /dev only holds a few empty files, links and mount points. */
#define NS_DEV_SIZE "65536"

/* Which of the plugin's own mounts a masked or read-only path lies in. */
enum ns_path_base {
        NS_PATH_PROC,
        NS_PATH_SYS,
};

struct ns_path {
        const char *path;       /* as configured, for messages: "/proc/kcore" */
        const char *rel;        /* below the base mount: "kcore" (points into path) */
        enum ns_path_base base;
};

/* A parsed masked_paths or readonly_paths list: built in init, so in_child
 * only walks a ready array. */
struct ns_path_list {
        struct ns_path *items;
        size_t n;
        char *buf;              /* the strings of items */
};

/* The [ns] section, as the key table in ns_config.c fills it. */
struct ns_config {
        bool pid;
        bool mount;
        bool uts;
        bool ipc;
        bool net;
        bool cgroup;
        bool time;              /* clocks since the container's start */
        bool proc;              /* needs mount */
        bool dev;               /* needs mount */
        bool sys;               /* needs mount and net */
        bool loopback_up;       /* needs net */
        uint64_t shm_size;      /* bytes; 0 = the kernel's default */
        /* Raw key values (NULL: not set, Docker's lists apply); they point
         * into the section and are only read by ns_config_parse. */
        const char *masked_paths_value;
        const char *readonly_paths_value;
        struct ns_path_list masked;
        struct ns_path_list readonly;
};

struct ns_state {
        const struct quilt_host *host;
        struct ns_config cfg;
        /* Formatted once in init, so in_child does no formatting of its own. */
        char shm_size[24];
};

/* ns_config.c: apply `section` (may be NULL or empty) over the defaults and
 * check the combinations; errors name FILE:LINE of the offending entry. */
int ns_config_parse(const struct quilt_host *host, const struct quilt_config_section *section,
                    struct ns_config *cfg, struct quilt_error *err);
/* The CLONE_NEW* flags the config asks for at clone time (CLONE_NEWCGROUP
 * is not among them: see ns_in_child). */
unsigned long ns_clone_flags(const struct ns_config *cfg);
/* Free what ns_config_parse allocated (the path lists); idempotent. */
void ns_config_free(struct ns_config *cfg);

/* ns_mounts.c: fd-based mounting with the new mount API, so no path in the
 * image is looked up twice and no symlink in it is ever followed.
 * `rootfs` and `rel` only name the place in error messages. */
int ns_open_mountpoint(int dir_fd, const char *name, mode_t mode, const char *rootfs,
                       const char *rel, int *ret_fd, struct quilt_error *err);
int ns_fs_create(const char *fstype, const struct quilt_fs_option *opts, unsigned int attrs,
                 const char *rootfs, const char *rel, int *ret_fd, struct quilt_error *err);
int ns_attach(int mnt_fd, int dir_fd, const char *name, const char *rootfs, const char *rel,
              struct quilt_error *err);
/* Both return the fd of the attached mount's root in *ret_fd (CLOEXEC),
 * for ns_apply_paths to work beneath. */
int ns_mount_proc(int root_fd, const char *rootfs, int *ret_fd, struct quilt_error *err);
int ns_mount_sys(int root_fd, const char *rootfs, int *ret_fd, struct quilt_error *err);

/* ns_masks.c: make cfg->readonly read-only and hide cfg->masked, beneath
 * the plugin's own /proc (proc_fd) and /sys (sys_fd) mounts; a base that
 * was not mounted (-1) is skipped, and so is a path this kernel lacks. */
int ns_apply_paths(const struct ns_config *cfg, int proc_fd, int sys_fd, const char *rootfs,
                   struct quilt_error *err);

/* ns_dev.c: a minimal /dev on a fresh tmpfs at ROOTFS/dev. */
int ns_mount_dev(int root_fd, const char *rootfs, const char *shm_size, struct quilt_error *err);

#endif
