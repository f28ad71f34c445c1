/* SPDX-License-Identifier: MIT */
/* Private declarations of the cgroup plugins (cgroup_v1, cgroup_v2 and the
 * probing `cgroup`).  One code base, two backends behind an ops table, so
 * the plugin glue (cgroup_plugin.c) never knows which version it drives.
 * Nothing here is exported: the modules are built with -fvisibility=hidden
 * and only quilt_plugin_v1 of each *_module.c is visible. */
#ifndef QUILT_CGROUP_BACKEND_H
#define QUILT_CGROUP_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "quilt/plugin.h"

#include "cleanup.h"         /* header-only: nothing of core/ is linked */

#define CGROUP_DEFAULT_ROOT "/sys/fs/cgroup"
/* Under the default root, where a hybrid system mounts its cgroup2. */
#define CGROUP_UNIFIED_NAME "unified"
/* The default parent: a child of the process's own cgroup. */
#define CGROUP_PARENT_NAME "quilt"
/* On v2, the leaf quiltd moves itself into (no-internal-processes rule). */
#define CGROUP_DAEMON_LEAF "quiltd"

/* cpu.max / cpu.cfs_period_us: 100 ms, like runc and crun. */
#define CGROUP_CPU_PERIOD_US 100000
/* The kernel refuses a quota below 1 ms. */
#define CGROUP_CPU_QUOTA_MIN_US 1000
/* How long cleanup waits for cgroup.procs to drain and rmdir to succeed. */
#define CGROUP_DRAIN_TIMEOUT_MS 5000
/* How long kill waits for a freeze to take hold before it goes on anyway. */
#define CGROUP_FREEZE_TIMEOUT_MS 1000

#define CGROUP_MAX_CONTROLLERS 16
#define CGROUP_MAX_HIERARCHIES CGROUP_MAX_CONTROLLERS

/* The section [cgroup], [cgroup_v1] or [cgroup_v2] (same keys for all). */
struct cgroup_config {
        const char *root;               /* "" = the backend's default */
        const char *parent;             /* "" = <own cgroup>/quilt; "/x" = as is */
        const char *controllers;        /* "" = memory, cpu, pids (+ cpuacct, freezer on v1) */
        uint64_t memory_limit;          /* defaults for a request's 0 fields */
        uint64_t cpu_millicores;
        uint64_t pids_limit;
};

/* One hierarchy the container's cgroup lives in: every v1 mount that holds
 * a controller in use (co-mounted ones once), or the single cgroup2. */
struct cgroup_hier {
        char *mount;                    /* ROOT/memory (v1) or ROOT (v2) */
        char *parent;                   /* mount + parent cgroup path */
        /* Where a v2 walk that enables controllers starts: the mount for an
         * absolute parent, the delegated base (our own cgroup) otherwise. */
        char *enable_from;
        char label[128];                /* the controllers it serves: "cpu,cpuacct" */
        char *controllers[CGROUP_MAX_CONTROLLERS]; /* names into cgroup_state.controllers */
        size_t n_controllers;
};

struct cgroup_backend;

struct cgroup_state {
        const struct quilt_host *host;
        const char *log_name;           /* the plugin's name, for host->log */
        const struct cgroup_backend *be;
        struct cgroup_config cfg;
        char *root;                     /* the resolved mount root */
        bool explicit_controllers;      /* the config named them: all must exist */
        char *controllers[CGROUP_MAX_CONTROLLERS]; /* in use, after setup */
        size_t n_controllers;
        struct cgroup_hier hier[CGROUP_MAX_HIERARCHIES];
        size_t n_hier;
        /* Overridable by the unit tests, which run against a fake tree. */
        const char *proc_self_cgroup;   /* "/proc/self/cgroup" */
        unsigned drain_timeout_ms;
        unsigned freeze_timeout_ms;
        /* The fd pre_clone handed to the core in c->cgroup_fd. */
        int cgroup_fd;
        char why[512];                  /* auto: why this backend */
};

