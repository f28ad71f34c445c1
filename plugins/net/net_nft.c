/* SPDX-License-Identifier: MIT */
/* NAT and published ports of a bridge, over libnftables.
 *
 * Each operation hands libnftables one buffer of nft syntax; the library
 * sends it as one netlink batch, so an operation is one transaction: it
 * applies whole or not at all.  Errors come back as text only, so the
 * errno is recovered from the kernel's strerror() in it.
 *
 * The published ports are map elements (host port : address . port);
 * the rules only look them up, so rewriting the rules never touches the
 * ports of running containers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <nftables/libnftables.h>

#include "cleanup.h"
#include "net_nft.h"

#define TABLE_PREFIX "quilt_"
#define BRIDGE_NAME_MAX 15                      /* IFNAMSIZ - 1 */
#define TABLE_NAME_MAX (sizeof(TABLE_PREFIX) + BRIDGE_NAME_MAX)
#define SUBNET_MAX (INET_ADDRSTRLEN + 3)        /* "a.b.c.d/nn" */

static void nft_ctx_freep(struct nft_ctx **ctx)
{
        if (*ctx)
                nft_ctx_free(*ctx);
}

static void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

/* The bridge name goes into rules (quoted) and into /proc/sys paths, so
 * only plain interface-name characters are accepted; the table name maps
 * everything outside [A-Za-z0-9_] to '_'. */
static int bridge_table(const char *bridge, char table[static TABLE_NAME_MAX], struct quilt_error *err)
{
        size_t n = bridge ? strlen(bridge) : 0;

        if (n == 0 || n > BRIDGE_NAME_MAX || strcmp(bridge, ".") == 0 || strcmp(bridge, "..") == 0)
                return quilt_error_set(err, -EINVAL, "invalid bridge name '%s'", bridge ? bridge : "");

        memcpy(table, TABLE_PREFIX, strlen(TABLE_PREFIX));
        for (size_t i = 0; i < n; i++) {
                char c = bridge[i];
                bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';

                if (!word && c != '-' && c != '.')
                        return quilt_error_set(err, -EINVAL, "invalid bridge name '%s'", bridge);
                table[strlen(TABLE_PREFIX) + i] = word ? c : '_';
        }
        table[strlen(TABLE_PREFIX) + n] = '\0';
        return 0;
}

static int parse_ipv4(const char *text, struct in_addr *ret, char out[static INET_ADDRSTRLEN],
                      struct quilt_error *err)
{
        if (!text || inet_pton(AF_INET, text, ret) != 1)
                return quilt_error_set(err, -EINVAL, "invalid IPv4 address '%s'", text ? text : "");
        inet_ntop(AF_INET, ret, out, INET_ADDRSTRLEN);
        return 0;
}

/* "10.88.0.1/16" -> "10.88.0.0/16": the network, in canonical form. */
static int parse_subnet(const char *cidr, char out[static SUBNET_MAX], struct quilt_error *err)
{
        const char *slash = cidr ? strchr(cidr, '/') : NULL;
        char addr_text[INET_ADDRSTRLEN], addr_out[INET_ADDRSTRLEN];
        struct in_addr addr;
        unsigned prefix = 0;
        size_t len;

        if (!slash || (len = (size_t)(slash - cidr)) >= sizeof(addr_text))
                goto invalid;
        memcpy(addr_text, cidr, len);
        addr_text[len] = '\0';
        if (inet_pton(AF_INET, addr_text, &addr) != 1)
                goto invalid;
        if (slash[1] == '\0' || strspn(slash + 1, "0123456789") != strlen(slash + 1) || strlen(slash + 1) > 2)
                goto invalid;
        prefix = (unsigned)atoi(slash + 1);
        if (prefix < 1 || prefix > 32)
                goto invalid;

        addr.s_addr &= htonl(~0u << (32 - prefix));
        inet_ntop(AF_INET, &addr, addr_out, sizeof(addr_out));
        snprintf(out, SUBNET_MAX, "%s/%u", addr_out, prefix);
        return 0;
invalid:
        return quilt_error_set(err, -EINVAL, "invalid IPv4 subnet '%s'", cidr ? cidr : "");
}

static const char *proto_name(int protocol)
{
        return protocol == IPPROTO_TCP ? "tcp" : "udp";
}

