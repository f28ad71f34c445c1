/* SPDX-License-Identifier: MIT */
/* plugins/net/net_nft.c against the real kernel: the test process first
 * moves into a network namespace of its own, so every table (and the
 * bridge of the sysctl test) lives and dies there; the host's ruleset
 * and sysctls are never touched.  Needs root; skips (77) otherwise. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <nftables/libnftables.h>

#include "../plugins/net/net_nft.h"

#define SUBNET "10.88.0.0/16"
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

/* What `nft list table ip TABLE` shows, through libnftables; NULL when
 * the table does not exist. */
static char *list_table(const char *table)
{
        struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        char cmd[128];
        char *out = NULL;

        assert_non_null(ctx);
        assert_int_equal(nft_ctx_buffer_output(ctx), 0);
        assert_int_equal(nft_ctx_buffer_error(ctx), 0);
        snprintf(cmd, sizeof(cmd), "list table ip %s", table);
        if (nft_run_cmd_from_buffer(ctx, cmd) == 0)
                out = strdup(nft_ctx_get_output_buffer(ctx));
        nft_ctx_free(ctx);
        return out;
}

static int count(const char *haystack, const char *needle)
{
        int n = 0;

        for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

/* Rules are the lines of a chain after its "type ... policy" line. */
static int count_rules(const char *listing)
{
        int n = 0;
        bool in_chain = false;

        for (const char *line = listing; line && *line;) {
                const char *end = strchrnul(line, '\n');
                size_t len = (size_t)(end - line);
                const char *text = line + strspn(line, "\t ");

                if (strncmp(text, "chain ", 6) == 0)
                        in_chain = true;
                else if (text[0] == '}')
                        in_chain = false;
                else if (in_chain && text < line + len && strncmp(text, "type ", 5) != 0)
                        n++;
                line = *end ? end + 1 : end;
        }
        return n;
}

static bool table_has(const char *table, const char *needle)
{
        char *out = list_table(table);
        bool found = out && strstr(out, needle);

        free(out);
        return found;
}

static int count_fds(void)
{
        int n = 0;
        DIR *d = opendir("/proc/self/fd");

        assert_non_null(d);
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

static struct quilt_port port(int protocol, uint16_t host_port, uint16_t container_port)
{
        return (struct quilt_port){ .struct_size = sizeof(struct quilt_port), .protocol = protocol,
                                    .host_port = host_port, .container_port = container_port };
}

static void ensure_ok(const char *bridge, int masquerade)
{
        struct quilt_error err = {};

        if (net_nft_ensure(bridge, SUBNET, masquerade, &err) < 0)
                fail_msg("net_nft_ensure(%s): %s", bridge, err.message);
}

static void remove_table_ok(const char *bridge)
{
        struct quilt_error err = {};

        if (net_nft_remove_table(bridge, &err) < 0)
                fail_msg("net_nft_remove_table(%s): %s", bridge, err.message);
}

static void test_ensure_twice(void **state)
{
        char *first, *second;

        ensure_ok("qt-br0", 1);
        first = list_table("quilt_qt_br0");
        ensure_ok("qt-br0", 1);
        second = list_table("quilt_qt_br0");
        assert_non_null(first);
        assert_non_null(second);
        assert_string_equal(first, second);

        assert_int_equal(count(second, "\tchain "), 3);
        assert_int_equal(count(second, "\tmap "), 2);
        assert_int_equal(count_rules(second), 7);
        assert_int_equal(count(second, "dnat ip to"), 4);
        assert_int_equal(count(second, "masquerade"), 3);
        assert_non_null(strstr(second, "ip saddr 10.88.0.0/16 oifname != \"qt-br0\" masquerade"));
        assert_non_null(strstr(second, "ip saddr 127.0.0.0/8 oifname \"qt-br0\" masquerade"));
        assert_non_null(strstr(second, "ip saddr 10.88.0.0/16 oifname \"qt-br0\" ct status dnat masquerade"));
        assert_non_null(strstr(second, "fib daddr type local dnat ip to tcp dport map @tcp_ports"));
        assert_non_null(strstr(second, "fib daddr type local dnat ip to udp dport map @udp_ports"));
        if (getenv("NET_NFT_SHOW"))
                printf("%s", second);
        free(first);
        free(second);
        remove_table_ok("qt-br0");
}

static void test_masquerade_off(void **state)
{
        char *out;

        ensure_ok("qt-br1", 0);
        out = list_table("quilt_qt_br1");
        assert_non_null(out);
        assert_null(strstr(out, "oifname != "));
        assert_int_equal(count_rules(out), 6);
        assert_int_equal(count(out, "masquerade"), 2);  /* loopback and hairpin only */
        free(out);

        /* Turned on and off again on the existing table. */
        ensure_ok("qt-br1", 1);
        assert_true(table_has("quilt_qt_br1", "oifname != \"qt-br1\" masquerade"));
        ensure_ok("qt-br1", 0);
        assert_false(table_has("quilt_qt_br1", "oifname != "));
        remove_table_ok("qt-br1");
}

static void test_ports(void **state)
{
        struct quilt_port web = port(IPPROTO_TCP, 8080, 80), dns = port(IPPROTO_UDP, 5353, 53);
        struct quilt_port other = port(IPPROTO_TCP, 9090, 90), web_udp = port(IPPROTO_UDP, 8080, 8080);
        const struct quilt_port *mine[] = { &web, &dns };
        const struct quilt_port *clash[] = { &other, &web };
        const struct quilt_port *same_number[] = { &web_udp };
        struct quilt_error err = {};
        int fds = count_fds();
        int r;

        ensure_ok("qt-br2", 1);
        r = net_nft_add_ports("qt-br2", "10.88.0.3", mine, ELEMENTSOF(mine), &err);
        assert_int_equal(r, 0);
        assert_true(table_has("quilt_qt_br2", "8080 : 10.88.0.3 . 80"));
        assert_true(table_has("quilt_qt_br2", "5353 : 10.88.0.3 . 53"));

        /* Adding the same again is a no-op, not a clash with ourselves. */
        assert_int_equal(net_nft_add_ports("qt-br2", "10.88.0.3", mine, ELEMENTSOF(mine), &err), 0);

        /* Another container wants 8080/tcp: refused, and 9090 of the same
         * call is not added either. */
        r = net_nft_add_ports("qt-br2", "10.88.0.4", clash, ELEMENTSOF(clash), &err);
        assert_int_equal(r, -EADDRINUSE);
        assert_int_equal(err.code, -EADDRINUSE);
        assert_string_equal(err.message, "host port 8080/tcp is already published (by 10.88.0.3:80)");
        assert_false(table_has("quilt_qt_br2", "9090"));

        /* The same number over the other protocol is a different port. */
        assert_int_equal(net_nft_add_ports("qt-br2", "10.88.0.4", same_number, 1, &err), 0);
        assert_true(table_has("quilt_qt_br2", "8080 : 10.88.0.4 . 8080"));

        /* Ensure again: the rules are rewritten, the elements stay. */
        ensure_ok("qt-br2", 1);
        assert_true(table_has("quilt_qt_br2", "8080 : 10.88.0.3 . 80"));
        assert_true(table_has("quilt_qt_br2", "8080 : 10.88.0.4 . 8080"));

        /* 10.88.0.4 withdrawing 8080/tcp (which 10.88.0.3 owns) and its
         * own 8080/udp removes only the latter. */
        {
                const struct quilt_port *theirs[] = { &web, &web_udp };
                assert_int_equal(net_nft_remove_ports("qt-br2", "10.88.0.4", theirs, 2, &err), 0);
        }
        assert_true(table_has("quilt_qt_br2", "8080 : 10.88.0.3 . 80"));
        assert_false(table_has("quilt_qt_br2", "10.88.0.4"));

        /* Now 10.88.0.4 can have 9090 (nothing of the failed call was left). */
        {
                const struct quilt_port *one[] = { &other };
                assert_int_equal(net_nft_add_ports("qt-br2", "10.88.0.4", one, 1, &err), 0);
                assert_true(table_has("quilt_qt_br2", "9090 : 10.88.0.4 . 90"));
        }

        /* Removal is idempotent. */
        assert_int_equal(net_nft_remove_ports("qt-br2", "10.88.0.3", mine, ELEMENTSOF(mine), &err), 0);
        assert_false(table_has("quilt_qt_br2", "10.88.0.3"));
        assert_int_equal(net_nft_remove_ports("qt-br2", "10.88.0.3", mine, ELEMENTSOF(mine), &err), 0);
        assert_true(table_has("quilt_qt_br2", "9090 : 10.88.0.4 . 90"));

        remove_table_ok("qt-br2");
        /* No table any more: still fine. */
        assert_int_equal(net_nft_remove_ports("qt-br2", "10.88.0.3", mine, ELEMENTSOF(mine), &err), 0);
        assert_int_equal(count_fds(), fds);     /* every context and socket was closed */
}

static void test_duplicate_in_one_call(void **state)
{
        struct quilt_port a = port(IPPROTO_TCP, 7000, 70), b = port(IPPROTO_TCP, 7000, 71);
        struct quilt_port c = port(IPPROTO_TCP, 7001, 71);
        const struct quilt_port *ports[] = { &c, &a, &b };
        struct quilt_error err = {};

        ensure_ok("qt-br3", 1);
        assert_int_equal(net_nft_add_ports("qt-br3", "10.88.0.5", ports, 3, &err), -EADDRINUSE);
        assert_non_null(strstr(err.message, "7000/tcp"));
        assert_false(table_has("quilt_qt_br3", "7001"));

        /* A repeated port in a removal is skipped, not a failed batch. */
        assert_int_equal(net_nft_add_ports("qt-br3", "10.88.0.5", ports, 2, &err), 0);
        assert_int_equal(net_nft_remove_ports("qt-br3", "10.88.0.5", ports, 3, &err), 0);
        assert_false(table_has("quilt_qt_br3", "10.88.0.5"));
        remove_table_ok("qt-br3");
}

static void test_many_ports(void **state)
{
        /* Enough elements that the listing wraps over lines. */
        enum { N = 200 };
        struct quilt_port ps[N];
        const struct quilt_port *pp[N];
        struct quilt_port taken = port(IPPROTO_TCP, 20000 + N - 1, 1);
        const struct quilt_port *clash[] = { &taken };
        struct quilt_error err = {};

        for (size_t i = 0; i < N; i++) {
                ps[i] = port(IPPROTO_TCP, (uint16_t)(20000 + i), (uint16_t)(1000 + i));
                pp[i] = &ps[i];
        }
        ensure_ok("qt-br4", 1);
        assert_int_equal(net_nft_add_ports("qt-br4", "10.88.1.1", pp, N, &err), 0);
        assert_int_equal(net_nft_add_ports("qt-br4", "10.88.1.2", clash, 1, &err), -EADDRINUSE);
        assert_string_equal(err.message, "host port 20199/tcp is already published (by 10.88.1.1:1199)");
        assert_int_equal(net_nft_remove_ports("qt-br4", "10.88.1.1", pp, N, &err), 0);
        assert_false(table_has("quilt_qt_br4", "10.88.1.1"));
        remove_table_ok("qt-br4");
}

static void test_remove_table_idempotent(void **state)
{
        struct quilt_error err = {};

        ensure_ok("qt-br5", 1);
        assert_int_equal(net_nft_remove_table("qt-br5", &err), 0);
        assert_null(list_table("quilt_qt_br5"));
        assert_int_equal(net_nft_remove_table("qt-br5", &err), 0);
}

static void test_errors(void **state)
{
        struct quilt_port web = port(IPPROTO_TCP, 8080, 80), bad = port(IPPROTO_SCTP, 1, 1);
        const struct quilt_port *ports[] = { &web };
        const struct quilt_port *bad_ports[] = { &bad };
        struct quilt_error err = {};

        /* Ports on a table that was never set up: libnftables' message. */
        assert_int_equal(net_nft_add_ports("qt-none", "10.88.0.3", ports, 1, &err), -ENOENT);
        assert_int_equal(err.code, -ENOENT);
        assert_true(strncmp(err.message, "nftables: ", 10) == 0);
        assert_null(strchr(err.message, '\n'));
        assert_non_null(strstr(err.message, "No such file or directory"));

        assert_int_equal(net_nft_ensure("qt-br6", "10.88.0.0", 1, &err), -EINVAL);
        assert_int_equal(net_nft_ensure("qt-br6", "10.88.0.0/33", 1, &err), -EINVAL);
        assert_int_equal(net_nft_ensure("qt-br6", "10.88.0.300/16", 1, &err), -EINVAL);
        assert_int_equal(net_nft_ensure("qt br6", SUBNET, 1, &err), -EINVAL);
        assert_int_equal(net_nft_ensure("qt\"br6", SUBNET, 1, &err), -EINVAL);
        assert_int_equal(net_nft_ensure("", SUBNET, 1, &err), -EINVAL);
        assert_int_equal(net_nft_ensure("a-very-long-bridge", SUBNET, 1, &err), -EINVAL);
        assert_null(list_table("quilt_qt_br6"));

        /* Host bits of the subnet are dropped; '-' and '.' become '_'. */
        assert_int_equal(net_nft_ensure("qt-br.6", "10.89.3.7/16", 1, &err), 0);
        assert_true(table_has("quilt_qt_br_6", "ip saddr 10.89.0.0/16 oifname != \"qt-br.6\" masquerade"));

        assert_int_equal(net_nft_add_ports("qt-br.6", "10.89.0", ports, 1, &err), -EINVAL);
        assert_int_equal(net_nft_add_ports("qt-br.6", "10.89.0.2", bad_ports, 1, &err), -EINVAL);
        assert_int_equal(net_nft_add_ports("qt-br.6", "10.89.0.2", ports, 0, &err), 0);
        remove_table_ok("qt-br.6");
}

static char *read_sysctl(const char *path)
{
        static char buf[32];
        FILE *f = fopen(path, "re");

        if (!f)
                return NULL;
        if (!fgets(buf, sizeof(buf), f))
                buf[0] = '\0';
        fclose(f);
        buf[strcspn(buf, "\n")] = '\0';
        return buf;
}

static void test_sysctl(void **state)
{
        struct quilt_error err = {};
        char before[32];

        /* The bridge exists only in this test's namespace. */
        if (system("ip link add qt-sys0 type bridge") != 0)
                skip();
        snprintf(before, sizeof(before), "%s", read_sysctl("/proc/sys/net/ipv4/ip_forward"));
        assert_int_equal(net_sysctl_bridge("qt-sys0", 0, &err), 0);
        assert_string_equal(read_sysctl("/proc/sys/net/ipv4/conf/qt-sys0/forwarding"), "1");
        assert_string_equal(read_sysctl("/proc/sys/net/ipv4/conf/qt-sys0/route_localnet"), "1");
        assert_string_equal(read_sysctl("/proc/sys/net/ipv4/ip_forward"), before);

        assert_int_equal(net_sysctl_bridge("qt-missing", 0, &err), -ENOENT);
        assert_non_null(strstr(err.message, "/proc/sys/net/ipv4/conf/qt-missing/forwarding"));
        assert_int_equal(net_sysctl_bridge("..", 0, &err), -EINVAL);
        assert_int_equal(system("ip link del qt-sys0"), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ensure_twice),
                cmocka_unit_test(test_masquerade_off),
                cmocka_unit_test(test_ports),
                cmocka_unit_test(test_duplicate_in_one_call),
                cmocka_unit_test(test_many_ports),
                cmocka_unit_test(test_remove_table_idempotent),
                cmocka_unit_test(test_errors),
                cmocka_unit_test(test_sysctl),
        };
        struct nft_ctx *ctx;
        int r;

        if (geteuid() != 0) {
                fprintf(stderr, "test-net-nft: needs root, skipping\n");
                return 77;
        }
        /* Everything below happens in a network namespace of our own. */
        if (unshare(CLONE_NEWNET) < 0) {
                fprintf(stderr, "test-net-nft: unshare(CLONE_NEWNET): %m, skipping\n");
                return 77;
        }
        ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return 77;
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        r = nft_run_cmd_from_buffer(ctx, "list ruleset");
        nft_ctx_free(ctx);
        if (r != 0) {
                fprintf(stderr, "test-net-nft: nf_tables unusable, skipping\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
