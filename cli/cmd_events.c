/* SPDX-License-Identifier: MIT */
/* quilt-cli events: follow the daemon's event stream (StreamEvents), one
 * line per event, until Ctrl-C. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "json_out.h"
#include "status.h"        /* the gRPC status codes by name */

#define NS_PER_S 1000000000LL
/* Most --container and --type options one call takes. */
#define EVENTS_FILTER_MAX 64

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
        (void)sig;
        interrupted = 1;
}

static bool events_should_cancel(void *userdata)
{
        (void)userdata;
        return interrupted;
}

/* "10s", "5m", "2h", "1d", "90" (seconds), "1.5h": how long ago. */
static int parse_duration(const char *s, int64_t *ret_ns)
{
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || v < 0 || (*s < '0' || *s > '9'))
                return -EINVAL;
        double unit = !*end || !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60
                      : !strcmp(end, "h") ? 3600 : !strcmp(end, "d") ? 86400 : 0;
        if (unit == 0 || v * unit > 100.0 * 365 * 86400)
                return -EINVAL;
        *ret_ns = (int64_t)(v * unit * NS_PER_S);
        return 0;
}

/* RFC 3339: 2024-05-01T12:34:56[.frac](Z|+HH:MM|-HH:MM); 't' and ' ' for
 * 'T' accepted. */
static int parse_rfc3339(const char *s, int64_t *ret_ns)
{
        struct tm tm = { 0 };
        int n = 0;
        char sep;
        if (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &sep,
                   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 7 || n != 19 ||
            (sep != 'T' && sep != 't' && sep != ' '))
                return -EINVAL;
        if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
            tm.tm_min > 59 || tm.tm_sec > 60)
                return -EINVAL;
        const char *p = s + n;
        int64_t frac = 0;
        if (*p == '.') {
                int digits = 0;
                for (p++; *p >= '0' && *p <= '9'; p++, digits++)
                        if (digits < 9)
                                frac = frac * 10 + (*p - '0');
                if (digits == 0)
                        return -EINVAL;
                for (; digits < 9; digits++)
                        frac *= 10;
        }
        int64_t offset = 0;
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                int oh, om, k = 0;
                if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5 || oh > 23 || om > 59)
                        return -EINVAL;
                offset = (*p == '-' ? -1 : 1) * ((int64_t)oh * 3600 + om * 60);
                p += 6;
        } else
                return -EINVAL;
        if (*p)
                return -EINVAL;
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        time_t t = timegm(&tm);
        if (t == (time_t)-1 || t - offset <= 0)
                return -EINVAL;
        *ret_ns = ((int64_t)t - offset) * NS_PER_S + frac;
        return 0;
}

static int parse_since(const char *s, int64_t *ret_ns)
{
        int64_t ago;
        if (parse_rfc3339(s, ret_ns) == 0)
                return 0;
        if (parse_duration(s, &ago) < 0)
                return -EINVAL;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        *ret_ns = (int64_t)now.tv_sec * NS_PER_S + now.tv_nsec - ago;
        if (*ret_ns <= 0)
                *ret_ns = 1;
        return 0;
}

/* 2024-05-01T12:34:56.123456789Z */
static void format_time_ns(int64_t ns, char *buf, size_t size)
{
        char sec[32];
        quilt_cli_format_time(ns, sec, sizeof(sec));
        size_t len = strlen(sec);
        if (ns <= 0 || len == 0 || sec[len - 1] != 'Z') {
                snprintf(buf, size, "%s", sec);
                return;
        }
        sec[len - 1] = '\0';
        snprintf(buf, size, "%s.%09" PRId64 "Z", sec, (int64_t)(ns % NS_PER_S));
}

static void print_json(const Quilt__V1__Event *e)
{
        /* One compact object per line (the JSON Lines shape), proto3 JSON
         * field names, int64 as plain numbers like status --json. */
        struct quilt_json j;
        quilt_json_init_compact(&j, stdout);
        quilt_json_begin_object(&j);
        quilt_json_key(&j, "type");
        quilt_json_string(&j, e->type);
        quilt_json_key(&j, "containerId");
        quilt_json_string(&j, e->container_id);
        quilt_json_key(&j, "name");
        quilt_json_string(&j, e->name);
        quilt_json_key(&j, "timeNs");
        quilt_json_int(&j, e->time_ns);
        quilt_json_key(&j, "sequence");
        quilt_json_uint(&j, e->sequence);
        quilt_json_key(&j, "attributes");
        quilt_json_begin_object(&j);
        for (size_t i = 0; i < e->n_attributes; i++) {
                quilt_json_key(&j, e->attributes[i]->key);
                quilt_json_string(&j, e->attributes[i]->value);
        }
        quilt_json_end_object(&j);
        quilt_json_end_object(&j);
        quilt_json_finish(&j);
}

