/* SPDX-License-Identifier: MIT */
/* The container registry and the API operations on it (see manager.h). */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "container.h"
#include "events.h"
#include "exec_path.h"
#include "images.h"
#include "manager.h"
#include "monitor_protocol.h"
#include "server.h"
#include "state_file.h"
#include "util.h"
#include "volumes.h"
#include "network_request.h"
#include "plugin_chain.h"
#include "workload_request.h"

/* How long a stop waits for the monitor after SIGKILL before giving up. */
#define KILL_GRACE_NS (30LL * 1000000000)

bool quilt_manager_wait(struct quilt_manager *m, int64_t deadline_ns)
{
        if (deadline_ns == 0) {
                pthread_cond_wait(&m->changed, &m->lock);
                return true;
        }
        struct timespec ts = { .tv_sec = deadline_ns / 1000000000, .tv_nsec = deadline_ns % 1000000000 };
        return pthread_cond_timedwait(&m->changed, &m->lock, &ts) == 0;
}

static void record_free(struct quilt_container_record *c)
{
        if (!c)
                return;
        free(c->name);
        free(c->image);
        free(c->profile);
        free(c->hostname);
        free(c->dir);
        free(c->reply);
        quilt_strv_free(c->command);
        quilt_strv_free(c->volumes);
        quilt_mounts_free(c->mounts, c->n_mounts);
        quilt_ports_free(c->ports, c->n_ports);
        free(c->network);
        free(c->user);
        free(c);
}

/* Call with the lock held. */
static void record_unref_locked(struct quilt_container_record *c)
{
        if (c && --c->refs == 0)
                record_free(c);
}

void quilt_container_unref(struct quilt_container_record *c)
{
        if (!c)
                return;
        struct quilt_manager *m = c->manager;
        pthread_mutex_lock(&m->lock);
        record_unref_locked(c);
        pthread_mutex_unlock(&m->lock);
}

/* Resolve a full id, a name, or a unique id prefix.  Lock held; the
 * result carries a reference. */
int quilt_manager_lookup_locked(struct quilt_manager *m, const char *ref,
                            struct quilt_container_record **ret, struct quilt_status *st)
{
        if (!ref || !*ref)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT, "container_id: must not be empty");
        struct quilt_container_record *found = NULL;
        size_t len = strlen(ref), matches = 0;
        for (struct quilt_container_record *c = m->containers; c; c = c->next) {
                if (c->removing)
                        continue;
                if (!strcmp(c->id, ref) || (*c->name && !strcmp(c->name, ref))) {
                        found = c;
                        matches = 1;
                        break;
                }
                if (len < QUILT_ID_LEN && !strncmp(c->id, ref, len)) {
                        found = c;
                        matches++;
                }
        }
        if (matches == 0)
                return quilt_status_set(st, QUILT_NOT_FOUND, "no such container: %s", ref);
        if (matches > 1)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "container id prefix '%s' matches %zu containers; give more of the id",
                                        ref, matches);
        found->refs++;
        *ret = found;
        return 0;
}

/* ---- status messages ---- */

void quilt_status_response_free(Quilt__V1__ContainerStatusResponse *r)
{
        if (!r)
                return;
        free(r->container_id);
        free(r->name);
        free(r->error_message);
        free(r->image);
        free(r->profile);
        free(r->hostname);
        free(r->resources);
        quilt_strv_free(r->command);
        quilt_mounts_free(r->mounts, r->n_mounts);
        quilt_ports_free(r->ports, r->n_ports);
        free(r->network);
        free(r->ip_address);
        free(r->user);
        free(r);
}

void quilt_list_response_free(Quilt__V1__ListContainersResponse *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->n_containers; i++)
                quilt_status_response_free(r->containers[i]);
        free(r->containers);
        free(r);
}

/* protobuf-c's repeated strings are counted, not NULL-terminated. */
static char **strv_copy(char *const *v)
{
        return quilt_strv_copy_n(v, quilt_strv_length(v));
}

static Quilt__V1__Resources *resources_message(const struct quilt_resources *res)
{
        Quilt__V1__Resources *m = malloc(sizeof(*m));
        if (!m)
                return NULL;
        quilt__v1__resources__init(m);
        m->memory_limit_bytes = res->memory_limit_bytes;
        m->memory_swap_limit_bytes = res->memory_swap_limit_bytes;
        m->cpu_millicores = res->cpu_millicores;
        m->cpu_weight = res->cpu_weight;
        m->pids_limit = res->pids_limit;
        return m;
}

static void resources_from_message(struct quilt_resources *res, const Quilt__V1__Resources *m)
{
        *res = (struct quilt_resources){ .struct_size = sizeof(*res) };
        if (!m)
                return;
        res->memory_limit_bytes = m->memory_limit_bytes;
        res->memory_swap_limit_bytes = m->memory_swap_limit_bytes;
        res->cpu_millicores = m->cpu_millicores;
        res->cpu_weight = m->cpu_weight;
        res->pids_limit = m->pids_limit;
}

/* Lock held. */
static Quilt__V1__ContainerStatusResponse *status_response(const struct quilt_container_record *c)
{
        Quilt__V1__ContainerStatusResponse *r = malloc(sizeof(*r));
        if (!r)
                return NULL;
        quilt__v1__container_status_response__init(r);
        r->container_id = strdup(c->id);
        r->name = strdup(c->name);
        r->state = (Quilt__V1__ContainerState)c->state;
        r->exit_code = c->exit_code;
        r->exit_signal = c->exit_signal;
        r->pid = quilt_state_has_process(c->state) ? c->pid : 0;
        r->error_message = strdup(c->error);
        r->created_at_ns = c->created_ns;
        r->started_at_ns = c->started_ns;
        r->finished_at_ns = c->finished_ns;
        r->image = strdup(c->image);
        r->profile = strdup(c->profile);
        r->hostname = strdup(c->hostname);
        r->command = strv_copy(c->command);
        r->n_command = quilt_strv_length(c->command);
        r->oom_killed = c->oom_killed;
        r->resources = resources_message(&c->resources);
        r->setup_command = c->state == QUILT_STATE_SETUP ? c->setup_command : 0;
        r->setup_commands = c->n_setup_commands;
        r->init = c->init;
        r->read_only_rootfs = c->read_only_rootfs;
        r->ready = c->state == QUILT_STATE_RUNNING && (!c->has_readiness_probe || c->ready);
        r->user = strdup(c->user);
        r->mounts = quilt_mounts_copy(c->mounts, c->n_mounts);
        r->n_mounts = r->mounts ? c->n_mounts : 0;
        r->network = strdup(c->network);
        r->ip_address = strdup(c->ip_address);
        r->ports = quilt_ports_copy(c->ports, c->n_ports);
        r->n_ports = r->ports ? c->n_ports : 0;
        if (!r->container_id || !r->name || !r->error_message || !r->image || !r->profile ||
            !r->hostname || !r->command || !r->resources || !r->user || !r->mounts ||
            !r->network || !r->ip_address || !r->ports) {
                quilt_status_response_free(r);
                return NULL;
        }
        return r;
}

