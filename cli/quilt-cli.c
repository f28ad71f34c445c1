/* SPDX-License-Identifier: MIT */
/* quilt-cli: the command-line client of quiltd.  Global options, then one
 * command; each command parses its own options and makes its calls. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "workload.h"

#ifndef QUILT_VERSION
#define QUILT_VERSION "unknown"
#endif

#define DEFAULT_SOCKET "/run/quilt/quiltd.sock"

/* The options are many: the usage line names the shape, --help each one. */
#define CREATE_USAGE "--image (PATH|DIGEST|TAG) [OPTIONS] [--command \"STRING\" | -- ARGV...]" \
                     "   (no command: the image's default; OPTIONS: see --help)"

#define CREATE_HELP                                                                                     \
        "Options:\n"                                                                                     \
        "  --image REF             a rootfs tarball (a path), or a stored image: sha256:HEX,\n"          \
        "                          a unique prefix of HEX (>= 12 digits) or a tag\n"                     \
        "  --name N                a unique name\n"                                                      \
        "  -e, --env K[=V]         set K in the environment (K alone: copy it from ours)\n"              \
        "  --hostname H            the container's hostname\n"                                           \
        "  -w, --workdir D         the command's working directory\n"                                    \
        "  --profile P             a chain configured in the daemon's [profile.P]\n"                     \
        "  --command \"STRING\"      the command, split like sh does (or give it after --)\n"           \
        "  --memory SIZE           memory limit (64M, 1.5G, ...)\n"                                      \
        "  --memory-swap SIZE      memory and swap together\n"                                           \
        "  --cpus N                CPU time per wall time (0.5: half a CPU)\n"                           \
        "  --cpu-weight N          relative CPU share, 1..10000 (100: the default)\n"                    \
        "  --pids N                at most N processes\n"                                                \
        QUILT_CLI_WORKLOAD_HELP

#define RUN_HELP CREATE_HELP \
        "  --rm                    remove the container once it has ended\n"

#define LOGS_HELP                                                                                       \
        "Options:\n"                                                                                     \
        "  -f, --follow            keep printing new output until the container ends\n"                  \
        "  --setup                 only the output of the setup commands (--setup CMD)\n"                \
        "  --no-setup              only the output of the command, without the setup commands'\n"        \
        "Output goes to stdout or stderr as the container wrote it, unchanged.\n"

#define EXEC_HELP                                                                                       \
        "Options (before ID; everything after ID [--] is the command):\n"                               \
        "  -e, --env K[=V]         set K in the command's environment, over the container's\n"        \
        "                          (K alone: copy it from ours)\n"                                      \
        "  -w, --workdir D         working directory (default: the container's)\n"                     \
        "  -u, --user U[:G]        uid[:gid] or names of the container's /etc/passwd, /etc/group\n"     \
        "                          (default: the container's user)\n"                                   \
        "  -i, --interactive       send all of our stdin (at most 16 MiB, read before the command\n"  \
        "                          starts); without -i the command's stdin is empty\n"                 \
        "  -t, --timeout SECS      SIGKILL the command after SECS (0: no limit)\n"                      \
        "Output goes to stdout or stderr as the command writes it, unchanged.  Exit status: the\n"     \
        "command's; 128+N when killed by signal N; 124 when --timeout killed it (as timeout(1));\n"   \
        "1 when the call failed (NOT_FOUND: no such container, FAILED_PRECONDITION: not running).\n" \
        "When quilt-cli ends early (Ctrl-C), quiltd SIGKILLs the command.\n"

#define WAIT_HELP                                                                                       \
        "Options:\n"                                                                                     \
        "  -t, --timeout SECS      give up after SECS (0: wait without limit): DEADLINE_EXCEEDED,\n"    \
        "                          exit status 124\n"                                                   \
        "Prints the exit status and exits with it: the command's exit code; 128+N when a signal N\n"   \
        "ended it; 125 when the container FAILED (the error goes to stderr).  At once when the\n"      \
        "container has ended already.\n"

