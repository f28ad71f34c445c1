/* SPDX-License-Identifier: MIT */
/* quilt_rootfs_extract(): crafted archives (built here with libarchive's
 * write API) must land inside the destination or fail, and nothing may
 * ever be written outside it.  The destination is nested a few levels
 * deep in a /tmp/quilt-test-XXXXXX directory so that escapes through
 * "../" land somewhere we can look. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "tar_extract.h"

enum filter { PLAIN, GZIP, XZ, ZSTD, BZIP2 };

struct spec {
        const char *path;
        mode_t type;                    /* S_IFREG when 0 */
        mode_t perm;                    /* 0644 / 0755 when 0 */
        const char *symlink;
        const char *hardlink;
        const char *data;
        dev_t rdev;
        uid_t uid;
        gid_t gid;
        time_t mtime;
        const char *xattrs[4];          /* name, value, name, value */
};

static char base[] = "/tmp/quilt-test-XXXXXX";
static char outside[64];                /* base/outside: holds the victim */
static char victim[96];                 /* base/outside/victim */
static char dest[96];                   /* base/d1/d2/root */
static char image[96];                  /* base/image.tar */
static const time_t victim_mtime = 1000000000;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void remove_tree(const char *path)
{
        nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void write_file(const char *path, const char *data, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, strlen(data)), (ssize_t)strlen(data));
        close(fd);
}

static char *read_text(const char *path, char *buf, size_t size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        ssize_t n = read(fd, buf, size - 1);
        close(fd);
        if (n < 0)
                return NULL;
        buf[n] = '\0';
        return buf;
}

static int group_setup(void **state)
{
        if (!mkdtemp(base))
                return -1;
        snprintf(outside, sizeof(outside), "%s/outside", base);
        snprintf(victim, sizeof(victim), "%s/victim", outside);
        snprintf(dest, sizeof(dest), "%s/d1/d2/root", base);
        snprintf(image, sizeof(image), "%s/image.tar", base);
        char d1[PATH_MAX + 8];
        snprintf(d1, sizeof(d1), "%s/d1", base);
        if (mkdir(outside, 0755) < 0 || mkdir(d1, 0755) < 0)
                return -1;
        strcat(d1, "/d2");
        return mkdir(d1, 0755);
}

static int group_teardown(void **state)
{
        remove_tree(base);
        return 0;
}

