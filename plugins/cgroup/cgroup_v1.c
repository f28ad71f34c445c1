/* SPDX-License-Identifier: MIT */
/* The cgroup v1 backend: one hierarchy per mounted controller (co-mounted
 * ones, like cpu,cpuacct, once), the container's cgroup made in each, the
 * freezer to reach every process. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup_backend.h"
#include "cgroup_fs.h"

/* cpuacct (CPU usage) and freezer (kill every process) only serve stats
 * and kill, so they are used when mounted and skipped quietly otherwise. */
static const char *const v1_default_controllers[] = { "memory", "cpu", "pids", "cpuacct",
                                                      "freezer", NULL };

static bool is_quiet_default(const char *name)
{
        return strcmp(name, "cpuacct") == 0 || strcmp(name, "freezer") == 0;
}

/* Add `name` to the hierarchy at `dir`, or start a new one; co-mounted
 * controllers are one hierarchy (one directory, whichever name reaches
 * it, e.g. cpu -> cpu,cpuacct). */
static int add_hier(struct cgroup_state *s, char *name, const char *dir, const struct stat *st,
                    dev_t *devs, ino_t *inos, struct quilt_error *err)
{
        struct cgroup_hier *h = NULL;

        for (size_t i = 0; i < s->n_hier; i++)
                if (devs[i] == st->st_dev && inos[i] == st->st_ino)
                        h = &s->hier[i];
        if (!h) {
                h = &s->hier[s->n_hier];
                devs[s->n_hier] = st->st_dev;
                inos[s->n_hier] = st->st_ino;
                s->n_hier++;
                h->mount = strdup(dir);
                if (!h->mount)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
        }
        size_t len = strlen(h->label);
        snprintf(h->label + len, sizeof(h->label) - len, "%s%s", len ? "," : "", name);
        h->controllers[h->n_controllers++] = name;
        return 0;
}

