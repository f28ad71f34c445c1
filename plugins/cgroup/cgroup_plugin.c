/* SPDX-License-Identifier: MIT */
/*
 * The hooks the three cgroup modules share; each *_module.c only holds its
 * descriptor and names the backend (or none: probe).
 *
 *   [cgroup_v1] / [cgroup_v2] / [cgroup]       the same keys for all three
 *   root = /sys/fs/cgroup      the mount root (v2 and auto also try ROOT/unified)
 *   parent =                   "" = a `quilt` child of our own cgroup in each
 *                              hierarchy; "/x" = that path in each hierarchy
 *   controllers =              "" = memory, cpu, pids (+ cpuacct, freezer on v1)
 *   memory_limit = 0           defaults for what a request leaves at 0
 *   cpu_millicores = 0
 *   pids_limit = 0
 *
 * The container's cgroup is PARENT/<id> in every hierarchy.  Only the
 * container process goes in (post_start, or clone3 into the v2 fd from
 * pre_clone), and later every exec's process (attach): the monitor stays
 * out, so its memory never counts.  Cleanup
 * runs in a fresh process and finds the cgroups again from the id and the
 * config alone.
 */
#include <stdio.h>
#include <string.h>

#include "cgroup_backend.h"

static const struct quilt_config_key cgroup_keys[] = {
        { "root", QUILT_CONFIG_STRING, offsetof(struct cgroup_config, root), NULL },
        { "parent", QUILT_CONFIG_STRING, offsetof(struct cgroup_config, parent), NULL },
        { "controllers", QUILT_CONFIG_STRING, offsetof(struct cgroup_config, controllers), NULL },
        { "memory_limit", QUILT_CONFIG_UINT64, offsetof(struct cgroup_config, memory_limit), NULL },
        { "cpu_millicores", QUILT_CONFIG_UINT64, offsetof(struct cgroup_config, cpu_millicores),
          NULL },
        { "pids_limit", QUILT_CONFIG_UINT64, offsetof(struct cgroup_config, pids_limit), NULL },
        { NULL, 0, 0, NULL },
};

static void log_setup(const struct cgroup_state *s)
{
        if (!QUILT_HOST_HAS(s->host, log))
                return;
        for (size_t i = 0; i < s->n_hier; i++)
                s->host->log(QUILT_LOG_DEBUG, s->log_name, "%s: %s, containers under %s",
                             s->be->name, s->hier[i].label[0] ? s->hier[i].label : "(none)",
                             s->hier[i].parent);
}

/* The configured defaults must make sense on their own: said at init, so
 * quiltd --check-config catches them, not the first container. */
static int check_defaults(const struct cgroup_state *s, const struct quilt_config_section *section,
                          struct quilt_error *err)
{
        struct quilt_resources none = { .struct_size = sizeof(none) };
        struct cgroup_limits l;
        int r;

        if ((r = cgroup_limits_resolve(s, &none, true, &l, err)) < 0 ||
            (r = cgroup_limits_check_controllers(s, &l, err)) < 0) {
                return quilt_error_prefix(err, r, "%s: [%s] defaults: ",
                                          section && section->file ? section->file : "(config)",
                                          section && section->name ? section->name : s->log_name);
        }
        return 0;
}

int cgroup_plugin_init(const struct quilt_host *host, const struct quilt_config_section *section,
                       const char *log_name, const struct cgroup_backend *be, void **ret_state,
                       struct quilt_error *err)
{
        _cleanup_(cgroup_state_freep) struct cgroup_state *s = cgroup_state_new(host, log_name);
        int r;

        if (!s)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        if (section && section->n_entries > 0) {
                if (!QUILT_HOST_HAS(host, config_apply))
                        return quilt_error_set(err, -ENOTSUP,
                                               "the host offers no config_apply to read [%s]",
                                               section->name ? section->name : log_name);
                r = host->config_apply(section, cgroup_keys, &s->cfg, err);
                if (r < 0)
                        return r;
        }

        if (!be) {
                r = cgroup_probe_auto(s->cfg.root, s->cfg.controllers, &be, &s->root, s->why,
                                      sizeof(s->why), err);
                if (r < 0)
                        return r;
                /* What quiltd --check-config shows: which one and why. */
                if (QUILT_HOST_HAS(host, log))
                        host->log(QUILT_LOG_INFO, log_name, "auto picked %s: %s", be->name,
                                  s->why);
        }
        s->be = be;
        if ((r = be->setup(s, err)) < 0 || (r = check_defaults(s, section, err)) < 0)
                return r;
        log_setup(s);
        *ret_state = TAKE_PTR(s);
        return 0;
}

