/* SPDX-License-Identifier: MIT */
/* Address management of the net_bridge plugin (plugins/net/net_ipam.c)
 * and its [net_bridge] section (net_config.c), on a state directory under
 * /tmp/quilt-test-XXXXXX: allocation, no address twice (also from forked
 * processes at once), freeing, rotation, exhaustion and the garbage
 * collection of leases whose container is gone; and the hosts and
 * resolv.conf files written from them (net_files.c). */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "util.h"
#include "../plugins/net/net_files.h"
#include "../plugins/net/net_ipam.h"

static char tmpdir[] = "/tmp/quilt-test-XXXXXX";

static const struct quilt_host host = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_host),
        .config_apply = quilt_config_apply,
};

/* A section of `n` "key = value" pairs, lines 2, 3, ... of test.ini. */
static int parse(struct net_config *cfg, struct quilt_error *err, size_t n, ...)
{
        static struct quilt_config_entry entries[16];
        struct quilt_config_section section = {
                .name = "net_bridge", .file = "test.ini", .line = 1, .n_entries = n, .entries = entries,
        };
        va_list ap;

        va_start(ap, n);
        for (size_t i = 0; i < n; i++) {
                entries[i].key = va_arg(ap, const char *);
                entries[i].value = va_arg(ap, const char *);
                entries[i].file = "test.ini";
                entries[i].line = (int)i + 2;
        }
        va_end(ap);
        return net_config_parse(&host, &section, cfg, err);
}

static void id_of(unsigned i, char id[65])
{
        snprintf(id, 65, "%064x", i);
}

static int setup_dir(void **state)
{
        (void)state;
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/quilt-test-XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
        (void)state;
        return quilt_remove_tree(tmpdir, NULL) < 0 ? -1 : 0;
}

/* An ipam on SUBNET in the temp dir. */
static void ipam_for(const char *subnet, struct net_config *cfg, struct net_ipam *ipam)
{
        struct quilt_error err = { 0 };
        assert_int_equal(parse(cfg, &err, 2, "subnet", subnet, "bridge", "qt-test"), 0);
        assert_int_equal(net_ipam_init(ipam, tmpdir, cfg), 0);
}

static int alloc(struct net_ipam *ipam, unsigned i, uint32_t *addr, struct quilt_error *err)
{
        _cleanup_close_ int lock = -1;
        char id[65];
        int r;

        id_of(i, id);
        r = net_ipam_lock(ipam, &lock, err);
        if (r < 0)
                return r;
        return net_ipam_allocate(ipam, id, "name", "host", addr, err);
}

static const char *text(uint32_t a)
{
        static char buf[4][16];
        static int n;
        return net_ip4_text(a, buf[n++ % 4], 16);
}

static void test_config_defaults(void **state)
{
        struct net_config cfg;
        struct quilt_error err = { 0 };

        (void)state;
        assert_int_equal(net_config_parse(&host, NULL, &cfg, &err), 0);
        assert_string_equal(cfg.bridge, "quilt0");
        assert_string_equal(cfg.subnet, "10.88.0.0/16");
        assert_string_equal(cfg.gateway_text, "10.88.0.1");
        assert_int_equal(cfg.mtu, 1500);
        assert_true(cfg.nat && cfg.ip_forward && cfg.hosts && !cfg.remove_on_shutdown);
        assert_int_equal(cfg.n_dns, 0);

        assert_int_equal(parse(&cfg, &err, 4, "subnet", "172.30.4.0/22", "gateway", "172.30.7.254",
                               "dns", "1.1.1.1, 9.9.9.9", "mtu", "9000"), 0);
        assert_string_equal(cfg.gateway_text, "172.30.7.254");
        assert_int_equal(cfg.n_dns, 2);
        assert_string_equal(text(cfg.dns[1]), "9.9.9.9");
        assert_int_equal(cfg.mtu, 9000);
}

