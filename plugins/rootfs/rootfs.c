/* SPDX-License-Identifier: MIT */
/*
 * The rootfs plugin: builds the container's root tree from an image
 * tarball (prepare_rootfs), makes it the container's root (in_child) and
 * removes it again (cleanup).
 *
 *   [rootfs]                  or an instance, [rootfs:chroot]
 *   mode = pivot_root         pivot_root (default; needs a mount namespace)
 *                             or chroot (weaker: root can escape a chroot)
 *   readonly = false          remount the root read-only after the switch
 *                             (needs a mount namespace in both modes); a
 *                             request's read_only_rootfs asks the same for
 *                             one container.  A read-only root gets a
 *                             fresh tmpfs on /tmp (unless a request mount
 *                             is /tmp), mounted in pre_clone
 *   store = auto              overlay: unpack the image once into the image
 *                             store and mount an overlay (a per-container
 *                             upper and work dir over it) on the root;
 *                             extract: unpack it into the container's root
 *                             each time (no store); auto (default): overlay
 *                             when the kernel has it and a test mount works
 *                             (decided at init, logged at info)
 *   image_store = PATH        the store (absolute); default STATE_DIR/images,
 *                             STATE_DIR being the parent of the container
 *                             dir's parent (STATE_DIR/containers/ID)
 *
 * The image is an absolute tarball path, or "sha256:HEX" of an image
 * already in the store (quiltd's ImportImage; it resolves tags and
 * prefixes to that form).  Only overlay mode takes a digest: extract mode
 * fails with "extract mode needs a tarball path".
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#include "image_store.h"
#include "rootfs.h"
#include "rootfs_idmap.h"
#include "rootfs_mounts.h"
#include "rootfs_overlay.h"
#include "tar_extract.h"
#include "fs_create.h"

enum rootfs_mode {
        ROOTFS_PIVOT_ROOT,
        ROOTFS_CHROOT,
};

enum rootfs_store {
        ROOTFS_STORE_AUTO,
        ROOTFS_STORE_OVERLAY,
        ROOTFS_STORE_EXTRACT,
};

struct rootfs_config {
        int mode;                       /* enum rootfs_mode, a CHOICE index */
        bool readonly;
        int store;                      /* enum rootfs_store, a CHOICE index */
        const char *image_store;        /* NULL: derived from the container dir */
};

struct rootfs_state {
        const struct quilt_host *host;
        struct rootfs_config cfg;
        bool overlay;                   /* the store mode in effect: overlay, else extract */
        char *root;                     /* c->rootfs made canonical by pre_clone, for in_child */
        bool ids_mapped;                /* the overlay's lower layer is idmapped */
};

static const char *const mode_choices[] = { "pivot_root", "chroot", NULL };
static const char *const store_choices[] = { "auto", "overlay", "extract", NULL };

static const struct quilt_config_key config_keys[] = {
        { "mode", QUILT_CONFIG_CHOICE, offsetof(struct rootfs_config, mode), mode_choices },
        { "readonly", QUILT_CONFIG_BOOL, offsetof(struct rootfs_config, readonly), NULL },
        { "store", QUILT_CONFIG_CHOICE, offsetof(struct rootfs_config, store), store_choices },
        { "image_store", QUILT_CONFIG_STRING, offsetof(struct rootfs_config, image_store), NULL },
        { NULL, 0, 0, NULL },
};

static void decide_store(struct rootfs_state *s, const struct quilt_config_section *section);

static int rootfs_init(const struct quilt_host *host, const struct quilt_config_section *section,
                       void **ret_state, struct quilt_error *err)
{
        if (!QUILT_HOST_HAS(host, config_apply) || !QUILT_HOST_HAS(host, remove_tree))
                return quilt_error_set(err, -EINVAL,
                                       "the host table lacks config_apply or remove_tree");

        _cleanup_free_ struct rootfs_state *s = calloc(1, sizeof(*s));
        if (!s)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        s->host = host;
        s->cfg.mode = ROOTFS_PIVOT_ROOT;
        s->cfg.readonly = false;
        if (section) {
                int r = host->config_apply(section, config_keys, &s->cfg, err);
                if (r < 0)
                        return r;
        }
        if (s->cfg.image_store && s->cfg.image_store[0] != '/')
                return quilt_error_set(err, -EINVAL, "%s:%d: [%s] image_store must be absolute: %s",
                                       section && section->file ? section->file : "(config)",
                                       section ? section->line : 0,
                                       section && section->name ? section->name : "rootfs",
                                       s->cfg.image_store);
        decide_store(s, section);
        *ret_state = TAKE_PTR(s);
        return 0;
}

