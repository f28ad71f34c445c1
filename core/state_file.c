/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state_file.h"
#include "util.h"

static void append_escaped(FILE *f, const char *s)
{
        for (; *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", f);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        }
}

static void unescape(char *s)
{
        char *w = s;
        for (char *r = s; *r; r++) {
                if (r[0] == '\\' && r[1] == 'n') {
                        *w++ = '\n';
                        r++;
                } else if (r[0] == '\\' && r[1] == '\\') {
                        *w++ = '\\';
                        r++;
                } else {
                        *w++ = *r;
                }
        }
        *w = '\0';
}

int quilt_run_state_write(const char *dir, const struct quilt_run_state *s)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return -ENOMEM;
        fprintf(f, "state=%s\nmonitor_pid=%d\npid=%d\nexit_code=%d\nexit_signal=%d\n"
                   "created_ns=%" PRId64 "\nstarted_ns=%" PRId64 "\nfinished_ns=%" PRId64
                   "\ncleaned=%d\nerror=",
                quilt_state_name(s->state) ?: "PENDING", (int)s->monitor_pid, (int)s->pid,
                s->exit_code, s->exit_signal, s->created_ns, s->started_ns, s->finished_ns,
                s->cleaned ? 1 : 0);
        append_escaped(f, s->error);
        fprintf(f, "\noom_killed=%d\nstats=%" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
                   "\nstats_ns=%" PRId64 "\n",
                s->oom_killed ? 1 : 0, s->stats.memory_current_bytes, s->stats.memory_peak_bytes,
                s->stats.cpu_usage_ns, s->stats.pids_current, s->stats.oom_kill_count, s->stats_ns);
        if (s->setup_command)
                fprintf(f, "setup_command=%u\n", (unsigned)s->setup_command);
        if (s->ready)
                fputs("ready=1\n", f);
        if (s->ip_address[0])
                fprintf(f, "ip_address=%s\n", s->ip_address);
        if (s->entered)         /* absent: not known (the monitor never got that far) */
                fprintf(f, "entered=%s\n", s->entered);
        if (fclose(f) != 0)
                return -ENOMEM;
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/" QUILT_STATE_FILE, dir) < 0)
                return -ENOMEM;
        return quilt_write_file_atomic(path, buf, len, 0600);
}

int quilt_run_state_read(const char *dir, struct quilt_run_state *ret)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        if (asprintf(&path, "%s/" QUILT_STATE_FILE, dir) < 0)
                return -ENOMEM;
        int r = quilt_read_file(path, 64 * 1024, &data, NULL);
        if (r < 0)
                return r;
        *ret = (struct quilt_run_state){
                .state = QUILT_STATE_PENDING,
                .stats = { .struct_size = sizeof(ret->stats), .memory_current_bytes = -1,
                           .memory_peak_bytes = -1, .cpu_usage_ns = -1, .pids_current = -1,
                           .oom_kill_count = -1 },
        };
        char *save = NULL;
        int result = 0;
        for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *eq = strchr(line, '=');
                if (!eq)
                        continue;
                *eq = '\0';
                char *v = eq + 1;
                if (!strcmp(line, "state")) {
                        int st = quilt_state_from_name(v);
                        if (st < 0) {
                                result = -EINVAL;
                                break;
                        }
                        ret->state = (enum quilt_state)st;
                } else if (!strcmp(line, "monitor_pid"))
                        ret->monitor_pid = (pid_t)atoi(v);
                else if (!strcmp(line, "pid"))
                        ret->pid = (pid_t)atoi(v);
                else if (!strcmp(line, "exit_code"))
                        ret->exit_code = atoi(v);
                else if (!strcmp(line, "exit_signal"))
                        ret->exit_signal = atoi(v);
                else if (!strcmp(line, "created_ns"))
                        ret->created_ns = strtoll(v, NULL, 10);
                else if (!strcmp(line, "started_ns"))
                        ret->started_ns = strtoll(v, NULL, 10);
                else if (!strcmp(line, "finished_ns"))
                        ret->finished_ns = strtoll(v, NULL, 10);
                else if (!strcmp(line, "ready"))
                        ret->ready = atoi(v) != 0;
                else if (!strcmp(line, "ip_address"))
                        snprintf(ret->ip_address, sizeof(ret->ip_address), "%s", v);
                else if (!strcmp(line, "setup_command"))
                        ret->setup_command = (uint32_t)strtoul(v, NULL, 10);
                else if (!strcmp(line, "oom_killed"))
                        ret->oom_killed = atoi(v) != 0;
                else if (!strcmp(line, "stats"))
                        sscanf(v, "%" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64,
                               &ret->stats.memory_current_bytes, &ret->stats.memory_peak_bytes,
                               &ret->stats.cpu_usage_ns, &ret->stats.pids_current,
                               &ret->stats.oom_kill_count);
                else if (!strcmp(line, "stats_ns"))
                        ret->stats_ns = strtoll(v, NULL, 10);
                else if (!strcmp(line, "entered")) {
                        free(ret->entered);
                        if (!(ret->entered = strdup(v))) {
                                result = -ENOMEM;
                                break;
                        }
                } else if (!strcmp(line, "cleaned"))
                        ret->cleaned = atoi(v) != 0;
                else if (!strcmp(line, "error")) {
                        unescape(v);
                        snprintf(ret->error, sizeof(ret->error), "%s", v);
                }
        }
        if (result < 0)
                quilt_run_state_done(ret);
        return result;
}

void quilt_run_state_done(struct quilt_run_state *s)
{
        free(s->entered);
        s->entered = NULL;
}
