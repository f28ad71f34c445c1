/* SPDX-License-Identifier: MIT */
/* rtnetlink over libmnl: one request, then read until the kernel's ACK
 * (or NLMSG_DONE for a dump).  Every request carries NLM_F_ACK, so an
 * error always comes back as an NLMSG_ERROR, which mnl_cb_run turns into
 * errno: nothing is fire-and-forget. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <string.h>
#include <time.h>

#include "net_netlink.h"

/* Big enough for a dump batch (libmnl's MNL_SOCKET_DUMP_SIZE). */
#define NL_RECV_SIZE 32768
/* Our requests are a few attributes long. */
#define NL_SEND_SIZE 1024

int net_nl_open(struct net_nl *nl)
{
        int r;

        *nl = (struct net_nl) { 0 };
        nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!nl->sock)
                return -errno;
        if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
                r = -errno;
                net_nl_close(nl);
                return r;
        }
        nl->portid = mnl_socket_get_portid(nl->sock);
        nl->seq = (uint32_t)time(NULL);
        return 0;
}

void net_nl_close(struct net_nl *nl)
{
        if (nl->sock)
                mnl_socket_close(nl->sock);
        nl->sock = NULL;
}

/* Send `req` and run `cb` over the answers until the ACK or the dump's
 * end.  The answer is always read to its end, so the next request never
 * meets a stale message. */
static int nl_talk(struct net_nl *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
        char buf[NL_RECV_SIZE];
        uint32_t seq;

        if (!nl->sock)
                return -EBADF;
        req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        req->nlmsg_seq = seq = ++nl->seq;
        if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
                return -errno;
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
                int r;

                if (n < 0)
                        return errno == ENOSPC ? -ENOBUFS : -errno;
                errno = 0;
                r = mnl_cb_run(buf, (size_t)n, seq, nl->portid, cb, data);
                if (r < 0)
                        return errno > 0 ? -errno : -EPROTO;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

static struct nlmsghdr *put_link_header(char *buf, uint16_t type, uint16_t flags, int ifindex)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct ifinfomsg *ifm;

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        ifm->ifi_index = ifindex;
        return nlh;
}

static int link_index_cb(const struct nlmsghdr *nlh, void *data)
{
        const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

        if (nlh->nlmsg_type == RTM_NEWLINK &&
            mnl_nlmsg_get_payload_len(nlh) >= sizeof(*ifm))
                *(int *)data = ifm->ifi_index;
        return MNL_CB_OK;
}

int net_nl_link_index(struct net_nl *nl, const char *name)
{
        char buf[NL_SEND_SIZE];
        struct nlmsghdr *nlh = put_link_header(buf, RTM_GETLINK, 0, 0);
        int ifindex = 0, r;

        if (strlen(name) >= IFNAMSIZ)
                return -ENODEV;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        r = nl_talk(nl, nlh, link_index_cb, &ifindex);
        if (r < 0)
                return r;
        return ifindex > 0 ? ifindex : -ENODEV;
}

int net_nl_create_bridge(struct net_nl *nl, const char *name, uint32_t mtu)
{
        char buf[NL_SEND_SIZE];
        struct nlmsghdr *nlh = put_link_header(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
        struct nlattr *info;

        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(nlh, info);
        return nl_talk(nl, nlh, NULL, NULL);
}

int net_nl_create_veth(struct net_nl *nl, const char *name, const char *peer, pid_t peer_pid,
                       uint32_t mtu)
{
        char buf[NL_SEND_SIZE];
        struct nlmsghdr *nlh = put_link_header(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
        struct nlattr *info, *data, *peer_nest;
        struct ifinfomsg *peer_ifm;

        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        /* The peer is a whole ifinfomsg plus its own attributes. */
        peer_nest = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        peer_ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*peer_ifm));
        peer_ifm->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
        mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
        if (peer_pid > 0)
                mnl_attr_put_u32(nlh, IFLA_NET_NS_PID, (uint32_t)peer_pid);
        mnl_attr_nest_end(nlh, peer_nest);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, info);
        return nl_talk(nl, nlh, NULL, NULL);
}

int net_nl_set_link(struct net_nl *nl, int ifindex, int master, bool up)
{
        char buf[NL_SEND_SIZE];
        struct nlmsghdr *nlh = put_link_header(buf, RTM_NEWLINK, 0, ifindex);
        struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

        if (up) {
                ifm->ifi_flags = IFF_UP;
                ifm->ifi_change = IFF_UP;
        }
        if (master > 0)
                mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
        return nl_talk(nl, nlh, NULL, NULL);
}

int net_nl_delete_link(struct net_nl *nl, const char *name)
{
        char buf[NL_SEND_SIZE];
        struct nlmsghdr *nlh = put_link_header(buf, RTM_DELLINK, 0, 0);

        if (strlen(name) >= IFNAMSIZ)
                return -ENODEV;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        return nl_talk(nl, nlh, NULL, NULL);
}

