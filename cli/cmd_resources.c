/* SPDX-License-Identifier: MIT */
/* quilt-cli stats and update, and the resource options that create, run
 * and update share. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"
#include "units.h"

static int size_option(const struct quilt_cli_command *cmd, const char *flag, const char *arg,
                       int64_t *ret)
{
        const char *error = NULL;

        if (quilt_parse_size(arg, ret, &error) == 0)
                return -1;
        return quilt_cli_usage_error(cmd, "%s: '%s' %s", flag, arg, error);
}

int quilt_cli_resource_option(const struct quilt_cli_command *cmd, int c, const char *arg,
                              Quilt__V1__Resources *r)
{
        const char *error = NULL;
        int64_t v;

        switch (c) {
        case QUILT_CLI_OPT_MEMORY:
                return size_option(cmd, "--memory", arg, &r->memory_limit_bytes);
        case QUILT_CLI_OPT_MEMORY_SWAP:
                /* Docker's -1 (unlimited swap) has no form on the wire,
                 * where negative values are refused. */
                if (strcmp(arg, "-1") == 0)
                        return quilt_cli_usage_error(cmd, "--memory-swap: -1 (unlimited swap) is not supported; "
                                                     "give memory and swap together as a size");
                return size_option(cmd, "--memory-swap", arg, &r->memory_swap_limit_bytes);
        case QUILT_CLI_OPT_CPUS:
                if (quilt_parse_cpus(arg, &r->cpu_millicores, &error) == 0)
                        return -1;
                return quilt_cli_usage_error(cmd, "--cpus: '%s' %s", arg, error);
        case QUILT_CLI_OPT_CPU_WEIGHT:
                if (quilt_parse_int_range(arg, 1, QUILT_CLI_CPU_WEIGHT_MAX, &r->cpu_weight, &error) == 0)
                        return -1;
                if (error && strcmp(error, "is out of range") == 0)
                        return quilt_cli_usage_error(cmd, "--cpu-weight: '%s' is not between 1 and %d",
                                                     arg, QUILT_CLI_CPU_WEIGHT_MAX);
                return quilt_cli_usage_error(cmd, "--cpu-weight: '%s' %s", arg, error);
        case QUILT_CLI_OPT_PIDS:
                switch (quilt_parse_int_range(arg, 0, INT64_MAX, &v, &error)) {
                case 0:
                        if (v > 0) {
                                r->pids_limit = v;
                                return -1;
                        }
                        return quilt_cli_usage_error(cmd, "--pids: '%s' must be greater than 0", arg);
                case -ERANGE:
                        return quilt_cli_usage_error(cmd, "--pids: '%s' %s", arg,
                                                     arg[0] == '-' ? "must be greater than 0" : "is too large");
                default:
                        return quilt_cli_usage_error(cmd, "--pids: '%s' %s", arg, error);
                }
        }
        return quilt_cli_usage_error(cmd, "internal error: option %d is not a resource option", c);
}

int quilt_cli_resources_check(const struct quilt_cli_command *cmd, const Quilt__V1__Resources *r)
{
        /* As in Docker, --memory-swap is memory and swap together, so it
         * cannot be below --memory.  Alone it is left to the daemon, which
         * knows the limit in force (update) or the chain's default. */
        if (r->memory_limit_bytes > 0 && r->memory_swap_limit_bytes > 0 &&
            r->memory_swap_limit_bytes < r->memory_limit_bytes) {
                char mem[32], swap[32];
                quilt_format_bytes_exact(r->memory_limit_bytes, mem, sizeof(mem));
                quilt_format_bytes_exact(r->memory_swap_limit_bytes, swap, sizeof(swap));
                return quilt_cli_usage_error(cmd, "--memory-swap (%s) is memory and swap together: "
                                             "it cannot be less than --memory (%s)", swap, mem);
        }
        return -1;
}

bool quilt_cli_resources_any(const Quilt__V1__Resources *r)
{
        return r->memory_limit_bytes || r->memory_swap_limit_bytes || r->cpu_millicores ||
               r->cpu_weight || r->pids_limit;
}

/* The limits from the container's status, for stats to show next to the
 * usage; NULL when they cannot be had (no error printed: they are extra). */
static Quilt__V1__ContainerStatusResponse *try_status(const char *id)
{
        Quilt__V1__GetContainerStatusRequest req = QUILT__V1__GET_CONTAINER_STATUS_REQUEST__INIT;
        struct quilt_client_error err = {};
        ProtobufCMessage *resp = NULL;

        req.container_id = (char *)id;
        if (quilt_client_unary(quilt_cli_client(), QUILT_METHOD_GET_CONTAINER_STATUS, &req.base,
                               QUILT_CLI_TIMEOUT_MS, &resp, &err) < 0) {
                quilt_client_error_clear(&err);
                return NULL;
        }
        return (Quilt__V1__ContainerStatusResponse *)resp;
}

static void print_count(const char *key, int64_t v)
{
        if (v < 0)
                printf("%s: -\n", key);
        else
                printf("%s: %lld\n", key, (long long)v);
}

