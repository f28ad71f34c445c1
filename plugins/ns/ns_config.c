/* SPDX-License-Identifier: MIT */
/* The [ns] section: which namespaces to create and what to mount in them. */
#include <sched.h>
#include <stddef.h>
#include <string.h>

#include "ns.h"

static const struct quilt_config_key ns_keys[] = {
        { "pid", QUILT_CONFIG_BOOL, offsetof(struct ns_config, pid), NULL },
        { "mount", QUILT_CONFIG_BOOL, offsetof(struct ns_config, mount), NULL },
        { "uts", QUILT_CONFIG_BOOL, offsetof(struct ns_config, uts), NULL },
        { "ipc", QUILT_CONFIG_BOOL, offsetof(struct ns_config, ipc), NULL },
        { "net", QUILT_CONFIG_BOOL, offsetof(struct ns_config, net), NULL },
        { "cgroup", QUILT_CONFIG_BOOL, offsetof(struct ns_config, cgroup), NULL },
        { "proc", QUILT_CONFIG_BOOL, offsetof(struct ns_config, proc), NULL },
        { "dev", QUILT_CONFIG_BOOL, offsetof(struct ns_config, dev), NULL },
        { "sys", QUILT_CONFIG_BOOL, offsetof(struct ns_config, sys), NULL },
        { "loopback_up", QUILT_CONFIG_BOOL, offsetof(struct ns_config, loopback_up), NULL },
        { "shm_size", QUILT_CONFIG_UINT64, offsetof(struct ns_config, shm_size), NULL },
        { NULL, 0, 0, NULL },
};

/* The last entry for `key`: the one config_apply let win. */
static const struct quilt_config_entry *find_entry(const struct quilt_config_section *section,
                                                   const char *key)
{
        const struct quilt_config_entry *found = NULL;

        if (!section)
                return NULL;
        for (size_t i = 0; i < section->n_entries; i++)
                if (section->entries[i].key && strcmp(section->entries[i].key, key) == 0)
                        found = &section->entries[i];
        return found;
}

/* A key that depends on another one (proc on mount, ...) follows it when
 * the section does not name it, so `net = false` alone is enough to turn
 * off loopback_up and sys.  Only an explicit `KEY = true` whose requirement
 * is off is an error: the user asked for something we cannot do. */
static int resolve_dependent(const struct quilt_config_section *section, const char *key,
                             bool *value, bool requirement, const char *requirement_key,
                             struct quilt_error *err)
{
        const struct quilt_config_entry *e = find_entry(section, key);
        const char *name = section && section->name ? section->name : "ns";

        if (!e) {
                *value = requirement;
                return 0;
        }
        if (!*value || requirement)
                return 0;
        return quilt_error_set(err, -EINVAL, "%s:%d: [%s] %s = true needs %s = true",
                               e->file ? e->file : (section->file ? section->file : "?"),
                               e->line, name, key, requirement_key);
}

int ns_config_parse(const struct quilt_host *host, const struct quilt_config_section *section,
                    struct ns_config *cfg, struct quilt_error *err)
{
        int r;

        *cfg = (struct ns_config) {
                .pid = true,
                .mount = true,
                .uts = true,
                .ipc = true,
                .net = true,
                .cgroup = false,
                .proc = true,
                .dev = true,
                .sys = true,
                .loopback_up = true,
                .shm_size = NS_SHM_SIZE_DEFAULT,
        };

        if (section && section->n_entries > 0) {
                if (!QUILT_HOST_HAS(host, config_apply))
                        return quilt_error_set(err, -ENOTSUP,
                                               "the host offers no config_apply to read [%s]",
                                               section->name ? section->name : "ns");
                r = host->config_apply(section, ns_keys, cfg, err);
                if (r < 0)
                        return r;
        }

        r = resolve_dependent(section, "proc", &cfg->proc, cfg->mount, "mount", err);
        if (r < 0)
                return r;
        r = resolve_dependent(section, "dev", &cfg->dev, cfg->mount, "mount", err);
        if (r < 0)
                return r;
        /* sysfs shows the network devices of the mounting process's net
         * namespace: without our own, it would show the host's. */
        r = resolve_dependent(section, "sys", &cfg->sys, cfg->mount && cfg->net,
                              cfg->mount ? "net" : "mount", err);
        if (r < 0)
                return r;
        return resolve_dependent(section, "loopback_up", &cfg->loopback_up, cfg->net, "net",
                                 err);
}

unsigned long ns_clone_flags(const struct ns_config *cfg)
{
        unsigned long flags = 0;

        if (cfg->pid)
                flags |= CLONE_NEWPID;
        if (cfg->mount)
                flags |= CLONE_NEWNS;
        if (cfg->uts)
                flags |= CLONE_NEWUTS;
        if (cfg->ipc)
                flags |= CLONE_NEWIPC;
        if (cfg->net)
                flags |= CLONE_NEWNET;
        return flags;
}
