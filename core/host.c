/* SPDX-License-Identifier: MIT */
/* The services table handed to every plugin's init (DESIGN habit 4):
 * plugins log, parse their section and remove trees through it and never
 * link against daemon internals. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "plugin_chain.h"
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

static const struct quilt_host host_table = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_host),
        .log = host_log,
        .config_apply = quilt_config_apply,
        .remove_tree = quilt_remove_tree,
};

const struct quilt_host *quilt_host_table(void)
{
        return &host_table;
}
