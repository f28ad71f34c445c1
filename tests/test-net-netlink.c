/* SPDX-License-Identifier: MIT */
/* The rtnetlink helpers of the net plugins (plugins/net/net_netlink.c),
 * for real: the test process first moves into a fresh network namespace
 * of its own (unshare(CLONE_NEWNET), as root; else it skips with 77), so
 * the links, addresses and routes it makes touch nothing of the host. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>

#include "../plugins/net/net_netlink.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static struct net_nl nl;

static int setup(void **state)
{
        (void)state;
        return net_nl_open(&nl) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
        (void)state;
        net_nl_close(&nl);
        net_nl_close(&nl);      /* idempotent */
        return 0;
}

struct find {
        uint32_t addr;
        unsigned prefix;
        int ifindex;
        int seen;
};

static int find_cb(const struct net_nl_net4 *n, void *userdata)
{
        struct find *f = userdata;

        if (n->addr == f->addr && n->prefix == f->prefix && n->ifindex == f->ifindex)
                f->seen++;
        return 0;
}

static int stop_cb(const struct net_nl_net4 *n, void *userdata)
{
        (void)n;
        ++*(int *)userdata;
        return 7;
}

static void test_link_index(void **state)
{
        (void)state;
        assert_int_equal(net_nl_link_index(&nl, "lo"), 1);
        assert_int_equal(net_nl_link_index(&nl, "qt-nothere"), -ENODEV);
        assert_int_equal(net_nl_link_index(&nl, "a-name-longer-than-ifnamsiz"), -ENODEV);
        assert_int_equal(net_nl_delete_link(&nl, "qt-nothere"), -ENODEV);
}

static void test_bridge_address_routes(void **state)
{
        struct find f;
        int br, calls = 0;

        (void)state;
        assert_int_equal(net_nl_create_bridge(&nl, "qt-br0", 1400), 0);
        assert_int_equal(net_nl_create_bridge(&nl, "qt-br0", 1400), -EEXIST);
        br = net_nl_link_index(&nl, "qt-br0");
        assert_true(br > 1);
        assert_int_equal(net_nl_add_addr4(&nl, br, IP4(10, 9, 0, 1), 24), 0);
        assert_int_equal(net_nl_add_addr4(&nl, br, IP4(10, 9, 0, 1), 24), -EEXIST);
        assert_int_equal(net_nl_set_link(&nl, br, 0, true), 0);

        f = (struct find) { .addr = IP4(10, 9, 0, 1), .prefix = 24, .ifindex = br };
        assert_int_equal(net_nl_dump_addrs4(&nl, find_cb, &f), 0);
        assert_int_equal(f.seen, 1);
        /* The prefix route comes with the address on an up link. */
        f = (struct find) { .addr = IP4(10, 9, 0, 0), .prefix = 24, .ifindex = br };
        assert_int_equal(net_nl_dump_routes4(&nl, find_cb, &f), 0);
        assert_int_equal(f.seen, 1);

        /* A callback's non-zero result ends the callbacks, not the read:
         * the socket still answers the next request. */
        assert_int_equal(net_nl_dump_addrs4(&nl, stop_cb, &calls), 7);
        assert_int_equal(calls, 1);
        assert_int_equal(net_nl_link_index(&nl, "lo"), 1);

        assert_int_equal(net_nl_delete_link(&nl, "qt-br0"), 0);
        assert_int_equal(net_nl_link_index(&nl, "qt-br0"), -ENODEV);
}

static void test_veth_here(void **state)
{
        int br, a, b;

        (void)state;
        assert_int_equal(net_nl_create_bridge(&nl, "qt-br1", 1500), 0);
        br = net_nl_link_index(&nl, "qt-br1");
        assert_int_equal(net_nl_create_veth(&nl, "qt-va", "qt-vb", 0, 1400), 0);
        assert_int_equal(net_nl_create_veth(&nl, "qt-va", "qt-vc", 0, 1400), -EEXIST);
        a = net_nl_link_index(&nl, "qt-va");
        b = net_nl_link_index(&nl, "qt-vb");
        assert_true(a > 0 && b > 0 && a != b);
        assert_int_equal(net_nl_set_link(&nl, a, br, true), 0);
        /* Enslaving to a link that does not exist is the kernel's error. */
        assert_true(net_nl_set_link(&nl, b, 99999, false) < 0);
        /* Deleting one end takes the other along. */
        assert_int_equal(net_nl_delete_link(&nl, "qt-vb"), 0);
        assert_int_equal(net_nl_link_index(&nl, "qt-va"), -ENODEV);
        assert_int_equal(net_nl_delete_link(&nl, "qt-br1"), 0);
}

