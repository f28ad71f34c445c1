/* SPDX-License-Identifier: MIT */
/* quilt_open_in_root() / quilt_openat_in_root(): symlinks and ".." in a
 * root tree resolve inside it, and creating directories through a
 * dangling symlink creates them inside the root, never on the host.
 *
 * The root is nested (BASE/a/b/root) so a "../../.." that escaped would
 * land in BASE, where we can look; BASE is /tmp/quilt-test-XXXXXX. */
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
#include <unistd.h>

#include <cmocka.h>

#include "root_path.h"

static char base[] = "/tmp/quilt-test-XXXXXX";
static char root[64];                   /* BASE/a/b/root: short, so paths below fit PATH_MAX */
static char nowhere[64];                /* "quilt-test-nowhere-PID": the dangling target's name */
static char host_nowhere[80];           /* "/" + nowhere: must never appear */
static bool host_nowhere_existed;
static int root_fd = -1;

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void make_dir(const char *rel)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        assert_int_equal(mkdir(p, 0755), 0);
}

static void make_file(const char *rel)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);
}

static void make_link(const char *rel, const char *target)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
        strcpy(base, "/tmp/quilt-test-XXXXXX");
        if (!mkdtemp(base))
                return -1;
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/a", base);
        if (mkdir(p, 0755) < 0)
                return -1;
        snprintf(p, sizeof(p), "%s/a/b", base);
        if (mkdir(p, 0755) < 0)
                return -1;
        snprintf(root, sizeof(root), "%s/a/b/root", base);
        if (mkdir(root, 0755) < 0)
                return -1;
        snprintf(nowhere, sizeof(nowhere), "quilt-test-nowhere-%d", (int)getpid());
        snprintf(host_nowhere, sizeof(host_nowhere), "/%s", nowhere);
        host_nowhere_existed = access(host_nowhere, F_OK) == 0;

        make_dir("etc");
        make_file("etc/marker");
        make_dir("dir");
        make_file("file");
        make_link("lnk-etc", "/etc");          /* the host's /etc, were it followed naively */
        make_link("up", "../../..");           /* BASE/a, were it followed naively */
        make_link("abs", "/");
        make_link("loop", "loop");
        char target[128];
        snprintf(target, sizeof(target), "/%s", nowhere);
        make_link("data", target);             /* dangling: /quilt-test-nowhere-PID */
        snprintf(target, sizeof(target), "../../../%s-rel", nowhere);
        make_link("rel", target);              /* dangling, relative, climbing out */
        make_link("dir/back", "../etc");
        root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return root_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
        if (root_fd >= 0)
                close(root_fd);
        root_fd = -1;
        nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        /* Only if a broken implementation made it: never touch one we found. */
        if (!host_nowhere_existed) {
                char p[PATH_MAX];
                snprintf(p, sizeof(p), "%s/sub", host_nowhere);
                (void)rmdir(p);
                (void)rmdir(host_nowhere);
        }
        return 0;
}

/* The fd refers to ROOT/rel (same device and inode). */
static void assert_is(int fd, const char *rel)
{
        char p[PATH_MAX];
        struct stat want, got;
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        assert_int_equal(lstat(p, &want), 0);
        assert_int_equal(fstat(fd, &got), 0);
        if (want.st_dev != got.st_dev || want.st_ino != got.st_ino)
                fail_msg("resolved to another file than %s", p);
}

static void check_resolves(const char *path, const char *rel)
{
        struct quilt_error err = { 0 };
        int fd = quilt_open_in_root(root_fd, path, 0, &err);
        if (fd < 0)
                fail_msg("%s: %s", path, err.message);
        assert_is(fd, rel);
        close(fd);
}

static void check_fails(const char *path, mode_t mode, int code)
{
        struct quilt_error err = { 0 };
        int fd = quilt_open_in_root(root_fd, path, mode, &err);
        if (fd >= 0) {
                close(fd);
                fail_msg("%s resolved, expected %s", path, strerror(-code));
        }
        assert_int_equal(fd, code);
        assert_int_equal(err.code, code);
        /* "PATH: reason" */
        char want[PATH_MAX];
        snprintf(want, sizeof(want), "%s: %s", path, strerror(-code));
        assert_string_equal(err.message, want);
}

static void test_plain(void **state)
{
        check_resolves("/etc/marker", "etc/marker");
        check_resolves("etc/marker", "etc/marker");
        check_resolves("/", ".");
        check_resolves("", ".");
        check_resolves("/dir/", "dir");
}

static void test_absolute_symlink_stays_inside(void **state)
{
        check_resolves("/lnk-etc", "etc");
        check_resolves("/lnk-etc/marker", "etc/marker");
        check_resolves("/abs", ".");
        check_resolves("/abs/abs/etc/marker", "etc/marker");
}

static void test_dotdot_symlink_stays_inside(void **state)
{
        check_resolves("/up", ".");
        check_resolves("/up/etc/marker", "etc/marker");
        check_resolves("/dir/back/marker", "etc/marker");
}

static void test_dotdot_at_root_stays_at_root(void **state)
{
        check_resolves("..", ".");
        check_resolves("/../../..", ".");
        check_resolves("/../etc/../../etc/marker", "etc/marker");
        check_resolves("dir/../../..", ".");
}

