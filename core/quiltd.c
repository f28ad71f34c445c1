/* SPDX-License-Identifier: MIT */
/* quiltd: load and validate the configuration, take the state dir lock,
 * then serve QuiltService on the unix socket until SIGTERM, SIGINT or
 * SIGHUP, and stop every container on the way out. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grpc/grpc.h>

#include "config.h"
#include "manager.h"
#include "plugin_chain.h"
#include "server.h"
#include "util.h"

struct options {
        const char *config_path;
        const char *socket_path;
        const char *state_dir;
        const char *plugin_dir;
        bool check_config;
};

static void usage(FILE *f)
{
        fputs("Usage: quiltd [OPTION]...\n"
              "Run the Quilt container daemon.\n"
              "\n"
              "  --config PATH      configuration file (default " QUILT_DEFAULT_CONFIG ")\n"
              "  --socket PATH      listen on this unix socket (overrides the file)\n"
              "  --state-dir DIR    keep state here (overrides the file)\n"
              "  --plugin-dir DIR   load plugins from here (overrides the file)\n"
              "  --check-config     load the configuration and every plugin chain, print\n"
              "                     the chains and exit\n"
              "  --help             show this help\n"
              "  --version          show the version\n", f);
}

/* 0: go on; 1: done, exit 0 (--help, --version); negative: usage error. */
static int parse_args(int argc, char **argv, struct options *o)
{
        enum { OPT_CONFIG = 0x100, OPT_SOCKET, OPT_STATE_DIR, OPT_PLUGIN_DIR, OPT_CHECK_CONFIG,
               OPT_HELP, OPT_VERSION };
        static const struct option longopts[] = {
                { "config", required_argument, NULL, OPT_CONFIG },
                { "socket", required_argument, NULL, OPT_SOCKET },
                { "state-dir", required_argument, NULL, OPT_STATE_DIR },
                { "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
                { "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
                { "help", no_argument, NULL, OPT_HELP },
                { "version", no_argument, NULL, OPT_VERSION },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "", longopts, NULL)) >= 0) {
                switch (c) {
                case OPT_CONFIG:
                        o->config_path = optarg;
                        break;
                case OPT_SOCKET:
                        o->socket_path = optarg;
                        break;
                case OPT_STATE_DIR:
                        o->state_dir = optarg;
                        break;
                case OPT_PLUGIN_DIR:
                        o->plugin_dir = optarg;
                        break;
                case OPT_CHECK_CONFIG:
                        o->check_config = true;
                        break;
                case OPT_HELP:
                        usage(stdout);
                        return 1;
                case OPT_VERSION:
                        printf("quiltd %s\n", QUILT_VERSION);
                        return 1;
                default:
                        /* getopt has named the bad option already. */
                        usage(stderr);
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "quiltd: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return -EINVAL;
        }
        return 0;
}

static void config_freep(struct quilt_config **cfg)
{
        if (*cfg)
                quilt_config_free(*cfg);
}

static int apply_overrides(struct quilt_config *cfg, const struct options *o)
{
        int r = 0;
        if (o->socket_path && r >= 0)
                r = quilt_config_set_string(&cfg->socket_path, o->socket_path);
        if (o->state_dir && r >= 0)
                r = quilt_config_set_string(&cfg->state_dir, o->state_dir);
        if (o->plugin_dir && r >= 0)
                r = quilt_config_set_string(&cfg->plugin_dir, o->plugin_dir);
        return r;
}

static const char *entry_name(const struct quilt_chain_entry *e)
{
        return e->instance && e->instance[0] ? e->instance : e->plugin;
}

/* "default: ns -> rootfs" or "profile minimal: rootfs:chroot". */
static void print_chain(const struct quilt_profile *p)
{
        if (p->name && p->name[0])
                printf("profile %s: ", p->name);
        else
                fputs("default: ", stdout);
        if (p->n_entries == 0)
                fputs("(empty)", stdout);
        for (size_t i = 0; i < p->n_entries; i++)
                printf("%s%s", i > 0 ? " -> " : "", entry_name(&p->entries[i]));
        putchar('\n');
}

/* A plugin in the chain applies Resources (it has an update hook). */
static bool chain_has_resource_control(const struct quilt_plugin_chain *chain)
{
        for (size_t i = 0; i < chain->n; i++)
                if (QUILT_PLUGIN_FIELD(chain->plugins[i].plugin, update))
                        return true;
        return false;
}

/* Load every chain the way the monitors will, so a missing plugin, a
 * wrong ABI or a bad plugin section stops the daemon at start-up rather
 * than failing each container.  The chains are freed again: each monitor
 * loads its own copy. */
static int validate_chains(struct quilt_config *cfg, bool print, struct quilt_error *err)
{
        for (size_t i = 0; i < cfg->n_profiles; i++) {
                struct quilt_profile *p = &cfg->profiles[i];
                struct quilt_plugin_chain *chain = NULL;
                struct quilt_error e = {};

                int r = quilt_plugin_chain_load(cfg, p, quilt_host_table(), &chain, &e);
                if (r < 0) {
                        if (p->name && p->name[0])
                                return quilt_error_set(err, r, "profile %s: %s", p->name, e.message);
                        return quilt_error_set(err, r, "%s", e.message);
                }
                p->resource_control = chain_has_resource_control(chain);
                p->features = quilt_plugin_chain_features(chain);
                quilt_plugin_chain_free(chain);
                if (p->network && !(p->features & quilt_network_feature(p->network)))
                        return quilt_error_set(err, -EINVAL,
                                               "%s:%d: [%s%s] network: no plugin of the chain "
                                               "provides '%s'",
                                               cfg->path ? cfg->path : "(config)", p->network_line,
                                               p->name && p->name[0] ? "profile." : "plugins",
                                               p->name ? p->name : "", p->network);
                if (print)
                        print_chain(p);
        }
        return 0;
}

/* Every plugin instance of every chain, once, in first-seen order: the
 * chain whose daemon_start/daemon_stop quiltd runs. */
static int load_daemon_chain(struct quilt_config *cfg, struct quilt_plugin_chain **ret,
                             struct quilt_error *err)
{
        size_t total = 0;
        for (size_t i = 0; i < cfg->n_profiles; i++)
                total += cfg->profiles[i].n_entries;
        _cleanup_free_ struct quilt_chain_entry *entries = calloc(total ? total : 1, sizeof(*entries));
        if (!entries)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        size_t n = 0;
        for (size_t i = 0; i < cfg->n_profiles; i++)
                for (size_t j = 0; j < cfg->profiles[i].n_entries; j++) {
                        const struct quilt_chain_entry *e = &cfg->profiles[i].entries[j];
                        bool seen = false;
                        for (size_t k = 0; k < n && !seen; k++)
                                seen = !strcmp(entry_name(&entries[k]), entry_name(e));
                        if (!seen)
                                entries[n++] = *e;
                }
        struct quilt_profile all = { .name = "(daemon)", .n_entries = n, .entries = entries };
        /* The same plugins were just loaded to validate the chains: their
         * init has said its piece already. */
        quilt_host_set_log_level(cfg->log_level < QUILT_LOG_WARNING ? cfg->log_level : QUILT_LOG_WARNING);
        int r = quilt_plugin_chain_load(cfg, &all, quilt_host_table(), ret, err);
        quilt_host_set_log_level(cfg->log_level);
        return r;
}

static int read_self_exe(char **ret)
{
        for (size_t size = 256;; size *= 2) {
                _cleanup_free_ char *buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                ssize_t n = readlink("/proc/self/exe", buf, size);
                if (n < 0)
                        return -errno;
                if ((size_t)n < size) {
                        buf[n] = '\0';
                        *ret = TAKE_PTR(buf);
                        return 0;
                }
        }
}

/* quilt-monitor next to this quiltd (a build tree, a relocated install),
 * else the configured install path. */
static int resolve_monitor_path(struct quilt_config *cfg)
{
        if (cfg->monitor_path && cfg->monitor_path[0])
                return 0;

        _cleanup_free_ char *exe = NULL;
        _cleanup_free_ char *sibling = NULL;
        const char *path = QUILT_MONITOR_PATH_DEFAULT;
        if (read_self_exe(&exe) == 0) {
                char *slash = strrchr(exe, '/');
                if (slash) {
                        *slash = '\0';
                        if (asprintf(&sibling, "%s/quilt-monitor", exe) < 0)
                                return -ENOMEM;
                        if (access(sibling, X_OK) == 0)
                                path = sibling;
                }
        }
        return quilt_config_set_string(&cfg->monitor_path, path);
}

/* mkdir -p: parents get 0755, the last component `mode`.  An existing
 * directory is left as it is. */
static int mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        size_t len = strlen(p);
        while (len > 1 && p[len - 1] == '/')
                p[--len] = '\0';

        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0) {
                if (errno != EEXIST)
                        return -errno;
                struct stat st;
                if (stat(p, &st) < 0)
                        return -errno;
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
        }
        return 0;
}