#define log_info(s, ...)                                                               \
        do {                                                                           \
                if (QUILT_HOST_HAS((s)->host, log))                                   \
                        (s)->host->log(QUILT_LOG_INFO, ROOTFS_PLUGIN_NAME, __VA_ARGS__); \
        } while (0)
#define log_debug(s, ...)                                                              \
        do {                                                                           \
                if (QUILT_HOST_HAS((s)->host, log))                                   \
                        (s)->host->log(QUILT_LOG_DEBUG, ROOTFS_PLUGIN_NAME, __VA_ARGS__); \
        } while (0)
#define log_warning(s, ...)                                                            \
        do {                                                                           \
                if (QUILT_HOST_HAS((s)->host, log))                                   \
                        (s)->host->log(QUILT_LOG_WARNING, ROOTFS_PLUGIN_NAME, __VA_ARGS__); \
        } while (0)

/* Which store mode applies, and why: what quiltd --check-config shows.
 * auto probes with a test mount below the image store when it is
 * configured and exists, else below /tmp. */
static void decide_store(struct rootfs_state *s, const struct quilt_config_section *section)
{
        const char *name = section && section->name ? section->name : ROOTFS_PLUGIN_NAME;
        char why[512];
        switch (s->cfg.store) {
        case ROOTFS_STORE_EXTRACT:
                s->overlay = false;
                log_info(s, "[%s] store = extract (configured): the image is unpacked for each "
                            "container", name);
                return;
        case ROOTFS_STORE_OVERLAY:
                s->overlay = true;
                log_info(s, "[%s] store = overlay (configured)", name);
                return;
        default:
                break;
        }
        const char *dir = "/tmp";
        struct stat st;
        if (s->cfg.image_store && stat(s->cfg.image_store, &st) == 0 && S_ISDIR(st.st_mode))
                dir = s->cfg.image_store;
        s->overlay = rootfs_overlay_usable(dir, why, sizeof(why));
        log_info(s, "[%s] store = auto picked %s: %s", name, s->overlay ? "overlay" : "extract",
                 why);
}

static void rootfs_fini(void *state)
{
        struct rootfs_state *s = state;
        if (!s)
                return;
        free(s->root);
        free(s);
}

/* mkdir c->rootfs, or accept an empty directory left by an earlier
 * attempt; anything else there is not ours to extract over. */
static int make_rootfs_dir(const char *path, struct quilt_error *err)
{
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return quilt_error_set(err, -errno, "mkdir %s: %m", path);

        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return quilt_error_set(err, -errno, "open %s: %m", path);
        int r = rootfs_dir_is_empty(fd);
        if (r < 0)
                return quilt_error_set(err, r, "reading %s: %s", path, strerror(-r));
        if (r == 0)
                return quilt_error_set(err, -EEXIST, "%s already exists and is not empty", path);
        /* mkdir's mode went through the umask; the root is 0755 whatever
         * the monitor's umask, and the image does not change it. */
        if (fchmod(fd, 0755) < 0)
                return quilt_error_set(err, -errno, "chmod %s: %m", path);
        return 0;
}

static int prepare_extract(struct rootfs_state *s, struct quilt_container *c,
                           struct quilt_error *err)
{
        if (!strncmp(c->image, IMAGE_DIGEST_PREFIX, strlen(IMAGE_DIGEST_PREFIX)))
                return quilt_error_set(err, -EINVAL,
                                       "extract mode needs a tarball path, not the stored image %s "
                                       "(use store = overlay, or give the tarball's path)",
                                       c->image);
        int r = make_rootfs_dir(c->rootfs, err);
        if (r < 0)
                return r;
        /* On failure the partial tree stays: cleanup removes it. */
        return quilt_rootfs_extract_with_host(c->image, c->rootfs, s->host, err);
}