Quilt__V1__ContainerStatusResponse *quilt_container_status_locked(const struct quilt_container_record *c)
{
        return status_response(c);
}

int quilt_manager_status(struct quilt_manager *m, const char *ref,
                         Quilt__V1__ContainerStatusResponse **ret, struct quilt_status *st)
{
        struct quilt_container_record *c;
        pthread_mutex_lock(&m->lock);
        int r = quilt_manager_lookup_locked(m, ref, &c, st);
        if (r == 0) {
                *ret = status_response(c);
                record_unref_locked(c);
                if (!*ret)
                        r = quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        }
        pthread_mutex_unlock(&m->lock);
        return r;
}

int quilt_manager_list(struct quilt_manager *m, Quilt__V1__ListContainersResponse **ret,
                       struct quilt_status *st)
{
        Quilt__V1__ListContainersResponse *list = malloc(sizeof(*list));
        if (!list)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        quilt__v1__list_containers_response__init(list);
        pthread_mutex_lock(&m->lock);
        size_t n = 0;
        for (struct quilt_container_record *c = m->containers; c; c = c->next)
                n += !c->removing;
        list->containers = calloc(n ? n : 1, sizeof(*list->containers));
        bool ok = list->containers != NULL;
        for (struct quilt_container_record *c = m->containers; c && ok; c = c->next) {
                if (c->removing)
                        continue;
                Quilt__V1__ContainerStatusResponse *s = status_response(c);
                if (!s)
                        ok = false;
                else
                        list->containers[list->n_containers++] = s;
        }
        pthread_mutex_unlock(&m->lock);
        if (!ok) {
                quilt_list_response_free(list);
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        }
        *ret = list;
        return 0;
}

/* ---- create ---- */

#define KIB 1024LL
#define EIB (1LL << 60)

/* Limits a kernel can take; `current` is what a running container has
 * (NULL at create), for the memory/swap pair. */
static int validate_resources(const Quilt__V1__Resources *r, const struct quilt_resources *current,
                              struct quilt_status *st)
{
        if (!r)
                return 0;
        const struct { const char *name; int64_t value, min, max; } fields[] = {
                { "memory_limit_bytes", r->memory_limit_bytes, 4 * KIB, EIB },
                { "memory_swap_limit_bytes", r->memory_swap_limit_bytes, 4 * KIB, EIB },
                /* cgroup v2 takes a quota of at least 1 ms per 100 ms. */
                { "cpu_millicores", r->cpu_millicores, 10, 1024 * 1000 },
                { "cpu_weight", r->cpu_weight, 1, 10000 },
                { "pids_limit", r->pids_limit, 1, 4194304 },
        };
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                int64_t v = fields[i].value;
                if (v == 0)
                        continue;
                if (v < 0)
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "resources.%s: %lld is negative (0 means not set)",
                                                fields[i].name, (long long)v);
                if (v < fields[i].min || v > fields[i].max)
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "resources.%s: %lld is out of range (%lld to %lld)",
                                                fields[i].name, (long long)v,
                                                (long long)fields[i].min, (long long)fields[i].max);
        }
        int64_t memory = r->memory_limit_bytes ? r->memory_limit_bytes
                                               : current ? current->memory_limit_bytes : 0;
        if (r->memory_swap_limit_bytes) {
                if (!memory)
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "resources.memory_swap_limit_bytes: needs memory_limit_bytes (it is memory + swap)");
                if (r->memory_swap_limit_bytes < memory)
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "resources.memory_swap_limit_bytes: %lld is below memory_limit_bytes %lld (it is memory + swap)",
                                                (long long)r->memory_swap_limit_bytes, (long long)memory);
        }
        return 0;
}

static bool resources_set(const Quilt__V1__Resources *r)
{
        return r && (r->memory_limit_bytes || r->memory_swap_limit_bytes || r->cpu_millicores ||
                     r->cpu_weight || r->pids_limit);
}

/* What the chain's plugins would refuse only in the monitor (a profile
 * file they cannot read, say), refused now instead. */
static int check_with_plugins(struct quilt_manager *m, const Quilt__V1__CreateContainerRequest *req,
                              const struct quilt_profile *profile, struct quilt_status *st)
{
        static char *const none[] = { NULL };
        const struct quilt_container c = {
                .struct_size = sizeof(c),
                .cgroup_fd = -1,
                .name = req->name,
                .image = req->image,
                .hostname = req->hostname,
                .working_directory = req->working_directory,
                .argv = none,
                .envp = none,
                .setup_commands = none,
                .cap_add = none,
                .cap_drop = none,
                .read_only_rootfs = req->read_only_rootfs,
                .capabilities = ~UINT64_C(0),
                .seccomp_profile = req->seccomp_profile,
                .network = quilt_network_resolve(req->network, profile),
        };
        struct quilt_error err = {};
        int r = quilt_plugin_chain_check_request(m->plugins, profile, &c, &err);
        if (r >= 0)
                return 0;
        return quilt_status_set(st, r == -ENOENT ? QUILT_NOT_FOUND
                                    : r == -EPERM || r == -EACCES ? QUILT_PERMISSION_DENIED
                                                                  : QUILT_INVALID_ARGUMENT,
                                "%s", err.message);
}

