/* SPDX-License-Identifier: MIT */
/* quilt-cli exec: run a command in a running container (ExecContainer),
 * its output streamed to ours as it comes, its exit status made ours. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "units.h"
#include "util.h"

/* -i: stdin is sent whole in the one request message, and quiltd takes
 * messages of at most 16 MiB; the rest of the request needs a little room. */
#define EXEC_STDIN_MAX ((size_t)16 * 1024 * 1024 - 64 * 1024)
#define EXEC_REQUEST_MAX ((size_t)16 * 1024 * 1024)
/* What timeout(1) exits with when the command timed out. */
#define EXEC_EXIT_TIMED_OUT 124

struct exec_state {
        bool exited;
        int32_t exit_code, exit_signal;
        bool timed_out;
        int write_error;        /* first write failure (negative errno) */
        int write_fd;
};

static int on_exec_message(const ProtobufCMessage *msg, void *userdata)
{
        const Quilt__V1__ExecContainerResponse *m = (const Quilt__V1__ExecContainerResponse *)msg;
        struct exec_state *st = userdata;
        /* Unknown sources (a newer daemon) go to stdout rather than nowhere. */
        int fd = m->source == QUILT__V1__LOG_SOURCE__LOG_SOURCE_STDERR ? STDERR_FILENO : STDOUT_FILENO;

        if (m->content.len > 0) {
                /* Straight to the fd, no stdio buffer: output appears as it
                 * is produced, bytes unchanged. */
                int r = quilt_write_all(fd, m->content.data, m->content.len);
                if (r < 0) {
                        st->write_error = r;
                        st->write_fd = fd;
                        return r;       /* cancels the call */
                }
        }
        if (m->exited) {
                st->exited = true;
                st->exit_code = m->exit_code;
                st->exit_signal = m->exit_signal;
                st->timed_out = m->timed_out;
        }
        return 0;
}

/* All of stdin, at most EXEC_STDIN_MAX bytes.  Returns 0, -EFBIG when
 * there is more, or a negative errno of read(). */
static int read_stdin(uint8_t **ret_data, size_t *ret_len)
{
        size_t size = 64 * 1024, len = 0;
        uint8_t *buf = malloc(size);

        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == size) {
                        if (size > EXEC_STDIN_MAX) {
                                free(buf);
                                return -EFBIG;
                        }
                        size_t nsize = size * 2 > EXEC_STDIN_MAX + 1 ? EXEC_STDIN_MAX + 1 : size * 2;
                        uint8_t *n = realloc(buf, nsize);
                        if (!n) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = n;
                        size = nsize;
                }
                ssize_t k = read(STDIN_FILENO, buf + len, size - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        int e = -errno;
                        free(buf);
                        return e;
                }
                if (k == 0)
                        break;
                len += (size_t)k;
        }
        if (len > EXEC_STDIN_MAX) {
                free(buf);
                return -EFBIG;
        }
        *ret_data = buf;
        *ret_len = len;
        return 0;
}

/* The -e values as the request's environment (quilt_cli_env_resolve(),
 * as create does), and what the request then points into. */
struct exec_env {
        struct quilt_cli_env env;
        Quilt__V1__ExecContainerRequest__EnvironmentEntry *entries;
        Quilt__V1__ExecContainerRequest__EnvironmentEntry **ptrs;
};

static void exec_env_free(struct exec_env *e)
{
        quilt_cli_env_free(&e->env);
        free(e->entries);
        free(e->ptrs);
}

static int build_environment(const char **env, size_t n_env, Quilt__V1__ExecContainerRequest *req,
                             struct exec_env *e)
{
        if (quilt_cli_env_resolve(env, n_env, &e->env) < 0)
                return -ENOMEM;
        if (e->env.n == 0)
                return 0;
        e->entries = calloc(e->env.n, sizeof(*e->entries));
        e->ptrs = calloc(e->env.n, sizeof(*e->ptrs));
        if (!e->entries || !e->ptrs)
                return -ENOMEM;
        for (size_t i = 0; i < e->env.n; i++) {
                e->entries[i] = (Quilt__V1__ExecContainerRequest__EnvironmentEntry)
                        QUILT__V1__EXEC_CONTAINER_REQUEST__ENVIRONMENT_ENTRY__INIT;
                e->entries[i].key = e->env.keys[i];
                e->entries[i].value = (char *)e->env.values[i];
                e->ptrs[i] = &e->entries[i];
        }
        req->environment = e->ptrs;
        req->n_environment = e->env.n;
        return 0;
}

