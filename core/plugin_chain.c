/* SPDX-License-Identifier: MIT */
/* Loading the plugins a chain names and running their hooks.
 *
 * Every hook is reached through quilt_plugin_hook(), which honours the
 * plugin's struct_size, and every failure gets "INSTANCE: STAGE: " in
 * front of the plugin's own message (DESIGN habits 2, 3 and 6). */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "plugin_chain.h"
#include "util.h"

const char *const quilt_stage_names[QUILT_STAGE_COUNT] = {
        [QUILT_STAGE_PREPARE_ROOTFS] = "prepare_rootfs",
        [QUILT_STAGE_PRE_CLONE] = "pre_clone",
        [QUILT_STAGE_IN_CHILD] = "in_child",
        [QUILT_STAGE_POST_START] = "post_start",
        [QUILT_STAGE_CLEANUP] = "cleanup",
};

/* The smallest descriptor we accept: ABI 1 up to and including cleanup. */
#define PLUGIN_MIN_SIZE (offsetof(struct quilt_plugin, cleanup) + sizeof(quilt_hook_fn))

/* Does the plugin's descriptor reach the hook at `offset`?  Reading a
 * field past struct_size would read past the plugin's object. */
static bool has_field(const struct quilt_plugin *plugin, size_t offset)
{
        return plugin && plugin->struct_size >= offset + sizeof(quilt_hook_fn);
}

quilt_hook_fn quilt_plugin_hook(const struct quilt_plugin *plugin, enum quilt_stage stage)
{
        switch (stage) {
        case QUILT_STAGE_PREPARE_ROOTFS:
                return has_field(plugin, offsetof(struct quilt_plugin, prepare_rootfs))
                        ? plugin->prepare_rootfs : NULL;
        case QUILT_STAGE_PRE_CLONE:
                return has_field(plugin, offsetof(struct quilt_plugin, pre_clone))
                        ? plugin->pre_clone : NULL;
        case QUILT_STAGE_IN_CHILD:
                return has_field(plugin, offsetof(struct quilt_plugin, in_child))
                        ? plugin->in_child : NULL;
        case QUILT_STAGE_POST_START:
                return has_field(plugin, offsetof(struct quilt_plugin, post_start))
                        ? plugin->post_start : NULL;
        case QUILT_STAGE_CLEANUP:
                return has_field(plugin, offsetof(struct quilt_plugin, cleanup))
                        ? plugin->cleanup : NULL;
        default:
                return NULL;
        }
}

/* Append `s` to buf (NUL-terminated, `len` bytes used); cut at `size`. */
static size_t append(char *buf, size_t size, size_t len, const char *s)
{
        while (*s && len + 1 < size)
                buf[len++] = *s++;
        buf[len] = '\0';
        return len;
}

/* Put the pieces (a NULL-terminated list) in front of a hook's message,
 * keeping the code the hook put in err.  No allocation and no stdio:
 * this also runs in the container process after an in_child hook failed. */
static int wrap_error(struct quilt_error *err, int r, ...)
{
        char reason[QUILT_ERROR_MESSAGE_MAX];
        size_t len = 0;
        va_list ap;

        if (err->code >= 0)
                err->code = r;
        /* The plugin may have filled the buffer without a terminator. */
        err->message[sizeof(err->message) - 1] = '\0';
        if (err->message[0])
                memcpy(reason, err->message, sizeof(reason));
        else {
                const char *desc = strerrordesc_np(-r);
                append(reason, sizeof(reason), 0, desc ? desc : "unknown error");
        }
        va_start(ap, r);
        for (const char *piece; (piece = va_arg(ap, const char *));)
                len = append(err->message, sizeof(err->message), len, piece);
        va_end(ap);
        append(err->message, sizeof(err->message), len, reason);
        return r;
}

static void error_clear(struct quilt_error *err)
{
        err->code = 0;
        err->message[0] = '\0';
}

static int check_descriptor(const char *name, const char *path, const struct quilt_plugin *pl,
                            struct quilt_error *err)
{
        if (!pl)
                return quilt_error_set(err, -ENOEXEC, "plugin '%s' (%s): no symbol %s, "
                                       "not a Quilt plugin", name, path, QUILT_PLUGIN_SYMBOL);
        /* abi_version and struct_size come first in every ABI: safe to read. */
        if (pl->abi_version != QUILT_PLUGIN_ABI_VERSION)
                return quilt_error_set(err, -EPROTO, "plugin '%s' (%s): ABI version %u, "
                                       "this Quilt speaks %u", name, path, pl->abi_version,
                                       QUILT_PLUGIN_ABI_VERSION);
        if (pl->struct_size < PLUGIN_MIN_SIZE)
                return quilt_error_set(err, -EPROTO, "plugin '%s' (%s): descriptor of %u bytes "
                                       "is too small, ABI %u needs at least %zu", name, path,
                                       pl->struct_size, QUILT_PLUGIN_ABI_VERSION, PLUGIN_MIN_SIZE);
        if (!pl->name || strcmp(pl->name, name) != 0)
                return quilt_error_set(err, -EPROTO, "plugin '%s' (%s): calls itself '%s'", name,
                                       path, pl->name ? pl->name : "(null)");
        return 0;
}

