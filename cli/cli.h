/* SPDX-License-Identifier: MIT */
/* What the quilt-cli commands share: the lazily opened client, error and
 * usage reporting, and small formatting helpers. */
#ifndef QUILT_CLI_H
#define QUILT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"

#define QUILT_CLI_EXIT_FAILURE 1        /* an RPC or local operation failed */
#define QUILT_CLI_EXIT_USAGE 2          /* bad command line */
#define QUILT_CLI_EXIT_RUN_FAILED 125   /* run: the container reached FAILED */

/* Deadline for ordinary unary calls; log follows and run have none. */
#define QUILT_CLI_TIMEOUT_MS 10000

struct quilt_cli_command {
        const char *name;
        int (*run)(struct quilt_cli_command const *cmd, int argc, char **argv);
        const char *usage;      /* arguments after the command name */
        const char *summary;
        const char *help;       /* COMMAND --help: the options, one per line; may be NULL */
};

/* Opened on first use so that usage errors and --help cost no grpc start-up.
 * Never NULL: failing to allocate the channel ends the process. */
struct quilt_client *quilt_cli_client(void);
const char *quilt_cli_socket(void);
void quilt_cli_set_socket(const char *path);
void quilt_cli_close(void);

/* Print the failure of an RPC once ("quilt-cli: NOT_FOUND: ...", or that the
 * daemon is not reachable at the socket) and return QUILT_CLI_EXIT_FAILURE. */
int quilt_cli_rpc_failed(const struct quilt_client_error *err);

/* quilt_client_unary() on the shared client, a failure reported once with
 * quilt_cli_rpc_failed().  Returns 0 with *ret_resp (free it with
 * protobuf_c_message_free_unpacked()), or the exit code. */
int quilt_cli_call(enum quilt_method_id method, const ProtobufCMessage *req, int64_t timeout_ms,
                   ProtobufCMessage **ret_resp);

/* Print "quilt-cli: <message>" and the command's usage line to stderr;
 * returns QUILT_CLI_EXIT_USAGE. */
__attribute__((format(printf, 2, 3)))
int quilt_cli_usage_error(const struct quilt_cli_command *cmd, const char *fmt, ...);
/* The usage line on stdout, for CMD --help; returns 0. */
int quilt_cli_usage(const struct quilt_cli_command *cmd);
/* The matching report for a getopt_long() return of '?' or ':'. */
int quilt_cli_bad_option(const struct quilt_cli_command *cmd, int c, char **argv);
/* The options of a command that takes only --help: returns -1 to go on
 * (optind at the first argument), or the exit code. */
int quilt_cli_help_option(const struct quilt_cli_command *cmd, int argc, char **argv);
/* The options of a command that takes only --json and `n_ids` (0 or 1)
 * container IDs.  Returns -1 to go on, else the exit code. */
int quilt_cli_json_command(const struct quilt_cli_command *cmd, int argc, char **argv, int n_ids,
                           bool *ret_json, const char **ret_id);

struct quilt_json;

/* An `ls` command: one unary RPC whose response has one repeated message
 * field, printed as a table or, with --json, as {"FIELD": [...]}. */
struct quilt_cli_list {
        enum quilt_method_id method;            /* QUILT_METHOD_LIST_* */
        const ProtobufCMessage *request;
        const char *field;                      /* the repeated field: "images" */
        void (*json_item)(struct quilt_json *j, const void *item);
        int (*print)(void *const *items, size_t n);     /* returns the exit code */
};
int quilt_cli_list_command(const struct quilt_cli_command *cmd, int argc, char **argv,
                           const struct quilt_cli_list *list);

/* rm, rmi, volume rm: one unary RPC per argument, the string field
 * `request_field` of `request` set to it, the response's `response_field`
 * printed (the argument when empty).  A failure is reported and the rest
 * still go; an unreachable daemon ends it.  Returns the exit code. */
int quilt_cli_each(enum quilt_method_id method, ProtobufCMessage *request, const char *request_field,
                   const char *response_field, int argc, char **argv);

/* The -e values of create and exec: K=V sets K; K alone copies K from our
 * environment (skipped when unset, as docker does); a later -e for the
 * same K wins.  `n` distinct keys (malloc'd) in the order of their first
 * -e, each with its value (pointing into the arguments or the environment). */
struct quilt_cli_env {
        char **keys;
        const char **values;
        size_t n;
};
/* 0 or -ENOMEM (`ret` then empty). */
int quilt_cli_env_resolve(const char *const *args, size_t n_args, struct quilt_cli_env *ret);
void quilt_cli_env_free(struct quilt_cli_env *e);

/* -u/--user of create, run and exec: USER or USER:GROUP, neither part
 * empty, one colon at most.  What the names mean is quiltd's to decide. */
bool quilt_cli_user_spec_valid(const char *s);

