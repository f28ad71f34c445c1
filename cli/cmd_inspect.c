/* SPDX-License-Identifier: MIT */
/* quilt-cli status and ps. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json_out.h"
#include "shell_split.h"
#include "units.h"

#define EXITED QUILT__V1__CONTAINER_STATE__CONTAINER_STATE_EXITED
#define RUNNING QUILT__V1__CONTAINER_STATE__CONTAINER_STATE_RUNNING
#define FAILED QUILT__V1__CONTAINER_STATE__CONTAINER_STATE_FAILED
#define SETUP QUILT__V1__CONTAINER_STATE__CONTAINER_STATE_SETUP

/* "key: value" with the value on one line; empty values print as "-". */
static void print_field(const char *key, const char *value)
{
        char *v = quilt_cli_printable(value, 0);

        printf("%s: %s\n", key, v && v[0] ? v : "-");
        free(v);
}

static void print_int_field(const char *key, bool known, int64_t value)
{
        if (known)
                printf("%s: %lld\n", key, (long long)value);
        else
                printf("%s: -\n", key);
}

static void print_time_field(const char *key, int64_t ns)
{
        char buf[64];
        quilt_cli_format_time(ns, buf, sizeof(buf));
        printf("%s: %s\n", key, buf);
}

/* The limits in force, "-" for those not set. */
static void print_resources_human(const Quilt__V1__Resources *r)
{
        static const Quilt__V1__Resources none = QUILT__V1__RESOURCES__INIT;
        char buf[64];

        if (!r)
                r = &none;
        quilt_format_bytes_exact(r->memory_limit_bytes, buf, sizeof(buf));
        printf("memory_limit: %s\n", buf);
        quilt_format_bytes_exact(r->memory_swap_limit_bytes, buf, sizeof(buf));
        printf("memory_swap_limit: %s\n", buf);
        quilt_format_cpus(r->cpu_millicores, buf, sizeof(buf));
        printf("cpus: %s\n", buf);
        print_int_field("cpu_weight", r->cpu_weight > 0, r->cpu_weight);
        print_int_field("pids_limit", r->pids_limit > 0, r->pids_limit);
}

static void print_mount_human(const Quilt__V1__Mount *m)
{
        const char *type = m->type && m->type[0] ? m->type : "bind";
        char *source = quilt_cli_printable(m->source, 0);
        char *target = quilt_cli_printable(m->target, 0);
        char size[32] = "";

        printf("  %s %s%s-> %s", type, source ? source : "", m->source && m->source[0] ? " " : "",
               target ? target : "");
        if (!strcmp(type, "tmpfs")) {
                quilt_format_bytes_exact(m->size_bytes, size, sizeof(size));
                printf(" (size %s, mode %04o)", m->size_bytes > 0 ? size : "default",
                       m->mode ? m->mode : 01777);
        }
        printf("%s\n", m->read_only ? " ro" : "");
        free(source);
        free(target);
}

/* The workload fields: setup progress, init, user, root, mounts. */
static void print_workload_human(const Quilt__V1__ContainerStatusResponse *st)
{
        print_int_field("setup_commands", true, st->setup_commands);
        if (st->state == SETUP && st->setup_command > 0)
                printf("setup_command: %u of %u\n", st->setup_command, st->setup_commands);
        else
                printf("setup_command: -\n");
        print_field("init", st->init ? "yes" : "no");
        print_field("user", st->user[0] ? st->user : "root");
        print_field("read_only_rootfs", st->read_only_rootfs ? "yes" : "no");
        print_field("ready", st->ready ? "yes" : "no");
        print_int_field("mounts", st->n_mounts > 0, (int64_t)st->n_mounts);
        for (size_t i = 0; i < st->n_mounts; i++)
                print_mount_human(st->mounts[i]);
        print_field("network", st->network);
        print_field("ip_address", st->ip_address);
        print_int_field("ports", st->n_ports > 0, (int64_t)st->n_ports);
        for (size_t i = 0; i < st->n_ports; i++)
                printf("  %u->%u/%s\n", st->ports[i]->host_port, st->ports[i]->container_port,
                       st->ports[i]->protocol[0] ? st->ports[i]->protocol : "tcp");
}