static bool plugin_name_is_valid(const char *s)
{
        if (!s || !*s)
                return false;
        return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(s);
}

static int load_one(const struct quilt_config *cfg, const struct quilt_chain_entry *entry,
                    const struct quilt_host *host, struct quilt_plugin_instance *inst,
                    struct quilt_error *err)
{
        /* The name becomes a path: keep it from walking out of plugin_dir
         * when the config was put together by hand rather than parsed. */
        if (!plugin_name_is_valid(entry->plugin))
                return quilt_error_set(err, -EINVAL, "plugin '%s': invalid plugin name",
                                       entry->plugin ? entry->plugin : "(null)");
        if (!cfg->plugin_dir)
                return quilt_error_set(err, -EINVAL, "plugin '%s': no plugin_dir", entry->plugin);
        inst->instance = strdup(entry->instance ? entry->instance : entry->plugin);
        if (!inst->instance || asprintf(&inst->path, "%s/%s.so", cfg->plugin_dir, entry->plugin) < 0) {
                inst->path = NULL;
                return quilt_error_set(err, -ENOMEM, "plugin '%s': out of memory", entry->plugin);
        }

        /* dlerror() would bury the errno in a longer sentence; the common
         * case of a plugin that is not installed deserves a plain one. */
        struct stat st;
        if (stat(inst->path, &st) < 0)
                return quilt_error_set(err, -errno, "plugin '%s': %s: %m", entry->plugin,
                                       inst->path);
        inst->handle = dlopen(inst->path, RTLD_NOW | RTLD_LOCAL);
        if (!inst->handle) {
                const char *why = dlerror();
                return quilt_error_set(err, -ENOEXEC, "plugin '%s': %s", entry->plugin,
                                       why ? why : inst->path);
        }
        const struct quilt_plugin *pl = dlsym(inst->handle, QUILT_PLUGIN_SYMBOL);
        int r = check_descriptor(entry->plugin, inst->path, pl, err);
        if (r < 0)
                return r;
        inst->plugin = pl;

        const struct quilt_config_section *section = quilt_config_section(cfg, inst->instance);
        error_clear(err);
        if (!pl->init) {
                /* Without init nothing reads the section: refuse keys in it
                 * rather than ignore them. */
                static const struct quilt_config_key none[] = { { NULL, 0, 0, NULL } };
                r = quilt_config_apply(section, none, NULL, err);
        } else {
                void *state = NULL;
                r = pl->init(host, section, &state, err);
                inst->state = state;
        }
        if (r < 0)
                return wrap_error(err, r, "plugin '", inst->instance, "': ", (char *)NULL);
        inst->initialized = true;
        return 0;
}

int quilt_plugin_chain_load(const struct quilt_config *cfg, const struct quilt_profile *profile,
                            const struct quilt_host *host, struct quilt_plugin_chain **ret,
                            struct quilt_error *err)
{
        struct quilt_error local;
        if (!err)
                err = &local;
        if (!host)
                host = quilt_host_table();
        if (!profile)
                profile = quilt_config_profile(cfg, NULL);
        if (!cfg || !profile)
                return quilt_error_set(err, -EINVAL, "no chain to load");

        struct quilt_plugin_chain *chain = calloc(1, sizeof(*chain));
        if (!chain)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        if (profile->n_entries > 0) {
                chain->plugins = calloc(profile->n_entries, sizeof(*chain->plugins));
                if (!chain->plugins) {
                        free(chain);
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                }
        }
        for (size_t i = 0; i < profile->n_entries; i++) {
                /* Count it first so that free() also undoes a half-loaded one. */
                chain->n = i + 1;
                int r = load_one(cfg, &profile->entries[i], host, &chain->plugins[i], err);
                if (r < 0) {
                        quilt_plugin_chain_free(chain);
                        return r;
                }
        }
        *ret = chain;
        return 0;
}

