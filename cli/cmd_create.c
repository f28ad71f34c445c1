/* SPDX-License-Identifier: MIT */
/* quilt-cli create and run. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "shell_split.h"
#include "workload.h"

/* run: the grace period of the stop sent on the first Ctrl-C; a second one
 * sends SIGKILL at once, a third ends quilt-cli itself. */
#define RUN_STOP_TIMEOUT_S 3
/* run: how long a container may take to show as ended once its log stream
 * has ended (the daemon ends the stream on exit, so this is slack). */
#define RUN_STATUS_WAIT_MS 5000
#define RUN_STATUS_POLL_MS 100

struct create_options {
        const char *image, *name, *hostname, *workdir, *profile;
        const char *command_string;     /* --command, split like sh */
        char **command_argv;            /* or the arguments after the options */
        size_t command_argc;
        const char **env;               /* -e values in order, K=V or K */
        size_t n_env;
        Quilt__V1__Resources resources; /* --memory, --cpus, ...: 0 = not given */
        struct quilt_cli_workload workload;     /* --setup, -v, --user, ... */
        bool rm;
};

static void create_options_free(struct create_options *o)
{
        free(o->env);
        quilt_cli_workload_free(&o->workload);
}

/* What a CreateContainerRequest points into, freed in one place. */
struct create_storage {
        char *image;
        char **split;
        struct quilt_cli_env env;
        Quilt__V1__CreateContainerRequest__EnvironmentEntry *entries;
        Quilt__V1__CreateContainerRequest__EnvironmentEntry **entry_ptrs;
};

static void create_storage_free(struct create_storage *s)
{
        free(s->image);
        quilt_shell_split_free(s->split);
        quilt_cli_env_free(&s->env);
        free(s->entries);
        free(s->entry_ptrs);
}