static int validate_request(struct quilt_manager *m, const Quilt__V1__CreateContainerRequest *req,
                            struct quilt_status *st)
{
        /* A stored image may supply a default command: checked once its
         * config is read (quilt_manager_create). */
        if (req->n_command == 0 && (!req->image[0] || req->image[0] == '/'))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT, "command: must not be empty");
        if (req->n_command > 0 && !req->command[0][0])
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "command: the program (command[0]) must not be empty");
        if (!req->image[0])
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "image: must name a rootfs tarball by its absolute path, "
                                        "or a stored image by digest or tag");
        /* Anything but a path names a stored image: the caller resolves it. */
        struct stat sb;
        if (req->image[0] == '/' && stat(req->image, &sb) < 0)
                return quilt_status_set(st, errno == ENOENT ? QUILT_NOT_FOUND : QUILT_INVALID_ARGUMENT,
                                        "image: %s: %s", req->image, strerror(errno));
        if (req->image[0] == '/' && !S_ISREG(sb.st_mode))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "image: %s is not a regular file (a rootfs tarball)", req->image);
        for (size_t i = 0; i < req->n_environment; i++) {
                const char *k = req->environment[i]->key;
                if (!quilt_env_key_is_valid(k))
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "environment: key '%s' is not valid: it must be non-empty, without '=' or control characters",
                                                k);
        }
        if (req->working_directory[0] && req->working_directory[0] != '/')
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "working_directory: '%s' is not an absolute path",
                                        req->working_directory);
        if (req->hostname[0] && !quilt_hostname_is_valid(req->hostname))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "hostname: '%s' is not a valid host name", req->hostname);
        if (req->name[0] && !quilt_name_is_valid(req->name))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "name: '%s' is not valid: use [A-Za-z0-9][A-Za-z0-9_.-]*, at most %d characters",
                                        req->name, QUILT_NAME_MAX);
        const struct quilt_profile *profile = quilt_config_profile(m->cfg, req->profile);
        if (!profile)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "profile: '%s' is not configured", req->profile);
        if (validate_resources(req->resources, NULL, st) < 0)
                return -1;
        if (resources_set(req->resources) && !profile->resource_control)
                return quilt_status_set(st, QUILT_FAILED_PRECONDITION,
                                        "resources: the %s%s%s chain has no resource-control plugin to apply them (add cgroup to its chain)",
                                        *req->profile ? "'" : "default", req->profile,
                                        *req->profile ? "'" : "");
        if (quilt_network_validate(req, profile, st) < 0 || quilt_workload_validate(req, profile, st) < 0)
                return -1;
        return check_with_plugins(m, req, profile, st);
}

static int env_entry_compare(const void *a, const void *b)
{
        const Quilt__V1__CreateContainerRequest__EnvironmentEntry *const *x = a, *const *y = b;
        return strcmp((*x)->key, (*y)->key);
}

/* The spec the monitor runs: the request with defaults filled in. */
static int write_spec(const struct quilt_container_record *c,
                      const Quilt__V1__CreateContainerRequest *req)
{
        Quilt__V1__CreateContainerRequest spec = *req;
        size_t n = req->n_environment;
        bool has_path = false, has_home = false;
        for (size_t i = 0; i < n; i++) {
                has_path |= !strcmp(req->environment[i]->key, "PATH");
                has_home |= !strcmp(req->environment[i]->key, "HOME");
        }
        Quilt__V1__CreateContainerRequest__EnvironmentEntry defaults[3], *env[n + 3];
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                env[k++] = req->environment[i];
        const char *extra[][2] = { { "PATH", has_path ? NULL : QUILT_DEFAULT_PATH },
                                   /* With a user, the monitor takes HOME from its passwd entry. */
                                   { "HOME", has_home || *req->user ? NULL : "/root" },
                                   { "HOSTNAME", c->hostname } };
        size_t d = 0;
        for (size_t i = 0; i < ELEMENTSOF(extra); i++) {
                if (!extra[i][1])
                        continue;
                bool present = false;
                for (size_t j = 0; j < n; j++)
                        present |= !strcmp(req->environment[j]->key, extra[i][0]);
                if (present)
                        continue;
                quilt__v1__create_container_request__environment_entry__init(&defaults[d]);
                defaults[d].key = (char *)extra[i][0];
                defaults[d].value = (char *)extra[i][1];
                env[k++] = &defaults[d++];
        }
        qsort(env, k, sizeof(env[0]), env_entry_compare);
        spec.environment = env;
        spec.n_environment = k;
        spec.hostname = c->hostname;
        spec.working_directory = req->working_directory[0] ? req->working_directory : "/";
        spec.init = c->init;
        spec.no_init = !c->init;
        spec.network = c->network;

        size_t len = quilt__v1__create_container_request__get_packed_size(&spec);
        _cleanup_free_ uint8_t *buf = malloc(len ? len : 1);
        if (!buf)
                return -ENOMEM;
        quilt__v1__create_container_request__pack(&spec, buf);
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/" QUILT_SPEC_FILE, c->dir) < 0)
                return -ENOMEM;
        return quilt_write_file_atomic(path, buf, len, 0600);
}

