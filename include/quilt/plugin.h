/* SPDX-License-Identifier: MIT */
/*
 * quilt/plugin.h — the one header a Quilt plugin includes.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * `quilt_plugin_v1`, a const struct quilt_plugin.  quiltd and the
 * per-container monitor dlopen the plugins an INI chain lists, in order,
 * and call each stage's hook across the chain:
 *
 *   prepare_rootfs  monitor, before clone: build the root tree in c->rootfs
 *   pre_clone       monitor: add CLONE_NEW* flags, open fds, precompute paths
 *   post_start      monitor, after clone: c->pid exists and waits at a sync
 *                   point; place it (cgroups, uid maps, veth) before it runs
 *   in_child        the container process, after post_start, before exec:
 *                   mounts, hostname, root switch.  Keep it async-signal-safe
 *                   in spirit: no malloc, no stdio; report through `err`.
 *   cleanup         reverse chain order, when the container is removed
 *                   (RemoveContainer), in a monitor of its own; also for a
 *                   container that failed half-way.  It must cope with a
 *                   half-built container and be idempotent.
 *
 * Optional, appended later (check struct_size): daemon_start/daemon_stop
 * in quiltd itself, and kill/stats/update for resource control.
 *
 * Every hook returns 0 or a negative errno, and fills `err` only on
 * failure; the core prefixes "PLUGIN: STAGE: " to the message.
 * A NULL hook means the plugin has nothing to do at that stage.
 *
 * ABI rules: abi_version and struct_size come first; a different major
 * ABI version is refused; fields are only ever appended, so the loader
 * treats anything past struct_size as absent.
 */
#ifndef QUILT_PLUGIN_H
#define QUILT_PLUGIN_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QUILT_PLUGIN_ABI_VERSION 1u
#define QUILT_PLUGIN_SYMBOL "quilt_plugin_v1"

/* Mark the descriptor so it stays visible when built with
 * -fvisibility=hidden (the only exported symbol of a plugin). */
#define QUILT_PLUGIN_EXPORT __attribute__((visibility("default")))

enum quilt_stage {
        QUILT_STAGE_PREPARE_ROOTFS,
        QUILT_STAGE_PRE_CLONE,
        QUILT_STAGE_IN_CHILD,
        QUILT_STAGE_POST_START,
        QUILT_STAGE_CLEANUP,
        QUILT_STAGE_COUNT,
};

enum quilt_log_level {
        QUILT_LOG_ERROR,
        QUILT_LOG_WARNING,
        QUILT_LOG_INFO,
        QUILT_LOG_DEBUG,
};

/* Long enough for "plugin: stage: path: reason"; longer text is cut. */
#define QUILT_ERROR_MESSAGE_MAX 1024

struct quilt_error {
        int code;                               /* negative errno */
        char message[QUILT_ERROR_MESSAGE_MAX];
};

/* Fill `err` and return `code` (a negative errno), so a hook can write
 *   return quilt_error_set(err, -errno, "mkdir %s: %m", path);
 * Uses vsnprintf only: fine in the single-threaded monitor and its child. */
__attribute__((format(printf, 3, 4)))
static inline int quilt_error_set(struct quilt_error *err, int code, const char *fmt, ...)
{
        if (err) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(err->message, sizeof(err->message), fmt, ap);
                va_end(ap);
                err->code = code;
        }
        return code;
}

/* One `key = value` line of the plugin's INI section. */
struct quilt_config_entry {
        const char *key;
        const char *value;
        const char *file;
        int line;
};

/* The plugin's own section ([NAME] or [NAME:INSTANCE]); may be empty.
 * The strings stay valid until the plugin's fini. */
struct quilt_config_section {
        const char *name;
        const char *file;
        int line;                               /* 0 when the section is absent */
        size_t n_entries;
        const struct quilt_config_entry *entries;
};

/* The entry that set `key` in `section` (the last one: the one
 * config_apply let win), or NULL. */
