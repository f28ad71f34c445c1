/* SPDX-License-Identifier: MIT */
/* What both backends share: the controller list, the parent cgroup's path
 * (own cgroup from /proc/self/cgroup), the limits after defaults and their
 * checks, and signalling / draining the pids of a cgroup. */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cgroup_backend.h"
#include "cgroup_fs.h"

struct cgroup_state *cgroup_state_new(const struct quilt_host *host, const char *log_name)
{
        struct cgroup_state *s = calloc(1, sizeof(*s));

        if (!s)
                return NULL;
        s->host = host;
        s->log_name = log_name;
        s->cfg.root = "";
        s->cfg.parent = "";
        s->cfg.controllers = "";
        s->proc_self_cgroup = "/proc/self/cgroup";
        s->drain_timeout_ms = CGROUP_DRAIN_TIMEOUT_MS;
        s->freeze_timeout_ms = CGROUP_FREEZE_TIMEOUT_MS;
        s->cgroup_fd = -1;
        return s;
}

void cgroup_state_free(struct cgroup_state *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n_hier; i++) {
                free(s->hier[i].mount);
                free(s->hier[i].parent);
                free(s->hier[i].enable_from);
        }
        for (size_t i = 0; i < s->n_controllers; i++)
                free(s->controllers[i]);
        free(s->root);
        if (s->cgroup_fd >= 0)
                close(s->cgroup_fd);
        free(s);
}

static bool valid_controller_name(const char *p, size_t n)
{
        if (n == 0 || n > 32)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!islower((unsigned char)p[i]) && !isdigit((unsigned char)p[i]) && p[i] != '_')
                        return false;
        return true;
}

static int add_controller(struct cgroup_state *s, const char *name, size_t n,
                          struct quilt_error *err)
{
        for (size_t i = 0; i < s->n_controllers; i++)
                if (strlen(s->controllers[i]) == n && strncmp(s->controllers[i], name, n) == 0)
                        return 0;
        /* The name becomes a path component (ROOT/NAME on v1): only plain
         * words, never a slash or a dot. */
        if (!valid_controller_name(name, n))
                return quilt_error_set(err, -EINVAL, "controllers: '%.*s' is not a controller name",
                                       (int)n, name);
        if (s->n_controllers >= CGROUP_MAX_CONTROLLERS)
                return quilt_error_set(err, -EINVAL, "controllers: more than %d names",
                                       CGROUP_MAX_CONTROLLERS);
        s->controllers[s->n_controllers] = strndup(name, n);
        if (!s->controllers[s->n_controllers])
                return quilt_error_set(err, -ENOMEM, "out of memory");
        s->n_controllers++;
        return 0;
}

int cgroup_parse_controllers(struct cgroup_state *s, const char *list, const char *const *defaults,
                             struct quilt_error *err)
{
        int r;

        for (const char *p = list ? list : ""; *p;) {
                p += strspn(p, " \t,");
                size_t n = strcspn(p, " \t,");
                if (n == 0)
                        break;
                r = add_controller(s, p, n, err);
                if (r < 0)
                        return r;
                p += n;
        }
        s->explicit_controllers = s->n_controllers > 0;
        if (s->explicit_controllers)
                return 0;
        for (size_t i = 0; defaults && defaults[i]; i++) {
                r = add_controller(s, defaults[i], strlen(defaults[i]), err);
                if (r < 0)
                        return r;
        }
        return 0;
}

bool cgroup_has_controller(const struct cgroup_state *s, const char *name)
{
        for (size_t i = 0; i < s->n_controllers; i++)
                if (strcmp(s->controllers[i], name) == 0)
                        return true;
        return false;
}

void cgroup_drop_controller(struct cgroup_state *s, size_t i)
{
        if (i >= s->n_controllers)
                return;
        free(s->controllers[i]);
        memmove(&s->controllers[i], &s->controllers[i + 1],
                (s->n_controllers - i - 1) * sizeof(s->controllers[0]));
        s->n_controllers--;
}