int net_nl_add_addr4(struct net_nl *nl, int ifindex, uint32_t addr, unsigned prefix)
{
        char buf[NL_SEND_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct ifaddrmsg *ifa;
        uint32_t mask = prefix == 0 ? 0 : UINT32_MAX << (32 - prefix);

        if (prefix > 32)
                return -EINVAL;
        nlh->nlmsg_type = RTM_NEWADDR;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = AF_INET;
        ifa->ifa_prefixlen = (unsigned char)prefix;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (unsigned)ifindex;
        mnl_attr_put_u32(nlh, IFA_LOCAL, htonl(addr));
        mnl_attr_put_u32(nlh, IFA_ADDRESS, htonl(addr));
        if (prefix < 31)
                mnl_attr_put_u32(nlh, IFA_BROADCAST, htonl(addr | ~mask));
        return nl_talk(nl, nlh, NULL, NULL);
}

int net_nl_add_default_route4(struct net_nl *nl, uint32_t gateway, int ifindex)
{
        char buf[NL_SEND_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct rtmsg *rtm;

        nlh->nlmsg_type = RTM_NEWROUTE;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
        rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = AF_INET;
        rtm->rtm_dst_len = 0;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_BOOT;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gateway));
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
        return nl_talk(nl, nlh, NULL, NULL);
}

struct dump_ctx {
        net_nl_net4_fn fn;
        void *userdata;
        int result;             /* the first non-zero fn() result */
};

static void dump_emit(struct dump_ctx *ctx, const struct net_nl_net4 *n)
{
        if (ctx->result == 0)
                ctx->result = ctx->fn(n, ctx->userdata);
}

static int route_attr_cb(const struct nlattr *attr, void *data)
{
        const struct nlattr **tb = data;
        int type = mnl_attr_get_type(attr);

        if (mnl_attr_type_valid(attr, RTA_MAX) < 0)
                return MNL_CB_OK;
        if ((type == RTA_DST || type == RTA_OIF || type == RTA_TABLE) &&
            mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
                return MNL_CB_OK;       /* malformed: ignore the attribute */
        tb[type] = attr;
        return MNL_CB_OK;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
        const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *tb[RTA_MAX + 1] = { 0 };
        struct net_nl_net4 n = { 0 };
        uint32_t table;

        if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
                return MNL_CB_OK;
        if (rtm->rtm_family != AF_INET || rtm->rtm_type != RTN_UNICAST || rtm->rtm_dst_len == 0)
                return MNL_CB_OK;
        mnl_attr_parse(nlh, sizeof(*rtm), route_attr_cb, tb);
        table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
        if (table != RT_TABLE_MAIN)
                return MNL_CB_OK;
        n.addr = tb[RTA_DST] ? ntohl(mnl_attr_get_u32(tb[RTA_DST])) : 0;
        n.prefix = rtm->rtm_dst_len;
        n.ifindex = tb[RTA_OIF] ? (int)mnl_attr_get_u32(tb[RTA_OIF]) : 0;
        dump_emit(data, &n);
        return MNL_CB_OK;
}

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
        const struct nlattr **tb = data;
        int type = mnl_attr_get_type(attr);

        if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
                return MNL_CB_OK;
        if ((type == IFA_LOCAL || type == IFA_ADDRESS) && mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
                return MNL_CB_OK;
        tb[type] = attr;
        return MNL_CB_OK;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
        const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *tb[IFA_MAX + 1] = { 0 };
        const struct nlattr *a;
        struct net_nl_net4 n = { 0 };

        if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
                return MNL_CB_OK;
        if (ifa->ifa_family != AF_INET)
                return MNL_CB_OK;
        mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb);
        a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        if (!a)
                return MNL_CB_OK;
        n.addr = ntohl(mnl_attr_get_u32(a));
        n.prefix = ifa->ifa_prefixlen;
        n.ifindex = (int)ifa->ifa_index;
        dump_emit(data, &n);
        return MNL_CB_OK;
}

static int dump(struct net_nl *nl, uint16_t type, size_t header_size, mnl_cb_t cb,
                net_nl_net4_fn fn, void *userdata)
{
        char buf[NL_SEND_SIZE];
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        struct dump_ctx ctx = { .fn = fn, .userdata = userdata };
        unsigned char *family;
        int r;

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_DUMP;
        /* rtmsg and ifaddrmsg both begin with the family byte. */
        family = mnl_nlmsg_put_extra_header(nlh, header_size);
        *family = AF_INET;
        r = nl_talk(nl, nlh, cb, &ctx);
        return r < 0 ? r : ctx.result;
}

int net_nl_dump_routes4(struct net_nl *nl, net_nl_net4_fn fn, void *userdata)
{
        return dump(nl, RTM_GETROUTE, sizeof(struct rtmsg), route_cb, fn, userdata);
}

int net_nl_dump_addrs4(struct net_nl *nl, net_nl_net4_fn fn, void *userdata)
{
        return dump(nl, RTM_GETADDR, sizeof(struct ifaddrmsg), addr_cb, fn, userdata);
}