static int check_port(const struct quilt_port *p, struct quilt_error *err)
{
        if (!p || p->struct_size < offsetof(struct quilt_port, container_port) + sizeof(p->container_port))
                return quilt_error_set(err, -EINVAL, "invalid port entry");
        if (p->protocol != IPPROTO_TCP && p->protocol != IPPROTO_UDP)
                return quilt_error_set(err, -EINVAL, "port %u: unsupported protocol %d", p->host_port, p->protocol);
        if (p->host_port == 0 || p->container_port == 0)
                return quilt_error_set(err, -EINVAL, "port %u:%u/%s: port 0", p->host_port, p->container_port,
                                       proto_name(p->protocol));
        return 0;
}

/* The first "Error: ..." line of libnftables' error text; the lines after
 * it repeat the command and point at it with carets. */
static void first_error_line(const char *text, char *buf, size_t size)
{
        const char *e;
        size_t n;

        if (!text)
                text = "";
        e = strstr(text, "Error: ");
        if (e)
                text = e + strlen("Error: ");
        text += strspn(text, " \t\n");
        n = strcspn(text, "\n");
        while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\t' || text[n - 1] == '\r'))
                n--;
        if (n >= size)
                n = size - 1;
        memcpy(buf, text, n);
        buf[n] = '\0';
}

static int nft_errno(const char *message)
{
        static const int known[] = {
                ENOENT, EEXIST, EPERM, EACCES, EBUSY, ENOMEM, ENOBUFS, ENOSPC,
                EOPNOTSUPP, EAFNOSUPPORT, EPROTONOSUPPORT, E2BIG, ERANGE, EINVAL,
        };

        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (strstr(message, strerror(known[i])))
                        return -known[i];
        return -EINVAL;                         /* syntax and evaluation errors */
}

/* libnftables exit()s the process when it cannot open its netlink
 * socket (EMFILE, no nfnetlink).  We are single-threaded: if we can open
 * one and close it, the library's own open succeeds too. */
static int netlink_probe(const char *what, struct quilt_error *err)
{
        _cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);

        if (fd < 0)
                return quilt_error_set(err, -errno, "nftables: %s: netfilter netlink socket: %m", what);
        return 0;
}

/* Run `cmds` as one transaction; hand out what it printed (a listing) in
 * `ret_output` when asked.  `what` names the operation in messages.  The
 * library's socket is not CLOEXEC, but it lives only until nft_ctx_free()
 * below, and nothing in this process execs meanwhile. */
static int nft_run(const char *cmds, char **ret_output, const char *what, struct quilt_error *err)
{
        _cleanup_(nft_ctx_freep) struct nft_ctx *ctx = NULL;
        char line[QUILT_ERROR_MESSAGE_MAX / 2];
        int r;

        r = netlink_probe(what, err);
        if (r < 0)
                return r;
        ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return quilt_error_set(err, -ENOMEM, "nftables: %s: cannot create a context", what);
        if (nft_ctx_buffer_output(ctx) < 0 || nft_ctx_buffer_error(ctx) < 0)
                return quilt_error_set(err, -ENOMEM, "nftables: %s: cannot buffer output", what);

        if (nft_run_cmd_from_buffer(ctx, cmds) != 0) {
                first_error_line(nft_ctx_get_error_buffer(ctx), line, sizeof(line));
                return quilt_error_set(err, nft_errno(line), "nftables: %s: %s", what,
                                       line[0] ? line : "failed");
        }
        if (ret_output) {
                const char *out = nft_ctx_get_output_buffer(ctx);
                char *copy = strdup(out ? out : "");

                if (!copy)
                        return quilt_error_set(err, -ENOMEM, "nftables: %s: out of memory", what);
                *ret_output = copy;
        }
        return 0;
}

/* Our own failure, or one we tolerate: `local` goes to `err` only when
 * the caller really fails. */
static int propagate(struct quilt_error *err, const struct quilt_error *local, int r)
{
        if (err && r < 0)
                *err = *local;
        return r;
}

/* Commands are collected in a memory stream, then run in one go. */
struct cmd_buf {
        char *text;
        size_t size;
        FILE *f;
};

static void cmd_buf_done(struct cmd_buf *b)
{
        fclosep(&b->f);
        b->f = NULL;
        free(b->text);
        b->text = NULL;
}

static int cmd_buf_open(struct cmd_buf *b, struct quilt_error *err)
{
        b->f = open_memstream(&b->text, &b->size);
        if (!b->f)
                return quilt_error_set(err, -errno, "open_memstream: %m");
        return 0;
}

static int cmd_buf_finish(struct cmd_buf *b, struct quilt_error *err)
{
        FILE *f = TAKE_PTR(b->f);

        if (ferror(f)) {
                fclose(f);
                return quilt_error_set(err, -ENOMEM, "building nftables commands: out of memory");
        }
        if (fclose(f) != 0)
                return quilt_error_set(err, -ENOMEM, "building nftables commands: out of memory");
        return 0;
}

