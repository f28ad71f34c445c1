/* SPDX-License-Identifier: MIT */
/* quilt-monitor: supervises one container.  quiltd execs it (a fresh,
 * single-threaded image: never a fork of the threaded daemon).  It runs
 * the chain's stages, clones the container process, copies its output
 * into the log file, records the exit status in the container's
 * directory and tells quiltd about each step over the control socket
 * (see monitor_protocol.h).  Started with --cleanup at RemoveContainer
 * it runs the cleanup of every plugin the container reached, in reverse. */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>
#include <unistd.h>

#include "config.h"
#include "container_id.h"
#include "log_format.h"
#include "monitor.h"
#include "monitor_protocol.h"
#include "plugin_chain.h"
#include "quilt.pb-c.h"
#include "state_file.h"
#include "util.h"

struct monitor {
        const char *id;
        const char *dir;
        const char *config_path;
        const char *plugin_dir;
        const char *profile;
        bool cleanup_only;

        struct quilt_config *cfg;
        struct quilt_resources resources;
        struct quilt_plugin_chain *chain;
        Quilt__V1__CreateContainerRequest *spec;
        struct quilt_container c;
        char *rootfs;
        char **argv;
        char **envp;

        int control_fd;
        int signal_fd;
        int log_fd;
        struct quilt_log_pump pumps[2];
        struct quilt_run_state rs;
        pid_t child;
        int child_status;
        bool child_exited;
        int pending_signal;                     /* a stop that came before the child existed */
};

