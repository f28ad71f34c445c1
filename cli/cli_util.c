/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "json_out.h"
#include "utf8.h"

static const char *socket_path = "/run/quilt/quiltd.sock";
static struct quilt_client *client;

void quilt_cli_set_socket(const char *path)
{
        socket_path = path;
}

const char *quilt_cli_socket(void)
{
        return socket_path;
}

struct quilt_client *quilt_cli_client(void)
{
        if (!client) {
                int r = quilt_client_open(socket_path, &client);
                if (r < 0) {
                        /* Only ENOMEM gets here; nothing sensible is left to do. */
                        fprintf(stderr, "quilt-cli: cannot set up a channel to %s: %s\n",
                                socket_path, strerror(-r));
                        exit(QUILT_CLI_EXIT_FAILURE);
                }
        }
        return client;
}

void quilt_cli_close(void)
{
        quilt_client_free(client);
        client = NULL;
}

int quilt_cli_rpc_failed(const struct quilt_client_error *err)
{
        const char *msg = err->message ? err->message : "(no message)";

        if (err->unreachable)
                fprintf(stderr, "quilt-cli: cannot reach quiltd at %s (is it running?): %s\n",
                        socket_path, msg);
        else
                fprintf(stderr, "quilt-cli: %s: %s\n", quilt_client_status_name(err->code), msg);
        return QUILT_CLI_EXIT_FAILURE;
}

int quilt_cli_call(enum quilt_method_id method, const ProtobufCMessage *req, int64_t timeout_ms,
                   ProtobufCMessage **ret_resp)
{
        struct quilt_client_error err = {};

        *ret_resp = NULL;
        if (quilt_client_unary(quilt_cli_client(), method, req, timeout_ms, ret_resp, &err) < 0) {
                int code = quilt_cli_rpc_failed(&err);
                quilt_client_error_clear(&err);
                return code;
        }
        return 0;
}

int quilt_cli_usage_error(const struct quilt_cli_command *cmd, const char *fmt, ...)
{
        va_list ap;

        fputs("quilt-cli: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nusage: quilt-cli [--socket PATH] %s %s\n", cmd->name, cmd->usage);
        return QUILT_CLI_EXIT_USAGE;
}

int quilt_cli_usage(const struct quilt_cli_command *cmd)
{
        printf("usage: quilt-cli [--socket PATH] %s %s\n  %s\n", cmd->name, cmd->usage, cmd->summary);
        if (cmd->help)
                printf("\n%s", cmd->help);
        return 0;
}

int quilt_cli_bad_option(const struct quilt_cli_command *cmd, int c, char **argv)
{
        /* optind already points past the offending argument. */
        const char *arg = argv[optind - 1];

        if (c == ':')
                return quilt_cli_usage_error(cmd, "option '%s' needs a value", arg);
        /* A bad short option may sit inside a cluster (-fx): name the
         * letter.  Long options leave optopt 0. */
        if (optopt)
                return quilt_cli_usage_error(cmd, "unknown option '-%c'", optopt);
        return quilt_cli_usage_error(cmd, "unknown option '%s'", arg);
}

int quilt_cli_exit_code(const Quilt__V1__ContainerStatusResponse *st)
{
        if (st->state == QUILT__V1__CONTAINER_STATE__CONTAINER_STATE_FAILED) {
                fprintf(stderr, "quilt-cli: container failed: %s\n",
                        st->error_message[0] ? st->error_message : "(no reason given)");
                return QUILT_CLI_EXIT_RUN_FAILED;
        }
        if (st->exit_signal > 0)
                return 128 + st->exit_signal;
        return st->exit_code & 0xff;
}

