/* SPDX-License-Identifier: MIT */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rootfs.h"
#include "tar_entry.h"
#include "tar_extract.h"

/*
 * What libarchive restores, and why:
 *  - SECURE_NODOTDOT, SECURE_SYMLINKS, SECURE_NOABSOLUTEPATHS: the same
 *    refusals as quilt_tar_entry_check(), plus "never write through a
 *    symlink already on disk" (lnk -> /tmp, then lnk/file).
 *  - PERM (setuid bits included: the image's business), OWNER, TIME.
 *    Owners are the numeric ids in the archive: we never install a
 *    name lookup, which would map through the host's /etc/passwd.
 *  - XATTR, filtered by keep_xattr() below.
 *  - SPARSE: holes stay holes.
 * Not FFLAGS: an immutable or append-only file would make the tree
 * impossible to remove at cleanup.  Not ACL: images do not carry them.
 */
#define EXTRACT_FLAGS                                                                  \
        (ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |          \
         ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_PERM |              \
         ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |       \
         ARCHIVE_EXTRACT_SPARSE)

#define READ_BLOCK_SIZE (64 * 1024)

struct extract {
        const char *image;
        const struct quilt_host *host;
        int root_fd;                    /* dest, also our cwd while extracting */
        struct archive *in;
        struct archive *out;
        bool layer;                     /* an image layer: whiteouts were applied, skip them */
};

#define extract_log(x, level, ...)                                                     \
        do {                                                                           \
                if (QUILT_HOST_HAS((x)->host, log))                                   \
                        (x)->host->log((level), ROOTFS_PLUGIN_NAME, __VA_ARGS__);      \
        } while (0)

/* libarchive's error as ours.  Its errno may be 0 or ARCHIVE_ERRNO_MISC
 * (-1), which are no errno: those become -EIO. */
static int archive_failure(const struct extract *x, struct archive *a, const char *entry,
                           struct quilt_error *err)
{
        int e = archive_errno(a);
        const char *msg = archive_error_string(a);
        if (!msg)
                msg = "unknown libarchive error";
        if (entry)
                return quilt_error_set(err, e > 0 ? -e : -EIO, "extracting %s: tar entry '%s': %s",
                                       x->image, entry, msg);
        return quilt_error_set(err, e > 0 ? -e : -EIO, "extracting %s: %s", x->image, msg);
}

/* Extended attributes an image may set: file capabilities (what setcap'd
 * binaries such as ping need) and the unprivileged user.* namespace.
 * trusted.* would reach overlayfs (trusted.overlay.*) should the tree
 * ever serve as a layer, and security.* labels are the host's policy. */
static bool keep_xattr(const char *name)
{
        return strcmp(name, "security.capability") == 0 || strncmp(name, "user.", 5) == 0;
}

struct xattr_copy {
        char *name;
        void *value;
        size_t size;
};

static void xattr_copies_free(struct xattr_copy *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].name);
                free(v[i].value);
        }
        free(v);
}

/* Drop the entry's xattrs keep_xattr() refuses.  libarchive has no
 * per-attribute filter, so copy the kept ones, clear, and add them back. */
static int filter_xattrs(const struct extract *x, struct archive_entry *e, const char *path)
{
        int n = archive_entry_xattr_reset(e);
        if (n <= 0)
                return 0;

        struct xattr_copy *kept = calloc((size_t)n, sizeof(*kept));
        if (!kept)
                return -ENOMEM;
        size_t n_kept = 0;
        bool dropped = false;
        const char *name;
        const void *value;
        size_t size;
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                if (!keep_xattr(name)) {
                        extract_log(x, QUILT_LOG_DEBUG, "%s: not restoring xattr %s", path, name);
                        dropped = true;
                        continue;
                }
                struct xattr_copy *k = &kept[n_kept];
                k->name = strdup(name);
                k->value = malloc(size ? size : 1);
                if (!k->name || !k->value) {
                        xattr_copies_free(kept, n_kept + 1);
                        return -ENOMEM;
                }
                memcpy(k->value, value, size);
                k->size = size;
                n_kept++;
        }
        if (dropped) {
                archive_entry_xattr_clear(e);
                for (size_t i = 0; i < n_kept; i++)
                        archive_entry_xattr_add_entry(e, kept[i].name, kept[i].value, kept[i].size);
        }
        xattr_copies_free(kept, n_kept);
        return 0;
}