#define EVENTS_HELP                                                                                     \
        "Options:\n"                                                                                     \
        "  --json                  one JSON object per line: type, containerId, name, timeNs,\n"        \
        "                          sequence, attributes\n"                                              \
        "  -c, --container ID      only this container: an id, id prefix or name (matched per\n"       \
        "                          event, so a name also catches a container created later);\n"        \
        "                          repeat for more\n"                                                    \
        "  -t, --type T            only events of type T; repeat for more.  Types: created,\n"         \
        "                          setup-started, started, exec-started, exec-exited, oom,\n"          \
        "                          exited, stopped, removed, failed\n"                                   \
        "  --since WHEN            first the recent events the daemon still holds from WHEN on:\n"     \
        "                          a duration ago (10s, 5m, 2h, 1d) or an RFC 3339 time\n"             \
        "Lines: TIME TYPE ID NAME KEY=VALUE...  Runs until Ctrl-C (exit status 0).  A reader too\n"    \
        "slow for the daemon's ring of 4096 events gets one \"lost\" event with count=N.\n"

#define STATUS_HELP                                                                                     \
        "Options:\n"                                                                                     \
        "  --json                  as JSON, with the field names of the proto3 JSON mapping\n"          \
        "                          (containerId, state, ..., setupCommand, setupCommands, init,\n"       \
        "                          mounts, user, readOnlyRootfs, ready, network, ipAddress,\n"         \
        "                          ports)\n"                                                            \
        "While the setup commands run the state is SETUP and setup_command says which.\n"

#define PS_HELP                                                                                         \
        "Options:\n"                                                                                     \
        "  --json                  every container as status --json has it\n"                           \
        "  -a, --all               accepted from habit: every container is listed anyway\n"              \
        "STATE SETUP: setup commands run; STATUS then says which (setup N/M).\n"

#define VOLUME_HELP                                                                                     \
        "Commands:\n"                                                                                    \
        "  volume create NAME      make an empty volume; prints its name.  NAME:\n"                      \
        "                          [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 characters\n"                  \
        "  volume ls [--json]      list the volumes (also: volume list)\n"                               \
        "  volume rm NAME...       remove volumes and their data (also: volume remove); refused\n"       \
        "                          while a container (any state, until removed) mounts one\n"            \
        "Mount one with create/run -v NAME:/path or --mount type=volume,source=NAME,target=/path.\n"

static const struct quilt_cli_command commands[] = {
        { "create", quilt_cmd_create, CREATE_USAGE,
          "Create and start a container; print its id.", CREATE_HELP },
        { "run", quilt_cmd_run, "[--rm] " CREATE_USAGE,
          "Create a container, show its output and exit with its exit status.", RUN_HELP },
        { "status", quilt_cmd_status, "ID [--json]",
          "Show a container's state.", STATUS_HELP },
        { "logs", quilt_cmd_logs, "ID [-f] [--setup | --no-setup]",
          "Print a container's output; -f follows it until the container exits.", LOGS_HELP },
        { "exec", quilt_cmd_exec, "[-e K=V]... [-w DIR] [-u USER[:GROUP]] [-i] [-t SECS] ID [--] CMD [ARG...]",
          "Run a command in a running container and exit with its exit status.", EXEC_HELP },
        { "wait", quilt_cmd_wait, "ID [--timeout SECS]",
          "Wait until a container has ended; print its exit status and exit with it.", WAIT_HELP },
        { "events", quilt_cmd_events, "[--json] [--container ID]... [--type T]... [--since WHEN]",
          "Print container events (created, started, exited, ...) as they happen.", EVENTS_HELP },
        { "stop", quilt_cmd_stop, "ID... [-t SECS]",
          "Stop containers: SIGTERM, then SIGKILL after SECS (default 10; 0: at once).", NULL },
        { "rm", quilt_cmd_rm, "ID... [-f]",
          "Remove containers; -f also kills a running one.", NULL },
        { "ps", quilt_cmd_ps, "[--json] [-a]",
          "List all containers.", PS_HELP },
        { "stats", quilt_cmd_stats, "ID [--json]",
          "Show a container's memory, CPU and pids usage.", NULL },
        { "update", quilt_cmd_update, "ID " QUILT_CLI_RESOURCE_USAGE,
          "Change the resource limits of a running container; at least one option.", NULL },
        { "images", quilt_cmd_images, "[--json]",
          "List the stored images.", NULL },
        { "import", quilt_cmd_import, "PATH [--tag T]",
          "Unpack a rootfs tarball into the image store; print its digest.", NULL },
        { "pull", quilt_cmd_pull, "REF",
          "Fetch HOST[:PORT]/NAME[:TAG] from a registry into the image store; print its digest.", NULL },
        { "rmi", quilt_cmd_rmi, "REF...",
          "Remove stored images (digest, unique prefix or tag) no container uses.", NULL },
        { "volume", quilt_cmd_volume, "create NAME | ls [--json] | rm NAME...",
          "Create, list and remove named volumes (STATE_DIR/volumes).", VOLUME_HELP },
};

