/* SPDX-License-Identifier: MIT */
/* The [seccomp] section, and how a profile name (the config's or a
 * request's) leads to the built-in profile, to none, or to a JSON file.
 *
 *   profile = default          the chain's profile: "default" (Docker's,
 *                              built in), "unconfined", an absolute path
 *                              to a Docker/OCI JSON file, or a NAME in
 *                              profiles_dir; compiled once at start-up so
 *                              a broken one fails there, naming the line
 *   allow_unconfined = false   may a request ask for "unconfined"?
 *   profiles_dir =             where a request's (or profile's) bare NAME
 *                              is read as NAME.json; none by default, so
 *                              requests may name only "default",
 *                              "unconfined" and absolute paths
 *   allow_ptrace = false       the built-in profile allows ptrace,
 *                              process_vm_readv/writev as Docker does on
 *                              kernels >= 4.8; off: only with CAP_SYS_PTRACE */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "seccomp_plugin.h"

static const struct quilt_config_key seccomp_keys[] = {
        { "profile", QUILT_CONFIG_STRING, offsetof(struct seccomp_config, profile), NULL },
        { "allow_unconfined", QUILT_CONFIG_BOOL, offsetof(struct seccomp_config, allow_unconfined),
          NULL },
        { "profiles_dir", QUILT_CONFIG_STRING, offsetof(struct seccomp_config, profiles_dir), NULL },
        { "allow_ptrace", QUILT_CONFIG_BOOL, offsetof(struct seccomp_config, allow_ptrace), NULL },
        { NULL, 0, 0, NULL },
};

/* A bare profile name: one path component, no hidden or special names,
 * so PROFILES_DIR/NAME.json never leaves PROFILES_DIR. */
static bool valid_bare_name(const char *name)
{
        size_t n = strlen(name);

        if (n == 0 || n > 200 || name[0] == '.')
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
                        return false;
        return true;
}

int seccomp_resolve(const struct seccomp_config *cfg, const char *name,
                    enum seccomp_source_kind *ret_kind, char **ret_path, struct quilt_error *err)
{
        char *path;

        *ret_path = NULL;
        if (strcmp(name, SECCOMP_PROFILE_DEFAULT) == 0) {
                *ret_kind = SECCOMP_SOURCE_DEFAULT;
                return 0;
        }
        if (strcmp(name, SECCOMP_PROFILE_UNCONFINED) == 0) {
                *ret_kind = SECCOMP_SOURCE_UNCONFINED;
                return 0;
        }
        if (name[0] == '/') {
                path = strdup(name);
        } else {
                if (!valid_bare_name(name))
                        return quilt_error_set(err, -EINVAL,
                                               "seccomp profile '%.200s': neither 'default', "
                                               "'unconfined', an absolute path nor a plain name",
                                               name);
                if (!cfg->profiles_dir)
                        return quilt_error_set(err, -EINVAL,
                                               "seccomp profile '%s': a name needs profiles_dir "
                                               "in [seccomp]",
                                               name);
                if (asprintf(&path, "%s/%s.json", cfg->profiles_dir, name) < 0)
                        path = NULL;
        }
        if (!path)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        *ret_kind = SECCOMP_SOURCE_FILE;
        *ret_path = path;
        return 0;
}

/* Compile the configured profile once, so a broken one stops the daemon
 * at start-up (naming the config line) rather than every create. */
static int check_profile(const struct quilt_config_section *section,
                         const struct seccomp_config *cfg, struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_seccomp_ scmp_filter_ctx ctx = NULL;
        const struct seccomp_target target = { .capabilities = 0,
                                               .allow_ptrace = cfg->allow_ptrace };
        enum seccomp_source_kind kind;
        size_t len;
        int r;

        r = seccomp_resolve(cfg, cfg->profile, &kind, &path, err);
        if (r >= 0 && kind == SECCOMP_SOURCE_FILE)
                r = seccomp_read_file(path, &text, &len, err);
        if (r >= 0 && kind == SECCOMP_SOURCE_FILE)
                r = seccomp_profile_compile(text, len, path, &target, &ctx, err);
        if (r < 0) {
                /* Cut to leave room for "FILE:LINE: [seccomp] profile: ". */
                char what[QUILT_ERROR_MESSAGE_MAX - 128];
                size_t n = err ? strnlen(err->message, sizeof(what) - 1) : 0;
                memcpy(what, err ? err->message : "", n);
                what[n] = '\0';
                return quilt_config_error(section, "seccomp", "profile", r, err, "profile: %s", what);
        }
        return 0;
}

int seccomp_config_parse(const struct quilt_host *host, const struct quilt_config_section *section,
                         struct seccomp_config *cfg, struct quilt_error *err)
{
        int r;

        *cfg = (struct seccomp_config) {
                .profile = SECCOMP_PROFILE_DEFAULT,
                .allow_unconfined = false,
                .profiles_dir = NULL,
                .allow_ptrace = false,
        };
        if (!section || section->n_entries == 0)
                return 0;

        if (!QUILT_HOST_HAS(host, config_apply))
                return quilt_error_set(err, -ENOTSUP,
                                       "the host offers no config_apply to read [%s]",
                                       section->name ? section->name : "seccomp");
        r = host->config_apply(section, seccomp_keys, cfg, err);
        if (r < 0)
                return r;

        if (cfg->profiles_dir && !cfg->profiles_dir[0])
                cfg->profiles_dir = NULL;       /* `profiles_dir =`: none */
        if (cfg->profiles_dir && cfg->profiles_dir[0] != '/')
                return quilt_config_error(section, "seccomp", "profiles_dir", -EINVAL, err,
                                 "profiles_dir: '%s' is not an absolute path", cfg->profiles_dir);
        if (cfg->profiles_dir && strlen(cfg->profiles_dir) > 3000)
                return quilt_config_error(section, "seccomp", "profiles_dir", -EINVAL, err,
                                          "profiles_dir: too long");
        if (!cfg->profile[0])
                return quilt_config_error(section, "seccomp", "profile", -EINVAL, err,
                                 "profile: empty (use 'default', 'unconfined' or a path)");
        return check_profile(section, cfg, err);
}