static int prepare_dir(const struct quilt_container_record *c,
                       const Quilt__V1__CreateContainerRequest *req, struct quilt_error *err)
{
        if (mkdir(c->dir, 0700) < 0)
                return quilt_error_set(err, -errno, "mkdir %s: %m", c->dir);
        int r = write_spec(c, req);
        if (r < 0)
                return quilt_error_set(err, r, "writing %s/" QUILT_SPEC_FILE ": %s", c->dir, strerror(-r));
        struct quilt_run_state rs = { .state = QUILT_STATE_PENDING, .created_ns = c->created_ns };
        if ((r = quilt_run_state_write(c->dir, &rs)) < 0)
                return quilt_error_set(err, r, "writing %s/state: %s", c->dir, strerror(-r));
        /* Exists from the start, so a log reader never races the monitor. */
        _cleanup_free_ char *log = NULL;
        if (asprintf(&log, "%s/" QUILT_LOG_FILE, c->dir) < 0)
                return -ENOMEM;
        _cleanup_close_ int fd = open(log, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
                return quilt_error_set(err, -errno, "creating %s: %m", log);
        return 0;
}

static struct quilt_container_record *record_new(struct quilt_manager *m,
                                                 const Quilt__V1__CreateContainerRequest *req)
{
        struct quilt_container_record *c = calloc(1, sizeof(*c));
        if (!c)
                return NULL;
        c->manager = m;
        c->refs = 1;
        c->control_fd = -1;
        c->state = QUILT_STATE_PENDING;
        c->created_ns = quilt_now_ns();
        if (quilt_id_generate(c->id) < 0)
                goto fail;
        c->name = strdup(req->name);
        c->image = strdup(req->image);
        c->profile = strdup(req->profile);
        c->hostname = strndup(req->hostname[0] ? req->hostname : c->id,
                              req->hostname[0] ? strlen(req->hostname) : QUILT_SHORT_ID_LEN);
        c->command = quilt_strv_copy_n(req->command, req->n_command);
        resources_from_message(&c->resources, req->resources);
        c->volumes = quilt_workload_volumes(req);
        c->mounts = quilt_mounts_copy(req->mounts, req->n_mounts);
        c->n_mounts = req->n_mounts;
        c->user = strdup(req->user);
        c->init = quilt_workload_init(req, m->cfg);
        c->read_only_rootfs = req->read_only_rootfs;
        c->n_setup_commands = (uint32_t)req->n_setup_commands;
        c->has_readiness_probe = req->n_readiness_probe > 0;
        /* A spec read back at restart has the mode resolved already. */
        c->network = strdup(quilt_network_resolve(req->network, quilt_config_profile(m->cfg, req->profile)));
        c->ports = quilt_ports_copy(req->ports, req->n_ports);
        c->n_ports = req->n_ports;
        if (asprintf(&c->dir, "%s/%s", m->containers_dir, c->id) < 0)
                c->dir = NULL;
        if (!c->name || !c->image || !c->profile || !c->hostname || !c->command || !c->dir ||
            !c->volumes || !c->mounts || !c->user || !c->network || !c->ports)
                goto fail;
        return c;
fail:
        record_free(c);
        return NULL;
}

/* ---- a stored image's config defaults ---- */

/* What an OCI or docker image's config gives a container that leaves the
 * field empty: STORE/sha256/HEX/config (plugins/rootfs/oci_import.h),
 * "KEY\tVALUE" lines with \\ \n \t \r escaped.  An image from a
 * rootfs tarball has none. */
struct image_defaults {
        char **argv;                    /* Entrypoint, then Cmd */
        size_t n_argv;
        Quilt__V1__CreateContainerRequest__EnvironmentEntry *env_entries;
        Quilt__V1__CreateContainerRequest__EnvironmentEntry **env;
        size_t n_env;
        char *text;                     /* the file, unescaped in place */
};

static void image_defaults_done(struct image_defaults *d)
{
        free(d->argv);
        free(d->env_entries);
        free(d->env);
        free(d->text);
}

static void unescape(char *s)
{
        char *w = s;
        for (char *r = s; *r; r++) {
                if (*r == '\\' && r[1]) {
                        r++;
                        *w++ = *r == 'n' ? '\n' : *r == 't' ? '\t' : *r == 'r' ? '\r' : *r;
                } else
                        *w++ = *r;
        }
        *w = '\0';
}

/* Fill `req` (a copy of the request naming the stored image `digest`)
 * from the image config: command (Entrypoint + Cmd) when the request has
 * none, the image's Env under the request's (the request wins), and
 * WorkingDir and User when the request has none.  `d` owns what req then points to. */
static int apply_image_defaults(struct quilt_manager *m, const char *digest,
                                Quilt__V1__CreateContainerRequest *req, struct image_defaults *d,
                                struct quilt_status *st)
{
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/images/sha256/%s/config", m->cfg->state_dir,
                     digest + strlen("sha256:")) < 0)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        size_t len = 0;
        int r = quilt_read_file(path, 1024 * 1024, &d->text, &len);
        if (r < 0 && r != -ENOENT)
                return quilt_status_set(st, QUILT_INTERNAL, "image %s: reading its config: %s", digest,
                                        strerror(-r));
        size_t lines = 0;
        for (size_t i = 0; d->text && i < len; i++)
                lines += d->text[i] == '\n';
        char **entry = calloc(lines + 1, sizeof(char *)), **cmd = calloc(lines + 1, sizeof(char *));
        char **env = calloc(lines + 1, sizeof(char *));
        d->argv = calloc(lines + 1, sizeof(char *));
        d->env_entries = calloc(lines + 1, sizeof(*d->env_entries));
        d->env = calloc(req->n_environment + lines + 1, sizeof(*d->env));
        size_t n_entry = 0, n_cmd = 0, n_env = 0;
        const char *workdir = NULL, *user = NULL;
        if (!entry || !cmd || !env || !d->argv || !d->env_entries || !d->env) {
                free(entry);
                free(cmd);
                free(env);
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        }
        char *save = NULL;
        for (char *l = d->text ? strtok_r(d->text, "\n", &save) : NULL; l;
             l = strtok_r(NULL, "\n", &save)) {
                char *tab = strchr(l, '\t');
                if (!tab)
                        continue;
                *tab = '\0';
                char *v = tab + 1;
                unescape(v);
                if (!strcmp(l, "Entrypoint"))
                        entry[n_entry++] = v;
                else if (!strcmp(l, "Cmd"))
                        cmd[n_cmd++] = v;
                else if (!strcmp(l, "Env"))
                        env[n_env++] = v;
                else if (!strcmp(l, "WorkingDir"))
                        workdir = v;
                else if (!strcmp(l, "User"))
                        user = v;
        }
        if (req->n_command == 0) {
                for (size_t i = 0; i < n_entry; i++)
                        d->argv[d->n_argv++] = entry[i];
                for (size_t i = 0; i < n_cmd; i++)
                        d->argv[d->n_argv++] = cmd[i];
                if (d->n_argv == 0 || !d->argv[0][0]) {
                        free(entry);
                        free(cmd);
                        free(env);
                        return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                                "command: empty, and the image has no default");
                }
                req->command = d->argv;
                req->n_command = d->n_argv;
        }
        for (size_t i = 0; i < req->n_environment; i++)
                d->env[d->n_env++] = req->environment[i];
        size_t k = 0;
        for (size_t i = 0; i < n_env; i++) {
                char *eq = strchr(env[i], '=');
                if (!eq)
                        continue;
                *eq = '\0';
                bool taken = !quilt_env_key_is_valid(env[i]);
                for (size_t j = 0; j < d->n_env && !taken; j++)
                        taken = !strcmp(d->env[j]->key, env[i]);
                if (taken)
                        continue;
                quilt__v1__create_container_request__environment_entry__init(&d->env_entries[k]);
                d->env_entries[k].key = env[i];
                d->env_entries[k].value = eq + 1;
                d->env[d->n_env++] = &d->env_entries[k++];
        }
        req->environment = d->env;
        req->n_environment = d->n_env;
        if (!req->working_directory[0] && workdir && workdir[0] == '/')
                req->working_directory = (char *)workdir;
        if (!req->user[0] && user && user[0])
                req->user = (char *)user;
        free(entry);
        free(cmd);
        free(env);
        return 0;
}

