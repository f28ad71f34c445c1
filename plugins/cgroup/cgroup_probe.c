/* SPDX-License-Identifier: MIT */
/* The `cgroup` plugin's choice: which backend applies to the mounts of
 * this system.  Pure v2 (a cgroup2 at the root) is v2.  On a hybrid
 * (tmpfs at the root, v1 controllers under it, a cgroup2 at ROOT/unified)
 * the unified hierarchy wins only when it holds every wanted controller —
 * systemd's hybrid mode leaves it empty, or with hugetlb alone — else the
 * v1 controllers carry the limits.  The reason comes back in words, for
 * the log `quiltd --check-config` shows. */
#include <stdio.h>
#include <string.h>

#include "cgroup_backend.h"
#include "cgroup_fs.h"

static const char *const auto_wanted_default[] = { "memory", "cpu", "pids", NULL };

/* Append ", word" (or "word") to a fixed buffer; a cut list still reads. */
static void list_add(char *buf, size_t size, const char *word, size_t n)
{
        size_t len = strlen(buf);

        if (len + 1 < size)
                snprintf(buf + len, size - len, "%s%.*s", len ? ", " : "", (int)n, word);
}

/* The names cgroup.controllers would list; cpuacct and freezer are v1
 * names v2 serves without a controller. */
static bool needs_v2_controller(const char *name, size_t n)
{
        return !((n == 7 && strncmp(name, "cpuacct", 7) == 0) ||
                 (n == 7 && strncmp(name, "freezer", 7) == 0));
}

static int pick(const struct cgroup_backend *be, const char *root,
                const struct cgroup_backend **ret_be, char **ret_root, struct quilt_error *err)
{
        *ret_root = strdup(root);
        if (!*ret_root)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        *ret_be = be;
        return 0;
}

int cgroup_probe_auto(const char *root, const char *controllers,
                      const struct cgroup_backend **ret_be, char **ret_root, char *why,
                      size_t why_size, struct quilt_error *err)
{
        _cleanup_free_ char *unified = NULL, *ctl_path = NULL, *uctl = NULL, *wanted_list = NULL;
        char in_v1[256] = "", not_anywhere[256] = "", missing_in_u[256] = "";
        const char *r_root = root && root[0] ? root : CGROUP_DEFAULT_ROOT;
        const char *pick_root = NULL;
        const struct cgroup_backend *be = NULL;

        if (cgroup_is_cgroup2(r_root)) {
                _cleanup_free_ char *ctl = NULL, *text = NULL;
                if (cg_join(&ctl, r_root, "cgroup.controllers") == 0 && cg_read(ctl, &text) == 0)
                        text[strcspn(text, "\n")] = '\0';
                snprintf(why, why_size, "%s is cgroup2 (pure v2; controllers: %s)", r_root,
                         text && text[0] ? text : "none");
                return pick(&cgroup_v2_backend, r_root, ret_be, ret_root, err);
        }

        if (cg_join(&unified, r_root, CGROUP_UNIFIED_NAME) < 0 ||
            cg_join(&ctl_path, unified, "cgroup.controllers") < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        bool u2 = cgroup_is_cgroup2(unified);
        if (u2 && cg_read(ctl_path, &uctl) == 0)
                uctl[strcspn(uctl, "\n")] = '\0';

        /* The wanted controllers: the configured list, else the three the
         * limits need. */
        if (controllers && controllers[strspn(controllers, " \t,")]) {
                wanted_list = strdup(controllers);
        } else {
                char def[64] = "";
                for (size_t i = 0; auto_wanted_default[i]; i++)
                        list_add(def, sizeof(def), auto_wanted_default[i],
                                 strlen(auto_wanted_default[i]));
                wanted_list = strdup(def);
        }
        if (!wanted_list)
                return quilt_error_set(err, -ENOMEM, "out of memory");

        for (const char *p = wanted_list; *p;) {
                p += strspn(p, " \t,");
                size_t n = strcspn(p, " \t,");
                if (n == 0)
                        break;
                _cleanup_free_ char *name = strndup(p, n), *dir = NULL;
                if (!name || cg_join(&dir, r_root, name) < 0)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                bool in_u = u2 && uctl && cg_word_in(uctl, name);
                if (!in_u && needs_v2_controller(p, n))
                        list_add(missing_in_u, sizeof(missing_in_u), p, n);
                /* A name with a slash would be a path, not a controller:
                 * cgroup_parse_controllers refuses it later anyway. */
                if (!strchr(name, '/') && cgroup_is_cgroup1(dir))
                        list_add(in_v1, sizeof(in_v1), p, n);
                else if (!in_u)
                        list_add(not_anywhere, sizeof(not_anywhere), p, n);
                p += n;
        }

        if (u2 && !missing_in_u[0]) {
                snprintf(why, why_size, "%s is cgroup2 with %s", unified,
                         uctl && uctl[0] ? uctl : "no controllers");
                be = &cgroup_v2_backend;
                pick_root = unified;
        } else if (in_v1[0]) {
                if (u2)
                        snprintf(why, why_size, "%s is cgroup2 but has %s%s; %s %s v1 controllers",
                                 unified, uctl && uctl[0] ? "only " : "no controllers",
                                 uctl && uctl[0] ? uctl : "", in_v1,
                                 strchr(in_v1, ',') ? "are" : "is");
                else
                        snprintf(why, why_size, "no cgroup2 at %s or %s; %s %s v1 controllers",
                                 r_root, unified, in_v1, strchr(in_v1, ',') ? "are" : "is");
                be = &cgroup_v1_backend;
                pick_root = r_root;
        } else if (u2) {
                snprintf(why, why_size,
                         "no v1 controllers under %s; %s is cgroup2 (controllers: %s)",
                         r_root, unified, uctl && uctl[0] ? uctl : "none");
                be = &cgroup_v2_backend;
                pick_root = unified;
        } else {
                return quilt_error_set(err, -ENOENT,
                                       "no cgroup hierarchy under %s: it is no cgroup2, %s is "
                                       "no cgroup2 and none of %s is a v1 controller mount",
                                       r_root, unified, wanted_list);
        }
        if (not_anywhere[0]) {
                size_t len = strlen(why);
                snprintf(why + len, why_size - len, "; not available: %s", not_anywhere);
        }
        return pick(be, pick_root, ret_be, ret_root, err);
}
