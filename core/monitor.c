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
#include <strings.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <unistd.h>

#include "child_protocol.h"
#include "config.h"
#include "container_id.h"
#include "init_exec.h"
#include "log_format.h"
#include "monitor.h"
#include "monitor_exec.h"
#include "monitor_protocol.h"
#include "plugin_chain.h"
#include "process_settings.h"
#include "quilt.pb-c.h"
#include "root_path.h"
#include "state_file.h"
#include "util.h"
#include "volume_path.h"

struct monitor {
        const char *id;
        const char *dir;
        const char *config_path;
        const char *plugin_dir;
        const char *state_dir;
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
        char **setup_commands;
        char **cap_add;
        char **cap_drop;
        struct quilt_mount *mounts;
        const struct quilt_mount **mount_list;
        char **mount_sources;                   /* volume directories */
        struct quilt_port *ports;
        const struct quilt_port **port_list;
        struct quilt_process_settings process;
        bool apply_process;                     /* the request set user, groups or rlimits */
        int init_fd;                            /* sealed quilt-init memfd, or -1 */
        char **init_argv;

        int control_fd;
        int signal_fd;
        int log_fd;
        struct quilt_log_pump pumps[2];
        struct quilt_run_state rs;
        pid_t child;
        int child_status;
        bool child_exited;
        int pending_signal;                     /* a stop that came before the command ran */
        /* The container process's reports (child_protocol.h) until its
         * command runs: EOF then means it was exec'd. */
        int child_msg_fd;
        int sync_fd;                            /* write: 'a' acknowledges a phase report */
        bool command_started;
        char child_error[QUILT_ERROR_MESSAGE_MAX];
        bool stopped_in_setup;
        char setup_text[256];                   /* the setup command running, for messages */
        struct quilt_monitor_exec exec;         /* ExecContainer processes */
        /* The readiness probe: an exec of our own, "probe", until it passes. */
        int64_t probe_due_ns;                   /* CLOCK_MONOTONIC; 0: none pending */
        bool probe_running;
        bool probe_error_said;
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
        if (!quilt_state_has_process(m->rs.state) || m->child_exited) {
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

static bool is_stop_signal(int sig)
{
        return sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT || sig == SIGKILL;
}

/* A stop while setup commands run: the command never starts.  The setup
 * plugin handles the stop signals (PID 1 of a pid namespace would ignore
 * them otherwise) by ending its commands' process group, which also
 * reaches them without a pid namespace; quiltd's SIGKILL after the
 * timeout ends whatever is left. */
static void stop_setup(struct monitor *m, int sig)
{
        m->stopped_in_setup = true;
        kill_container(m, sig);
}

/* "exec ID LEN\n" + LEN bytes of a packed ExecContainerRequest, with the
 * exec's stdin, stdout and stderr ends attached. */
static void handle_exec(struct monitor *m, const char *buf, size_t len, int *fds, size_t n_fds)
{
        char id[QUILT_EXEC_ID_MAX];
        size_t plen;
        int off = 0;
        if (sscanf(buf, "exec %31s %zu%n", id, &plen, &off) != 2 || (size_t)off >= len ||
            buf[off] != '\n' || plen != len - (size_t)off - 1 || n_fds != 3) {
                say(m, "ignoring a malformed exec message");
                notify(m, "exec-failed %s malformed exec message", off > 0 ? id : "?");
                return;
        }
        Quilt__V1__ExecContainerRequest *req = quilt__v1__exec_container_request__unpack(
                NULL, plen, (const uint8_t *)buf + off + 1);
        struct quilt_error err = { 0 };
        pid_t pid = 0;
        int r;
        if (!req || req->n_command == 0) {
                r = quilt_error_set(&err, -EINVAL, "malformed exec request");
                for (size_t i = 0; i < 3; i++)
                        quilt_closep(&fds[i]);
        } else if (m->rs.state != QUILT_STATE_RUNNING || m->child_exited) {
                r = quilt_error_set(&err, -ESRCH, "the container is not running");
                for (size_t i = 0; i < 3; i++)
                        quilt_closep(&fds[i]);
        } else {
                const struct quilt_exec_container ec = {
                        .chain = m->chain, .c = &m->c, .spec = m->spec, .envp = m->envp,
                };
                r = quilt_monitor_exec_start(&m->exec, &ec, id, req, fds, &pid, &err);
        }
        for (size_t i = 0; i < 3; i++)
                fds[i] = -1;                    /* taken */
        if (req)
                quilt__v1__exec_container_request__free_unpacked(req, NULL);
        if (r < 0)
                notify(m, "exec-failed %s %s", id, err.message);
        else
                notify(m, "exec-started %s %d", id, (int)pid);
}

static void exec_kill(struct monitor *m, const char *id)
{
        struct quilt_exec_proc *p = quilt_monitor_exec_find(&m->exec, id);
        if (p)
                kill(p->pid, SIGKILL);          /* the command follows: PR_SET_PDEATHSIG */
}

#define PROBE_ID "probe"
#define PROBE_INTERVAL_DEFAULT_MS 500

static int64_t probe_interval_ns(const struct monitor *m)
{
        int ms = m->spec->readiness_interval_ms > 0 ? m->spec->readiness_interval_ms
                                                    : PROBE_INTERVAL_DEFAULT_MS;
        return (int64_t)ms * 1000000;
}

/* Run the readiness probe when it is due: like an exec, output discarded. */
static void maybe_probe(struct monitor *m)
{
        if (!m->probe_due_ns || m->probe_running || m->rs.ready || m->child_exited ||
            m->rs.state != QUILT_STATE_RUNNING || quilt_monotonic_ns() < m->probe_due_ns)
                return;
        Quilt__V1__ExecContainerRequest req = QUILT__V1__EXEC_CONTAINER_REQUEST__INIT;
        req.command = m->spec->readiness_probe;
        req.n_command = m->spec->n_readiness_probe;
        int fds[3];
        for (int i = 0; i < 3; i++)
                fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
        const struct quilt_exec_container ec = {
                .chain = m->chain, .c = &m->c, .spec = m->spec, .envp = m->envp,
        };
        struct quilt_error err = { 0 };
        pid_t pid;
        if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0) {
                for (int i = 0; i < 3; i++)
                        quilt_closep(&fds[i]);
                quilt_error_set(&err, -EMFILE, "opening /dev/null: %m");
        } else if (quilt_monitor_exec_start(&m->exec, &ec, PROBE_ID, &req, fds, &pid, &err) == 0) {
                m->probe_running = true;
                return;
        }
        if (!m->probe_error_said)
                say(m, "readiness probe: %s (retrying)", err.message);
        m->probe_error_said = true;
        m->probe_due_ns = quilt_monotonic_ns() + probe_interval_ns(m);
}

/* The probe ended: ready when it exited 0, else again after the interval. */
static void probe_done(struct monitor *m, int status)
{
        m->probe_running = false;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !m->child_exited) {
                m->probe_due_ns = 0;
                m->rs.ready = true;
                save_state(m);
                notify(m, "ready");
                return;
        }
        m->probe_due_ns = quilt_monotonic_ns() + probe_interval_ns(m);
}

