/* SPDX-License-Identifier: MIT */
/* quiltd's record of one container, shared by manager.c (registry and
 * API operations), supervisor.c (the monitor process and its messages)
 * and log_reader.c.  Fields below `lock` are guarded by the manager's
 * mutex; changes are announced on its condition variable. */
#ifndef QUILT_CONTAINER_H
#define QUILT_CONTAINER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "container_id.h"
#include "lifecycle.h"
#include "quilt.pb-c.h"
#include "quilt/plugin.h"
#include "status.h"

struct quilt_manager;
struct quilt_events;

/* One ExecContainer in flight (guarded by the manager's lock). */
struct quilt_exec_record {
        char id[32];
        bool started;                           /* "exec-started": pid is set */
        bool exited;                            /* "exec-exited": exit_code, exit_signal */
        bool failed;                            /* "exec-failed": error */
        pid_t pid;                              /* the quilt-exec helper, host pid */
        int exit_code;
        int exit_signal;
        bool timed_out;                         /* the RPC killed it for its timeout */
        char **command;                         /* for the events */
        char error[QUILT_ERROR_MESSAGE_MAX];
        struct quilt_exec_record *next;
};

struct quilt_container_record {
        struct quilt_manager *manager;
        unsigned refs;
        struct quilt_container_record *next;

        /* Fixed at creation. */
        char id[QUILT_ID_LEN + 1];
        char *name;                             /* "" when unnamed */
        char *image;
        char *profile;
        char *hostname;
        char *dir;                              /* STATE_DIR/containers/ID */
        char **command;
        char **volumes;                         /* names of the volumes it mounts (NULL-terminated) */
        Quilt__V1__Mount **mounts;              /* as requested, for the status */
        size_t n_mounts;
        char *user;
        bool init;                              /* under the minimal init */
        bool read_only_rootfs;
        uint32_t n_setup_commands;
        bool has_readiness_probe;
        char *network;                          /* the mode in force ("" when the chain has none) */
        Quilt__V1__PortMapping **ports;         /* as requested, for the status */
        size_t n_ports;
        int64_t created_ns;

        /* lock */
        enum quilt_state state;
        uint32_t setup_command;                 /* SETUP: the one running (1..) */
        bool ready;                             /* its readiness probe succeeded */
        char ip_address[48];                    /* from the monitor ("address A"), or "" */
        pid_t pid;
        int exit_code;
        int exit_signal;
        int64_t started_ns;
        int64_t finished_ns;
        char error[QUILT_ERROR_MESSAGE_MAX];
        bool cleaned;                           /* every plugin's cleanup ran */
        bool oom_killed;
        struct quilt_resources resources;       /* the limits in force */

        /* One request to the monitor at a time (stats, update). */
        bool request_busy;
        unsigned long request_seq;
        unsigned long reply_seq;
        char *reply;                            /* "ok ..." or "error MESSAGE" */

        struct quilt_exec_record *execs;        /* ExecContainer calls in flight */
        unsigned long exec_seq;                 /* ids: "1", "2", ... */

        pid_t monitor_pid;                      /* 0 when none */
        int control_fd;                         /* -1 when none */
        pthread_t reader;
        bool reader_started;
        bool monitor_done;                      /* the monitor exited and was reaped */
        bool removing;
};

struct quilt_plugin_chain;

struct quilt_manager {
        const struct quilt_config *cfg;
        const struct quilt_plugin_chain *plugins;       /* their check_request hooks */
        char *config_path;
        char *containers_dir;
        pthread_mutex_t lock;
        pthread_cond_t changed;                 /* CLOCK_MONOTONIC */
        pthread_rwlock_t images_lock;           /* see images.h; taken before `lock` */
        struct quilt_container_record *containers;      /* newest last */
        struct quilt_events *events;            /* events.h: StreamEvents' bus; own lock, after `lock` */
};

/* supervisor.c: spawn the monitor for `c` and the thread reading its
 * messages.  Called without the lock. */
int quilt_supervisor_start(struct quilt_manager *m, struct quilt_container_record *c,
                           struct quilt_error *err);
/* Ask the monitor to deliver `sig`.  Call with the lock held. */
void quilt_supervisor_signal(struct quilt_container_record *c, int sig);
/* Send "VERB SEQ ARGS" to the monitor and wait for its reply ("ok ..." or
 * "error MESSAGE", malloc'd into *ret_reply).  Call with the lock held;
 * it is released while waiting.  -ESRCH when the monitor is gone,
 * -ETIMEDOUT after timeout_ms. */
int quilt_supervisor_request(struct quilt_manager *m, struct quilt_container_record *c,
                             const char *verb, const char *args, int timeout_ms, char **ret_reply);
/* Send "exec ID LEN\n" + `payload` (a packed ExecContainerRequest) with
 * the exec's stdin, stdout, stderr ends (`fds`, still ours to close).
 * Lock held.  0 or a negative errno. */
int quilt_supervisor_send_exec(struct quilt_container_record *c, const char *id, const void *payload,
                               size_t len, const int fds[3]);
/* Send a short control message ("exec-kill ID").  Lock held. */
int quilt_supervisor_send(struct quilt_container_record *c, const char *message);
/* After monitor_done: join the reader and close the socket.  No lock. */
void quilt_supervisor_release(struct quilt_container_record *c);
/* Run "quilt-monitor --cleanup" for a container whose monitor died before
 * its cleanup; waits for it.  No lock. */
int quilt_supervisor_cleanup(struct quilt_manager *m, struct quilt_container_record *c,
                             struct quilt_error *err);

/* manager.c */
/* Resolve a full id, a name, or a unique id prefix; the result carries a
 * reference (quilt_container_unref).  Lock held. */
int quilt_manager_lookup_locked(struct quilt_manager *m, const char *ref,
                            struct quilt_container_record **ret, struct quilt_status *st);
void quilt_container_unref(struct quilt_container_record *c);
/* Wait on m->changed until `deadline_ns` (CLOCK_MONOTONIC; 0 = forever).
 * Returns false on timeout.  Call with the lock held. */
bool quilt_manager_wait(struct quilt_manager *m, int64_t deadline_ns);
/* The record as a status message (NULL on ENOMEM).  Lock held. */
Quilt__V1__ContainerStatusResponse *quilt_container_status_locked(const struct quilt_container_record *c);

#endif