/* The limits to write, after defaults; 0 = leave alone. */
struct cgroup_limits {
        int64_t memory;
        int64_t memory_swap;            /* memory + swap, Docker's sense */
        int64_t cpu_millicores;
        int64_t cpu_weight;
        int64_t pids;
};

struct cgroup_backend {
        const char *name;               /* "cgroup_v1" */
        /* init time: resolve the root, the controllers in use and the
         * hierarchies with their parents; reads only, no side effects. */
        int (*setup)(struct cgroup_state *s, struct quilt_error *err);
        /* quiltd, before threads; NULL when there is nothing to do. */
        int (*daemon_start)(struct cgroup_state *s, struct quilt_error *err);
        /* mkdir the parent and the container's cgroup, write the limits;
         * on v2 *ret_fd gets an O_PATH fd of the cgroup (else -1). */
        int (*create)(struct cgroup_state *s, const char *id, const struct cgroup_limits *l,
                      int *ret_fd, struct quilt_error *err);
        int (*attach)(struct cgroup_state *s, const char *id, pid_t pid, struct quilt_error *err);
        int (*kill)(struct cgroup_state *s, const char *id, int signo, struct quilt_error *err);
        int (*stats)(struct cgroup_state *s, const char *id, struct quilt_stats *st,
                     struct quilt_error *err);
        int (*update)(struct cgroup_state *s, const char *id, const struct cgroup_limits *l,
                      struct quilt_error *err);
        /* Kill what is left, wait for it to drain, rmdir; a missing cgroup
         * is fine. */
        int (*destroy)(struct cgroup_state *s, const char *id, struct quilt_error *err);
};

extern const struct cgroup_backend cgroup_v1_backend;
extern const struct cgroup_backend cgroup_v2_backend;

/* ---- cgroup_common.c ---- */

/* State with the defaults a test or init starts from (caller frees with
 * cgroup_state_free). */
struct cgroup_state *cgroup_state_new(const struct quilt_host *host, const char *log_name);
void cgroup_state_free(struct cgroup_state *s);
static inline void cgroup_state_freep(struct cgroup_state **s)
{
        cgroup_state_free(*s);
}

/* Split the comma list `list` ("memory, cpu") into s->controllers; an
 * empty list gives `defaults` instead (explicit_controllers false). */
int cgroup_parse_controllers(struct cgroup_state *s, const char *list, const char *const *defaults,
                             struct quilt_error *err);
bool cgroup_has_controller(const struct cgroup_state *s, const char *name);
/* Drop controllers[i] (a default the system lacks). */
void cgroup_drop_controller(struct cgroup_state *s, size_t i);
/* The hierarchy holding `controller`, or NULL. */
struct cgroup_hier *cgroup_hier_for(struct cgroup_state *s, const char *controller);

/* The process's own cgroup path in the hierarchy of `controller` (v1) or
 * in the cgroup2 (controller NULL), from s->proc_self_cgroup. */
int cgroup_self_path(const struct cgroup_state *s, const char *controller, char **ret,
                     struct quilt_error *err);
/* Fill h->parent and h->enable_from from cfg.parent: absolute = as is,
 * "" = <own>/quilt, where <own> skips a trailing /quiltd leaf when
 * `skip_daemon_leaf` (v2, see daemon_start).  A relative parent is taken
 * under the own cgroup too. */
int cgroup_resolve_parent(struct cgroup_state *s, struct cgroup_hier *h, const char *controller,
                          bool skip_daemon_leaf, struct quilt_error *err);

/* The request's resources with the config's defaults for fields at 0
 * (`apply_defaults`), checked against each other. */
int cgroup_limits_resolve(const struct cgroup_state *s, const struct quilt_resources *r,
                          bool apply_defaults, struct cgroup_limits *ret, struct quilt_error *err);
/* Every non-zero limit needs its controller in use: an error names it. */
int cgroup_limits_check_controllers(const struct cgroup_state *s, const struct cgroup_limits *l,
                                    struct quilt_error *err);
/* v2 cpu.weight (1..10000) to v1 cpu.shares (2..262144), the inverse of
 * the mapping runc and crun use from shares to weight. */
uint64_t cgroup_weight_to_shares(uint64_t weight);