/* Before each test: an empty destination, a fresh victim. */
static int setup(void **state)
{
        remove_tree(dest);
        unlink(image);
        if (mkdir(dest, 0755) < 0)
                return -1;
        unlink(victim);
        int fd = open(victim, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -1;
        if (write(fd, "victim\n", 7) != 7) {
                close(fd);
                return -1;
        }
        close(fd);
        struct timespec times[2] = { { victim_mtime, 0 }, { victim_mtime, 0 } };
        return utimensat(AT_FDCWD, victim, times, 0);
}

static void build_archive(const char *path, const struct spec *specs, size_t n, enum filter f)
{
        struct archive *a = archive_write_new();
        assert_non_null(a);
        assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
        switch (f) {
        case PLAIN:
                break;
        case GZIP:
                assert_int_equal(archive_write_add_filter_gzip(a), ARCHIVE_OK);
                break;
        case XZ:
                assert_int_equal(archive_write_add_filter_xz(a), ARCHIVE_OK);
                break;
        case ZSTD:
                assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
                break;
        case BZIP2:
                assert_int_equal(archive_write_add_filter_bzip2(a), ARCHIVE_OK);
                break;
        }
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                const struct spec *s = &specs[i];
                struct archive_entry *e = archive_entry_new();
                mode_t type = s->type ? s->type : S_IFREG;
                archive_entry_set_pathname(e, s->path);
                archive_entry_set_filetype(e, type);
                archive_entry_set_perm(e, s->perm ? s->perm : type == S_IFDIR ? 0755 : 0644);
                archive_entry_set_uid(e, s->uid);
                archive_entry_set_gid(e, s->gid);
                archive_entry_set_mtime(e, s->mtime ? s->mtime : 1600000000, 0);
                if (s->symlink)
                        archive_entry_set_symlink(e, s->symlink);
                if (s->hardlink)
                        archive_entry_set_hardlink(e, s->hardlink);
                if (type == S_IFCHR || type == S_IFBLK)
                        archive_entry_set_rdev(e, s->rdev);
                size_t len = s->data ? strlen(s->data) : 0;
                archive_entry_set_size(e, type == S_IFREG && !s->hardlink ? (la_int64_t)len : 0);
                for (size_t x = 0; x + 1 < 4 && s->xattrs[x]; x += 2)
                        archive_entry_xattr_add_entry(e, s->xattrs[x], s->xattrs[x + 1],
                                                      strlen(s->xattrs[x + 1]));
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                if (type == S_IFREG && !s->hardlink && len)
                        assert_int_equal(archive_write_data(a, s->data, len), (la_ssize_t)len);
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

static int extract(const struct spec *specs, size_t n, struct quilt_error *err)
{
        build_archive(image, specs, n, PLAIN);
        memset(err, 0, sizeof(*err));
        return quilt_rootfs_extract(image, dest, err);
}

#define EXTRACT(specs, err) extract((specs), sizeof(specs) / sizeof((specs)[0]), (err))

static int count_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        assert_non_null(d);
        int n = 0;
        while (readdir(d))
                n++;
        closedir(d);
        return n;
}

/* Everything outside dest is as the fixtures left it: the tree below base
 * holds exactly these, the victim is intact, nothing escaped to / or /tmp. */
static int list_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        static const char *const allowed[] = { "", "/outside", "/outside/victim", "/d1", "/d1/d2",
                                               "/image.tar" };
        const char *rel = path + strlen(base);
        if (strncmp(rel, "/d1/d2/root", 11) == 0 && (rel[11] == '\0' || rel[11] == '/'))
                return 0;
        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
                if (strcmp(rel, allowed[i]) == 0)
                        return 0;
        fail_msg("unexpected %s outside the destination", path);
        return 1;
}