/* Milliseconds poll() may sleep before the probe is due; -1: no limit. */
static int probe_poll_timeout(const struct monitor *m)
{
        if (!m->probe_due_ns || m->probe_running)
                return -1;
        int64_t left = m->probe_due_ns - quilt_monotonic_ns();
        return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}

/* The exec helper `pid` ended: tell quiltd how. */
static bool reap_exec(struct monitor *m, pid_t pid, int status)
{
        struct quilt_exec_proc *p = quilt_monitor_exec_find_pid(&m->exec, pid);
        if (!p)
                return false;
        if (!strcmp(p->id, PROBE_ID)) {
                quilt_monitor_exec_forget(&m->exec, p);
                probe_done(m, status);
                return true;
        }
        /* quilt-exec exits 128+N when a signal ended the command. */
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        int sig = WIFSIGNALED(status) ? WTERMSIG(status) : code > 128 && code < 128 + NSIG ? code - 128 : 0;
        notify(m, "exec-exited %s %d %d", p->id, code, sig);
        quilt_monitor_exec_forget(&m->exec, p);
        return true;
}

/* The container ended: its execs go with it. */
static void end_execs(struct monitor *m)
{
        for (struct quilt_exec_proc *p = m->exec.procs; p; p = p->next)
                kill(p->pid, SIGKILL);
        while (m->exec.procs) {
                int status;
                pid_t pid = waitpid(m->exec.procs->pid, &status, 0);
                if (pid < 0 && errno == EINTR)
                        continue;
                if (pid < 0 || !reap_exec(m, pid, status))
                        quilt_monitor_exec_forget(&m->exec, m->exec.procs);
        }
}

