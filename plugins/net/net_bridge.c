/* SPDX-License-Identifier: MIT */
/* The net_bridge plugin: mode "bridge" puts eth0 of a veth pair into the
 * container, the other end on a host bridge, with an address leased from
 * the bridge's subnet, a default route via the bridge, NAT and published
 * ports (net_nft.c), and its own /etc/hosts and /etc/resolv.conf.  Modes
 * "none" and "loopback" it handles as net_loopback does (net.h).
 *
 *   daemon_start  quiltd: the subnet must not overlap the host's networks;
 *                 leases of containers that are gone are dropped
 *   pre_clone     lease an address, write CONTAINER_DIR/{hosts,resolv.conf}
 *   post_start    bridge (made on first use), rules, veth, eth0's address
 *                 and route, published ports; the peers' hosts files
 *   in_child      bind-mount hosts and resolv.conf over the image's
 *   cleanup       veth, ports, lease, the peers' hosts files
 *
 * The bridge is created lazily by the first bridged container, not at
 * daemon start: a daemon that never runs one leaves no interface behind. */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "net.h"
#include "net_files.h"
#include "net_ipam.h"
#include "net_netlink.h"
#include "net_nft.h"

#define NET_BRIDGE_FEATURES                                                          \
        (QUILT_FEATURE_NETWORK_NONE | QUILT_FEATURE_NETWORK_LOOPBACK |                \
         QUILT_FEATURE_NETWORK_BRIDGE)
/* CONTAINER_DIR/net_bridge: "IP\nBRIDGE\n", so cleanup finds the lease
 * without a scan. */
#define NET_RECORD "net_bridge"
#define NET_PEER_IFNAME "eth0"

struct bridge_state {
        const struct quilt_host *host;
        const struct quilt_config_section *section;
        struct net_config cfg;
        struct net_ipam ipam;
        char *containers_dir;   /* STATE/containers; NULL without a state dir */
        /* The one container of this monitor, from pre_clone on. */
        struct net_lease lease;
        bool have_lease;
        bool mount_files;
        /* Detached bind mounts of the two files, made in pre_clone where the
         * container's directory is in sight (a userns child may not reach
         * it); the child inherits them, the monitor closes its copies. */
        int hosts_tree;
        int resolv_tree;
};