int net_nft_ensure(const char *bridge, const char *subnet_cidr, int masquerade, struct quilt_error *err)
{
        _cleanup_(cmd_buf_done) struct cmd_buf b = {};
        char table[TABLE_NAME_MAX], subnet[SUBNET_MAX], what[32 + TABLE_NAME_MAX];
        int r;

        r = bridge_table(bridge, table, err);
        if (r < 0)
                return r;
        r = parse_subnet(subnet_cidr, subnet, err);
        if (r < 0)
                return r;
        r = cmd_buf_open(&b, err);
        if (r < 0)
                return r;

        /* `add` leaves what exists (and the maps' elements) alone; the
         * chains are flushed and refilled, so a second call never
         * duplicates a rule and a changed subnet or masquerade flag is
         * applied — all in the same transaction. */
        fprintf(b.f, "add table ip %s\n", table);
        fprintf(b.f, "add map ip %s tcp_ports { type inet_service : ipv4_addr . inet_service; }\n", table);
        fprintf(b.f, "add map ip %s udp_ports { type inet_service : ipv4_addr . inet_service; }\n", table);
        /* nft 1.0.6 takes the name "dstnat" for prerouting only. */
        fprintf(b.f, "add chain ip %s prerouting { type nat hook prerouting priority dstnat; policy accept; }\n", table);
        fprintf(b.f, "add chain ip %s output { type nat hook output priority -100; policy accept; }\n", table);
        fprintf(b.f, "add chain ip %s postrouting { type nat hook postrouting priority srcnat; policy accept; }\n", table);
        fprintf(b.f, "flush chain ip %s prerouting\n", table);
        fprintf(b.f, "flush chain ip %s output\n", table);
        fprintf(b.f, "flush chain ip %s postrouting\n", table);

        /* Published ports, for packets to any local address: from outside
         * (prerouting) and from the host itself (output). */
        fprintf(b.f, "add rule ip %s prerouting fib daddr type local dnat ip to tcp dport map @tcp_ports\n", table);
        fprintf(b.f, "add rule ip %s prerouting fib daddr type local dnat ip to udp dport map @udp_ports\n", table);
        fprintf(b.f, "add rule ip %s output fib daddr type local dnat ip to tcp dport map @tcp_ports\n", table);
        fprintf(b.f, "add rule ip %s output fib daddr type local dnat ip to udp dport map @udp_ports\n", table);

        if (masquerade)
                fprintf(b.f, "add rule ip %s postrouting ip saddr %s oifname != \"%s\" masquerade\n",
                        table, subnet, bridge);
        /* The host reaching a published port via 127.0.0.1: route_localnet
         * on the bridge lets the DNATed packet out; the container could not
         * answer a loopback source, so it gets the bridge's address. */
        fprintf(b.f, "add rule ip %s postrouting ip saddr 127.0.0.0/8 oifname \"%s\" masquerade\n", table, bridge);
        /* Hairpin: a container reaching a published port through a host
         * address is DNATed back into the bridge; without this the peer
         * would answer it directly, from an address it did not call. */
        fprintf(b.f, "add rule ip %s postrouting ip saddr %s oifname \"%s\" ct status dnat masquerade\n",
                table, subnet, bridge);

        r = cmd_buf_finish(&b, err);
        if (r < 0)
                return r;
        snprintf(what, sizeof(what), "setting up table ip %s", table);
        return nft_run(b.text, NULL, what, err);
}

/* One element of a port map. */
struct port_elem {
        uint16_t host_port;
        struct in_addr addr;
        uint16_t port;
};

struct port_map {
        struct port_elem *elems;
        size_t n;
        bool loaded;
};

static void port_map_done(struct port_map *m)
{
        free(m->elems);
        m->elems = NULL;
        m->n = 0;
}

/* Parse the "elements = { 8080 : 10.88.0.3 . 80, ... }" of a map listing
 * (default output: ports are numeric).  Long lists wrap over lines. */