static void expect_error(const char *key, const char *value, const char *message)
{
        struct net_config cfg;
        struct quilt_error err = { 0 };

        assert_int_equal(parse(&cfg, &err, 2, "bridge", "qt0", key, value), -EINVAL);
        if (!strstr(err.message, message)) {
                print_error("%s = %s: got \"%s\", want \"%s\"\n", key, value, err.message, message);
                fail();
        }
}

static void test_config_errors(void **state)
{
        (void)state;
        expect_error("subnet", "10.88.0.0", "test.ini:3: [net_bridge] subnet: '10.88.0.0' is not an IPv4 CIDR");
        expect_error("subnet", "10.88.0/16", "test.ini:3: [net_bridge] subnet");
        expect_error("subnet", "10.88.0.0/33", "test.ini:3: [net_bridge] subnet");
        expect_error("subnet", "10.88.0.0/x", "test.ini:3:");
        expect_error("subnet", "10.0.0.0/7", "prefix /7");
        expect_error("subnet", "10.0.0.0/31", "prefix /31");
        expect_error("subnet", "10.88.0.1/16", "host bits set (did you mean 10.88.0.0/16?)");
        expect_error("gateway", "10.89.0.1", "test.ini:3: [net_bridge] gateway: 10.89.0.1 is not a host address");
        expect_error("gateway", "10.88.0.0", "not a host address");
        expect_error("gateway", "10.88.255.255", "not a host address");
        expect_error("gateway", "nope", "is not an IPv4 address");
        expect_error("mtu", "67", "test.ini:3: [net_bridge] mtu: 67 is not within 68..65535");
        expect_error("mtu", "65536", "mtu");
        expect_error("bridge", "way-too-long-name", "bridge: 'way-too-long-name' is not a valid interface name");
        expect_error("bridge", "a/b", "not a valid interface name");
        expect_error("dns", "1.1.1.1,::1", "dns: '::1' is not an IPv4 address");
        expect_error("resolv_conf", "etc/resolv.conf", "not an absolute path");
        expect_error("nat", "maybe", "test.ini:3:");
        expect_error("color", "blue", "test.ini:3:");
}

static void test_allocate_and_exhaust(void **state)
{
        struct net_config cfg;
        struct net_ipam ipam;
        struct quilt_error err = { 0 };
        uint32_t a;

        (void)state;
        /* /29: .1 is the gateway, .0 and .7 are not hosts: .2 to .6. */
        ipam_for("10.1.0.0/29", &cfg, &ipam);
        for (unsigned i = 0; i < 5; i++) {
                assert_int_equal(alloc(&ipam, i, &a, &err), 0);
                assert_int_equal(a, cfg.network + 2 + i);
        }
        assert_int_equal(alloc(&ipam, 9, &a, &err), -ENOSPC);
        assert_string_equal(err.message, "no free address in 10.1.0.0/29");
        net_ipam_done(&ipam);
}