/* c->dir/NAME, or NULL when out of memory. */
static char *container_path(const struct quilt_container *c, const char *name)
{
        char *p = NULL;
        return asprintf(&p, "%s/%s", c->dir, name) < 0 ? NULL : p;
}

/* c->dir/image-digest = "sha256:HEX\n", replaced atomically: the daemon
 * counts the containers that use an image from it. */
static int write_image_digest(const struct quilt_container *c, const char *hex,
                              struct quilt_error *err)
{
        _cleanup_free_ char *path = container_path(c, "image-digest");
        _cleanup_free_ char *tmp = container_path(c, ".image-digest.tmp");
        if (!path || !tmp)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
                                      0644);
        if (fd < 0)
                return quilt_error_set(err, -errno, "creating %s: %m", tmp);
        if (dprintf(fd, "sha256:%s\n", hex) < 0 || rename(tmp, path) < 0) {
                int r = quilt_error_set(err, -errno, "writing %s: %m", path);
                (void)unlink(tmp);
                return r;
        }
        return 0;
}

static char *store_path(const struct rootfs_state *s, const struct quilt_container *c)
{
        if (s->cfg.image_store)
                return strdup(s->cfg.image_store);
        return image_store_default_path(c->dir);
}

static int make_private_dir(const char *path, struct quilt_error *err)
{
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return quilt_error_set(err, -errno, "mkdir %s: %m", path);
        return 0;
}

/* Under a user namespace (c->uid_range and c->gid_range, from the userns
 * plugin before us): the overlay over the image's layer idmapped through
 * the container's mapping, so the image's files are the container's
 * root's as they are, with no copy-up, and the store keeps its owners.
 * The upper dir's root becomes the image root's mode and mapped owners:
 * what the container makes at the top is its own.  (An idmapped upper
 * layer would make the overlay read-only, and the overlay itself takes
 * no idmapped mount.)  Returns 1 when mounted, 0 when the kernel refuses
 * an idmapped layer (the caller mounts a plain overlay and the userns
 * plugin matches the owners its own way), or a negative errno. */
static int mount_overlay_idmapped(struct rootfs_state *s, struct quilt_container *c,
                                  const char *lower, const char *upper, const char *work,
                                  struct quilt_error *err)
{
        struct quilt_error why = { 0 };
        _cleanup_close_ int userns_fd = rootfs_idmap_userns(&c->uid_range, &c->gid_range, &why);
        _cleanup_close_ int tree = userns_fd < 0 ? userns_fd
                                                 : rootfs_idmap_tree(lower, userns_fd, &why);
        int r = tree;
        if (tree >= 0) {
                r = rootfs_idmap_upper_root(upper, tree, err);
                if (r < 0)
                        return r;
                r = rootfs_overlay_mount_fd(tree, upper, work, c->rootfs, &why);
        }
        if (r < 0 && !rootfs_idmap_unsupported(r)) {
                *err = why;
                return r;
        }
        const char *id = c->id ? c->id : "?";
        if (r < 0) {
                log_debug(s, "%s: %s; a plain overlay (the userns plugin matches the owners)", id,
                          why.message);
                return 0;
        }
        log_debug(s, "%s: overlay over an idmapped lower layer (container root is host uid %u, "
                     "gid %u)", id, c->uid_range.host_start, c->gid_range.host_start);
        s->ids_mapped = true;
        c->rootfs_ids_mapped = 1;
        return 1;
}

/* The image from the store (unpacked there once), an overlay on c->rootfs
 * with upper and work dirs in c->dir.  Mounted here in the monitor, on the
 * host's mount namespace: the container's namespace gets a copy at clone,
 * before the ns plugin mounts /proc and /dev under it. */