static void print_help(FILE *f)
{
        fprintf(f,
                "usage: quilt-cli [--socket PATH] COMMAND [OPTIONS]\n"
                "\n"
                "Commands:\n");
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(f, "  %-7s %s\n", commands[i].name, commands[i].summary);
        fprintf(f,
                "\n"
                "Options:\n"
                "  --socket PATH  quiltd's socket (default: $QUILT_SOCKET, else %s)\n"
                "  --help         this text; COMMAND --help for a command's options\n"
                "  --version      print the version\n",
                DEFAULT_SOCKET);
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
        va_list ap;

        fputs("quilt-cli: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputs("\nusage: quilt-cli [--socket PATH] COMMAND [OPTIONS]; see quilt-cli --help\n", stderr);
        return QUILT_CLI_EXIT_USAGE;
}

int main(int argc, char **argv)
{
        const char *socket = NULL;
        int i;

        /* Global options come before the command, hand-parsed so that the
         * command's getopt starts fresh on its own arguments. */
        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--") == 0) {
                        i++;
                        break;
                } else if (strcmp(a, "--socket") == 0) {
                        if (++i == argc)
                                return usage_error("%s needs a path", a);
                        socket = argv[i];
                } else if (strncmp(a, "--socket=", 9) == 0) {
                        socket = a + 9;
                } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        print_help(stdout);
                        return 0;
                } else if (strcmp(a, "--version") == 0) {
                        printf("quilt-cli %s\n", QUILT_VERSION);
                        return 0;
                } else
                        return usage_error("unknown option '%s'", a);
        }
        if (socket && !socket[0])
                return usage_error("--socket needs a path");
        if (i == argc)
                return usage_error("no command given");
        if (strcmp(argv[i], "help") == 0) {
                print_help(stdout);
                return 0;
        }

        const struct quilt_cli_command *cmd = NULL;
        for (size_t k = 0; k < sizeof(commands) / sizeof(commands[0]); k++)
                if (strcmp(argv[i], commands[k].name) == 0)
                        cmd = &commands[k];
        if (!cmd)
                return usage_error("unknown command '%s'", argv[i]);

        if (!socket) {
                socket = getenv("QUILT_SOCKET");
                if (!socket || !socket[0])
                        socket = DEFAULT_SOCKET;
        }
        quilt_cli_set_socket(socket);

        int ret = cmd->run(cmd, argc - i, argv + i);
        quilt_cli_close();

        /* Output that never made it out (full disk, closed pipe) is a failure. */
        if ((fflush(stdout) != 0 || ferror(stdout)) && ret == 0) {
                perror("quilt-cli: writing output");
                ret = QUILT_CLI_EXIT_FAILURE;
        }
        return ret;
}