static int make_dirs(const struct quilt_config *cfg, struct quilt_error *err)
{
        int r = mkdir_p(cfg->state_dir, 0700);
        if (r < 0)
                return quilt_error_set(err, r, "creating state dir %s: %s", cfg->state_dir,
                                       strerror(-r));

        _cleanup_free_ char *parent = strdup(cfg->socket_path);
        if (!parent)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        char *slash = strrchr(parent, '/');
        if (!slash || slash == parent)
                return 0;                       /* the cwd or /: nothing to create */
        *slash = '\0';
        r = mkdir_p(parent, 0755);
        if (r < 0)
                return quilt_error_set(err, r, "creating socket dir %s: %s", parent, strerror(-r));
        return 0;
}

/* One daemon per state dir.  Taken before the socket is touched: grpc
 * unlinks an existing socket file when it binds, even one a live daemon
 * is serving. */
static int take_lock(const char *state_dir, int *ret_fd, struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/quiltd.lock", state_dir) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");

        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return quilt_error_set(err, -errno, "open %s: %m", path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK)
                        return quilt_error_set(err, -EBUSY, "another quiltd is running with state dir %s",
                                               state_dir);
                return quilt_error_set(err, -errno, "flock %s: %m", path);
        }

        /* Only a hint for people: the lock itself is what counts. */
        char pid[32];
        int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) < 0)
                quilt_daemon_log(QUILT_LOG_DEBUG, "writing pid to %s: %m", path);

        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Shutdown signals, blocked in every thread and taken by one. */
