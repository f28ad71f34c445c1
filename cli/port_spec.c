/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "port_spec.h"

/* 1..65535, decimal digits only, ending at `end`. */
static int parse_port(const char *s, const char *end, uint32_t *ret)
{
        uint32_t v = 0;

        if (s == end)
                return -EINVAL;
        for (; s < end; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                v = v * 10 + (uint32_t)(*s - '0');
                if (v > 65535)
                        return -EINVAL;
        }
        if (v == 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

int quilt_parse_port_option(const char *arg, struct quilt_port_spec *ret, const char **ret_error)
{
        const char *colon = strchr(arg, ':');
        const char *slash = strchr(arg, '/');
        const char *end = slash ? slash : arg + strlen(arg);

        *ret = (struct quilt_port_spec){ .protocol = "tcp" };
        if (!colon || colon > end) {
                *ret_error = "expected HOST:CONTAINER[/tcp|/udp]";
                return -EINVAL;
        }
        if (strchr(colon + 1, ':') && strchr(colon + 1, ':') < end) {
                *ret_error = "a host address is not supported: published ports listen on every "
                             "address of the host";
                return -EINVAL;
        }
        if (parse_port(arg, colon, &ret->host_port) < 0 ||
            parse_port(colon + 1, end, &ret->container_port) < 0) {
                *ret_error = "ports are numbers 1..65535";
                return -EINVAL;
        }
        if (slash) {
                if (!strcmp(slash + 1, "tcp")) {
                        ret->protocol = "tcp";
                } else if (!strcmp(slash + 1, "udp")) {
                        ret->protocol = "udp";
                } else {
                        *ret_error = "the protocol is tcp or udp";
                        return -EINVAL;
                }
        }
        return 0;
}