struct cgroup_hier *cgroup_hier_for(struct cgroup_state *s, const char *controller)
{
        for (size_t i = 0; i < s->n_hier; i++)
                for (size_t j = 0; j < s->hier[i].n_controllers; j++)
                        if (strcmp(s->hier[i].controllers[j], controller) == 0)
                                return &s->hier[i];
        return NULL;
}

/* One line of /proc/self/cgroup is "ID:CONTROLLERS:PATH"; the cgroup2 line
 * is "0::PATH".  The path may itself hold colons: split at the first two. */
int cgroup_self_path(const struct cgroup_state *s, const char *controller, char **ret,
                     struct quilt_error *err)
{
        _cleanup_free_ char *text = NULL;
        int r = cg_read_err(s->proc_self_cgroup, &text, err);

        if (r < 0)
                return r;
        for (char *line = text; line && *line;) {
                char *next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                char *c1 = strchr(line, ':');
                char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (c2) {
                        *c1 = '\0';
                        *c2 = '\0';
                        const char *ctrls = c1 + 1, *path = c2 + 1;
                        bool match = controller ? cg_word_in(ctrls, controller)
                                                : strcmp(line, "0") == 0 && !*ctrls;
                        if (match && path[0] == '/') {
                                *ret = strdup(path);
                                if (!*ret)
                                        return quilt_error_set(err, -ENOMEM, "out of memory");
                                return 0;
                        }
                }
                line = next;
        }
        return quilt_error_set(err, -ENOENT, "%s has no line for the %s hierarchy",
                               s->proc_self_cgroup, controller ? controller : "cgroup2");
}

/* No "." or ".." component: the parent must stay inside the hierarchy. */
static bool path_is_tame(const char *p)
{
        for (;;) {
                p += strspn(p, "/");
                size_t n = strcspn(p, "/");
                if (n == 0)
                        return true;
                if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p += n;
        }
}