static void test_release_rotate_find(void **state)
{
        struct net_config cfg;
        struct net_ipam ipam;
        struct quilt_error err = { 0 };
        _cleanup_close_ int lock = -1;
        uint32_t a, b, c, found;
        char id[65];

        (void)state;
        ipam_for("10.2.0.0/29", &cfg, &ipam);
        assert_int_equal(alloc(&ipam, 1, &a, &err), 0);
        assert_int_equal(alloc(&ipam, 2, &b, &err), 0);
        assert_string_equal(text(a), "10.2.0.2");
        assert_string_equal(text(b), "10.2.0.3");

        id_of(2, id);
        assert_int_equal(net_ipam_find(&ipam, id, &found), 0);
        assert_int_equal(found, b);
        id_of(7, id);
        assert_int_equal(net_ipam_find(&ipam, id, &found), -ENOENT);

        /* Somebody else's id frees nothing. */
        assert_int_equal(net_ipam_release(&ipam, a, id), 0);
        id_of(1, id);
        assert_int_equal(net_ipam_find(&ipam, id, &found), 0);
        assert_int_equal(net_ipam_release(&ipam, a, id), 0);
        assert_int_equal(net_ipam_find(&ipam, id, &found), -ENOENT);
        assert_int_equal(net_ipam_release(&ipam, a, id), 0);   /* twice: fine */

        /* The freed .2 comes back only after a full round. */
        assert_int_equal(alloc(&ipam, 3, &c, &err), 0);
        assert_string_equal(text(c), "10.2.0.4");
        assert_int_equal(alloc(&ipam, 4, &c, &err), 0);
        assert_int_equal(alloc(&ipam, 5, &c, &err), 0);
        assert_string_equal(text(c), "10.2.0.6");
        assert_int_equal(alloc(&ipam, 6, &c, &err), 0);
        assert_string_equal(text(c), "10.2.0.2");
        assert_int_equal(alloc(&ipam, 7, &c, &err), -ENOSPC);

        /* A lease file holds the id, name and hostname. */
        {
                char path[256], buf[256] = "";
                _cleanup_close_ int fd = -1;
                snprintf(path, sizeof(path), "%s/plugins/net_bridge/qt-test/leases/10.2.0.3", tmpdir);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                assert_true(fd >= 0);
                assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
                id_of(2, id);
                assert_true(strncmp(buf, id, 64) == 0);
                assert_string_equal(buf + 64, "\nname\nhost\n");
        }
        (void)lock;
        net_ipam_done(&ipam);
}

/* A stale or garbled hint just starts the search at the range's start. */
static void test_bad_hint(void **state)
{
        struct net_config cfg;
        struct net_ipam ipam;
        struct quilt_error err = { 0 };
        char path[256];
        uint32_t a;
        FILE *f;

        (void)state;
        ipam_for("10.3.0.0/24", &cfg, &ipam);
        assert_int_equal(alloc(&ipam, 1, &a, &err), 0);
        snprintf(path, sizeof(path), "%s/plugins/net_bridge/qt-test/next", tmpdir);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs("192.168.0.1\n", f);
        fclose(f);
        assert_int_equal(alloc(&ipam, 2, &a, &err), 0);
        assert_string_equal(text(a), "10.3.0.3");       /* .2 is taken: the next one */
        net_ipam_done(&ipam);
}

/* Many processes at once, each with its own lock and allocation: every
 * address is handed out once. */