static inline const struct quilt_config_entry *quilt_config_find(const struct quilt_config_section *section,
                                                                 const char *key)
{
        const struct quilt_config_entry *found = NULL;
        for (size_t i = 0; section && i < section->n_entries; i++) {
                const char *k = section->entries[i].key;
                size_t j = 0;
                while (k && k[j] && k[j] == key[j])     /* strcmp without <string.h> */
                        j++;
                if (k && k[j] == key[j])
                        found = &section->entries[i];
        }
        return found;
}

/* For a value config_apply took but the plugin cannot use: fill `err` with
 * "FILE:LINE: [SECTION] MESSAGE" (the line that set `key`; `fallback` when
 * the section has no name) and return `code`. */
__attribute__((format(printf, 6, 7)))
static inline int quilt_config_error(const struct quilt_config_section *section, const char *fallback,
                                     const char *key, int code, struct quilt_error *err,
                                     const char *fmt, ...)
{
        const struct quilt_config_entry *e = quilt_config_find(section, key);
        const char *file = e && e->file ? e->file : section && section->file ? section->file : "(config)";
        char what[QUILT_ERROR_MESSAGE_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        return quilt_error_set(err, code, "%s:%d: [%s] %s", file, e ? e->line : 0,
                               section && section->name ? section->name : fallback, what);
}

enum quilt_config_type {
        QUILT_CONFIG_BOOL,                      /* bool: true/false/yes/no/on/off/1/0 */
        QUILT_CONFIG_STRING,                    /* const char *, into the section */
        QUILT_CONFIG_UINT64,                    /* uint64_t, decimal or 0x */
        QUILT_CONFIG_CHOICE,                    /* int: index into `choices` */
};

/* A static key table: { "mode", QUILT_CONFIG_CHOICE, offsetof(struct cfg, mode), modes }.
 * Terminated by an entry with key == NULL. */
struct quilt_config_key {
        const char *key;
        enum quilt_config_type type;
        size_t offset;
        const char *const *choices;             /* NULL-terminated, for CHOICE */
};

/* Limits of CreateContainerRequest.resources; 0 = not set (no limit, or
 * the plugin's configured default). */
struct quilt_resources {
        uint32_t struct_size;
        uint32_t reserved;
        int64_t memory_limit_bytes;
        int64_t memory_swap_limit_bytes;        /* memory + swap together, like Docker's */
        int64_t cpu_millicores;                 /* CPU time per wall time: 500 = half a CPU */
        int64_t cpu_weight;                     /* relative share, cgroup v2 units 1..10000 (100 = default) */
        int64_t pids_limit;
};

/* What a resource plugin accounts; the core presets every field to -1
 * (unknown) and a plugin fills what it has. */
struct quilt_stats {
        uint32_t struct_size;
        uint32_t reserved;
        int64_t memory_current_bytes;
        int64_t memory_peak_bytes;
        int64_t cpu_usage_ns;
        int64_t pids_current;
        int64_t oom_kill_count;                 /* processes the OOM killer ended in the container */
};

/* A mount of CreateContainerRequest.mounts, as quiltd checked and resolved
 * it (a volume's name became its directory). */
enum quilt_mount_type {
        QUILT_MOUNT_BIND,                       /* `source` (a host path) at `target` */
        QUILT_MOUNT_TMPFS,                      /* a fresh tmpfs at `target` */
};

struct quilt_mount {
        uint32_t struct_size;
        enum quilt_mount_type type;
        const char *source;                     /* BIND: absolute host path that existed at create; TMPFS: NULL */
        const char *target;                     /* absolute, inside the container root; may cross symlinks */
        const char *volume;                     /* the named volume `source` is, or NULL */
        int read_only;                          /* non-zero: mounted read-only */
        uint32_t mode;                          /* TMPFS: its root's mode; 0 = 01777 */
        uint64_t size_bytes;                    /* TMPFS: 0 = the kernel's default */
};

/* A published port of CreateContainerRequest.ports: connections to the
 * host's `host_port` reach the container's `container_port`. */
struct quilt_port {
        uint32_t struct_size;
        int protocol;                           /* IPPROTO_TCP or IPPROTO_UDP */
        uint16_t host_port;                     /* 1..65535 */
        uint16_t container_port;                /* 1..65535 */
};

/* Container ids 0..count-1 are host ids host_start..host_start+count-1. */
struct quilt_id_range {
        uint32_t host_start;
        uint32_t count;
};

struct quilt_container {
        /* sizeof(struct quilt_container) as the core was built: fields
         * past it are absent (check with QUILT_CONTAINER_HAS). */
        uint32_t struct_size;
        uint32_t reserved;
        const char *id;                         /* 64 hex characters */
        const char *name;                       /* "" when unnamed */
        const char *dir;                        /* the container's private directory */
        const char *rootfs;                     /* dir/rootfs: the root tree */
        const char *image;                      /* as requested */
        const char *hostname;                   /* never empty: defaults to the id's first 12 */
        const char *working_directory;          /* absolute, inside the root; "/" by default */
        char *const *argv;                      /* NULL-terminated */
        char *const *envp;                      /* NULL-terminated "KEY=VALUE" */
        unsigned long clone_flags;              /* pre_clone hooks OR in CLONE_NEW* */
        pid_t pid;                              /* host pid, from post_start on */
        /* Resource control. */
        const struct quilt_resources *resources; /* never NULL; all 0 = no limits */
        /* A cgroup2 directory fd a plugin opened in pre_clone: the core then
         * clones the container straight into it (clone3 CLONE_INTO_CGROUP)
         * where the kernel can.  -1 when none.  The plugin owns and closes it;
         * its post_start must still place c->pid (harmless when already in). */
        int cgroup_fd;
        /* Agent workloads. */
        char *const *setup_commands;            /* NULL-terminated, never NULL; run by a setup plugin */
        uint32_t setup_timeout_seconds;         /* per setup command; 0 = the plugin's default */
        int read_only_rootfs;                   /* non-zero: the root mount read-only, /tmp writable */
        const struct quilt_mount *const *mounts; /* n_mounts, in request order */
        size_t n_mounts;
        /* Capabilities.  The request's (NULL-terminated, never NULL). */
        char *const *cap_add;
        char *const *cap_drop;
        /* What the container's processes keep, as a capability plugin
         * decided in pre_clone (bit N = capability N); the core hands the
         * same to processes that join later (exec).  ~0 = all (none
         * dropped). */
        uint64_t capabilities;
        int no_new_privs;                       /* set by that plugin: PR_SET_NO_NEW_PRIVS */
        /* Seccomp: a plugin compiles the container's filter in pre_clone
         * into classic BPF (struct sock_filter[], seccomp_filter_len bytes;
         * NULL when none); the core loads it as the very last step before
         * every exec of the container: its command (or quilt-init), each
         * setup command, each exec.  The memory is the plugin's. */
        const void *seccomp_filter;
        size_t seccomp_filter_len;
        const char *seccomp_profile;            /* the request's profile name or path ("" = the chain's) */
        /* Networking.  `network` is the request's mode as quiltd resolved
         * it (the chain's default when the request named none): "none" (a
         * network namespace with nothing up), "loopback" (only lo, up),
         * "bridge" (eth0 on a host bridge), or "" when no plugin of the
         * chain provides networking.  Only a plugin whose features have
         * the mode acts on it. */
        const char *network;
        const struct quilt_port *const *ports;  /* n_ports published ports (bridge only) */
        size_t n_ports;
        /* A network plugin's post_start writes the container's address
         * here ("10.88.0.5"); the core shows it in status and events. */
        char ip_address[48];
        /* User namespace: a plugin that maps ids (userns, first in its
         * chain) sets these in its prepare_rootfs, so the plugins after it
         * can match; count 0 = no user namespace. */
        struct quilt_id_range uid_range;
        struct quilt_id_range gid_range;
        /* Set by a root-tree plugin whose tree already shows the mapped
         * owners (an overlay over idmapped layers): the userns plugin then
         * neither idmaps nor chowns it. */
        int rootfs_ids_mapped;
};

struct quilt_host {
        uint32_t abi_version;
        uint32_t struct_size;
        __attribute__((format(printf, 3, 4)))
        void (*log)(enum quilt_log_level level, const char *plugin, const char *fmt, ...);
        /* Apply `section` to `target` through `table`; an unknown key or a
         * bad value fails with "FILE:LINE: [SECTION] ..." in err. */
        int (*config_apply)(const struct quilt_config_section *section,
                            const struct quilt_config_key *table, void *target,
                            struct quilt_error *err);
        /* Remove a directory tree without following symlinks or crossing
         * mount points.  A missing path is not an error. */
        int (*remove_tree)(const char *path, struct quilt_error *err);
        /* In the container process only (in_child): a new phase of its
         * output begins.  `setup_command` N >= 1: setup command N, whose
         * text is `command`, starts now; the monitor shows the container in
         * SETUP and tags output written from here on with N.  Returns 0 or
         * a negative errno. */
        int (*child_phase)(struct quilt_container *c, uint32_t setup_command, const char *command);
        /* Open `path` (absolute or relative) inside the tree `root_fd` as
         * the container will see it: symlinks and ".." never lead out of
         * the tree (openat2 RESOLVE_IN_ROOT).  With `mkdir_mode` != 0,
         * missing directories on the way, the last one included, are
         * created with that mode.  Returns an O_PATH | O_CLOEXEC fd, or a
         * negative errno with `err` filled ("PATH: reason"). */
        int (*open_in_root)(int root_fd, const char *path, mode_t mkdir_mode, struct quilt_error *err);
        /* The daemon's state directory (absolute).  A plugin keeps state
         * shared by all containers (address leases, say) below
         * STATE_DIR/plugins/NAME/, which it creates itself. */
        const char *(*state_dir)(void);
};

/* True when the core's container struct has `field` (appended later). */
#define QUILT_CONTAINER_HAS(c, field)                                             \
        ((c)->struct_size >= offsetof(struct quilt_container, field) + sizeof((c)->field))

/* True when `host` is new enough to have `field` and sets it: check before
 * calling a host service added after the plugin's ABI (fields are only
 * ever appended). */
#define QUILT_HOST_HAS(host, field)                                               \
        ((host) && (host)->struct_size >= offsetof(struct quilt_host, field) +    \
                                                  sizeof((host)->field) &&        \
         (host)->field)

/* What a plugin does for a request, in quilt_plugin.features: quiltd
 * refuses a request that needs a feature no plugin of its chain has
 * (FAILED_PRECONDITION), instead of silently ignoring part of it. */
#define QUILT_FEATURE_SETUP_COMMANDS (UINT64_C(1) << 0)  /* runs c->setup_commands */
#define QUILT_FEATURE_MOUNTS (UINT64_C(1) << 1)          /* makes c->mounts */
#define QUILT_FEATURE_READ_ONLY_ROOTFS (UINT64_C(1) << 2) /* honours c->read_only_rootfs */
#define QUILT_FEATURE_CAPABILITIES (UINT64_C(1) << 3)   /* applies c->cap_add, c->cap_drop */
#define QUILT_FEATURE_SECCOMP (UINT64_C(1) << 4)        /* honours c->seccomp_profile */
/* Network modes (c->network) a plugin provides; a request for a mode no
 * plugin of its chain has is refused (INVALID_ARGUMENT). */
#define QUILT_FEATURE_NETWORK_NONE (UINT64_C(1) << 5)     /* "none" */
#define QUILT_FEATURE_NETWORK_LOOPBACK (UINT64_C(1) << 6) /* "loopback" */
#define QUILT_FEATURE_NETWORK_BRIDGE (UINT64_C(1) << 7)   /* "bridge", with c->ports */

typedef int (*quilt_hook_fn)(void *state, struct quilt_container *c, struct quilt_error *err);

struct quilt_plugin {
        uint32_t abi_version;                   /* QUILT_PLUGIN_ABI_VERSION */
        uint32_t struct_size;                   /* sizeof(struct quilt_plugin) */
        const char *name;                       /* must match the file name NAME.so */
        const char *description;
        /* Parse the section and allocate private state; no side effects on
         * the system (quiltd also calls it to validate the config). */
        int (*init)(const struct quilt_host *host, const struct quilt_config_section *section,
                    void **ret_state, struct quilt_error *err);
        void (*fini)(void *state);
        quilt_hook_fn prepare_rootfs;
        quilt_hook_fn pre_clone;
        quilt_hook_fn in_child;
        quilt_hook_fn post_start;
        quilt_hook_fn cleanup;

        /* Daemon-wide set-up: quiltd calls daemon_start once at start-up,
         * in chain order, before it starts any thread (so fork-safe code
         * and process-wide changes are fine: e.g. moving quiltd into a leaf
         * cgroup, creating a bridge), and daemon_stop in reverse order at
         * exit.  `state` is the plugin's state in quiltd, not a container's. */
        int (*daemon_start)(void *state, struct quilt_error *err);
        void (*daemon_stop)(void *state);

        /* Resource control, in the monitor while the container exists
         * (from post_start until cleanup). */
        /* Deliver `signo` to every process of the container.  -EOPNOTSUPP
         * lets the core fall back to signalling the init (and its group). */
        int (*kill)(void *state, struct quilt_container *c, int signo, struct quilt_error *err);
        /* Fill what the plugin accounts; leave the other fields alone. */
        int (*stats)(void *state, struct quilt_container *c, struct quilt_stats *stats,
                     struct quilt_error *err);
        /* Apply new limits to the running container; fields at 0 stay as they are. */
        int (*update)(void *state, struct quilt_container *c, const struct quilt_resources *resources,
                      struct quilt_error *err);

        /* QUILT_FEATURE_* this plugin provides. */
        uint64_t features;

        /* A process that joins the running container later (an exec), in
         * the monitor: place `pid` as post_start placed the container
         * (its cgroup, say).  The process waits until every plugin is done;
         * it then enters the container's namespaces and root itself. */
        int (*attach)(void *state, struct quilt_container *c, pid_t pid, struct quilt_error *err);

        /* What this instance provides as configured, when that depends on
         * its section (ns without `net` provides no network mode); NULL:
         * `features` as is. */
        uint64_t (*configured_features)(void *state);

        /* quiltd, at CreateContainer, before anything is made: refuse a
         * request this plugin's stages would fail on, so the caller gets
         * an error (INVALID_ARGUMENT; NOT_FOUND for -ENOENT, PERMISSION_
         * DENIED for -EPERM) instead of a container that fails.  `c` holds
         * only what the request says (name, image, hostname,
         * working_directory, seccomp_profile, network, read_only_rootfs;
         * cap_add, cap_drop, setup_commands empty lists); id, dir, rootfs
         * are NULL and pid 0.  Called from several threads at once: touch
         * `state` read-only. */
        int (*check_request)(void *state, const struct quilt_container *c, struct quilt_error *err);
};

/* Put context in front of the message a callee left in `err`:
 *   return quilt_error_prefix(err, r, "mount %zu (%s): ", i, target);
 * makes "mount 2 (/data): open ...: No such file or directory".  Sets
 * err->code to `code` and returns it; the callee's text is cut at the end
 * when the whole is too long.  Uses vsnprintf only, like quilt_error_set. */
__attribute__((format(printf, 3, 4)))
static inline int quilt_error_prefix(struct quilt_error *err, int code, const char *fmt, ...)
{
        if (err) {
                char reason[QUILT_ERROR_MESSAGE_MAX];
                size_t n = 0, len;
                va_list ap;
                int k;
                /* Copies by hand: no <string.h> here. */
                while (n < sizeof(reason) - 1 && err->message[n]) {
                        reason[n] = err->message[n];
                        n++;
                }
                reason[n] = '\0';
                va_start(ap, fmt);
                k = vsnprintf(err->message, sizeof(err->message), fmt, ap);
                va_end(ap);
                len = k < 0 ? 0 : (size_t)k;
                for (n = 0; len < sizeof(err->message) - 1 && reason[n]; n++)
                        err->message[len++] = reason[n];
                if (len < sizeof(err->message))
                        err->message[len] = '\0';
                err->code = code;
        }
        return code;
}

#ifdef __cplusplus
}
#endif

#endif
