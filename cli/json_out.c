/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <string.h>

#include "json_out.h"
#include "utf8.h"

void quilt_json_init(struct quilt_json *j, FILE *f)
{
        *j = (struct quilt_json) { .f = f };
}

void quilt_json_init_compact(struct quilt_json *j, FILE *f)
{
        *j = (struct quilt_json) { .f = f, .compact = true };
}

static void indent(struct quilt_json *j)
{
        if (j->compact)
                return;
        fputc('\n', j->f);
        for (unsigned i = 0; i < j->depth; i++)
                fputs("  ", j->f);
}

/* Separator and indentation before a value or a key. */
static void before_item(struct quilt_json *j)
{
        if (j->after_key) {
                j->after_key = false;
                return;
        }
        if (j->depth == 0)
                return;
        if (j->depth <= QUILT_JSON_MAX_DEPTH) {
                if (j->nonempty[j->depth - 1])
                        fputc(',', j->f);
                j->nonempty[j->depth - 1] = true;
        }
        indent(j);
}

static void begin(struct quilt_json *j, char c)
{
        before_item(j);
        fputc(c, j->f);
        j->depth++;
        if (j->depth <= QUILT_JSON_MAX_DEPTH)
                j->nonempty[j->depth - 1] = false;
}

static void end(struct quilt_json *j, char c)
{
        bool had_members = j->depth <= QUILT_JSON_MAX_DEPTH && j->nonempty[j->depth - 1];
        j->depth--;
        if (had_members)
                indent(j);
        fputc(c, j->f);
}

void quilt_json_begin_object(struct quilt_json *j) { begin(j, '{'); }
void quilt_json_end_object(struct quilt_json *j) { end(j, '}'); }
void quilt_json_begin_array(struct quilt_json *j) { begin(j, '['); }
void quilt_json_end_array(struct quilt_json *j) { end(j, ']'); }

void quilt_json_key(struct quilt_json *j, const char *key)
{
        before_item(j);
        quilt_json_write_string(j->f, key, strlen(key));
        fputs(j->compact ? ":" : ": ", j->f);
        j->after_key = true;
}

void quilt_json_string(struct quilt_json *j, const char *s)
{
        before_item(j);
        if (!s)
                s = "";
        quilt_json_write_string(j->f, s, strlen(s));
}

void quilt_json_int(struct quilt_json *j, int64_t v)
{
        before_item(j);
        fprintf(j->f, "%" PRId64, v);
}

void quilt_json_uint(struct quilt_json *j, uint64_t v)
{
        before_item(j);
        fprintf(j->f, "%" PRIu64, v);
}

void quilt_json_bool(struct quilt_json *j, bool v)
{
        before_item(j);
        fputs(v ? "true" : "false", j->f);
}

void quilt_json_finish(struct quilt_json *j)
{
        fputc('\n', j->f);
}

void quilt_json_write_string(FILE *f, const char *str, size_t len)
{
        const unsigned char *s = (const unsigned char *)str;

        fputc('"', f);
        for (size_t i = 0; i < len;) {
                unsigned char c = s[i];
                if (c == '"' || c == '\\') {
                        fputc('\\', f);
                        fputc(c, f);
                        i++;
                } else if (c < 0x20) {
                        fprintf(f, "\\u%04x", c);
                        i++;
                } else if (c < 0x80) {
                        fputc(c, f);
                        i++;
                } else {
                        size_t n = quilt_utf8_sequence(s + i, len - i);
                        if (n == 0) {
                                fputs("\\ufffd", f);
                                i++;
                        } else {
                                fwrite(s + i, 1, n, f);
                                i += n;
                        }
                }
        }
        fputc('"', f);
}

void quilt_json_resources(struct quilt_json *j, const Quilt__V1__Resources *r)
{
        static const Quilt__V1__Resources none = QUILT__V1__RESOURCES__INIT;

        if (!r)
                r = &none;
        quilt_json_begin_object(j);
        quilt_json_key(j, "memoryLimitBytes");
        quilt_json_int(j, r->memory_limit_bytes);
        quilt_json_key(j, "memorySwapLimitBytes");
        quilt_json_int(j, r->memory_swap_limit_bytes);
        quilt_json_key(j, "cpuMillicores");
        quilt_json_int(j, r->cpu_millicores);
        quilt_json_key(j, "cpuWeight");
        quilt_json_int(j, r->cpu_weight);
        quilt_json_key(j, "pidsLimit");
        quilt_json_int(j, r->pids_limit);
        quilt_json_end_object(j);
}