void cgroup_plugin_fini(void *state)
{
        cgroup_state_free(state);
}

static const struct quilt_resources *resources_of(const struct quilt_container *c)
{
        if (QUILT_CONTAINER_HAS(c, resources))
                return c->resources;
        return NULL;
}

int cgroup_plugin_pre_clone(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct cgroup_state *s = state;
        struct cgroup_limits l;
        int fd = -1, r;

        if ((r = cgroup_check_id(c->id, err)) < 0 ||
            (r = cgroup_limits_resolve(s, resources_of(c), true, &l, err)) < 0 ||
            (r = cgroup_limits_check_controllers(s, &l, err)) < 0)
                return r;
        /* On failure the cgroups made so far stay: cleanup removes them. */
        r = s->be->create(s, c->id, &l, &fd, err);
        if (r < 0)
                return r;
        if (fd >= 0) {
                /* Another plugin may have set one first; ours then only
                 * serves nobody. */
                if (QUILT_CONTAINER_HAS(c, cgroup_fd) && c->cgroup_fd < 0 && s->cgroup_fd < 0) {
                        c->cgroup_fd = fd;
                        s->cgroup_fd = fd;
                } else
                        close(fd);
        }
        if (QUILT_HOST_HAS(s->host, log))
                s->host->log(QUILT_LOG_DEBUG, s->log_name,
                             "%s: memory %lld, memory+swap %lld, cpu %lld millicores, "
                             "cpu weight %lld, pids %lld (0 = no limit)",
                             c->id, (long long)l.memory, (long long)l.memory_swap,
                             (long long)l.cpu_millicores, (long long)l.cpu_weight,
                             (long long)l.pids);
        return 0;
}

int cgroup_plugin_post_start(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct cgroup_state *s = state;
        /* Also after clone3 put it there: writing the pid again is harmless,
         * and the core may have fallen back to a plain clone. */
        int r = s->be->attach(s, c->id, c->pid, err);

        if (s->cgroup_fd >= 0) {
                if (QUILT_CONTAINER_HAS(c, cgroup_fd) && c->cgroup_fd == s->cgroup_fd)
                        c->cgroup_fd = -1;
                close(s->cgroup_fd);
                s->cgroup_fd = -1;
        }
        return r;
}

int cgroup_plugin_cleanup(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct cgroup_state *s = state;

        return s->be->destroy(s, c->id, err);
}

int cgroup_plugin_daemon_start(void *state, struct quilt_error *err)
{
        struct cgroup_state *s = state;

        return s->be->daemon_start ? s->be->daemon_start(s, err) : 0;
}

int cgroup_plugin_kill(void *state, struct quilt_container *c, int signo, struct quilt_error *err)
{
        struct cgroup_state *s = state;

        return s->be->kill(s, c->id, signo, err);
}

int cgroup_plugin_stats(void *state, struct quilt_container *c, struct quilt_stats *stats,
                        struct quilt_error *err)
{
        struct cgroup_state *s = state;

        return s->be->stats(s, c->id, stats, err);
}

int cgroup_plugin_update(void *state, struct quilt_container *c,
                         const struct quilt_resources *resources, struct quilt_error *err)
{
        struct cgroup_state *s = state;
        struct cgroup_limits l;
        int r;

        if ((r = cgroup_limits_resolve(s, resources, false, &l, err)) < 0 ||
            (r = cgroup_limits_check_controllers(s, &l, err)) < 0)
                return r;
        if (!l.memory && !l.memory_swap && !l.cpu_millicores && !l.cpu_weight && !l.pids)
                return 0;
        return s->be->update(s, c->id, &l, err);
}

/* An exec joining the container: into the same cgroup(s) as post_start
 * put its init (every v1 hierarchy, or the one v2 cgroup), before the
 * process forks the command, so the command is accounted and limited
 * with the rest of the container and cleanup's kill reaches it. */
int cgroup_plugin_attach(void *state, struct quilt_container *c, pid_t pid, struct quilt_error *err)
{
        struct cgroup_state *s = state;
        int r;

        if ((r = cgroup_check_id(c->id, err)) < 0)
                return r;
        if (pid <= 0)
                return quilt_error_set(err, -EINVAL, "no process to attach (pid %d)", (int)pid);
        return s->be->attach(s, c->id, pid, err);
}