static int create(struct quilt_manager *m, const Quilt__V1__CreateContainerRequest *req,
                  char **ret_id, struct quilt_status *st, bool *images_locked);

/* A stored image (digest, prefix or tag) is resolved to "sha256:HEX",
 * which the record, the spec and so the rootfs plugin get: a tag may move
 * later, the container keeps its image.  The images lock is held from
 * the resolution until the container is registered, so RemoveImage
 * counts it. */
int quilt_manager_create(struct quilt_manager *m, const Quilt__V1__CreateContainerRequest *req,
                         char **ret_id, struct quilt_status *st)
{
        if (validate_request(m, req, st) < 0)
                return -1;
        if (req->image[0] == '/') {
                bool locked = false;
                return create(m, req, ret_id, st, &locked);
        }
        quilt_images_read_lock(m);
        bool locked = true;
        char digest[QUILT_IMAGE_DIGEST_SIZE];
        int r = quilt_images_resolve(m, req->image, digest, st);
        if (r == 0) {
                Quilt__V1__CreateContainerRequest resolved = *req;
                resolved.image = digest;
                struct image_defaults d = { 0 };
                r = apply_image_defaults(m, digest, &resolved, &d, st);
                if (r == 0)
                        r = create(m, &resolved, ret_id, st, &locked);
                image_defaults_done(&d);
        }
        if (locked)
                quilt_images_unlock(m);
        return r;
}

static int create(struct quilt_manager *m, const Quilt__V1__CreateContainerRequest *req,
                  char **ret_id, struct quilt_status *st, bool *images_locked)
{
        struct quilt_container_record *c = record_new(m, req);
        if (!c)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");

        /* Register first so a concurrent create with the same name loses. */
        pthread_mutex_lock(&m->lock);
        if (*c->name)
                for (struct quilt_container_record *o = m->containers; o; o = o->next)
                        if (!o->removing && !strcmp(o->name, c->name)) {
                                pthread_mutex_unlock(&m->lock);
                                quilt_status_set(st, QUILT_ALREADY_EXISTS,
                                                 "name: '%s' is already used by container %.12s",
                                                 c->name, o->id);
                                record_free(c);
                                return -1;
                        }
        /* Under the same lock as RemoveVolume's in-use check: a volume
         * this container mounts cannot go away in between. */
        for (char **v = c->volumes; *v; v++) {
                _cleanup_free_ char *path = NULL;
                if (quilt_volume_path(m, *v, &path, st) < 0) {
                        pthread_mutex_unlock(&m->lock);
                        record_free(c);
                        return -1;
                }
        }
        struct quilt_container_record **tail = &m->containers;
        while (*tail)
                tail = &(*tail)->next;
        *tail = c;
        c->refs++;                      /* ours, until the monitor runs */
        /* Under the lock, before the monitor runs: "created" comes first. */
        quilt_events_emit(m->events, "created", c->id, c->name, "image", c->image,
                          "command", QUILT_EVENT_ARGV(c->command, SIZE_MAX), NULL);
        pthread_mutex_unlock(&m->lock);
        if (*images_locked) {
                quilt_images_unlock(m);  /* registered: RemoveImage sees it now */
                *images_locked = false;
        }

        struct quilt_error err = { 0 };
        int r = prepare_dir(c, req, &err);
        if (r >= 0)
                r = quilt_supervisor_start(m, c, &err);
        if (r < 0) {
                quilt_remove_tree(c->dir, NULL);
                pthread_mutex_lock(&m->lock);
                for (struct quilt_container_record **p = &m->containers; *p; p = &(*p)->next)
                        if (*p == c) {
                                *p = c->next;
                                break;
                        }
                quilt_events_emit(m->events, "removed", c->id, c->name, "error", err.message, NULL);
                record_unref_locked(c); /* the registry's */
                pthread_mutex_unlock(&m->lock);
                quilt_status_set(st, QUILT_INTERNAL, "creating the container: %s", err.message);
                quilt_container_unref(c);
                return -1;
        }
        *ret_id = strdup(c->id);
        quilt_container_unref(c);
        if (!*ret_id)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        return 0;
}

/* ---- stats and update ---- */

#define REQUEST_TIMEOUT_MS 10000

static Quilt__V1__ContainerStatsResponse *stats_message(const char *id, const struct quilt_stats *s,
                                                        int64_t ts)
{
        Quilt__V1__ContainerStatsResponse *r = malloc(sizeof(*r));
        if (!r)
                return NULL;
        quilt__v1__container_stats_response__init(r);
        if (!(r->container_id = strdup(id))) {
                free(r);
                return NULL;
        }
        r->memory_current_bytes = s->memory_current_bytes;
        r->memory_peak_bytes = s->memory_peak_bytes;
        r->cpu_usage_ns = s->cpu_usage_ns;
        r->pids_current = s->pids_current;
        r->oom_kill_count = s->oom_kill_count;
        r->timestamp_ns = ts;
        return r;
}