static void print_stats_human(const Quilt__V1__ContainerStatsResponse *s, const Quilt__V1__Resources *limits)
{
        char buf[64];

        printf("id: %s\n", s->container_id);
        quilt_format_bytes(s->memory_current_bytes, buf, sizeof(buf));
        printf("memory: %s\n", buf);
        quilt_format_bytes(s->memory_peak_bytes, buf, sizeof(buf));
        printf("memory_peak: %s\n", buf);
        quilt_format_bytes_exact(limits ? limits->memory_limit_bytes : 0, buf, sizeof(buf));
        printf("memory_limit: %s\n", buf);
        quilt_format_seconds(s->cpu_usage_ns, buf, sizeof(buf));
        printf("cpu: %s\n", buf);
        print_count("pids", s->pids_current);
        print_count("pids_limit", limits && limits->pids_limit > 0 ? limits->pids_limit : -1);
        print_count("oom_kills", s->oom_kill_count);
        quilt_cli_format_time(s->timestamp_ns, buf, sizeof(buf));
        printf("read_at: %s\n", buf);
}

static void print_stats_json(const Quilt__V1__ContainerStatsResponse *s)
{
        struct quilt_json j;

        quilt_json_init(&j, stdout);
        quilt_json_begin_object(&j);
        quilt_json_key(&j, "containerId");
        quilt_json_string(&j, s->container_id);
        quilt_json_key(&j, "memoryCurrentBytes");
        quilt_json_int(&j, s->memory_current_bytes);
        quilt_json_key(&j, "memoryPeakBytes");
        quilt_json_int(&j, s->memory_peak_bytes);
        quilt_json_key(&j, "cpuUsageNs");
        quilt_json_int(&j, s->cpu_usage_ns);
        quilt_json_key(&j, "pidsCurrent");
        quilt_json_int(&j, s->pids_current);
        quilt_json_key(&j, "oomKillCount");
        quilt_json_int(&j, s->oom_kill_count);
        quilt_json_key(&j, "timestampNs");
        quilt_json_int(&j, s->timestamp_ns);
        quilt_json_end_object(&j);
        quilt_json_finish(&j);
}

int quilt_cmd_stats(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        Quilt__V1__GetContainerStatsRequest req = QUILT__V1__GET_CONTAINER_STATS_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        const char *id = NULL;
        bool json;
        int c = quilt_cli_json_command(cmd, argc, argv, 1, &json, &id);

        if (c >= 0)
                return c;

        req.container_id = (char *)id;
        c = quilt_cli_call(QUILT_METHOD_GET_CONTAINER_STATS, &req.base, QUILT_CLI_TIMEOUT_MS, &resp);
        if (c)
                return c;
        const Quilt__V1__ContainerStatsResponse *s = (const Quilt__V1__ContainerStatsResponse *)resp;
        if (json)
                print_stats_json(s);
        else {
                /* By the full id the daemon answered with, so a name that
                 * was reused in between cannot mix two containers. */
                Quilt__V1__ContainerStatusResponse *st = try_status(s->container_id[0] ? s->container_id
                                                                                        : id);
                print_stats_human(s, st ? st->resources : NULL);
                if (st)
                        protobuf_c_message_free_unpacked(&st->base, NULL);
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        return 0;
}

int quilt_cmd_update(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        static const struct option options[] = {
                QUILT_CLI_RESOURCE_OPTIONS,
                { "help", no_argument, NULL, 'h' },
                {}
        };
        Quilt__V1__UpdateContainerResourcesRequest req = QUILT__V1__UPDATE_CONTAINER_RESOURCES_REQUEST__INIT;
        Quilt__V1__Resources res = QUILT__V1__RESOURCES__INIT;
        ProtobufCMessage *resp = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
                switch (c) {
                case QUILT_CLI_OPT_MEMORY ... QUILT_CLI_OPT_PIDS:
                        r = quilt_cli_resource_option(cmd, c, optarg, &res);
                        if (r >= 0)
                                return r;
                        break;
                case 'h':
                        return quilt_cli_usage(cmd);
                default:
                        return quilt_cli_bad_option(cmd, c, argv);
                }
        }
        if (argc - optind != 1)
                return quilt_cli_usage_error(cmd, argc == optind ? "missing container ID" : "too many arguments");
        if (!quilt_cli_resources_any(&res))
                return quilt_cli_usage_error(cmd, "nothing to update: give at least one of --memory, "
                                             "--memory-swap, --cpus, --cpu-weight, --pids");
        r = quilt_cli_resources_check(cmd, &res);
        if (r >= 0)
                return r;

        req.container_id = argv[optind];
        req.resources = &res;
        r = quilt_cli_call(QUILT_METHOD_UPDATE_CONTAINER_RESOURCES, &req.base, QUILT_CLI_TIMEOUT_MS, &resp);
        if (r)
                return r;
        const Quilt__V1__UpdateContainerResourcesResponse *ur =
                (const Quilt__V1__UpdateContainerResourcesResponse *)resp;
        printf("%s\n", ur->status && ur->status->container_id[0] ? ur->status->container_id : argv[optind]);
        protobuf_c_message_free_unpacked(resp, NULL);
        return 0;
}
