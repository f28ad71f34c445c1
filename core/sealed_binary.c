/* SPDX-License-Identifier: MIT */
/* Copying a helper binary into a sealed memfd, and exec'ing it from there. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sealed_binary.h"
#include "util.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U                /* linux/memfd.h of Linux 6.3 */
#endif

#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

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

int quilt_sealed_binary_open(const char *path, const char *name, struct quilt_error *err)
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
        _cleanup_close_ int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
        if (fd < 0 && errno == EINVAL)
                fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return quilt_error_set(err, -errno, "%s: memfd_create: %m", path);
        int r = copy_fd(in, fd, st.st_size);
        if (r < 0)
                return quilt_error_set(err, r, "%s: copying into memfd: %s", path, strerror(-r));
        /* Sealed, the copy can be neither written nor resized by anyone,
         * also not by a container holding /proc/PID/exe. */
        if (fcntl(fd, F_ADD_SEALS, SEALS) < 0)
                return quilt_error_set(err, -errno, "%s: sealing memfd: %m", path);
        return TAKE_FD(fd);
}

int quilt_sealed_data_open(const char *name, const void *data, size_t len, struct quilt_error *err)
{
        _cleanup_close_ int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return quilt_error_set(err, -errno, "%s: memfd_create: %m", name);
        int r = quilt_write_all(fd, data, len);
        if (r < 0)
                return quilt_error_set(err, r, "%s: writing memfd: %s", name, strerror(-r));
        if (fcntl(fd, F_ADD_SEALS, SEALS) < 0)
                return quilt_error_set(err, -errno, "%s: sealing memfd: %m", name);
        return TAKE_FD(fd);
}

int quilt_sealed_binary_exec(int fd, char *const *argv, char *const *envp, int keep_fd)
{
        if (keep_fd >= 0 && fcntl(keep_fd, F_SETFD, 0) < 0)
                return -errno;
        /* The glibc wrapper is recent (2.34); the syscall is 3.19. */
        syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
        int e = errno;
        if (keep_fd >= 0)
                (void)fcntl(keep_fd, F_SETFD, FD_CLOEXEC);
        return -e;
}
