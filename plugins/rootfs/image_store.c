/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "image_store.h"
#include "rootfs.h"
#include "tar_extract.h"

#define STORE_DIR_MODE 0700

char *image_store_default_path(const char *container_dir)
{
        if (!container_dir || container_dir[0] == '\0') {
                errno = EINVAL;
                return NULL;
        }
        _cleanup_free_ char *d = strdup(container_dir);
        if (!d)
                return NULL;
        /* Drop trailing slashes, then two components. */
        for (int i = 0; i < 2; i++) {
                size_t n = strlen(d);
                while (n > 1 && d[n - 1] == '/')
                        d[--n] = '\0';
                char *slash = strrchr(d, '/');
                if (!slash || slash == d) {
                        errno = EINVAL;     /* no grandparent below / */
                        return NULL;
                }
                *slash = '\0';
        }
        char *ret = NULL;
        if (asprintf(&ret, "%s/images", d) < 0)
                return NULL;
        return ret;
}

/* mkdir -p for an absolute path; existing components are fine. */
static int mkdir_parents(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char c = *s;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = c;
                if (c == '\0')
                        break;
        }
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

#define store_log(host, level, ...)                                                    \
        do {                                                                           \
                if (QUILT_HOST_HAS((host), log))                                      \
                        (host)->log((level), ROOTFS_PLUGIN_NAME, __VA_ARGS__);         \
        } while (0)

/* Bytes of the unpacked tree: the apparent size of everything but
 * directories.  nftw has no user pointer: a static sum will do in the
 * single-threaded monitor. */
static uint64_t walk_bytes;

static int walk_add(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        (void)path;
        (void)ftw;
        if (type == FTW_F || type == FTW_SL)
                walk_bytes += (uint64_t)st->st_size;
        return 0;
}

static uint64_t tree_bytes(const char *root)
{
        walk_bytes = 0;
        if (nftw(root, walk_add, 32, FTW_PHYS | FTW_MOUNT) < 0)
                return 0;
        return walk_bytes;
}

static int write_meta(const char *dir, const char *hex, const char *source, uint64_t size,
                      uint64_t unpacked, struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/meta", dir) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        /* key=value, one a line: a newline in the source path would end
         * its line early, so it is shown as '?'. */
        _cleanup_free_ char *src = strdup(source);
        if (!src)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        for (char *p = src; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = '?';
        time_t now = time(NULL);
        struct tm tm;
        char created[64] = "";
        if (gmtime_r(&now, &tm))
                strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &tm);

        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return quilt_error_set(err, -errno, "creating %s: %m", path);
        if (dprintf(fd,
                    "digest=sha256:%s\nsource=%s\nsize=%" PRIu64 "\nunpacked_bytes=%" PRIu64
                    "\ncreated=%s\n",
                    hex, src, size, unpacked, created) < 0)
                return quilt_error_set(err, -EIO, "writing %s: %m", path);
        return 0;
}

/* Remove HEX.tmp-* left by an unpack that died half-way.  The caller holds
 * HEX.lock, so none of them is in progress. */
static void remove_stale_tmp(const char *sha_dir, const char *hex, const struct quilt_host *host)
{
        DIR *d = opendir(sha_dir);
        if (!d)
                return;
        char prefix[QUILT_SHA256_HEX_SIZE + 8];
        snprintf(prefix, sizeof(prefix), "%s.tmp-", hex);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
                        continue;
                _cleanup_free_ char *p = NULL;
                if (asprintf(&p, "%s/%s", sha_dir, de->d_name) < 0)
                        break;
                store_log(host, QUILT_LOG_WARNING, "removing %s, left by an interrupted unpack", p);
                struct quilt_error e = { 0 };
                if (host->remove_tree(p, &e) < 0)
                        store_log(host, QUILT_LOG_WARNING, "%s", e.message);
        }
        closedir(d);
}

/* Fill a fresh SHA_DIR/HEX.tmp-XXXXXX (fill() writes its rootfs/ and any
 * other file) and rename it to `final`.  Nothing stays behind on failure. */
