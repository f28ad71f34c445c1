/* SPDX-License-Identifier: MIT */
/* quilt-cli: the command-line client of quiltd.  Global options, then one
 * command; each command parses its own options and makes its calls. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef QUILT_VERSION
#define QUILT_VERSION "unknown"
#endif

#define DEFAULT_SOCKET "/run/quilt/quiltd.sock"

#define CREATE_USAGE "--image (PATH|DIGEST|TAG) [--name N] [-e K[=V]]... [--hostname H] [--workdir D] [--profile P] " \
                     QUILT_CLI_RESOURCE_USAGE " [--command \"STRING\" | -- ARGV...]   (no command: the image's default)"

static const struct quilt_cli_command commands[] = {
        { "create", quilt_cmd_create, CREATE_USAGE,
          "Create and start a container; print its id." },
        { "run", quilt_cmd_run, "[--rm] " CREATE_USAGE,
          "Create a container, show its output and exit with its exit status." },
        { "status", quilt_cmd_status, "ID [--json]",
          "Show a container's state." },
        { "logs", quilt_cmd_logs, "ID [-f]",
          "Print a container's output; -f follows it until the container exits." },
        { "stop", quilt_cmd_stop, "ID... [-t SECS]",
          "Stop containers: SIGTERM, then SIGKILL after SECS (default 10; 0: at once)." },
        { "rm", quilt_cmd_rm, "ID... [-f]",
          "Remove containers; -f also kills a running one." },
        { "ps", quilt_cmd_ps, "[--json] [-a]",
          "List all containers." },
        { "stats", quilt_cmd_stats, "ID [--json]",
          "Show a container's memory, CPU and pids usage." },
        { "update", quilt_cmd_update, "ID " QUILT_CLI_RESOURCE_USAGE,
          "Change the resource limits of a running container; at least one option." },
        { "images", quilt_cmd_images, "[--json]",
          "List the stored images." },
        { "import", quilt_cmd_import, "PATH [--tag T]",
          "Unpack a rootfs tarball into the image store; print its digest." },
        { "pull", quilt_cmd_pull, "REF",
          "Fetch HOST[:PORT]/NAME[:TAG] from a registry into the image store; print its digest." },
        { "rmi", quilt_cmd_rmi, "REF...",
          "Remove stored images (digest, unique prefix or tag) no container uses." },
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
