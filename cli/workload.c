/* SPDX-License-Identifier: MIT */
/* create and run: the workload options (workload.h). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"
#include "workload.h"

int quilt_cli_workload_init(struct quilt_cli_workload *w, int argc)
{
        size_t n = argc > 0 ? (size_t)argc : 1;

        *w = (struct quilt_cli_workload) {};
        w->setup = calloc(n, sizeof(*w->setup));
        w->groups = calloc(n, sizeof(*w->groups));
        w->mounts = calloc(n, sizeof(*w->mounts));
        w->rlimits = calloc(n, sizeof(*w->rlimits));
        w->cap_add = calloc(n, sizeof(*w->cap_add));
        w->cap_drop = calloc(n, sizeof(*w->cap_drop));
        w->ports = calloc(n, sizeof(*w->ports));
        if (!w->setup || !w->groups || !w->mounts || !w->rlimits || !w->cap_add || !w->cap_drop ||
            !w->ports) {
                quilt_cli_workload_free(w);
                return -ENOMEM;
        }
        return 0;
}

void quilt_cli_workload_free(struct quilt_cli_workload *w)
{
        for (size_t i = 0; w->mounts && i < w->n_mounts; i++)
                quilt_mount_spec_clear(&w->mounts[i]);
        for (size_t i = 0; w->rlimits && i < w->n_rlimits; i++)
                quilt_cli_rlimit_clear(&w->rlimits[i]);
        free(w->setup);
        free(w->groups);
        free(w->cap_add);
        free(w->cap_drop);
        free(w->mounts);
        free(w->rlimits);
        free(w->mount_msgs);
        free(w->mount_ptrs);
        free(w->rlimit_msgs);
        free(w->rlimit_ptrs);
        free(w->ports);
        free(w->port_msgs);
        free(w->port_ptrs);
        *w = (struct quilt_cli_workload) {};
}

/* A parser's failure as a usage error naming the option. */
static int spec_failed(const struct quilt_cli_command *cmd, const char *flag, const char *arg, int r,
                       char *error)
{
        if (r == -ENOMEM || !error) {
                fprintf(stderr, "quilt-cli: out of memory\n");
                return QUILT_CLI_EXIT_FAILURE;
        }
        r = quilt_cli_usage_error(cmd, "%s '%s': %s", flag, arg, error);
        free(error);
        return r;
}

int quilt_cli_workload_option(const struct quilt_cli_command *cmd, int c, const char *arg,
                              struct quilt_cli_workload *w)
{
        const char *error = NULL;
        char *message = NULL;
        int64_t v;
        int r;