/* The exit code run and wait give for a container that has ended:
 * QUILT_CLI_EXIT_RUN_FAILED when it FAILED (the reason goes to stderr),
 * 128+N when signal N ended it, else its exit code. */
int quilt_cli_exit_code(const Quilt__V1__ContainerStatusResponse *st);

/* "RUNNING" for CONTAINER_STATE_RUNNING; "STATE_<n>" when unknown (static buffer). */
const char *quilt_cli_state_name(int state);
/* RFC 3339 in UTC ("2024-05-01T12:34:56Z"), or "-" for 0. */
void quilt_cli_format_time(int64_t ns, char *buf, size_t size);
/* A copy of `s` safe for one line of a terminal: control characters and
 * invalid UTF-8 escaped (\n, \t, \xNN), cut to `max_width` characters with
 * "..." when longer (0: no limit).  malloc'd; NULL on ENOMEM. */
char *quilt_cli_printable(const char *s, size_t max_width);
/* Width of a printable string in characters (UTF-8 code points). */
size_t quilt_cli_width(const char *s);

/* Which output `logs` shows: LogStreamResponse.setup_command tells the
 * setup commands' output (1..) from the command's (0). */
enum quilt_cli_log_filter {
        QUILT_CLI_LOGS_ALL,
        QUILT_CLI_LOGS_SETUP_ONLY,
        QUILT_CLI_LOGS_NO_SETUP,
};

struct quilt_cli_logs {
        bool follow;
        enum quilt_cli_log_filter filter;
        /* run: a closed stdout or stderr only stops output to that fd; the
         * container is still followed to its end. */
        bool survive_write_errors;
        void (*on_tick)(void *userdata);
        void *userdata;
};

/* GetContainerLogs for `id`, each chunk written (unbuffered) to stdout or
 * stderr by its source.  Returns 0, -EIO with `err` filled when the RPC
 * failed, or a negative errno when writing failed (err says which). */
int quilt_cli_stream_logs(const char *id, const struct quilt_cli_logs *opts,
                          struct quilt_client_error *err);

/* StopContainer with the wire meaning of timeout_seconds (0: the daemon's
 * default, negative: SIGKILL at once) and a deadline to match.  *ret_id,
 * when asked for, is the daemon's id of the container (malloc'd).
 * Same returns as quilt_client_unary(). */
int quilt_cli_stop_container(const char *id, int32_t timeout_seconds, char **ret_id,
                             struct quilt_client_error *err);

/* The resource options of create, run and update: getopt_long() values,
 * their struct option entries and their usage text. */
enum {
        QUILT_CLI_OPT_MEMORY = 0x200,
        QUILT_CLI_OPT_MEMORY_SWAP,
        QUILT_CLI_OPT_CPUS,
        QUILT_CLI_OPT_CPU_WEIGHT,
        QUILT_CLI_OPT_PIDS,
};
#define QUILT_CLI_RESOURCE_OPTIONS                                                      \
        { "memory", required_argument, NULL, QUILT_CLI_OPT_MEMORY },                    \
        { "memory-swap", required_argument, NULL, QUILT_CLI_OPT_MEMORY_SWAP },          \
        { "cpus", required_argument, NULL, QUILT_CLI_OPT_CPUS },                        \
        { "cpu-weight", required_argument, NULL, QUILT_CLI_OPT_CPU_WEIGHT },            \
        { "pids", required_argument, NULL, QUILT_CLI_OPT_PIDS }
#define QUILT_CLI_RESOURCE_USAGE \
        "[--memory SIZE] [--memory-swap SIZE] [--cpus N] [--cpu-weight N] [--pids N]"
#define QUILT_CLI_CPU_WEIGHT_MAX 10000

/* Store the value of resource option `c` (QUILT_CLI_OPT_*) in `r` (made
 * with QUILT__V1__RESOURCES__INIT).  Returns -1 to go on, or the usage
 * error's exit status, naming the option. */
int quilt_cli_resource_option(const struct quilt_cli_command *cmd, int c, const char *arg,
                              Quilt__V1__Resources *r);
/* Checks across options (--memory-swap below --memory).  Returns -1 to go
 * on, or the usage error's exit status. */
int quilt_cli_resources_check(const struct quilt_cli_command *cmd, const Quilt__V1__Resources *r);
/* Whether any limit is set (non-zero). */
bool quilt_cli_resources_any(const Quilt__V1__Resources *r);

int quilt_cmd_create(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_run(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_status(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_ps(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_logs(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_stop(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_rm(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_stats(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_update(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_images(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_import(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_pull(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_rmi(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_volume(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_exec(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_wait(const struct quilt_cli_command *cmd, int argc, char **argv);
int quilt_cmd_events(const struct quilt_cli_command *cmd, int argc, char **argv);

#endif
