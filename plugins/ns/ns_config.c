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
        { "time", QUILT_CONFIG_BOOL, offsetof(struct ns_config, time), NULL },
        { "proc", QUILT_CONFIG_BOOL, offsetof(struct ns_config, proc), NULL },
        { "dev", QUILT_CONFIG_BOOL, offsetof(struct ns_config, dev), NULL },
        { "sys", QUILT_CONFIG_BOOL, offsetof(struct ns_config, sys), NULL },
        { "loopback_up", QUILT_CONFIG_BOOL, offsetof(struct ns_config, loopback_up), NULL },
        { "shm_size", QUILT_CONFIG_UINT64, offsetof(struct ns_config, shm_size), NULL },
        { "masked_paths", QUILT_CONFIG_STRING, offsetof(struct ns_config, masked_paths_value),
          NULL },
        { "readonly_paths", QUILT_CONFIG_STRING,
          offsetof(struct ns_config, readonly_paths_value), NULL },
        { NULL, 0, 0, NULL },
};

/* A key that depends on another one (proc on mount, ...) follows it when
 * the section does not name it, so `net = false` alone is enough to turn
 * off loopback_up and sys.  Only an explicit `KEY = true` whose requirement
 * is off is an error: the user asked for something we cannot do. */
static int resolve_dependent(const struct quilt_config_section *section, const char *key,
                             bool *value, bool requirement, const char *requirement_key,
                             struct quilt_error *err)
{
        if (!quilt_config_find(section, key)) {
                *value = requirement;
                return 0;
        }
        if (!*value || requirement)
                return 0;
        return quilt_config_error(section, "ns", key, -EINVAL, err, "%s = true needs %s = true",
                                  key, requirement_key);
}

/* Docker's defaults (moby oci/defaults.go): files and directories that
 * tell about the host's hardware or kernel, or let one change it. */
static const char default_masked_paths[] =
        "/proc/asound, /proc/acpi, /proc/interrupts, /proc/kcore, /proc/keys, "
        "/proc/latency_stats, /proc/timer_list, /proc/timer_stats, /proc/sched_debug, "
        "/proc/scsi, /sys/firmware, /sys/devices/virtual/powercap";
static const char default_readonly_paths[] =
        "/proc/bus, /proc/fs, /proc/irq, /proc/sys, /proc/sysrq-trigger";

static const struct {
        const char *prefix;
        enum ns_path_base base;
} path_bases[] = {
        { "/proc/", NS_PATH_PROC },
        { "/sys/", NS_PATH_SYS },
};

static void path_list_free(struct ns_path_list *l)
{
        free(l->items);
        free(l->buf);
        *l = (struct ns_path_list) { 0 };
}

void ns_config_free(struct ns_config *cfg)
{
        path_list_free(&cfg->masked);
        path_list_free(&cfg->readonly);
}

static char *trim(char *s)
{
        char *end;

        while (*s == ' ' || *s == '\t')
                s++;
        end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
                *--end = '\0';
        return s;
}

/* Only plain names below the base: no "", "." or ".." component, so what
 * in_child resolves is exactly what the config names. */
static bool rel_is_plain(const char *rel)
{
        const char *p = rel;

        for (;;) {
                size_t len = strcspn(p, "/");

                if (len == 0 || (len == 1 && p[0] == '.') ||
                    (len == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                if (p[len] == '\0')
                        return true;
                p += len + 1;
        }
}

static int path_check(struct ns_path *item, const struct quilt_config_section *section,
                      const char *key, struct quilt_error *err)
{
        if (item->path[0] != '/')
                return quilt_config_error(section, "ns", key, -EINVAL, err,
                                          "%s: \"%s\" is not an absolute path", key, item->path);
        for (size_t i = 0; i < ELEMENTSOF(path_bases); i++) {
                size_t n = strlen(path_bases[i].prefix);

                if (strncmp(item->path, path_bases[i].prefix, n) != 0)
                        continue;
                item->base = path_bases[i].base;
                item->rel = item->path + n;
                if (!rel_is_plain(item->rel))
                        break;
                return 0;
        }
        return quilt_config_error(section, "ns", key, -EINVAL, err,
                                  "%s: \"%s\" is not a plain path below /proc or /sys", key,
                                  item->path);
}

/* Split the comma list `value` (empty: no paths) into *ret. */
static int path_list_parse(const char *value, const struct quilt_config_section *section,
                           const char *key, struct ns_path_list *ret, struct quilt_error *err)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_free_ struct ns_path *items = NULL;
        size_t max = 1, n = 0;
        char *p;
        int r;

        buf = strdup(value);
        for (const char *c = value; *c; c++)
                max += *c == ',';
        items = calloc(max, sizeof(*items));
        if (!buf || !items)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        for (p = buf;;) {
                char *comma = strchr(p, ',');
                char *item;

                if (comma)
                        *comma = '\0';
                item = trim(p);
                /* An empty item ("a,,b", a trailing comma) names nothing. */
                if (item[0] != '\0') {
                        items[n].path = item;
                        r = path_check(&items[n], section, key, err);
                        if (r < 0)
                                return r;
                        n++;
                }
                if (!comma)
                        break;
                p = comma + 1;
        }
        *ret = (struct ns_path_list) { .items = TAKE_PTR(items), .n = n, .buf = TAKE_PTR(buf) };
        return 0;
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
                .cgroup = true,
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
        r = resolve_dependent(section, "loopback_up", &cfg->loopback_up, cfg->net, "net", err);
        if (r < 0)
                return r;

        r = path_list_parse(cfg->masked_paths_value ? cfg->masked_paths_value
                                                    : default_masked_paths,
                            section, "masked_paths", &cfg->masked, err);
        if (r < 0)
                return r;
        r = path_list_parse(cfg->readonly_paths_value ? cfg->readonly_paths_value
                                                      : default_readonly_paths,
                            section, "readonly_paths", &cfg->readonly, err);
        if (r < 0) {
                ns_config_free(cfg);
                return r;
        }
        /* Only the lists are read from here on: the section may go away. */
        cfg->masked_paths_value = cfg->readonly_paths_value = NULL;
        return 0;
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
