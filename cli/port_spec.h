/* SPDX-License-Identifier: MIT */
/* quilt-cli's -p, --publish HOST:CONTAINER[/tcp|/udp]: a published port.
 * Pure: no I/O.  Returns 0, or -EINVAL with *ret_error (static text)
 * saying what is wrong. */
#ifndef QUILT_CLI_PORT_SPEC_H
#define QUILT_CLI_PORT_SPEC_H

#include <stdint.h>

struct quilt_port_spec {
        uint32_t host_port;
        uint32_t container_port;
        const char *protocol;           /* "tcp" or "udp" (static) */
};

int quilt_parse_port_option(const char *arg, struct quilt_port_spec *ret, const char **ret_error);

#endif
