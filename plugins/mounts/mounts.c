/* SPDX-License-Identifier: MIT */
/*
 * The mounts plugin: the request's mounts (CreateContainerRequest.mounts:
 * host directories or files, named volumes — quiltd turned their names
 * into directories — and tmpfs) under the container's root.
 *
 * pre_clone, in the monitor's own mount namespace (a slave of the host's:
 * nothing mounted here shows on the host) after prepare_rootfs built the
 * root and before the clone: each mount, in request order, is attached to
 * an fd of its target resolved inside the root (mounts_target.c), so an
 * image symlink cannot send it onto the host.  The container's mount
 * namespace is a copy of the monitor's, and the rootfs plugin's recursive
 * bind of the root carries the mounts (and their read-only flag) into it.
 *
 * No cleanup hook: the mounts live in the monitor's namespace and go with
 * it; RemoveContainer's cleanup runs in the host's namespace, where they
 * never existed.  No in_child either.
 *
 *   [mounts]                  has no keys
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "mounts.h"
#include "fs_create.h"

struct mounts_state {
        const struct quilt_host *host;
};

static const struct quilt_config_key config_keys[] = {
        { NULL, 0, 0, NULL },
};

static int mounts_init(const struct quilt_host *host, const struct quilt_config_section *section,
                       void **ret_state, struct quilt_error *err)
{
        if (!QUILT_HOST_HAS(host, open_in_root) || !QUILT_HOST_HAS(host, config_apply))
                return quilt_error_set(err, -EINVAL,
                                       "the host table lacks open_in_root or config_apply");
        _cleanup_free_ struct mounts_state *s = calloc(1, sizeof(*s));
        if (!s)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        s->host = host;
        /* No keys: any key in [mounts] is an error naming FILE:LINE. */
        if (section && section->n_entries > 0) {
                char target = 0;
                int r = host->config_apply(section, config_keys, &target, err);
                if (r < 0)
                        return r;
        }
        *ret_state = TAKE_PTR(s);
        return 0;
}

static void mounts_fini(void *state)
{
        free(state);
}

/* Should the monitor have failed to make its own mount namespace (it
 * carries on, with a warning), our mounts would be the host's: refuse. */
static int check_own_mount_ns(struct quilt_error *err)
{
        struct stat self, init;
        if (stat("/proc/self/ns/mnt", &self) < 0 || stat("/proc/1/ns/mnt", &init) < 0)
                return 0;       /* cannot tell; the monitor made one (core/monitor.c) */
        if (self.st_dev == init.st_dev && self.st_ino == init.st_ino)
                return quilt_error_set(err, -EPERM,
                                       "the monitor is in the host's mount namespace: refusing to "
                                       "mount where the host would see it");
        return 0;
}

static int mount_one(const struct mounts_state *s, int root_fd, const struct quilt_mount *m,
                     struct quilt_error *err)
{
        _cleanup_close_ int mnt_fd = -1, target_fd = -1;
        int r;

        switch (m->type) {
        case QUILT_MOUNT_BIND: {
                if (!m->source || m->source[0] != '/')
                        return quilt_error_set(err, -EINVAL, "bind mount source '%s' is not absolute",
                                               m->source ? m->source : "");
                /* The source first: a missing one leaves no mount point behind. */
                r = mounts_bind_tree(m->source, m->read_only, &mnt_fd, err);
                if (r < 0)
                        return r;
                struct stat st;
                if (fstat(mnt_fd, &st) < 0)
                        return quilt_error_set(err, -errno, "bind mount source %s: %m", m->source);
                r = mounts_open_target(s->host, root_fd, m->target, S_ISDIR(st.st_mode), &target_fd,
                                       err);
                break;
        }
        case QUILT_MOUNT_TMPFS:
                r = mounts_open_target(s->host, root_fd, m->target, true, &target_fd, err);
                if (r < 0)
                        return r;
                r = quilt_tmpfs_open(m->size_bytes, m->mode ? (mode_t)m->mode : MOUNTS_TMPFS_MODE,
                                     m->read_only ? MOUNT_ATTR_RDONLY : 0, &mnt_fd, err);
                break;
        default:
                return quilt_error_set(err, -EINVAL, "unknown mount type %d", (int)m->type);
        }
        if (r < 0)
                return r;
        return mounts_attach(mnt_fd, target_fd, err);
}

static int mounts_pre_clone(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct mounts_state *s = state;
        if (!QUILT_CONTAINER_HAS(c, n_mounts) || c->n_mounts == 0)
                return 0;
        if (!c->rootfs || c->rootfs[0] == '\0')
                return quilt_error_set(err, -EINVAL, "no rootfs path");
        int r = check_own_mount_ns(err);
        if (r < 0)
                return r;
        _cleanup_close_ int root_fd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return quilt_error_set(err, -errno, "open %s: %m", c->rootfs);

        for (size_t i = 0; i < c->n_mounts; i++) {
                const struct quilt_mount *m = c->mounts[i];
                if (!m || !m->target || m->struct_size < sizeof(*m))
                        return quilt_error_set(err, -EINVAL, "mount %zu: malformed", i);
                r = mount_one(s, root_fd, m, err);
                /* "mount N (TARGET): reason"; N as in the request. */
                if (r < 0)
                        return quilt_error_prefix(err, r, "mount %zu (%s): ", i, m->target);
                if (QUILT_HOST_HAS(s->host, log))
                        s->host->log(QUILT_LOG_DEBUG, MOUNTS_PLUGIN_NAME, "%s: %s%s on %s%s",
                                     c->id ? c->id : "?",
                                     m->type == QUILT_MOUNT_TMPFS ? "tmpfs" : "bind ",
                                     m->type == QUILT_MOUNT_TMPFS ? "" : m->source, m->target,
                                     m->read_only ? " (read-only)" : "");
        }
        return 0;
}

QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_plugin),
        .name = MOUNTS_PLUGIN_NAME,
        .description = "bind mounts, named volumes and tmpfs from the request, resolved inside "
                       "the container's root",
        .init = mounts_init,
        .fini = mounts_fini,
        .pre_clone = mounts_pre_clone,
        .features = QUILT_FEATURE_MOUNTS,
};