static void handle_control(struct monitor *m)
{
        /* Big enough for an exec request; one buffer, the monitor is
         * single-threaded. */
        static char buf[QUILT_MONITOR_EXEC_MESSAGE_MAX + 1];
        int fds[3] = { -1, -1, -1 };
        size_t n_fds = 0;
        union {
                char raw[CMSG_SPACE(sizeof(int) * 3)];
                struct cmsghdr align;
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                              .msg_control = control.raw, .msg_controllen = sizeof(control.raw) };
        ssize_t n = recvmsg(m->control_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                close(m->control_fd);
                m->control_fd = -1;
                return;
        }
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
                        size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (size_t i = 0; i < k; i++) {
                                int fd;
                                memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                                if (n_fds < 3)
                                        fds[n_fds++] = fd;
                                else
                                        close(fd);
                        }
                }
        buf[n] = '\0';
        if (!strncmp(buf, "exec ", 5) && !(msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
                handle_exec(m, buf, (size_t)n, fds, n_fds);
                return;
        }
        for (size_t i = 0; i < n_fds; i++)
                close(fds[i]);
        char id[QUILT_EXEC_ID_MAX];
        if (sscanf(buf, "exec-kill %31s", id) == 1) {
                exec_kill(m, id);
                return;
        }
        int sig;
        unsigned long seq;
        long long v[5];
        if (sscanf(buf, "signal %d", &sig) == 1 && sig > 0 && sig < NSIG) {
                if (m->rs.state == QUILT_STATE_RUNNING)
                        kill_container(m, sig);
                else if (m->rs.state == QUILT_STATE_SETUP && is_stop_signal(sig))
                        stop_setup(m, sig);
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
                } else {
                        reap_exec(m, p, status);
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

/* Whether envp has a "KEY=..." entry. */
static bool env_has(char *const *envp, const char *key)
{
        size_t n = strlen(key);
        for (; envp && *envp; envp++)
                if (!strncmp(*envp, key, n) && (*envp)[n] == '=')
                        return true;
        return false;
}

static int env_append(char ***envp, const char *key, const char *value)
{
        size_t n = quilt_strv_length(*envp);
        char **v = realloc(*envp, (n + 2) * sizeof(char *));
        if (!v)
                return -ENOMEM;
        *envp = v;
        if (asprintf(&v[n], "%s=%s", key, value) < 0) {
                v[n] = NULL;
                return -ENOMEM;
        }
        v[n + 1] = NULL;
        return 0;
}

/* After the chain's pre_clone, with the root tree in place (mounts
 * included): create the working directory, resolve the user in the
 * image's own /etc/passwd, and ready quilt-init, so the child has nothing
 * left to look up.  `error_fd`: the child's end of the report pipe, which
 * quilt-init inherits. */
static int prepare_process(struct monitor *m, int error_fd, struct quilt_error *err)
{
        const Quilt__V1__CreateContainerRequest *spec = m->spec;
        _cleanup_close_ int root_fd = open(m->c.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0 && errno != ENOENT)
                return quilt_error_set(err, -errno, "%s: %m", m->c.rootfs);
        /* No root tree at all: a chain without a rootfs plugin runs in
         * the host's; then the working directory must exist as it is. */
        if (root_fd >= 0) {
                int fd = quilt_open_in_root(root_fd, m->c.working_directory, 0755, err);
                if (fd < 0)
                        return quilt_error_set(err, fd, "working directory %s: %s",
                                               m->c.working_directory, strerror(-fd));
                close(fd);
        }

        m->apply_process = spec->user[0] || spec->n_supplementary_groups || spec->n_rlimits;
        if (m->apply_process) {
                if (root_fd < 0)
                        return quilt_error_set(err, -ENOENT, "user and rlimits need a root tree (a rootfs plugin)");
                int r = quilt_monitor_resolve_user(root_fd, spec, NULL, &m->process, err);
                if (r < 0)
                        return r;
                if (spec->user[0] && !env_has(m->envp, "HOME") &&
                    env_append(&m->envp, "HOME", m->process.home ? m->process.home : "/") < 0)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                m->c.envp = m->envp;
        }

        if (spec->init) {
                _cleanup_free_ char *path = m->cfg->init_path ? strdup(m->cfg->init_path)
                                                                : quilt_init_default_path();
                if (!path)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                m->init_fd = quilt_init_open(path, err);
                if (m->init_fd < 0) {
                        int r = m->init_fd;
                        m->init_fd = -1;
                        return quilt_error_set(err, r, "init: %s", err->message);
                }
                m->init_argv = quilt_init_argv(m->argv, error_fd);
                if (!m->init_argv)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
        }
        return 0;
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
        /* Known before "running", so the started event can carry it. */
        if (m->c.ip_address[0]) {
                m->c.ip_address[sizeof(m->c.ip_address) - 1] = '\0';
                snprintf(m->rs.ip_address, sizeof(m->rs.ip_address), "%s", m->c.ip_address);
                save_state(m);
                notify(m, "address %s", m->c.ip_address);
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
        if (prepare_process(m, err_w, &err) < 0) {
                set_failed(m, err.message);
                return -1;
        }

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
                /* Until this point the container runs as root: the setup
                 * commands too.  The settings apply right before exec. */
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
                        .process = m->apply_process ? &m->process : NULL,
                        .process_ids = m->spec->user[0] || m->spec->n_supplementary_groups,
                        .init_fd = m->init_fd,
                        .init_argv = m->init_argv,
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

        /* From here the child reports over the error pipe (setup phases, a
         * failure, or EOF at exec); supervise() reads it along with the
         * output, which setup commands may produce for a long time. */
        m->child_msg_fd = err_r;
        err_r = -1;
        fcntl(m->child_msg_fd, F_SETFL, O_NONBLOCK);
        /* Kept to acknowledge phase reports (set_phase). */
        m->sync_fd = sync_w;
        sync_w = -1;
        return 0;
}

/* Everything the pipes hold now is output of the phase before. */
static void drain_pumps_now(struct monitor *m)
{
        for (int i = 0; i < 2; i++) {
                int r = quilt_log_pump_read(&m->pumps[i], m->log_fd);
                if (r < 0)
                        say(m, "writing the log: %s", strerror(-r));
        }
}

/* The container process waits for our acknowledgement after each phase
 * report, so what the pipes hold now was written before the report and
 * nothing of the next phase is there yet. */
static void set_phase(struct monitor *m, uint32_t setup_command, const char *text)
{
        drain_pumps_now(m);
        for (int i = 0; i < 2; i++)
                m->pumps[i].setup_command = setup_command;
        if (m->sync_fd >= 0 && quilt_write_all(m->sync_fd, "a", 1) < 0)
                say(m, "acknowledging a phase: %s", strerror(errno));
        if (setup_command == 0)
                return;
        /* Cut to fit on purpose: it only names the command in messages. */
        snprintf(m->setup_text, sizeof(m->setup_text), "%.*s", (int)sizeof(m->setup_text) - 1, text);
        m->rs.state = QUILT_STATE_SETUP;
        m->rs.setup_command = setup_command;
        save_state(m);
        notify(m, "setup %u", (unsigned)setup_command);
        if (m->pending_signal && is_stop_signal(m->pending_signal))
                stop_setup(m, m->pending_signal);
}

static void command_started(struct monitor *m)
{
        m->command_started = true;
        m->rs.state = QUILT_STATE_RUNNING;
        m->rs.started_ns = quilt_now_ns();
        save_state(m);
        notify(m, "running %lld", (long long)m->rs.started_ns);
        if (m->spec->n_readiness_probe > 0)
                m->probe_due_ns = quilt_monotonic_ns();
        if (m->pending_signal)
                kill_container(m, m->pending_signal);
}

/* One report of the container process, or its EOF (then child_msg_fd
 * is closed: nothing more will come). */
static void read_child_message(struct monitor *m)
{
        struct quilt_child_message msg;
        ssize_t n = read(m->child_msg_fd, &msg, sizeof(msg));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return;
        if (n == (ssize_t)sizeof(msg)) {
                msg.message[sizeof(msg.message) - 1] = '\0';
                if (msg.type == QUILT_CHILD_PHASE)
                        set_phase(m, msg.setup_command, msg.message);
                else if (msg.type == QUILT_CHILD_ERROR && !m->child_error[0])
                        snprintf(m->child_error, sizeof(m->child_error), "%s",
                                 msg.message[0] ? msg.message : "the container process failed");
                return;
        }
        if (n > 0 && !m->child_error[0])
                snprintf(m->child_error, sizeof(m->child_error), "a malformed report of the container process");
        quilt_closep(&m->child_msg_fd);
        /* EOF: the close-on-exec end went away with the exec — unless the
         * process died first (it reported why, or it was stopped). */
        if (!m->child_error[0] && !m->stopped_in_setup && !m->command_started)
                command_started(m);
}

/* After the container process ended: what it still had to say. */
static void finish_child_messages(struct monitor *m)
{
        while (m->child_msg_fd >= 0) {
                struct pollfd p = { .fd = m->child_msg_fd, .events = POLLIN };
                if (poll(&p, 1, 200) <= 0) {
                        quilt_closep(&m->child_msg_fd);
                        break;
                }
                /* Until EOF: with no complaint, the command was exec'd and
                 * has already ended. */
                read_child_message(m);
        }
}

static void supervise(struct monitor *m)
{
        while (!m->child_exited) {
                struct pollfd p[5];
                int kinds[5];
                nfds_t n = 0;
                if (m->child_msg_fd >= 0) {
                        kinds[n] = 4;
                        p[n++] = (struct pollfd){ .fd = m->child_msg_fd, .events = POLLIN };
                }
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

                if (poll(p, n, probe_poll_timeout(m)) < 0) {
                        if (errno == EINTR)
                                continue;
                        say(m, "poll: %s", strerror(errno));
                        break;
                }
                maybe_probe(m);
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
                        } else if (kinds[i] == 4) {
                                read_child_message(m);
                        } else {
                                drain_signalfd(m);
                                reap(m);
                        }
                }
        }
        wait_child(m);
        end_execs(m);
        if (!(m->c.clone_flags & CLONE_NEWPID) && m->child > 0) {
                /* Without a pid namespace the init's exit does not end the
                 * rest: its group, and what a cgroup plugin can reach. */
                struct quilt_error err = { 0 };
                kill(-m->child, SIGKILL);
                quilt_plugin_chain_kill(m->chain, &m->c, SIGKILL, &err);
        }
        finish_child_messages(m);
        drain_output(m);

        if (!m->command_started) {
                /* It never reached its command: a stage, a setup command or
                 * the exec failed, or a stop ended the setup. */
                char msg[QUILT_ERROR_MESSAGE_MAX];
                if (m->child_error[0] && !m->stopped_in_setup)
                        snprintf(msg, sizeof(msg), "%s", m->child_error);
                else if (m->stopped_in_setup)
                        snprintf(msg, sizeof(msg), "stopped during setup command %u (`%s`)",
                                 (unsigned)m->rs.setup_command, m->setup_text);
                else if (WIFSIGNALED(m->child_status))
                        snprintf(msg, sizeof(msg), "the container process was killed by signal %d before its command ran",
                                 WTERMSIG(m->child_status));
                else
                        snprintf(msg, sizeof(msg), "the container process died before exec");
                set_failed(m, msg);
                m->rs.pid = 0;
                save_state(m);
                return;
        }

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

/* The request's mounts as plugins get them: a volume becomes a bind
 * mount of its directory. */
static int load_mounts(struct monitor *m)
{
        size_t n = m->spec->n_mounts;
        m->mounts = calloc(n ? n : 1, sizeof(*m->mounts));
        m->mount_list = calloc(n + 1, sizeof(*m->mount_list));
        m->mount_sources = calloc(n + 1, sizeof(char *));
        if (!m->mounts || !m->mount_list || !m->mount_sources)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const Quilt__V1__Mount *in = m->spec->mounts[i];
                struct quilt_mount *out = &m->mounts[i];
                *out = (struct quilt_mount){
                        .struct_size = sizeof(*out),
                        .type = QUILT_MOUNT_BIND,
                        .source = in->source,
                        .target = in->target,
                        .read_only = in->read_only,
                };
                if (!strcmp(in->type, "tmpfs")) {
                        out->type = QUILT_MOUNT_TMPFS;
                        out->source = NULL;
                        out->mode = in->mode;
                        out->size_bytes = (uint64_t)in->size_bytes;
                } else if (!strcmp(in->type, "volume")) {
                        m->mount_sources[i] = quilt_volume_data_path(m->cfg->state_dir, in->source);
                        if (!m->mount_sources[i])
                                return -ENOMEM;
                        out->source = m->mount_sources[i];
                        out->volume = in->source;
                }
                m->mount_list[i] = out;
        }
        return 0;
}

/* The request's published ports as plugins get them (quiltd checked them). */
static int load_ports(struct monitor *m)
{
        size_t n = m->spec->n_ports;
        m->ports = calloc(n ? n : 1, sizeof(*m->ports));
        m->port_list = calloc(n + 1, sizeof(*m->port_list));
        if (!m->ports || !m->port_list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const Quilt__V1__PortMapping *in = m->spec->ports[i];
                m->ports[i] = (struct quilt_port){
                        .struct_size = sizeof(struct quilt_port),
                        .protocol = !strcasecmp(in->protocol, "udp") ? IPPROTO_UDP : IPPROTO_TCP,
                        .host_port = (uint16_t)in->host_port,
                        .container_port = (uint16_t)in->container_port,
                };
                m->port_list[i] = &m->ports[i];
        }
        return 0;
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
        m->setup_commands = quilt_strv_copy_n(m->spec->setup_commands, m->spec->n_setup_commands);
        m->cap_add = quilt_strv_copy_n(m->spec->cap_add, m->spec->n_cap_add);
        m->cap_drop = quilt_strv_copy_n(m->spec->cap_drop, m->spec->n_cap_drop);
        if (!m->setup_commands || !m->cap_add || !m->cap_drop)
                return -ENOMEM;
        if ((r = load_mounts(m)) < 0)
                return r;
        if ((r = load_ports(m)) < 0)
                return r;

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
                .setup_commands = m->setup_commands,
                .setup_timeout_seconds = (uint32_t)(m->spec->setup_timeout_seconds > 0
                                                            ? m->spec->setup_timeout_seconds
                                                            : 0),
                .read_only_rootfs = m->spec->read_only_rootfs,
                .mounts = m->mount_list,
                .n_mounts = m->spec->n_mounts,
                .cap_add = m->cap_add,
                .cap_drop = m->cap_drop,
                .capabilities = ~UINT64_C(0),   /* until a capability plugin decides */
                .seccomp_profile = m->spec->seccomp_profile,
                .network = m->spec->network,
                .ports = m->port_list,
                .n_ports = m->spec->n_ports,
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
        /* quiltd's --state-dir may override the file's: volumes live there. */
        if (m->state_dir && (r = quilt_config_set_string(&m->cfg->state_dir, m->state_dir)) < 0)
                return quilt_error_set(err, r, "out of memory");
        quilt_host_set_log_level(m->cfg->log_level);
        quilt_host_set_state_dir(m->cfg->state_dir);
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
        if (m->mount_sources)
                for (size_t i = 0; m->spec && i < m->spec->n_mounts; i++)
                        free(m->mount_sources[i]);
        free(m->mount_sources);
        if (m->spec)
                quilt__v1__create_container_request__free_unpacked(m->spec, NULL);
        quilt_strv_free(m->argv);
        quilt_strv_free(m->envp);
        quilt_strv_free(m->setup_commands);
        quilt_strv_free(m->cap_add);
        quilt_strv_free(m->cap_drop);
        free(m->mount_list);
        free(m->mounts);
        free(m->port_list);
        free(m->ports);
        quilt_process_settings_clear(&m->process);
        quilt_closep(&m->init_fd);
        quilt_strv_free(m->init_argv);
        quilt_closep(&m->child_msg_fd);
        quilt_closep(&m->sync_fd);
        quilt_monitor_exec_done(&m->exec);
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
                   "                     [--state-dir DIR] [--profile NAME] [--cleanup]\n"
                   "Started by quiltd, one per container; not meant to be run by hand.\n");
}

int main(int argc, char **argv)
{
        static const struct option options[] = {
                { "id", required_argument, NULL, 'i' },
                { "dir", required_argument, NULL, 'd' },
                { "config", required_argument, NULL, 'c' },
                { "plugin-dir", required_argument, NULL, 'p' },
                { "state-dir", required_argument, NULL, 's' },
                { "profile", required_argument, NULL, 'P' },
                { "cleanup", no_argument, NULL, 'C' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        struct monitor m = { .control_fd = -1, .signal_fd = -1, .log_fd = -1, .init_fd = -1,
                             .child_msg_fd = -1, .sync_fd = -1, .exec = { .helper_fd = -1, .seccomp_fd = -1 },
                             .pumps = { { .fd = -1 }, { .fd = -1 } } };
        int opt;
        while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
                switch (opt) {
                case 'i': m.id = optarg; break;
                case 'd': m.dir = optarg; break;
                case 'c': m.config_path = optarg; break;
                case 'p': m.plugin_dir = optarg; break;
                case 's': m.state_dir = optarg; break;
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
