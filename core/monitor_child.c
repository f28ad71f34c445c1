/* SPDX-License-Identifier: MIT */
/* The container process between clone() and execve().  The monitor is
 * single-threaded, so libc is safe here, but we still allocate nothing:
 * everything was prepared before clone. */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "monitor.h"
#include "util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_Noreturn static void fail(const struct quilt_child_setup *s, const struct quilt_error *err)
{
        struct quilt_child_error msg = { .code = err->code };
        memcpy(msg.message, err->message, sizeof(msg.message));
        msg.message[sizeof(msg.message) - 1] = '\0';
        (void)quilt_write_all(s->error_fd, &msg, sizeof(msg));
        _exit(127);
}

static const char *env_path(char *const *envp)
{
        for (; envp && *envp; envp++)
                if (!strncmp(*envp, "PATH=", 5))
                        return *envp + 5;
        return DEFAULT_PATH;
}

/* execvpe() searches the monitor's PATH; the container's own PATH is what
 * counts, so search it here.  Returns the most telling errno. */
static int exec_command(char *const *argv, char *const *envp)
{
        const char *file = argv[0];
        if (strchr(file, '/')) {
                execve(file, argv, envp);
                return errno;
        }
        int best = ENOENT;
        char path[PATH_MAX];
        const char *p = env_path(envp);
        size_t flen = strlen(file);
        for (;;) {
                const char *end = strchrnul(p, ':');
                size_t dlen = (size_t)(end - p);
                if (dlen == 0) {
                        dlen = 1;
                        p = ".";
                }
                if (dlen + 1 + flen < sizeof(path)) {
                        memcpy(path, p, dlen);
                        path[dlen] = '/';
                        memcpy(path + dlen + 1, file, flen + 1);
                        execve(path, argv, envp);
                        if (errno == EACCES || errno == ENOEXEC || errno == ETXTBSY)
                                best = errno;
                        else if (errno != ENOENT && errno != ENOTDIR && best == ENOENT)
                                best = errno;
                }
                if (!*end)
                        break;
                p = end + 1;
        }
        return best;
}

_Noreturn void quilt_monitor_child(const struct quilt_child_setup *s)
{
        struct quilt_error err = { 0 };
        struct quilt_container *c = s->container;

        for (size_t i = 0; i < s->n_close_fds; i++)
                if (s->close_fds[i] >= 0)
                        close(s->close_fds[i]);

        /* The monitor blocks SIGCHLD for its signalfd; the command must
         * start with a clean mask. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);

        /* Die with the monitor: a container never runs unsupervised. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
                quilt_error_set(&err, -errno, "prctl(PR_SET_PDEATHSIG): %m");
                fail(s, &err);
        }

        if (dup2(s->stdin_fd, 0) < 0 || dup2(s->stdout_fd, 1) < 0 || dup2(s->stderr_fd, 2) < 0) {
                quilt_error_set(&err, -errno, "setting up stdio: %m");
                fail(s, &err);
        }
        setsid();

        /* Wait until post_start hooks have placed us (cgroups, maps). */
        char go = 0;
        ssize_t n;
        do
                n = read(s->sync_fd, &go, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1 || go != 'g')
                _exit(126);

        if (quilt_plugin_chain_run(s->chain, QUILT_STAGE_IN_CHILD, c, &err) < 0)
                fail(s, &err);

        if (chdir(c->working_directory) < 0) {
                quilt_error_set(&err, -errno, "chdir %s: %m", c->working_directory);
                fail(s, &err);
        }

        /* Any fd we did not mean to pass must not reach the command. */
        close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);

        int e = exec_command(c->argv, c->envp);
        quilt_error_set(&err, -e, "exec %s: %s", c->argv[0], strerror(e));
        fail(s, &err);
}