static int prepare_overlay(struct rootfs_state *s, struct quilt_container *c,
                           struct quilt_error *err)
{
        if (!c->dir || c->dir[0] == '\0')
                return quilt_error_set(err, -EINVAL, "no container directory");
        _cleanup_free_ char *store = store_path(s, c);
        if (!store)
                return quilt_error_set(err, -errno, "no image store for %s: %m", c->dir);
        _cleanup_free_ char *store_abs = NULL;
        if (store[0] != '/') {
                /* A relative state dir: make it absolute for the mount options. */
                _cleanup_free_ char *cwd = getcwd(NULL, 0);
                if (!cwd || asprintf(&store_abs, "%s/%s", cwd, store) < 0)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                free(store);
                store = TAKE_PTR(store_abs);
        }
        struct image_store_entry e = { 0 };
        /* "sha256:HEX": an image imported before (quiltd resolved a tag or
         * a prefix to it); else a tarball, unpacked here on first use. */
        int r = !strncmp(c->image, IMAGE_DIGEST_PREFIX, strlen(IMAGE_DIGEST_PREFIX))
                        ? image_store_find(store, c->image + strlen(IMAGE_DIGEST_PREFIX), s->host,
                                           &e, err)
                        : image_store_get(store, c->image, s->host, &e, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *lower = realpath(e.rootfs, NULL);
        char hex[QUILT_SHA256_HEX_SIZE];
        memcpy(hex, e.hex, sizeof(hex));
        bool unpacked = e.unpacked;
        image_store_entry_clear(&e);
        if (!lower)
                return quilt_error_set(err, -errno, "%s/sha256/%s/rootfs: %m", store, hex);

        r = write_image_digest(c, hex, err);
        if (r < 0)
                return r;

        _cleanup_free_ char *upper = container_path(c, "upper");
        _cleanup_free_ char *work = container_path(c, "work");
        if (!upper || !work)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        if ((r = make_private_dir(upper, err)) < 0 || (r = make_private_dir(work, err)) < 0 ||
            (r = make_rootfs_dir(c->rootfs, err)) < 0)
                return r;
        r = rootfs_idmap_wanted(c) ? mount_overlay_idmapped(s, c, lower, upper, work, err) : 0;
        if (r == 0)
                r = rootfs_overlay_mount(lower, upper, work, c->rootfs, err);
        if (r < 0)
                return r;
        if (QUILT_HOST_HAS(s->host, log))
                s->host->log(QUILT_LOG_DEBUG, ROOTFS_PLUGIN_NAME,
                             "%s: overlay over sha256:%s (%s)", c->id ? c->id : "?", hex,
                             unpacked ? "unpacked now" : "cached");
        return 0;
}

static int rootfs_prepare_rootfs(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct rootfs_state *s = state;
        if (!c->rootfs || c->rootfs[0] == '\0')
                return quilt_error_set(err, -EINVAL, "no rootfs path");
        s->ids_mapped = false;
        if (QUILT_CONTAINER_HAS(c, rootfs_ids_mapped))
                c->rootfs_ids_mapped = 0;
        if (!s->overlay)
                return prepare_extract(s, c, err);
        return prepare_overlay(s, c, err);
}

/* Over an idmapped lower layer, what the monitor made through the
 * overlay as host root after prepare_rootfs (the working directory, the
 * mounts plugin's mount points, a read-only root's /tmp) sits in the
 * upper dir as host 0, nobody to the container.  Those few entries get
 * the ids they map to, before the container process goes on. */
static int rootfs_post_start(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct rootfs_state *s = state;
        if (!s->ids_mapped || !c->dir || c->dir[0] == '\0')
                return 0;
        _cleanup_free_ char *upper = container_path(c, "upper");
        if (!upper)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        size_t changed = 0;
        int r = rootfs_idmap_fix_upper(upper, s->root ? s->root : c->rootfs, c, &changed, err);
        if (r < 0)
                return r;
        log_debug(s, "%s: %zu entries made by the monitor given to the container's root",
                  c->id ? c->id : "?", changed);
        return 0;
}

/* The config's readonly = true, or the request's read_only_rootfs. */
static bool want_readonly(const struct rootfs_state *s, const struct quilt_container *c)
{
        return s->cfg.readonly || (QUILT_CONTAINER_HAS(c, read_only_rootfs) && c->read_only_rootfs);
}

/* Is what `fd` refers to the root of a mount (a request mount, say)? */
static int is_mount_root(int fd, int root_fd, bool *ret)
{
        struct statx sx, root;
        if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_MNT_ID, &sx) < 0)
                return -errno;
        if (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) {
                *ret = sx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
                return 0;
        }
        if (statx(root_fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_MNT_ID, &root) < 0)
                return -errno;
        *ret = sx.stx_mnt_id != root.stx_mnt_id;
        return 0;
}

