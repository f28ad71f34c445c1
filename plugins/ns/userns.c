/* SPDX-License-Identifier: MIT */
/*
 * The userns plugin: the container gets a user namespace of its own in
 * which its root is an unprivileged host id (uid_map/gid_map, or a
 * subuid line), so root in the container is nobody on the host.
 *
 *   prepare_rootfs  the mapping in c->uid_range and c->gid_range, for
 *               the rootfs plugin's idmapped overlay layers.
 *   pre_clone   CLONE_NEWUSER (and CLONE_NEWNS: everything below needs a
 *               mount namespace of its own); a socketpair to hand the
 *               child its root tree; which directory to shadow (below).
 *   post_start  the monitor (host root) writes /proc/PID/uid_map and
 *               gid_map, then makes the root tree's owners match: an
 *               idmapped clone of the tree, sent to the child, or, where
 *               the kernel or the filesystem refuses that, a chown of the
 *               tree (userns_shift.c); neither when the rootfs plugin
 *               mounted the tree over idmapped layers (c->rootfs_ids_mapped).
 *   in_child    receive the tree, become the namespace's root, and put
 *               the tree where the later hooks look for c->rootfs.
 *
 * Stand first in the chain: every later in_child hook then runs as the
 * container's root and sees the idmapped tree.
 *
 * The shadow: the state directory is 0700 root, and the container's root
 * is a host uid of its own, so once it is that uid it cannot even walk
 * to c->rootfs.  So in the child's mount namespace a small tmpfs covers
 * the first such directory on the way and holds just the path down to the
 * root tree.  The container sees nothing else of the state directory; the
 * directories stay 0700.
 *
 * Only the top mount is idmapped: a request's bind mount of a host
 * directory keeps the host's ids, so what the container's root writes
 * there belongs to the mapped host uid.
 */
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "idmap.h"
#include "fs_create.h"
#include "userns.h"

/* What post_start sends the child, one byte (with an fd for TREE). */
enum {
        MSG_NONE = 'N',         /* no root tree: nothing to put anywhere */
        MSG_TREE = 'T',         /* an idmapped clone of the tree comes along */
        MSG_SHIFTED = 'S',      /* the tree's owners match already (chowned, or the
                                 * rootfs plugin's idmapped layers): use it as it is */
};

struct userns_state {
        const struct quilt_host *host;
        struct userns_config cfg;
        int sock[2];            /* [0] the monitor's end, [1] the child's */
        char *root;             /* realpath of c->rootfs, NULL: no tree */
        char *shadow;           /* the directory to cover, NULL: none needed */
        const char *shadow_rel; /* root below it (points into root) */
};

static int userns_init(const struct quilt_host *host, const struct quilt_config_section *section,
                       void **ret_state, struct quilt_error *err)
{
        _cleanup_free_ struct userns_state *s = calloc(1, sizeof(*s));
        if (!s)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        int r = userns_config_parse(host, section, &s->cfg, err);
        if (r < 0)
                return r;
        s->host = host;
        s->sock[0] = s->sock[1] = -1;
        *ret_state = TAKE_PTR(s);
        return 0;
}

static void userns_fini(void *state)
{
        struct userns_state *s = state;
        if (!s)
                return;
        quilt_closep(&s->sock[0]);
        quilt_closep(&s->sock[1]);
        free(s->root);
        free(s->shadow);
        free(s);
}

/* The first directory on the way to `root` that others may not search:
 * the container's root will be "others" to it. */
static int find_shadow(struct userns_state *s, struct quilt_error *err)
{
        size_t len = strlen(s->root);
        for (size_t i = 1; i < len; i++) {
                if (s->root[i] != '/')
                        continue;
                _cleanup_free_ char *dir = strndup(s->root, i);
                struct stat st;
                if (!dir)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                if (stat(dir, &st) < 0)
                        return quilt_error_set(err, -errno, "%s: %m", dir);
                if (st.st_mode & S_IXOTH)
                        continue;
                s->shadow = TAKE_PTR(dir);
                s->shadow_rel = s->root + i + 1;
                return 0;
        }
        return 0;
}