void quilt_stats_response_free(Quilt__V1__ContainerStatsResponse *r)
{
        if (!r)
                return;
        free(r->container_id);
        free(r);
}

/* Lock held: the live figures from the monitor, or the last ones it
 * recorded when the container has ended. */
static int read_stats_locked(struct quilt_manager *m, struct quilt_container_record *c,
                             struct quilt_stats *ret, int64_t *ret_ts, struct quilt_status *st)
{
        *ret = (struct quilt_stats){ .memory_current_bytes = -1, .memory_peak_bytes = -1,
                                     .cpu_usage_ns = -1, .pids_current = -1, .oom_kill_count = -1 };
        *ret_ts = quilt_now_ns();
        if (quilt_state_has_process(c->state) && !c->monitor_done) {
                _cleanup_free_ char *reply = NULL;
                int r = quilt_supervisor_request(m, c, "stats", NULL, REQUEST_TIMEOUT_MS, &reply);
                if (r == 0 && !strncmp(reply, "ok ", 3)) {
                        long long v[5];
                        if (sscanf(reply + 3, "%lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3],
                                   &v[4]) == 5) {
                                *ret = (struct quilt_stats){ .memory_current_bytes = v[0],
                                                             .memory_peak_bytes = v[1],
                                                             .cpu_usage_ns = v[2],
                                                             .pids_current = v[3],
                                                             .oom_kill_count = v[4] };
                                return 0;
                        }
                }
                if (r == 0)
                        return quilt_status_set(st, QUILT_INTERNAL, "stats of container %.12s: %s",
                                                c->id, !strncmp(reply, "error ", 6) ? reply + 6 : reply);
                if (r != -ESRCH)
                        return quilt_status_set(st, QUILT_UNAVAILABLE,
                                                "stats of container %.12s: its monitor did not answer: %s",
                                                c->id, strerror(-r));
                /* The monitor just went away: it recorded the final figures. */
        }
        struct quilt_run_state rs;
        if (quilt_run_state_read(c->dir, &rs) == 0) {
                if (rs.stats_ns > 0) {
                        *ret = rs.stats;
                        *ret_ts = rs.stats_ns;
                }
                quilt_run_state_done(&rs);
        }
        return 0;
}

int quilt_manager_stats(struct quilt_manager *m, const char *ref,
                        Quilt__V1__ContainerStatsResponse **ret, struct quilt_status *st)
{
        struct quilt_container_record *c;
        pthread_mutex_lock(&m->lock);
        int r = quilt_manager_lookup_locked(m, ref, &c, st);
        if (r == 0) {
                struct quilt_stats s;
                int64_t ts;
                r = read_stats_locked(m, c, &s, &ts, st);
                if (r == 0 && !(*ret = stats_message(c->id, &s, ts)))
                        r = quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
                record_unref_locked(c);
        }
        pthread_mutex_unlock(&m->lock);
        return r;
}

int quilt_manager_update(struct quilt_manager *m, const char *ref, const Quilt__V1__Resources *res,
                         Quilt__V1__ContainerStatusResponse **ret, struct quilt_status *st)
{
        if (!resources_set(res))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "resources: set at least one limit to change");
        struct quilt_container_record *c;
        pthread_mutex_lock(&m->lock);
        int r = quilt_manager_lookup_locked(m, ref, &c, st);
        if (r < 0) {
                pthread_mutex_unlock(&m->lock);
                return r;
        }
        const struct quilt_profile *profile = quilt_config_profile(m->cfg, c->profile);
        if (validate_resources(res, &c->resources, st) < 0) {
                r = -1;
        } else if (!profile || !profile->resource_control) {
                r = quilt_status_set(st, QUILT_FAILED_PRECONDITION,
                                     "container %.12s runs a chain without a resource-control plugin",
                                     c->id);
        } else if (!quilt_state_has_process(c->state) || c->monitor_done) {
                r = quilt_status_set(st, QUILT_FAILED_PRECONDITION,
                                     "container %.12s is %s: only a running container can be updated",
                                     c->id, quilt_state_name(c->state));
        } else {
                char args[160];
                snprintf(args, sizeof(args), "%lld %lld %lld %lld %lld",
                         (long long)res->memory_limit_bytes, (long long)res->memory_swap_limit_bytes,
                         (long long)res->cpu_millicores, (long long)res->cpu_weight,
                         (long long)res->pids_limit);
                _cleanup_free_ char *reply = NULL;
                int q = quilt_supervisor_request(m, c, "update", args, REQUEST_TIMEOUT_MS, &reply);
                if (q == -ESRCH)
                        r = quilt_status_set(st, QUILT_FAILED_PRECONDITION,
                                             "container %.12s exited before the update", c->id);
                else if (q < 0)
                        r = quilt_status_set(st, QUILT_UNAVAILABLE,
                                             "updating container %.12s: its monitor did not answer: %s",
                                             c->id, strerror(-q));
                else if (strcmp(reply, "ok") != 0)
                        r = quilt_status_set(st, QUILT_FAILED_PRECONDITION, "updating container %.12s: %s",
                                             c->id, !strncmp(reply, "error ", 6) ? reply + 6 : reply);
                else {
                        struct quilt_resources n;
                        resources_from_message(&n, res);
                        int64_t *dst[] = { &c->resources.memory_limit_bytes,
                                           &c->resources.memory_swap_limit_bytes,
                                           &c->resources.cpu_millicores, &c->resources.cpu_weight,
                                           &c->resources.pids_limit };
                        const int64_t src[] = { n.memory_limit_bytes, n.memory_swap_limit_bytes,
                                                n.cpu_millicores, n.cpu_weight, n.pids_limit };
                        for (size_t i = 0; i < ELEMENTSOF(src); i++)
                                if (src[i])
                                        *dst[i] = src[i];
                        if (ret && !(*ret = status_response(c)))
                                r = quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
                }
        }
        record_unref_locked(c);
        pthread_mutex_unlock(&m->lock);
        return r;
}