/* Does a request mount (c->mounts, made after us by the mounts plugin)
 * go to /tmp, the directory `tmp_fd` is?  Compared after resolving its
 * target inside the root, so "/tmp/", or a path through a symlink, is /tmp
 * too. */
static bool request_mounts_tmp(const struct rootfs_state *s, const struct quilt_container *c,
                               int root_fd, const struct stat *tmp)
{
        if (!QUILT_CONTAINER_HAS(c, n_mounts))
                return false;
        for (size_t i = 0; i < c->n_mounts; i++) {
                if (!c->mounts[i] || !c->mounts[i]->target)
                        continue;
                struct quilt_error ignored = { 0 };
                _cleanup_close_ int fd = s->host->open_in_root(root_fd, c->mounts[i]->target, 0,
                                                               &ignored);
                struct stat st;
                if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == tmp->st_dev &&
                    st.st_ino == tmp->st_ino)
                        return true;
        }
        return false;
}

/* A read-only root still needs a writable /tmp: a fresh tmpfs (1777,
 * nosuid, nodev) on the root's /tmp, resolved (and made if missing)
 * inside the root, unless /tmp is a mount already or a request mount
 * will be (no tmpfs hidden under another one).  Mounted here, in the
 * monitor's own mount namespace and before the mounts plugin's pre_clone:
 * request mounts below /tmp then land on it, one at /tmp covers it, and
 * the root's recursive bind in in_child carries it all into the
 * container (a tmpfs mounted in the child would hide request mounts
 * below /tmp). */