int cgroup_resolve_parent(struct cgroup_state *s, struct cgroup_hier *h, const char *controller,
                          bool skip_daemon_leaf, struct quilt_error *err)
{
        const char *parent = s->cfg.parent ? s->cfg.parent : "";
        _cleanup_free_ char *own = NULL, *base = NULL;
        int r;

        if (!path_is_tame(parent))
                return quilt_error_set(err, -EINVAL, "parent: '%s' has a . or .. component",
                                       parent);
        if (parent[0] == '/') {
                if (cg_join(&h->parent, h->mount, parent) < 0 ||
                    !(h->enable_from = strdup(h->mount)))
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                return 0;
        }

        r = cgroup_self_path(s, controller, &own, err);
        if (r < 0)
                return r;
        /* On v2 quiltd lives in the leaf <own>/quiltd (daemon_start put it
         * there), and so do the monitors it forks: their base is one up. */
        if (skip_daemon_leaf) {
                char *slash = strrchr(own, '/');
                if (slash && strcmp(slash + 1, CGROUP_DAEMON_LEAF) == 0) {
                        if (slash == own)
                                own[1] = '\0';         /* "/quiltd": the base is "/" */
                        else
                                *slash = '\0';
                }
        }
        if (cg_join(&base, h->mount, own) < 0 ||
            cg_join(&h->parent, base, parent[0] ? parent : CGROUP_PARENT_NAME) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        h->enable_from = TAKE_PTR(base);
        return 0;
}

/* A field past r->struct_size is absent (an older core): not set. */
static int take(const struct quilt_resources *r, size_t offset, size_t size, const char *name,
                int64_t *ret, struct quilt_error *err)
{
        if (r->struct_size < offset + size) {
                *ret = 0;
                return 0;
        }
        int64_t v = *(const int64_t *)((const char *)r + offset);
        if (v < 0)
                return quilt_error_set(err, -EINVAL, "%s: %lld is negative", name, (long long)v);
        *ret = v;
        return 0;
}

static int take_default(uint64_t def, const char *key, int64_t *field, struct quilt_error *err)
{
        if (*field != 0 || def == 0)
                return 0;
        if (def > INT64_MAX)
                return quilt_error_set(err, -ERANGE, "%s: default %llu is too large", key,
                                       (unsigned long long)def);
        *field = (int64_t)def;
        return 0;
}

#define TAKE(r, field, out, err)                                                        \
        take((r), offsetof(struct quilt_resources, field), sizeof((r)->field), #field, \
             (out), (err))

int cgroup_limits_resolve(const struct cgroup_state *s, const struct quilt_resources *r,
                          bool apply_defaults, struct cgroup_limits *ret, struct quilt_error *err)
{
        struct cgroup_limits l = { 0 };
        int e;

        if (r && ((e = TAKE(r, memory_limit_bytes, &l.memory, err)) < 0 ||
                  (e = TAKE(r, memory_swap_limit_bytes, &l.memory_swap, err)) < 0 ||
                  (e = TAKE(r, cpu_millicores, &l.cpu_millicores, err)) < 0 ||
                  (e = TAKE(r, cpu_weight, &l.cpu_weight, err)) < 0 ||
                  (e = TAKE(r, pids_limit, &l.pids, err)) < 0))
                return e;
        if (apply_defaults &&
            ((e = take_default(s->cfg.memory_limit, "memory_limit", &l.memory, err)) < 0 ||
             (e = take_default(s->cfg.cpu_millicores, "cpu_millicores", &l.cpu_millicores,
                               err)) < 0 ||
             (e = take_default(s->cfg.pids_limit, "pids_limit", &l.pids, err)) < 0))
                return e;

        if (l.cpu_weight != 0 && l.cpu_weight > 10000)
                return quilt_error_set(err, -EINVAL, "cpu_weight: %lld is outside 1..10000",
                                       (long long)l.cpu_weight);
        if (l.cpu_millicores != 0) {
                if (l.cpu_millicores > INT64_MAX / 100)
                        return quilt_error_set(err, -EINVAL, "cpu_millicores: %lld is too large",
                                               (long long)l.cpu_millicores);
                /* Said here, in words, instead of the kernel's bare EINVAL. */
                if (l.cpu_millicores * 100 < CGROUP_CPU_QUOTA_MIN_US)
                        return quilt_error_set(err, -EINVAL,
                                               "cpu_millicores: %lld is below %d (the kernel's "
                                               "smallest quota, %d us per %d us)",
                                               (long long)l.cpu_millicores,
                                               CGROUP_CPU_QUOTA_MIN_US / 100,
                                               CGROUP_CPU_QUOTA_MIN_US, CGROUP_CPU_PERIOD_US);
        }
        if (l.memory_swap != 0) {
                /* Docker's sense: the total of memory and swap, so it needs
                 * the memory limit it includes.  An update may leave memory
                 * out: the backend then compares with the live limit. */
                if (l.memory == 0 && apply_defaults)
                        return quilt_error_set(err, -EINVAL,
                                               "memory_swap_limit_bytes needs memory_limit_bytes "
                                               "(it is memory and swap together)");
                if (l.memory != 0 && l.memory_swap < l.memory)
                        return quilt_error_set(err, -EINVAL,
                                               "memory_swap_limit_bytes (%lld) is below "
                                               "memory_limit_bytes (%lld): it is memory and "
                                               "swap together",
                                               (long long)l.memory_swap, (long long)l.memory);
        }
        *ret = l;
        return 0;
}

static int need(const struct cgroup_state *s, int64_t value, const char *field,
                const char *controller, struct quilt_error *err)
{
        char in_use[256] = "";
        size_t len = 0;

        if (value == 0 || cgroup_has_controller(s, controller))
                return 0;
        for (size_t i = 0; i < s->n_controllers && len < sizeof(in_use); i++) {
                int n = snprintf(in_use + len, sizeof(in_use) - len, "%s%s", i ? ", " : "",
                                 s->controllers[i]);
                if (n < 0)
                        break;
                len += (size_t)n;
        }
        return quilt_error_set(err, -EOPNOTSUPP,
                               "%s = %lld needs the %s controller, which %s (in use: %s)", field,
                               (long long)value, controller,
                               s->explicit_controllers ? "is not in `controllers`"
                                                       : "this system does not offer",
                               len ? in_use : "none");
}

int cgroup_limits_check_controllers(const struct cgroup_state *s, const struct cgroup_limits *l,
                                    struct quilt_error *err)
{
        int r;

        if ((r = need(s, l->memory, "memory_limit_bytes", "memory", err)) < 0 ||
            (r = need(s, l->memory_swap, "memory_swap_limit_bytes", "memory", err)) < 0 ||
            (r = need(s, l->cpu_millicores, "cpu_millicores", "cpu", err)) < 0 ||
            (r = need(s, l->cpu_weight, "cpu_weight", "cpu", err)) < 0 ||
            (r = need(s, l->pids, "pids_limit", "pids", err)) < 0)
                return r;
        return 0;
}

uint64_t cgroup_weight_to_shares(uint64_t weight)
{
        if (weight < 1)
                weight = 1;
        if (weight > 10000)
                weight = 10000;
        return 2 + ((weight - 1) * 262142) / 9999;
}

int cgroup_check_id(const char *id, struct quilt_error *err)
{
        size_t n = id ? strlen(id) : 0;

        if (n == 0 || n > 255 || id[0] == '.')
                return quilt_error_set(err, -EINVAL, "container id '%s' is not a cgroup name",
                                       id ? id : "");
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char)id[i]) && id[i] != '-' && id[i] != '_' &&
                    id[i] != '.')
                        return quilt_error_set(err, -EINVAL,
                                               "container id '%s' is not a cgroup name", id);
        return 0;
}