static int unpack(const char *sha_dir, const char *final, const char *hex, const char *source,
                  uint64_t size, image_store_fill_fn fill, void *data,
                  const struct quilt_host *host, struct quilt_error *err)
{
        _cleanup_free_ char *tmp = NULL, *root = NULL;
        _cleanup_close_ int tmp_fd = -1, dir_fd = -1;
        if (asprintf(&tmp, "%s/%s.tmp-XXXXXX", sha_dir, hex) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        if (!mkdtemp(tmp))
                return quilt_error_set(err, -errno, "creating a directory in %s: %m", sha_dir);
        int r;
        if (asprintf(&root, "%s/rootfs", tmp) < 0) {
                r = quilt_error_set(err, -ENOMEM, "out of memory");
                goto fail;
        }
        if (mkdir(root, 0755) < 0 || chmod(root, 0755) < 0) {
                r = quilt_error_set(err, -errno, "mkdir %s: %m", root);
                goto fail;
        }
        r = fill(tmp, root, data, err);
        if (r < 0)
                goto fail;
        r = write_meta(tmp, hex, source, size, tree_bytes(root), err);
        if (r < 0)
                goto fail;
        /* The entry must be complete on disk before its name appears:
         * firmware loses power. */
        tmp_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (tmp_fd < 0 || syncfs(tmp_fd) < 0) {
                r = quilt_error_set(err, -errno, "syncing %s: %m", tmp);
                goto fail;
        }
        if (rename(tmp, final) < 0) {
                r = quilt_error_set(err, -errno, "renaming %s to %s: %m", tmp, final);
                goto fail;
        }
        dir_fd = open(sha_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd >= 0)
                (void)fsync(dir_fd);
        return 0;

fail:;
        struct quilt_error e2 = { 0 };
        if (host->remove_tree(tmp, &e2) < 0)
                store_log(host, QUILT_LOG_WARNING, "removing %s: %s", tmp, e2.message);
        return r;
}

int image_store_prepare(const char *store, struct quilt_error *err)
{
        if (!store || store[0] != '/')
                return quilt_error_set(err, -EINVAL, "image store path '%s' is not absolute",
                                       store ? store : "");
        _cleanup_free_ char *sha_dir = NULL;
        if (asprintf(&sha_dir, "%s/sha256", store) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        int r = mkdir_parents(sha_dir, STORE_DIR_MODE);
        if (r < 0)
                return quilt_error_set(err, r, "creating %s: %s", sha_dir, strerror(-r));
        return 0;
}

int image_store_put(const char *store, const char *hex, const char *source, uint64_t size,
                    image_store_fill_fn fill, void *data, const struct quilt_host *host,
                    struct image_store_entry *ret, struct quilt_error *err)
{
        if (!QUILT_HOST_HAS(host, remove_tree))
                return quilt_error_set(err, -EINVAL, "image store: the host lacks remove_tree");
        if (!hex || !image_store_hex_is_valid(hex))
                return quilt_error_set(err, -EINVAL, "'%s' is not a sha256 digest", hex ? hex : "");
        int r = image_store_prepare(store, err);
        if (r < 0)
                return r;
        struct image_store_entry e = { .size = size };
        memcpy(e.hex, hex, sizeof(e.hex));
        _cleanup_free_ char *sha_dir = NULL, *lock = NULL;
        if (asprintf(&sha_dir, "%s/sha256", store) < 0 ||
            asprintf(&lock, "%s/%s.lock", sha_dir, e.hex) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");

        /* The lock file stays: unlinking it would let a waiter and a newcomer
         * lock two different inodes. */
        _cleanup_close_ int lock_fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (lock_fd < 0)
                return quilt_error_set(err, -errno, "opening %s: %m", lock);
        while (flock(lock_fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return quilt_error_set(err, -errno, "locking %s: %m", lock);

        if (asprintf(&e.dir, "%s/%s", sha_dir, e.hex) < 0 ||
            asprintf(&e.rootfs, "%s/rootfs", e.dir) < 0) {
                image_store_entry_clear(&e);
                return quilt_error_set(err, -ENOMEM, "out of memory");
        }
        struct stat st;
        if (lstat(e.rootfs, &st) == 0 && S_ISDIR(st.st_mode)) {
                *ret = e;                       /* a hit: the rename made it whole */
                return 0;
        }
        if (errno != ENOENT) {
                r = quilt_error_set(err, -errno, "%s: %m", e.rootfs);
                image_store_entry_clear(&e);
                return r;
        }
        remove_stale_tmp(sha_dir, e.hex, host);
        r = unpack(sha_dir, e.dir, e.hex, source, size, fill, data, host, err);
        if (r < 0) {
                image_store_entry_clear(&e);
                return r;
        }
        e.unpacked = true;
        store_log(host, QUILT_LOG_INFO, "unpacked %s into the image store as sha256:%s",
                  source, e.hex);
        *ret = e;
        return 0;                               /* the lock goes with lock_fd */
}

struct tarball_fill {
        const char *tarball;
        int fd;
        const struct quilt_host *host;
};

static int fill_tarball(const char *dir, const char *rootfs, void *data, struct quilt_error *err)
{
        (void)dir;
        struct tarball_fill *t = data;
        return quilt_rootfs_extract_fd(t->tarball, t->fd, rootfs, t->host, err);
}

int image_store_get(const char *store, const char *tarball, const struct quilt_host *host,
                    struct image_store_entry *ret, struct quilt_error *err)
{
        if (!QUILT_HOST_HAS(host, remove_tree))
                return quilt_error_set(err, -EINVAL, "image store: the host lacks remove_tree");
        if (!store || store[0] != '/')
                return quilt_error_set(err, -EINVAL, "image store path '%s' is not absolute",
                                       store ? store : "");
        if (!tarball || tarball[0] == '\0')
                return quilt_error_set(err, -EINVAL, "no image given");

        _cleanup_close_ int image_fd = open(tarball, O_RDONLY | O_NOCTTY | O_CLOEXEC);
        if (image_fd < 0)
                return quilt_error_set(err, -errno, "opening %s: %m", tarball);
        struct stat st;
        if (fstat(image_fd, &st) < 0)
                return quilt_error_set(err, -errno, "%s: %m", tarball);
        if (!S_ISREG(st.st_mode))
                return quilt_error_set(err, -EINVAL, "%s: not a regular file", tarball);

        struct image_store_entry e = { 0 };
        int r = quilt_sha256_fd(image_fd, e.hex, &e.size);
        if (r < 0)
                return quilt_error_set(err, r, "hashing %s: %s", tarball, strerror(-r));

        struct tarball_fill t = { .tarball = tarball, .fd = image_fd, .host = host };
        return image_store_put(store, e.hex, tarball, e.size, fill_tarball, &t, host, ret, err);
}

bool image_store_hex_is_valid(const char *s)
{
        size_t n = 0;
        for (; s[n]; n++)
                if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
                        return false;
        return n == QUILT_SHA256_HEX_SIZE - 1;
}

int image_store_find(const char *store, const char *hex, const struct quilt_host *host,
                     struct image_store_entry *ret, struct quilt_error *err)
{
        (void)host;
        if (!store || store[0] != '/')
                return quilt_error_set(err, -EINVAL, "image store path '%s' is not absolute",
                                       store ? store : "");
        if (!hex || !image_store_hex_is_valid(hex))
                return quilt_error_set(err, -EINVAL, "'%s' is not a sha256 digest", hex ? hex : "");
        _cleanup_free_ char *lock = NULL;
        if (asprintf(&lock, "%s/sha256/%s.lock", store, hex) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        /* No lock file: the image was never in this store. */
        _cleanup_close_ int lock_fd = open(lock, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        if (lock_fd < 0 && errno == ENOENT)
                return quilt_error_set(err, -ENOENT, "no image sha256:%s in the image store %s",
                                       hex, store);
        if (lock_fd < 0)
                return quilt_error_set(err, -errno, "opening %s: %m", lock);
        while (flock(lock_fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return quilt_error_set(err, -errno, "locking %s: %m", lock);
        struct image_store_entry e = { 0 };
        memcpy(e.hex, hex, sizeof(e.hex));
        if (asprintf(&e.dir, "%s/sha256/%s", store, hex) < 0 ||
            asprintf(&e.rootfs, "%s/rootfs", e.dir) < 0) {
                image_store_entry_clear(&e);
                return quilt_error_set(err, -ENOMEM, "out of memory");
        }
        struct stat st;
        int lr = lstat(e.rootfs, &st) < 0 ? -errno : S_ISDIR(st.st_mode) ? 0 : -ENOENT;
        if (lr < 0) {
                int r = lr == -ENOENT
                                ? quilt_error_set(err, -ENOENT,
                                                  "no image sha256:%s in the image store %s", hex,
                                                  store)
                                : quilt_error_set(err, lr, "%s: %s", e.rootfs, strerror(-lr));
                image_store_entry_clear(&e);
                return r;
        }
        *ret = e;
        return 0;
}

void image_store_entry_clear(struct image_store_entry *e)
{
        if (!e)
                return;
        free(e->dir);
        free(e->rootfs);
        e->dir = e->rootfs = NULL;
}
