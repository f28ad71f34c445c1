/* SPDX-License-Identifier: MIT */
/* Bytes in and out: a profile file read whole, and the compiled filter
 * exported as the classic BPF program the core hands to the kernel. */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/filter.h>

#include "seccomp_plugin.h"

/* Read `fd` from offset 0 to its end, at most `max` bytes; the buffer
 * gets a NUL past the data (for the JSON parser's sake). */
static int read_all(int fd, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, size = 0;

        for (;;) {
                if (len == size) {
                        size_t n = size ? size * 2 : 16384;
                        char *p;
                        if (size > max)
                                return -EFBIG;
                        p = realloc(buf, n + 1);
                        if (!p)
                                return -ENOMEM;
                        buf = p;
                        size = n;
                }
                ssize_t k = pread(fd, buf + len, size - len, (off_t)len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                len += (size_t)k;
                if (len > max)
                        return -EFBIG;
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

int seccomp_read_file(const char *path, char **ret_text, size_t *ret_len, struct quilt_error *err)
{
        _cleanup_close_ int fd = -1;
        struct stat st;
        int r;

        /* O_NONBLOCK: a FIFO named as a profile must not hang the monitor. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return quilt_error_set(err, -errno, "seccomp profile %s: %m", path);
        if (fstat(fd, &st) < 0)
                return quilt_error_set(err, -errno, "seccomp profile %s: %m", path);
        if (!S_ISREG(st.st_mode))
                return quilt_error_set(err, -EINVAL, "seccomp profile %s: not a regular file",
                                       path);
        r = read_all(fd, SECCOMP_PROFILE_MAX_BYTES, ret_text, ret_len);
        if (r == -EFBIG)
                return quilt_error_set(err, -EINVAL, "seccomp profile %s: larger than %u bytes",
                                       path, SECCOMP_PROFILE_MAX_BYTES);
        if (r < 0)
                return quilt_error_set(err, r, "seccomp profile %s: reading: %s", path,
                                       strerror(-r));
        return 0;
}

int seccomp_export(scmp_filter_ctx ctx, void **ret_filter, size_t *ret_len,
                   struct quilt_error *err)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r;

        /* libseccomp 2.5 exports only to an fd: a memfd keeps it in memory. */
        fd = memfd_create("quilt-seccomp", MFD_CLOEXEC);
        if (fd < 0)
                return quilt_error_set(err, -errno, "seccomp: memfd_create: %m");
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                return quilt_error_set(err, r, "seccomp: exporting the filter: %s", strerror(-r));
        r = read_all(fd, (size_t)BPF_MAXINSNS * sizeof(struct sock_filter), &buf, &len);
        if (r == -EFBIG)
                return quilt_error_set(err, -E2BIG,
                                       "seccomp: the filter has more than %d instructions",
                                       BPF_MAXINSNS);
        if (r < 0)
                return quilt_error_set(err, r, "seccomp: reading the filter back: %s",
                                       strerror(-r));
        if (len == 0 || len % sizeof(struct sock_filter))
                return quilt_error_set(err, -EIO, "seccomp: the exported filter is %zu bytes, "
                                       "no whole program", len);
        *ret_filter = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}
