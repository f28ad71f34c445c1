/* SPDX-License-Identifier: MIT */
/* Leases as files (see net_ipam.h).  The search for a free address starts
 * at the `next` hint and moves it past the address handed out, so a freed
 * address is reused only after a full round: a late packet for the old
 * container never reaches a new one. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "net_files.h"
#include "net_ipam.h"

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

int net_ipam_init(struct net_ipam *ipam, const char *state_dir, const struct net_config *cfg)
{
        *ipam = (struct net_ipam) {
                .network = cfg->network,
                .prefix = cfg->prefix,
                .gateway = cfg->gateway,
        };
        snprintf(ipam->subnet, sizeof(ipam->subnet), "%s", cfg->subnet);
        if (!state_dir || state_dir[0] != '/')
                return -EINVAL;
        if (asprintf(&ipam->dir, "%s/plugins/net_bridge/%s", state_dir, cfg->bridge) < 0) {
                ipam->dir = NULL;
                return -ENOMEM;
        }
        return 0;
}

void net_ipam_done(struct net_ipam *ipam)
{
        free(ipam->dir);
        ipam->dir = NULL;
}

/* mkdir -p for the few levels below an existing state directory. */
static int mkdir_parents(const char *path)
{
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, 0700) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int net_ipam_lock(const struct net_ipam *ipam, int *ret_fd, struct quilt_error *err)
{
        _cleanup_free_ char *leases = NULL, *lock = NULL;
        _cleanup_close_ int fd = -1;
        int r;

        if (!ipam->dir)
                return quilt_error_set(err, -EINVAL, "no state directory for the leases");
        if (asprintf(&leases, "%s/leases", ipam->dir) < 0 || asprintf(&lock, "%s/lock", ipam->dir) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        r = mkdir_parents(leases);
        if (r < 0)
                return quilt_error_set(err, r, "mkdir %s: %s", leases, strerror(-r));
        fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                r = -errno;
                return quilt_error_set(err, r, "open %s: %s", lock, strerror(-r));
        }
        while (flock(fd, LOCK_EX) < 0) {
                if (errno == EINTR)
                        continue;
                r = -errno;
                return quilt_error_set(err, r, "flock %s: %s", lock, strerror(-r));
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int open_leases(const struct net_ipam *ipam, int flags)
{
        _cleanup_free_ char *leases = NULL;
        int fd;

        if (!ipam->dir)
                return -EINVAL;
        if (asprintf(&leases, "%s/leases", ipam->dir) < 0)
                return -ENOMEM;
        fd = open(leases, O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
        return fd < 0 ? -errno : fd;
}

static uint32_t range_first(const struct net_ipam *ipam)
{
        return ipam->network + 1;
}

static uint32_t range_last(const struct net_ipam *ipam)
{
        return (ipam->network | ~net_mask(ipam->prefix)) - 1;
}

static bool in_range(const struct net_ipam *ipam, uint32_t a)
{
        return a >= range_first(ipam) && a <= range_last(ipam);
}

/* The hint, or the range's start when it is missing or stale. */
static uint32_t read_next(const struct net_ipam *ipam)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        char buf[32];
        uint32_t a;
        ssize_t n;

        if (asprintf(&path, "%s/next", ipam->dir) < 0)
                return range_first(ipam);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return range_first(ipam);
        n = read(fd, buf, sizeof(buf) - 1);
        if (n <= 0)
                return range_first(ipam);
        buf[n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        if (net_parse_ip4(buf, &a) < 0 || !in_range(ipam, a))
                return range_first(ipam);
        return a;
}

/* Replaced with a rename: a crash leaves the old hint or the new one. */
static int write_next(const struct net_ipam *ipam, uint32_t a)
{
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -1;
        char buf[24];
        int len;

        if (asprintf(&path, "%s/next", ipam->dir) < 0 || asprintf(&tmp, "%s/next.tmp", ipam->dir) < 0)
                return -ENOMEM;
        net_ip4_text(a, buf, sizeof(buf));
        len = (int)strlen(buf);
        buf[len++] = '\n';
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        if (write(fd, buf, (size_t)len) != len)
                return errno ? -errno : -EIO;
        if (rename(tmp, path) < 0)
                return -errno;
        return 0;
}

/* Names and hostnames end up one per line: keep newlines out. */
static const char *one_line(const char *s)
{
        return s && !strchr(s, '\n') ? s : "";
}

int net_ipam_allocate(const struct net_ipam *ipam, const char *id, const char *name,
                      const char *hostname, uint32_t *ret_addr, struct quilt_error *err)
{
        _cleanup_close_ int dir_fd = -1;
        _cleanup_free_ char *content = NULL;
        uint32_t first = range_first(ipam), last = range_last(ipam);
        uint32_t a = read_next(ipam);
        uint64_t count = (uint64_t)last - first + 1;
        int r;

        if (!id || !id[0] || strchr(id, '\n'))
                return quilt_error_set(err, -EINVAL, "lease: bad container id");
        dir_fd = open_leases(ipam, 0);
        if (dir_fd < 0)
                return quilt_error_set(err, dir_fd, "%s/leases: %s", ipam->dir, strerror(-dir_fd));
        if (asprintf(&content, "%s\n%s\n%s\n", id, one_line(name), one_line(hostname)) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");

        for (uint64_t i = 0; i < count; i++, a = a == last ? first : a + 1) {
                _cleanup_close_ int fd = -1;
                char ip[16];

                if (a == ipam->gateway)
                        continue;
                net_ip4_text(a, ip, sizeof(ip));
                fd = openat(dir_fd, ip, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
                if (fd < 0) {
                        if (errno == EEXIST)
                                continue;
                        r = -errno;
                        return quilt_error_set(err, r, "lease %s: %s", ip, strerror(-r));
                }
                r = net_write_all(fd, content, strlen(content));
                if (r < 0) {
                        unlinkat(dir_fd, ip, 0);
                        return quilt_error_set(err, r, "lease %s: %s", ip, strerror(-r));
                }
                /* Only a hint: a failure costs at most an early reuse. */
                (void)write_next(ipam, a == last ? first : a + 1);
                *ret_addr = a;
                return 0;
        }
        return quilt_error_set(err, -ENOSPC, "no free address in %s", ipam->subnet);
}

/* Parse a lease file's text into `l` (addr and ip already set). */
static void parse_lease(char *text, struct net_lease *l)
{
        char *fields[3] = { l->id, l->name, l->hostname };
        size_t sizes[3] = { sizeof(l->id), sizeof(l->name), sizeof(l->hostname) };
        char *p = text;

        for (size_t i = 0; i < 3; i++) {
                size_t n = strcspn(p, "\n");

                snprintf(fields[i], sizes[i], "%.*s", (int)n, p);
                p += n;
                if (*p == '\n')
                        p++;
        }
}

static int read_lease(int dir_fd, const char *ip, struct net_lease *l)
{
        _cleanup_close_ int fd = -1;
        char buf[1024];
        ssize_t n;

        *l = (struct net_lease) { 0 };
        if (net_parse_ip4(ip, &l->addr) < 0)
                return -EINVAL;
        snprintf(l->ip, sizeof(l->ip), "%s", ip);
        fd = openat(dir_fd, ip, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        parse_lease(buf, l);
        return 0;
}

int net_ipam_release(const struct net_ipam *ipam, uint32_t addr, const char *id)
{
        _cleanup_close_ int dir_fd = -1;
        struct net_lease l;
        char ip[16];
        int r;

        dir_fd = open_leases(ipam, 0);
        if (dir_fd == -ENOENT)
                return 0;
        if (dir_fd < 0)
                return dir_fd;
        net_ip4_text(addr, ip, sizeof(ip));
        r = read_lease(dir_fd, ip, &l);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (strcmp(l.id, id) != 0)
                return 0;
        if (unlinkat(dir_fd, ip, 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int net_ipam_foreach(const struct net_ipam *ipam, net_ipam_lease_fn fn, void *userdata)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int fd;

        fd = open_leases(ipam, 0);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        d = fdopendir(fd);
        if (!d) {
                int r = -errno;
                close(fd);
                return r;
        }
        while ((de = readdir(d))) {
                struct net_lease l;
                int r;

                if (de->d_name[0] == '.')
                        continue;
                if (read_lease(dirfd(d), de->d_name, &l) < 0)
                        continue;       /* gone meanwhile, or not a lease */
                r = fn(&l, userdata);
                if (r != 0)
                        return r;
        }
        return 0;
}

struct find_ctx {
        const char *id;
        uint32_t addr;
};

static int find_cb(const struct net_lease *l, void *userdata)
{
        struct find_ctx *ctx = userdata;

        if (strcmp(l->id, ctx->id) != 0)
                return 0;
        ctx->addr = l->addr;
        return 1;
}

int net_ipam_find(const struct net_ipam *ipam, const char *id, uint32_t *ret_addr)
{
        struct find_ctx ctx = { .id = id };
        int r = net_ipam_foreach(ipam, find_cb, &ctx);

        if (r < 0)
                return r;
        if (r == 0)
                return -ENOENT;
        *ret_addr = ctx.addr;
        return 0;
}

/* A container id is 64 hex digits; anything else in a lease (a torn
 * write, a stray file) cannot name a living container. */
static bool id_valid(const char *id)
{
        size_t n = strspn(id, "0123456789abcdef");
        return n > 0 && id[n] == '\0' && n <= 64;
}

int net_ipam_gc(const struct net_ipam *ipam, const char *containers_dir, size_t *ret_removed,
                struct quilt_error *err)
{
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        size_t removed = 0;
        int fd, r;

        *ret_removed = 0;
        fd = open_leases(ipam, 0);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return quilt_error_set(err, fd, "%s/leases: %s", ipam->dir, strerror(-fd));
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return quilt_error_set(err, r, "%s/leases: %s", ipam->dir, strerror(-r));
        }
        while ((de = readdir(d))) {
                _cleanup_free_ char *cdir = NULL;
                struct net_lease l;
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                r = read_lease(dirfd(d), de->d_name, &l);
                if (r == -ENOENT)
                        continue;
                if (r == 0 && id_valid(l.id)) {
                        if (asprintf(&cdir, "%s/%s", containers_dir, l.id) < 0)
                                return quilt_error_set(err, -ENOMEM, "out of memory");
                        if (stat(cdir, &st) == 0 || errno != ENOENT)
                                continue;       /* alive (or we cannot tell: keep it) */
                }
                if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
                        r = -errno;
                        return quilt_error_set(err, r, "lease %s: %s", de->d_name, strerror(-r));
                }
                removed++;
        }
        *ret_removed = removed;
        return 0;
}