/* A socket opened inside `pid`'s network namespace, as net_bridge does. */
static void open_in(pid_t pid, struct net_nl *inner)
{
        char path[64];
        int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), target;

        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
        target = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(self >= 0 && target >= 0);
        assert_int_equal(setns(target, CLONE_NEWNET), 0);
        assert_int_equal(net_nl_open(inner), 0);
        assert_int_equal(setns(self, CLONE_NEWNET), 0);
        close(self);
        close(target);
}

/* The container's end goes straight into another namespace, gets its
 * address, comes up, and gets the default route via the bridge. */
static void test_veth_into_namespace(void **state)
{
        struct net_nl inner;
        int go[2], done[2], br, host, eth, lo;
        struct find f;
        char c;
        pid_t pid;

        (void)state;
        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        assert_int_equal(pipe2(done, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (unshare(CLONE_NEWNET) < 0)
                        _exit(1);
                if (write(go[1], "g", 1) != 1)
                        _exit(1);
                (void)read(done[0], &c, 1);
                _exit(0);
        }
        close(go[1]);
        close(done[0]);
        assert_int_equal(read(go[0], &c, 1), 1);

        assert_int_equal(net_nl_create_bridge(&nl, "qt-br2", 1500), 0);
        br = net_nl_link_index(&nl, "qt-br2");
        assert_int_equal(net_nl_add_addr4(&nl, br, IP4(10, 9, 2, 1), 24), 0);
        assert_int_equal(net_nl_set_link(&nl, br, 0, true), 0);
        assert_int_equal(net_nl_create_veth(&nl, "qt-host", "eth0", pid, 1400), 0);
        assert_int_equal(net_nl_link_index(&nl, "eth0"), -ENODEV);     /* not here */
        host = net_nl_link_index(&nl, "qt-host");
        assert_int_equal(net_nl_set_link(&nl, host, br, true), 0);

        open_in(pid, &inner);
        eth = net_nl_link_index(&inner, "eth0");
        lo = net_nl_link_index(&inner, "lo");
        assert_true(eth > 0 && lo > 0);
        assert_int_equal(net_nl_add_addr4(&inner, eth, IP4(10, 9, 2, 2), 24), 0);
        assert_int_equal(net_nl_set_link(&inner, eth, 0, true), 0);
        assert_int_equal(net_nl_set_link(&inner, lo, 0, true), 0);
        assert_int_equal(net_nl_add_default_route4(&inner, IP4(10, 9, 2, 1), eth), 0);
        assert_int_equal(net_nl_add_default_route4(&inner, IP4(10, 9, 2, 1), eth), -EEXIST);
        /* A gateway off every connected network is refused. */
        assert_true(net_nl_add_default_route4(&inner, IP4(192, 0, 2, 1), lo) < 0);

        f = (struct find) { .addr = IP4(10, 9, 2, 2), .prefix = 24, .ifindex = eth };
        assert_int_equal(net_nl_dump_addrs4(&inner, find_cb, &f), 0);
        assert_int_equal(f.seen, 1);
        /* The address is in there only. */
        f.ifindex = host;
        f.seen = 0;
        assert_int_equal(net_nl_dump_addrs4(&nl, find_cb, &f), 0);
        assert_int_equal(f.seen, 0);
        net_nl_close(&inner);

        /* The namespace's end goes with the namespace. */
        assert_int_equal(write(done[1], "d", 1), 1);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        for (int i = 0; i < 100 && net_nl_link_index(&nl, "qt-host") > 0; i++)
                usleep(10000);
        assert_int_equal(net_nl_link_index(&nl, "qt-host"), -ENODEV);
        assert_int_equal(net_nl_delete_link(&nl, "qt-br2"), 0);
        close(go[0]);
        close(done[1]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_link_index, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bridge_address_routes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_veth_here, setup, teardown),
                cmocka_unit_test_setup_teardown(test_veth_into_namespace, setup, teardown),
        };

        if (geteuid() != 0) {
                printf("# skipped: needs root for a network namespace of its own\n");
                return 77;
        }
        if (unshare(CLONE_NEWNET) < 0) {
                printf("# skipped: unshare(CLONE_NEWNET): %m\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
