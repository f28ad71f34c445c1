/* SPDX-License-Identifier: MIT */
/* The rootfs plugin's overlay over an idmapped lower layer
 * (plugins/rootfs/rootfs_idmap.c, rootfs_overlay.c) on a scratch tree:
 * the image's files show the mapped owners through the overlay and keep
 * their own on disk, nothing is copied up, the upper dir's root is the
 * container root's, what host root makes through the overlay is handed
 * over by rootfs_idmap_fix_upper (and a mount below is left alone), and a
 * filesystem without idmapped mounts (ramfs) says so as "unsupported".
 * Needs root; runs in a mount namespace of its own, so nothing it mounts
 * outlives it. */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "rootfs_idmap.h"
#include "rootfs_overlay.h"

#define START 100000u
#define COUNT 65536u

static char base[64];       /* the scratch dir, /tmp/quilt-test-idmap-XXXXXX */

static void path(char *buf, const char *rel)
{
        snprintf(buf, PATH_MAX, "%s/%s", base, rel);
}

static void make(const char *rel, mode_t mode, bool dir)
{
        char p[PATH_MAX];
        path(p, rel);
        if (dir) {
                assert_int_equal(mkdir(p, mode), 0);
        } else {
                int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
                assert_true(fd >= 0);
                assert_int_equal(write(fd, "x\n", 2), 2);
                close(fd);
        }
        assert_int_equal(chmod(p, mode), 0);
}

static struct stat lstat_of(const char *rel)
{
        char p[PATH_MAX];
        struct stat st;
        path(p, rel);
        assert_int_equal(lstat(p, &st), 0);
        return st;
}

static bool exists(const char *rel)
{
        char p[PATH_MAX];
        struct stat st;
        path(p, rel);
        return lstat(p, &st) == 0;
}

static struct quilt_container container(void)
{
        struct quilt_container c = { .struct_size = sizeof(c) };
        c.uid_range = (struct quilt_id_range){ START, COUNT };
        c.gid_range = (struct quilt_id_range){ START, COUNT };
        return c;
}