static int parse_elements(const char *text, struct port_map *m)
{
        const char *p = strstr(text, "elements = {");

        if (!p)
                return 0;                       /* an empty map */
        p += strlen("elements = {");
        for (;;) {
                unsigned host_port, port;
                char addr[INET_ADDRSTRLEN];
                struct port_elem *e;
                int used = 0;

                p += strspn(p, " \t\n,");
                if (*p == '}')
                        return 0;
                if (sscanf(p, "%5u : %15[0-9.] . %5u%n", &host_port, addr, &port, &used) != 3 || used == 0 ||
                    host_port > 65535 || port > 65535)
                        return -EBADMSG;
                p += used;

                e = realloc(m->elems, (m->n + 1) * sizeof(*m->elems));
                if (!e)
                        return -ENOMEM;
                m->elems = e;
                e = &m->elems[m->n++];
                e->host_port = (uint16_t)host_port;
                e->port = (uint16_t)port;
                if (inet_pton(AF_INET, addr, &e->addr) != 1)
                        return -EBADMSG;
        }
}

static int map_read(const char *table, int protocol, struct port_map *m, struct quilt_error *err)
{
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        char what[64 + TABLE_NAME_MAX];
        int r;

        if (m->loaded)
                return 0;
        if (asprintf(&cmd, "list map ip %s %s_ports\n", table, proto_name(protocol)) < 0)
                return quilt_error_set(err, -ENOMEM, "nftables: out of memory");
        snprintf(what, sizeof(what), "reading map ip %s %s_ports", table, proto_name(protocol));
        r = nft_run(cmd, &out, what, err);
        if (r < 0)
                return r;
        r = parse_elements(out, m);
        if (r < 0)
                return quilt_error_set(err, r, "nftables: %s: unexpected listing", what);
        m->loaded = true;
        return 0;
}

static const struct port_elem *map_find(const struct port_map *m, uint16_t host_port)
{
        for (size_t i = 0; i < m->n; i++)
                if (m->elems[i].host_port == host_port)
                        return &m->elems[i];
        return NULL;
}

/* Whether ports[i] repeats the protocol and host port of an earlier one. */
static bool port_repeated(const struct quilt_port *const *ports, size_t i)
{
        for (size_t j = 0; j < i; j++)
                if (ports[j]->protocol == ports[i]->protocol && ports[j]->host_port == ports[i]->host_port)
                        return true;
        return false;
}

/* What add and remove check first: the table's name, the address (also
 * in canonical text) and each port. */