int quilt_manager_subscribe_events(struct quilt_manager *m, const struct quilt_event_filter *filter,
                                   int64_t since_ns, struct quilt_event_sub **ret,
                                   struct quilt_status *st)
{
        if (since_ns < 0)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "since_ns: must not be negative (0: only new events)");
        if (quilt_events_subscribe(m->events, filter, since_ns, ret) < 0)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        return 0;
}

/* ---- stop and remove ---- */

/* Lock held.  Returns when the container is terminal, or false when
 * even SIGKILL did not end it in time. */
static bool stop_locked(struct quilt_manager *m, struct quilt_container_record *c, int timeout_seconds)
{
        if (quilt_state_is_terminal(c->state))
                return true;
        if (timeout_seconds >= 0) {
                quilt_supervisor_signal(c, SIGTERM);
                int64_t deadline = quilt_monotonic_ns() + (int64_t)timeout_seconds * 1000000000;
                while (!quilt_state_is_terminal(c->state) && !c->monitor_done)
                        if (!quilt_manager_wait(m, deadline))
                                break;
        }
        if (!quilt_state_is_terminal(c->state)) {
                quilt_supervisor_signal(c, SIGKILL);
                int64_t deadline = quilt_monotonic_ns() + KILL_GRACE_NS;
                while (!quilt_state_is_terminal(c->state) && !c->monitor_done)
                        if (!quilt_manager_wait(m, deadline))
                                break;
        }
        return quilt_state_is_terminal(c->state);
}

int quilt_manager_stop(struct quilt_manager *m, const char *ref, int timeout_seconds,
                       Quilt__V1__ContainerStatusResponse **ret, struct quilt_status *st)
{
        struct quilt_container_record *c;
        pthread_mutex_lock(&m->lock);
        int r = quilt_manager_lookup_locked(m, ref, &c, st);
        if (r < 0) {
                pthread_mutex_unlock(&m->lock);
                return r;
        }
        if (timeout_seconds == 0)
                timeout_seconds = (int)m->cfg->stop_timeout_seconds;
        bool was_live = !quilt_state_is_terminal(c->state);
        if (!stop_locked(m, c, timeout_seconds)) {
                r = quilt_status_set(st, QUILT_DEADLINE_EXCEEDED,
                                     "container %.12s did not exit after SIGKILL", c->id);
        } else if (ret && !(*ret = status_response(c))) {
                r = quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        }
        /* Only when this stop ended it; "killed": it ended by SIGKILL. */
        if (was_live && quilt_state_is_terminal(c->state))
                quilt_events_emit(m->events, "stopped", c->id, c->name,
                                  "timeout_seconds", QUILT_EVENT_INT(timeout_seconds),
                                  "killed", QUILT_EVENT_BOOL(c->exit_signal == SIGKILL), NULL);
        record_unref_locked(c);
        pthread_mutex_unlock(&m->lock);
        return r;
}

static void unlink_record_locked(struct quilt_manager *m, struct quilt_container_record *c)
{
        for (struct quilt_container_record **p = &m->containers; *p; p = &(*p)->next)
                if (*p == c) {
                        *p = c->next;
                        record_unref_locked(c);
                        return;
                }
}

int quilt_manager_remove(struct quilt_manager *m, const char *ref, bool force, char **ret_id,
                         struct quilt_status *st)
{
        struct quilt_container_record *c;
        pthread_mutex_lock(&m->lock);
        if (quilt_manager_lookup_locked(m, ref, &c, st) < 0) {
                pthread_mutex_unlock(&m->lock);
                return -1;
        }
        if (!quilt_state_is_terminal(c->state) && !force) {
                quilt_status_set(st, QUILT_FAILED_PRECONDITION,
                                 "container %.12s is %s: stop it first, or remove with force",
                                 c->id, quilt_state_name(c->state));
                goto fail_locked;
        }
        if (!stop_locked(m, c, -1)) {
                quilt_status_set(st, QUILT_DEADLINE_EXCEEDED,
                                 "container %.12s did not exit after SIGKILL", c->id);
                goto fail_locked;
        }
        /* The monitor records the exit last: wait until it is gone, then
         * run the plugins' cleanup in a monitor of its own. */
        while (!c->monitor_done && c->monitor_pid > 0)
                quilt_manager_wait(m, 0);
        if (c->removing) {
                quilt_status_set(st, QUILT_NOT_FOUND, "no such container: %s", ref);
                goto fail_locked;
        }
        c->removing = true;
        bool cleaned = c->cleaned;
        pthread_mutex_unlock(&m->lock);

        quilt_supervisor_release(c);
        struct quilt_error err = { 0 };
        int r = 0;
        if (!cleaned)
                r = quilt_supervisor_cleanup(m, c, &err);
        if (r >= 0)
                r = quilt_remove_tree(c->dir, &err);

        pthread_mutex_lock(&m->lock);
        if (r < 0) {
                c->removing = false;
                quilt_status_set(st, QUILT_INTERNAL, "removing container %.12s: %s", c->id, err.message);
                goto fail_locked;
        }
        unlink_record_locked(m, c);
        quilt_events_emit(m->events, "removed", c->id, c->name, NULL);
        *ret_id = strdup(c->id);
        record_unref_locked(c);
        pthread_mutex_unlock(&m->lock);
        return *ret_id ? 0 : quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");

fail_locked:
        record_unref_locked(c);
        pthread_mutex_unlock(&m->lock);
        return -1;
}

/* ---- start-up and shutdown ---- */

/* A monitor an earlier quiltd started (it died without stopping its
 * containers).  The pid may have been reused since: act only when the
 * process still is quilt-monitor for this very container.  Killing it
 * kills the container too (PR_SET_PDEATHSIG), so nothing runs
 * unsupervised.  Returns true when it was running and is gone now. */