static int mount_tmp(const struct rootfs_state *s, const struct quilt_container *c,
                     const char *root, struct quilt_error *err)
{
        if (!QUILT_HOST_HAS(s->host, open_in_root))
                return quilt_error_set(err, -EINVAL,
                                       "a read-only root needs the host's open_in_root");
        _cleanup_close_ int root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                return quilt_error_set(err, -errno, "open %s: %m", root);
        _cleanup_close_ int dir_fd = s->host->open_in_root(root_fd, "/tmp", 01777, err);
        if (dir_fd < 0)
                return dir_fd;
        struct stat st, rst;
        if (fstat(dir_fd, &st) < 0 || fstat(root_fd, &rst) < 0)
                return quilt_error_set(err, -errno, "/tmp: %m");
        if (!S_ISDIR(st.st_mode))
                return quilt_error_set(err, -ENOTDIR, "/tmp is not a directory in the image");
        if (st.st_dev == rst.st_dev && st.st_ino == rst.st_ino)
                return quilt_error_set(err, -EINVAL, "/tmp resolves to the root in the image");
        bool mounted = false;
        int r = is_mount_root(dir_fd, root_fd, &mounted);
        if (r < 0)
                return quilt_error_set(err, r, "/tmp: %s", strerror(-r));
        if (mounted || request_mounts_tmp(s, c, root_fd, &st))
                return 0;
        _cleanup_close_ int mnt_fd = -1;
        struct quilt_error why = { 0 };
        r = quilt_tmpfs_open(0, 01777, 0, &mnt_fd, &why);
        if (r < 0)
                return quilt_error_set(err, r, "/tmp: %s", why.message);
        if (move_mount(mnt_fd, "", dir_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return quilt_error_set(err, -errno, "/tmp: move_mount: %m");
        return 0;
}

static int rootfs_pre_clone(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct rootfs_state *s = state;
        bool mount_ns = c->clone_flags & CLONE_NEWNS;
        if (s->cfg.mode == ROOTFS_PIVOT_ROOT && !mount_ns)
                return quilt_error_set(err, -EINVAL,
                                       "pivot_root needs a mount namespace: enable the ns plugin's "
                                       "mount namespace or use mode = chroot");
        if (want_readonly(s, c) && !mount_ns)
                return quilt_error_set(err, -EINVAL,
                                       "a read-only root (readonly = true or read_only_rootfs) "
                                       "needs a mount namespace: enable the ns plugin's mount "
                                       "namespace");
        /* in_child may not allocate: resolve the path here, once, so the
         * child neither depends on its working directory nor on symlinks
         * in the state directory's path staying as they are. */
        free(s->root);
        s->root = realpath(c->rootfs, NULL);
        if (!s->root)
                return quilt_error_set(err, -errno, "%s: %m", c->rootfs);
        struct stat st;
        if (stat(s->root, &st) < 0)
                return quilt_error_set(err, -errno, "%s: %m", s->root);
        if (!S_ISDIR(st.st_mode))
                return quilt_error_set(err, -ENOTDIR, "%s is not a directory", s->root);
        return want_readonly(s, c) ? mount_tmp(s, c, s->root, err) : 0;
}

/* The mount flags `path` has now that a bind remount must repeat: in a
 * user namespace the kernel refuses to clear nosuid, nodev, noexec or the
 * atime mode of a mount it locked. */
static int locked_flags(const char *path, unsigned long *ret, struct quilt_error *err)
{
        struct statfs sfs;
        if (statfs(path, &sfs) < 0)
                return quilt_error_set(err, -errno, "statfs %s: %m", path);
        unsigned long f = 0;
        if (sfs.f_flags & ST_NOSUID)
                f |= MS_NOSUID;
        if (sfs.f_flags & ST_NODEV)
                f |= MS_NODEV;
        if (sfs.f_flags & ST_NOEXEC)
                f |= MS_NOEXEC;
        if (sfs.f_flags & ST_NOATIME)
                f |= MS_NOATIME;
        if (sfs.f_flags & ST_NODIRATIME)
                f |= MS_NODIRATIME;
        if (sfs.f_flags & ST_RELATIME)
                f |= MS_RELATIME;
        if (!(sfs.f_flags & (ST_NOATIME | ST_RELATIME)))
                f |= MS_STRICTATIME;
        *ret = f;
        return 0;
}

/* Only the root mount turns read-only: /proc, /dev and the other
 * submounts are mounts of their own and keep their flags. */
static int remount_readonly(const char *path, struct quilt_error *err)
{
        unsigned long flags = 0;
        int r = locked_flags(path, &flags, err);
        if (r < 0)
                return r;
        if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, NULL) < 0)
                return quilt_error_set(err, -errno, "remounting %s read-only: %m", path);
        return 0;
}

/* Make c->rootfs a mount point of its own, keeping the submounts (/proc,
 * /dev, ...) the ns plugin made below it. */
static int bind_rootfs(const char *rootfs, struct quilt_error *err)
{
        /* The ns plugin made propagation private already.  Should it not
         * have, rslave still keeps everything below from reaching the
         * host's mount table (and leaves private mounts private). */
        if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return quilt_error_set(err, -errno, "making / a slave mount: %m");
        if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return quilt_error_set(err, -errno, "bind-mounting %s: %m", rootfs);
        return 0;
}

/* pivot_root(".", "."), as runc does: the old root ends up stacked on
 * top of the new one, from where it is detached, so no directory for it
 * is needed in the image and nothing of the host stays reachable. */
static int switch_pivot_root(const char *rootfs, struct quilt_error *err)
{
        int r = bind_rootfs(rootfs, err);
        if (r < 0)
                return r;

        _cleanup_close_ int old_root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (old_root < 0)
                return quilt_error_set(err, -errno, "open /: %m");
        _cleanup_close_ int new_root = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (new_root < 0)
                return quilt_error_set(err, -errno, "open %s: %m", rootfs);
        if (fchdir(new_root) < 0)
                return quilt_error_set(err, -errno, "chdir %s: %m", rootfs);
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return quilt_error_set(err, -errno, "pivot_root %s: %m", rootfs);
        /* The kernel does not promise where "." points after pivot_root:
         * go to the old root explicitly before detaching it. */
        if (fchdir(old_root) < 0)
                return quilt_error_set(err, -errno, "chdir to the old root: %m");
        if (umount2(".", MNT_DETACH) < 0)
                return quilt_error_set(err, -errno, "detaching the old root: %m");
        if (chdir("/") < 0)
                return quilt_error_set(err, -errno, "chdir /: %m");
        return 0;
}