void quilt_plugin_chain_free(struct quilt_plugin_chain *chain)
{
        if (!chain)
                return;
        for (size_t i = chain->n; i-- > 0;) {
                struct quilt_plugin_instance *inst = &chain->plugins[i];

                if (inst->initialized && inst->plugin->fini)
                        inst->plugin->fini(inst->state);
                if (inst->handle)
                        dlclose(inst->handle);
                free(inst->instance);
                free(inst->path);
        }
        free(chain->plugins);
        free(chain);
}

int quilt_plugin_chain_run(struct quilt_plugin_chain *chain, enum quilt_stage stage,
                           struct quilt_container *c, struct quilt_error *err)
{
        struct quilt_error local;
        if (!err)
                err = &local;
        if ((int)stage < 0 || stage >= QUILT_STAGE_CLEANUP)
                return quilt_error_set(err, -EINVAL, "stage %d cannot be run as a chain stage",
                                       (int)stage);
        if (!chain)
                return 0;

        for (size_t i = 0; i < chain->n; i++) {
                struct quilt_plugin_instance *inst = &chain->plugins[i];
                quilt_hook_fn fn = quilt_plugin_hook(inst->plugin, stage);

                if (!fn)
                        continue;
                inst->entered = true;
                error_clear(err);
                int r = fn(inst->state, c, err);
                if (r < 0) {
                        /* The plugins before it may hold what an earlier stage
                         * built even if this stage left them out. */
                        for (size_t j = 0; j < i; j++)
                                chain->plugins[j].entered = true;
                        return wrap_error(err, r, inst->instance, ": ", quilt_stage_names[stage],
                                          ": ", (char *)NULL);
                }
        }
        return 0;
}

void quilt_plugin_chain_enter_all(struct quilt_plugin_chain *chain)
{
        for (size_t i = 0; chain && i < chain->n; i++)
                chain->plugins[i].entered = true;
}

int quilt_plugin_chain_cleanup(struct quilt_plugin_chain *chain, struct quilt_container *c,
                               struct quilt_error *err)
{
        const struct quilt_host *host = quilt_host_table();
        int ret = 0;

        for (size_t i = chain ? chain->n : 0; i-- > 0;) {
                struct quilt_plugin_instance *inst = &chain->plugins[i];
                quilt_hook_fn fn = quilt_plugin_hook(inst->plugin, QUILT_STAGE_CLEANUP);
                struct quilt_error e = { 0 };

                if (!inst->entered || !fn)
                        continue;
                int r = fn(inst->state, c, &e);
                if (r >= 0)
                        continue;
                wrap_error(&e, r, inst->instance, ": cleanup: ", (char *)NULL);
                if (ret == 0) {
                        ret = r;
                        if (err)
                                *err = e;
                } else
                        /* Only the first failure goes back to the caller;
                         * the others would otherwise be lost. */
                        host->log(QUILT_LOG_WARNING, NULL, "%s", e.message);
        }
        return ret;
}

/* ---- daemon-wide hooks and resource control ---- */

int quilt_plugin_chain_daemon_start(struct quilt_plugin_chain *chain, struct quilt_error *err)
{
        for (size_t i = 0; chain && i < chain->n; i++) {
                struct quilt_plugin_instance *inst = &chain->plugins[i];
                int (*fn)(void *, struct quilt_error *) = QUILT_PLUGIN_FIELD(inst->plugin, daemon_start);
                if (!fn)
                        continue;
                error_clear(err);
                int r = fn(inst->state, err);
                if (r < 0) {
                        wrap_error(err, r, inst->instance, ": daemon_start: ", NULL);
                        quilt_plugin_chain_daemon_stop(chain);
                        return r;
                }
                inst->daemon_started = true;
        }
        return 0;
}

void quilt_plugin_chain_daemon_stop(struct quilt_plugin_chain *chain)
{
        for (size_t i = chain ? chain->n : 0; i > 0; i--) {
                struct quilt_plugin_instance *inst = &chain->plugins[i - 1];
                void (*fn)(void *) = QUILT_PLUGIN_FIELD(inst->plugin, daemon_stop);
                if (inst->daemon_started && fn)
                        fn(inst->state);
                inst->daemon_started = false;
        }
}