static void bridge_log(const struct bridge_state *s, enum quilt_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void bridge_log(const struct bridge_state *s, enum quilt_log_level level, const char *fmt, ...)
{
        char msg[QUILT_ERROR_MESSAGE_MAX];
        va_list ap;

        if (!QUILT_HOST_HAS(s->host, log))
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        s->host->log(level, "net_bridge", "%s", msg);
}

static int bridge_init(const struct quilt_host *host, const struct quilt_config_section *section,
                       void **ret_state, struct quilt_error *err)
{
        _cleanup_free_ struct bridge_state *s = NULL;
        const char *state_dir;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        s->host = host;
        s->section = section;
        s->hosts_tree = s->resolv_tree = -1;
        r = net_config_parse(host, section, &s->cfg, err);
        if (r < 0)
                return r;
        /* Paths only: init has no side effects. */
        state_dir = QUILT_HOST_HAS(host, state_dir) ? host->state_dir() : NULL;
        if (state_dir && state_dir[0] == '/') {
                r = net_ipam_init(&s->ipam, state_dir, &s->cfg);
                if (r < 0 || asprintf(&s->containers_dir, "%s/containers", state_dir) < 0) {
                        net_ipam_done(&s->ipam);
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                }
        } else
                net_ipam_init(&s->ipam, NULL, &s->cfg);
        *ret_state = TAKE_PTR(s);
        return 0;
}

static void bridge_fini(void *state)
{
        struct bridge_state *s = state;

        if (!s)
                return;
        net_ipam_done(&s->ipam);
        quilt_closep(&s->hosts_tree);
        quilt_closep(&s->resolv_tree);
        free(s->containers_dir);
        free(s);
}

static bool is_bridged(const struct quilt_container *c)
{
        return net_mode_is(c, "bridge");
}

/* "qv" and the id's first 12 hex digits: unique, and short enough (15). */
static void host_ifname(const struct quilt_container *c, char buf[static IFNAMSIZ])
{
        snprintf(buf, IFNAMSIZ, "qv%.12s", c->id);
}

static int write_record(const struct quilt_container *c, const struct bridge_state *s,
                        struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        char text[64];
        int n, r;

        if (asprintf(&path, "%s/" NET_RECORD, c->dir) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        n = snprintf(text, sizeof(text), "%s\n%s\n", s->lease.ip, s->cfg.bridge);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        r = fd < 0 ? -errno : net_write_all(fd, text, (size_t)n);
        if (r < 0)
                return quilt_error_set(err, r, "%s: %s", path, strerror(-r));
        return 0;
}

/* The address and bridge the record names; -ENOENT without a record. */
static int read_record(const struct quilt_container *c, uint32_t *ret_addr, char bridge[static IFNAMSIZ])
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -1;
        char text[64], *nl;
        ssize_t n;

        if (asprintf(&path, "%s/" NET_RECORD, c->dir) < 0)
                return -ENOMEM;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        n = read(fd, text, sizeof(text) - 1);
        if (n < 0)
                return -errno;
        text[n] = '\0';
        nl = strchr(text, '\n');
        if (!nl)
                return -EBADMSG;
        *nl = '\0';
        if (net_parse_ip4(text, ret_addr) < 0)
                return -EBADMSG;
        snprintf(bridge, IFNAMSIZ, "%.*s", (int)strcspn(nl + 1, "\n"), nl + 1);
        return 0;
}

static int unlink_record(const struct quilt_container *c)
{
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/" NET_RECORD, c->dir) < 0)
                return -ENOMEM;
        if (unlink(path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* A detached bind mount of `path`, for in_child to attach. */
static int detach_file(const char *path, int *ret_tree, struct quilt_error *err)
{
        int r;

        quilt_closep(ret_tree);
        *ret_tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (*ret_tree < 0) {
                r = -errno;
                return quilt_error_set(err, r, "%s: open_tree: %s", path, strerror(-r));
        }
        return 0;
}

/* Lease an address and write the files in_child mounts. */
static int bridge_pre_clone(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct bridge_state *s = state;
        _cleanup_free_ char *hosts_path = NULL, *resolv_path = NULL;
        _cleanup_close_ int lock_fd = -1;
        uint32_t addr;
        int r;

        net_simple_pre_clone(c, NET_BRIDGE_FEATURES);
        if (!is_bridged(c))
                return 0;
        if (!s->containers_dir || !c->dir || c->dir[0] != '/')
                return quilt_error_set(err, -EINVAL, "no state directory for the address leases");

        if (asprintf(&hosts_path, "%s/hosts", c->dir) < 0 ||
            asprintf(&resolv_path, "%s/resolv.conf", c->dir) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");

        r = net_ipam_lock(&s->ipam, &lock_fd, err);
        if (r < 0)
                return r;
        r = net_ipam_allocate(&s->ipam, c->id, c->name, c->hostname, &addr, err);
        if (r < 0)
                return r;
        s->lease = (struct net_lease) { .addr = addr };
        net_ip4_text(addr, s->lease.ip, sizeof(s->lease.ip));
        snprintf(s->lease.id, sizeof(s->lease.id), "%s", c->id);
        snprintf(s->lease.name, sizeof(s->lease.name), "%s", c->name ? c->name : "");
        snprintf(s->lease.hostname, sizeof(s->lease.hostname), "%s", c->hostname ? c->hostname : "");
        s->have_lease = true;
        /* Known from here on; post_start sets it again once eth0 has it. */
        snprintf(c->ip_address, sizeof(c->ip_address), "%s", s->lease.ip);

        r = write_record(c, s, err);
        if (r < 0) {
                net_ipam_release(&s->ipam, addr, c->id);
                s->have_lease = false;
                return r;
        }
        r = net_files_write_hosts(&s->ipam, hosts_path, &s->lease, s->cfg.hosts, true, err);
        if (r < 0)
                return r;       /* cleanup frees the lease the record names */
        r = net_files_write_resolv(&s->cfg, resolv_path, err);
        if (r < 0)
                return r;

        /* Without a mount namespace of its own a bind mount would land on
         * the host: then the image's files stay. */
        s->mount_files = (c->clone_flags & CLONE_NEWNS) != 0;
        if (!s->mount_files)
                bridge_log(s, QUILT_LOG_WARNING, "no mount namespace: the image's /etc/hosts and "
                           "/etc/resolv.conf stay as they are");
        else if ((r = detach_file(hosts_path, &s->hosts_tree, err)) < 0 ||
                 (r = detach_file(resolv_path, &s->resolv_tree, err)) < 0)
                return r;
        bridge_log(s, QUILT_LOG_DEBUG, "%s: address %s on %s", c->id, s->lease.ip, s->cfg.bridge);
        return 0;
}

/* The bridge, with the gateway's address, up: made on first use. */
static int ensure_bridge(struct bridge_state *s, struct net_nl *nl, int *ret_index,
                         struct quilt_error *err)
{
        const struct net_config *cfg = &s->cfg;
        int idx, r;

        idx = net_nl_link_index(nl, cfg->bridge);
        if (idx == -ENODEV) {
                r = net_nl_create_bridge(nl, cfg->bridge, (uint32_t)cfg->mtu);
                if (r < 0 && r != -EEXIST)
                        return quilt_error_set(err, r, "bridge %s: RTNETLINK: %s", cfg->bridge,
                                               strerror(-r));
                if (r == 0)
                        bridge_log(s, QUILT_LOG_INFO, "created bridge %s (%s/%u)", cfg->bridge,
                                   cfg->gateway_text, cfg->prefix);
                idx = net_nl_link_index(nl, cfg->bridge);
        }
        if (idx < 0)
                return quilt_error_set(err, idx, "bridge %s: RTNETLINK: %s", cfg->bridge, strerror(-idx));
        r = net_nl_add_addr4(nl, idx, cfg->gateway, cfg->prefix);
        if (r < 0 && r != -EEXIST)
                return quilt_error_set(err, r, "bridge %s: address %s/%u: RTNETLINK: %s", cfg->bridge,
                                       cfg->gateway_text, cfg->prefix, strerror(-r));
        r = net_nl_set_link(nl, idx, 0, true);
        if (r < 0)
                return quilt_error_set(err, r, "bridge %s: up: RTNETLINK: %s", cfg->bridge, strerror(-r));
        *ret_index = idx;
        return 0;
}

/* A netlink socket in the network namespace of `pid`: the socket stays
 * in the namespace it was made in, so the monitor (single-threaded)
 * steps in only for the socket() call and back out at once. */
static int open_nl_in(pid_t pid, struct net_nl *nl, struct quilt_error *err)
{
        _cleanup_close_ int self_fd = -1, target_fd = -1;
        char path[64];
        int r, r2;

        self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self_fd < 0) {
                r = -errno;
                return quilt_error_set(err, r, "/proc/self/ns/net: %s", strerror(-r));
        }
        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
        target_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (target_fd < 0) {
                r = -errno;
                return quilt_error_set(err, r, "%s: %s", path, strerror(-r));
        }
        if (setns(target_fd, CLONE_NEWNET) < 0) {
                r = -errno;
                return quilt_error_set(err, r, "entering the network namespace of %d: %s", (int)pid,
                                       strerror(-r));
        }
        r = net_nl_open(nl);
        if (setns(self_fd, CLONE_NEWNET) < 0) {
                r2 = -errno;
                net_nl_close(nl);
                return quilt_error_set(err, r2, "back to the monitor's network namespace: %s",
                                       strerror(-r2));
        }
        if (r < 0)
                return quilt_error_set(err, r, "netlink socket in the container: %s", strerror(-r));
        return 0;
}

/* eth0's address, eth0 and lo up, the default route via the bridge. */
static int configure_inside(struct bridge_state *s, pid_t pid, struct quilt_error *err)
{
        const struct net_config *cfg = &s->cfg;
        struct net_nl nl = { 0 };
        int eth, lo, r;

        r = open_nl_in(pid, &nl, err);
        if (r < 0)
                return r;
        eth = net_nl_link_index(&nl, NET_PEER_IFNAME);
        if (eth < 0) {
                r = quilt_error_set(err, eth, NET_PEER_IFNAME " in the container: RTNETLINK: %s",
                                    strerror(-eth));
                goto out;
        }
        r = net_nl_add_addr4(&nl, eth, s->lease.addr, cfg->prefix);
        if (r < 0) {
                quilt_error_set(err, r, NET_PEER_IFNAME " in the container: address %s/%u: RTNETLINK: %s",
                                s->lease.ip, cfg->prefix, strerror(-r));
                goto out;
        }
        r = net_nl_set_link(&nl, eth, 0, true);
        if (r < 0) {
                quilt_error_set(err, r, NET_PEER_IFNAME " in the container: up: RTNETLINK: %s",
                                strerror(-r));
                goto out;
        }
        lo = net_nl_link_index(&nl, "lo");
        r = lo < 0 ? lo : net_nl_set_link(&nl, lo, 0, true);
        if (r < 0) {
                quilt_error_set(err, r, "lo in the container: up: RTNETLINK: %s", strerror(-r));
                goto out;
        }
        r = net_nl_add_default_route4(&nl, cfg->gateway, eth);
        if (r < 0)
                quilt_error_set(err, r, "default route via %s in the container: RTNETLINK: %s",
                                cfg->gateway_text, strerror(-r));
out:
        net_nl_close(&nl);
        return r;
}

static int bridge_post_start(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct bridge_state *s = state;
        const struct net_config *cfg = &s->cfg;
        _cleanup_close_ int lock_fd = -1;
        struct net_nl nl = { 0 };
        char veth[IFNAMSIZ];
        int br = 0, idx, r;

        /* The child holds its own copies now. */
        quilt_closep(&s->hosts_tree);
        quilt_closep(&s->resolv_tree);
        if (!is_bridged(c))
                return 0;
        if (!s->have_lease)
                return quilt_error_set(err, -EINVAL, "no address leased in pre_clone");
        host_ifname(c, veth);

        /* One monitor at a time sets up the bridge and its rules. */
        r = net_ipam_lock(&s->ipam, &lock_fd, err);
        if (r < 0)
                return r;
        r = net_nl_open(&nl);
        if (r < 0)
                return quilt_error_set(err, r, "netlink socket: %s", strerror(-r));
        r = ensure_bridge(s, &nl, &br, err);
        if (r < 0)
                goto out;
        r = net_sysctl_bridge(cfg->bridge, cfg->ip_forward, err);
        if (r < 0)
                goto out;
        r = net_nft_ensure(cfg->bridge, cfg->subnet, cfg->nat, err);
        if (r < 0)
                goto out;

        r = net_nl_create_veth(&nl, veth, NET_PEER_IFNAME, c->pid, (uint32_t)cfg->mtu);
        if (r < 0) {
                quilt_error_set(err, r, "veth %s: RTNETLINK: %s", veth, strerror(-r));
                goto out;
        }
        idx = net_nl_link_index(&nl, veth);
        r = idx < 0 ? idx : net_nl_set_link(&nl, idx, br, true);
        if (r < 0) {
                quilt_error_set(err, r, "veth %s: onto bridge %s: RTNETLINK: %s", veth, cfg->bridge,
                                strerror(-r));
                goto out;
        }
        r = configure_inside(s, c->pid, err);
        if (r < 0)
                goto out;
        if (c->n_ports > 0) {
                r = net_nft_add_ports(cfg->bridge, s->lease.ip, c->ports, c->n_ports, err);
                if (r < 0)
                        goto out;
        }
        snprintf(c->ip_address, sizeof(c->ip_address), "%s", s->lease.ip);

        if (cfg->hosts) {
                struct quilt_error e = { 0 };
                /* A stale name elsewhere is no reason to fail this container. */
                if (net_files_update_peers(&s->ipam, s->containers_dir, c->id, &e) < 0)
                        bridge_log(s, QUILT_LOG_WARNING, "updating the other containers' hosts: %s",
                                   e.message);
        }
        bridge_log(s, QUILT_LOG_DEBUG, "%s: %s on %s via %s", c->id, s->lease.ip, veth, cfg->bridge);
out:
        net_nl_close(&nl);
        return r;
}

/* Mount CONTAINER_DIR/NAME over /etc/NAME in the root.  /etc is resolved
 * in the root (made if missing); NAME itself is never followed: a symlink
 * there (to systemd-resolved's stub in /run, or to another file of the
 * image) is replaced in this container's copy of the root by an empty
 * file, and so is a missing one.  The image keeps its files.  No malloc:
 * in_child. */
static int bind_file(const struct quilt_host *host, int root_fd, int tree, const char *name,
                     struct quilt_error *err)
{
        _cleanup_close_ int etc = -1, target = -1;
        struct stat st;
        int r;

        etc = host->open_in_root(root_fd, "/etc", 0755, err);
        if (etc < 0)
                return etc;
        if (fstatat(etc, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
            unlinkat(etc, name, 0) < 0) {
                r = -errno;
                return quilt_error_set(err, r, "/etc/%s: removing the symlink: %s", name, strerror(-r));
        }
        target = openat(etc, name, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
        if (target < 0) {
                r = -errno;
                return quilt_error_set(err, r, "/etc/%s: %s", name, strerror(-r));
        }
        if (fstat(target, &st) < 0 || !S_ISREG(st.st_mode))
                return quilt_error_set(err, -EISDIR, "/etc/%s: not a regular file in the image", name);
        if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
                r = -errno;
                return quilt_error_set(err, r, "/etc/%s: move_mount: %s", name, strerror(-r));
        }
        return 0;
}

static int bridge_in_child(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct bridge_state *s = state;
        _cleanup_close_ int root_fd = -1;
        int r;

        r = net_simple_in_child(c, NET_BRIDGE_FEATURES, err);
        if (r < 0 || !is_bridged(c) || !s->mount_files)
                return r;
        if (!QUILT_HOST_HAS(s->host, open_in_root))
                return quilt_error_set(err, -ENOTSUP, "the host offers no open_in_root");
        root_fd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) {
                r = -errno;
                return quilt_error_set(err, r, "%s: %s", c->rootfs, strerror(-r));
        }
        r = bind_file(s->host, root_fd, s->hosts_tree, "hosts", err);
        if (r < 0)
                return r;
        return bind_file(s->host, root_fd, s->resolv_tree, "resolv.conf", err);
}

/* Undo what post_start did, as far as it got; every step is idempotent
 * and the first error is reported after all of them were tried. */
static int bridge_cleanup(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct bridge_state *s = state;
        const struct net_config *cfg = &s->cfg;
        char veth[IFNAMSIZ], bridge[IFNAMSIZ] = "", ip[16];
        _cleanup_close_ int lock_fd = -1;
        struct quilt_error e = { 0 };
        struct net_nl nl = { 0 };
        bool have_addr;
        uint32_t addr = 0;
        int r, result = 0;

        if (!QUILT_CONTAINER_HAS(c, network) || !c->dir)
                return 0;
        r = read_record(c, &addr, bridge);
        if (r == 0 && strcmp(bridge, cfg->bridge) != 0)
                return 0;       /* another instance's bridge */
        have_addr = r == 0;
        if (!have_addr && !is_bridged(c))
                return 0;
        if (!have_addr && s->ipam.dir && net_ipam_find(&s->ipam, c->id, &addr) == 0)
                have_addr = true;
        net_ip4_text(addr, ip, sizeof(ip));

        /* Usually gone with the container's namespace already. */
        host_ifname(c, veth);
        r = net_nl_open(&nl);
        if (r == 0) {
                r = net_nl_delete_link(&nl, veth);
                net_nl_close(&nl);
        }
        if (r < 0 && r != -ENODEV)
                result = quilt_error_set(err, r, "veth %s: RTNETLINK: %s", veth, strerror(-r));

        if (!have_addr)
                return result;

        /* Rules and leases of the bridge change under its lock only. */
        r = net_ipam_lock(&s->ipam, &lock_fd, &e);
        if (r < 0)
                return result < 0 ? result : quilt_error_set(err, r, "%s", e.message);
        if (QUILT_CONTAINER_HAS(c, n_ports) && c->n_ports > 0) {
                r = net_nft_remove_ports(cfg->bridge, ip, c->ports, c->n_ports, &e);
                /* Keep the lease while rules may still point at the
                 * address: nobody else gets it, and a later cleanup retries. */
                if (r < 0)
                        return result < 0 ? result : quilt_error_set(err, r, "%s", e.message);
        }
        r = net_ipam_release(&s->ipam, addr, c->id);
        if (r < 0)
                return result < 0 ? result : quilt_error_set(err, r, "lease %s: %s", ip, strerror(-r));
        unlink_record(c);
        if (cfg->hosts && s->containers_dir &&
            net_files_update_peers(&s->ipam, s->containers_dir, c->id, &e) < 0)
                bridge_log(s, QUILT_LOG_WARNING, "updating the other containers' hosts: %s", e.message);
        return result;
}

struct overlap_ctx {
        uint32_t network;
        unsigned prefix;
        int bridge_index;
        struct net_nl_net4 found;
};

static int overlap_cb(const struct net_nl_net4 *n, void *userdata)
{
        struct overlap_ctx *ctx = userdata;
        unsigned p = n->prefix < ctx->prefix ? n->prefix : ctx->prefix;

        if (n->ifindex > 0 && n->ifindex == ctx->bridge_index)
                return 0;
        if (((n->addr ^ ctx->network) & net_mask(p)) != 0)
                return 0;
        ctx->found = *n;
        return 1;
}

/* Quit with "FILE:LINE: [net_bridge] subnet A overlaps B (dev X)" when the
 * subnet meets an address or a route of the host not on our bridge. */
static int check_overlap(struct bridge_state *s, struct quilt_error *err)
{
        struct overlap_ctx ctx = { .network = s->cfg.network, .prefix = s->cfg.prefix };
        struct net_nl nl = { 0 };
        char addr[16], dev[IF_NAMESIZE] = "";
        int r;

        r = net_nl_open(&nl);
        if (r < 0)
                return quilt_error_set(err, r, "netlink socket: %s", strerror(-r));
        r = net_nl_link_index(&nl, s->cfg.bridge);
        ctx.bridge_index = r > 0 ? r : 0;
        r = net_nl_dump_addrs4(&nl, overlap_cb, &ctx);
        if (r == 0)
                r = net_nl_dump_routes4(&nl, overlap_cb, &ctx);
        net_nl_close(&nl);
        if (r < 0)
                return quilt_error_set(err, r, "listing the host's addresses and routes: %s",
                                       strerror(-r));
        if (r == 0)
                return 0;
        if (ctx.found.ifindex <= 0 || !if_indextoname((unsigned)ctx.found.ifindex, dev))
                snprintf(dev, sizeof(dev), "?");
        net_ip4_text(ctx.found.addr & net_mask(ctx.found.prefix), addr, sizeof(addr));
        return quilt_config_error(s->section, "net_bridge", "subnet", -EADDRINUSE, err,
                                  "subnet %s overlaps %s/%u (dev %s)", s->cfg.subnet, addr,
                                  ctx.found.prefix, dev);
}

static int bridge_daemon_start(void *state, struct quilt_error *err)
{
        struct bridge_state *s = state;
        _cleanup_close_ int lock_fd = -1;
        size_t removed = 0;
        int r;

        r = check_overlap(s, err);
        if (r < 0)
                return r;
        if (!s->containers_dir)
                return 0;
        r = net_ipam_lock(&s->ipam, &lock_fd, err);
        if (r < 0)
                return r;
        r = net_ipam_gc(&s->ipam, s->containers_dir, &removed, err);
        if (r < 0)
                return r;
        if (removed > 0) {
                struct quilt_error e = { 0 };
                bridge_log(s, QUILT_LOG_INFO, "dropped %zu lease(s) of containers that are gone", removed);
                if (s->cfg.hosts && net_files_update_peers(&s->ipam, s->containers_dir, NULL, &e) < 0)
                        bridge_log(s, QUILT_LOG_WARNING, "updating the containers' hosts: %s", e.message);
        }
        return 0;
}

static void bridge_daemon_stop(void *state)
{
        struct bridge_state *s = state;
        _cleanup_close_ int lock_fd = -1;
        struct quilt_error e = { 0 };
        struct net_nl nl = { 0 };
        int r;

        if (!s->cfg.remove_on_shutdown)
                return;
        /* Not while a monitor sets the bridge up (best effort: no lock
         * without a state directory). */
        if (s->ipam.dir && net_ipam_lock(&s->ipam, &lock_fd, &e) < 0)
                bridge_log(s, QUILT_LOG_WARNING, "%s", e.message);
        r = net_nl_open(&nl);
        if (r == 0) {
                r = net_nl_delete_link(&nl, s->cfg.bridge);
                net_nl_close(&nl);
        }
        if (r < 0 && r != -ENODEV)
                bridge_log(s, QUILT_LOG_WARNING, "bridge %s: RTNETLINK: %s", s->cfg.bridge, strerror(-r));
        if (net_nft_remove_table(s->cfg.bridge, &e) < 0)
                bridge_log(s, QUILT_LOG_WARNING, "%s", e.message);
}

QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_plugin),
        .name = "net_bridge",
        .description = "eth0 on a host bridge: leased address, NAT, published ports",
        .init = bridge_init,
        .fini = bridge_fini,
        .pre_clone = bridge_pre_clone,
        .in_child = bridge_in_child,
        .post_start = bridge_post_start,
        .cleanup = bridge_cleanup,
        .daemon_start = bridge_daemon_start,
        .daemon_stop = bridge_daemon_stop,
        .features = NET_BRIDGE_FEATURES,
};