static int switch_chroot(const char *rootfs, bool readonly, struct quilt_error *err)
{
        if (readonly) {
                /* pre_clone made sure there is a mount namespace.  The
                 * root becomes a mount of its own, made read-only once
                 * we are in it (rootfs_in_child). */
                int r = bind_rootfs(rootfs, err);
                if (r < 0)
                        return r;
        }
        if (chdir(rootfs) < 0)
                return quilt_error_set(err, -errno, "chdir %s: %m", rootfs);
        if (chroot(".") < 0)
                return quilt_error_set(err, -errno, "chroot %s: %m", rootfs);
        if (chdir("/") < 0)
                return quilt_error_set(err, -errno, "chdir /: %m");
        return 0;
}

/* In the container process: no allocation, no stdio, no logging. */
static int rootfs_in_child(void *state, struct quilt_container *c, struct quilt_error *err)
{
        const struct rootfs_state *s = state;
        bool mount_ns = c->clone_flags & CLONE_NEWNS;
        bool readonly = want_readonly(s, c);

        /* pre_clone checked this already; the check is repeated because
         * without a mount namespace the mounts below would be the host's. */
        if ((s->cfg.mode == ROOTFS_PIVOT_ROOT || readonly) && !mount_ns)
                return quilt_error_set(err, -EINVAL, "no mount namespace to switch the root in");
        if (!s->root)
                return quilt_error_set(err, -EINVAL, "in_child without pre_clone");

        int r = s->cfg.mode == ROOTFS_CHROOT ? switch_chroot(s->root, readonly, err)
                                             : switch_pivot_root(s->root, err);
        if (r < 0)
                return r;
        /* "/" is the root mount now (pivot_root, or the bind under a
         * chroot); /tmp is a tmpfs of its own already (mount_tmp). */
        return readonly ? remount_readonly("/", err) : 0;
}

static int rootfs_cleanup(void *state, struct quilt_container *c, struct quilt_error *err)
{
        struct rootfs_state *s = state;
        if (!c->rootfs || c->rootfs[0] == '\0')
                return 0;
        /* Whatever mode prepared it (the config may have changed since):
         * an overlay root is a mount of its own on c->rootfs; an extracted
         * one is not (EINVAL, ignored). */
        rootfs_overlay_umount(c->rootfs, s->host);
        /* Nothing else should be mounted here: the container's mounts live
         * in its own namespace.  Be defensive all the same, since
         * remove_tree refuses to cross a mount point. */
        rootfs_umount_below(c->rootfs, s->host);
        int r = s->host->remove_tree(c->rootfs, err);
        if (r < 0 || !c->dir || c->dir[0] == '\0')
                return r;
        static const char *const overlay_dirs[] = { "upper", "work" };
        for (size_t i = 0; i < ELEMENTSOF(overlay_dirs); i++) {
                _cleanup_free_ char *p = container_path(c, overlay_dirs[i]);
                if (!p)
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                r = s->host->remove_tree(p, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_plugin),
        .name = ROOTFS_PLUGIN_NAME,
        .description = "root tree from an image tarball (an overlay over the image store, or "
                       "extracted); pivot_root or chroot into it",
        .init = rootfs_init,
        .fini = rootfs_fini,
        .prepare_rootfs = rootfs_prepare_rootfs,
        .pre_clone = rootfs_pre_clone,
        .post_start = rootfs_post_start,
        .in_child = rootfs_in_child,
        .cleanup = rootfs_cleanup,
        .features = QUILT_FEATURE_READ_ONLY_ROOTFS,
};
