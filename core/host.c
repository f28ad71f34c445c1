/* SPDX-License-Identifier: MIT */
/* The services table handed to every plugin's init (DESIGN habit 4):
 * plugins log, parse their section and remove trees through it and never
 * link against daemon internals. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "child_protocol.h"
#include "config.h"
#include "plugin_chain.h"
#include "root_path.h"
#include "util.h"

static const char *const level_names[] = {
        [QUILT_LOG_ERROR] = "error",
        [QUILT_LOG_WARNING] = "warning",
        [QUILT_LOG_INFO] = "info",
        [QUILT_LOG_DEBUG] = "debug",
};

/* quiltd calls plugin init from grpc threads: keep the level atomic. */
static int max_level = QUILT_LOG_INFO;

void quilt_host_set_log_level(int level)
{
        __atomic_store_n(&max_level, level, __ATOMIC_RELAXED);
}

/* One message is one line: a plugin's "\n" would let a message pose as
 * a line of its own in the daemon's log. */
static void flatten(char *s)
{
        size_t n = strlen(s);

        while (n > 0 && s[n - 1] == '\n')
                s[--n] = '\0';
        for (char *p = s; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
}

__attribute__((format(printf, 3, 4)))
static void host_log(enum quilt_log_level level, const char *plugin, const char *fmt, ...)
{
        int saved_errno = errno;
        va_list ap;

        if ((int)level < 0 || (int)level > __atomic_load_n(&max_level, __ATOMIC_RELAXED))
                return;
        const char *lname = (size_t)level < ELEMENTSOF(level_names) ? level_names[level] : "?";

        _cleanup_free_ char *msg = NULL;
        va_start(ap, fmt);
        int r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0) {
                msg = NULL;
                r = asprintf(&msg, "(out of memory formatting a message)");
        }
        if (r < 0)
                return;
        flatten(msg);

        /* The whole line in one write(): the daemon and every monitor share
         * stderr, and two writes could interleave with theirs. */
        _cleanup_free_ char *line = NULL;
        int n = plugin ? asprintf(&line, "quilt[%s] %s: %s\n", lname, plugin, msg)
                       : asprintf(&line, "quilt[%s] %s\n", lname, msg);
        if (n > 0)
                (void)quilt_write_all(STDERR_FILENO, line, (size_t)n);
        errno = saved_errno;
}

/* The container process's ends of the monitor's pipes: set by the
 * monitor's child before the in_child hooks run; -1 elsewhere. */
static int child_report_fd = -1, child_ack_fd = -1;

void quilt_host_set_child_channel(int report_fd, int ack_fd)
{
        child_report_fd = report_fd;
        child_ack_fd = ack_fd;
}

int quilt_child_report_phase(uint32_t setup_command, const char *command)
{
        if (child_report_fd < 0 || child_ack_fd < 0)
                return -ENOTCONN;
        struct quilt_child_message msg = { .type = QUILT_CHILD_PHASE, .setup_command = setup_command };
        if (command) {
                size_t n = strnlen(command, sizeof(msg.message) - 1);
                memcpy(msg.message, command, n);
        }
        int r = quilt_write_all(child_report_fd, &msg, sizeof(msg));
        if (r < 0)
                return r;
        /* Wait until the monitor has taken the output written so far as the
         * previous phase's: only then may this phase write anything. */
        char ack;
        ssize_t n;
        do
                n = read(child_ack_fd, &ack, 1);
        while (n < 0 && errno == EINTR);
        return n == 1 ? 0 : n < 0 ? -errno : -EPIPE;
}

static int host_child_phase(struct quilt_container *c, uint32_t setup_command, const char *command)
{
        (void)c;
        return quilt_child_report_phase(setup_command, command);
}

/* Set once, before any plugin is loaded (quiltd and the monitor, from
 * their configuration); NULL until then. */
static const char *host_state_dir_path;

void quilt_host_set_state_dir(const char *state_dir)
{
        host_state_dir_path = state_dir;
}

static const char *host_state_dir(void)
{
        return host_state_dir_path;
}

static const struct quilt_host host_table = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_host),
        .log = host_log,
        .config_apply = quilt_config_apply,
        .remove_tree = quilt_remove_tree,
        .child_phase = host_child_phase,
        .open_in_root = quilt_open_in_root,
        .state_dir = host_state_dir,
};

const struct quilt_host *quilt_host_table(void)
{
        return &host_table;
}