int quilt_plugin_chain_kill(struct quilt_plugin_chain *chain, struct quilt_container *c, int signo,
                            struct quilt_error *err)
{
        int ret = -EOPNOTSUPP;
        for (size_t i = 0; chain && i < chain->n; i++) {
                struct quilt_plugin_instance *inst = &chain->plugins[i];
                __typeof__(inst->plugin->kill) fn = QUILT_PLUGIN_FIELD(inst->plugin, kill);
                if (!fn || !inst->entered)
                        continue;
                error_clear(err);
                int r = fn(inst->state, c, signo, err);
                if (r == 0)
                        ret = 0;
                else if (r != -EOPNOTSUPP) {
                        wrap_error(err, r, inst->instance, ": kill: ", NULL);
                        if (ret == -EOPNOTSUPP)
                                ret = r;
                }
        }
        return ret;
}

int quilt_plugin_chain_stats(struct quilt_plugin_chain *chain, struct quilt_container *c,
                             struct quilt_stats *stats, struct quilt_error *err)
{
        for (size_t i = 0; chain && i < chain->n; i++) {
                struct quilt_plugin_instance *inst = &chain->plugins[i];
                __typeof__(inst->plugin->stats) fn = QUILT_PLUGIN_FIELD(inst->plugin, stats);
                if (!fn || !inst->entered)
                        continue;
                error_clear(err);
                int r = fn(inst->state, c, stats, err);
                if (r < 0) {
                        wrap_error(err, r, inst->instance, ": stats: ", NULL);
                        return r;
                }
        }
        return 0;
}

int quilt_plugin_chain_update(struct quilt_plugin_chain *chain, struct quilt_container *c,
                              const struct quilt_resources *resources, struct quilt_error *err)
{
        for (size_t i = 0; chain && i < chain->n; i++) {
                struct quilt_plugin_instance *inst = &chain->plugins[i];
                __typeof__(inst->plugin->update) fn = QUILT_PLUGIN_FIELD(inst->plugin, update);
                if (!fn || !inst->entered)
                        continue;
                error_clear(err);
                int r = fn(inst->state, c, resources, err);
                if (r < 0) {
                        wrap_error(err, r, inst->instance, ": update: ", NULL);
                        return r;
                }
        }
        return 0;
}

int quilt_plugin_chain_attach(struct quilt_plugin_chain *chain, struct quilt_container *c, pid_t pid,
                              struct quilt_error *err)
{
        struct quilt_error local;
        if (!err)
                err = &local;
        for (size_t i = 0; chain && i < chain->n; i++) {
                struct quilt_plugin_instance *inst = &chain->plugins[i];
                __typeof__(inst->plugin->attach) fn = QUILT_PLUGIN_FIELD(inst->plugin, attach);
                if (!fn)
                        continue;
                error_clear(err);
                int r = fn(inst->state, c, pid, err);
                if (r < 0)
                        return wrap_error(err, r, inst->instance, ": attach: ", NULL);
        }
        return 0;
}

int quilt_plugin_chain_check_request(const struct quilt_plugin_chain *all, const struct quilt_profile *profile,
                                     const struct quilt_container *c, struct quilt_error *err)
{
        for (size_t i = 0; all && i < profile->n_entries; i++) {
                const struct quilt_chain_entry *e = &profile->entries[i];
                const char *name = e->instance ? e->instance : e->plugin;
                for (size_t j = 0; j < all->n; j++) {
                        const struct quilt_plugin_instance *inst = &all->plugins[j];
                        if (strcmp(inst->instance, name) != 0)
                                continue;
                        __typeof__(inst->plugin->check_request) fn =
                                QUILT_PLUGIN_FIELD(inst->plugin, check_request);
                        if (!fn)
                                break;
                        error_clear(err);
                        int r = fn(inst->state, c, err);
                        if (r < 0)
                                return wrap_error(err, r, inst->instance, ": ", NULL);
                        break;
                }
        }
        return 0;
}

uint64_t quilt_plugin_chain_features(const struct quilt_plugin_chain *chain)
{
        uint64_t features = 0;
        for (size_t i = 0; chain && i < chain->n; i++) {
                const struct quilt_plugin *p = chain->plugins[i].plugin;
                /* A plugin built before `features` existed provides none. */
                if (QUILT_PLUGIN_FIELD(p, configured_features))
                        features |= p->configured_features(chain->plugins[i].state);
                else if (p->struct_size >= offsetof(struct quilt_plugin, features) + sizeof(p->features))
                        features |= p->features;
        }
        return features;
}

uint64_t quilt_network_feature(const char *mode)
{
        if (!mode)
                return 0;
        if (!strcmp(mode, "none"))
                return QUILT_FEATURE_NETWORK_NONE;
        if (!strcmp(mode, "loopback"))
                return QUILT_FEATURE_NETWORK_LOOPBACK;
        if (!strcmp(mode, "bridge"))
                return QUILT_FEATURE_NETWORK_BRIDGE;
        return 0;
}
