/* SPDX-License-Identifier: MIT */
/* quiltd.ini: [daemon], [plugins] (the default chain), [profile.NAME]
 * (named chains) and one section per plugin instance ([rootfs] or
 * [rootfs:chroot] for a chain entry "rootfs:chroot").  Parsed with inih
 * through a static key table; every error names FILE:LINE. */
#ifndef QUILT_CONFIG_H
#define QUILT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quilt/plugin.h"

#define QUILT_DEFAULT_CONFIG "/etc/quilt/quiltd.ini"
#define QUILT_DEFAULT_SOCKET "/run/quilt/quiltd.sock"
#define QUILT_DEFAULT_STATE_DIR "/var/lib/quilt"

/* One entry of a chain: "rootfs" or "rootfs:chroot". */
struct quilt_chain_entry {
        char *plugin;                           /* "rootfs": loads PLUGIN_DIR/rootfs.so */
        char *instance;                         /* "rootfs:chroot": names the INI section */
};

struct quilt_profile {
        char *name;                             /* "" for the default chain */
        size_t n_entries;
        struct quilt_chain_entry *entries;
        const char *file;
        int line;                               /* where its chain key stands */
        bool resource_control;                  /* a plugin applies Resources (quiltd fills it in) */
        uint64_t features;                      /* QUILT_FEATURE_* of its plugins (quiltd fills it in) */
        char *network;                          /* its `network` key: the default mode, or NULL */
        int network_line;
};

struct quilt_config {
        char *path;                             /* the file read, or NULL for built-in defaults */
        /* [daemon] */
        char *socket_path;
        char *state_dir;
        char *plugin_dir;
        char *monitor_path;                     /* quilt-monitor binary; default next to quiltd */
        int log_level;                          /* enum quilt_log_level */
        unsigned socket_mode;                   /* default 0660 */
        char *socket_group;                     /* optional group owning the socket */
        unsigned stop_timeout_seconds;          /* default for StopContainer: 10 */
        char *insecure_registries;              /* "HOST[:PORT], ...": plain HTTP allowed (PullImage) */
        bool init;                              /* requests get the minimal init unless they say no_init */
        char *init_path;                        /* quilt-init; default next to quilt-monitor */
        /* [plugins] chain is profiles[0] (name ""); [profile.NAME] follow. */
        size_t n_profiles;
        struct quilt_profile *profiles;
        /* Every other section, each a plugin instance's section. */
        size_t n_sections;
        struct quilt_config_section *sections;
};

/* Parse `path`.  On error returns a negative errno and err->message reads
 * "FILE:LINE: what is wrong" (or "FILE: reason" when it cannot be read).
 * Sections that no chain names are errors; keys inside plugin sections are
 * checked by the plugin's init (see quilt_plugin_chain_load). */
int quilt_config_load(const char *path, struct quilt_config **ret, struct quilt_error *err);

/* true/false, yes/no, on/off, 1/0 (any case); -EINVAL otherwise. */
int quilt_config_parse_bool(const char *v, bool *ret);

/* Built-in defaults (no file): used only by tests. */
struct quilt_config *quilt_config_new_default(void);

void quilt_config_free(struct quilt_config *cfg);

/* The profile named `name` ("" or NULL: the default chain), or NULL. */
const struct quilt_profile *quilt_config_profile(const struct quilt_config *cfg, const char *name);

/* The section for a chain entry's instance, or an empty section with
 * that name (line 0) when the file has none.  Never NULL. */
const struct quilt_config_section *quilt_config_section(const struct quilt_config *cfg,
                                                        const char *instance);

/* Replace a string setting (used for --socket, --state-dir, --plugin-dir). */
int quilt_config_set_string(char **field, const char *value);

/* Like quilt_config_load, from `len` bytes at `data`; `name` stands for the
 * file in messages and in cfg->path.  For tests and the fuzzer. */
int quilt_config_load_buffer(const char *name, const char *data, size_t len,
                             struct quilt_config **ret, struct quilt_error *err);

/* Apply a plugin section to `target` through a key table (quilt_host's
 * config_apply).  Unknown keys and bad values fail with -EINVAL and
 * "FILE:LINE: [SECTION] ..."; keys the section leaves out keep the
 * value `target` had. */
int quilt_config_apply(const struct quilt_config_section *section,
                       const struct quilt_config_key *table, void *target,
                       struct quilt_error *err);

#endif
