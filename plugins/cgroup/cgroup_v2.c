/* SPDX-License-Identifier: MIT */
/* The cgroup v2 backend: one hierarchy, controllers enabled top down in
 * cgroup.subtree_control, the container's cgroup handed to the core as an
 * fd for clone3(CLONE_INTO_CGROUP), cgroup.kill / cgroup.freeze to reach
 * every process. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup_backend.h"
#include "cgroup_fs.h"

static const char *const v2_default_controllers[] = { "memory", "cpu", "pids", NULL };

/* Names a v1 config may carry that v2 serves in every cgroup without a
 * controller: cpu.stat has the usage, cgroup.freeze freezes. */
static bool v1_only(const char *name)
{
        return strcmp(name, "cpuacct") == 0 || strcmp(name, "freezer") == 0;
}

static int v2_setup(struct cgroup_state *s, struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL, *available = NULL;
        struct cgroup_hier *h;
        int r;

        if (!s->root) {
                const char *root = s->cfg.root;
                _cleanup_free_ char *unified = NULL;

                if (!root[0]) {
                        if (cg_join(&unified, CGROUP_DEFAULT_ROOT, CGROUP_UNIFIED_NAME) < 0)
                                return quilt_error_set(err, -ENOMEM, "out of memory");
                        if (cgroup_is_cgroup2(CGROUP_DEFAULT_ROOT))
                                root = CGROUP_DEFAULT_ROOT;
                        else if (cgroup_is_cgroup2(unified))
                                root = unified;
                        else
                                return quilt_error_set(err, -ENOENT,
                                                       "no cgroup2 mounted at %s or %s",
                                                       CGROUP_DEFAULT_ROOT, unified);
                }
                s->root = strdup(root);
                if (!s->root)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
        }

        r = cgroup_parse_controllers(s, s->cfg.controllers, v2_default_controllers, err);
        if (r < 0)
                return r;
        if (cg_join(&path, s->root, "cgroup.controllers") < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        r = cg_read(path, &available);
        if (r < 0)
                return quilt_error_set(err, r, "reading %s: %s (is %s a cgroup2 mount?)", path,
                                       strerror(-r), s->root);
        available[strcspn(available, "\n")] = '\0';
        for (size_t i = 0; i < s->n_controllers;) {
                const char *name = s->controllers[i];
                if (v1_only(name) || cg_word_in(available, name)) {
                        i++;
                        continue;
                }
                if (s->explicit_controllers)
                        return quilt_error_set(err, -ENOENT,
                                               "controllers: %s is not available in %s "
                                               "(it has: %s)",
                                               name, path, available[0] ? available : "none");
                if (QUILT_HOST_HAS(s->host, log))
                        s->host->log(QUILT_LOG_INFO, s->log_name,
                                     "the %s controller is not available in %s (it has: %s); "
                                     "limits that need it will be refused",
                                     name, path, available[0] ? available : "none");
                cgroup_drop_controller(s, i);
        }

        h = &s->hier[0];
        s->n_hier = 1;
        h->mount = strdup(s->root);
        if (!h->mount)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        snprintf(h->label, sizeof(h->label), "cgroup2");
        for (size_t i = 0; i < s->n_controllers; i++)
                h->controllers[h->n_controllers++] = s->controllers[i];
        return cgroup_resolve_parent(s, h, NULL, true, err);
}

/* "+memory +cpu" for the controllers `dir` does not yet pass down; "" when
 * none is missing.  Checked against dir's cgroup.controllers first, so the
 * message says which one was not delegated. */
static int missing_controllers(const struct cgroup_hier *h, const char *dir, char *buf,
                               size_t size, struct quilt_error *err)
{
        _cleanup_free_ char *sc_path = NULL, *ctl_path = NULL, *enabled = NULL, *available = NULL;
        size_t len = 0;
        int r;

        buf[0] = '\0';
        if (cg_join(&sc_path, dir, "cgroup.subtree_control") < 0 ||
            cg_join(&ctl_path, dir, "cgroup.controllers") < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        r = cg_read_err(sc_path, &enabled, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < h->n_controllers; i++) {
                const char *name = h->controllers[i];
                if (v1_only(name) || cg_word_in(enabled, name))
                        continue;
                if (!available) {
                        r = cg_read_err(ctl_path, &available, err);
                        if (r < 0)
                                return r;
                        available[strcspn(available, "\n")] = '\0';
                }
                if (!cg_word_in(available, name))
                        return quilt_error_set(err, -EPERM,
                                               "the %s controller is not available in %s (it has: "
                                               "%s): not delegated to this subtree",
                                               name, ctl_path,
                                               available[0] ? available : "none");
                int n = snprintf(buf + len, size - len, "%s+%s", len ? " " : "", name);
                if (n < 0 || (size_t)n >= size - len)
                        return quilt_error_set(err, -ENAMETOOLONG, "controller list too long");
                len += (size_t)n;
        }
        return 0;
}

/* Enable the controllers in use in every cgroup.subtree_control from
 * h->enable_from down to the parent: the configured parent chain from the
 * mount, or from our own (delegated) cgroup for the default parent —
 * never above it. */
static int enable_controllers(const struct cgroup_hier *h, struct quilt_error *err)
{
        _cleanup_free_ char *dir = strdup(h->parent);
        size_t from = strlen(h->enable_from);
        char value[512];
        int r;

        if (!dir)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        if (strncmp(dir, h->enable_from, from) != 0 || (dir[from] && dir[from] != '/'))
                return quilt_error_set(err, -EINVAL, "%s is not under %s", dir, h->enable_from);

        /* Cut dir back to enable_from, then grow it one component at a
         * time: the slashes after `from` are where to stop. */
        for (size_t end = from;;) {
                char saved = dir[end];
                dir[end] = '\0';
                r = missing_controllers(h, dir, value, sizeof(value), err);
                if (r < 0)
                        return r;
                if (value[0]) {
                        _cleanup_free_ char *sc = NULL;
                        if (cg_join(&sc, dir, "cgroup.subtree_control") < 0)
                                return quilt_error_set(err, -ENOMEM, "out of memory");
                        r = cg_write(sc, value);
                        if (r == -EBUSY)
                                return quilt_error_set(err, r,
                                                       "writing %s to %s: %s (processes live in "
                                                       "%s itself: the no-internal-processes rule; "
                                                       "give quiltd a cgroup of its own or set an "
                                                       "absolute parent)",
                                                       value, sc, strerror(-r), dir);
                        if (r < 0)
                                return quilt_error_set(err, r, "writing %s to %s: %s", value, sc,
                                                       strerror(-r));
                }
                dir[end] = saved;
                if (!saved)
                        return 0;
                end += strspn(dir + end, "/");
                if (!dir[end])
                        return 0;
                end += strcspn(dir + end, "/");
        }
}

static int write_swap(const char *dir, const struct cgroup_limits *l, struct quilt_error *err)
{
        _cleanup_free_ char *swap = NULL, *mem = NULL, *text = NULL;
        uint64_t memory = (uint64_t)l->memory;
        int r;

        if ((r = cg_join_err(dir, "memory.swap.max", &swap, err)) < 0)
                return r;
        if (!cg_exists(swap))
                return quilt_error_set(err, -EOPNOTSUPP,
                                       "memory_swap_limit_bytes: this kernel has no swap "
                                       "accounting (no %s)", swap);
        /* An update that leaves memory out keeps the live memory limit:
         * the swap part is the total less that. */
        if (memory == 0) {
                if ((r = cg_join_err(dir, "memory.max", &mem, err)) < 0 ||
                    (r = cg_read_err(mem, &text, err)) < 0)
                        return r;
                r = cg_parse_u64(text, &memory);
                if (r == -ERANGE)
                        return quilt_error_set(err, -EINVAL,
                                               "memory_swap_limit_bytes needs a memory limit, and "
                                               "%s is max", mem);
                if (r < 0)
                        return quilt_error_set(err, r, "%s: cannot parse '%s'", mem, text);
                if ((uint64_t)l->memory_swap < memory)
                        return quilt_error_set(err, -EINVAL,
                                               "memory_swap_limit_bytes (%lld) is below the memory "
                                               "limit in %s (%llu)",
                                               (long long)l->memory_swap, mem,
                                               (unsigned long long)memory);
        }
        return cg_write_u64_err(swap, (uint64_t)l->memory_swap - memory, err);
}

static int v2_write_limits(const char *dir, const struct cgroup_limits *l, struct quilt_error *err)
{
        char buf[64];
        int r;

        if (l->memory && (r = cg_write_u64_in(dir, "memory.max", (uint64_t)l->memory, err)) < 0)
                return r;
        if (l->memory_swap && (r = write_swap(dir, l, err)) < 0)
                return r;
        if (l->cpu_millicores) {
                snprintf(buf, sizeof(buf), "%lld %d", (long long)l->cpu_millicores * 100,
                         CGROUP_CPU_PERIOD_US);
                if ((r = cg_write_in(dir, "cpu.max", buf, err)) < 0)
                        return r;
        }
        if (l->cpu_weight &&
            (r = cg_write_u64_in(dir, "cpu.weight", (uint64_t)l->cpu_weight, err)) < 0)
                return r;
        if (l->pids && (r = cg_write_u64_in(dir, "pids.max", (uint64_t)l->pids, err)) < 0)
                return r;
        return 0;
}

static int v2_create(struct cgroup_state *s, const char *id, const struct cgroup_limits *l,
                     int *ret_fd, struct quilt_error *err)
{
        struct cgroup_hier *h = &s->hier[0];
        _cleanup_free_ char *path = NULL;
        int r;

        *ret_fd = -1;
        if ((r = cgroup_container_path(h, id, &path, err)) < 0)
                return r;
        if ((r = cg_mkdir_p(h->mount, h->parent + strlen(h->mount), NULL, NULL, err)) < 0)
                return r;
        if ((r = enable_controllers(h, err)) < 0)
                return r;
        /* EEXIST: a second attempt for the same id; cleanup removes it
         * either way. */
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
                r = -errno;
                return quilt_error_set(err, r, "mkdir %s: %s", path, strerror(-r));
        }
        if ((r = v2_write_limits(path, l, err)) < 0)
                return r;
        int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                return quilt_error_set(err, r, "open %s: %s", path, strerror(-r));
        }
        *ret_fd = fd;
        return 0;
}