/* k=v, the value quoted when it is empty or has blanks or quotes. */
static int print_attribute(const char *key, const char *value)
{
        char *k = quilt_cli_printable(key, 0), *v = quilt_cli_printable(value, 0);
        if (!k || !v) {
                free(k);
                free(v);
                return -ENOMEM;
        }
        if (!*v || strpbrk(v, " \"")) {
                printf(" %s=\"", k);
                for (const char *p = v; *p; p++) {
                        if (*p == '"')
                                fputc('\\', stdout);
                        fputc(*p, stdout);
                }
                fputc('"', stdout);
        } else
                printf(" %s=%s", k, v);
        free(k);
        free(v);
        return 0;
}

static int print_human(const Quilt__V1__Event *e)
{
        char when[48];
        format_time_ns(e->time_ns, when, sizeof(when));
        char *type = quilt_cli_printable(e->type, 0), *name = quilt_cli_printable(e->name, 0);
        if (!type || !name) {
                free(type);
                free(name);
                return -ENOMEM;
        }
        printf("%s %s %.12s %s", when, type, e->container_id[0] ? e->container_id : "-",
               name[0] ? name : "-");
        free(type);
        free(name);
        for (size_t i = 0; i < e->n_attributes; i++)
                if (print_attribute(e->attributes[i]->key, e->attributes[i]->value) < 0)
                        return -ENOMEM;
        fputc('\n', stdout);
        return 0;
}

static int on_event(const ProtobufCMessage *msg, void *userdata)
{
        const Quilt__V1__Event *e = (const Quilt__V1__Event *)msg;
        const bool *json = userdata;

        if (*json)
                print_json(e);
        else if (print_human(e) < 0)
                return -ENOMEM;
        /* Each line as it happens, also into a pipe. */
        if (fflush(stdout) != 0 || ferror(stdout))
                return errno ? -errno : -EIO;
        return 0;
}

int quilt_cmd_events(const struct quilt_cli_command *cmd, int argc, char **argv)
{
        enum { OPT_JSON = 0x100, OPT_SINCE };
        static const struct option options[] = {
                { "json", no_argument, NULL, OPT_JSON },
                { "container", required_argument, NULL, 'c' },
                { "type", required_argument, NULL, 't' },
                { "since", required_argument, NULL, OPT_SINCE },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        char *containers[EVENTS_FILTER_MAX], *types[EVENTS_FILTER_MAX];
        size_t n_containers = 0, n_types = 0;
        int64_t since_ns = 0;
        bool json = false;
        int c;

        while ((c = getopt_long(argc, argv, ":c:t:h", options, NULL)) != -1) {
                switch (c) {
                case OPT_JSON:
                        json = true;
                        break;
                case 'c':
                case 't':
                        if (!optarg[0])
                                return quilt_cli_usage_error(cmd, "%s needs a value",
                                                             c == 'c' ? "--container" : "--type");
                        if ((c == 'c' ? n_containers : n_types) == EVENTS_FILTER_MAX)
                                return quilt_cli_usage_error(cmd, "at most %d %s options", EVENTS_FILTER_MAX,
                                                             c == 'c' ? "--container" : "--type");
                        if (c == 'c')
                                containers[n_containers++] = optarg;
                        else
                                types[n_types++] = optarg;
                        break;
                case OPT_SINCE:
                        if (parse_since(optarg, &since_ns) < 0)
                                return quilt_cli_usage_error(cmd,
                                        "--since %s: give a duration (10s, 5m, 2h, 1d) or an RFC 3339 time "
                                        "(2024-05-01T12:00:00Z)", optarg);
                        break;
                case 'h':
                        return quilt_cli_usage(cmd);
                default:
                        return quilt_cli_bad_option(cmd, c, argv);
                }
        }
        if (optind != argc)
                return quilt_cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);

        /* Ctrl-C or SIGTERM ends the stream cleanly at the next tick. */
        struct sigaction sa = { .sa_handler = on_interrupt };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        Quilt__V1__StreamEventsRequest req = QUILT__V1__STREAM_EVENTS_REQUEST__INIT;
        req.container_ids = containers;
        req.n_container_ids = n_containers;
        req.types = types;
        req.n_types = n_types;
        req.since_ns = since_ns;
        struct quilt_stream_ops ops = {
                .on_message = on_event,
                .tick_ms = 100,
                .should_cancel = events_should_cancel,
        };
        struct quilt_client_error err = {};
        int r = quilt_client_stream(quilt_cli_client(), QUILT_METHOD_STREAM_EVENTS, &req.base, 0, &ops,
                                    &json, &err);
        if (interrupted && (r == 0 || (r == -EIO && err.code == QUILT_CANCELLED)))
                c = 0;
        else if (r == -EIO)
                c = quilt_cli_rpc_failed(&err);
        else if (r < 0) {
                /* A reader that went away (| head) is not worth a message. */
                if (r != -EPIPE)
                        fprintf(stderr, "quilt-cli: writing events: %s\n", strerror(-r));
                c = QUILT_CLI_EXIT_FAILURE;
        } else
                c = 0;  /* the daemon ended the stream: it is shutting down */
        quilt_client_error_clear(&err);
        return c;
}