static bool stop_orphaned_monitor(pid_t pid, const char *id)
{
        if (pid <= 0)
                return false;
        /* Pin the process first, then check what it is: a pid reused after
         * the check could otherwise be signalled. */
        _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
                return false;
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        _cleanup_free_ char *cmdline = NULL;
        size_t len;
        if (quilt_read_file(path, 64 * 1024, &cmdline, &len) < 0)
                return false;
        bool ours = false, is_monitor = len > 0 && strstr(cmdline, "quilt-monitor") != NULL;
        for (size_t i = 0; i + 1 < len; i++)
                if (cmdline[i] == '\0' && !strcmp(cmdline + i + 1, id))
                        ours = true;
        if (!is_monitor || !ours)
                return false;
        if (syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) < 0)
                return false;
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        poll(&p, 1, 5000);
        return true;
}

/* Containers left by an earlier quiltd: their logs and state stay
 * readable and removable.  Re-attaching to a live monitor comes later;
 * one still running is reported FAILED (it is not supervised by us). */
static void recover_containers(struct quilt_manager *m)
{
        DIR *d = opendir(m->containers_dir);
        if (!d)
                return;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (!quilt_id_is_valid(de->d_name))
                        continue;
                _cleanup_free_ char *dir = NULL, *spec_path = NULL, *data = NULL;
                if (asprintf(&dir, "%s/%s", m->containers_dir, de->d_name) < 0 ||
                    asprintf(&spec_path, "%s/" QUILT_SPEC_FILE, dir) < 0)
                        break;
                struct quilt_run_state rs;
                size_t len;
                if (quilt_read_file(spec_path, 64 * 1024 * 1024, &data, &len) < 0 ||
                    quilt_run_state_read(dir, &rs) < 0)
                        continue;
                quilt_run_state_done(&rs);      /* the cleanup monitor reads it itself */
                Quilt__V1__CreateContainerRequest *spec =
                        quilt__v1__create_container_request__unpack(NULL, len, (uint8_t *)data);
                if (!spec)
                        continue;
                struct quilt_container_record *c = record_new(m, spec);
                quilt__v1__create_container_request__free_unpacked(spec, NULL);
                if (!c)
                        continue;
                memcpy(c->id, de->d_name, sizeof(c->id));
                free(c->dir);
                c->dir = TAKE_PTR(dir);
                c->created_ns = rs.created_ns;
                c->state = rs.state;
                c->exit_code = rs.exit_code;
                c->exit_signal = rs.exit_signal;
                c->started_ns = rs.started_ns;
                c->finished_ns = rs.finished_ns;
                c->cleaned = rs.cleaned;
                c->oom_killed = rs.oom_killed;
                c->setup_command = rs.setup_command;
                c->ready = rs.ready;
                snprintf(c->ip_address, sizeof(c->ip_address), "%s", rs.ip_address);
                c->monitor_done = true;
                snprintf(c->error, sizeof(c->error), "%s", rs.error);
                if (!quilt_state_is_terminal(c->state)) {
                        bool stopped = stop_orphaned_monitor(rs.monitor_pid, c->id);
                        c->state = QUILT_STATE_FAILED;
                        c->finished_ns = quilt_now_ns();
                        snprintf(c->error, sizeof(c->error),
                                 "quiltd restarted while the container ran; %s",
                                 stopped ? "it was stopped (re-attaching comes later)"
                                         : "its monitor was gone");
                }
                struct quilt_container_record **tail = &m->containers;
                while (*tail)
                        tail = &(*tail)->next;
                *tail = c;
        }
        closedir(d);
}

int quilt_manager_new(const struct quilt_config *cfg, const struct quilt_plugin_chain *plugins,
                      const char *config_path, struct quilt_manager **ret, struct quilt_status *st)
{
        struct quilt_manager *m = calloc(1, sizeof(*m));
        if (!m)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        if (quilt_events_new(0, &m->events) < 0) {
                free(m);
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        }
        m->cfg = cfg;
        m->plugins = plugins;
        pthread_mutex_init(&m->lock, NULL);
        pthread_rwlock_init(&m->images_lock, NULL);
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&m->changed, &attr);
        pthread_condattr_destroy(&attr);

        m->config_path = realpath(config_path, NULL);
        if (!m->config_path) {
                quilt_status_set(st, QUILT_INVALID_ARGUMENT, "config %s: %s", config_path, strerror(errno));
                quilt_manager_free(m);
                return -1;
        }
        if (asprintf(&m->containers_dir, "%s/containers", cfg->state_dir) < 0) {
                m->containers_dir = NULL;
                quilt_manager_free(m);
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        }
        if (mkdir(m->containers_dir, 0700) < 0 && errno != EEXIST) {
                quilt_status_set(st, QUILT_INTERNAL, "mkdir %s: %s", m->containers_dir, strerror(errno));
                quilt_manager_free(m);
                return -1;
        }
        if (quilt_volumes_init(m, st) < 0) {
                quilt_manager_free(m);
                return -1;
        }
        recover_containers(m);
        *ret = m;
        return 0;
}

void quilt_manager_free(struct quilt_manager *m)
{
        if (!m)
                return;
        pthread_mutex_lock(&m->lock);
        for (struct quilt_container_record *c = m->containers; c; c = c->next)
                if (!quilt_state_is_terminal(c->state))
                        quilt_supervisor_signal(c, SIGKILL);
        /* Let every monitor finish its cleanup, so nothing is left mounted. */
        int64_t deadline = quilt_monotonic_ns() + KILL_GRACE_NS;
        for (struct quilt_container_record *c = m->containers; c; c = c->next)
                while (!c->monitor_done && c->monitor_pid > 0)
                        if (!quilt_manager_wait(m, deadline))
                                break;
        struct quilt_container_record *list = m->containers;
        m->containers = NULL;
        pthread_mutex_unlock(&m->lock);

        while (list) {
                struct quilt_container_record *next = list->next;
                if (list->monitor_done)
                        quilt_supervisor_release(list);
                else
                        fprintf(stderr, "quiltd: container %.12s: monitor still running at exit\n",
                                list->id);
                pthread_mutex_lock(&m->lock);
                record_unref_locked(list);
                pthread_mutex_unlock(&m->lock);
                list = next;
        }
        pthread_cond_destroy(&m->changed);
        pthread_mutex_destroy(&m->lock);
        pthread_rwlock_destroy(&m->images_lock);
        quilt_events_free(m->events);
        free(m->config_path);
        free(m->containers_dir);
        free(m);
}
