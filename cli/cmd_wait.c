/* SPDX-License-Identifier: MIT */
/* quilt-cli wait: block until a container has ended, print its exit
 * status and exit with it. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "status.h"        /* the gRPC status codes by name */
#include "units.h"

/* The daemon answers DEADLINE_EXCEEDED itself at --timeout; the call's own
 * deadline only guards against a daemon that never does. */
#define WAIT_SLACK_MS 30000
/* --timeout ran out (as timeout(1)). */
#define WAIT_EXIT_TIMEOUT 124

int quilt_cmd_wait(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        static const struct option options[] = {
                { "timeout", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int64_t timeout_seconds = 0;
        const char *why;
        int c;

        while ((c = getopt_long(argc, argv, ":t:h", options, NULL)) != -1) {
                switch (c) {
                case 't':
                        if (quilt_parse_int_range(optarg, 0, INT32_MAX, &timeout_seconds, &why) < 0)
                                return quilt_cli_usage_error(cmd, "--timeout %s: %s", optarg, why);
                        break;
                case 'h':
                        return quilt_cli_usage(cmd);
                default:
                        return quilt_cli_bad_option(cmd, c, argv);
                }
        }
        if (argc - optind != 1)
                return quilt_cli_usage_error(cmd, argc == optind ? "missing container ID" : "too many arguments");

        Quilt__V1__WaitContainerRequest req = QUILT__V1__WAIT_CONTAINER_REQUEST__INIT;
        struct quilt_client_error err = {};
        ProtobufCMessage *resp = NULL;

        req.container_id = argv[optind];
        req.timeout_seconds = (int32_t)timeout_seconds;
        int r = quilt_client_unary(quilt_cli_client(), QUILT_METHOD_WAIT_CONTAINER, &req.base,
                                   timeout_seconds ? timeout_seconds * 1000 + WAIT_SLACK_MS : 0, &resp,
                                   &err);
        if (r < 0) {
                c = quilt_cli_rpc_failed(&err);
                if (r == -EIO && err.code == QUILT_DEADLINE_EXCEEDED)
                        c = WAIT_EXIT_TIMEOUT;
                quilt_client_error_clear(&err);
                return c;
        }
        const Quilt__V1__ContainerStatusResponse *st = ((Quilt__V1__WaitContainerResponse *)resp)->status;
        if (!st) {
                fprintf(stderr, "quilt-cli: the daemon's answer has no status\n");
                c = QUILT_CLI_EXIT_FAILURE;
        } else {
                c = quilt_cli_exit_code(st);
                if (st->oom_killed && st->state != QUILT__V1__CONTAINER_STATE__CONTAINER_STATE_FAILED)
                        fprintf(stderr, "quilt-cli: container was killed by the OOM killer\n");
                printf("%d\n", c);
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        return c;
}