void quilt_json_mount(struct quilt_json *j, const Quilt__V1__Mount *m)
{
        quilt_json_begin_object(j);
        quilt_json_key(j, "type");
        /* The wire's empty type is a bind mount: say so. */
        quilt_json_string(j, m->type && m->type[0] ? m->type : "bind");
        quilt_json_key(j, "source");
        quilt_json_string(j, m->source);
        quilt_json_key(j, "target");
        quilt_json_string(j, m->target);
        quilt_json_key(j, "readOnly");
        quilt_json_bool(j, m->read_only);
        quilt_json_key(j, "sizeBytes");
        quilt_json_int(j, m->size_bytes);
        quilt_json_key(j, "mode");
        quilt_json_int(j, m->mode);
        quilt_json_end_object(j);
}

void quilt_json_container(struct quilt_json *j, const Quilt__V1__ContainerStatusResponse *st)
{
        const ProtobufCEnumValue *state =
                protobuf_c_enum_descriptor_get_value(&quilt__v1__container_state__descriptor, (int)st->state);

        quilt_json_begin_object(j);
        quilt_json_key(j, "containerId");
        quilt_json_string(j, st->container_id);
        quilt_json_key(j, "name");
        quilt_json_string(j, st->name);
        quilt_json_key(j, "state");
        /* The proto3 JSON mapping writes an enum value unknown to this
         * build (a newer daemon) as its number. */
        if (state)
                quilt_json_string(j, state->name);
        else
                quilt_json_int(j, (int64_t)st->state);
        quilt_json_key(j, "exitCode");
        quilt_json_int(j, st->exit_code);
        quilt_json_key(j, "exitSignal");
        quilt_json_int(j, st->exit_signal);
        quilt_json_key(j, "pid");
        quilt_json_int(j, st->pid);
        quilt_json_key(j, "errorMessage");
        quilt_json_string(j, st->error_message);
        quilt_json_key(j, "createdAtNs");
        quilt_json_int(j, st->created_at_ns);
        quilt_json_key(j, "startedAtNs");
        quilt_json_int(j, st->started_at_ns);
        quilt_json_key(j, "finishedAtNs");
        quilt_json_int(j, st->finished_at_ns);
        quilt_json_key(j, "image");
        quilt_json_string(j, st->image);
        quilt_json_key(j, "command");
        quilt_json_begin_array(j);
        for (size_t i = 0; i < st->n_command; i++)
                quilt_json_string(j, st->command[i]);
        quilt_json_end_array(j);
        quilt_json_key(j, "profile");
        quilt_json_string(j, st->profile);
        quilt_json_key(j, "hostname");
        quilt_json_string(j, st->hostname);
        quilt_json_key(j, "oomKilled");
        quilt_json_bool(j, st->oom_killed);
        quilt_json_key(j, "resources");
        quilt_json_resources(j, st->resources);
        quilt_json_key(j, "setupCommand");
        quilt_json_int(j, st->setup_command);
        quilt_json_key(j, "setupCommands");
        quilt_json_int(j, st->setup_commands);
        quilt_json_key(j, "init");
        quilt_json_bool(j, st->init);
        quilt_json_key(j, "mounts");
        quilt_json_begin_array(j);
        for (size_t i = 0; i < st->n_mounts; i++)
                quilt_json_mount(j, st->mounts[i]);
        quilt_json_end_array(j);
        quilt_json_key(j, "user");
        quilt_json_string(j, st->user);
        quilt_json_key(j, "readOnlyRootfs");
        quilt_json_bool(j, st->read_only_rootfs);
        quilt_json_key(j, "ready");
        quilt_json_bool(j, st->ready);
        quilt_json_key(j, "network");
        quilt_json_string(j, st->network);
        quilt_json_key(j, "ipAddress");
        quilt_json_string(j, st->ip_address);
        quilt_json_key(j, "ports");
        quilt_json_begin_array(j);
        for (size_t i = 0; i < st->n_ports; i++) {
                quilt_json_begin_object(j);
                quilt_json_key(j, "hostPort");
                quilt_json_int(j, st->ports[i]->host_port);
                quilt_json_key(j, "containerPort");
                quilt_json_int(j, st->ports[i]->container_port);
                quilt_json_key(j, "protocol");
                quilt_json_string(j, st->ports[i]->protocol);
                quilt_json_end_object(j);
        }
        quilt_json_end_array(j);
        quilt_json_end_object(j);
}