static int v2_attach(struct cgroup_state *s, const char *id, pid_t pid, struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL;
        char buf[32];
        int r;

        if ((r = cgroup_container_path(&s->hier[0], id, &path, err)) < 0)
                return r;
        snprintf(buf, sizeof(buf), "%d", (int)pid);
        return cg_write_in(path, "cgroup.procs", buf, err);
}

/* Wait (bounded) until cgroup.events says "frozen 1": freezing is not
 * instant, and a process still running could fork past the pid list. */
static void wait_frozen(const char *dir, unsigned timeout_ms)
{
        _cleanup_free_ char *events = NULL;
        uint64_t deadline = cgroup_now_ms() + timeout_ms;

        if (cg_join(&events, dir, "cgroup.events") < 0)
                return;
        for (;;) {
                _cleanup_free_ char *text = NULL;
                uint64_t frozen = 0;
                if (cg_read(events, &text) < 0 || cg_kv_u64(text, "frozen", &frozen) < 0 ||
                    frozen == 1 || cgroup_now_ms() >= deadline)
                        return;
                cgroup_sleep_ms(1);
        }
}

static int v2_kill(struct cgroup_state *s, const char *id, int signo, struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL, *kill_file = NULL, *freeze = NULL;
        int r;

        if ((r = cgroup_container_path(&s->hier[0], id, &path, err)) < 0)
                return r;
        if (!cg_exists(path))
                return -EOPNOTSUPP;
        if ((r = cg_join_err(path, "cgroup.kill", &kill_file, err)) < 0 ||
            (r = cg_join_err(path, "cgroup.freeze", &freeze, err)) < 0)
                return r;
        /* Since 5.14: the kernel kills the whole subtree, forks included. */
        if (signo == SIGKILL && cg_exists(kill_file))
                return cg_write_err(kill_file, "1", err);

        bool freezable = cg_exists(freeze);
        if (freezable) {
                if ((r = cg_write_err(freeze, "1", err)) < 0)
                        return r;
                wait_frozen(path, s->freeze_timeout_ms);
        }
        r = cgroup_signal_procs(path, signo, NULL, err);
        /* Thaw whatever happened: a frozen container would never see the
         * signal, nor ever exit. */
        if (freezable) {
                struct quilt_error thaw_err = { 0 };
                int t = cg_write_err(freeze, "0", &thaw_err);
                if (t < 0 && r >= 0) {
                        if (err)
                                *err = thaw_err;
                        r = t;
                }
        }
        return r == -ENOENT ? -EOPNOTSUPP : r;
}