__attribute__((format(printf, 2, 3)))
static void say(struct monitor *m, const char *fmt, ...)
{
        char buf[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        dprintf(STDERR_FILENO, "quilt-monitor[%.12s]: %s\n", m->id ? m->id : "?", buf);
}

__attribute__((format(printf, 2, 3)))
static void notify(struct monitor *m, const char *fmt, ...)
{
        if (m->control_fd < 0)
                return;
        char buf[QUILT_MONITOR_MESSAGE_MAX];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
        if (send(m->control_fd, buf, len, MSG_NOSIGNAL) < 0 && errno != EINTR) {
                /* quiltd went away: keep supervising, the state file has it all. */
                close(m->control_fd);
                m->control_fd = -1;
        }
}

/* "ns,rootfs": the instances a later cleanup must run. */
static void record_entered(struct monitor *m)
{
        if (!m->chain)
                return;
        size_t len = 1;
        for (size_t i = 0; i < m->chain->n; i++)
                len += strlen(m->chain->plugins[i].instance) + 1;
        char *list = calloc(1, len);
        if (!list)
                return;
        for (size_t i = 0; i < m->chain->n; i++) {
                if (!m->chain->plugins[i].entered)
                        continue;
                if (*list)
                        strcat(list, ",");
                strcat(list, m->chain->plugins[i].instance);
        }
        free(m->rs.entered);
        m->rs.entered = list;
}

/* The reverse of record_entered, for the cleanup run.  Without a record
 * (the monitor died early) every plugin is cleaned: cleanup copes with a
 * half-built container. */
static void restore_entered(struct monitor *m)
{
        if (!m->rs.entered) {
                quilt_plugin_chain_enter_all(m->chain);
                return;
        }
        for (size_t i = 0; i < m->chain->n; i++) {
                const char *name = m->chain->plugins[i].instance;
                size_t n = strlen(name);
                for (const char *p = m->rs.entered; (p = strstr(p, name)); p += n)
                        if ((p == m->rs.entered || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) {
                                m->chain->plugins[i].entered = true;
                                break;
                        }
        }
}

static void save_state(struct monitor *m)
{
        record_entered(m);
        int r = quilt_run_state_write(m->dir, &m->rs);
        if (r < 0)
                say(m, "writing %s/state: %s", m->dir, strerror(-r));
}

static void kill_container(struct monitor *m, int sig)
{
        if (m->child <= 0 || m->child_exited)
                return;
        if (sig == SIGKILL) {
                /* A cgroup reaches every process, also ones that left the
                 * init's process group. */
                struct quilt_error err = { 0 };
                int r = quilt_plugin_chain_kill(m->chain, &m->c, SIGKILL, &err);
                if (r < 0 && r != -EOPNOTSUPP)
                        say(m, "%s", err.message);
                /* Without a pid namespace the container's processes share the
                 * session/process group its init made with setsid(). */
                if (!(m->c.clone_flags & CLONE_NEWPID))
                        kill(-m->child, SIGKILL);
        }
        kill(m->child, sig);
}

static void stats_preset(struct quilt_stats *st)
{
        *st = (struct quilt_stats){
                .struct_size = sizeof(*st),
                .memory_current_bytes = -1, .memory_peak_bytes = -1, .cpu_usage_ns = -1,
                .pids_current = -1, .oom_kill_count = -1,
        };
}

/* "stats SEQ": answer with what the chain accounts. */
static void answer_stats(struct monitor *m, unsigned long seq)
{
        struct quilt_stats st;
        struct quilt_error err = { 0 };
        stats_preset(&st);
        if (quilt_plugin_chain_stats(m->chain, &m->c, &st, &err) < 0) {
                notify(m, "reply %lu error %s", seq, err.message);
                return;
        }
        notify(m, "reply %lu ok %lld %lld %lld %lld %lld", seq, (long long)st.memory_current_bytes,
               (long long)st.memory_peak_bytes, (long long)st.cpu_usage_ns,
               (long long)st.pids_current, (long long)st.oom_kill_count);
}

/* "update SEQ MEM SWAP MILLICORES WEIGHT PIDS": new limits, 0 = keep. */
static void answer_update(struct monitor *m, unsigned long seq, const struct quilt_resources *r)
{
        struct quilt_error err = { 0 };
        if (m->rs.state != QUILT_STATE_RUNNING || m->child_exited) {
                notify(m, "reply %lu error the container is not running", seq);
                return;
        }
        if (quilt_plugin_chain_update(m->chain, &m->c, r, &err) < 0) {
                notify(m, "reply %lu error %s", seq, err.message);
                return;
        }
        int64_t *dst[] = { &m->resources.memory_limit_bytes, &m->resources.memory_swap_limit_bytes,
                           &m->resources.cpu_millicores, &m->resources.cpu_weight,
                           &m->resources.pids_limit };
        const int64_t src[] = { r->memory_limit_bytes, r->memory_swap_limit_bytes, r->cpu_millicores,
                                r->cpu_weight, r->pids_limit };
        for (size_t i = 0; i < ELEMENTSOF(src); i++)
                if (src[i])
                        *dst[i] = src[i];
        notify(m, "reply %lu ok", seq);
}

static void handle_control(struct monitor *m)
{
        char buf[QUILT_MONITOR_MESSAGE_MAX];
        ssize_t n = recv(m->control_fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                close(m->control_fd);
                m->control_fd = -1;
                return;
        }
        buf[n] = '\0';
        int sig;
        unsigned long seq;
        long long v[5];
        if (sscanf(buf, "signal %d", &sig) == 1 && sig > 0 && sig < NSIG) {
                if (m->rs.state == QUILT_STATE_RUNNING)
                        kill_container(m, sig);
                else
                        m->pending_signal = sig;
        } else if (sscanf(buf, "stats %lu", &seq) == 1) {
                answer_stats(m, seq);
        } else if (sscanf(buf, "update %lu %lld %lld %lld %lld %lld", &seq, &v[0], &v[1], &v[2],
                          &v[3], &v[4]) == 6) {
                struct quilt_resources r = {
                        .struct_size = sizeof(r), .memory_limit_bytes = v[0],
                        .memory_swap_limit_bytes = v[1], .cpu_millicores = v[2],
                        .cpu_weight = v[3], .pids_limit = v[4],
                };
                answer_update(m, seq, &r);
        } else {
                say(m, "ignoring unknown control message '%.64s'", buf);
        }
}

/* Take messages that arrived while we were busy (e.g. extracting). */
static void poll_control(struct monitor *m)
{
        while (m->control_fd >= 0) {
                struct pollfd p = { .fd = m->control_fd, .events = POLLIN };
                if (poll(&p, 1, 0) <= 0)
                        return;
                handle_control(m);
        }
}

static void reap(struct monitor *m)
{
        for (;;) {
                int status;
                pid_t p = waitpid(-1, &status, WNOHANG);
                if (p <= 0)
                        return;
                if (p == m->child) {
                        m->child_exited = true;
                        m->child_status = status;
                }
        }
}

static void drain_signalfd(struct monitor *m)
{
        struct signalfd_siginfo si;
        while (read(m->signal_fd, &si, sizeof(si)) == sizeof(si))
                ;
}

/* Read what is left in the output pipes.  Processes of a container
 * without a pid namespace may still hold them open: give up after a
 * short quiet period instead of waiting for EOF forever. */
static void drain_output(struct monitor *m)
{
        for (int quiet = 0; quiet < 3;) {
                struct pollfd p[2];
                nfds_t n = 0;
                for (int i = 0; i < 2; i++)
                        if (m->pumps[i].fd >= 0)
                                p[n++] = (struct pollfd){ .fd = m->pumps[i].fd, .events = POLLIN };
                if (n == 0)
                        return;
                int r = poll(p, n, 100);
                if (r < 0 && errno != EINTR)
                        return;
                if (r <= 0) {
                        quiet++;
                        continue;
                }
                for (int i = 0; i < 2; i++)
                        if (quilt_log_pump_read(&m->pumps[i], m->log_fd) < 0)
                                return;
                reap(m);
        }
}

static void close_pumps(struct monitor *m)
{
        for (int i = 0; i < 2; i++) {
                quilt_closep(&m->pumps[i].fd);
                m->pumps[i].fd = -1;
        }
}

static void set_failed(struct monitor *m, const char *message)
{
        m->rs.state = QUILT_STATE_FAILED;
        m->rs.finished_ns = quilt_now_ns();
        snprintf(m->rs.error, sizeof(m->rs.error), "%s", message);
        say(m, "failed: %s", message);
        save_state(m);
        notify(m, "failed %s", message);
}

static void wait_child(struct monitor *m)
{
        while (m->child > 0 && !m->child_exited) {
                int status;
                pid_t p = waitpid(m->child, &status, 0);
                if (p == m->child) {
                        m->child_exited = true;
                        m->child_status = status;
                } else if (p < 0 && errno != EINTR) {
                        break;
                }
        }
        reap(m);
}

/* Fork semantics (no new stack): the monitor is single-threaded.  With a
 * cgroup2 fd from a plugin the child is born inside its cgroup
 * (CLONE_INTO_CGROUP), so not even its first page is charged elsewhere;
 * older kernels fall back to clone() and post_start places it. */
static pid_t clone_container(struct monitor *m)
{
        if (m->c.cgroup_fd >= 0) {
                struct clone_args args = {
                        .flags = (m->c.clone_flags & ~(unsigned long)CSIGNAL) | CLONE_INTO_CGROUP,
                        .exit_signal = SIGCHLD,
                        .cgroup = (uint64_t)m->c.cgroup_fd,
                };
                long pid = syscall(SYS_clone3, &args, sizeof(args));
                if (pid >= 0)
                        return (pid_t)pid;
                if (errno != ENOSYS && errno != E2BIG && errno != EINVAL && errno != EOPNOTSUPP)
                        say(m, "clone3 into the cgroup: %s; falling back to clone", strerror(errno));
        }
        return (pid_t)syscall(SYS_clone, m->c.clone_flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

/* Clone the container process and let it reach exec.  Returns 0 when the
 * command runs, -1 when the container ended FAILED. */
static int start_container(struct monitor *m)
{
        struct quilt_error err = { 0 };
        _cleanup_close_ int devnull = -1, sync_r = -1, sync_w = -1, err_r = -1, err_w = -1;
        _cleanup_close_ int out_w = -1, errout_w = -1;
        int out[2], errout[2], sync_pipe[2], err_pipe[2];

        if (quilt_plugin_chain_run(m->chain, QUILT_STAGE_PREPARE_ROOTFS, &m->c, &err) < 0 ||
            quilt_plugin_chain_run(m->chain, QUILT_STAGE_PRE_CLONE, &m->c, &err) < 0) {
                set_failed(m, err.message);
                return -1;
        }
        poll_control(m);
        if (m->pending_signal) {
                set_failed(m, "stopped before the command started");
                return -1;
        }

        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0 || pipe2(out, O_CLOEXEC) < 0) {
                set_failed(m, "creating pipes failed");
                return -1;
        }
        m->pumps[0] = (struct quilt_log_pump){ .fd = out[0], .stream = QUILT_LOG_STDOUT };
        out_w = out[1];
        if (pipe2(errout, O_CLOEXEC) < 0 || pipe2(sync_pipe, O_CLOEXEC) < 0) {
                set_failed(m, "creating pipes failed");
                return -1;
        }
        m->pumps[1] = (struct quilt_log_pump){ .fd = errout[0], .stream = QUILT_LOG_STDERR };
        errout_w = errout[1];
        sync_r = sync_pipe[0];
        sync_w = sync_pipe[1];
        if (pipe2(err_pipe, O_CLOEXEC) < 0) {
                set_failed(m, "creating pipes failed");
                return -1;
        }
        err_r = err_pipe[0];
        err_w = err_pipe[1];

        pid_t pid = clone_container(m);
        if (pid < 0) {
                char msg[256];
                snprintf(msg, sizeof(msg), "clone: %s", strerror(errno));
                set_failed(m, msg);
                return -1;
        }
        if (pid == 0) {
                const int monitor_fds[] = { sync_w, err_r, m->pumps[0].fd, m->pumps[1].fd,
                                            m->control_fd, m->signal_fd, m->log_fd };
                struct quilt_child_setup setup = {
                        .close_fds = monitor_fds,
                        .n_close_fds = ELEMENTSOF(monitor_fds),
                        .chain = m->chain,
                        .container = &m->c,
                        .stdin_fd = devnull,
                        .stdout_fd = out_w,
                        .stderr_fd = errout_w,
                        .sync_fd = sync_r,
                        .error_fd = err_w,
                };
                quilt_monitor_child(&setup);
        }

        m->child = pid;
        m->c.pid = pid;
        m->rs.pid = pid;
        save_state(m);
        notify(m, "pid %d", (int)pid);
        quilt_plugin_chain_enter_all(m->chain);
        quilt_closep(&out_w);
        quilt_closep(&errout_w);
        quilt_closep(&sync_r);
        quilt_closep(&err_w);
        out_w = errout_w = sync_r = err_w = -1;

        for (int i = 0; i < 2; i++)
                fcntl(m->pumps[i].fd, F_SETFL, O_NONBLOCK);

        if (quilt_plugin_chain_run(m->chain, QUILT_STAGE_POST_START, &m->c, &err) < 0) {
                quilt_closep(&sync_w);          /* EOF: the child gives up */
                sync_w = -1;
                kill(m->child, SIGKILL);
                wait_child(m);
                set_failed(m, err.message);
                return -1;
        }
        poll_control(m);
        if (m->pending_signal) {
                quilt_closep(&sync_w);
                sync_w = -1;
                kill(m->child, SIGKILL);
                wait_child(m);
                set_failed(m, "stopped before the command started");
                return -1;
        }
        if (quilt_write_all(sync_w, "g", 1) < 0) {
                wait_child(m);
                set_failed(m, "the container process died before it started");
                return -1;
        }

        /* EOF on the CLOEXEC error pipe means exec succeeded. */
        struct quilt_child_error cerr;
        ssize_t n;
        do
                n = read(err_r, &cerr, sizeof(cerr));
        while (n < 0 && errno == EINTR);
        if (n != 0) {
                wait_child(m);
                drain_output(m);
                if (n == (ssize_t)sizeof(cerr)) {
                        cerr.message[sizeof(cerr.message) - 1] = '\0';
                        set_failed(m, cerr.message);
                } else {
                        set_failed(m, "the container process died before exec");
                }
                return -1;
        }
        m->rs.state = QUILT_STATE_RUNNING;
        m->rs.started_ns = quilt_now_ns();
        save_state(m);
        notify(m, "running %lld", (long long)m->rs.started_ns);
        if (m->pending_signal)
                kill_container(m, m->pending_signal);
        return 0;
}

static void supervise(struct monitor *m)
{
        while (!m->child_exited) {
                struct pollfd p[4];
                int kinds[4];
                nfds_t n = 0;
                for (int i = 0; i < 2; i++)
                        if (m->pumps[i].fd >= 0) {
                                kinds[n] = i;
                                p[n++] = (struct pollfd){ .fd = m->pumps[i].fd, .events = POLLIN };
                        }
                if (m->control_fd >= 0) {
                        kinds[n] = 2;
                        p[n++] = (struct pollfd){ .fd = m->control_fd, .events = POLLIN };
                }
                kinds[n] = 3;
                p[n++] = (struct pollfd){ .fd = m->signal_fd, .events = POLLIN };

                if (poll(p, n, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        say(m, "poll: %s", strerror(errno));
                        break;
                }
                for (nfds_t i = 0; i < n; i++) {
                        if (!p[i].revents)
                                continue;
                        if (kinds[i] < 2) {
                                int r = quilt_log_pump_read(&m->pumps[kinds[i]], m->log_fd);
                                if (r < 0) {
                                        /* A full disk must not block the container: drop. */
                                        say(m, "writing the log: %s", strerror(-r));
                                }
                        } else if (kinds[i] == 2) {
                                handle_control(m);
                        } else {
                                drain_signalfd(m);
                                reap(m);
                        }
                }
        }
        wait_child(m);
        if (!(m->c.clone_flags & CLONE_NEWPID) && m->child > 0) {
                /* Without a pid namespace the init's exit does not end the
                 * rest: its group, and what a cgroup plugin can reach. */
                struct quilt_error err = { 0 };
                kill(-m->child, SIGKILL);
                quilt_plugin_chain_kill(m->chain, &m->c, SIGKILL, &err);
        }
        drain_output(m);

        int status = m->child_status;
        m->rs.state = QUILT_STATE_EXITED;
        m->rs.finished_ns = quilt_now_ns();
        if (WIFSIGNALED(status)) {
                m->rs.exit_signal = WTERMSIG(status);
                m->rs.exit_code = 128 + WTERMSIG(status);
        } else {
                m->rs.exit_code = WEXITSTATUS(status);
        }
        m->rs.pid = 0;
        /* The cgroup outlives its processes until cleanup: read the final
         * figures now, and whether the OOM killer was involved. */
        struct quilt_error err = { 0 };
        stats_preset(&m->rs.stats);
        if (quilt_plugin_chain_stats(m->chain, &m->c, &m->rs.stats, &err) < 0)
                say(m, "final stats: %s", err.message);
        m->rs.stats_ns = quilt_now_ns();
        /* Like Docker's OOMKilled: the OOM killer ended a process of the
         * container (v1 picks one victim, often not the init, which then
         * exits 137 by itself). */
        m->rs.oom_killed = m->rs.stats.oom_kill_count > 0;
        save_state(m);
        notify(m, "exited %d %d %lld %d", m->rs.exit_code, m->rs.exit_signal,
               (long long)m->rs.finished_ns, m->rs.oom_killed ? 1 : 0);
}

static int cleanup_chain(struct monitor *m)
{
        struct quilt_error err = { 0 };
        int r = quilt_plugin_chain_cleanup(m->chain, &m->c, &err);
        if (r < 0)
                say(m, "cleanup: %s", err.message);
        m->rs.cleaned = r >= 0;
        int w = quilt_run_state_write(m->dir, &m->rs);
        if (w < 0)
                say(m, "writing %s/state: %s", m->dir, strerror(-w));
        if (r < 0)
                notify(m, "cleaned %s", err.message);
        else
                notify(m, "cleaned");
        return r;
}

static int load_spec(struct monitor *m, struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL, *data = NULL;
        size_t len;
        if (asprintf(&path, "%s/" QUILT_SPEC_FILE, m->dir) < 0)
                return -ENOMEM;
        int r = quilt_read_file(path, 64 * 1024 * 1024, &data, &len);
        if (r < 0)
                return quilt_error_set(err, r, "reading %s: %s", path, strerror(-r));
        m->spec = quilt__v1__create_container_request__unpack(NULL, len, (const uint8_t *)data);
        if (!m->spec || m->spec->n_command == 0)
                return quilt_error_set(err, -EINVAL, "%s: malformed container spec", path);

        m->argv = calloc(m->spec->n_command + 1, sizeof(char *));
        m->envp = calloc(m->spec->n_environment + 1, sizeof(char *));
        if (!m->argv || !m->envp)
                return -ENOMEM;
        for (size_t i = 0; i < m->spec->n_command; i++)
                if (!(m->argv[i] = strdup(m->spec->command[i])))
                        return -ENOMEM;
        for (size_t i = 0; i < m->spec->n_environment; i++)
                if (asprintf(&m->envp[i], "%s=%s", m->spec->environment[i]->key,
                             m->spec->environment[i]->value) < 0)
                        return -ENOMEM;
        if (asprintf(&m->rootfs, "%s/" QUILT_ROOTFS_DIR, m->dir) < 0)
                return -ENOMEM;

        const Quilt__V1__Resources *res = m->spec->resources;
        m->resources = (struct quilt_resources){
                .struct_size = sizeof(m->resources),
                .memory_limit_bytes = res ? res->memory_limit_bytes : 0,
                .memory_swap_limit_bytes = res ? res->memory_swap_limit_bytes : 0,
                .cpu_millicores = res ? res->cpu_millicores : 0,
                .cpu_weight = res ? res->cpu_weight : 0,
                .pids_limit = res ? res->pids_limit : 0,
        };
        m->c = (struct quilt_container){
                .struct_size = sizeof(struct quilt_container),
                .resources = &m->resources,
                .cgroup_fd = -1,
                .id = m->id,
                .name = m->spec->name,
                .dir = m->dir,
                .rootfs = m->rootfs,
                .image = m->spec->image,
                .hostname = m->spec->hostname,
                .working_directory = *m->spec->working_directory ? m->spec->working_directory : "/",
                .argv = m->argv,
                .envp = m->envp,
        };
        return 0;
}

static int setup(struct monitor *m, struct quilt_error *err)
{
        int r = quilt_config_load(m->config_path, &m->cfg, err);
        if (r < 0)
                return r;
        if (m->plugin_dir && (r = quilt_config_set_string(&m->cfg->plugin_dir, m->plugin_dir)) < 0)
                return quilt_error_set(err, r, "out of memory");
        quilt_host_set_log_level(m->cfg->log_level);
        const struct quilt_profile *profile = quilt_config_profile(m->cfg, m->profile);
        if (!profile)
                return quilt_error_set(err, -ENOENT, "profile '%s' is not configured", m->profile);
        if ((r = load_spec(m, err)) < 0)
                return r;
        /* quiltd already logged what the plugins' init has to say (which
         * backend "auto" picked, say) at its start: once, not per container. */
        quilt_host_set_log_level(m->cfg->log_level < QUILT_LOG_WARNING ? m->cfg->log_level
                                                                       : QUILT_LOG_WARNING);
        r = quilt_plugin_chain_load(m->cfg, profile, quilt_host_table(), &m->chain, err);
        quilt_host_set_log_level(m->cfg->log_level);
        return r;
}

static void free_monitor(struct monitor *m)
{
        quilt_plugin_chain_free(m->chain);
        quilt_config_free(m->cfg);
        if (m->spec)
                quilt__v1__create_container_request__free_unpacked(m->spec, NULL);
        quilt_strv_free(m->argv);
        quilt_strv_free(m->envp);
        free(m->rootfs);
        close_pumps(m);
        quilt_closep(&m->log_fd);
        quilt_closep(&m->signal_fd);
        quilt_closep(&m->control_fd);
        quilt_run_state_done(&m->rs);
}

static void usage(FILE *f)
{
        fprintf(f, "usage: quilt-monitor --id ID --dir DIR --config FILE [--plugin-dir DIR]\n"
                   "                     [--profile NAME] [--cleanup]\n"
                   "Started by quiltd, one per container; not meant to be run by hand.\n");
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                { "id", required_argument, NULL, 'i' },
                { "dir", required_argument, NULL, 'd' },
                { "config", required_argument, NULL, 'c' },
                { "plugin-dir", required_argument, NULL, 'p' },
                { "profile", required_argument, NULL, 'P' },
                { "cleanup", no_argument, NULL, 'C' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct monitor m = { .control_fd = -1, .signal_fd = -1, .log_fd = -1,
                             .pumps = { { .fd = -1 }, { .fd = -1 } } };
        int opt;
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (opt) {
                case 'i': m.id = optarg; break;
                case 'd': m.dir = optarg; break;
                case 'c': m.config_path = optarg; break;
                case 'p': m.plugin_dir = optarg; break;
                case 'P': m.profile = optarg; break;
                case 'C': m.cleanup_only = true; break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        }
        if (!m.id || !m.dir || !m.config_path || !quilt_id_is_valid(m.id)) {
                usage(stderr);
                return 2;
        }

        struct stat st;
        if (fstat(QUILT_MONITOR_CONTROL_FD, &st) == 0 && S_ISSOCK(st.st_mode)) {
                m.control_fd = QUILT_MONITOR_CONTROL_FD;
                fcntl(m.control_fd, F_SETFD, FD_CLOEXEC);
        }

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        m.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        /* Orphans of a container without a pid namespace come back to us. */
        prctl(PR_SET_CHILD_SUBREAPER, 1);

        /* A mount namespace of the monitor's own (slave: host mounts still
         * propagate in, ours never out): whatever a plugin mounts for the
         * container — an overlay root, say — is invisible on the host and
         * goes away with the container's last process, also when quiltd
         * dies.  Cleanup runs on the host side and needs none. */
        if (!m.cleanup_only &&
            (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0))
                say(&m, "private mount namespace: %s (mounts will show on the host)", strerror(errno));

        if (quilt_run_state_read(m.dir, &m.rs) < 0)
                m.rs = (struct quilt_run_state){ .state = QUILT_STATE_PENDING,
                                                 .created_ns = quilt_now_ns() };
        m.rs.monitor_pid = getpid();

        struct quilt_error err = { 0 };
        if (setup(&m, &err) < 0) {
                if (!m.cleanup_only)
                        set_failed(&m, err.message[0] ? err.message : "monitor set-up failed");
                /* Nothing ran, so no plugin has anything to clean. */
                m.rs.cleaned = m.chain == NULL;
                save_state(&m);
                if (m.rs.cleaned)
                        notify(&m, "cleaned");
                else
                        notify(&m, "cleaned %s", err.message);
                free_monitor(&m);
                return 1;
        }

        int ret = 0;
        if (m.cleanup_only) {
                /* RemoveContainer: the container's resources (its rootfs
                 * above all) live until the container is removed. */
                restore_entered(&m);
                ret = cleanup_chain(&m) < 0;
                free_monitor(&m);
                return ret;
        }

        _cleanup_free_ char *log_path = NULL;
        if (asprintf(&log_path, "%s/" QUILT_LOG_FILE, m.dir) < 0)
                return 1;
        m.log_fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (m.log_fd < 0) {
                snprintf(err.message, sizeof(err.message), "opening %s: %s", log_path, strerror(errno));
                set_failed(&m, err.message);
        } else if (start_container(&m) == 0) {
                supervise(&m);
        }
        close_pumps(&m);
        save_state(&m);
        free_monitor(&m);
        return 0;
}