int cgroup_container_path(const struct cgroup_hier *h, const char *id, char **ret,
                          struct quilt_error *err)
{
        int r = cgroup_check_id(id, err);

        if (r < 0)
                return r;
        if (cg_join(ret, h->parent, id) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        return 0;
}

int cgroup_signal_procs(const char *dir, int signo, size_t *ret_n, struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t n = 0;
        int r;

        if (cg_join(&path, dir, "cgroup.procs") < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        r = cg_read(path, &text);
        if (r < 0)
                return quilt_error_set(err, r, "reading %s: %s", path, strerror(-r));
        for (char *p = text; *p;) {
                char *end;
                long pid = strtol(p, &end, 10);
                if (end == p)
                        break;
                p = end + strspn(end, "\n ");
                /* Never 0 or negative: kill() would reach a process group. */
                if (pid <= 0)
                        continue;
                n++;
                if (kill((pid_t)pid, signo) < 0 && errno != ESRCH) {
                        r = -errno;
                        return quilt_error_set(err, r, "kill(%ld, %d) (listed in %s): %s", pid,
                                               signo, path, strerror(-r));
                }
        }
        if (ret_n)
                *ret_n = n;
        return 0;
}

int cgroup_wait_empty(const char *dir, uint64_t deadline_ms, struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL;

        if (cg_join(&path, dir, "cgroup.procs") < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        for (;;) {
                _cleanup_free_ char *text = NULL;
                int r = cg_read(path, &text);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return quilt_error_set(err, r, "reading %s: %s", path, strerror(-r));
                if (text[strspn(text, " \n")] == '\0')
                        return 0;
                if (cgroup_now_ms() >= deadline_ms) {
                        text[strcspn(text, "\n")] = '\0';
                        return quilt_error_set(err, -ETIMEDOUT,
                                               "%s still lists processes (first: %s) after "
                                               "SIGKILL",
                                               path, text);
                }
                cgroup_sleep_ms(10);
        }
}

void cgroup_stat_set(int64_t *field, uint64_t value, uint64_t scale)
{
        if (scale == 0 || value > (uint64_t)INT64_MAX / scale)
                *field = INT64_MAX;
        else
                *field = (int64_t)(value * scale);
}

uint64_t cgroup_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void cgroup_sleep_ms(unsigned ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}
