/* SPDX-License-Identifier: MIT */
/* The workload options of create and run: setup commands, init, mounts,
 * user and groups, a read-only root, rlimits.  getopt_long() values,
 * their struct option entries and help text, the parsed values and how
 * they go into a CreateContainerRequest. */
#ifndef QUILT_CLI_WORKLOAD_H
#define QUILT_CLI_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "mount_spec.h"
#include "port_spec.h"

enum {
        QUILT_CLI_OPT_SETUP = 0x300,
        QUILT_CLI_OPT_SETUP_TIMEOUT,
        QUILT_CLI_OPT_INIT,
        QUILT_CLI_OPT_NO_INIT,
        QUILT_CLI_OPT_MOUNT,
        QUILT_CLI_OPT_TMPFS,
        QUILT_CLI_OPT_GROUP_ADD,
        QUILT_CLI_OPT_READ_ONLY,
        QUILT_CLI_OPT_ULIMIT,
        QUILT_CLI_OPT_READY_PROBE,
        QUILT_CLI_OPT_READY_INTERVAL,
        QUILT_CLI_OPT_CAP_ADD,
        QUILT_CLI_OPT_CAP_DROP,
        QUILT_CLI_OPT_SECCOMP_PROFILE,
        QUILT_CLI_OPT_NETWORK,
        QUILT_CLI_OPT_WORKLOAD_END,             /* not an option: create takes SETUP ... END - 1 */
        QUILT_CLI_OPT_VOLUME = 'v',
        QUILT_CLI_OPT_USER = 'u',
        QUILT_CLI_OPT_PUBLISH = 'p',
};

/* The short ones for getopt's optstring. */
#define QUILT_CLI_WORKLOAD_SHORT "v:u:p:"
#define QUILT_CLI_WORKLOAD_OPTIONS                                                      \
        { "setup", required_argument, NULL, QUILT_CLI_OPT_SETUP },                      \
        { "setup-timeout", required_argument, NULL, QUILT_CLI_OPT_SETUP_TIMEOUT },      \
        { "init", no_argument, NULL, QUILT_CLI_OPT_INIT },                              \
        { "no-init", no_argument, NULL, QUILT_CLI_OPT_NO_INIT },                        \
        { "volume", required_argument, NULL, QUILT_CLI_OPT_VOLUME },                    \
        { "mount", required_argument, NULL, QUILT_CLI_OPT_MOUNT },                      \
        { "tmpfs", required_argument, NULL, QUILT_CLI_OPT_TMPFS },                      \
        { "user", required_argument, NULL, QUILT_CLI_OPT_USER },                        \
        { "group-add", required_argument, NULL, QUILT_CLI_OPT_GROUP_ADD },              \
        { "read-only", no_argument, NULL, QUILT_CLI_OPT_READ_ONLY },                    \
        { "ulimit", required_argument, NULL, QUILT_CLI_OPT_ULIMIT },                    \
        { "ready-probe", required_argument, NULL, QUILT_CLI_OPT_READY_PROBE },          \
        { "ready-interval", required_argument, NULL, QUILT_CLI_OPT_READY_INTERVAL },    \
        { "cap-add", required_argument, NULL, QUILT_CLI_OPT_CAP_ADD },                  \
        { "cap-drop", required_argument, NULL, QUILT_CLI_OPT_CAP_DROP },                \
        { "seccomp-profile", required_argument, NULL, QUILT_CLI_OPT_SECCOMP_PROFILE },  \
        { "network", required_argument, NULL, QUILT_CLI_OPT_NETWORK },                  \
        { "publish", required_argument, NULL, QUILT_CLI_OPT_PUBLISH }

