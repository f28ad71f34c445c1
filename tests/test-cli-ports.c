/* SPDX-License-Identifier: MIT */
/* quilt-cli's -p, --publish values (cli/port_spec.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "port_spec.h"

static void check_port(const char *arg, uint32_t host, uint32_t container, const char *protocol)
{
        struct quilt_port_spec p;
        const char *why = NULL;

        assert_int_equal(quilt_parse_port_option(arg, &p, &why), 0);
        assert_null(why);
        assert_int_equal(p.host_port, host);
        assert_int_equal(p.container_port, container);
        assert_string_equal(p.protocol, protocol);
}

static void check_bad(const char *arg, const char *why_part)
{
        struct quilt_port_spec p;
        const char *why = NULL;

        assert_int_equal(quilt_parse_port_option(arg, &p, &why), -EINVAL);
        assert_non_null(why);
        assert_non_null(strstr(why, why_part));
}

static void test_ports(void **state)
{
        (void)state;
        check_port("8080:80", 8080, 80, "tcp");
        check_port("8080:80/tcp", 8080, 80, "tcp");
        check_port("53:53/udp", 53, 53, "udp");
        check_port("65535:1", 65535, 1, "tcp");
}

static void test_port_errors(void **state)
{
        (void)state;
        check_bad("8080", "HOST:CONTAINER");
        check_bad("80/tcp:8080", "HOST:CONTAINER");
        check_bad(":80", "1..65535");
        check_bad("80:", "1..65535");
        check_bad("0:80", "1..65535");
        check_bad("65536:80", "1..65535");
        check_bad("99999999999:80", "1..65535");
        check_bad("-1:80", "1..65535");
        check_bad("8080:80/sctp", "tcp or udp");
        check_bad("8080:80/", "tcp or udp");
        check_bad("127.0.0.1:8080:80", "host address");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ports),
                cmocka_unit_test(test_port_errors),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