        switch (c) {
        case QUILT_CLI_OPT_SETUP:
                if (!arg[0])
                        return quilt_cli_usage_error(cmd, "--setup needs a command");
                w->setup[w->n_setup++] = arg;
                return -1;
        case QUILT_CLI_OPT_SETUP_TIMEOUT:
                if (quilt_parse_int_range(arg, 1, INT32_MAX, &v, &error) < 0)
                        return quilt_cli_usage_error(cmd, "--setup-timeout: '%s' is not a number of seconds "
                                                     "between 1 and %d", arg, INT32_MAX);
                w->setup_timeout = (int32_t)v;
                return -1;
        case QUILT_CLI_OPT_READY_PROBE:
                if (!arg[0])
                        return quilt_cli_usage_error(cmd, "--ready-probe needs a command");
                w->ready_probe = arg;
                return -1;
        case QUILT_CLI_OPT_READY_INTERVAL:
                if (quilt_parse_int_range(arg, 1, INT32_MAX, &v, &error) < 0)
                        return quilt_cli_usage_error(cmd, "--ready-interval: '%s' is not a number of "
                                                     "milliseconds between 1 and %d", arg, INT32_MAX);
                w->ready_interval_ms = (int32_t)v;
                return -1;
        case QUILT_CLI_OPT_CAP_ADD:
        case QUILT_CLI_OPT_CAP_DROP:
                if (!arg[0] || strpbrk(arg, " ,\t"))
                        return quilt_cli_usage_error(cmd, "--%s: '%s' is not one capability name",
                                                     c == QUILT_CLI_OPT_CAP_ADD ? "cap-add" : "cap-drop", arg);
                if (c == QUILT_CLI_OPT_CAP_ADD)
                        w->cap_add[w->n_cap_add++] = arg;
                else
                        w->cap_drop[w->n_cap_drop++] = arg;
                return -1;
        case QUILT_CLI_OPT_SECCOMP_PROFILE:
                if (!arg[0])
                        return quilt_cli_usage_error(cmd, "--seccomp-profile needs a name or a path");
                w->seccomp_profile = arg;
                return -1;
        case QUILT_CLI_OPT_NETWORK:
                if (strcmp(arg, "none") && strcmp(arg, "loopback") && strcmp(arg, "bridge"))
                        return quilt_cli_usage_error(cmd, "--network: '%s' is not none, loopback or bridge",
                                                     arg);
                w->network = arg;
                return -1;
        case QUILT_CLI_OPT_PUBLISH: {
                const char *why = NULL;
                if (quilt_parse_port_option(arg, &w->ports[w->n_ports], &why) < 0)
                        return quilt_cli_usage_error(cmd, "-p '%s': %s", arg, why);
                w->n_ports++;
                return -1;
        }
        case QUILT_CLI_OPT_INIT:
                w->init = true;
                return -1;
        case QUILT_CLI_OPT_NO_INIT:
                w->no_init = true;
                return -1;
        case QUILT_CLI_OPT_VOLUME:
                r = quilt_parse_volume_option(arg, &w->mounts[w->n_mounts], &message);
                if (r < 0)
                        return spec_failed(cmd, "-v", arg, r, message);
                w->n_mounts++;
                return -1;
        case QUILT_CLI_OPT_MOUNT:
                r = quilt_parse_mount_option(arg, &w->mounts[w->n_mounts], &message);
                if (r < 0)
                        return spec_failed(cmd, "--mount", arg, r, message);
                w->n_mounts++;
                return -1;
        case QUILT_CLI_OPT_TMPFS:
                r = quilt_parse_tmpfs_option(arg, &w->mounts[w->n_mounts], &message);
                if (r < 0)
                        return spec_failed(cmd, "--tmpfs", arg, r, message);
                w->n_mounts++;
                return -1;
        case QUILT_CLI_OPT_USER:
                if (!quilt_cli_user_spec_valid(arg))
                        return quilt_cli_usage_error(cmd, "--user: '%s' is not USER[:GROUP]", arg);
                w->user = arg;
                return -1;
        case QUILT_CLI_OPT_GROUP_ADD:
                if (!arg[0] || strchr(arg, ':') || strchr(arg, ','))
                        return quilt_cli_usage_error(cmd, "--group-add: '%s' is not one group name or gid", arg);
                w->groups[w->n_groups++] = arg;
                return -1;
        case QUILT_CLI_OPT_READ_ONLY:
                w->read_only = true;
                return -1;
        case QUILT_CLI_OPT_ULIMIT:
                r = quilt_parse_ulimit_option(arg, &w->rlimits[w->n_rlimits], &message);
                if (r < 0)
                        return spec_failed(cmd, "--ulimit", arg, r, message);
                w->n_rlimits++;
                return -1;
        }
        return quilt_cli_usage_error(cmd, "internal error: option %d is not a workload option", c);
}

int quilt_cli_workload_check(const struct quilt_cli_command *cmd, const struct quilt_cli_workload *w)
{
        if (w->init && w->no_init)
                return quilt_cli_usage_error(cmd, "--init and --no-init contradict each other");
        if (w->setup_timeout && !w->n_setup)
                return quilt_cli_usage_error(cmd, "--setup-timeout only goes with --setup");
        if (w->ready_interval_ms && !w->ready_probe)
                return quilt_cli_usage_error(cmd, "--ready-interval only goes with --ready-probe");
        for (size_t i = 0; i < w->n_mounts; i++)
                for (size_t k = 0; k < i; k++)
                        if (!strcmp(w->mounts[i].target, w->mounts[k].target))
                                return quilt_cli_usage_error(cmd, "two mounts on %s", w->mounts[i].target);
        /* The same limit twice: the last would silently win on the daemon
         * or be refused there; say it here. */
        for (size_t i = 0; i < w->n_rlimits; i++)
                for (size_t k = 0; k < i; k++)
                        if (!strcmp(w->rlimits[i].type, w->rlimits[k].type))
                                return quilt_cli_usage_error(cmd, "--ulimit %s is given twice", w->rlimits[i].type);
        for (size_t i = 0; i < w->n_ports; i++)
                for (size_t k = 0; k < i; k++)
                        if (w->ports[i].host_port == w->ports[k].host_port &&
                            !strcmp(w->ports[i].protocol, w->ports[k].protocol))
                                return quilt_cli_usage_error(cmd, "-p: host port %u/%s is published twice",
                                                             w->ports[i].host_port, w->ports[i].protocol);
        return -1;
}