static int v2_stats(struct cgroup_state *s, const char *id, struct quilt_stats *st,
                    struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL, *current = NULL, *peak = NULL, *cpu = NULL,
                            *pids = NULL, *events = NULL;
        uint64_t v;
        int r;

        if ((r = cgroup_container_path(&s->hier[0], id, &path, err)) < 0)
                return r;
        if (!cg_exists(path))
                return quilt_error_set(err, -ENOENT, "%s does not exist", path);
        if ((r = cg_read_optional(path, "memory.current", &current, err)) < 0 ||
            (r = cg_read_optional(path, "memory.peak", &peak, err)) < 0 ||
            (r = cg_read_optional(path, "cpu.stat", &cpu, err)) < 0 ||
            (r = cg_read_optional(path, "pids.current", &pids, err)) < 0 ||
            (r = cg_read_optional(path, "memory.events", &events, err)) < 0)
                return r;
        if (current && cg_parse_u64(current, &v) == 0)
                cgroup_stat_set(&st->memory_current_bytes, v, 1);
        if (peak && cg_parse_u64(peak, &v) == 0)
                cgroup_stat_set(&st->memory_peak_bytes, v, 1);
        if (cpu && cg_kv_u64(cpu, "usage_usec", &v) == 0)
                cgroup_stat_set(&st->cpu_usage_ns, v, 1000);
        if (pids && cg_parse_u64(pids, &v) == 0)
                cgroup_stat_set(&st->pids_current, v, 1);
        /* oom_kill, not oom: "oom" counts the times the limit was hit,
         * also when reclaim or a kill elsewhere got out of it. */
        if (events && cg_kv_u64(events, "oom_kill", &v) == 0)
                cgroup_stat_set(&st->oom_kill_count, v, 1);
        return 0;
}