const char *quilt_cli_state_name(int state)
{
        static char other[32];

        switch (state) {
        case QUILT__V1__CONTAINER_STATE__CONTAINER_STATE_UNSPECIFIED:
                return "UNSPECIFIED";
        case QUILT__V1__CONTAINER_STATE__CONTAINER_STATE_PENDING:
                return "PENDING";
        case QUILT__V1__CONTAINER_STATE__CONTAINER_STATE_RUNNING:
                return "RUNNING";
        case QUILT__V1__CONTAINER_STATE__CONTAINER_STATE_EXITED:
                return "EXITED";
        case QUILT__V1__CONTAINER_STATE__CONTAINER_STATE_FAILED:
                return "FAILED";
        case QUILT__V1__CONTAINER_STATE__CONTAINER_STATE_SETUP:
                return "SETUP";
        }
        snprintf(other, sizeof(other), "STATE_%d", state);
        return other;
}

void quilt_cli_format_time(int64_t ns, char *buf, size_t size)
{
        /* UTC: no time zone files to read, and the same text on every host. */
        time_t t = (time_t)(ns / 1000000000);
        struct tm tm;

        if (ns <= 0 || !gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, size, "-");
}

char *quilt_cli_printable(const char *s, size_t max_width)
{
        const unsigned char *p = (const unsigned char *)(s ? s : "");
        size_t len = strlen((const char *)p);
        char *out, *o;

        /* Worst case: every byte becomes \xNN. */
        out = malloc(len * 4 + 4);
        if (!out)
                return NULL;
        o = out;
        for (size_t i = 0; i < len;) {
                unsigned char c = p[i];
                size_t n;

                if (c == '\n' || c == '\t' || c == '\r') {
                        *o++ = '\\';
                        *o++ = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
                        i++;
                } else if (c < 0x20 || c == 0x7f) {
                        o += sprintf(o, "\\x%02x", c);
                        i++;
                } else if (c < 0x80) {
                        *o++ = (char)c;
                        i++;
                } else if ((n = quilt_utf8_sequence(p + i, len - i)) > 0) {
                        memcpy(o, p + i, n);
                        o += n;
                        i += n;
                } else {
                        o += sprintf(o, "\\x%02x", c);
                        i++;
                }
        }
        *o = '\0';

        if (max_width >= 4 && quilt_cli_width(out) > max_width) {
                /* Keep max_width - 3 characters, then "...". */
                size_t chars = 0;
                for (o = out; *o; o++)
                        if (((unsigned char)*o & 0xC0) != 0x80 && chars++ == max_width - 3)
                                break;
                strcpy(o, "...");
        }
        return out;
}

size_t quilt_cli_width(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                if (((unsigned char)*s & 0xC0) != 0x80)
                        n++;
        return n;
}

int quilt_cli_help_option(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
                switch (c) {
                case 'h':
                        return quilt_cli_usage(cmd);
                default:
                        return quilt_cli_bad_option(cmd, c, argv);
                }
        }
        return -1;
}

int quilt_cli_json_command(const struct quilt_cli_command *cmd, int argc, char **argv, int n_ids,
                           bool *ret_json, const char **ret_id)
{
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        int c;

        *ret_json = false;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
                switch (c) {
                case 'j':
                        *ret_json = true;
                        break;
                case 'h':
                        return quilt_cli_usage(cmd);
                default:
                        return quilt_cli_bad_option(cmd, c, argv);
                }
        }
        if (n_ids == 0) {
                if (optind != argc)
                        return quilt_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
                return -1;
        }
        if (argc - optind != 1)
                return quilt_cli_usage_error(cmd, argc == optind ? "missing container ID" : "too many arguments");
        *ret_id = argv[optind];
        return -1;
}

