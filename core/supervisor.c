/* SPDX-License-Identifier: MIT */
/* quiltd's side of a container's monitor: spawning it (posix_spawn, which
 * is safe from a threaded process, unlike fork), reading its messages in
 * one thread per container, and reaping it. */
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "container.h"
#include "events.h"
#include "exec.h"
#include "monitor_protocol.h"
#include "util.h"

extern char **environ;

static int spawn_monitor(struct quilt_manager *m, struct quilt_container_record *c, int control_fd,
                         bool cleanup_only, pid_t *ret_pid, struct quilt_error *err)
{
        const struct quilt_config *cfg = m->cfg;
        const char *argv[16];
        size_t n = 0;
        argv[n++] = cfg->monitor_path;
        argv[n++] = "--id";
        argv[n++] = c->id;
        argv[n++] = "--dir";
        argv[n++] = c->dir;
        argv[n++] = "--config";
        argv[n++] = m->config_path;
        argv[n++] = "--plugin-dir";
        argv[n++] = cfg->plugin_dir;
        argv[n++] = "--state-dir";
        argv[n++] = cfg->state_dir;
        if (c->profile && *c->profile) {
                argv[n++] = "--profile";
                argv[n++] = c->profile;
        }
        if (cleanup_only)
                argv[n++] = "--cleanup";
        argv[n] = NULL;

        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        if (control_fd >= 0)
                posix_spawn_file_actions_adddup2(&fa, control_fd, QUILT_MONITOR_CONTROL_FD);

        /* quiltd blocks its shutdown signals for a signalfd; the monitor
         * starts with a clean mask, default dispositions and its own
         * session, so a terminal's ^C never reaches it. */
        sigset_t none, defaults;
        sigemptyset(&none);
        sigfillset(&defaults);
        sigdelset(&defaults, SIGKILL);
        sigdelset(&defaults, SIGSTOP);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                POSIX_SPAWN_SETSID);

        pid_t pid;
        int r = posix_spawn(&pid, cfg->monitor_path, &fa, &attr, (char *const *)argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0)
                return quilt_error_set(err, -r, "starting the monitor %s: %s", cfg->monitor_path,
                                       strerror(r));
        *ret_pid = pid;
        return 0;
}

