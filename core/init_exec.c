/* SPDX-License-Identifier: MIT */
/* The monitor's side of quilt-init: find the binary, copy it into a sealed
 * memfd (sealed_binary.c), build its argv, and exec it in the container process. */
#include <stdio.h>
#include <string.h>

#include "init_exec.h"
#include "util.h"

#define INIT_NAME "quilt-init"

char *quilt_init_default_path(void)
{
        return quilt_sibling_path(INIT_NAME, QUILT_INIT_PATH_DEFAULT);
}

int quilt_init_open(const char *path, struct quilt_error *err)
{
        return quilt_sealed_binary_open(path, INIT_NAME, err);
}

char **quilt_init_argv(char *const *argv, int error_fd)
{
        size_t n = quilt_strv_length(argv);
        _cleanup_strv_free_ char **v = calloc(n + 5, sizeof(char *));
        if (!v)
                return NULL;
        size_t k = 0;
        if (!(v[k++] = strdup(INIT_NAME)))
                return NULL;
        if (error_fd >= 0) {
                if (!(v[k++] = strdup("--error-fd")) || asprintf(&v[k++], "%d", error_fd) < 0) {
                        v[k - 1] = NULL;        /* asprintf leaves it undefined */
                        return NULL;
                }
        }
        if (!(v[k++] = strdup("--")))
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!(v[k++] = strdup(argv[i])))
                        return NULL;
        return TAKE_PTR(v);
}

int quilt_init_exec(int init_fd, char *const *init_argv, char *const *envp, int error_fd)
{
        return quilt_sealed_binary_exec(init_fd, init_argv, envp, error_fd);
}
