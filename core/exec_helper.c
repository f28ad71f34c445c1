/* SPDX-License-Identifier: MIT */
/* Finding quilt-exec and building its command line. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "exec_helper.h"
#include "rlimits.h"
#include "util.h"

char *quilt_exec_helper_default_path(void)
{
        return quilt_sibling_path(QUILT_EXEC_HELPER_NAME, QUILT_EXEC_PATH_DEFAULT);
}

/* Append a formatted string to v (sized by the caller); false when out of
 * memory, v stays NULL-terminated either way. */
__attribute__((format(printf, 3, 4)))
static bool push(char **v, size_t *k, const char *fmt, ...)
{
        va_list ap;
        char *s = NULL;

        va_start(ap, fmt);
        int n = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (n < 0)
                return false;
        v[(*k)++] = s;
        return true;
}

static void limit_text(char *buf, size_t size, rlim_t v)
{
        if (v == RLIM_INFINITY)
                snprintf(buf, size, "unlimited");
        else
                snprintf(buf, size, "%" PRIu64, (uint64_t)v);
}

/* "G1,G2,..." ("" for none). */
static char *groups_text(const gid_t *groups, size_t n)
{
        char *s = calloc(n * 11 + 1, 1);        /* up to 10 digits and a comma each */
        if (!s)
                return NULL;
        size_t len = 0;
        for (size_t i = 0; i < n; i++)
                len += (size_t)sprintf(s + len, "%s%u", i ? "," : "", (unsigned)groups[i]);
        return s;
}

char **quilt_exec_helper_argv(pid_t pid, const char *cwd, const struct quilt_process_settings *ps,
                              int error_fd, char *const *argv)
{
        return quilt_exec_helper_argv_confined(pid, cwd, ps, ~UINT64_C(0), false, -1, error_fd, argv);
}

char **quilt_exec_helper_argv_confined(pid_t pid, const char *cwd,
                                       const struct quilt_process_settings *ps, uint64_t caps,
                                       bool no_new_privs, int seccomp_fd, int error_fd,
                                       char *const *argv)
{
        size_t n = quilt_strv_length(argv);
        size_t n_limits = ps ? ps->n_rlimits : 0;
        /* name, pid, cwd, uid, gid, groups, limits, caps, nnp, seccomp, error fd, "--", argv, NULL */
        _cleanup_strv_free_ char **v = calloc(1 + 2 + 2 + 6 + 2 * n_limits + 4 + 2 + 2 + 1 + n + 1,
                                              sizeof(char *));
        if (!v)
                return NULL;
        size_t k = 0;
        if (!push(v, &k, "%s", QUILT_EXEC_HELPER_NAME) || !push(v, &k, "--pid") ||
            !push(v, &k, "%d", (int)pid))
                return NULL;
        if (cwd && (!push(v, &k, "--cwd") || !push(v, &k, "%s", cwd)))
                return NULL;
        if (ps) {
                _cleanup_free_ char *groups = groups_text(ps->groups, ps->n_groups);
                if (!groups || !push(v, &k, "--uid") || !push(v, &k, "%u", (unsigned)ps->uid) ||
                    !push(v, &k, "--gid") || !push(v, &k, "%u", (unsigned)ps->gid) ||
                    !push(v, &k, "--groups") || !push(v, &k, "%s", groups))
                        return NULL;
                for (size_t i = 0; i < ps->n_rlimits; i++) {
                        char soft[32], hard[32];
                        limit_text(soft, sizeof(soft), ps->rlimits[i].limit.rlim_cur);
                        limit_text(hard, sizeof(hard), ps->rlimits[i].limit.rlim_max);
                        if (!push(v, &k, "--rlimit") ||
                            !push(v, &k, "%s=%s:%s", quilt_rlimit_name(ps->rlimits[i].resource),
                                  soft, hard))
                                return NULL;
                }
        }
        if (caps != ~UINT64_C(0) &&
            (!push(v, &k, "--caps") || !push(v, &k, "%llx", (unsigned long long)caps)))
                return NULL;
        if (no_new_privs && (!push(v, &k, "--no-new-privs") || !push(v, &k, "1")))
                return NULL;
        if (seccomp_fd >= 0 && (!push(v, &k, "--seccomp-fd") || !push(v, &k, "%d", seccomp_fd)))
                return NULL;
        if (error_fd >= 0 && (!push(v, &k, "--error-fd") || !push(v, &k, "%d", error_fd)))
                return NULL;
        if (!push(v, &k, "--"))
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!push(v, &k, "%s", argv[i]))
                        return NULL;
        return TAKE_PTR(v);
}