static void assert_outside_untouched(void)
{
        assert_int_equal(nftw(base, list_one, 16, FTW_PHYS), 0);
        struct stat st;
        assert_int_equal(lstat(victim, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(st.st_nlink, 1);
        assert_int_equal(st.st_uid, geteuid());
        assert_int_equal(st.st_mtim.tv_sec, victim_mtime);
        char buf[64];
        assert_non_null(read_text(victim, buf, sizeof(buf)));
        assert_string_equal(buf, "victim\n");
        assert_int_equal(lstat("/tmp/quilt-test-escape", &st), -1);
        assert_int_equal(lstat("/quilt-test-escape", &st), -1);
}

static void assert_absent(const char *rel)
{
        char path[PATH_MAX * 2];
        snprintf(path, sizeof(path), "%s/%s", dest, rel);
        struct stat st;
        if (lstat(path, &st) == 0)
                fail_msg("%s exists", path);
}

static void stat_in_dest(const char *rel, struct stat *st)
{
        char path[PATH_MAX * 2];
        snprintf(path, sizeof(path), "%s/%s", dest, rel);
        if (lstat(path, st) < 0)
                fail_msg("lstat %s: %s", path, strerror(errno));
}

static void assert_error(int r, int code, const char *entry_reason, const struct quilt_error *err)
{
        char expected[QUILT_ERROR_MESSAGE_MAX];
        snprintf(expected, sizeof(expected), "extracting %s: %s", image, entry_reason);
        assert_int_equal(r, code);
        assert_int_equal(err->code, code);
        assert_string_equal(err->message, expected);
}

/* ---- well-formed images ------------------------------------------------- */

static const struct spec busybox_like[] = {
        { .path = "./", .type = S_IFDIR, .perm = 0700, .uid = 1000, .gid = 1000 },
        { .path = "./bin", .type = S_IFDIR },
        { .path = "./bin/busybox", .perm = 0755, .data = "#!busybox\n", .mtime = 1234567890 },
        { .path = "./bin/sh", .type = S_IFLNK, .symlink = "busybox" },
        { .path = "./bin/ls", .hardlink = "./bin/busybox" },
        { .path = "./bin/su", .perm = 04755, .data = "su\n" },
        { .path = "./etc/passwd", .data = "root:x:0:0:root:/root:/bin/sh\n" },
        { .path = "./home/user/.profile", .data = "x\n", .uid = 1000, .gid = 1000 },
        { .path = "./tmp", .type = S_IFDIR, .perm = 01777 },
        { .path = "./usr/bin/env", .type = S_IFLNK, .symlink = "/bin/busybox" },
        { .path = "./run/initctl", .type = S_IFIFO, .perm = 0600 },
        { .path = "./dev", .type = S_IFDIR },
        { .path = "./dev/null", .type = S_IFCHR, .perm = 0666, .rdev = 0x0103 },
        { .path = "./dev/sda", .type = S_IFBLK, .perm = 0660, .rdev = 0x0800 },
        { .path = "./locked", .type = S_IFDIR, .perm = 0500 },
        { .path = "./locked/inside", .data = "in\n" },
};

static void check_busybox_like(void)
{
        bool root = geteuid() == 0;
        struct stat st;
        char buf[64], path[PATH_MAX * 2];

        /* The root entry is skipped: dest keeps its own mode and owner. */
        assert_int_equal(lstat(dest, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(st.st_uid, geteuid());

        stat_in_dest("bin/busybox", &st);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0755);
        assert_int_equal(st.st_mtim.tv_sec, 1234567890);
        assert_int_equal(st.st_nlink, 2);
        ino_t busybox_ino = st.st_ino;
        snprintf(path, sizeof(path), "%s/bin/busybox", dest);
        assert_string_equal(read_text(path, buf, sizeof(buf)), "#!busybox\n");

        stat_in_dest("bin/ls", &st);
        assert_int_equal(st.st_ino, busybox_ino);
        stat_in_dest("bin/sh", &st);
        assert_true(S_ISLNK(st.st_mode));
        snprintf(path, sizeof(path), "%s/bin/sh", dest);
        ssize_t n = readlink(path, buf, sizeof(buf));
        assert_int_equal(n, 7);
        assert_memory_equal(buf, "busybox", 7);
        /* Absolute symlinks are kept: they resolve inside the container. */
        snprintf(path, sizeof(path), "%s/usr/bin/env", dest);
        n = readlink(path, buf, sizeof(buf));
        assert_int_equal(n, 12);
        assert_memory_equal(buf, "/bin/busybox", 12);

        stat_in_dest("bin/su", &st);
        assert_int_equal(st.st_mode & 07777, root ? 04755 : 0755);
        stat_in_dest("tmp", &st);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 01777);
        stat_in_dest("run/initctl", &st);
        assert_true(S_ISFIFO(st.st_mode));
        stat_in_dest("locked", &st);
        assert_int_equal(st.st_mode & 07777, 0500);
        stat_in_dest("locked/inside", &st);
        if (root) {
                stat_in_dest("home/user/.profile", &st);
                assert_int_equal(st.st_uid, 1000);
                assert_int_equal(st.st_gid, 1000);
                stat_in_dest("etc/passwd", &st);
                assert_int_equal(st.st_uid, 0);
        }
        /* Device nodes are left out. */
        assert_absent("dev/null");
        assert_absent("dev/sda");
        stat_in_dest("dev", &st);
        assert_true(S_ISDIR(st.st_mode));
        assert_outside_untouched();
}

static void test_busybox_like_tree(void **state)
{
        struct quilt_error err;
        char cwd_before[PATH_MAX], cwd_after[PATH_MAX];
        assert_non_null(getcwd(cwd_before, sizeof(cwd_before)));
        int fds = count_fds();

        int r = EXTRACT(busybox_like, &err);
        if (r < 0)
                fail_msg("%s", err.message);
        check_busybox_like();

        assert_int_equal(count_fds(), fds);
        assert_non_null(getcwd(cwd_after, sizeof(cwd_after)));
        assert_string_equal(cwd_before, cwd_after);
}

static void test_compressed(void **state)
{
        static const enum filter filters[] = { GZIP, XZ, ZSTD, BZIP2 };
        for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++) {
                assert_int_equal(setup(state), 0);
                build_archive(image, busybox_like, sizeof(busybox_like) / sizeof(busybox_like[0]),
                              filters[i]);
                struct quilt_error err = { 0 };
                int r = quilt_rootfs_extract(image, dest, &err);
                if (r < 0)
                        fail_msg("filter %zu: %s", i, err.message);
                check_busybox_like();
        }
}

/* Skips are logged at debug level through the host table. */
static char logged[4096];

__attribute__((format(printf, 3, 4)))
static void capture_log(enum quilt_log_level level, const char *plugin, const char *fmt, ...)
{
        size_t len = strlen(logged);
        va_list ap;
        va_start(ap, fmt);
        len += (size_t)snprintf(logged + len, sizeof(logged) - len, "%d %s: ", level, plugin);
        if (len < sizeof(logged))
                len += (size_t)vsnprintf(logged + len, sizeof(logged) - len, fmt, ap);
        if (len < sizeof(logged) - 1)
                strcat(logged, "\n");
        va_end(ap);
}

static void test_skips_are_logged(void **state)
{
        static const struct quilt_host host = {
                .abi_version = 1,
                .struct_size = sizeof(struct quilt_host),
                .log = capture_log,
        };
        static const struct spec specs[] = {
                { .path = "dev/null", .type = S_IFCHR, .rdev = 0x0103 },
                { .path = "ok", .data = "ok\n" },
        };
        build_archive(image, specs, 2, PLAIN);
        struct quilt_error err = { 0 };
        logged[0] = '\0';
        assert_int_equal(quilt_rootfs_extract_with_host(image, dest, &host, &err), 0);
        char expected[PATH_MAX * 2];
        snprintf(expected, sizeof(expected), "%d rootfs: %s: skipping 'dev/null': character device\n",
                 QUILT_LOG_DEBUG, image);
        assert_non_null(strstr(logged, expected));
        assert_absent("dev/null");
        struct stat st;
        stat_in_dest("ok", &st);
}

/* ---- escapes ------------------------------------------------------------ */

static void test_dotdot(void **state)
{
        static const struct spec specs[] = {
                { .path = "fine", .data = "fine\n" },
                { .path = "../evil", .data = "evil\n" },
        };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        assert_error(r, -EPERM, "tar entry '../evil': path escapes the root", &err);
        assert_outside_untouched();
}

static void test_dotdot_deep(void **state)
{
        /* Five levels up from base/d1/d2/root is / itself. */
        static const struct spec specs[] = {
                { .path = "a/b/../../../../../../../../quilt-test-escape", .data = "evil\n" },
        };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        assert_error(r, -EPERM,
                     "tar entry 'a/b/../../../../../../../../quilt-test-escape': path escapes the root",
                     &err);
        assert_absent("a");
        assert_outside_untouched();
}

static void test_absolute(void **state)
{
        char abs[PATH_MAX + 16], msg[PATH_MAX * 2];
        snprintf(abs, sizeof(abs), "%s/abs", outside);
        const struct spec specs[] = { { .path = abs, .data = "evil\n" } };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        snprintf(msg, sizeof(msg), "tar entry '%s': absolute path", abs);
        assert_error(r, -EPERM, msg, &err);
        assert_outside_untouched();
}

static void test_symlink_then_write_through(void **state)
{
        /* lnk -> base/outside (absolute), then lnk/file. */
        const struct spec specs[] = {
                { .path = "lnk", .type = S_IFLNK, .symlink = outside },
                { .path = "lnk/file", .data = "evil\n" },
        };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        assert_int_equal(r, -EPERM);
        assert_non_null(strstr(err.message, "tar entry 'lnk/file'"));
        assert_outside_untouched();
}

static void test_relative_symlink_then_write_through(void **state)
{
        /* lnk -> ../../.. is base; then lnk/quilt-test-escape, lnk/outside/victim. */
        static const struct spec specs[] = {
                { .path = "lnk", .type = S_IFLNK, .symlink = "../../.." },
                { .path = "./lnk/outside/victim", .data = "pwned\n" },
        };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        assert_int_equal(r, -EPERM);
        assert_non_null(strstr(err.message, "lnk/outside/victim': "));
        assert_outside_untouched();

        static const struct spec specs2[] = {
                { .path = "a/lnk", .type = S_IFLNK, .symlink = "../../../../../tmp" },
                { .path = "a/lnk/quilt-test-escape", .data = "evil\n" },
        };
        assert_int_equal(setup(state), 0);
        r = EXTRACT(specs2, &err);
        assert_int_equal(r, -EPERM);
        assert_outside_untouched();
}

static void test_symlink_directory_then_dir_entry(void **state)
{
        /* A directory entry of the symlink's own name, then a file in it:
         * the symlink may be replaced by a directory, never followed. */
        const struct spec specs[] = {
                { .path = "lnk", .type = S_IFLNK, .symlink = outside },
                { .path = "lnk", .type = S_IFDIR, .perm = 0777, .mtime = 5 },
                { .path = "lnk/file", .data = "inside\n" },
        };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        if (r == 0) {
                struct stat st;
                stat_in_dest("lnk", &st);
                assert_true(S_ISDIR(st.st_mode));
                stat_in_dest("lnk/file", &st);
        }
        assert_outside_untouched();
        struct stat st;
        assert_int_equal(lstat(outside, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);
}

static void test_file_over_symlink(void **state)
{
        /* A regular file entry where a symlink to the victim stands:
         * the symlink is replaced, the victim not written. */
        const struct spec specs[] = {
                { .path = "lnk", .type = S_IFLNK, .symlink = victim },
                { .path = "lnk", .data = "pwned\n", .perm = 0777 },
        };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        if (r == 0) {
                struct stat st;
                stat_in_dest("lnk", &st);
                assert_true(S_ISREG(st.st_mode));
        }
        assert_outside_untouched();
}

static void test_symlink_metadata_not_followed(void **state)
{
        /* Mode, owner and times of a symlink entry apply to the link. */
        const struct spec specs[] = {
                { .path = "lnk", .type = S_IFLNK, .symlink = victim, .perm = 0777, .uid = 4242,
                  .gid = 4242, .mtime = 7 },
        };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        if (r < 0)
                fail_msg("%s", err.message);
        struct stat st;
        stat_in_dest("lnk", &st);
        assert_true(S_ISLNK(st.st_mode));
        assert_outside_untouched();
}

static void test_hardlink_dotdot(void **state)
{
        static const struct spec specs[] = {
                { .path = "passwd", .hardlink = "../../etc/passwd" },
        };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        assert_error(r, -EPERM,
                     "tar entry 'passwd': hard link target '../../etc/passwd' escapes the root", &err);
        assert_absent("passwd");
        assert_outside_untouched();
}

static void test_hardlink_absolute(void **state)
{
        const struct spec specs[] = { { .path = "v", .hardlink = victim } };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        assert_int_equal(r, -EPERM);
        assert_absent("v");
        assert_outside_untouched();
}

static void test_hardlink_through_symlink(void **state)
{
        /* lnk -> base/outside, then a hard link to lnk/victim: it would be
         * the victim's inode, writable from inside the container. */
        const struct spec specs[] = {
                { .path = "lnk", .type = S_IFLNK, .symlink = outside },
                { .path = "hl", .hardlink = "lnk/victim" },
        };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        assert_int_equal(r, -EPERM);
        assert_absent("hl");
        assert_outside_untouched();
}

static void test_hardlink_to_symlink(void **state)
{
        /* A hard link to a symlink links the symlink, not what it names. */
        const struct spec specs[] = {
                { .path = "lnk", .type = S_IFLNK, .symlink = victim },
                { .path = "hl", .hardlink = "lnk" },
        };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        if (r == 0) {
                struct stat st;
                stat_in_dest("hl", &st);
                assert_true(S_ISLNK(st.st_mode));
        }
        assert_outside_untouched();
}

static void test_hardlink_with_data_through_symlink(void **state)
{
        /* lnk -> base/outside, then lnk2 -> lnk, then a file via lnk2. */
        const struct spec specs[] = {
                { .path = "lnk", .type = S_IFLNK, .symlink = outside },
                { .path = "lnk2", .type = S_IFLNK, .symlink = "lnk" },
                { .path = "lnk2/victim", .data = "pwned\n" },
        };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        assert_int_equal(r, -EPERM);
        assert_outside_untouched();
}

static void test_root_entry_symlink(void **state)
{
        const struct spec specs[] = { { .path = "./", .type = S_IFLNK, .symlink = outside } };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        assert_error(r, -EINVAL, "tar entry './': the root entry is not a directory", &err);
        struct stat st;
        assert_int_equal(lstat(dest, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_outside_untouched();
}

/* ---- bad input ------------------------------------------------------------ */

static void test_missing_image(void **state)
{
        char missing[PATH_MAX + 16], expected[PATH_MAX * 2];
        snprintf(missing, sizeof(missing), "%s/no-such.tar", base);
        struct quilt_error err = { 0 };
        assert_int_equal(quilt_rootfs_extract(missing, dest, &err), -ENOENT);
        snprintf(expected, sizeof(expected), "extracting %s: No such file or directory", missing);
        assert_string_equal(err.message, expected);
        assert_int_equal(quilt_rootfs_extract("", dest, &err), -EINVAL);
        assert_int_equal(quilt_rootfs_extract(NULL, dest, &err), -EINVAL);
}

static void test_image_is_directory(void **state)
{
        struct quilt_error err = { 0 };
        assert_int_equal(quilt_rootfs_extract(outside, dest, &err), -EINVAL);
        assert_non_null(strstr(err.message, "not a regular file"));
}

static void test_missing_dest(void **state)
{
        static const struct spec specs[] = { { .path = "x", .data = "x" } };
        build_archive(image, specs, 1, PLAIN);
        char missing[PATH_MAX + 16];
        snprintf(missing, sizeof(missing), "%s/nowhere", base);
        struct quilt_error err = { 0 };
        assert_int_equal(quilt_rootfs_extract(image, missing, &err), -ENOENT);
        assert_non_null(strstr(err.message, missing));
}

static void test_garbage_and_truncated(void **state)
{
        struct quilt_error err = { 0 };
        int fds = count_fds();
        write_file(image, "this is not a tarball, not even close\n", 0644);
        int r = quilt_rootfs_extract(image, dest, &err);
        assert_true(r < 0);
        assert_int_equal(strncmp(err.message, "extracting ", 11), 0);
        assert_non_null(strstr(err.message, image));

        /* A valid archive cut in the middle of a file's data. */
        static const char big[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        const struct spec specs[] = { { .path = "a", .data = big }, { .path = "b", .data = big } };
        build_archive(image, specs, 2, PLAIN);
        assert_int_equal(truncate(image, 512 + 512 + 512 + 16), 0);
        r = quilt_rootfs_extract(image, dest, &err);
        assert_true(r < 0);
        assert_int_equal(strncmp(err.message, "extracting ", 11), 0);
        assert_int_equal(count_fds(), fds);
        assert_outside_untouched();
}

static void test_failure_keeps_cwd_and_fds(void **state)
{
        char cwd_before[PATH_MAX], cwd_after[PATH_MAX];
        assert_non_null(getcwd(cwd_before, sizeof(cwd_before)));
        int fds = count_fds();
        static const struct spec specs[] = {
                { .path = "d", .type = S_IFDIR, .perm = 0555 },
                { .path = "../evil", .data = "evil\n" },
        };
        struct quilt_error err;
        assert_int_equal(EXTRACT(specs, &err), -EPERM);
        assert_non_null(getcwd(cwd_after, sizeof(cwd_after)));
        assert_string_equal(cwd_before, cwd_after);
        assert_int_equal(count_fds(), fds);
        assert_outside_untouched();
}

/* ---- xattrs ----------------------------------------------------------------- */

static void test_xattr_filter(void **state)
{
        if (geteuid() != 0)
                skip();                 /* trusted.* needs CAP_SYS_ADMIN */
        char probe[PATH_MAX + 16];
        snprintf(probe, sizeof(probe), "%s/probe", dest);
        write_file(probe, "", 0644);
        bool supported = setxattr(probe, "user.quilt-test", "1", 1, 0) == 0 &&
                         setxattr(probe, "trusted.quilt-test", "1", 1, 0) == 0;
        unlink(probe);
        if (!supported)
                skip();

        static const struct spec specs[] = {
                { .path = "f", .data = "f\n",
                  .xattrs = { "user.keep", "yes", "trusted.overlay.opaque", "y" } },
        };
        struct quilt_error err;
        int r = EXTRACT(specs, &err);
        if (r < 0)
                fail_msg("%s", err.message);
        char path[PATH_MAX * 2], value[16];
        snprintf(path, sizeof(path), "%s/f", dest);
        assert_int_equal(getxattr(path, "user.keep", value, sizeof(value)), 3);
        assert_memory_equal(value, "yes", 3);
        assert_int_equal(getxattr(path, "trusted.overlay.opaque", value, sizeof(value)), -1);
        assert_int_equal(errno, ENODATA);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup(test_busybox_like_tree, setup),
                cmocka_unit_test_setup(test_compressed, setup),
                cmocka_unit_test_setup(test_skips_are_logged, setup),
                cmocka_unit_test_setup(test_dotdot, setup),
                cmocka_unit_test_setup(test_dotdot_deep, setup),
                cmocka_unit_test_setup(test_absolute, setup),
                cmocka_unit_test_setup(test_symlink_then_write_through, setup),
                cmocka_unit_test_setup(test_relative_symlink_then_write_through, setup),
                cmocka_unit_test_setup(test_symlink_directory_then_dir_entry, setup),
                cmocka_unit_test_setup(test_file_over_symlink, setup),
                cmocka_unit_test_setup(test_symlink_metadata_not_followed, setup),
                cmocka_unit_test_setup(test_hardlink_dotdot, setup),
                cmocka_unit_test_setup(test_hardlink_absolute, setup),
                cmocka_unit_test_setup(test_hardlink_through_symlink, setup),
                cmocka_unit_test_setup(test_hardlink_to_symlink, setup),
                cmocka_unit_test_setup(test_hardlink_with_data_through_symlink, setup),
                cmocka_unit_test_setup(test_root_entry_symlink, setup),
                cmocka_unit_test_setup(test_missing_image, setup),
                cmocka_unit_test_setup(test_image_is_directory, setup),
                cmocka_unit_test_setup(test_missing_dest, setup),
                cmocka_unit_test_setup(test_garbage_and_truncated, setup),
                cmocka_unit_test_setup(test_failure_keeps_cwd_and_fds, setup),
                cmocka_unit_test_setup(test_xattr_filter, setup),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