static void print_status_human(const Quilt__V1__ContainerStatusResponse *st)
{
        bool exited = st->state == EXITED;
        char *command = quilt_shell_join(st->command, st->n_command);

        print_field("id", st->container_id);
        print_field("name", st->name);
        print_field("state", quilt_cli_state_name(st->state));
        print_int_field("pid", st->pid != 0, st->pid);
        /* Exit values mean nothing before the command has ended. */
        print_int_field("exit_code", exited, st->exit_code);
        print_int_field("exit_signal", exited, st->exit_signal);
        print_field("oom_killed", st->oom_killed ? "yes" : "no");
        print_field("error", st->error_message);
        print_time_field("created", st->created_at_ns);
        print_time_field("started", st->started_at_ns);
        print_time_field("finished", st->finished_at_ns);
        print_field("image", st->image);
        print_field("command", command);
        print_field("profile", st->profile);
        print_field("hostname", st->hostname);
        print_resources_human(st->resources);
        print_workload_human(st);
        free(command);
}

static int get_status(const char *id, Quilt__V1__ContainerStatusResponse **ret)
{
        Quilt__V1__GetContainerStatusRequest req = QUILT__V1__GET_CONTAINER_STATUS_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;

        req.container_id = (char *)id;
        int code = quilt_cli_call(QUILT_METHOD_GET_CONTAINER_STATUS, &req.base, QUILT_CLI_TIMEOUT_MS, &resp);
        if (code)
                return code;
        *ret = (Quilt__V1__ContainerStatusResponse *)resp;
        return 0;
}

int quilt_cmd_status(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        Quilt__V1__ContainerStatusResponse *st = NULL;
        const char *id = NULL;
        bool json;
        int c = quilt_cli_json_command(cmd, argc, argv, 1, &json, &id);

        if (c >= 0)
                return c;

        c = get_status(id, &st);
        if (c != 0)
                return c;
        if (json) {
                struct quilt_json j;
                quilt_json_init(&j, stdout);
                quilt_json_container(&j, st);
                quilt_json_finish(&j);
        } else
                print_status_human(st);
        protobuf_c_message_free_unpacked(&st->base, NULL);
        return 0;
}

/* The STATUS column: what a glance at the table should tell. */
static char *status_summary(const Quilt__V1__ContainerStatusResponse *st)
{
        char *s = NULL;
        int r;

        if (st->state == RUNNING && st->pid > 0)
                r = asprintf(&s, "pid %d", st->pid);
        else if (st->state == EXITED && st->exit_signal > 0) {
                const char *name = sigabbrev_np(st->exit_signal);
                const char *oom = st->oom_killed ? ", OOM" : "";
                r = name ? asprintf(&s, "killed (SIG%s%s)", name, oom)
                         : asprintf(&s, "killed (signal %d%s)", st->exit_signal, oom);
        } else if (st->state == EXITED)
                r = asprintf(&s, "exit %d", st->exit_code);
        else if (st->state == SETUP && st->setup_command > 0)
                r = asprintf(&s, "setup %u/%u", st->setup_command, st->setup_commands);
        else if (st->state == FAILED)
                r = asprintf(&s, "%s", st->error_message[0] ? st->error_message : "failed");
        else
                r = asprintf(&s, "-");
        return r < 0 ? NULL : s;
}

static int compare_created(const void *a, const void *b)
{
        const Quilt__V1__ContainerStatusResponse *x = *(Quilt__V1__ContainerStatusResponse *const *)a;
        const Quilt__V1__ContainerStatusResponse *y = *(Quilt__V1__ContainerStatusResponse *const *)b;

        if (x->created_at_ns != y->created_at_ns)
                return x->created_at_ns < y->created_at_ns ? -1 : 1;
        return strcmp(x->container_id, y->container_id);
}

enum { COL_ID, COL_NAME, COL_STATE, COL_IMAGE, COL_COMMAND, COL_STATUS, COLUMNS };

static const char *const column_titles[COLUMNS] = { "ID", "NAME", "STATE", "IMAGE", "COMMAND", "STATUS" };
/* Long images and commands are cut so one container stays on one line;
 * ps --json has everything. */
static const size_t column_limits[COLUMNS] = { 12, 32, 0, 40, 40, 48 };