/* A container id is one path component of safe characters. */
int cgroup_check_id(const char *id, struct quilt_error *err);
/* h->parent + "/" + id */
int cgroup_container_path(const struct cgroup_hier *h, const char *id, char **ret,
                          struct quilt_error *err);

/* Signal every pid listed in DIR/cgroup.procs (ESRCH ignored); *ret_n gets
 * how many were listed.  A missing file gives -ENOENT without a message. */
int cgroup_signal_procs(const char *dir, int signo, size_t *ret_n, struct quilt_error *err);
/* Poll DIR/cgroup.procs until empty, at most until `deadline_ms`
 * (CLOCK_MONOTONIC milliseconds); -ETIMEDOUT with the pids left. */
int cgroup_wait_empty(const char *dir, uint64_t deadline_ms, struct quilt_error *err);
uint64_t cgroup_now_ms(void);
/* *field = value * scale, saturated at INT64_MAX. */
void cgroup_stat_set(int64_t *field, uint64_t value, uint64_t scale);
void cgroup_sleep_ms(unsigned ms);

/* statfs magic checks (cgroup_fs.c). */
bool cgroup_is_cgroup2(const char *path);
bool cgroup_is_cgroup1(const char *path);

/* ---- cgroup_probe.c ---- */

/* The `cgroup` plugin: which backend and root apply to this system, and
 * why, in words for the log (`why`). */
int cgroup_probe_auto(const char *root, const char *controllers,
                      const struct cgroup_backend **ret_be, char **ret_root, char *why,
                      size_t why_size, struct quilt_error *err);

/* ---- cgroup_plugin.c: the hooks every module shares ---- */

int cgroup_plugin_init(const struct quilt_host *host, const struct quilt_config_section *section,
                       const char *log_name, const struct cgroup_backend *be, void **ret_state,
                       struct quilt_error *err);
void cgroup_plugin_fini(void *state);
int cgroup_plugin_pre_clone(void *state, struct quilt_container *c, struct quilt_error *err);
int cgroup_plugin_post_start(void *state, struct quilt_container *c, struct quilt_error *err);
int cgroup_plugin_cleanup(void *state, struct quilt_container *c, struct quilt_error *err);
int cgroup_plugin_daemon_start(void *state, struct quilt_error *err);
int cgroup_plugin_kill(void *state, struct quilt_container *c, int signo, struct quilt_error *err);
int cgroup_plugin_stats(void *state, struct quilt_container *c, struct quilt_stats *stats,
                        struct quilt_error *err);
int cgroup_plugin_update(void *state, struct quilt_container *c,
                         const struct quilt_resources *resources, struct quilt_error *err);
int cgroup_plugin_attach(void *state, struct quilt_container *c, pid_t pid,
                         struct quilt_error *err);

/* The descriptor of one module: the three differ only in name, text and
 * the backend their init forces (NULL: probe). */
#define CGROUP_PLUGIN_MODULE(module_name, text, backend)                               \
        static int module_init(const struct quilt_host *host,                           \
                               const struct quilt_config_section *section,             \
                               void **ret_state, struct quilt_error *err)              \
        {                                                                               \
                return cgroup_plugin_init(host, section, module_name, backend, ret_state, err); \
        }                                                                               \
        QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {               \
                .abi_version = QUILT_PLUGIN_ABI_VERSION,                                \
                .struct_size = sizeof(struct quilt_plugin),                             \
                .name = module_name,                                                    \
                .description = text,                                                    \
                .init = module_init,                                                    \
                .fini = cgroup_plugin_fini,                                             \
                .pre_clone = cgroup_plugin_pre_clone,                                   \
                .post_start = cgroup_plugin_post_start,                                 \
                .cleanup = cgroup_plugin_cleanup,                                       \
                .daemon_start = cgroup_plugin_daemon_start,                             \
                .kill = cgroup_plugin_kill,                                             \
                .stats = cgroup_plugin_stats,                                           \
                .update = cgroup_plugin_update,                                         \
                .attach = cgroup_plugin_attach,                                         \
        }

#endif