struct signal_watch {
        pthread_t thread;
        sigset_t set;
        struct quilt_server *server;
};

static void *signal_thread(void *userdata)
{
        struct signal_watch *w = userdata;

        /* Cancellable only inside sigwaitinfo, never while holding the
         * stderr lock in the middle of a log line. */
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
        for (;;) {
                pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
                int sig = sigwaitinfo(&w->set, NULL);
                pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
                if (sig < 0) {
                        if (errno == EINTR)
                                continue;
                        quilt_daemon_log(QUILT_LOG_ERROR, "sigwaitinfo: %m");
                        return NULL;
                }
                quilt_daemon_log(QUILT_LOG_INFO, "received SIG%s, shutting down", sigabbrev_np(sig));
                quilt_server_request_shutdown(w->server);
        }
}

static void shutdown_signals(sigset_t *set)
{
        sigemptyset(set);
        sigaddset(set, SIGTERM);
        sigaddset(set, SIGINT);
        sigaddset(set, SIGHUP);
}

/* Everything between grpc_init and grpc_shutdown. */
static int serve(struct quilt_config *cfg, const struct quilt_plugin_chain *plugins, const char *config_path)
{
        struct quilt_error err = {};
        struct quilt_server *server = NULL;
        if (quilt_server_new(cfg, &server, &err) < 0) {
                quilt_daemon_log(QUILT_LOG_ERROR, "%s", err.message);
                return 1;
        }

        struct quilt_manager *manager = NULL;
        struct quilt_status st = {};
        if (quilt_manager_new(cfg, plugins, config_path, &manager, &st) < 0) {
                quilt_daemon_log(QUILT_LOG_ERROR, "%s", st.message);
                quilt_server_free(server);
                return 1;
        }

        struct signal_watch watch = { .server = server };
        shutdown_signals(&watch.set);
        int r = pthread_create(&watch.thread, NULL, signal_thread, &watch);
        if (r != 0) {
                quilt_daemon_log(QUILT_LOG_ERROR, "cannot start the signal thread: %s", strerror(r));
                quilt_server_free(server);
                quilt_manager_free(manager);
                return 1;
        }

        r = quilt_server_run(server, manager);

        pthread_cancel(watch.thread);
        pthread_join(watch.thread, NULL);
        /* The calls are over: the manager may go now, stopping every
         * container. */
        quilt_server_free(server);
        quilt_manager_free(manager);
        if (r < 0) {
                quilt_daemon_log(QUILT_LOG_ERROR, "server failed: %s", strerror(-r));
                return 1;
        }
        quilt_daemon_log(QUILT_LOG_INFO, "stopped");
        return 0;
}

