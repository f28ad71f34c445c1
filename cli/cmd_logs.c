/* SPDX-License-Identifier: MIT */
/* quilt-cli logs, and the log streaming that run shares. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

struct log_writer {
        const struct quilt_cli_logs *opts;
        bool broken[3];         /* by fd: writing failed, output dropped */
        int write_error;        /* first write failure (negative errno) */
        int write_fd;
};

static int on_log_message(const ProtobufCMessage *msg, void *userdata)
{
        const Quilt__V1__LogStreamResponse *m = (const Quilt__V1__LogStreamResponse *)msg;
        struct log_writer *w = userdata;
        /* Unknown sources (a newer daemon) go to stdout rather than nowhere. */
        int fd = m->source == QUILT__V1__LOG_SOURCE__LOG_SOURCE_STDERR ? STDERR_FILENO : STDOUT_FILENO;

        if (m->content.len == 0 || w->broken[fd])
                return 0;
        if ((w->opts->filter == QUILT_CLI_LOGS_SETUP_ONLY && m->setup_command == 0) ||
            (w->opts->filter == QUILT_CLI_LOGS_NO_SETUP && m->setup_command != 0))
                return 0;
        /* Straight to the fd, no stdio buffer: the output of a container
         * must appear as it is produced and interleave as it did. */
        int r = quilt_write_all(fd, m->content.data, m->content.len);
        if (r < 0) {
                w->broken[fd] = true;
                if (!w->write_error) {
                        w->write_error = r;
                        w->write_fd = fd;
                }
                if (!w->opts->survive_write_errors)
                        return r;
        }
        return 0;
}

/* The stream hands every callback the writer; pass the tick on with the
 * caller's own userdata. */
static void on_log_tick(void *userdata)
{
        struct log_writer *w = userdata;
        w->opts->on_tick(w->opts->userdata);
}

int quilt_cli_stream_logs(const char *id, const struct quilt_cli_logs *opts,
                          struct quilt_client_error *err)
{
        Quilt__V1__GetContainerLogsRequest req = QUILT__V1__GET_CONTAINER_LOGS_REQUEST__INIT;
        struct log_writer w = { .opts = opts };
        struct quilt_stream_ops ops = {
                .on_message = on_log_message,
                .on_tick = opts->on_tick ? on_log_tick : NULL,
                .tick_ms = opts->on_tick ? 100 : 0,
        };
        req.container_id = (char *)id;
        req.follow = opts->follow;

        /* No deadline, even without follow: a reader that pauses (a pager)
         * would otherwise cut the output short. */
        int r = quilt_client_stream(quilt_cli_client(), QUILT_METHOD_GET_CONTAINER_LOGS, &req.base, 0, &ops, &w, err);
        if (r < 0 && r == w.write_error && err) {
                free(err->message);
                err->message = NULL;
                if (asprintf(&err->message, "writing to %s: %s",
                             w.write_fd == STDERR_FILENO ? "stderr" : "stdout", strerror(-r)) < 0)
                        err->message = NULL;
        }
        return r;
}

int quilt_cmd_logs(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        enum { OPT_SETUP = 0x100, OPT_NO_SETUP };
        static const struct option options[] = {
                { "follow", no_argument, NULL, 'f' },
                { "setup", no_argument, NULL, OPT_SETUP },
                { "no-setup", no_argument, NULL, OPT_NO_SETUP },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        struct quilt_cli_logs opts = {};
        struct quilt_client_error err = {};
        int c;

        while ((c = getopt_long(argc, argv, ":fh", options, NULL)) != -1) {
                switch (c) {
                case 'f':
                        opts.follow = true;
                        break;
                case OPT_SETUP:
                case OPT_NO_SETUP: {
                        enum quilt_cli_log_filter want = c == OPT_SETUP ? QUILT_CLI_LOGS_SETUP_ONLY
                                                                        : QUILT_CLI_LOGS_NO_SETUP;
                        if (opts.filter != QUILT_CLI_LOGS_ALL && opts.filter != want)
                                return quilt_cli_usage_error(cmd, "--setup and --no-setup contradict each other");
                        opts.filter = want;
                        break;
                }
                case 'h':
                        return quilt_cli_usage(cmd);
                default:
                        return quilt_cli_bad_option(cmd, c, argv);
                }
        }
        if (argc - optind != 1)
                return quilt_cli_usage_error(cmd, argc == optind ? "missing container ID" : "too many arguments");

        int r = quilt_cli_stream_logs(argv[optind], &opts, &err);
        if (r == -EIO)
                c = quilt_cli_rpc_failed(&err);
        else if (r < 0) {
                /* A reader that went away (| head) is not worth a message. */
                if (r != -EPIPE)
                        fprintf(stderr, "quilt-cli: %s\n", err.message ? err.message : strerror(-r));
                c = QUILT_CLI_EXIT_FAILURE;
        } else
                c = 0;
        quilt_client_error_clear(&err);
        return c;
}
