/* SPDX-License-Identifier: MIT */
/* The ns plugin: asks for the namespaces at clone time (pre_clone), then,
 * in the container process before the root switch (in_child), sets the
 * hostname, brings up lo and mounts /proc, /dev and /sys under c->rootfs,
 * then masks and write-protects the sensitive paths in /proc and /sys.
 * Every mount it makes lives in the container's own mount namespace and
 * dies with it, so there is no cleanup hook. */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "loopback.h"
#include "ns.h"

static int ns_init(const struct quilt_host *host, const struct quilt_config_section *section,
                   void **ret_state, struct quilt_error *err)
{
        _cleanup_free_ struct ns_state *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        s->host = host;
        r = ns_config_parse(host, section, &s->cfg, err);
        if (r < 0)
                return r;       /* it frees what it allocated on failure */
        if (s->cfg.shm_size > 0)
                snprintf(s->shm_size, sizeof(s->shm_size), "%llu",
                         (unsigned long long)s->cfg.shm_size);
        *ret_state = TAKE_PTR(s);
        return 0;
}

static void ns_fini(void *state)
{
        struct ns_state *s = state;

        if (!s)
                return;
        ns_config_free(&s->cfg);
        free(s);
}

/* Check here, in the monitor, what in_child would only find out after the
 * clone, so the error comes early and plainly. */
static int ns_pre_clone(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct ns_state *s = state;
        const struct ns_config *cfg = &s->cfg;
        unsigned long flags = ns_clone_flags(cfg);

        if (cfg->uts && strlen(c->hostname) > HOST_NAME_MAX)
                return quilt_error_set(err, -EINVAL, "hostname \"%s\" is longer than %d bytes",
                                       c->hostname, HOST_NAME_MAX);
        if ((cfg->proc || cfg->dev || cfg->sys) && (!c->rootfs || c->rootfs[0] != '/'))
                return quilt_error_set(err, -EINVAL, "the root directory \"%s\" is not absolute",
                                       c->rootfs ? c->rootfs : "");
        c->clone_flags |= flags;

        if (QUILT_HOST_HAS(s->host, log))
                s->host->log(QUILT_LOG_DEBUG, "ns",
                             "namespaces:%s%s%s%s%s%s%s%s; mounts:%s%s%s%s; "
                             "%zu masked, %zu read-only paths",
                             cfg->pid ? " pid" : "", cfg->mount ? " mount" : "",
                             cfg->uts ? " uts" : "", cfg->ipc ? " ipc" : "",
                             cfg->net ? " net" : "", cfg->cgroup ? " cgroup" : "",
                             cfg->time ? " time" : "",
                             flags || cfg->cgroup || cfg->time ? "" : " none",
                             cfg->proc ? " /proc" : "", cfg->dev ? " /dev" : "",
                             cfg->sys ? " /sys" : "",
                             cfg->proc || cfg->dev || cfg->sys ? "" : " none",
                             cfg->masked.n, cfg->readonly.n);
        return 0;
}

/* A time namespace whose CLOCK_MONOTONIC and CLOCK_BOOTTIME start near
 * zero: uptime and monotonic timestamps inside say nothing of the host's.
 * unshare leaves us outside; our exec (and every child) enters it.  The
 * offsets can only be written before any process is in it. */
static int enter_time_namespace(struct quilt_error *err)
{
        struct timespec mono, boot;
        char text[96];
        int r;

        if (unshare(CLONE_NEWTIME) < 0) {
                r = -errno;
                return quilt_error_set(err, r, "unshare(CLONE_NEWTIME): %s", strerror(-r));
        }
        clock_gettime(CLOCK_MONOTONIC, &mono);
        clock_gettime(CLOCK_BOOTTIME, &boot);
        /* One second short of the clocks' value: they must stay positive. */
        int n = snprintf(text, sizeof(text), "monotonic %lld 0\nboottime %lld 0\n",
                         -(long long)(mono.tv_sec > 1 ? mono.tv_sec - 1 : 0),
                         -(long long)(boot.tv_sec > 1 ? boot.tv_sec - 1 : 0));
        _cleanup_close_ int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
        /* One write: the kernel takes the offsets whole. */
        ssize_t w = fd < 0 ? -1 : write(fd, text, (size_t)n);
        if (w != n) {
                r = w < 0 ? -errno : -EIO;
                return quilt_error_set(err, r, "/proc/self/timens_offsets: %s", strerror(-r));
        }
        return 0;
}