static int setup(void **state)
{
        (void)state;
        if (geteuid() != 0)
                return 0;
        /* Private: our mounts go with this process. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -1;
        snprintf(base, sizeof(base), "/tmp/quilt-test-idmap-XXXXXX");
        return mkdtemp(base) ? 0 : -1;
}

static int teardown(void **state)
{
        (void)state;
        if (base[0]) {
                char cmd[2 * sizeof(base) + 64];
                snprintf(cmd, sizeof(cmd), "umount -R %s/merged 2>/dev/null; rm -rf %s", base,
                         base);
                if (system(cmd) != 0)
                        return -1;
        }
        return 0;
}

static void test_overlay_over_idmapped_lower(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        static const char *const dirs[] = { "lower", "lower/bin", "lower/etc", "upper", "work",
                                            "merged" };
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
                make(dirs[i], 0755, true);
        make("lower/bin/su", 04755, false);
        make("lower/etc/passwd", 0644, false);
        char lower[PATH_MAX], upper[PATH_MAX], work[PATH_MAX], merged[PATH_MAX];
        path(lower, "lower");
        path(upper, "upper");
        path(work, "work");
        path(merged, "merged");
        assert_int_equal(chmod(lower, 0751), 0);

        struct quilt_container c = container();
        assert_true(rootfs_idmap_wanted(&c));
        struct quilt_error err = { 0 };
        int userns_fd = rootfs_idmap_userns(&c.uid_range, &c.gid_range, &err);
        assert_true(userns_fd >= 0);
        int tree = rootfs_idmap_tree(lower, userns_fd, &err);
        close(userns_fd);
        if (tree < 0 && rootfs_idmap_unsupported(tree)) {
                print_message("no idmapped mounts on %s: %s\n", base, err.message);
                skip();
        }
        assert_true(tree >= 0);
        assert_int_equal(rootfs_idmap_upper_root(upper, tree, &err), 0);
        struct stat st = lstat_of("upper");
        assert_int_equal(st.st_uid, START);
        assert_int_equal(st.st_gid, START);
        assert_int_equal(st.st_mode & 07777, 0751);
        int r = rootfs_overlay_mount_fd(tree, upper, work, merged, &err);
        close(tree);
        if (r < 0)
                fail_msg("%s", err.message);

        /* Through the overlay: mapped; on disk: as the image has it. */
        st = lstat_of("merged/bin/su");
        assert_int_equal(st.st_uid, START);
        assert_int_equal(st.st_gid, START);
        assert_int_equal(st.st_mode & 07777, 04755);
        assert_int_equal(lstat_of("lower/bin/su").st_uid, 0);
        assert_false(exists("upper/bin"));

        /* Host root writes through the overlay (the monitor's working
         * directory and mount points): host 0 in the upper dir. */
        make("merged/wd", 0755, true);
        make("merged/etc/new", 0644, false);
        make("merged/mnt", 0755, true);
        char p[PATH_MAX];
        path(p, "merged/etc/passwd");
        assert_int_equal(unlink(p), 0);         /* a whiteout in upper/etc */
        path(p, "merged/mnt");
        assert_int_equal(mount("tmpfs", p, "tmpfs", 0, "mode=0700"), 0);
        assert_int_equal(lstat_of("upper/wd").st_uid, 0);
        assert_int_equal(lstat_of("upper/etc").st_uid, START);  /* copied up, mapped */

        size_t changed = 0;
        r = rootfs_idmap_fix_upper(upper, merged, &c, &changed, &err);
        if (r < 0)
                fail_msg("%s", err.message);
        assert_int_equal(changed, 3);   /* wd, etc/new, mnt */
        static const char *const fixed[] = { "upper/wd", "upper/etc/new", "upper/mnt",
                                             "merged/wd", "merged/etc/new" };
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
                st = lstat_of(fixed[i]);
                assert_int_equal(st.st_uid, START);
                assert_int_equal(st.st_gid, START);
        }
        /* The tmpfs on /mnt is not the overlay's to change. */
        st = lstat_of("merged/mnt");
        assert_int_equal(st.st_uid, 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        st = lstat_of("upper/etc/passwd");
        assert_true(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0));
        assert_int_equal(st.st_uid, 0);
        assert_false(exists("merged/etc/passwd"));

        /* Twice is a no-op. */
        assert_int_equal(rootfs_idmap_fix_upper(upper, merged, &c, &changed, &err), 0);
        assert_int_equal(changed, 0);
}

static void test_ramfs_is_unsupported(void **state)
{
        (void)state;
        if (geteuid() != 0)
                skip();
        char dir[PATH_MAX];
        path(dir, "ramfs");
        assert_int_equal(mkdir(dir, 0755), 0);
        if (mount("ramfs", dir, "ramfs", 0, NULL) < 0)
                skip();
        struct quilt_container c = container();
        struct quilt_error err = { 0 };
        int userns_fd = rootfs_idmap_userns(&c.uid_range, &c.gid_range, &err);
        assert_true(userns_fd >= 0);
        int tree = rootfs_idmap_tree(dir, userns_fd, &err);
        close(userns_fd);
        assert_true(tree < 0);
        assert_true(rootfs_idmap_unsupported(tree));
        assert_non_null(strstr(err.message, "idmapping"));
        assert_int_equal(umount(dir), 0);
}

static void test_wanted(void **state)
{
        (void)state;
        struct quilt_container c = { .struct_size = sizeof(c) };
        assert_false(rootfs_idmap_wanted(&c));
        c = container();
        c.struct_size = offsetof(struct quilt_container, uid_range);   /* an older core */
        assert_false(rootfs_idmap_wanted(&c));
        assert_true(rootfs_idmap_unsupported(-EINVAL));
        assert_false(rootfs_idmap_unsupported(-ENOMEM));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_wanted),
                cmocka_unit_test(test_overlay_over_idmapped_lower),
                cmocka_unit_test(test_ramfs_is_unsupported),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