static int run_daemon(struct quilt_config *cfg, const char *config_path)
{
        struct quilt_error err = {};

        quilt_host_set_state_dir(cfg->state_dir);
        if (validate_chains(cfg, false, &err) < 0) {
                quilt_daemon_log(QUILT_LOG_ERROR, "%s", err.message);
                return 1;
        }
        int r = resolve_monitor_path(cfg);
        if (r < 0) {
                quilt_daemon_log(QUILT_LOG_ERROR, "monitor path: %s", strerror(-r));
                return 1;
        }
        if (access(cfg->monitor_path, X_OK) < 0)
                quilt_daemon_log(QUILT_LOG_WARNING, "monitor %s: %m; containers will not start",
                                 cfg->monitor_path);

        if (make_dirs(cfg, &err) < 0) {
                quilt_daemon_log(QUILT_LOG_ERROR, "%s", err.message);
                return 1;
        }
        _cleanup_close_ int lock_fd = -1;
        if (take_lock(cfg->state_dir, &lock_fd, &err) < 0) {
                quilt_daemon_log(QUILT_LOG_ERROR, "%s", err.message);
                return 1;
        }

        /* Plugins' daemon-wide set-up runs while quiltd is still
         * single-threaded (e.g. moving itself into a leaf cgroup). */
        struct quilt_plugin_chain *daemon_chain = NULL;
        if (load_daemon_chain(cfg, &daemon_chain, &err) < 0 ||
            quilt_plugin_chain_daemon_start(daemon_chain, &err) < 0) {
                quilt_daemon_log(QUILT_LOG_ERROR, "%s", err.message);
                quilt_plugin_chain_free(daemon_chain);
                return 1;
        }

        /* Before grpc_init: threads inherit the mask, so only the signal
         * thread ever takes these.  SIGPIPE would kill us on a write to a
         * client that went away. */
        sigset_t set;
        shutdown_signals(&set);
        r = pthread_sigmask(SIG_BLOCK, &set, NULL);
        if (r != 0) {
                quilt_daemon_log(QUILT_LOG_ERROR, "pthread_sigmask: %s", strerror(r));
                quilt_plugin_chain_daemon_stop(daemon_chain);
                quilt_plugin_chain_free(daemon_chain);
                return 1;
        }
        signal(SIGPIPE, SIG_IGN);

        grpc_init();
        r = serve(cfg, daemon_chain, config_path);
        grpc_shutdown();
        quilt_plugin_chain_daemon_stop(daemon_chain);
        quilt_plugin_chain_free(daemon_chain);
        return r;
}

int main(int argc, char **argv)
{
        struct options o = { .config_path = QUILT_DEFAULT_CONFIG };
        int r = parse_args(argc, argv, &o);
        if (r != 0)
                return r > 0 ? 0 : 1;

        _cleanup_(config_freep) struct quilt_config *cfg = NULL;
        struct quilt_error err = {};
        if (quilt_config_load(o.config_path, &cfg, &err) < 0) {
                fprintf(stderr, "quiltd: %s\n", err.message);
                return 1;
        }
        r = apply_overrides(cfg, &o);
        if (r < 0) {
                fprintf(stderr, "quiltd: %s\n", strerror(-r));
                return 1;
        }
        quilt_daemon_set_log_level(cfg->log_level);
        quilt_host_set_log_level(cfg->log_level);

        if (o.check_config) {
                quilt_host_set_state_dir(cfg->state_dir);
                if (validate_chains(cfg, true, &err) < 0) {
                        fprintf(stderr, "quiltd: %s\n", err.message);
                        return 1;
                }
                return 0;
        }

        /* The monitors read the file again, maybe from another cwd. */
        _cleanup_free_ char *abs_config = realpath(o.config_path, NULL);
        return run_daemon(cfg, abs_config ? abs_config : o.config_path);
}