static int v1_setup(struct cgroup_state *s, struct quilt_error *err)
{
        dev_t devs[CGROUP_MAX_HIERARCHIES];
        ino_t inos[CGROUP_MAX_HIERARCHIES];
        int r;

        if (!s->root) {
                s->root = strdup(s->cfg.root[0] ? s->cfg.root : CGROUP_DEFAULT_ROOT);
                if (!s->root)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
        }
        r = cgroup_parse_controllers(s, s->cfg.controllers, v1_default_controllers, err);
        if (r < 0)
                return r;

        for (size_t i = 0; i < s->n_controllers;) {
                _cleanup_free_ char *dir = NULL, *procs = NULL;
                const char *name = s->controllers[i];
                struct stat st;

                if (cg_join(&dir, s->root, name) < 0 || cg_join(&procs, dir, "cgroup.procs") < 0)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                /* A v1 hierarchy's directory has cgroup.procs; checked by
                 * file rather than by fs magic so a test tree passes too. */
                if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && cg_exists(procs)) {
                        r = add_hier(s, s->controllers[i], dir, &st, devs, inos, err);
                        if (r < 0)
                                return r;
                        i++;
                        continue;
                }
                if (s->explicit_controllers)
                        return quilt_error_set(err, -ENOENT,
                                               "controllers: no cgroup v1 hierarchy for %s at %s",
                                               name, dir);
                if (!is_quiet_default(name) && QUILT_HOST_HAS(s->host, log))
                        s->host->log(QUILT_LOG_INFO, s->log_name,
                                     "no cgroup v1 hierarchy for %s at %s; limits that need it "
                                     "will be refused",
                                     name, dir);
                cgroup_drop_controller(s, i);
        }
        for (size_t i = 0; i < s->n_hier; i++) {
                r = cgroup_resolve_parent(s, &s->hier[i], s->hier[i].controllers[0], false, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static bool hier_has(const struct cgroup_hier *h, const char *controller)
{
        for (size_t i = 0; i < h->n_controllers; i++)
                if (strcmp(h->controllers[i], controller) == 0)
                        return true;
        return false;
}

/* A new cpuset cgroup starts with no CPUs and no memory nodes, and a task
 * cannot join it: copy its parent's, for each level we made. */
static int cpuset_inherit(const char *dir, void *userdata, struct quilt_error *err)
{
        _cleanup_free_ char *parent = strdup(dir);
        char *slash;
        int r;

        (void)userdata;
        if (!parent)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        slash = strrchr(parent, '/');
        if (!slash || slash == parent)
                return 0;
        *slash = '\0';
        static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *from = NULL, *value = NULL;
                if ((r = cg_join_err(parent, files[i], &from, err)) < 0 ||
                    (r = cg_read_err(from, &value, err)) < 0 ||
                    (r = cg_write_in(dir, files[i], value, err)) < 0)
                        return r;
        }
        return 0;
}

/* The container's cgroup in the hierarchy of `controller`, or NULL in
 * *ret when that controller is not in use. */
static int path_for(struct cgroup_state *s, const char *id, const char *controller, char **ret,
                    struct quilt_error *err)
{
        struct cgroup_hier *h = cgroup_hier_for(s, controller);

        *ret = NULL;
        if (!h)
                return 0;
        return cgroup_container_path(h, id, ret, err);
}

/* memory.limit_in_bytes may never exceed memory.memsw.limit_in_bytes:
 * when both change, the one that keeps that true goes first. */
static int write_memory(const char *dir, const struct cgroup_limits *l, struct quilt_error *err)
{
        _cleanup_free_ char *memsw = NULL, *cur_text = NULL;
        uint64_t cur = 0;
        int r;

        if (l->memory_swap) {
                if ((r = cg_join_err(dir, "memory.memsw.limit_in_bytes", &memsw, err)) < 0)
                        return r;
                if (!cg_exists(memsw))
                        return quilt_error_set(err, -EOPNOTSUPP,
                                               "memory_swap_limit_bytes: this kernel has no swap "
                                               "accounting (no %s)", memsw);
        }
        if (l->memory && l->memory_swap) {
                if ((r = cg_read_optional(dir, "memory.limit_in_bytes", &cur_text, err)) < 0)
                        return r;
                /* An unreadable current limit: assume the largest, so memory
                 * goes first (right for a new cgroup). */
                if (!cur_text || cg_parse_u64(cur_text, &cur) < 0)
                        cur = UINT64_MAX;
                if ((uint64_t)l->memory_swap >= cur) {
                        if ((r = cg_write_u64_err(memsw, (uint64_t)l->memory_swap, err)) < 0)
                                return r;
                        return cg_write_u64_in(dir, "memory.limit_in_bytes", (uint64_t)l->memory,
                                               err);
                }
        }
        if (l->memory &&
            (r = cg_write_u64_in(dir, "memory.limit_in_bytes", (uint64_t)l->memory, err)) < 0)
                return r;
        if (l->memory_swap && (r = cg_write_u64_err(memsw, (uint64_t)l->memory_swap, err)) < 0)
                return r;
        return 0;
}

static int v1_write_limits(struct cgroup_state *s, const char *id, const struct cgroup_limits *l,
                           struct quilt_error *err)
{
        _cleanup_free_ char *mem = NULL, *cpu = NULL, *pids = NULL;
        int r;

        /* cgroup_limits_check_controllers ran first: each path a non-zero
         * limit needs is there. */
        if ((r = path_for(s, id, "memory", &mem, err)) < 0 ||
            (r = path_for(s, id, "cpu", &cpu, err)) < 0 ||
            (r = path_for(s, id, "pids", &pids, err)) < 0)
                return r;
        if ((l->memory || l->memory_swap) && mem && (r = write_memory(mem, l, err)) < 0)
                return r;
        if (l->cpu_millicores && cpu &&
            ((r = cg_write_u64_in(cpu, "cpu.cfs_period_us", CGROUP_CPU_PERIOD_US, err)) < 0 ||
             (r = cg_write_u64_in(cpu, "cpu.cfs_quota_us", (uint64_t)l->cpu_millicores * 100,
                                  err)) < 0))
                return r;
        if (l->cpu_weight && cpu &&
            (r = cg_write_u64_in(cpu, "cpu.shares",
                                 cgroup_weight_to_shares((uint64_t)l->cpu_weight), err)) < 0)
                return r;
        if (l->pids && pids && (r = cg_write_u64_in(pids, "pids.max", (uint64_t)l->pids, err)) < 0)
                return r;
        return 0;
}

static int v1_create(struct cgroup_state *s, const char *id, const struct cgroup_limits *l,
                     int *ret_fd, struct quilt_error *err)
{
        int r;

        /* No fd: CLONE_INTO_CGROUP takes a cgroup2 directory only. */
        *ret_fd = -1;
        for (size_t i = 0; i < s->n_hier; i++) {
                struct cgroup_hier *h = &s->hier[i];
                cg_created_fn init = hier_has(h, "cpuset") ? cpuset_inherit : NULL;
                _cleanup_free_ char *path = NULL;

                if ((r = cgroup_container_path(h, id, &path, err)) < 0)
                        return r;
                if ((r = cg_mkdir_p(h->mount, h->parent + strlen(h->mount), init, NULL, err)) < 0)
                        return r;
                if (mkdir(path, 0755) == 0) {
                        if (init && (r = init(path, NULL, err)) < 0)
                                return r;
                } else if (errno != EEXIST) {
                        r = -errno;
                        return quilt_error_set(err, r, "mkdir %s: %s", path, strerror(-r));
                }
        }
        return v1_write_limits(s, id, l, err);
}

static int v1_attach(struct cgroup_state *s, const char *id, pid_t pid, struct quilt_error *err)
{
        char buf[32];
        int r;

        snprintf(buf, sizeof(buf), "%d", (int)pid);
        for (size_t i = 0; i < s->n_hier; i++) {
                _cleanup_free_ char *path = NULL;
                if ((r = cgroup_container_path(&s->hier[i], id, &path, err)) < 0 ||
                    (r = cg_write_in(path, "cgroup.procs", buf, err)) < 0)
                        return r;
        }
        return 0;
}

/* Poll freezer.state until FROZEN (bounded: FREEZING can linger on a task
 * stuck in the kernel; we signal anyway then). */
static void wait_frozen(const char *state_file, unsigned timeout_ms)
{
        uint64_t deadline = cgroup_now_ms() + timeout_ms;

        for (;;) {
                _cleanup_free_ char *text = NULL;
                if (cg_read(state_file, &text) < 0 || strncmp(text, "FROZEN", 6) == 0 ||
                    cgroup_now_ms() >= deadline)
                        return;
                cgroup_sleep_ms(1);
        }
}

static int v1_kill(struct cgroup_state *s, const char *id, int signo, struct quilt_error *err)
{
        _cleanup_free_ char *freezer = NULL, *state_file = NULL, *dir = NULL;
        size_t n = 0;
        int r;

        if ((r = path_for(s, id, "freezer", &freezer, err)) < 0 ||
            (freezer && (r = cg_join_err(freezer, "freezer.state", &state_file, err)) < 0))
                return r;
        if (state_file && cg_exists(state_file)) {
                if ((r = cg_write_err(state_file, "FROZEN", err)) < 0)
                        return r;
                wait_frozen(state_file, s->freeze_timeout_ms);
                r = cgroup_signal_procs(freezer, signo, NULL, err);
                /* Thaw whatever happened: frozen tasks neither take the
                 * signal nor exit. */
                struct quilt_error thaw_err = { 0 };
                int t = cg_write_err(state_file, "THAWED", &thaw_err);
                if (t < 0 && r >= 0) {
                        if (err)
                                *err = thaw_err;
                        r = t;
                }
                return r == -ENOENT ? -EOPNOTSUPP : r;
        }

        /* No freezer: signal what is listed.  For SIGKILL go round again
         * while processes remain, to catch what forked meanwhile (re-killing
         * a dying process is harmless). */
        for (size_t i = 0; i < s->n_hier && !dir; i++) {
                _cleanup_free_ char *path = NULL;
                if ((r = cgroup_container_path(&s->hier[i], id, &path, err)) < 0)
                        return r;
                if (cg_exists(path))
                        dir = TAKE_PTR(path);
        }
        if (!dir)
                return -EOPNOTSUPP;
        for (int round = 0; round < 20; round++) {
                r = cgroup_signal_procs(dir, signo, &n, err);
                if (r < 0)
                        return r == -ENOENT ? -EOPNOTSUPP : r;
                if (signo != SIGKILL || n == 0)
                        break;
                cgroup_sleep_ms(5);
        }
        return 0;
}

static int v1_stats(struct cgroup_state *s, const char *id, struct quilt_stats *st,
                    struct quilt_error *err)
{
        _cleanup_free_ char *mem = NULL, *cpuacct = NULL, *pids = NULL;
        _cleanup_free_ char *usage = NULL, *max_usage = NULL, *oom = NULL, *cpu = NULL,
                            *pids_current = NULL;
        uint64_t v;
        int r;

        if ((r = path_for(s, id, "memory", &mem, err)) < 0 ||
            (r = path_for(s, id, "cpuacct", &cpuacct, err)) < 0 ||
            (r = path_for(s, id, "pids", &pids, err)) < 0)
                return r;
        if (mem && ((r = cg_read_optional(mem, "memory.usage_in_bytes", &usage, err)) < 0 ||
                    (r = cg_read_optional(mem, "memory.max_usage_in_bytes", &max_usage, err)) < 0 ||
                    (r = cg_read_optional(mem, "memory.oom_control", &oom, err)) < 0))
                return r;
        if (cpuacct && (r = cg_read_optional(cpuacct, "cpuacct.usage", &cpu, err)) < 0)
                return r;
        if (pids && (r = cg_read_optional(pids, "pids.current", &pids_current, err)) < 0)
                return r;
        if (usage && cg_parse_u64(usage, &v) == 0)
                cgroup_stat_set(&st->memory_current_bytes, v, 1);
        if (max_usage && cg_parse_u64(max_usage, &v) == 0)
                cgroup_stat_set(&st->memory_peak_bytes, v, 1);
        if (cpu && cg_parse_u64(cpu, &v) == 0)
                cgroup_stat_set(&st->cpu_usage_ns, v, 1);
        if (pids_current && cg_parse_u64(pids_current, &v) == 0)
                cgroup_stat_set(&st->pids_current, v, 1);
        if (oom && cg_kv_u64(oom, "oom_kill", &v) == 0)
                cgroup_stat_set(&st->oom_kill_count, v, 1);
        return 0;
}

static int v1_update(struct cgroup_state *s, const char *id, const struct cgroup_limits *l,
                     struct quilt_error *err)
{
        for (size_t i = 0; i < s->n_hier; i++) {
                _cleanup_free_ char *path = NULL;
                int r = cgroup_container_path(&s->hier[i], id, &path, err);
                if (r < 0)
                        return r;
                if (!cg_exists(path))
                        return quilt_error_set(err, -ENOENT, "%s does not exist", path);
        }
        return v1_write_limits(s, id, l, err);
}

static int v1_destroy(struct cgroup_state *s, const char *id, struct quilt_error *err)
{
        uint64_t deadline = cgroup_now_ms() + s->drain_timeout_ms;
        struct quilt_error e = { 0 };
        int r, ret = 0;

        r = v1_kill(s, id, SIGKILL, err);
        if (r < 0 && r != -EOPNOTSUPP)
                return r;
        /* Every hierarchy gets its try; the first failure is the one told. */
        for (size_t i = 0; i < s->n_hier; i++) {
                _cleanup_free_ char *path = NULL;
                if ((r = cgroup_container_path(&s->hier[i], id, &path, &e)) < 0 ||
                    (r = cgroup_wait_empty(path, deadline, &e)) < 0 ||
                    (r = cg_rmdir_tree(path, deadline, &e)) < 0) {
                        if (ret == 0) {
                                ret = r;
                                if (err)
                                        *err = e;
                        }
                }
        }
        return ret;
}

const struct cgroup_backend cgroup_v1_backend = {
        .name = "cgroup_v1",
        .setup = v1_setup,
        .daemon_start = NULL,   /* the parent is made with mkdir -p in pre_clone */
        .create = v1_create,
        .attach = v1_attach,
        .kill = v1_kill,
        .stats = v1_stats,
        .update = v1_update,
        .destroy = v1_destroy,
};
