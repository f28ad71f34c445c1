/* SPDX-License-Identifier: MIT */
/* The monitor's side of quilt-init: find the binary, copy it into a sealed
 * memfd, build its argv, and exec it in the container process. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init_exec.h"
#include "util.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U                /* linux/memfd.h of Linux 6.3 */
#endif

#define INIT_NAME "quilt-init"
#define INIT_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

char *quilt_init_default_path(void)
{
        return quilt_sibling_path(INIT_NAME, QUILT_INIT_PATH_DEFAULT);
}

/* sendfile() where the kernel can, read/write where it cannot. */
static int copy_fd(int in, int out, off_t size)
{
        off_t done = 0;
        while (done < size) {
                ssize_t n = sendfile(out, in, NULL, (size_t)(size - done));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EINVAL || errno == ENOSYS) && done == 0)
                        break;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;            /* shrank under us */
                done += n;
        }
        if (done == size)
                return 0;

        char buf[65536];
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return 0;
                int r = quilt_write_all(out, buf, (size_t)n);
                if (r < 0)
                        return r;
        }
}

int quilt_init_open(const char *path, struct quilt_error *err)
{
        _cleanup_close_ int in = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (in < 0)
                return quilt_error_set(err, -errno, "%s: %m", path);
        struct stat st;
        if (fstat(in, &st) < 0)
                return quilt_error_set(err, -errno, "%s: fstat: %m", path);
        if (!S_ISREG(st.st_mode))
                return quilt_error_set(err, -EINVAL, "%s: not a regular file", path);

        /* Linux >= 6.3 may make a memfd non-executable unless asked
         * (vm.memfd_noexec); older kernels refuse the flag. */
        _cleanup_close_ int fd = memfd_create(INIT_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (fd < 0 && errno == EINVAL)
                fd = memfd_create(INIT_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return quilt_error_set(err, -errno, "%s: memfd_create: %m", path);
        int r = copy_fd(in, fd, st.st_size);
        if (r < 0)
                return quilt_error_set(err, r, "%s: copying into memfd: %s", path, strerror(-r));
        /* Sealed, the copy can be neither written nor resized by anyone,
         * also not by a container holding /proc/1/exe. */
        if (fcntl(fd, F_ADD_SEALS, INIT_SEALS) < 0)
                return quilt_error_set(err, -errno, "%s: sealing memfd: %m", path);
        return TAKE_FD(fd);
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
        if (error_fd >= 0 && fcntl(error_fd, F_SETFD, 0) < 0)
                return -errno;
        /* The glibc wrapper is recent (2.34); the syscall is 3.19. */
        syscall(SYS_execveat, init_fd, "", init_argv, envp, AT_EMPTY_PATH);
        int e = errno;
        if (error_fd >= 0)
                (void)fcntl(error_fd, F_SETFD, FD_CLOEXEC);
        return -e;
}