static int v2_update(struct cgroup_state *s, const char *id, const struct cgroup_limits *l,
                     struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL;
        int r;

        if ((r = cgroup_container_path(&s->hier[0], id, &path, err)) < 0)
                return r;
        if (!cg_exists(path))
                return quilt_error_set(err, -ENOENT, "%s does not exist", path);
        return v2_write_limits(path, l, err);
}

static int v2_destroy(struct cgroup_state *s, const char *id, struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL;
        uint64_t deadline = cgroup_now_ms() + s->drain_timeout_ms;
        int r;

        if ((r = cgroup_container_path(&s->hier[0], id, &path, err)) < 0)
                return r;
        if (!cg_exists(path))
                return 0;
        r = v2_kill(s, id, SIGKILL, err);
        if (r < 0 && r != -EOPNOTSUPP)
                return r;
        if ((r = cgroup_wait_empty(path, deadline, err)) < 0)
                return r;
        return cg_rmdir_tree(path, deadline, err);
}

/* The default parent on v2 is <own>/quilt.  <own> may only pass
 * controllers down when no process lives in it, quiltd included: so
 * quiltd moves itself into the leaf <own>/quiltd first (nothing else: we
 * never move a process we did not start), then enables the controllers in
 * <own> and <own>/quilt.  The monitors, forked from quiltd, start in
 * <own>/quiltd and find the same parent (cgroup_resolve_parent). */
static int v2_daemon_start(struct cgroup_state *s, struct quilt_error *err)
{
        struct cgroup_hier *h = &s->hier[0];
        _cleanup_free_ char *own = NULL, *own_dir = NULL, *leaf = NULL;
        int r;

        if (s->cfg.parent[0] == '/')
                return 0;
        if ((r = cgroup_self_path(s, NULL, &own, err)) < 0)
                return r;
        const char *base = strrchr(own, '/');
        if (!base || strcmp(base + 1, CGROUP_DAEMON_LEAF) != 0) {
                char pid[32];

                if (cg_join(&own_dir, h->mount, own) < 0 ||
                    cg_join(&leaf, own_dir, CGROUP_DAEMON_LEAF) < 0)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                if (mkdir(leaf, 0755) < 0 && errno != EEXIST) {
                        r = -errno;
                        return quilt_error_set(err, r, "mkdir %s: %s", leaf, strerror(-r));
                }
                snprintf(pid, sizeof(pid), "%d", (int)getpid());
                if ((r = cg_write_in(leaf, "cgroup.procs", pid, err)) < 0)
                        return r;
                if (QUILT_HOST_HAS(s->host, log))
                        s->host->log(QUILT_LOG_INFO, s->log_name,
                                     "moved quiltd into %s (the no-internal-processes rule)",
                                     leaf);
        }
        if ((r = cg_mkdir_p(h->mount, h->parent + strlen(h->mount), NULL, NULL, err)) < 0)
                return r;
        if ((r = enable_controllers(h, err)) < 0)
                return r;
        if (QUILT_HOST_HAS(s->host, log))
                s->host->log(QUILT_LOG_INFO, s->log_name, "containers go under %s", h->parent);
        return 0;
}

const struct cgroup_backend cgroup_v2_backend = {
        .name = "cgroup_v2",
        .setup = v2_setup,
        .daemon_start = v2_daemon_start,
        .create = v2_create,
        .attach = v2_attach,
        .kill = v2_kill,
        .stats = v2_stats,
        .update = v2_update,
        .destroy = v2_destroy,
};
