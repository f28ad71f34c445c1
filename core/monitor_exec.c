/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec_helper.h"
#include "init_exec.h"
#include "monitor_exec.h"
#include "process_settings.h"
#include "util.h"

/* The container's environment with the request's on top (same key: the
 * request's wins). */
static char **exec_env(char *const *base, const Quilt__V1__ExecContainerRequest *req)
{
        size_t n = quilt_strv_length(base);
        char **env = calloc(n + req->n_environment + 1, sizeof(char *));
        if (!env)
                return NULL;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                const char *eq = strchr(base[i], '=');
                size_t klen = eq ? (size_t)(eq - base[i]) : strlen(base[i]);
                bool overridden = false;
                for (size_t j = 0; j < req->n_environment && !overridden; j++)
                        overridden = strlen(req->environment[j]->key) == klen &&
                                     !strncmp(req->environment[j]->key, base[i], klen);
                if (overridden)
                        continue;
                if (!(env[k++] = strdup(base[i])))
                        goto fail;
        }
        for (size_t j = 0; j < req->n_environment; j++)
                if (asprintf(&env[k++], "%s=%s", req->environment[j]->key, req->environment[j]->value) < 0) {
                        env[k - 1] = NULL;
                        goto fail;
                }
        return env;
fail:
        quilt_strv_free(env);
        return NULL;
}

int quilt_monitor_resolve_user(int root_fd, const Quilt__V1__CreateContainerRequest *spec,
                               const char *user, struct quilt_process_settings *ps,
                               struct quilt_error *err)
{
        _cleanup_free_ struct quilt_rlimit_spec *limits =
                calloc(spec->n_rlimits ? spec->n_rlimits : 1, sizeof(*limits));
        if (!limits)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < spec->n_rlimits; i++)
                limits[i] = (struct quilt_rlimit_spec){ .type = spec->rlimits[i]->type,
                                                        .soft = spec->rlimits[i]->soft,
                                                        .hard = spec->rlimits[i]->hard };
        bool own = !user || !user[0];
        return quilt_process_resolve(root_fd, own ? spec->user : user,
                                     own ? spec->supplementary_groups : NULL,
                                     own ? spec->n_supplementary_groups : 0, limits, spec->n_rlimits,
                                     ps, err);
}

/* The user the exec runs as, looked up in the container's root as it is
 * now: the request's, else the container's own (with its groups). */
static int exec_user(const struct quilt_exec_container *ec, const Quilt__V1__ExecContainerRequest *req,
                     struct quilt_process_settings *ps, struct quilt_error *err)
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/root", (int)ec->c->pid);
        _cleanup_close_ int root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return quilt_error_set(err, -errno, "the container's root (%s): %m", path);
        return quilt_monitor_resolve_user(root_fd, ec->spec, req->user, ps, err);
}

/* The container's seccomp program in a sealed memfd, made once; *ret_fd
 * -1 when it has none.  0 or a negative errno. */
static int seccomp_memfd(struct quilt_monitor_exec *x, const struct quilt_container *c, int *ret_fd,
                         struct quilt_error *err)
{
        *ret_fd = -1;
        if (!QUILT_CONTAINER_HAS(c, seccomp_filter_len) || !c->seccomp_filter || !c->seccomp_filter_len)
                return 0;
        if (x->seccomp_fd < 0) {
                int fd = quilt_sealed_data_open("quilt-seccomp", c->seccomp_filter,
                                                c->seccomp_filter_len, err);
                if (fd < 0)
                        return fd;
                x->seccomp_fd = fd;
        }
        *ret_fd = x->seccomp_fd;
        return 0;
}

static int helper_fd(struct quilt_monitor_exec *x, struct quilt_error *err)
{
        if (x->helper_fd >= 0)
                return x->helper_fd;
        _cleanup_free_ char *path = x->helper_path ? strdup(x->helper_path)
                                                   : quilt_exec_helper_default_path();
        if (!path)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        int fd = quilt_sealed_binary_open(path, "quilt-exec", err);
        if (fd < 0)
                return fd;
        x->helper_fd = fd;
        return fd;
}

/* In the forked child: stdio from quiltd, wait until the chain placed us,
 * then become quilt-exec.  Only async-signal-safe calls. */
_Noreturn static void exec_child(int exe_fd, const int fds[3], int sync_fd, int seccomp_fd,
                                 char *const *argv, char *const *envp)
{
        if (dup2(fds[0], 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[2], 2) < 0)
                _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* A helper never outlives its monitor. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char go;
        ssize_t n;
        do
                n = read(sync_fd, &go, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1 || go != 'g')
                _exit(126);
        /* Every other fd of the monitor is close-on-exec already; make sure. */
        close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        /* quilt-exec reads the seccomp program from it (--seccomp-fd). */
        (void)quilt_sealed_binary_exec(exe_fd, argv, envp, seccomp_fd);
        static const char msg[] = "quilt: exec: cannot run the quilt-exec helper\n";
        (void)!write(2, msg, sizeof(msg) - 1);
        _exit(127);
}