int quilt_cli_workload_apply(struct quilt_cli_workload *w, Quilt__V1__CreateContainerRequest *req)
{
        if (w->n_mounts) {
                w->mount_msgs = calloc(w->n_mounts, sizeof(*w->mount_msgs));
                w->mount_ptrs = calloc(w->n_mounts, sizeof(*w->mount_ptrs));
                if (!w->mount_msgs || !w->mount_ptrs)
                        return -ENOMEM;
                for (size_t i = 0; i < w->n_mounts; i++) {
                        const struct quilt_mount_spec *s = &w->mounts[i];
                        Quilt__V1__Mount *m = &w->mount_msgs[i];
                        *m = (Quilt__V1__Mount) QUILT__V1__MOUNT__INIT;
                        /* protobuf-c's fields are not const; packing only reads them. */
                        m->type = (char *)s->type;
                        if (s->source)
                                m->source = s->source;
                        m->target = s->target;
                        m->read_only = s->read_only;
                        m->size_bytes = s->size_bytes;
                        m->mode = s->mode;
                        w->mount_ptrs[i] = m;
                }
                req->mounts = w->mount_ptrs;
                req->n_mounts = w->n_mounts;
        }
        if (w->n_rlimits) {
                w->rlimit_msgs = calloc(w->n_rlimits, sizeof(*w->rlimit_msgs));
                w->rlimit_ptrs = calloc(w->n_rlimits, sizeof(*w->rlimit_ptrs));
                if (!w->rlimit_msgs || !w->rlimit_ptrs)
                        return -ENOMEM;
                for (size_t i = 0; i < w->n_rlimits; i++) {
                        Quilt__V1__Rlimit *r = &w->rlimit_msgs[i];
                        *r = (Quilt__V1__Rlimit) QUILT__V1__RLIMIT__INIT;
                        r->type = w->rlimits[i].type;
                        r->soft = w->rlimits[i].soft;
                        r->hard = w->rlimits[i].hard;
                        w->rlimit_ptrs[i] = r;
                }
                req->rlimits = w->rlimit_ptrs;
                req->n_rlimits = w->n_rlimits;
        }
        req->setup_commands = (char **)w->setup;
        req->n_setup_commands = w->n_setup;
        req->setup_timeout_seconds = w->setup_timeout;
        req->init = w->init;
        req->no_init = w->no_init;
        if (w->user)
                req->user = (char *)w->user;
        req->supplementary_groups = (char **)w->groups;
        req->n_supplementary_groups = w->n_groups;
        req->read_only_rootfs = w->read_only;
        if (w->ready_probe) {
                w->probe_argv[0] = "/bin/sh";
                w->probe_argv[1] = "-c";
                w->probe_argv[2] = w->ready_probe;
                req->readiness_probe = (char **)w->probe_argv;
                req->n_readiness_probe = 3;
        }
        req->readiness_interval_ms = w->ready_interval_ms;
        req->cap_add = (char **)w->cap_add;
        req->n_cap_add = w->n_cap_add;
        req->cap_drop = (char **)w->cap_drop;
        req->n_cap_drop = w->n_cap_drop;
        if (w->seccomp_profile)
                req->seccomp_profile = (char *)w->seccomp_profile;
        if (w->network)
                req->network = (char *)w->network;
        if (w->n_ports) {
                w->port_msgs = calloc(w->n_ports, sizeof(*w->port_msgs));
                w->port_ptrs = calloc(w->n_ports, sizeof(*w->port_ptrs));
                if (!w->port_msgs || !w->port_ptrs)
                        return -ENOMEM;
                for (size_t i = 0; i < w->n_ports; i++) {
                        Quilt__V1__PortMapping *p = &w->port_msgs[i];
                        *p = (Quilt__V1__PortMapping) QUILT__V1__PORT_MAPPING__INIT;
                        p->host_port = w->ports[i].host_port;
                        p->container_port = w->ports[i].container_port;
                        p->protocol = (char *)w->ports[i].protocol;
                        w->port_ptrs[i] = p;
                }
                req->ports = w->port_ptrs;
                req->n_ports = w->n_ports;
        }
        return 0;
}