/* Fail with -ELOOP when a directory on the way from the root to `rel`
 * (its last component excluded) is a symlink on disk.  libarchive's
 * SECURE_SYMLINKS refuses the same; this check does not depend on it.
 * A missing component is fine: libarchive creates it, as a directory. */
static int check_parents(int root_fd, const char *rel)
{
        _cleanup_free_ char *copy = strdup(rel);
        if (!copy)
                return -ENOMEM;
        size_t len = strlen(copy);
        while (len > 0 && copy[len - 1] == '/')
                copy[--len] = '\0';

        _cleanup_close_ int cur = -1;           /* -1: still at root_fd */
        char *p = copy;
        for (;;) {
                char *slash = strchr(p, '/');
                if (!slash)
                        return 0;               /* the entry itself is libarchive's */
                *slash = '\0';
                if (p[0] == '\0' || strcmp(p, ".") == 0) {
                        p = slash + 1;
                        continue;
                }
                int dir_fd = cur >= 0 ? cur : root_fd;
                struct stat st;
                if (fstatat(dir_fd, p, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return errno == ENOENT ? 0 : -errno;
                if (S_ISLNK(st.st_mode))
                        return -ELOOP;
                if (!S_ISDIR(st.st_mode))
                        return 0;               /* libarchive replaces it or fails */
                int next = openat(dir_fd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0)
                        return -errno;
                quilt_closep(&cur);
                cur = next;
                p = slash + 1;
        }
}

static int copy_data(struct extract *x, const char *path, struct quilt_error *err)
{
        for (;;) {
                const void *buf;
                size_t size;
                la_int64_t offset;
                int r = archive_read_data_block(x->in, &buf, &size, &offset);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r < ARCHIVE_WARN)
                        return archive_failure(x, x->in, path, err);
                if (r == ARCHIVE_WARN)
                        extract_log(x, QUILT_LOG_WARNING, "%s: %s: %s", x->image, path,
                                    archive_error_string(x->in));
                /* offset lets write_disk seek over holes of sparse files. */
                la_ssize_t w = archive_write_data_block(x->out, buf, size, offset);
                if (w < ARCHIVE_WARN)
                        return archive_failure(x, x->out, path, err);
        }
}

static int extract_entry(struct extract *x, struct archive_entry *e, struct quilt_error *err)
{
        const char *path = archive_entry_pathname(e);
        const char *link = archive_entry_hardlink(e);
        char reason[256];

        if (!path)
                return quilt_error_set(err, -EINVAL,
                                       "extracting %s: an entry's name cannot be decoded",
                                       x->image);
        int r = quilt_tar_entry_check(path, link, archive_entry_filetype(e), reason,
                                      sizeof(reason));
        if (r < 0)
                return quilt_error_set(err, r, "extracting %s: tar entry '%s': %s", x->image,
                                       path, reason);
        if (r == QUILT_TAR_ENTRY_SKIP) {
                extract_log(x, QUILT_LOG_DEBUG, "%s: skipping '%s': %s", x->image, path, reason);
                return 0;                       /* read_next_header skips its data */
        }

        if (x->layer) {
                char target[4096];
                int w = quilt_tar_whiteout(path, target, sizeof(target), reason, sizeof(reason));
                if (w < 0)
                        return quilt_error_set(err, w, "extracting %s: tar entry '%s': %s",
                                               x->image, path, reason);
                if (w != QUILT_WHITEOUT_NONE)
                        return 0;       /* applied before this layer's entries */
        }

        /* Copy first: the stripped name points into the entry's own buffer. */
        _cleanup_free_ char *name = strdup(quilt_tar_entry_strip(path));
        _cleanup_free_ char *target = link ? strdup(quilt_tar_entry_strip(link)) : NULL;
        if (!name || (link && !target))
                return quilt_error_set(err, -ENOMEM, "extracting %s: out of memory", x->image);
        archive_entry_copy_pathname(e, name);
        if (target)
                archive_entry_copy_hardlink(e, target);

        r = check_parents(x->root_fd, name);
        if (r == 0 && target)
                r = check_parents(x->root_fd, target);
        if (r == -ELOOP)
                return quilt_error_set(err, -EPERM,
                                       "extracting %s: tar entry '%s': path goes through a symlink",
                                       x->image, path);
        if (r < 0)
                return quilt_error_set(err, r, "extracting %s: tar entry '%s': %s", x->image, path,
                                       strerror(-r));

        r = filter_xattrs(x, e, name);
        if (r < 0)
                return quilt_error_set(err, r, "extracting %s: out of memory", x->image);

        r = archive_write_header(x->out, e);
        if (r < ARCHIVE_WARN)
                return archive_failure(x, x->out, path, err);
        if (r == ARCHIVE_WARN)
                extract_log(x, QUILT_LOG_WARNING, "%s: %s: %s", x->image, path,
                            archive_error_string(x->out));
        if (archive_entry_size(e) > 0) {
                r = copy_data(x, path, err);
                if (r < 0)
                        return r;
        }
        r = archive_write_finish_entry(x->out);
        if (r < ARCHIVE_WARN)
                return archive_failure(x, x->out, path, err);
        if (r == ARCHIVE_WARN)
                extract_log(x, QUILT_LOG_WARNING, "%s: %s: %s", x->image, path,
                            archive_error_string(x->out));
        return 0;
}

static int extract_all(struct extract *x, struct quilt_error *err)
{
        for (;;) {
                struct archive_entry *e;
                int r = archive_read_next_header(x->in, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return archive_failure(x, x->in, NULL, err);
                if (r == ARCHIVE_WARN)
                        extract_log(x, QUILT_LOG_WARNING, "%s: %s", x->image,
                                    archive_error_string(x->in));
                r = extract_entry(x, e, err);
                if (r < 0)
                        return r;
        }
        /* Directory permissions and times are applied last, here. */
        if (archive_write_close(x->out) < ARCHIVE_WARN)
                return archive_failure(x, x->out, NULL, err);
        return 0;
}

/* Create the two archive handles, extract, and free them.  Runs with dest
 * as the working directory throughout: archive_write_free() applies the
 * deferred directory metadata through cwd-relative paths, also after a
 * failure, so the handles must not outlive our stay in dest. */
static int extract_fd(const char *image, int image_fd, int root_fd, const struct quilt_host *host,
                      bool layer, struct quilt_error *err)
{
        struct extract x = {
                .image = image,
                .host = host,
                .root_fd = root_fd,
                .layer = layer,
                .in = archive_read_new(),
                .out = archive_write_disk_new(),
        };
        int r;
        if (!x.in || !x.out) {
                r = quilt_error_set(err, -ENOMEM, "extracting %s: out of memory", image);
                goto out;
        }
        /* Any compression, but only the tar formats: an image is a tarball,
         * and each of libarchive's other readers (zip, rar, iso9660, ...)
         * would only be more parser exposed to untrusted input. */
        archive_read_support_filter_all(x.in);
        archive_read_support_format_tar(x.in);
        archive_write_disk_set_options(x.out, EXTRACT_FLAGS);
        if (archive_read_open_fd(x.in, image_fd, READ_BLOCK_SIZE) != ARCHIVE_OK) {
                r = archive_failure(&x, x.in, NULL, err);
                goto out;
        }
        r = extract_all(&x, err);
out:
        archive_read_free(x.in);
        archive_write_free(x.out);
        return r;
}

static int extract_fd_mode(const char *image, int image_fd, const char *dest,
                           const struct quilt_host *host, bool layer, struct quilt_error *err);

/* ---- image layers: whiteouts ---- */

static int remove_at(int dir_fd, const char *name, int depth);

/* Remove everything in the directory `dir_fd`, never following a link. */
static int remove_children(int dir_fd, int depth)
{
        if (depth > 512)
                return -ELOOP;
        int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        DIR *d = fdopendir(fd);
        if (!d) {
                int e = -errno;
                close(fd);
                return e;
        }
        int r = 0;
        struct dirent *de;
        while (r == 0 && (de = readdir(d))) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                        continue;
                r = remove_at(dir_fd, de->d_name, depth + 1);
        }
        closedir(d);
        return r;
}

static int remove_at(int dir_fd, const char *name, int depth)
{
        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int fd = openat(dir_fd, name,
                                                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                int r = remove_children(fd, depth);
                if (r < 0)
                        return r;
                return unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 ? -errno : 0;
        }
        return unlinkat(dir_fd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
}

/* Open the directory `rel` below root_fd, component by component, never
 * through a symlink (-ELOOP).  -ENOENT when it is not there. */
static int open_dir_beneath(int root_fd, const char *rel)
{
        _cleanup_free_ char *copy = strdup(rel);
        if (!copy)
                return -ENOMEM;
        int cur = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cur < 0)
                return -errno;
        char *save = NULL;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (!strcmp(c, "."))
                        continue;
                struct stat st;
                int r = 0;
                if (fstatat(cur, c, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        r = -errno;
                else if (S_ISLNK(st.st_mode))
                        r = -ELOOP;
                else if (!S_ISDIR(st.st_mode))
                        r = -ENOENT;    /* nothing below a file to delete */
                int next = r < 0 ? -1 : openat(cur, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (r == 0 && next < 0)
                        r = -errno;
                close(cur);
                if (r < 0)
                        return r;
                cur = next;
        }
        return cur;
}

static int apply_whiteout(struct extract *x, const char *path, int kind, const char *target,
                          struct quilt_error *err)
{
        _cleanup_free_ char *dir = strdup(target);
        if (!dir)
                return quilt_error_set(err, -ENOMEM, "extracting %s: out of memory", x->image);
        const char *name = NULL;
        if (kind == QUILT_WHITEOUT_FILE) {
                char *slash = strrchr(dir, '/');
                if (slash) {
                        *slash = '\0';
                        name = slash + 1;
                } else {
                        name = target;
                        dir[0] = '\0';
                }
        }
        int fd = open_dir_beneath(x->root_fd, dir);
        if (fd == -ENOENT)
                return 0;               /* nothing below to delete */
        int r = fd;
        if (fd >= 0) {
                r = kind == QUILT_WHITEOUT_FILE ? remove_at(fd, name, 0) : remove_children(fd, 0);
                close(fd);
        }
        if (r == -ELOOP)
                return quilt_error_set(err, -EPERM,
                                       "extracting %s: tar entry '%s': whiteout goes through a symlink",
                                       x->image, path);
        if (r < 0)
                return quilt_error_set(err, r, "extracting %s: tar entry '%s': applying the whiteout: %s",
                                       x->image, path, strerror(-r));
        extract_log(x, QUILT_LOG_DEBUG, "%s: whiteout '%s' applied", x->image, path);
        return 0;
}

/* The first pass over a layer: every whiteout deletes from the layers
 * below before any entry of this layer is written, so the order of the
 * entries within the layer does not matter. */
static int whiteout_pass(struct extract *x, int image_fd, struct quilt_error *err)
{
        struct archive *in = archive_read_new();
        if (!in)
                return quilt_error_set(err, -ENOMEM, "extracting %s: out of memory", x->image);
        archive_read_support_filter_all(in);
        archive_read_support_format_tar(in);
        int r = 0;
        if (archive_read_open_fd(in, image_fd, READ_BLOCK_SIZE) != ARCHIVE_OK) {
                r = archive_failure(x, in, NULL, err);
                goto out;
        }
        for (;;) {
                struct archive_entry *e;
                int a = archive_read_next_header(in, &e);
                if (a == ARCHIVE_EOF)
                        break;
                if (a < ARCHIVE_WARN) {
                        r = archive_failure(x, in, NULL, err);
                        break;
                }
                const char *path = archive_entry_pathname(e);
                if (!path) {
                        r = quilt_error_set(err, -EINVAL,
                                            "extracting %s: an entry's name cannot be decoded", x->image);
                        break;
                }
                char reason[256], target[4096];
                r = quilt_tar_entry_check(path, archive_entry_hardlink(e), archive_entry_filetype(e),
                                          reason, sizeof(reason));
                if (r >= 0) {
                        r = quilt_tar_whiteout(path, target, sizeof(target), reason, sizeof(reason));
                        if (r == QUILT_WHITEOUT_FILE || r == QUILT_WHITEOUT_OPAQUE) {
                                r = apply_whiteout(x, path, r, target, err);
                                if (r < 0)
                                        break;
                                continue;
                        }
                }
                if (r < 0) {
                        r = quilt_error_set(err, r, "extracting %s: tar entry '%s': %s", x->image,
                                            path, reason);
                        break;
                }
                r = 0;
        }
out:
        archive_read_free(in);
        return r;
}

int quilt_rootfs_extract_layer_fd(const char *image, int image_fd, const char *dest,
                                  const struct quilt_host *host, struct quilt_error *err)
{
        if (!image || image[0] == '\0')
                image = "(layer)";
        if (lseek(image_fd, 0, SEEK_SET) < 0)
                return quilt_error_set(err, -errno, "extracting %s: seek: %m", image);
        _cleanup_close_ int root_fd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0)
                return quilt_error_set(err, -errno, "extracting %s: opening %s: %m", image, dest);
        struct extract x = { .image = image, .host = host, .root_fd = root_fd, .layer = true };
        int r = whiteout_pass(&x, image_fd, err);
        if (r < 0)
                return r;
        return extract_fd_mode(image, image_fd, dest, host, true, err);
}

int quilt_rootfs_extract_with_host(const char *image, const char *dest,
                                   const struct quilt_host *host, struct quilt_error *err)
{
        if (!image || image[0] == '\0')
                return quilt_error_set(err, -EINVAL, "no image given");
        if (!dest || dest[0] == '\0')
                return quilt_error_set(err, -EINVAL, "extracting %s: no destination", image);

        _cleanup_close_ int image_fd = open(image, O_RDONLY | O_NOCTTY | O_CLOEXEC);
        if (image_fd < 0)
                return quilt_error_set(err, -errno, "extracting %s: %m", image);
        return quilt_rootfs_extract_fd(image, image_fd, dest, host, err);
}

int quilt_rootfs_extract_fd(const char *image, int image_fd, const char *dest,
                            const struct quilt_host *host, struct quilt_error *err)
{
        return extract_fd_mode(image, image_fd, dest, host, false, err);
}

static int extract_fd_mode(const char *image, int image_fd, const char *dest,
                           const struct quilt_host *host, bool layer, struct quilt_error *err)
{
        if (!image || image[0] == '\0')
                image = "(image)";
        if (!dest || dest[0] == '\0')
                return quilt_error_set(err, -EINVAL, "extracting %s: no destination", image);
        struct stat st;
        if (fstat(image_fd, &st) < 0)
                return quilt_error_set(err, -errno, "extracting %s: %m", image);
        if (!S_ISREG(st.st_mode))
                return quilt_error_set(err, -EINVAL, "extracting %s: not a regular file", image);
        /* The caller may have read the file already (to hash it). */
        if (lseek(image_fd, 0, SEEK_SET) < 0)
                return quilt_error_set(err, -errno, "extracting %s: seek: %m", image);

        _cleanup_close_ int root_fd = open(dest, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0)
                return quilt_error_set(err, -errno, "extracting %s: opening %s: %m", image, dest);

        /* archive_write_disk works on paths relative to the working
         * directory and has no *at() interface, so extract from inside
         * dest.  The monitor is single-threaded: nobody else sees the
         * change, and the old cwd comes back whatever happens. */
        _cleanup_close_ int old_cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (old_cwd < 0)
                return quilt_error_set(err, -errno,
                                       "extracting %s: opening the working directory: %m", image);
        if (fchdir(root_fd) < 0)
                return quilt_error_set(err, -errno, "extracting %s: chdir %s: %m", image, dest);
        int r = extract_fd(image, image_fd, root_fd, host, layer, err);
        if (fchdir(old_cwd) < 0 && r == 0)
                r = quilt_error_set(err, -errno,
                                    "extracting %s: returning to the working directory: %m", image);
        return r;
}

int quilt_rootfs_extract(const char *image, const char *dest, struct quilt_error *err)
{
        return quilt_rootfs_extract_with_host(image, dest, NULL, err);
}