static void test_loop_fails(void **state)
{
        check_fails("/loop", 0, -ELOOP);
        check_fails("/loop/x", 0755, -ELOOP);
}

static void test_missing_without_mkdir(void **state)
{
        check_fails("/nope", 0, -ENOENT);
        check_fails("/data", 0, -ENOENT);       /* dangling: not followed to the host */
        check_fails("/file/x", 0755, -ENOTDIR);
}

static void test_openat_flags(void **state)
{
        struct quilt_error err = { 0 };
        int fd = quilt_openat_in_root(root_fd, "/lnk-etc/marker", O_RDONLY, &err);
        if (fd < 0)
                fail_msg("%s", err.message);
        assert_is(fd, "etc/marker");
        int fl = fcntl(fd, F_GETFD);
        assert_true(fl >= 0 && (fl & FD_CLOEXEC));
        close(fd);
        assert_int_equal(quilt_openat_in_root(root_fd, "/new", O_RDWR | O_CREAT, &err), -EINVAL);
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/new", root);
        assert_int_equal(access(p, F_OK), -1);
}

static void test_mkdir_plain(void **state)
{
        struct quilt_error err = { 0 };
        mode_t old = umask(022);
        int fd = quilt_open_in_root(root_fd, "/x/y/z", 0750, &err);
        umask(old);
        if (fd < 0)
                fail_msg("%s", err.message);
        assert_is(fd, "x/y/z");
        int fl = fcntl(fd, F_GETFL);
        assert_true(fl >= 0 && (fl & O_PATH));
        close(fd);
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof(p), "%s/x/y", root);
        assert_int_equal(stat(p, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0750);     /* exact, whatever the umask */
        /* Again: everything exists now. */
        check_resolves("/x/y/z", "x/y/z");
        fd = quilt_open_in_root(root_fd, "/x/y/z", 0750, &err);
        assert_true(fd >= 0);
        assert_is(fd, "x/y/z");
        close(fd);
}

static void test_mkdir_through_dotdot_symlink(void **state)
{
        struct quilt_error err = { 0 };
        int fd = quilt_open_in_root(root_fd, "/up/made/here", 0755, &err);
        if (fd < 0)
                fail_msg("%s", err.message);
        assert_is(fd, "made/here");
        close(fd);
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/a/made", base);
        assert_int_equal(access(p, F_OK), -1);
}

static void test_mkdir_through_dangling_symlink(void **state)
{
        struct quilt_error err = { 0 };
        int fd = quilt_open_in_root(root_fd, "/data/sub", 0755, &err);
        if (fd < 0)
                fail_msg("%s", err.message);
        char rel[PATH_MAX];
        snprintf(rel, sizeof(rel), "%s/sub", nowhere);
        assert_is(fd, rel);
        close(fd);
        /* Nothing on the host. */
        if (!host_nowhere_existed)
                assert_int_equal(access(host_nowhere, F_OK), -1);
        /* And the symlink is still the image's symlink, now resolving. */
        char p[PATH_MAX];
        struct stat st;
        snprintf(p, sizeof(p), "%s/data", root);
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        check_resolves("/data/sub", rel);
}

static void test_mkdir_dangling_symlink_itself(void **state)
{
        struct quilt_error err = { 0 };
        int fd = quilt_open_in_root(root_fd, "/data", 0755, &err);
        if (fd < 0)
                fail_msg("%s", err.message);
        assert_is(fd, nowhere);
        close(fd);
        if (!host_nowhere_existed)
                assert_int_equal(access(host_nowhere, F_OK), -1);
}

static void test_mkdir_through_relative_dangling_symlink(void **state)
{
        struct quilt_error err = { 0 };
        int fd = quilt_open_in_root(root_fd, "/rel/deeper", 0755, &err);
        if (fd < 0)
                fail_msg("%s", err.message);
        char rel[PATH_MAX];
        snprintf(rel, sizeof(rel), "%s-rel/deeper", nowhere);
        assert_is(fd, rel);
        close(fd);
        /* "../../.." from ROOT would be BASE: nothing may appear there. */
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s-rel", base, nowhere);
        assert_int_equal(access(p, F_OK), -1);
}

static void test_too_long(void **state)
{
        char *p = malloc(PATH_MAX + 16);
        assert_non_null(p);
        memset(p, 'a', PATH_MAX + 8);
        p[PATH_MAX + 8] = '\0';
        struct quilt_error err = { 0 };
        assert_int_equal(quilt_open_in_root(root_fd, p, 0755, &err), -ENAMETOOLONG);
        assert_int_equal(quilt_open_in_root(root_fd, p, 0, &err), -ENAMETOOLONG);
        free(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_absolute_symlink_stays_inside, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dotdot_symlink_stays_inside, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dotdot_at_root_stays_at_root, setup, teardown),
                cmocka_unit_test_setup_teardown(test_loop_fails, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_without_mkdir, setup, teardown),
                cmocka_unit_test_setup_teardown(test_openat_flags, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mkdir_plain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mkdir_through_dotdot_symlink, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mkdir_through_dangling_symlink, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mkdir_dangling_symlink_itself, setup, teardown),
                cmocka_unit_test_setup_teardown(test_mkdir_through_relative_dangling_symlink, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_too_long, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
