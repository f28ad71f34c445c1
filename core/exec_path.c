/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "exec_path.h"

const char *quilt_exec_env_path(char *const *envp)
{
        for (; envp && *envp; envp++)
                if (!strncmp(*envp, "PATH=", 5))
                        return *envp + 5;
        return QUILT_DEFAULT_PATH;
}

int quilt_exec_search(char *const *argv, char *const *envp)
{
        const char *file = argv[0];
        if (strchr(file, '/')) {
                execve(file, argv, envp);
                return errno;
        }
        int best = ENOENT;
        char path[PATH_MAX];
        const char *p = quilt_exec_env_path(envp);
        size_t flen = strlen(file);
        for (;;) {
                const char *end = strchrnul(p, ':');
                size_t dlen = (size_t)(end - p);
                const char *dir = p;
                if (dlen == 0) {                /* an empty entry: the working directory */
                        dir = ".";
                        dlen = 1;
                }
                if (dlen + 1 + flen < sizeof(path)) {
                        memcpy(path, dir, dlen);
                        path[dlen] = '/';
                        memcpy(path + dlen + 1, file, flen + 1);
                        execve(path, argv, envp);
                        /* Like execvp: a file that is there but cannot run
                         * says more than "not found" further down PATH. */
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