/* Returns -1 to go on, or the exit status to end with. */
static int parse_create_options(const struct quilt_cli_command *cmd, int argc, char **argv,
                                bool is_run, struct create_options *o)
{
        enum { OPT_IMAGE = 0x100, OPT_NAME, OPT_HOSTNAME, OPT_PROFILE, OPT_COMMAND, OPT_RM };
        static const struct option options[] = {
                { "image", required_argument, NULL, OPT_IMAGE },
                { "name", required_argument, NULL, OPT_NAME },
                { "env", required_argument, NULL, 'e' },
                { "hostname", required_argument, NULL, OPT_HOSTNAME },
                { "workdir", required_argument, NULL, 'w' },
                { "profile", required_argument, NULL, OPT_PROFILE },
                { "command", required_argument, NULL, OPT_COMMAND },
                { "rm", no_argument, NULL, OPT_RM },
                QUILT_CLI_RESOURCE_OPTIONS,
                QUILT_CLI_WORKLOAD_OPTIONS,
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c, r;

        o->resources = (Quilt__V1__Resources) QUILT__V1__RESOURCES__INIT;
        /* At most one -e per argument. */
        o->env = calloc((size_t)argc, sizeof(*o->env));
        if (!o->env || quilt_cli_workload_init(&o->workload, argc) < 0) {
                fprintf(stderr, "quilt-cli: out of memory\n");
                return QUILT_CLI_EXIT_FAILURE;
        }
        /* '+': stop at the first non-option, so the container's own
         * options (sh -c ...) are never taken for ours. */
        while ((c = getopt_long(argc, argv, "+:e:w:h" QUILT_CLI_WORKLOAD_SHORT, options, NULL)) != -1) {
                switch (c) {
                case OPT_IMAGE:
                        o->image = optarg;
                        break;
                case OPT_NAME:
                        o->name = optarg;
                        break;
                case 'e':
                        if (optarg[0] == '=' || optarg[0] == '\0')
                                return quilt_cli_usage_error(cmd, "-e needs NAME=VALUE or NAME, not '%s'", optarg);
                        o->env[o->n_env++] = optarg;
                        break;
                case OPT_HOSTNAME:
                        o->hostname = optarg;
                        break;
                case 'w':
                        o->workdir = optarg;
                        break;
                case OPT_PROFILE:
                        o->profile = optarg;
                        break;
                case OPT_COMMAND:
                        o->command_string = optarg;
                        break;
                case OPT_RM:
                        if (!is_run)
                                return quilt_cli_usage_error(cmd, "--rm only goes with run");
                        o->rm = true;
                        break;
                case QUILT_CLI_OPT_MEMORY ... QUILT_CLI_OPT_PIDS:
                        r = quilt_cli_resource_option(cmd, c, optarg, &o->resources);
                        if (r >= 0)
                                return r;
                        break;
                case QUILT_CLI_OPT_SETUP ... QUILT_CLI_OPT_WORKLOAD_END - 1:
                case QUILT_CLI_OPT_VOLUME:
                case QUILT_CLI_OPT_USER:
                case QUILT_CLI_OPT_PUBLISH:
                        r = quilt_cli_workload_option(cmd, c, optarg, &o->workload);
                        if (r >= 0)
                                return r;
                        break;
                case 'h':
                        return quilt_cli_usage(cmd);
                default:
                        return quilt_cli_bad_option(cmd, c, argv);
                }
        }

        if (!o->image || !o->image[0])
                return quilt_cli_usage_error(cmd, "--image is required");
        r = quilt_cli_resources_check(cmd, &o->resources);
        if (r >= 0)
                return r;
        r = quilt_cli_workload_check(cmd, &o->workload);
        if (r >= 0)
                return r;
        o->command_argv = argv + optind;
        o->command_argc = (size_t)(argc - optind);
        if (o->command_string && o->command_argc > 0)
                return quilt_cli_usage_error(cmd, "give the command either with --command or after --, not both");
        /* No command is fine: a stored image may have a default one (the
         * daemon answers INVALID_ARGUMENT when it has none). */
        return -1;
}

/* The daemon needs an absolute path; a relative one means "from where
 * quilt-cli was run", which the daemon cannot know.  A name that is no
 * file here (and does not start with "./") goes as it is: a stored
 * image's digest or tag. */
static char *absolute_image(const char *image)
{
        char *cwd, *abs = NULL;

        if (image[0] == '/')
                return strdup(image);
        if (strncmp(image, "./", 2) != 0 && strncmp(image, "../", 3) != 0 && access(image, F_OK) < 0)
                return strdup(image);
        while (image[0] == '.' && image[1] == '/') {
                image += 2;
                while (image[0] == '/')
                        image++;
        }
        cwd = getcwd(NULL, 0);
        if (!cwd)
                return NULL;
        size_t len = strlen(cwd);
        if (asprintf(&abs, "%s%s%s", cwd, len > 0 && cwd[len - 1] == '/' ? "" : "/", image) < 0)
                abs = NULL;
        free(cwd);
        return abs;
}

/* The -e values as the request's environment (quilt_cli_env_resolve()). */
static int build_environment(const struct create_options *o, Quilt__V1__CreateContainerRequest *req,
                             struct create_storage *s)
{
        if (quilt_cli_env_resolve(o->env, o->n_env, &s->env) < 0)
                return -ENOMEM;
        if (s->env.n == 0)
                return 0;
        s->entries = calloc(s->env.n, sizeof(*s->entries));
        s->entry_ptrs = calloc(s->env.n, sizeof(*s->entry_ptrs));
        if (!s->entries || !s->entry_ptrs)
                return -ENOMEM;
        for (size_t i = 0; i < s->env.n; i++) {
                s->entries[i] = (Quilt__V1__CreateContainerRequest__EnvironmentEntry)
                        QUILT__V1__CREATE_CONTAINER_REQUEST__ENVIRONMENT_ENTRY__INIT;
                s->entries[i].key = s->env.keys[i];
                s->entries[i].value = (char *)s->env.values[i];
                s->entry_ptrs[i] = &s->entries[i];
        }
        req->environment = s->entry_ptrs;
        req->n_environment = s->env.n;
        return 0;
}

/* Returns -1 to go on, or the exit status to end with. */
static int build_request(const struct quilt_cli_command *cmd, struct create_options *o,
                         Quilt__V1__CreateContainerRequest *req, struct create_storage *s)
{
        if (o->command_string) {
                const char *error = NULL;
                int r = quilt_shell_split(o->command_string, &s->split, &error);
                if (r == -EINVAL)
                        return quilt_cli_usage_error(cmd, "--command: %s", error);
                if (r < 0)
                        goto oom;
                if (!s->split[0])
                        return quilt_cli_usage_error(cmd, "--command is empty");
                req->command = s->split;
                while (s->split[req->n_command])
                        req->n_command++;
        } else {
                req->command = o->command_argv;
                req->n_command = o->command_argc;
        }

        s->image = absolute_image(o->image);
        if (!s->image) {
                fprintf(stderr, "quilt-cli: making '%s' absolute: %m\n", o->image);
                return QUILT_CLI_EXIT_FAILURE;
        }
        req->image = s->image;
        if (build_environment(o, req, s) < 0)
                goto oom;
        if (o->name)
                req->name = (char *)o->name;
        if (o->hostname)
                req->hostname = (char *)o->hostname;
        if (o->workdir)
                req->working_directory = (char *)o->workdir;
        if (o->profile)
                req->profile = (char *)o->profile;
        /* Only when asked for: no message at all keeps the request what an
         * older daemon understands, and says "no limits" to a newer one. */
        if (quilt_cli_resources_any(&o->resources))
                req->resources = (Quilt__V1__Resources *)&o->resources;
        if (quilt_cli_workload_apply(&o->workload, req) < 0)
                goto oom;
        return -1;
oom:
        fprintf(stderr, "quilt-cli: out of memory\n");
        return QUILT_CLI_EXIT_FAILURE;
}

/* Parse, build and send CreateContainer.  Returns -1 with *ret_id set
 * (malloc'd), or the exit status to end with. */
static int do_create(const struct quilt_cli_command *cmd, int argc, char **argv, bool is_run,
                     struct create_options *o, char **ret_id)
{
        Quilt__V1__CreateContainerRequest req = QUILT__V1__CREATE_CONTAINER_REQUEST__INIT;
        struct create_storage s = {};
        struct quilt_client_error err = {};
        ProtobufCMessage *resp = NULL;
        int ret;

        ret = parse_create_options(cmd, argc, argv, is_run, o);
        if (ret < 0)
                ret = build_request(cmd, o, &req, &s);
        if (ret >= 0)
                goto out;

        if (quilt_client_unary(quilt_cli_client(), QUILT_METHOD_CREATE_CONTAINER, &req.base,
                               QUILT_CLI_TIMEOUT_MS, &resp, &err) < 0) {
                ret = quilt_cli_rpc_failed(&err);
                goto out;
        }
        const Quilt__V1__CreateContainerResponse *cr = (const Quilt__V1__CreateContainerResponse *)resp;
        if (!cr->container_id[0]) {
                fprintf(stderr, "quilt-cli: the daemon returned no container id\n");
                ret = QUILT_CLI_EXIT_FAILURE;
                goto out;
        }
        *ret_id = strdup(cr->container_id);
        if (!*ret_id) {
                fprintf(stderr, "quilt-cli: out of memory\n");
                ret = QUILT_CLI_EXIT_FAILURE;
        }
out:
        if (resp)
                protobuf_c_message_free_unpacked(resp, NULL);
        quilt_client_error_clear(&err);
        create_storage_free(&s);
        return ret;
}

int quilt_cmd_create(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        struct create_options o = {};
        char *id = NULL;

        int ret = do_create(cmd, argc, argv, false, &o, &id);
        create_options_free(&o);
        if (ret >= 0)
                return ret;
        printf("%s\n", id);
        free(id);
        return 0;
}

static volatile sig_atomic_t interrupts;

static void on_interrupt(int sig)
{
        /* After the second, let the next one end quilt-cli the usual way. */
        if (++interrupts >= 2) {
                struct sigaction sa = { .sa_handler = SIG_DFL };
                sigaction(SIGINT, &sa, NULL);
                sigaction(SIGTERM, &sa, NULL);
        }
}

struct run_state {
        const char *id;
        sig_atomic_t stops_sent;
};

/* Between log messages: turn each new Ctrl-C/SIGTERM into a stop.  The
 * stop call blocks for at most the grace period; log output waits. */
static void run_tick(void *userdata)
{
        struct run_state *rs = userdata;
        sig_atomic_t n = interrupts;
        struct quilt_client_error err = {};

        if (n <= rs->stops_sent)
                return;
        rs->stops_sent = n;
        if (quilt_cli_stop_container(rs->id, n == 1 ? RUN_STOP_TIMEOUT_S : -1, NULL, &err) < 0) {
                if (err.message)
                        quilt_cli_rpc_failed(&err);
                quilt_client_error_clear(&err);
        }
}

static bool state_ended(int state)
{
        return state == QUILT__V1__CONTAINER_STATE__CONTAINER_STATE_EXITED ||
               state == QUILT__V1__CONTAINER_STATE__CONTAINER_STATE_FAILED;
}

/* The final status, waiting briefly should the daemon end the log stream
 * a moment before it records the exit.  Returns -1 with *ret set, or the
 * exit status to end with. */
static int wait_final_status(const char *id, Quilt__V1__ContainerStatusResponse **ret)
{
        Quilt__V1__GetContainerStatusRequest req = QUILT__V1__GET_CONTAINER_STATUS_REQUEST__INIT;

        req.container_id = (char *)id;
        for (int waited = 0;; waited += RUN_STATUS_POLL_MS) {
                ProtobufCMessage *resp = NULL;
                int code = quilt_cli_call(QUILT_METHOD_GET_CONTAINER_STATUS, &req.base, QUILT_CLI_TIMEOUT_MS,
                                          &resp);
                if (code)
                        return code;
                Quilt__V1__ContainerStatusResponse *st = (Quilt__V1__ContainerStatusResponse *)resp;
                if (state_ended(st->state)) {
                        *ret = st;
                        return -1;
                }
                if (waited >= RUN_STATUS_WAIT_MS) {
                        fprintf(stderr, "quilt-cli: container %s is still %s after its output ended\n",
                                id, quilt_cli_state_name(st->state));
                        protobuf_c_message_free_unpacked(resp, NULL);
                        return QUILT_CLI_EXIT_FAILURE;
                }
                protobuf_c_message_free_unpacked(resp, NULL);
                nanosleep(&(struct timespec) { .tv_nsec = RUN_STATUS_POLL_MS * 1000000L }, NULL);
        }
}

static void remove_container(const char *id)
{
        Quilt__V1__RemoveContainerRequest req = QUILT__V1__REMOVE_CONTAINER_REQUEST__INIT;
        struct quilt_client_error err = {};
        ProtobufCMessage *resp = NULL;

        req.container_id = (char *)id;
        req.force = true;
        if (quilt_client_unary(quilt_cli_client(), QUILT_METHOD_REMOVE_CONTAINER, &req.base,
                               QUILT_CLI_TIMEOUT_MS, &resp, &err) < 0)
                quilt_cli_rpc_failed(&err);
        else
                protobuf_c_message_free_unpacked(resp, NULL);
        quilt_client_error_clear(&err);
}

int quilt_cmd_run(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        struct create_options o = {};
        struct quilt_client_error err = {};
        Quilt__V1__ContainerStatusResponse *st = NULL;
        char *id = NULL;
        struct run_state rs = {};
        struct quilt_cli_logs logs = {
                .follow = true,
                .survive_write_errors = true,
                .on_tick = run_tick,
                .userdata = &rs,
        };
        int ret;

        /* Installed before the create, so a Ctrl-C that lands while it is
         * in flight stops the new container instead of orphaning it. */
        struct sigaction sa = { .sa_handler = on_interrupt, .sa_flags = SA_RESTART };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        /* A closed stdout must not kill us before --rm has run. */
        signal(SIGPIPE, SIG_IGN);

        ret = do_create(cmd, argc, argv, true, &o, &id);
        if (ret >= 0)
                goto out;

        rs.id = id;
        if (quilt_cli_stream_logs(id, &logs, &err) < 0) {
                ret = quilt_cli_rpc_failed(&err);
                goto out;
        }
        ret = wait_final_status(id, &st);
        if (ret >= 0)
                goto out;

        ret = quilt_cli_exit_code(st);
        if (st->oom_killed)
                fprintf(stderr, "quilt-cli: container was killed by the OOM killer\n");

        if (o.rm)
                remove_container(id);
out:
        if (st)
                protobuf_c_message_free_unpacked(&st->base, NULL);
        quilt_client_error_clear(&err);
        create_options_free(&o);
        free(id);
        return ret;
}