int quilt_monitor_exec_start(struct quilt_monitor_exec *x, const struct quilt_exec_container *ec,
                             const char *id, const Quilt__V1__ExecContainerRequest *req,
                             const int fds[3], pid_t *ret_pid, struct quilt_error *err)
{
        _cleanup_close_ int in = fds[0], out = fds[1], errout = fds[2];
        _cleanup_close_ int sync_r = -1, sync_w = -1;
        struct quilt_process_settings ps = { 0 };
        char **env = NULL, **argv = NULL;
        _cleanup_free_ char **command = NULL;   /* before any goto: cleaned at every exit */
        struct quilt_exec_proc *proc = NULL;
        int r;

        if (strlen(id) >= QUILT_EXEC_ID_MAX)
                return quilt_error_set(err, -EINVAL, "exec id too long");
        if (ec->c->pid <= 0)
                return quilt_error_set(err, -ESRCH, "the container is not running");
        int exe = helper_fd(x, err);
        if (exe < 0)
                return exe;
        if ((r = exec_user(ec, req, &ps, err)) < 0)
                goto out;
        const char *cwd = req->working_directory[0] ? req->working_directory : ec->c->working_directory;
        env = exec_env(ec->envp, req);
        /* protobuf-c's repeated strings are counted, not NULL-terminated. */
        command = calloc(req->n_command + 1, sizeof(char *));
        if (command)
                memcpy(command, req->command, req->n_command * sizeof(char *));
        int seccomp_fd;
        if ((r = seccomp_memfd(x, ec->c, &seccomp_fd, err)) < 0)
                goto out;
        argv = command ? quilt_exec_helper_argv_confined(ec->c->pid, cwd, &ps, ec->c->capabilities,
                                                         ec->c->no_new_privs, seccomp_fd, -1, command)
                       : NULL;
        proc = calloc(1, sizeof(*proc));
        if (!env || !argv || !proc) {
                r = quilt_error_set(err, -ENOMEM, "out of memory");
                goto out;
        }
        int sync_pipe[2];
        if (pipe2(sync_pipe, O_CLOEXEC) < 0) {
                r = quilt_error_set(err, -errno, "pipe: %m");
                goto out;
        }
        sync_r = sync_pipe[0];
        sync_w = sync_pipe[1];

        pid_t pid = fork();
        if (pid < 0) {
                r = quilt_error_set(err, -errno, "fork: %m");
                goto out;
        }
        if (pid == 0)
                exec_child(exe, (const int[]){ in, out, errout }, sync_r, seccomp_fd, argv, env);

        /* Its cgroup (and whatever else a plugin places) before it runs. */
        r = quilt_plugin_chain_attach(ec->chain, ec->c, pid, err);
        if (r < 0 || quilt_write_all(sync_w, "g", 1) < 0) {
                kill(pid, SIGKILL);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                if (r >= 0)
                        r = quilt_error_set(err, -EPIPE, "the exec helper died before it started");
                goto out;
        }
        snprintf(proc->id, sizeof(proc->id), "%s", id);
        proc->pid = pid;
        proc->next = x->procs;
        x->procs = TAKE_PTR(proc);
        *ret_pid = pid;
        r = 0;
out:
        free(proc);
        quilt_strv_free(env);
        quilt_strv_free(argv);
        quilt_process_settings_clear(&ps);
        return r;
}

struct quilt_exec_proc *quilt_monitor_exec_find_pid(struct quilt_monitor_exec *x, pid_t pid)
{
        for (struct quilt_exec_proc *p = x->procs; p; p = p->next)
                if (p->pid == pid)
                        return p;
        return NULL;
}

struct quilt_exec_proc *quilt_monitor_exec_find(struct quilt_monitor_exec *x, const char *id)
{
        for (struct quilt_exec_proc *p = x->procs; p; p = p->next)
                if (!strcmp(p->id, id))
                        return p;
        return NULL;
}

void quilt_monitor_exec_forget(struct quilt_monitor_exec *x, struct quilt_exec_proc *p)
{
        for (struct quilt_exec_proc **pp = &x->procs; *pp; pp = &(*pp)->next)
                if (*pp == p) {
                        *pp = p->next;
                        free(p);
                        return;
                }
}

void quilt_monitor_exec_done(struct quilt_monitor_exec *x)
{
        while (x->procs)
                quilt_monitor_exec_forget(x, x->procs);
        quilt_closep(&x->helper_fd);
        quilt_closep(&x->seccomp_fd);
}