static void apply_message(struct quilt_container_record *c, const char *msg)
{
        int a, b, off = 0;
        long long ts;
        unsigned long seq;
        if (sscanf(msg, "pid %d", &a) == 1) {
                c->pid = a;
        } else if (!strncmp(msg, "address ", 8)) {
                snprintf(c->ip_address, sizeof(c->ip_address), "%.47s", msg + 8);
        } else if (sscanf(msg, "setup %d", &a) == 1 && a > 0) {
                if (c->state == QUILT_STATE_SETUP ||
                    quilt_state_transition_allowed(c->state, QUILT_STATE_SETUP)) {
                        c->state = QUILT_STATE_SETUP;
                        c->setup_command = (uint32_t)a;
                        quilt_events_emit(c->manager->events, "setup-started", c->id, c->name,
                                          "setup_command", QUILT_EVENT_INT(a), NULL);
                }
        } else if (!strncmp(msg, "exec-", 5)) {
                quilt_exec_message(c, msg);
        } else if (sscanf(msg, "running %lld", &ts) == 1) {
                if (quilt_state_transition_allowed(c->state, QUILT_STATE_RUNNING)) {
                        c->state = QUILT_STATE_RUNNING;
                        c->started_ns = ts;
                        /* The key list ends early when there is no address. */
                        quilt_events_emit(c->manager->events, "started", c->id, c->name,
                                          "pid", QUILT_EVENT_INT(c->pid),
                                          c->ip_address[0] ? "ip_address" : NULL, c->ip_address, NULL);
                }
        } else if (!strcmp(msg, "ready")) {
                if (c->state == QUILT_STATE_RUNNING && !c->ready) {
                        c->ready = true;
                        quilt_events_emit(c->manager->events, "ready", c->id, c->name, NULL);
                }
        } else if (!strncmp(msg, "failed ", 7)) {
                if (quilt_state_transition_allowed(c->state, QUILT_STATE_FAILED)) {
                        c->state = QUILT_STATE_FAILED;
                        c->finished_ns = quilt_now_ns();
                        c->pid = 0;
                        snprintf(c->error, sizeof(c->error), "%.*s", (int)sizeof(c->error) - 1, msg + 7);
                        quilt_events_emit(c->manager->events, "failed", c->id, c->name,
                                          "error", c->error, NULL);
                }
        } else if (sscanf(msg, "exited %d %d %lld", &a, &b, &ts) == 3) {
                int oom = 0;
                sscanf(msg, "exited %*d %*d %*d %d", &oom);
                if (quilt_state_transition_allowed(c->state, QUILT_STATE_EXITED)) {
                        c->state = QUILT_STATE_EXITED;
                        c->exit_code = a;
                        c->exit_signal = b;
                        c->finished_ns = ts;
                        c->oom_killed = oom != 0;
                        c->pid = 0;
                        if (c->oom_killed)
                                quilt_events_emit(c->manager->events, "oom", c->id, c->name, NULL);
                        quilt_events_emit(c->manager->events, "exited", c->id, c->name,
                                          "exit_code", QUILT_EVENT_INT(a), "exit_signal", QUILT_EVENT_INT(b),
                                          "oom_killed", QUILT_EVENT_BOOL(c->oom_killed), NULL);
                }
        } else if (sscanf(msg, "reply %lu %n", &seq, &off) == 1 && off > 0) {
                free(c->reply);
                c->reply = strdup(msg + off);
                c->reply_seq = seq;
        } else if (!strncmp(msg, "cleaned", 7)) {
                c->cleaned = msg[7] == '\0';
                if (msg[7] == ' ')
                        fprintf(stderr, "quiltd: container %.12s: cleanup: %s\n", c->id, msg + 8);
        } else {
                fprintf(stderr, "quiltd: container %.12s: unknown monitor message '%.64s'\n",
                        c->id, msg);
        }
}

