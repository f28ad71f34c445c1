/* SPDX-License-Identifier: MIT */
/* quilt-cli stop and rm. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The daemon's own default when a stop request says 0. */
#define DAEMON_DEFAULT_STOP_SECONDS 10
/* Slack on top of the grace period for the daemon to kill and reap. */
#define STOP_SLACK_MS 30000

int quilt_cli_stop_container(const char *id, int32_t timeout_seconds, char **ret_id,
                             struct quilt_client_error *err)
{
        Quilt__V1__StopContainerRequest req = QUILT__V1__STOP_CONTAINER_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        int64_t grace = timeout_seconds > 0 ? timeout_seconds
                        : timeout_seconds == 0 ? DAEMON_DEFAULT_STOP_SECONDS : 0;

        req.container_id = (char *)id;
        req.timeout_seconds = timeout_seconds;
        int r = quilt_client_unary(quilt_cli_client(), QUILT_METHOD_STOP_CONTAINER, &req.base,
                                   grace * 1000 + STOP_SLACK_MS, &resp, err);
        if (r < 0)
                return r;
        if (ret_id) {
                const Quilt__V1__StopContainerResponse *s = (const Quilt__V1__StopContainerResponse *)resp;
                const char *got = s->status && s->status->container_id[0] ? s->status->container_id : id;
                *ret_id = strdup(got);
                if (!*ret_id)
                        r = -ENOMEM;
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        return r;
}

static int parse_seconds(const char *s, int32_t *ret)
{
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < 0 || v > INT32_MAX)
                return -EINVAL;
        *ret = (int32_t)v;
        return 0;
}

int quilt_cmd_stop(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        static const struct option options[] = {
                { "time", required_argument, NULL, 't' },
                { "timeout", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int32_t timeout_seconds = 0;    /* no -t: the daemon's default */
        int c, ret = 0;

        while ((c = getopt_long(argc, argv, ":t:h", options, NULL)) != -1) {
                switch (c) {
                case 't':
                        if (parse_seconds(optarg, &timeout_seconds) < 0)
                                return quilt_cli_usage_error(cmd, "-t needs a number of seconds >= 0, not '%s'",
                                                             optarg);
                        /* On the wire 0 means "default"; -t 0 means "kill now". */
                        if (timeout_seconds == 0)
                                timeout_seconds = -1;
                        break;
                case 'h':
                        return quilt_cli_usage(cmd);
                default:
                        return quilt_cli_bad_option(cmd, c, argv);
                }
        }
        if (optind == argc)
                return quilt_cli_usage_error(cmd, "missing container ID");

        for (int i = optind; i < argc; i++) {
                struct quilt_client_error err = {};
                char *id = NULL;

                if (quilt_cli_stop_container(argv[i], timeout_seconds, &id, &err) < 0) {
                        ret = err.message ? quilt_cli_rpc_failed(&err) : QUILT_CLI_EXIT_FAILURE;
                        if (!err.message)
                                perror("quilt-cli");
                        bool give_up = err.unreachable;
                        quilt_client_error_clear(&err);
                        if (give_up)
                                break;
                        continue;
                }
                printf("%s\n", id);
                free(id);
        }
        return ret;
}

int quilt_cmd_rm(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        static const struct option options[] = {
                { "force", no_argument, NULL, 'f' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        bool force = false;
        int c;

        while ((c = getopt_long(argc, argv, ":fh", options, NULL)) != -1) {
                switch (c) {
                case 'f':
                        force = true;
                        break;
                case 'h':
                        return quilt_cli_usage(cmd);
                default:
                        return quilt_cli_bad_option(cmd, c, argv);
                }
        }
        if (optind == argc)
                return quilt_cli_usage_error(cmd, "missing container ID");

        Quilt__V1__RemoveContainerRequest req = QUILT__V1__REMOVE_CONTAINER_REQUEST__INIT;
        req.force = force;
        return quilt_cli_each(QUILT_METHOD_REMOVE_CONTAINER, &req.base, "container_id", "container_id",
                              argc - optind, argv + optind);
}
