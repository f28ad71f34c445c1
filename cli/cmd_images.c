/* SPDX-License-Identifier: MIT */
/* images, import, pull, rmi: the image store through ImportImage,
 * ListImages, PullImage and RemoveImage. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"
#include "units.h"

/* "sha256:HEX" -> the first 12 hex digits. */
static const char *short_digest(const char *d, char buf[13])
{
        const char *hex = !strncmp(d, "sha256:", 7) ? d + 7 : d;
        snprintf(buf, 13, "%s", hex);
        return buf;
}

static void json_image(struct quilt_json *j, const void *item)
{
        const Quilt__V1__Image *img = item;
        quilt_json_begin_object(j);
        quilt_json_key(j, "digest");
        quilt_json_string(j, img->digest);
        quilt_json_key(j, "tags");
        quilt_json_begin_array(j);
        for (size_t i = 0; i < img->n_tags; i++)
                quilt_json_string(j, img->tags[i]);
        quilt_json_end_array(j);
        quilt_json_key(j, "source");
        quilt_json_string(j, img->source);
        quilt_json_key(j, "sizeBytes");
        quilt_json_int(j, img->size_bytes);
        quilt_json_key(j, "unpackedBytes");
        quilt_json_int(j, img->unpacked_bytes);
        quilt_json_key(j, "createdAtNs");
        quilt_json_int(j, img->created_at_ns);
        quilt_json_key(j, "containers");
        quilt_json_int(j, img->containers);
        quilt_json_end_object(j);
}

static int print_images(void *const *images, size_t n)
{
        printf("%-12s   %-30s   %-9s   %-10s   %s\n", "DIGEST", "TAGS", "SIZE", "CONTAINERS",
               "CREATED");
        for (size_t i = 0; i < n; i++) {
                const Quilt__V1__Image *img = images[i];
                char digest[13], size[32], created[64];
                size_t len = 0;
                for (size_t t = 0; t < img->n_tags; t++)
                        len += strlen(img->tags[t]) + 1;
                char *tags = malloc(len + 2);
                if (!tags) {
                        fprintf(stderr, "quilt-cli: out of memory\n");
                        return QUILT_CLI_EXIT_FAILURE;
                }
                tags[0] = '\0';
                for (size_t t = 0; t < img->n_tags; t++) {
                        if (t)
                                strcat(tags, ",");
                        strcat(tags, img->tags[t]);
                }
                char *shown = quilt_cli_printable(img->n_tags ? tags : "-", 0);
                free(tags);
                if (!shown) {
                        fprintf(stderr, "quilt-cli: out of memory\n");
                        return QUILT_CLI_EXIT_FAILURE;
                }
                quilt_format_bytes(img->size_bytes, size, sizeof(size));
                quilt_cli_format_time(img->created_at_ns, created, sizeof(created));
                printf("%-12s   %-30s   %-9s   %-10d   %s\n", short_digest(img->digest, digest),
                       shown, size, (int)img->containers, created);
                free(shown);
        }
        return 0;
}

int quilt_cmd_images(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        Quilt__V1__ListImagesRequest req = QUILT__V1__LIST_IMAGES_REQUEST__INIT;
        const struct quilt_cli_list list = {
                .method = QUILT_METHOD_LIST_IMAGES, .request = &req.base, .field = "images",
                .json_item = json_image, .print = print_images,
        };
        return quilt_cli_list_command(cmd, argc, argv, &list);
}

/* Unpacking a big image takes a while: a deadline of its own. */
#define IMPORT_TIMEOUT_MS (10 * 60 * 1000)

int quilt_cmd_import(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        static const struct option options[] = {
                { "tag", required_argument, NULL, 't' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        Quilt__V1__ImportImageRequest req = QUILT__V1__IMPORT_IMAGE_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        int c;

        while ((c = getopt_long(argc, argv, ":t:h", options, NULL)) != -1) {
                switch (c) {
                case 't':
                        req.tag = optarg;
                        break;
                case 'h':
                        return quilt_cli_usage(cmd);
                default:
                        return quilt_cli_bad_option(cmd, c, argv);
                }
        }
        if (optind == argc)
                return quilt_cli_usage_error(cmd, "missing the tarball's PATH");
        if (optind + 1 != argc)
                return quilt_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
        /* The daemon opens the file: make a relative path absolute here. */
        char *path = realpath(argv[optind], NULL);
        req.path = path ? path : argv[optind];
        c = quilt_cli_call(QUILT_METHOD_IMPORT_IMAGE, &req.base, IMPORT_TIMEOUT_MS, &resp);
        free(path);
        if (c)
                return c;
        const Quilt__V1__ImportImageResponse *r = (const Quilt__V1__ImportImageResponse *)resp;
        printf("%s\n", r->image ? r->image->digest : "");
        protobuf_c_message_free_unpacked(resp, NULL);
        return 0;
}

/* A pull downloads and unpacks: the same deadline as an import. */
int quilt_cmd_pull(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        Quilt__V1__PullImageRequest req = QUILT__V1__PULL_IMAGE_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        int c = quilt_cli_help_option(cmd, argc, argv);

        if (c >= 0)
                return c;
        if (optind == argc)
                return quilt_cli_usage_error(cmd, "missing the image REF (HOST[:PORT]/NAME[:TAG])");
        if (optind + 1 != argc)
                return quilt_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
        req.reference = argv[optind];
        c = quilt_cli_call(QUILT_METHOD_PULL_IMAGE, &req.base, IMPORT_TIMEOUT_MS, &resp);
        if (c)
                return c;
        const Quilt__V1__PullImageResponse *r = (const Quilt__V1__PullImageResponse *)resp;
        printf("%s\n", r->image ? r->image->digest : "");
        protobuf_c_message_free_unpacked(resp, NULL);
        return 0;
}

int quilt_cmd_rmi(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        int c = quilt_cli_help_option(cmd, argc, argv);

        if (c >= 0)
                return c;
        if (optind == argc)
                return quilt_cli_usage_error(cmd, "missing image REF");
        Quilt__V1__RemoveImageRequest req = QUILT__V1__REMOVE_IMAGE_REQUEST__INIT;
        return quilt_cli_each(QUILT_METHOD_REMOVE_IMAGE, &req.base, "image", "digest", argc - optind,
                              argv + optind);
}
