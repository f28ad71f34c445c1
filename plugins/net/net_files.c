/* SPDX-License-Identifier: MIT */
/* hosts and resolv.conf of a bridged container.  The text is built in
 * memory, then written with one open: O_TRUNC on the same inode, never a
 * rename, since a running container sees the file through a bind mount
 * of that inode. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "net_files.h"

static void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

int net_write_all(int fd, const char *buf, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, buf, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                buf += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Put `text` into `path`; see net_files.h for `create`.  -ENOENT only
 * without `create`, for a file that is not there. */
static int put_file(const char *path, const char *text, size_t len, bool create)
{
        _cleanup_close_ int fd = -1;
        int r;

        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0644);
        if (fd < 0)
                return -errno;
        if (create && fchmod(fd, 0644) < 0)
                return -errno;
        r = net_write_all(fd, text, len);
        return r;
}

struct hosts_ctx {
        FILE *f;
        const char *self_id;
};

static int hosts_peer_cb(const struct net_lease *l, void *userdata)
{
        struct hosts_ctx *ctx = userdata;

        if (!strcmp(l->id, ctx->self_id))
                return 0;
        fprintf(ctx->f, "%s\t", l->ip);
        if (l->name[0])
                fprintf(ctx->f, "%s ", l->name);
        if (l->hostname[0] && strcmp(l->hostname, l->name) != 0)
                fprintf(ctx->f, "%s", l->hostname);
        fputc('\n', ctx->f);
        return 0;
}

int net_files_write_hosts(const struct net_ipam *ipam, const char *path, const struct net_lease *self,
                          bool peers, bool create, struct quilt_error *err)
{
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r;

        {
                _cleanup_(fclosep) FILE *f = open_memstream(&text, &len);
                struct hosts_ctx ctx = { .f = f, .self_id = self->id };

                if (!f)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                fprintf(f, "127.0.0.1\tlocalhost\n"
                           "::1\tlocalhost ip6-localhost ip6-loopback\n"
                           "%s\t%s", self->ip, self->hostname);
                if (self->name[0] && strcmp(self->name, self->hostname) != 0)
                        fprintf(f, " %s", self->name);
                fputc('\n', f);
                if (peers) {
                        r = net_ipam_foreach(ipam, hosts_peer_cb, &ctx);
                        if (r < 0)
                                return quilt_error_set(err, r, "%s: reading the leases: %s",
                                                       path, strerror(-r));
                }
                if (fflush(f) != 0 || ferror(f))
                        return quilt_error_set(err, -ENOMEM, "out of memory");
        }
        r = put_file(path, text, len, create);
        if (r == -ENOENT && !create)
                return 0;
        if (r < 0)
                return quilt_error_set(err, r, "%s: %s", path, strerror(-r));
        return 0;
}

struct peers_ctx {
        const struct net_ipam *ipam;
        const char *containers_dir;
        const char *except_id;
        struct quilt_error *err;
        int first_error;
};

static int peers_cb(const struct net_lease *l, void *userdata)
{
        struct peers_ctx *ctx = userdata;
        _cleanup_free_ char *path = NULL;
        int r;

        if (ctx->except_id && !strcmp(l->id, ctx->except_id))
                return 0;
        if (!l->id[0] || strchr(l->id, '/'))
                return 0;
        if (asprintf(&path, "%s/%s/hosts", ctx->containers_dir, l->id) < 0) {
                path = NULL;
                r = quilt_error_set(ctx->err, -ENOMEM, "out of memory");
        } else
                r = net_files_write_hosts(ctx->ipam, path, l, true, false, ctx->err);
        /* One peer's trouble does not stop the others' update. */
        if (r < 0 && ctx->first_error == 0)
                ctx->first_error = r;
        return 0;
}

int net_files_update_peers(const struct net_ipam *ipam, const char *containers_dir,
                           const char *except_id, struct quilt_error *err)
{
        struct peers_ctx ctx = {
                .ipam = ipam, .containers_dir = containers_dir, .except_id = except_id, .err = err,
        };
        int r = net_ipam_foreach(ipam, peers_cb, &ctx);

        if (r < 0)
                return quilt_error_set(err, r, "reading the leases: %s", strerror(-r));
        return ctx.first_error;
}

/* A nameserver a container behind NAT can use: IPv4, not loopback (a
 * host's 127.0.0.53 stub is not there inside the namespace). */
static bool nameserver_usable(const char *line)
{
        char addr[64];
        uint32_t a;

        if (sscanf(line, "nameserver %63s", addr) != 1)
                return false;
        if (net_parse_ip4(addr, &a) < 0)
                return false;
        return (a >> 24) != 127;
}

int net_files_write_resolv(const struct net_config *cfg, const char *path, struct quilt_error *err)
{
        _cleanup_free_ char *text = NULL, *line = NULL;
        size_t len = 0, cap = 0;
        int r;

        {
                _cleanup_(fclosep) FILE *f = open_memstream(&text, &len);
                _cleanup_(fclosep) FILE *in = NULL;
                size_t kept = 0;

                if (!f)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                if (cfg->n_dns > 0) {
                        fprintf(f, "# from the [net_bridge] dns setting\n");
                        for (size_t i = 0; i < cfg->n_dns; i++) {
                                char ip[16];
                                fprintf(f, "nameserver %s\n", net_ip4_text(cfg->dns[i], ip, sizeof(ip)));
                        }
                } else {
                        in = fopen(cfg->resolv_conf, "re");
                        if (!in && errno != ENOENT) {
                                r = -errno;
                                return quilt_error_set(err, r, "%s: %s", cfg->resolv_conf, strerror(-r));
                        }
                        fprintf(f, "# from the host's %s\n", cfg->resolv_conf);
                        while (in && getline(&line, &cap, in) >= 0) {
                                const char *s = line + strspn(line, " \t");

                                if (!strncmp(s, "nameserver", 10) && (s[10] == ' ' || s[10] == '\t')) {
                                        if (!nameserver_usable(s))
                                                continue;
                                        kept++;
                                }
                                fputs(line, f);
                                if (line[0] && line[strlen(line) - 1] != '\n')
                                        fputc('\n', f);
                        }
                        if (kept == 0)
                                fprintf(f, "# no nameserver the container can reach there: "
                                           "set [net_bridge] dns\n");
                }
                if (fflush(f) != 0 || ferror(f))
                        return quilt_error_set(err, -ENOMEM, "out of memory");
        }
        r = put_file(path, text, len, true);
        if (r < 0)
                return quilt_error_set(err, r, "%s: %s", path, strerror(-r));
        return 0;
}
