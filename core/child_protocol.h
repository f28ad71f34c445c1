/* SPDX-License-Identifier: MIT */
/* Messages from the container process to its monitor, over the pipe the
 * monitor reads until EOF.  The write end is close-on-exec in the process
 * that execs the command, so EOF means the command runs.  Each message is
 * one write() of the whole struct (< PIPE_BUF: atomic).  quilt-init
 * speaks it too: it holds the pipe across its own exec and reports its
 * child's exec failure the same way. */
#ifndef QUILT_CHILD_PROTOCOL_H
#define QUILT_CHILD_PROTOCOL_H

#include <stdint.h>

#include "quilt/plugin.h"

enum quilt_child_message_type {
        /* The container cannot reach its command: `code` (a negative errno)
         * and `message`; the process exits after sending it. */
        QUILT_CHILD_ERROR = 1,
        /* A phase of output begins: `setup_command` N >= 1 is setup command N
         * (text in `message`); 0 is the command itself. */
        QUILT_CHILD_PHASE = 2,
};

struct quilt_child_message {
        int32_t type;                           /* enum quilt_child_message_type */
        int32_t code;
        uint32_t setup_command;
        uint32_t reserved;
        char message[QUILT_ERROR_MESSAGE_MAX];
};

_Static_assert(sizeof(struct quilt_child_message) <= 4096, "one atomic pipe write");

#endif