static int print_table(Quilt__V1__ContainerStatusResponse **cs, size_t n)
{
        char **cells = calloc((n + 1) * COLUMNS, sizeof(char *));
        size_t width[COLUMNS] = {};
        int ret = 0;

        if (!cells)
                goto oom;
        for (size_t col = 0; col < COLUMNS; col++)
                if (!(cells[col] = strdup(column_titles[col])))
                        goto oom;
        for (size_t i = 0; i < n; i++) {
                const Quilt__V1__ContainerStatusResponse *st = cs[i];
                char **row = cells + (i + 1) * COLUMNS;
                char *command = quilt_shell_join(st->command, st->n_command);
                char *status = status_summary(st);
                const char *raw[COLUMNS] = {
                        [COL_ID] = st->container_id,
                        [COL_NAME] = st->name[0] ? st->name : "-",
                        [COL_STATE] = quilt_cli_state_name(st->state),
                        [COL_IMAGE] = st->image,
                        [COL_COMMAND] = command,
                        [COL_STATUS] = status,
                };
                bool ok = command && status;
                for (size_t col = 0; ok && col < COLUMNS; col++) {
                        /* The id is cut plainly (a prefix is still an id). */
                        if (col == COL_ID)
                                row[col] = strndup(raw[col], column_limits[col]);
                        else
                                row[col] = quilt_cli_printable(raw[col], column_limits[col]);
                        ok = row[col] != NULL;
                }
                free(command);
                free(status);
                if (!ok)
                        goto oom;
        }

        for (size_t i = 0; i <= n; i++)
                for (size_t col = 0; col < COLUMNS; col++) {
                        size_t w = quilt_cli_width(cells[i * COLUMNS + col]);
                        if (w > width[col])
                                width[col] = w;
                }
        for (size_t i = 0; i <= n; i++) {
                for (size_t col = 0; col < COLUMNS; col++) {
                        const char *cell = cells[i * COLUMNS + col];
                        if (col == COLUMNS - 1) {
                                printf("%s\n", cell);
                                break;
                        }
                        /* Pad by characters, not bytes, for UTF-8 names. */
                        printf("%s%*s", cell, (int)(width[col] - quilt_cli_width(cell) + 3), "");
                }
        }
        goto out;
oom:
        fprintf(stderr, "quilt-cli: out of memory\n");
        ret = QUILT_CLI_EXIT_FAILURE;
out:
        for (size_t i = 0; cells && i < (n + 1) * COLUMNS; i++)
                free(cells[i]);
        free(cells);
        return ret;
}

int quilt_cmd_ps(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "all", no_argument, NULL, 'a' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        Quilt__V1__ListContainersRequest req = QUILT__V1__LIST_CONTAINERS_REQUEST__INIT;
        ProtobufCMessage *resp = NULL;
        bool json = false;
        int c;

        while ((c = getopt_long(argc, argv, ":ah", options, NULL)) != -1) {
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'a':
                        /* Every container is listed anyway; accepted from habit. */
                        break;
                case 'h':
                        return quilt_cli_usage(cmd);
                default:
                        return quilt_cli_bad_option(cmd, c, argv);
                }
        }
        if (optind != argc)
                return quilt_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);

        c = quilt_cli_call(QUILT_METHOD_LIST_CONTAINERS, &req.base, QUILT_CLI_TIMEOUT_MS, &resp);
        if (c)
                return c;
        Quilt__V1__ListContainersResponse *list = (Quilt__V1__ListContainersResponse *)resp;
        /* Oldest first: a stable order whatever the daemon's map order is. */
        if (list->n_containers > 1)
                qsort(list->containers, list->n_containers, sizeof(list->containers[0]), compare_created);

        c = 0;
        if (json) {
                struct quilt_json j;
                quilt_json_init(&j, stdout);
                quilt_json_begin_object(&j);
                quilt_json_key(&j, "containers");
                quilt_json_begin_array(&j);
                for (size_t i = 0; i < list->n_containers; i++)
                        quilt_json_container(&j, list->containers[i]);
                quilt_json_end_array(&j);
                quilt_json_end_object(&j);
                quilt_json_finish(&j);
        } else
                c = print_table(list->containers, list->n_containers);
        protobuf_c_message_free_unpacked(resp, NULL);
        return c;
}