static int check_ports_call(const char *bridge, const char *container_ip, const struct quilt_port *const *ports,
                            size_t n_ports, char table[static TABLE_NAME_MAX], struct in_addr *addr,
                            char ip[static INET_ADDRSTRLEN], struct quilt_error *err)
{
        int r = bridge_table(bridge, table, err);
        if (r < 0)
                return r;
        r = parse_ipv4(container_ip, addr, ip, err);
        if (r < 0)
                return r;
        if (n_ports > 0 && !ports)
                return quilt_error_set(err, -EINVAL, "invalid port list");
        for (size_t i = 0; i < n_ports; i++) {
                r = check_port(ports[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int net_nft_add_ports(const char *bridge, const char *container_ip, const struct quilt_port *const *ports,
                      size_t n_ports, struct quilt_error *err)
{
        _cleanup_(port_map_done) struct port_map tcp = {};
        _cleanup_(port_map_done) struct port_map udp = {};
        _cleanup_(cmd_buf_done) struct cmd_buf b = {};
        char table[TABLE_NAME_MAX], ip[INET_ADDRSTRLEN], what[48 + TABLE_NAME_MAX];
        struct in_addr addr;
        size_t n_new = 0;
        int r;

        r = check_ports_call(bridge, container_ip, ports, n_ports, table, &addr, ip, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_ports; i++)
                if (port_repeated(ports, i))
                        return quilt_error_set(err, -EADDRINUSE, "host port %u/%s is published twice",
                                               ports[i]->host_port, proto_name(ports[i]->protocol));
        if (n_ports == 0)
                return 0;

        r = cmd_buf_open(&b, err);
        if (r < 0)
                return r;
        /* Check first, for a message naming the owner; `create` (which
         * fails on an existing key) keeps the batch all-or-nothing even
         * if we raced. */
        for (size_t i = 0; i < n_ports; i++) {
                const struct quilt_port *p = ports[i];
                struct port_map *m = p->protocol == IPPROTO_TCP ? &tcp : &udp;
                const struct port_elem *e;
                char owner[INET_ADDRSTRLEN];

                r = map_read(table, p->protocol, m, err);
                if (r < 0)
                        return r;
                e = map_find(m, p->host_port);
                if (e && e->addr.s_addr == addr.s_addr && e->port == p->container_port)
                        continue;                       /* already ours, as asked */
                if (e) {
                        inet_ntop(AF_INET, &e->addr, owner, sizeof(owner));
                        return quilt_error_set(err, -EADDRINUSE, "host port %u/%s is already published (by %s:%u)",
                                               p->host_port, proto_name(p->protocol), owner, e->port);
                }
                fprintf(b.f, "create element ip %s %s_ports { %u : %s . %u }\n", table, proto_name(p->protocol),
                        p->host_port, ip, p->container_port);
                n_new++;
        }
        r = cmd_buf_finish(&b, err);
        if (r < 0)
                return r;
        if (n_new == 0)
                return 0;

        snprintf(what, sizeof(what), "publishing ports in table ip %s", table);
        r = nft_run(b.text, NULL, what, err);
        if (r == -EEXIST) {                     /* a host port taken since we looked */
                r = -EADDRINUSE;
                if (err)
                        err->code = r;
        }
        return r;
}

int net_nft_remove_ports(const char *bridge, const char *container_ip, const struct quilt_port *const *ports,
                         size_t n_ports, struct quilt_error *err)
{
        _cleanup_(port_map_done) struct port_map tcp = {};
        _cleanup_(port_map_done) struct port_map udp = {};
        _cleanup_(cmd_buf_done) struct cmd_buf b = {};
        char table[TABLE_NAME_MAX], ip[INET_ADDRSTRLEN], what[48 + TABLE_NAME_MAX];
        struct quilt_error local = {};
        struct in_addr addr;
        size_t n_gone = 0;
        int r;

        r = check_ports_call(bridge, container_ip, ports, n_ports, table, &addr, ip, err);
        if (r < 0)
                return r;

        r = cmd_buf_open(&b, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_ports; i++) {
                const struct quilt_port *p = ports[i];
                struct port_map *m = p->protocol == IPPROTO_TCP ? &tcp : &udp;
                const struct port_elem *e;

                if (port_repeated(ports, i))
                        continue;               /* a second delete of one key would fail the batch */
                r = map_read(table, p->protocol, m, &local);
                if (r == -ENOENT)
                        return 0;               /* no table: nothing was published */
                if (r < 0)
                        return propagate(err, &local, r);
                /* The kernel deletes by key alone: check the value, the
                 * host port may belong to another container by now. */
                e = map_find(m, p->host_port);
                if (!e || e->addr.s_addr != addr.s_addr)
                        continue;
                fprintf(b.f, "delete element ip %s %s_ports { %u }\n", table, proto_name(p->protocol), p->host_port);
                n_gone++;
        }
        r = cmd_buf_finish(&b, err);
        if (r < 0)
                return r;
        if (n_gone == 0)
                return 0;
        snprintf(what, sizeof(what), "withdrawing ports from table ip %s", table);
        return nft_run(b.text, NULL, what, err);
}

int net_nft_remove_table(const char *bridge, struct quilt_error *err)
{
        _cleanup_free_ char *cmd = NULL;
        char table[TABLE_NAME_MAX], what[32 + TABLE_NAME_MAX];
        struct quilt_error local = {};
        int r;

        r = bridge_table(bridge, table, err);
        if (r < 0)
                return r;
        if (asprintf(&cmd, "delete table ip %s\n", table) < 0)
                return quilt_error_set(err, -ENOMEM, "nftables: out of memory");
        snprintf(what, sizeof(what), "deleting table ip %s", table);
        r = nft_run(cmd, NULL, what, &local);
        if (r == -ENOENT)
                return 0;
        return propagate(err, &local, r);
}

static int sysctl_enable(const char *path, struct quilt_error *err)
{
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        ssize_t n;

        if (fd < 0)
                return quilt_error_set(err, -errno, "opening %s: %m", path);
        n = write(fd, "1\n", 2);
        if (n < 0)
                return quilt_error_set(err, -errno, "writing %s: %m", path);
        if (n != 2)
                return quilt_error_set(err, -EIO, "writing %s: short write", path);
        return 0;
}

int net_sysctl_bridge(const char *bridge, int ip_forward, struct quilt_error *err)
{
        char table[TABLE_NAME_MAX], path[64 + BRIDGE_NAME_MAX];
        int r;

        r = bridge_table(bridge, table, err);           /* validates the name for the paths */
        if (r < 0)
                return r;
        /* First: writing ip_forward resets every interface's forwarding. */
        if (ip_forward) {
                r = sysctl_enable("/proc/sys/net/ipv4/ip_forward", err);
                if (r < 0)
                        return r;
        }
        snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/forwarding", bridge);
        r = sysctl_enable(path, err);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
        return sysctl_enable(path, err);
}