/* A named volume is made 0755 root's, which the container's root could
 * not write: the first userns container to use a volume that still is
 * root's gets its top directory, as its root (what is in it keeps its
 * owners).  Host root, which other containers run as, may write it
 * anyway. */
static int adopt_volumes(const struct userns_state *s, const struct quilt_container *c,
                         struct quilt_error *err)
{
        if (!QUILT_CONTAINER_HAS(c, n_mounts))
                return 0;
        for (size_t i = 0; i < c->n_mounts; i++) {
                const struct quilt_mount *m = c->mounts[i];
                if (!m || m->type != QUILT_MOUNT_BIND || !m->volume || !m->source)
                        continue;
                _cleanup_close_ int fd = open(m->source, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                struct stat st;
                if (fd < 0 || fstat(fd, &st) < 0)
                        return quilt_error_set(err, -errno, "volume %s: %s: %m", m->volume, m->source);
                if (st.st_uid != 0 || st.st_gid != 0)
                        continue;
                if (fchownat(fd, "", userns_shift_id(&s->cfg.uid, 0), userns_shift_id(&s->cfg.gid, 0),
                             AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
                        return quilt_error_set(err, -errno, "volume %s: chown %s: %m", m->volume,
                                               m->source);
        }
        return 0;
}

/* The mapping, for the plugins after us: the rootfs plugin idmaps an
 * overlay's lower layer through it (and then says so in
 * c->rootfs_ids_mapped). */
static int userns_prepare_rootfs(void *state, struct quilt_container *c, struct quilt_error *err)
{
        const struct userns_state *s = state;
        (void)err;
        if (!QUILT_CONTAINER_HAS(c, rootfs_ids_mapped))
                return 0;
        c->uid_range = s->cfg.uid;
        c->gid_range = s->cfg.gid;
        c->rootfs_ids_mapped = 0;
        return 0;
}

static int userns_pre_clone(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct userns_state *s = state;
        const unsigned long other_ns = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC |
                                       CLONE_NEWNET | CLONE_NEWCGROUP;

        /* A plugin before us asked for namespaces: its in_child would run
         * as host root in a namespace where that root is nobody (and make
         * files it may not own).  Say so now rather than fail oddly later. */
        if (c->clone_flags & other_ns)
                return quilt_error_set(err, -EINVAL,
                                       "userns must stand first in the chain (before ns)");
        c->clone_flags |= CLONE_NEWUSER | CLONE_NEWNS;
        quilt_closep(&s->sock[0]);
        quilt_closep(&s->sock[1]);
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s->sock) < 0)
                return quilt_error_set(err, -errno, "socketpair: %m");

        free(s->root);
        free(s->shadow);
        s->root = s->shadow = NULL;
        s->shadow_rel = NULL;
        int r = adopt_volumes(s, c, err);
        if (r < 0)
                return r;
        /* No rootfs plugin: the container runs in the host's tree, whose
         * owners are the host's to keep. */
        if (!c->rootfs || c->rootfs[0] == '\0' || access(c->rootfs, F_OK) < 0)
                return 0;
        s->root = realpath(c->rootfs, NULL);
        if (!s->root)
                return quilt_error_set(err, -errno, "%s: %m", c->rootfs);
        if (strlen(s->root) >= PATH_MAX)
                return quilt_error_set(err, -ENAMETOOLONG, "%s: path too long", s->root);
        return find_shadow(s, err);
}

/* An idmapped clone of the whole tree at s->root (the monitor's view:
 * with the request's mounts and /tmp below it), the top mount mapped
 * through the container's user namespace.  Returns the tree's fd, or a
 * negative errno with err filled. */
static int idmapped_tree(struct userns_state *s, int proc_fd, struct quilt_error *err)
{
        _cleanup_close_ int userns_fd = openat(proc_fd, "ns/user", O_RDONLY | O_CLOEXEC);
        if (userns_fd < 0)
                return quilt_error_set(err, -errno, "open ns/user: %m");
        /* Only the image is seen through the mapping. */
        return quilt_idmap_clone(s->root, userns_fd, true, err);
}

static int send_msg(int sock, char msg, int fd, struct quilt_error *err)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = { 0 };
        struct iovec iov = { .iov_base = &msg, .iov_len = 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (fd >= 0) {
                mh.msg_control = control.buf;
                mh.msg_controllen = sizeof(control.buf);
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        }
        ssize_t n;
        do
                n = sendmsg(sock, &mh, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n != 1)
                return quilt_error_set(err, n < 0 ? -errno : -EIO, "sending the root tree: %m");
        return 0;
}

static int shift_tree(struct userns_state *s, struct quilt_error *err)
{
        size_t changed = 0;
        int r = userns_shift_tree(s->root, &s->cfg.uid, &s->cfg.gid, &changed, err);
        if (r < 0)
                return r;
        if (QUILT_HOST_HAS(s->host, log))
                s->host->log(QUILT_LOG_DEBUG, USERNS_PLUGIN_NAME, "%s: %zu owners shifted",
                             s->root, changed);
        return 0;
}

static int userns_post_start(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct userns_state *s = state;
        char path[32];
        int r;

        /* The child's end is the child's now. */
        quilt_closep(&s->sock[1]);
        if (s->sock[0] < 0)
                return quilt_error_set(err, -EINVAL, "post_start without pre_clone");

        snprintf(path, sizeof(path), "/proc/%d", (int)c->pid);
        _cleanup_close_ int proc_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (proc_fd < 0)
                return quilt_error_set(err, -errno, "open %s: %m", path);
        /* Host root writes the maps, so setgroups stays "allow": the
         * child drops the host's groups with it. */
        const struct quilt_id_range uid = s->cfg.uid, gid = s->cfg.gid;
        r = quilt_idmap_write_map(proc_fd, "uid_map", &uid, err);
        if (r < 0)
                return r;
        r = quilt_idmap_write_map(proc_fd, "gid_map", &gid, err);
        if (r < 0)
                return r;

        if (!s->root)
                return send_msg(s->sock[0], MSG_NONE, -1, err);
        /* An overlay over idmapped layers: the tree is in place with the
         * mapped owners.  The child still shadows it, as a chowned one. */
        if (QUILT_CONTAINER_HAS(c, rootfs_ids_mapped) && c->rootfs_ids_mapped) {
                if (QUILT_HOST_HAS(s->host, log))
                        s->host->log(QUILT_LOG_DEBUG, USERNS_PLUGIN_NAME,
                                     "%s: owners mapped by the root tree's layers already", s->root);
                return send_msg(s->sock[0], MSG_SHIFTED, -1, err);
        }
        if (s->cfg.idmap == USERNS_IDMAP_AUTO) {
                struct quilt_error why = { 0 };
                _cleanup_close_ int tree = idmapped_tree(s, proc_fd, &why);
                if (tree >= 0)
                        return send_msg(s->sock[0], MSG_TREE, tree, err);
                if (!quilt_idmap_unsupported(tree)) {
                        *err = why;
                        return tree;
                }
                if (QUILT_HOST_HAS(s->host, log))
                        s->host->log(QUILT_LOG_WARNING, USERNS_PLUGIN_NAME,
                                     "%s; chowning the root tree instead", why.message);
        }
        r = shift_tree(s, err);
        if (r < 0)
                return r;
        return send_msg(s->sock[0], MSG_SHIFTED, -1, err);
}

/* ---- in the container process: no malloc, no stdio ---- */

static int recv_msg(int sock, char *ret_msg, int *ret_fd, struct quilt_error *err)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control;
        char msg = 0;
        struct iovec iov = { .iov_base = &msg, .iov_len = 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf) };
        ssize_t n;

        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return quilt_error_set(err, -errno, "receiving the root tree: %m");
        *ret_fd = -1;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
                    cm->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(ret_fd, CMSG_DATA(cm), sizeof(int));
        if (n != 1 || (msg == MSG_TREE) != (*ret_fd >= 0)) {
                quilt_closep(ret_fd);
                return quilt_error_set(err, -EPROTO, "no word from the monitor about the root tree");
        }
        *ret_msg = msg;
        return 0;
}

