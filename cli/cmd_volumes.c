/* SPDX-License-Identifier: MIT */
/* volume create, ls, rm: named volumes through CreateVolume, ListVolumes
 * and RemoveVolume. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"

static int volume_create(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        Quilt__V1__CreateVolumeRequest req = QUILT__V1__CREATE_VOLUME_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        int c = quilt_cli_help_option(cmd, argc, argv);

        if (c >= 0)
                return c;
        if (optind == argc)
                return quilt_cli_usage_error(cmd, "volume create: missing the volume's NAME");
        if (optind + 1 != argc)
                return quilt_cli_usage_error(cmd, "volume create: unexpected argument '%s'", argv[optind + 1]);
        /* The daemon checks the name: one rule, one message. */
        req.name = argv[optind];
        c = quilt_cli_call(QUILT_METHOD_CREATE_VOLUME, &req.base, QUILT_CLI_TIMEOUT_MS, &resp);
        if (c)
                return c;
        const Quilt__V1__CreateVolumeResponse *r = (const Quilt__V1__CreateVolumeResponse *)resp;
        printf("%s\n", r->volume ? r->volume->name : req.name);
        protobuf_c_message_free_unpacked(resp, NULL);
        return 0;
}

static void json_volume(struct quilt_json *j, const void *item)
{
        const Quilt__V1__Volume *v = item;
        quilt_json_begin_object(j);
        quilt_json_key(j, "name");
        quilt_json_string(j, v->name);
        quilt_json_key(j, "path");
        quilt_json_string(j, v->path);
        quilt_json_key(j, "createdAtNs");
        quilt_json_int(j, v->created_at_ns);
        quilt_json_key(j, "containers");
        quilt_json_int(j, v->containers);
        quilt_json_end_object(j);
}

static int print_volumes(void *const *items, size_t n)
{
        Quilt__V1__Volume *const *volumes = (Quilt__V1__Volume *const *)items;
        /* Names are at most 64 characters of [A-Za-z0-9_.-]: no escaping
         * needed, but a daemon is not trusted with the terminal. */
        size_t width = 4;
        for (size_t i = 0; i < n; i++)
                if (quilt_cli_width(volumes[i]->name) > width)
                        width = quilt_cli_width(volumes[i]->name);
        printf("%-*s   %-10s   %-20s   %s\n", (int)width, "NAME", "CONTAINERS", "CREATED", "PATH");
        for (size_t i = 0; i < n; i++) {
                char created[64];
                char *name = quilt_cli_printable(volumes[i]->name, 0);
                char *path = quilt_cli_printable(volumes[i]->path, 0);
                if (!name || !path) {
                        free(name);
                        free(path);
                        fprintf(stderr, "quilt-cli: out of memory\n");
                        return QUILT_CLI_EXIT_FAILURE;
                }
                quilt_cli_format_time(volumes[i]->created_at_ns, created, sizeof(created));
                printf("%-*s   %-10d   %-20s   %s\n", (int)width, name, (int)volumes[i]->containers,
                       created, path);
                free(name);
                free(path);
        }
        return 0;
}

static int volume_ls(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        Quilt__V1__ListVolumesRequest req = QUILT__V1__LIST_VOLUMES_REQUEST__INIT;
        const struct quilt_cli_list list = {
                .method = QUILT_METHOD_LIST_VOLUMES, .request = &req.base, .field = "volumes",
                .json_item = json_volume, .print = print_volumes,
        };
        return quilt_cli_list_command(cmd, argc, argv, &list);
}

/* Like rmi: each NAME in turn, the failures reported and the others still
 * removed; an unreachable daemon ends it. */
static int volume_rm(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        int ret = quilt_cli_help_option(cmd, argc, argv);

        if (ret >= 0)
                return ret;
        if (optind == argc)
                return quilt_cli_usage_error(cmd, "volume rm: missing the volume's NAME");
        Quilt__V1__RemoveVolumeRequest req = QUILT__V1__REMOVE_VOLUME_REQUEST__INIT;
        return quilt_cli_each(QUILT_METHOD_REMOVE_VOLUME, &req.base, "name", "name", argc - optind,
                              argv + optind);
}

int quilt_cmd_volume(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        static const struct {
                const char *name;
                int (*run)(const struct quilt_cli_command *cmd, int argc, char **argv);
        } subcommands[] = {
                { "create", volume_create },
                { "ls", volume_ls },
                { "list", volume_ls },
                { "rm", volume_rm },
                { "remove", volume_rm },
        };

        if (argc < 2)
                return quilt_cli_usage_error(cmd, "missing a volume command (create, ls, rm)");
        if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
                return quilt_cli_usage(cmd);
        for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
                if (!strcmp(argv[1], subcommands[i].name))
                        /* The subcommand's getopt starts on its own name. */
                        return subcommands[i].run(cmd, argc - 1, argv + 1);
        return quilt_cli_usage_error(cmd, "unknown volume command '%s' (create, ls, rm)", argv[1]);
}