static void *reader_main(void *arg)
{
        struct quilt_container_record *c = arg;
        struct quilt_manager *m = c->manager;
        char buf[QUILT_MONITOR_MESSAGE_MAX + 1];

        for (;;) {
                ssize_t n = recv(c->control_fd, buf, sizeof(buf) - 1, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                buf[n] = '\0';
                pthread_mutex_lock(&m->lock);
                apply_message(c, buf);
                pthread_cond_broadcast(&m->changed);
                pthread_mutex_unlock(&m->lock);
        }

        int status = 0;
        while (waitpid(c->monitor_pid, &status, 0) < 0 && errno == EINTR)
                ;
        pthread_mutex_lock(&m->lock);
        if (!quilt_state_is_terminal(c->state)) {
                c->state = QUILT_STATE_FAILED;
                c->finished_ns = quilt_now_ns();
                c->pid = 0;
                if (WIFSIGNALED(status))
                        snprintf(c->error, sizeof(c->error), "monitor: killed by signal %d",
                                 WTERMSIG(status));
                else
                        snprintf(c->error, sizeof(c->error), "monitor: exited with status %d",
                                 WEXITSTATUS(status));
                quilt_events_emit(m->events, "failed", c->id, c->name, "error", c->error, NULL);
        }
        c->monitor_done = true;
        c->monitor_pid = 0;
        pthread_cond_broadcast(&m->changed);
        pthread_mutex_unlock(&m->lock);
        return NULL;
}

int quilt_supervisor_start(struct quilt_manager *m, struct quilt_container_record *c,
                           struct quilt_error *err)
{
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
                return quilt_error_set(err, -errno, "socketpair: %m");
        pid_t pid;
        int r = spawn_monitor(m, c, sv[1], false, &pid, err);
        close(sv[1]);
        if (r < 0) {
                close(sv[0]);
                return r;
        }
        pthread_mutex_lock(&m->lock);
        c->control_fd = sv[0];
        c->monitor_pid = pid;
        pthread_mutex_unlock(&m->lock);

        r = pthread_create(&c->reader, NULL, reader_main, c);
        if (r != 0) {
                /* Without a reader nobody would reap it: stop it here. */
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                pthread_mutex_lock(&m->lock);
                c->monitor_pid = 0;
                c->monitor_done = true;
                pthread_mutex_unlock(&m->lock);
                return quilt_error_set(err, -r, "starting the reader thread: %s", strerror(r));
        }
        c->reader_started = true;
        return 0;
}

void quilt_supervisor_signal(struct quilt_container_record *c, int sig)
{
        if (c->monitor_done || c->control_fd < 0)
                return;
        char msg[32];
        int n = snprintf(msg, sizeof(msg), "signal %d", sig);
        if (send(c->control_fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                fprintf(stderr, "quiltd: container %.12s: signalling the monitor: %s\n", c->id,
                        strerror(errno));
}

int quilt_supervisor_request(struct quilt_manager *m, struct quilt_container_record *c,
                             const char *verb, const char *args, int timeout_ms, char **ret_reply)
{
        int64_t deadline = quilt_monotonic_ns() + (int64_t)timeout_ms * 1000000;
        while (c->request_busy && !c->monitor_done)
                if (!quilt_manager_wait(m, deadline))
                        return -ETIMEDOUT;
        if (c->monitor_done || c->control_fd < 0)
                return -ESRCH;
        c->request_busy = true;
        unsigned long seq = ++c->request_seq;
        char msg[256];
        int n = snprintf(msg, sizeof(msg), "%s %lu%s%s", verb, seq, args ? " " : "", args ? args : "");
        int r = 0;
        if (send(c->control_fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                r = -errno;
        while (r == 0 && c->reply_seq != seq) {
                if (c->monitor_done)
                        r = -ESRCH;
                else if (!quilt_manager_wait(m, deadline))
                        r = -ETIMEDOUT;
        }
        if (r == 0) {
                *ret_reply = c->reply;
                c->reply = NULL;
        }
        c->request_busy = false;
        pthread_cond_broadcast(&m->changed);
        return r;
}

void quilt_supervisor_release(struct quilt_container_record *c)
{
        if (c->reader_started) {
                pthread_join(c->reader, NULL);
                c->reader_started = false;
        }
        if (c->control_fd >= 0) {
                close(c->control_fd);
                c->control_fd = -1;
        }
}

int quilt_supervisor_cleanup(struct quilt_manager *m, struct quilt_container_record *c,
                             struct quilt_error *err)
{
        pid_t pid;
        int r = spawn_monitor(m, c, -1, true, &pid, err);
        if (r < 0)
                return r;
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return quilt_error_set(err, -errno, "waiting for the cleanup monitor: %m");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return quilt_error_set(err, -EIO, "plugin cleanup failed (see quiltd's log)");
        return 0;
}

int quilt_supervisor_send(struct quilt_container_record *c, const char *message)
{
        if (c->monitor_done || c->control_fd < 0)
                return -ESRCH;
        if (send(c->control_fd, message, strlen(message), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                return -errno;
        return 0;
}

int quilt_supervisor_send_exec(struct quilt_container_record *c, const char *id, const void *payload,
                               size_t len, const int fds[3])
{
        if (c->monitor_done || c->control_fd < 0)
                return -ESRCH;
        char header[64];
        int n = snprintf(header, sizeof(header), "exec %s %zu\n", id, len);
        struct iovec iov[2] = { { header, (size_t)n }, { (void *)payload, len } };
        union {
                char raw[CMSG_SPACE(sizeof(int) * 3)];
                struct cmsghdr align;
        } control = { 0 };
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2,
                              .msg_control = control.raw, .msg_controllen = sizeof(control.raw) };
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * 3);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * 3);
        /* Blocking: one packet of at most QUILT_MONITOR_EXEC_MESSAGE_MAX,
         * which the socket buffer takes at once. */
        if (sendmsg(c->control_fd, &msg, MSG_NOSIGNAL) < 0)
                return -errno;
        return 0;
}