/* Uid and gid 0 of the namespace, without the host's groups.  The
 * capabilities stay: the ids we had (host root) are not the namespace's
 * root, so this is no "root gives up root" transition. */
static int become_root(struct quilt_error *err)
{
        if (setgroups(0, NULL) < 0)
                return quilt_error_set(err, -errno, "setgroups: %m");
        if (setresgid(0, 0, 0) < 0)
                return quilt_error_set(err, -errno, "setresgid 0: %m");
        if (setresuid(0, 0, 0) < 0)
                return quilt_error_set(err, -errno, "setresuid 0: %m");
        return 0;
}

/* A tmpfs holding shadow_rel (its directories 0755, the last one a mount
 * of `tree`), attached over s->shadow. */
static int attach_shadow(const struct userns_state *s, int tree, struct quilt_error *err)
{
        _cleanup_close_ int mnt = -1;
        int r = quilt_tmpfs_open(65536, 0755, MOUNT_ATTR_NOEXEC, &mnt, err);
        if (r < 0)
                return quilt_error_prefix(err, r, "%s: ", s->shadow);

        _cleanup_close_ int dir = openat(mnt, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return quilt_error_set(err, -errno, "%s: %m", s->shadow);
        const char *p = s->shadow_rel;
        for (;;) {
                char name[NAME_MAX + 1];
                size_t len = strcspn(p, "/");
                if (len == 0 || len > NAME_MAX)
                        return quilt_error_set(err, -EINVAL, "%s: bad path below %s", s->root,
                                               s->shadow);
                memcpy(name, p, len);
                name[len] = '\0';
                if (mkdirat(dir, name, 0755) < 0 && errno != EEXIST)
                        return quilt_error_set(err, -errno, "%s: mkdir %s: %m", s->shadow, name);
                if (p[len] == '\0') {
                        if (move_mount(tree, "", dir, name, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                                return quilt_error_set(err, -errno, "attaching %s: %m", s->root);
                        break;
                }
                int next = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return quilt_error_set(err, -errno, "%s: open %s: %m", s->shadow, name);
                close(dir);
                dir = next;
                p += len + 1;
        }
        if (move_mount(mnt, "", AT_FDCWD, s->shadow, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return quilt_error_set(err, -errno, "covering %s: %m", s->shadow);
        return 0;
}

static int userns_in_child(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct userns_state *s = state;
        _cleanup_close_ int tree = -1;
        char msg = 0;
        int r;

        if (!(c->clone_flags & CLONE_NEWUSER) || !(c->clone_flags & CLONE_NEWNS))
                return quilt_error_set(err, -EINVAL, "not in a new user and mount namespace");
        quilt_closep(&s->sock[0]);
        r = recv_msg(s->sock[1], &msg, &tree, err);
        quilt_closep(&s->sock[1]);
        if (r < 0)
                return r;

        /* A shifted tree is in place already; to shadow it we need a
         * clone of it, taken while we are still host root (the owner of
         * the 0700 directories on the way). */
        if (msg == MSG_SHIFTED && s->shadow) {
                tree = open_tree(AT_FDCWD, s->root,
                                 OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
                if (tree < 0)
                        return quilt_error_set(err, -errno, "open_tree %s: %m", s->root);
        }

        r = become_root(err);
        if (r < 0)
                return r;
        if (tree < 0)
                return 0;
        if (s->shadow)
                return attach_shadow(s, tree, err);
        /* On top of the tree the monitor cloned: the later hooks find it
         * at c->rootfs. */
        if (move_mount(tree, "", AT_FDCWD, s->root, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return quilt_error_set(err, -errno, "attaching %s: %m", s->root);
        return 0;
}

QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_plugin),
        .name = USERNS_PLUGIN_NAME,
        .description = "a user namespace: the container's root is an unprivileged host uid",
        .init = userns_init,
        .fini = userns_fini,
        .prepare_rootfs = userns_prepare_rootfs,
        .pre_clone = userns_pre_clone,
        .post_start = userns_post_start,
        .in_child = userns_in_child,
};