static void test_concurrent(void **state)
{
        enum { PROCS = 8, EACH = 25 };
        struct net_config cfg;
        struct net_ipam ipam;
        pid_t pids[PROCS];
        size_t n = 0;
        char path[256];

        (void)state;
        ipam_for("10.4.0.0/24", &cfg, &ipam);
        for (int p = 0; p < PROCS; p++) {
                pids[p] = fork();
                assert_true(pids[p] >= 0);
                if (pids[p] == 0) {
                        for (unsigned i = 0; i < EACH; i++) {
                                struct quilt_error err = { 0 };
                                uint32_t a;
                                if (alloc(&ipam, (unsigned)p * 1000 + i, &a, &err) < 0)
                                        _exit(1);
                        }
                        _exit(0);
                }
        }
        for (int p = 0; p < PROCS; p++) {
                int status;
                assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        /* Distinct file names are distinct addresses; count them and the ids. */
        snprintf(path, sizeof(path), "%s/plugins/net_bridge/qt-test/leases", tmpdir);
        for (uint32_t a = cfg.network; a <= (cfg.network | 0xff); a++) {
                char p2[300];
                struct stat st;
                snprintf(p2, sizeof(p2), "%s/%s", path, text(a));
                if (stat(p2, &st) == 0)
                        n++;
        }
        assert_int_equal(n, PROCS * EACH);
        for (int p = 0; p < PROCS; p++)
                for (unsigned i = 0; i < EACH; i++) {
                        char id[65];
                        uint32_t a;
                        id_of((unsigned)p * 1000 + i, id);
                        assert_int_equal(net_ipam_find(&ipam, id, &a), 0);
                        assert_true(a != cfg.gateway && a != cfg.network && a != (cfg.network | 0xff));
                }
        net_ipam_done(&ipam);
}

static void test_gc(void **state)
{
        struct net_config cfg;
        struct net_ipam ipam;
        struct quilt_error err = { 0 };
        _cleanup_close_ int lock = -1;
        char containers[256], dir[400], id[65], junk[400];
        size_t removed = 99;
        uint32_t a;

        (void)state;
        ipam_for("10.5.0.0/24", &cfg, &ipam);
        snprintf(containers, sizeof(containers), "%s/containers", tmpdir);
        assert_int_equal(mkdir(containers, 0700), 0);
        id_of(1, id);
        snprintf(dir, sizeof(dir), "%s/%s", containers, id);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(alloc(&ipam, 1, &a, &err), 0);        /* alive */
        assert_int_equal(alloc(&ipam, 2, &a, &err), 0);        /* gone */
        assert_int_equal(alloc(&ipam, 3, &a, &err), 0);        /* gone */
        /* A torn lease (empty) cannot belong to anybody. */
        snprintf(junk, sizeof(junk), "%s/plugins/net_bridge/qt-test/leases/10.5.0.200", tmpdir);
        close(open(junk, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));

        assert_int_equal(net_ipam_lock(&ipam, &lock, &err), 0);
        assert_int_equal(net_ipam_gc(&ipam, containers, &removed, &err), 0);
        assert_int_equal(removed, 3);
        assert_int_equal(net_ipam_find(&ipam, id, &a), 0);
        assert_string_equal(text(a), "10.5.0.2");
        id_of(2, id);
        assert_int_equal(net_ipam_find(&ipam, id, &a), -ENOENT);
        assert_int_equal(access(junk, F_OK), -1);
        assert_int_equal(net_ipam_gc(&ipam, containers, &removed, &err), 0);
        assert_int_equal(removed, 0);
        net_ipam_done(&ipam);
}

static char *slurp(const char *path)
{
        static char buf[4096];
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        assert_true(fd >= 0);
        n = read(fd, buf, sizeof(buf) - 1);
        assert_true(n >= 0);
        buf[n] = '\0';
        return buf;
}

static void put(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

/* Each container's hosts names itself and its peers; rewriting a peer's
 * keeps the file's inode (it is bind-mounted). */
static void test_hosts(void **state)
{
        struct net_config cfg;
        struct net_ipam ipam;
        struct quilt_error err = { 0 };
        _cleanup_close_ int lock = -1;
        char containers[256], dir[2][336], path[2][352], id[2][65];
        struct net_lease self[2] = { 0 };
        struct stat before, after;

        (void)state;
        ipam_for("10.6.0.0/24", &cfg, &ipam);
        snprintf(containers, sizeof(containers), "%s/containers", tmpdir);
        assert_int_equal(mkdir(containers, 0700), 0);
        assert_int_equal(net_ipam_lock(&ipam, &lock, &err), 0);
        for (int i = 0; i < 2; i++) {
                id_of((unsigned)i + 1, id[i]);
                snprintf(dir[i], sizeof(dir[i]), "%.255s/%.64s", containers, id[i]);
                snprintf(path[i], sizeof(path[i]), "%.320s/hosts", dir[i]);
                assert_int_equal(mkdir(dir[i], 0700), 0);
                assert_int_equal(net_ipam_allocate(&ipam, id[i], i ? "db" : "", i ? "dbhost" : "web1",
                                                   &self[i].addr, &err), 0);
                net_ip4_text(self[i].addr, self[i].ip, sizeof(self[i].ip));
                snprintf(self[i].id, sizeof(self[i].id), "%.64s", id[i]);
                snprintf(self[i].name, sizeof(self[i].name), "%s", i ? "db" : "");
                snprintf(self[i].hostname, sizeof(self[i].hostname), "%s", i ? "dbhost" : "web1");
        }
        /* The first one was written before the second had its lease. */
        put(path[0], "old\n");
        assert_int_equal(stat(path[0], &before), 0);
        assert_int_equal(net_files_write_hosts(&ipam, path[1], &self[1], true, true, &err), 0);
        assert_string_equal(slurp(path[1]), "127.0.0.1\tlocalhost\n"
                                            "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                            "10.6.0.3\tdbhost db\n"
                                            "10.6.0.2\tweb1\n");
        assert_int_equal(net_files_update_peers(&ipam, containers, id[1], &err), 0);
        assert_string_equal(slurp(path[0]), "127.0.0.1\tlocalhost\n"
                                            "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                            "10.6.0.2\tweb1\n"
                                            "10.6.0.3\tdb dbhost\n");
        assert_int_equal(stat(path[0], &after), 0);
        assert_true(before.st_ino == after.st_ino);
        assert_int_equal(after.st_mode, before.st_mode);

        /* Without peers: only itself. */
        assert_int_equal(net_files_write_hosts(&ipam, path[1], &self[1], false, true, &err), 0);
        assert_null(strstr(slurp(path[1]), "web1"));
        assert_int_equal(stat(path[1], &after), 0);
        assert_int_equal(after.st_mode & 07777, 0644);

        /* A peer whose hosts file is gone is left alone, not recreated. */
        assert_int_equal(unlink(path[0]), 0);
        assert_int_equal(net_files_update_peers(&ipam, containers, NULL, &err), 0);
        assert_int_equal(access(path[0], F_OK), -1);
        net_ipam_done(&ipam);
}

static void test_resolv(void **state)
{
        struct net_config cfg;
        struct quilt_error err = { 0 };
        char hostfile[256], out[256], missing[256];

        (void)state;
        snprintf(hostfile, sizeof(hostfile), "%s/host-resolv.conf", tmpdir);
        snprintf(out, sizeof(out), "%s/resolv.conf", tmpdir);
        snprintf(missing, sizeof(missing), "%s/nothing", tmpdir);
        put(hostfile, "# generated\nnameserver 127.0.0.53\nnameserver 192.0.2.53\n"
                  "nameserver ::1\nnameserver 2001:db8::1\nsearch example.org\noptions edns0");

        assert_int_equal(parse(&cfg, &err, 1, "resolv_conf", hostfile), 0);
        assert_int_equal(net_files_write_resolv(&cfg, out, &err), 0);
        assert_non_null(strstr(slurp(out), "# generated\nnameserver 192.0.2.53\nsearch example.org\n"
                                           "options edns0\n"));
        assert_null(strstr(slurp(out), "127.0.0.53"));
        assert_null(strstr(slurp(out), "::1"));

        /* Only loopback nameservers there: none, and a hint. */
        put(hostfile, "nameserver 127.0.0.53\n");
        assert_int_equal(net_files_write_resolv(&cfg, out, &err), 0);
        assert_null(strstr(slurp(out), "\nnameserver"));
        assert_non_null(strstr(slurp(out), "set [net_bridge] dns"));

        /* dns wins over the host's file, which then need not exist. */
        assert_int_equal(parse(&cfg, &err, 2, "dns", "192.0.2.1,192.0.2.2", "resolv_conf", missing), 0);
        assert_int_equal(net_files_write_resolv(&cfg, out, &err), 0);
        assert_string_equal(slurp(out), "# from the [net_bridge] dns setting\n"
                                        "nameserver 192.0.2.1\nnameserver 192.0.2.2\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_config_defaults),
                cmocka_unit_test(test_config_errors),
                cmocka_unit_test_setup_teardown(test_allocate_and_exhaust, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_release_rotate_find, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_bad_hint, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_concurrent, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_gc, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_hosts, setup_dir, teardown_dir),
                cmocka_unit_test_setup_teardown(test_resolv, setup_dir, teardown_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
