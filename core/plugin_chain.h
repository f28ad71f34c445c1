/* SPDX-License-Identifier: MIT */
/* Loading a chain of plugins (dlopen, ABI check, init) and running its
 * stages in order, with cleanup in reverse order. */
#ifndef QUILT_PLUGIN_CHAIN_H
#define QUILT_PLUGIN_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "quilt/plugin.h"

struct quilt_plugin_instance {
        char *instance;                         /* chain entry, e.g. "rootfs:chroot" */
        char *path;                             /* the .so */
        void *handle;                           /* dlopen handle */
        const struct quilt_plugin *plugin;
        void *state;                            /* from init */
        bool initialized;
        bool entered;                           /* some hook ran (or failed): cleanup it */
        bool daemon_started;                    /* daemon_start succeeded */
};

struct quilt_plugin_chain {
        size_t n;
        struct quilt_plugin_instance *plugins;
};

extern const char *const quilt_stage_names[QUILT_STAGE_COUNT];   /* "prepare_rootfs", ... */

/* The hook for `stage`, or NULL when the plugin leaves it out or its
 * struct_size says the field is absent. */
quilt_hook_fn quilt_plugin_hook(const struct quilt_plugin *plugin, enum quilt_stage stage);

/* dlopen PLUGIN_DIR/NAME.so for every entry of `profile`, check
 * abi_version (major must equal QUILT_PLUGIN_ABI_VERSION), struct_size
 * (at least up to `cleanup` of ABI 1) and name, then call init with the
 * instance's section.  Errors name the plugin and file, e.g.
 * "plugin 'ns' (/usr/lib/quilt/plugins/ns.so): ABI version 2, quilt speaks 1". */
int quilt_plugin_chain_load(const struct quilt_config *cfg, const struct quilt_profile *profile,
                            const struct quilt_host *host, struct quilt_plugin_chain **ret,
                            struct quilt_error *err);

/* fini every initialized plugin (reverse order) and dlclose. NULL is fine. */
void quilt_plugin_chain_free(struct quilt_plugin_chain *chain);

/* Run `stage` across the chain in order; stops at the first failure with
 * err->message "INSTANCE: STAGE: reason".  Marks plugins entered.
 * Not for QUILT_STAGE_CLEANUP. */
int quilt_plugin_chain_run(struct quilt_plugin_chain *chain, enum quilt_stage stage,
                           struct quilt_container *c, struct quilt_error *err);

/* Run cleanup in reverse order on every entered plugin, always all of
 * them; the first failure is reported in err (the rest still run). */
int quilt_plugin_chain_cleanup(struct quilt_plugin_chain *chain, struct quilt_container *c,
                               struct quilt_error *err);

/* A plugin's `field` (a hook appended after ABI 1's first cut), or NULL
 * when its struct_size says the plugin predates it. */
#define QUILT_PLUGIN_FIELD(plugin, field)                                               \
        ((plugin)->struct_size >= offsetof(struct quilt_plugin, field) + sizeof((plugin)->field) \
                 ? (plugin)->field                                                      \
                 : NULL)

/* quiltd: every check_request hook of `profile`'s entries, found among
 * the instances `all` holds (the daemon's chain: every instance of every
 * profile); the first refusal in err, "INSTANCE: reason". */
int quilt_plugin_chain_check_request(const struct quilt_plugin_chain *all, const struct quilt_profile *profile,
                                     const struct quilt_container *c, struct quilt_error *err);

/* The QUILT_FEATURE_* bits of every plugin in the chain, ORed. */
uint64_t quilt_plugin_chain_features(const struct quilt_plugin_chain *chain);

/* quiltd, before it starts threads: daemon_start of every plugin in order.
 * On failure the ones already started are stopped again. */
int quilt_plugin_chain_daemon_start(struct quilt_plugin_chain *chain, struct quilt_error *err);
/* daemon_stop in reverse order, for the plugins daemon_start reached. */
void quilt_plugin_chain_daemon_stop(struct quilt_plugin_chain *chain);

/* Resource control, in the monitor.  kill: 0 when some plugin reached
 * every process, -EOPNOTSUPP when none can.  stats: every plugin with a
 * stats hook fills its part.  update: every plugin with an update hook,
 * in order; the first failure stops it ("INSTANCE: update: reason"). */
int quilt_plugin_chain_kill(struct quilt_plugin_chain *chain, struct quilt_container *c, int signo,
                            struct quilt_error *err);
int quilt_plugin_chain_stats(struct quilt_plugin_chain *chain, struct quilt_container *c,
                             struct quilt_stats *stats, struct quilt_error *err);
int quilt_plugin_chain_update(struct quilt_plugin_chain *chain, struct quilt_container *c,
                              const struct quilt_resources *resources, struct quilt_error *err);

/* A process that joins the running container (an exec), in the monitor,
 * before it enters: every plugin's attach hook in chain order, whether or
 * not the plugin was entered in this process (a hook left out would leave
 * the exec outside, say, the container's cgroup).  The first failure
 * stops it: "INSTANCE: attach: reason".  A plugin built before `attach`
 * existed has none. */
int quilt_plugin_chain_attach(struct quilt_plugin_chain *chain, struct quilt_container *c, pid_t pid,
                              struct quilt_error *err);

/* The host services table given to plugins (log, config_apply, remove_tree). */
const struct quilt_host *quilt_host_table(void);
/* QUILT_FEATURE_NETWORK_* for a mode ("none", "loopback", "bridge"); 0
 * for anything else. */
uint64_t quilt_network_feature(const char *mode);

/* What the table's state_dir() answers; the string must outlive the plugins. */
void quilt_host_set_state_dir(const char *state_dir);
/* In the container process: where quilt_host.child_phase reports (the
 * monitor's child pipe, see child_protocol.h) and waits for the monitor's
 * acknowledgement (a byte on the sync pipe). */
void quilt_host_set_child_channel(int report_fd, int ack_fd);
/* quilt_host.child_phase itself, also for the core's own phase 0. */
int quilt_child_report_phase(uint32_t setup_command, const char *command);
/* Where quilt_host.log writes (stderr by default) and from which level. */
void quilt_host_set_log_level(int level);

/* Mark every plugin entered, so cleanup runs all of them: the monitor
 * calls it once the container process exists, since from then on any
 * plugin may have left something behind (a cgroup, a veth). */
void quilt_plugin_chain_enter_all(struct quilt_plugin_chain *chain);

#endif