int quilt_cmd_exec(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        enum { OPT_HELP = 'h' };
        static const struct option options[] = {
                { "env", required_argument, NULL, 'e' },
                { "workdir", required_argument, NULL, 'w' },
                { "user", required_argument, NULL, 'u' },
                { "interactive", no_argument, NULL, 'i' },
                { "timeout", required_argument, NULL, 't' },
                { "help", no_argument, NULL, OPT_HELP },
                {}
        };
        Quilt__V1__ExecContainerRequest req = QUILT__V1__EXEC_CONTAINER_REQUEST__INIT;
        struct quilt_client_error err = {};
        struct exec_env env = {};
        struct exec_state st = {};
        const char **env_args = NULL;
        size_t n_env = 0;
        uint8_t *input = NULL;
        size_t input_len = 0;
        bool want_stdin = false;
        int64_t timeout_seconds;
        const char *why;
        int c, ret;

        /* At most one -e per argument. */
        env_args = calloc((size_t)argc, sizeof(*env_args));
        if (!env_args) {
                fprintf(stderr, "quilt-cli: out of memory\n");
                return QUILT_CLI_EXIT_FAILURE;
        }
        /* '+': stop at the container ID, so the command's own options
         * (sh -c ...) are never taken for ours. */
        while ((c = getopt_long(argc, argv, "+:e:w:u:it:h", options, NULL)) != -1) {
                switch (c) {
                case 'e':
                        if (optarg[0] == '=' || optarg[0] == '\0') {
                                ret = quilt_cli_usage_error(cmd, "-e needs NAME=VALUE or NAME, not '%s'", optarg);
                                goto out;
                        }
                        env_args[n_env++] = optarg;
                        break;
                case 'w':
                        if (optarg[0] != '/') {
                                ret = quilt_cli_usage_error(cmd, "-w: '%s' is not an absolute path", optarg);
                                goto out;
                        }
                        req.working_directory = optarg;
                        break;
                case 'u':
                        if (!quilt_cli_user_spec_valid(optarg)) {
                                ret = quilt_cli_usage_error(cmd, "-u: '%s' is not USER[:GROUP]", optarg);
                                goto out;
                        }
                        req.user = optarg;
                        break;
                case 'i':
                        want_stdin = true;
                        break;
                case 't':
                        /* As wait's --timeout: 0 is no limit. */
                        if (quilt_parse_int_range(optarg, 0, INT32_MAX, &timeout_seconds, &why) < 0) {
                                ret = quilt_cli_usage_error(cmd, "--timeout: '%s' is not a number of seconds", optarg);
                                goto out;
                        }
                        req.timeout_seconds = (int32_t)timeout_seconds;
                        break;
                case OPT_HELP:
                        ret = quilt_cli_usage(cmd);
                        goto out;
                default:
                        ret = quilt_cli_bad_option(cmd, c, argv);
                        goto out;
                }
        }
        if (optind == argc) {
                ret = quilt_cli_usage_error(cmd, "missing container ID");
                goto out;
        }
        req.container_id = argv[optind++];
        if (optind < argc && strcmp(argv[optind], "--") == 0)
                optind++;
        if (optind == argc) {
                ret = quilt_cli_usage_error(cmd, "missing command");
                goto out;
        }
        if (!argv[optind][0]) {
                ret = quilt_cli_usage_error(cmd, "the command is empty");
                goto out;
        }
        req.command = argv + optind;
        req.n_command = (size_t)(argc - optind);

        if (build_environment(env_args, n_env, &req, &env) < 0) {
                fprintf(stderr, "quilt-cli: out of memory\n");
                ret = QUILT_CLI_EXIT_FAILURE;
                goto out;
        }
        if (want_stdin) {
                int r = read_stdin(&input, &input_len);
                if (r == -EFBIG) {
                        fprintf(stderr, "quilt-cli: -i: stdin is larger than %zu bytes, "
                                "the most one exec request can carry\n", EXEC_STDIN_MAX);
                        ret = QUILT_CLI_EXIT_FAILURE;
                        goto out;
                }
                if (r < 0) {
                        fprintf(stderr, "quilt-cli: -i: reading stdin: %s\n", strerror(-r));
                        ret = QUILT_CLI_EXIT_FAILURE;
                        goto out;
                }
                req.stdin.data = input;
                req.stdin.len = input_len;
        }
        if (protobuf_c_message_get_packed_size(&req.base) > EXEC_REQUEST_MAX) {
                fprintf(stderr, "quilt-cli: the exec request is larger than %zu bytes\n", EXEC_REQUEST_MAX);
                ret = QUILT_CLI_EXIT_FAILURE;
                goto out;
        }

        struct quilt_stream_ops ops = { .on_message = on_exec_message };
        /* No deadline: the command runs as long as it runs (--timeout is
         * the daemon's to enforce, so that it also kills the process). */
        int r = quilt_client_stream(quilt_cli_client(), QUILT_METHOD_EXEC_CONTAINER, &req.base, 0, &ops, &st, &err);
        if (r < 0 && st.write_error && r == st.write_error) {
                /* A reader that went away (| head) is not worth a message. */
                if (r != -EPIPE)
                        fprintf(stderr, "quilt-cli: writing to %s: %s\n",
                                st.write_fd == STDERR_FILENO ? "stderr" : "stdout", strerror(-r));
                ret = QUILT_CLI_EXIT_FAILURE;
                goto out;
        }
        if (r < 0) {
                ret = quilt_cli_rpc_failed(&err);
                goto out;
        }
        if (!st.exited) {
                fprintf(stderr, "quilt-cli: the exec ended without an exit status\n");
                ret = QUILT_CLI_EXIT_FAILURE;
                goto out;
        }
        if (st.timed_out) {
                fprintf(stderr, "quilt-cli: exec timed out after %d s\n", (int)req.timeout_seconds);
                ret = EXEC_EXIT_TIMED_OUT;
        } else if (st.exit_signal > 0)
                ret = 128 + (st.exit_signal & 0x7f);
        else
                ret = st.exit_code & 0xff;
out:
        quilt_client_error_clear(&err);
        exec_env_free(&env);
        free(env_args);
        free(input);
        return ret;
}