int quilt_cli_list_command(const struct quilt_cli_command *cmd, int argc, char **argv,
                           const struct quilt_cli_list *list)
{
        ProtobufCMessage *resp = NULL;
        const char *unused = NULL;
        bool json;
        int c = quilt_cli_json_command(cmd, argc, argv, 0, &json, &unused);
        if (c >= 0)
                return c;
        c = quilt_cli_call(list->method, list->request, QUILT_CLI_TIMEOUT_MS, &resp);
        if (c)
                return c;
        /* The repeated field through protobuf-c's reflection: one code path
         * for every list response. */
        const ProtobufCFieldDescriptor *f =
                protobuf_c_message_descriptor_get_field_by_name(resp->descriptor, list->field);
        if (!f || f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE) {
                protobuf_c_message_free_unpacked(resp, NULL);
                fprintf(stderr, "quilt-cli: the response has no list '%s'\n", list->field);
                return QUILT_CLI_EXIT_FAILURE;
        }
        size_t n = *(const size_t *)((const char *)resp + f->quantifier_offset);
        void *const *items = *(void *const *const *)((const char *)resp + f->offset);
        c = 0;
        if (json) {
                struct quilt_json j;
                quilt_json_init(&j, stdout);
                quilt_json_begin_object(&j);
                quilt_json_key(&j, list->field);
                quilt_json_begin_array(&j);
                for (size_t i = 0; i < n; i++)
                        list->json_item(&j, items[i]);
                quilt_json_end_array(&j);
                quilt_json_end_object(&j);
                quilt_json_finish(&j);
        } else {
                c = list->print(items, n);
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        return c;
}

/* A string field of a message through protobuf-c's reflection. */
static char **string_field(ProtobufCMessage *msg, const char *name)
{
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, name);
        if (!f || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
                return NULL;
        return (char **)((char *)msg + f->offset);
}

int quilt_cli_each(enum quilt_method_id method, ProtobufCMessage *request, const char *request_field,
                   const char *response_field, int argc, char **argv)
{
        char **in = string_field(request, request_field);
        int ret = 0;
        if (!in) {
                fprintf(stderr, "quilt-cli: the request has no field '%s'\n", request_field);
                return QUILT_CLI_EXIT_FAILURE;
        }
        for (int i = 0; i < argc; i++) {
                struct quilt_client_error err = {};
                ProtobufCMessage *resp = NULL;
                *in = argv[i];
                if (quilt_client_unary(quilt_cli_client(), method, request, QUILT_CLI_TIMEOUT_MS, &resp,
                                       &err) < 0) {
                        ret = quilt_cli_rpc_failed(&err);
                        bool give_up = err.unreachable;
                        quilt_client_error_clear(&err);
                        if (give_up)
                                break;
                        continue;
                }
                char **out = string_field(resp, response_field);
                printf("%s\n", out && **out ? *out : argv[i]);
                protobuf_c_message_free_unpacked(resp, NULL);
        }
        return ret;
}

void quilt_cli_env_free(struct quilt_cli_env *e)
{
        for (size_t i = 0; i < e->n; i++)
                free(e->keys[i]);
        free(e->keys);
        free(e->values);
        *e = (struct quilt_cli_env) {};
}

int quilt_cli_env_resolve(const char *const *args, size_t n_args, struct quilt_cli_env *ret)
{
        struct quilt_cli_env e = {};

        *ret = e;
        if (n_args == 0)
                return 0;
        e.keys = calloc(n_args, sizeof(*e.keys));
        e.values = calloc(n_args, sizeof(*e.values));
        if (!e.keys || !e.values)
                goto oom;
        for (size_t i = 0; i < n_args; i++) {
                const char *eq = strchr(args[i], '=');
                char *key = strndup(args[i], eq ? (size_t)(eq - args[i]) : strlen(args[i]));
                if (!key)
                        goto oom;
                const char *value = eq ? eq + 1 : getenv(key);
                if (!value) {
                        free(key);
                        continue;
                }
                size_t k = 0;
                while (k < e.n && strcmp(e.keys[k], key) != 0)
                        k++;
                if (k == e.n)
                        e.keys[e.n++] = key;
                else
                        free(key);
                e.values[k] = value;
        }
        *ret = e;
        return 0;
oom:
        quilt_cli_env_free(&e);
        return -ENOMEM;
}

bool quilt_cli_user_spec_valid(const char *s)
{
        const char *colon = strchr(s, ':');
        return s[0] && s[0] != ':' && !(colon && (!colon[1] || strchr(colon + 1, ':')));
}