#define QUILT_CLI_WORKLOAD_HELP                                                                         \
        "  --setup CMD             run CMD with /bin/sh -c before the command, as root, in\n"            \
        "                          the container; repeatable, run in order; a failing one\n"             \
        "                          fails the container (state SETUP while they run)\n"                   \
        "  --setup-timeout SECS    time limit of each setup command (default: the daemon's)\n"           \
        "  --init                  run the command under a minimal init as PID 1\n"                      \
        "  --no-init               no init, even where the daemon's default is one\n"                    \
        "  -v, --volume SRC:DST[:ro|:rw]\n"                                                              \
        "                          mount SRC at DST: SRC /HOST/PATH binds a host directory\n"            \
        "                          or file (absolute only), any other SRC names a volume\n"              \
        "                          (quilt-cli volume create NAME); repeatable\n"                         \
        "  --mount type=bind|tmpfs|volume,source=S,target=T[,readonly][,size=SIZE][,mode=OCTAL]\n"      \
        "                          the same in Docker's long form (type defaults to volume;\n"           \
        "                          src, dst, destination, ro, tmpfs-size, tmpfs-mode also work)\n"       \
        "  --tmpfs DST[:size=SIZE,mode=OCTAL,ro]\n"                                                      \
        "                          a tmpfs at DST (default size: half of RAM, mode 1777)\n"              \
        "  -u, --user USER[:GROUP] run as uid[:gid] or names from the image's /etc/passwd\n"             \
        "                          and /etc/group (default: root)\n"                                     \
        "  --group-add GROUP       a supplementary group (name or gid); repeatable\n"                    \
        "  --read-only             mount the root file system read-only (/tmp stays writable)\n"         \
        "  --ulimit NAME=SOFT[:HARD]\n"                                                                  \
        "                          a resource limit (nofile, nproc, core, stack, memlock, ...);\n"       \
        "                          SOFT and HARD a number or unlimited; HARD defaults to SOFT;\n"        \
        "                          repeatable\n"                                                        \
        "  --ready-probe CMD       ready once `/bin/sh -c CMD` in the container exits 0\n"              \
        "  --ready-interval MS     how often the probe runs (default 500)\n"                            \
        "  --cap-add CAP, --cap-drop CAP\n"                                                             \
        "                          a capability on top of / taken from the default set (ALL\n"          \
        "                          drops every one); repeatable\n"                                      \
        "  --seccomp-profile P     default, unconfined (where allowed), a configured name or\n"         \
        "                          an absolute path of a Docker/OCI seccomp JSON profile\n"             \
        "  --network MODE          none, loopback or bridge (default: the chain's)\n"                   \
        "  -p, --publish HOST:CONTAINER[/tcp|/udp]\n"                                                   \
        "                          publish a container port on the host (bridge only);\n"               \
        "                          repeatable\n"

struct quilt_cli_workload {
        const char **setup;
        size_t n_setup;
        int32_t setup_timeout;                  /* 0: not given */
        bool init, no_init, read_only;
        const char *user;
        const char **groups;
        size_t n_groups;
        struct quilt_mount_spec *mounts;        /* -v, --mount, --tmpfs in order */
        size_t n_mounts;
        struct quilt_cli_rlimit *rlimits;
        size_t n_rlimits;
        const char *ready_probe;                /* a shell command */
        int32_t ready_interval_ms;              /* 0: not given */
        const char *probe_argv[4];              /* /bin/sh -c PROBE, for the request */
        const char **cap_add;
        size_t n_cap_add;
        const char **cap_drop;
        size_t n_cap_drop;
        const char *seccomp_profile;
        const char *network;
        struct quilt_port_spec *ports;
        size_t n_ports;

        /* What a request points into after quilt_cli_workload_apply(). */
        Quilt__V1__Mount *mount_msgs;
        Quilt__V1__Mount **mount_ptrs;
        Quilt__V1__Rlimit *rlimit_msgs;
        Quilt__V1__Rlimit **rlimit_ptrs;
        Quilt__V1__PortMapping *port_msgs;
        Quilt__V1__PortMapping **port_ptrs;
};

/* Room for one value per argument.  -ENOMEM or 0. */
int quilt_cli_workload_init(struct quilt_cli_workload *w, int argc);
void quilt_cli_workload_free(struct quilt_cli_workload *w);

/* Store the value of option `c` (QUILT_CLI_OPT_* of this header).
 * Returns -1 to go on, or the exit status (a usage error naming the
 * option, or out of memory). */
int quilt_cli_workload_option(const struct quilt_cli_command *cmd, int c, const char *arg,
                              struct quilt_cli_workload *w);
/* Checks across options (--init with --no-init, two mounts on one
 * target, --setup-timeout without --setup).  -1 or the exit status. */
int quilt_cli_workload_check(const struct quilt_cli_command *cmd, const struct quilt_cli_workload *w);
/* Point `req` at the values; `w` must outlive it.  0 or -ENOMEM. */
int quilt_cli_workload_apply(struct quilt_cli_workload *w, Quilt__V1__CreateContainerRequest *req);

#endif