static int ns_in_child(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct ns_state *s = state;
        const struct ns_config *cfg = &s->cfg;
        _cleanup_close_ int root_fd = -1, proc_fd = -1, sys_fd = -1;
        int r;

        /* Unshared here rather than at clone: the cgroup namespace is rooted
         * at the cgroup we are in when it is made, and only since
         * post_start are we in the container's cgroup. */
        if (cfg->cgroup && unshare(CLONE_NEWCGROUP) < 0) {
                r = -errno;
                return quilt_error_set(err, r, "unshare(CLONE_NEWCGROUP): %s", strerror(-r));
        }

        if (cfg->time && (r = enter_time_namespace(err)) < 0)
                return r;

        if (cfg->mount) {
                /* Were we still in the host's mount namespace, every mount
                 * below would be the host's. */
                if (!(c->clone_flags & CLONE_NEWNS))
                        return quilt_error_set(err, -EINVAL,
                                               "not in a new mount namespace: refusing to mount");
                /* Make every mount private first, so that nothing we mount
                 * propagates back into the host's namespace. */
                if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                        r = -errno;
                        return quilt_error_set(err, r, "making / private: %s", strerror(-r));
                }
        }

        if (cfg->uts && sethostname(c->hostname, strlen(c->hostname)) < 0) {
                r = -errno;
                return quilt_error_set(err, r, "sethostname \"%s\": %s", c->hostname,
                                       strerror(-r));
        }

        /* "none": the namespace keeps even lo down. */
        bool no_network = QUILT_CONTAINER_HAS(c, network) && c->network && !strcmp(c->network, "none");
        if (cfg->loopback_up && cfg->net && !no_network) {
                r = quilt_loopback_up(err);
                if (r < 0)
                        return r;
        }

        if (!cfg->proc && !cfg->dev && !cfg->sys)
                return 0;

        /* Opened here, not in pre_clone: an fd from the monitor would refer
         * to the host's mounts, and move_mount onto it would fail. */
        root_fd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0) {
                r = -errno;
                return quilt_error_set(err, r, "open %s: %s", c->rootfs, strerror(-r));
        }
        if (cfg->proc) {
                r = ns_mount_proc(root_fd, c->rootfs, &proc_fd, err);
                if (r < 0)
                        return r;
        }
        if (cfg->dev) {
                r = ns_mount_dev(root_fd, c->rootfs, s->shm_size, err);
                if (r < 0)
                        return r;
        }
        if (cfg->sys) {
                r = ns_mount_sys(root_fd, c->rootfs, &sys_fd, err);
                if (r < 0)
                        return r;
        }
        /* Under the /proc and /sys just mounted, reached through their own
         * fds: nothing the image holds is looked up on the way. */
        return ns_apply_paths(cfg, proc_fd, sys_fd, c->rootfs, err);
}

/* With its own network namespace ns provides "none" and, bringing lo up,
 * "loopback"; without, no network mode at all. */
static uint64_t ns_configured_features(void *state)
{
        const struct ns_config *cfg = &((struct ns_state *)state)->cfg;

        if (!cfg->net)
                return 0;
        return QUILT_FEATURE_NETWORK_NONE | (cfg->loopback_up ? QUILT_FEATURE_NETWORK_LOOPBACK : 0);
}

QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_plugin),
        .name = "ns",
        .description = "pid, mount, uts, ipc, net and cgroup namespaces; /proc, /dev, /sys",
        .init = ns_init,
        .fini = ns_fini,
        .pre_clone = ns_pre_clone,
        .in_child = ns_in_child,
        .features = QUILT_FEATURE_NETWORK_NONE | QUILT_FEATURE_NETWORK_LOOPBACK,
        .configured_features = ns_configured_features,
};
