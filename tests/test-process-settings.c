/* SPDX-License-Identifier: MIT */
/* rlimits.h and process_settings.h: rlimit names and checks; users and
 * groups resolved from a fake root tree's /etc/passwd and /etc/group
 * (comments, malformed and very long lines, symlinks that would lead out
 * of the root); quilt_process_apply in forked children (root only).
 *
 * BASE is /tmp/quilt-test-ps-XXXXXX; roots live in BASE/a/b/NAME, so a
 * "../../../.." that escaped would land in BASE or above. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <unistd.h>

#include <cmocka.h>

#include "process_settings.h"
#include "rlimits.h"

static char base[] = "/tmp/quilt-test-ps-XXXXXX";

/* ---- rlimits ---- */

static void test_rlimit_names(void **state)
{
        assert_int_equal(quilt_rlimit_resource("NOFILE"), RLIMIT_NOFILE);
        assert_int_equal(quilt_rlimit_resource("nofile"), RLIMIT_NOFILE);
        assert_int_equal(quilt_rlimit_resource("RLIMIT_NOFILE"), RLIMIT_NOFILE);
        assert_int_equal(quilt_rlimit_resource("rlimit_NoFile"), RLIMIT_NOFILE);
        assert_int_equal(quilt_rlimit_resource("FOO"), -EINVAL);
        assert_int_equal(quilt_rlimit_resource(""), -EINVAL);
        assert_int_equal(quilt_rlimit_resource("RLIMIT_"), -EINVAL);
        assert_int_equal(quilt_rlimit_resource("RLIMIT_RLIMIT_NOFILE"), -EINVAL);
        assert_int_equal(quilt_rlimit_resource("NOFILE "), -EINVAL);
        assert_int_equal(quilt_rlimit_resource(NULL), -EINVAL);

        static const struct { const char *name; int resource; } all[] = {
                { "AS", RLIMIT_AS }, { "CORE", RLIMIT_CORE }, { "CPU", RLIMIT_CPU },
                { "DATA", RLIMIT_DATA }, { "FSIZE", RLIMIT_FSIZE }, { "LOCKS", RLIMIT_LOCKS },
                { "MEMLOCK", RLIMIT_MEMLOCK }, { "MSGQUEUE", RLIMIT_MSGQUEUE }, { "NICE", RLIMIT_NICE },
                { "NOFILE", RLIMIT_NOFILE }, { "NPROC", RLIMIT_NPROC }, { "RSS", RLIMIT_RSS },
                { "RTPRIO", RLIMIT_RTPRIO }, { "RTTIME", RLIMIT_RTTIME },
                { "SIGPENDING", RLIMIT_SIGPENDING }, { "STACK", RLIMIT_STACK },
        };
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
                assert_int_equal(quilt_rlimit_resource(all[i].name), all[i].resource);
                assert_string_equal(quilt_rlimit_name(all[i].resource), all[i].name);
        }
        assert_string_equal(quilt_rlimit_name(-1), "?");
        assert_string_equal(quilt_rlimit_name(RLIM_NLIMITS), "?");
}

static void test_rlimit_check(void **state)
{
        char msg[256];
        assert_int_equal(quilt_rlimit_check("nofile", 1024, 2048, msg, sizeof(msg)), 0);
        assert_int_equal(quilt_rlimit_check("NOFILE", 1024, 1024, msg, sizeof(msg)), 0);
        assert_int_equal(quilt_rlimit_check("CORE", 0, 0, msg, sizeof(msg)), 0);
        assert_int_equal(quilt_rlimit_check("CORE", 0, QUILT_RLIMIT_UNLIMITED, msg, sizeof(msg)), 0);
        assert_int_equal(quilt_rlimit_check("STACK", QUILT_RLIMIT_UNLIMITED, QUILT_RLIMIT_UNLIMITED,
                                            msg, sizeof(msg)), 0);

        assert_int_equal(quilt_rlimit_check("FOO", 1, 1, msg, sizeof(msg)), -EINVAL);
        assert_string_equal(msg, "rlimits: unknown type 'FOO' (one of AS, CORE, CPU, DATA, FSIZE, LOCKS, "
                                 "MEMLOCK, MSGQUEUE, NICE, NOFILE, NPROC, RSS, RTPRIO, RTTIME, SIGPENDING, STACK)");
        assert_int_equal(quilt_rlimit_check("NOFILE", 2048, 1024, msg, sizeof(msg)), -EINVAL);
        assert_string_equal(msg, "rlimits: NOFILE: soft limit 2048 is above the hard limit 1024");
        assert_int_equal(quilt_rlimit_check("rlimit_nproc", QUILT_RLIMIT_UNLIMITED, 10, msg, sizeof(msg)), -EINVAL);
        assert_string_equal(msg, "rlimits: NPROC: soft limit unlimited is above the hard limit 10");
        /* No message buffer, and a tiny one: no overflow. */
        assert_int_equal(quilt_rlimit_check("FOO", 1, 1, NULL, 0), -EINVAL);
        char tiny[8];
        assert_int_equal(quilt_rlimit_check("FOO", 1, 1, tiny, sizeof(tiny)), -EINVAL);
        assert_string_equal(tiny, "rlimits");
}

static void test_rlimit_duplicates(void **state)
{
        char msg[256];
        uint32_t seen = 0;
        assert_int_equal(quilt_rlimit_check_unique("NOFILE", &seen, msg, sizeof(msg)), 0);
        assert_int_equal(quilt_rlimit_check_unique("CORE", &seen, msg, sizeof(msg)), 0);
        assert_int_equal(quilt_rlimit_check_unique("rlimit_nofile", &seen, msg, sizeof(msg)), -EINVAL);
        assert_string_equal(msg, "rlimits: NOFILE given twice");

        const struct quilt_rlimit_spec ok[] = {
                { "NOFILE", 1024, 4096 }, { "core", 0, QUILT_RLIMIT_UNLIMITED }, { "RLIMIT_NPROC", 100, 100 },
        };
        assert_int_equal(quilt_rlimit_check_list(ok, 3, msg, sizeof(msg)), 0);
        assert_int_equal(quilt_rlimit_check_list(NULL, 0, msg, sizeof(msg)), 0);
        const struct quilt_rlimit_spec dup[] = { { "NOFILE", 1, 1 }, { "Nofile", 2, 2 } };
        assert_int_equal(quilt_rlimit_check_list(dup, 2, msg, sizeof(msg)), -EINVAL);
        assert_string_equal(msg, "rlimits: NOFILE given twice");
        const struct quilt_rlimit_spec bad[] = { { "NOFILE", 1, 1 }, { "CORE", 5, 4 } };
        assert_int_equal(quilt_rlimit_check_list(bad, 2, msg, sizeof(msg)), -EINVAL);
        assert_string_equal(msg, "rlimits: CORE: soft limit 5 is above the hard limit 4");
        assert_int_equal(quilt_rlimit_value(QUILT_RLIMIT_UNLIMITED), RLIM_INFINITY);
        assert_int_equal(quilt_rlimit_value(1024), 1024);
}

/* ---- fake roots ---- */

static void write_file(const char *path, const char *data)
{
        FILE *f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fputs(data, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static void mkdir_p(const char *path)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s", path);
        for (char *slash = strchr(p + 1, '/');; slash = strchr(slash + 1, '/')) {
                if (slash)
                        *slash = '\0';
                assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
                if (!slash)
                        break;
                *slash = '/';
        }
}

/* BASE/a/b/NAME with etc/, its O_PATH fd. */
static int make_root(const char *name, char *path, size_t size)
{
        snprintf(path, size, "%s/a/b/%s", base, name);
        assert_int_equal(mkdir(path, 0755), 0);
        char etc[PATH_MAX];
        snprintf(etc, sizeof(etc), "%s/etc", path);
        assert_int_equal(mkdir(etc, 0755), 0);
        int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

static void root_file(const char *root, const char *rel, const char *data)
{
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", root, rel);
        write_file(p, data);
}

#define LONG_FIELD 200000

static char main_root[256];
static int main_fd = -1;

static char *long_passwd_lines(void)
{
        /* A malformed very long line, then a valid entry whose gecos is
         * very long: both must parse without harm. */
        size_t size = 2 * LONG_FIELD + 256;
        char *s = malloc(size);
        assert_non_null(s);
        char *p = s;
        memset(p, 'x', LONG_FIELD);
        p += LONG_FIELD;
        p += sprintf(p, "\nlonguser:x:1010:1010:");
        memset(p, 'g', LONG_FIELD);
        p += LONG_FIELD;
        sprintf(p, ":/home/longuser:/bin/sh\n");
        return s;
}

static char *long_group_line(void)
{
        /* "many" lists 20000 members, alice last. */
        size_t size = 20000 * 12 + 64;
        char *s = malloc(size);
        assert_non_null(s);
        char *p = s + sprintf(s, "many:x:500:");
        for (int i = 0; i < 19999; i++)
                p += sprintf(p, "user%05d,", i);
        sprintf(p, "alice\n");
        return s;
}

static int setup(void **state)
{
        if (!mkdtemp(base))
                return -1;
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/a", base);
        mkdir(p, 0755);
        snprintf(p, sizeof(p), "%s/a/b", base);
        mkdir(p, 0755);

        main_fd = make_root("main", main_root, sizeof(main_root));
        char *longp = long_passwd_lines();
        char *passwd = NULL;
        assert_true(asprintf(&passwd,
                "# the image's users\n"
                "root:x:0:0:root:/root:/bin/sh\n"
                "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                "\n"
                "malformed line without colons\n"
                "bad:x:notanumber:1:bad:/bad:/bin/sh\n"
                "toobig:x:4294967295:1:x:/x:/bin/sh\n"
                "toomany:x:7:7:x:/x:/bin/sh:extra\n"
                "+nisuser::::::\n"
                "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
                "%s"
                "bob2:x:1001:1001::/home/bob2:/bin/sh\n"
                "nohome:x:1003:1003\n"
                "emptyhome:x:1004:1004:::/bin/sh\n"
                "alice:x:2000:2000:second alice:/dup:/bin/sh\n"
                "last:x:1005:1005:no newline at the end:/home/last:/bin/sh",
                longp) > 0);
        root_file(main_root, "etc/passwd", passwd);
        free(passwd);
        free(longp);

        char *longg = long_group_line();
        char *group = NULL;
        assert_true(asprintf(&group,
                "# the image's groups\n"
                "root:x:0:root\n"
                "wheel:x:10:root,alice\n"
                "broken line\n"
                "staff:x:50:alice,bob2\n"
                "users:x:100:\n"
                "audio:x:29:bob2,alice,someone\n"
                "video:x:44:carol,alicex,xalice\n"
                "badgid:x:x:alice\n"
                "toobig:x:4294967295:alice\n"
                "nomembers:x:60\n"
                "%s"
                "dev:x:1000:\n"
                "staff:x:51:\n",
                longg) > 0);
        root_file(main_root, "etc/group", group);
        free(group);
        free(longg);
        return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int teardown(void **state)
{
        if (main_fd >= 0)
                close(main_fd);
        nftw(base, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}

/* ---- users ---- */

static void expect_groups(const struct quilt_process_settings *s, const gid_t *want, size_t n)
{
        assert_int_equal(s->n_groups, n);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(s->groups[i], want[i]);
}

static void resolve_ok(const char *user, char *const *groups, size_t n_groups,
                       struct quilt_process_settings *s)
{
        struct quilt_error err = { 0 };
        int r = quilt_process_resolve(main_fd, user, groups, n_groups, NULL, 0, s, &err);
        if (r < 0)
                fail_msg("resolve '%s': %s", user, err.message);
}

static void resolve_fails(int fd, const char *user, char *const *groups, size_t n_groups,
                          int code, const char *message)
{
        struct quilt_error err = { 0 };
        struct quilt_process_settings s = { .uid = 77, .home = strdup("/left") };
        assert_int_equal(quilt_process_resolve(fd, user, groups, n_groups, NULL, 0, &s, &err), code);
        assert_int_equal(err.code, code);
        if (message)
                assert_string_equal(err.message, message);
        /* ret is cleared: nothing leaks, nothing stale. */
        assert_int_equal(s.uid, 0);
        assert_null(s.home);
        assert_null(s.groups);
}

static void test_user_root(void **state)
{
        struct quilt_process_settings s = { 0 };
        /* "": root, with root's passwd entry and its memberships. */
        resolve_ok("", NULL, 0, &s);
        assert_int_equal(s.uid, 0);
        assert_int_equal(s.gid, 0);
        assert_string_equal(s.home, "/root");
        expect_groups(&s, (gid_t[]){ 0, 10 }, 2);
        resolve_ok(NULL, NULL, 0, &s);
        assert_int_equal(s.uid, 0);
        assert_string_equal(s.home, "/root");
        resolve_ok("0", NULL, 0, &s);
        expect_groups(&s, (gid_t[]){ 0, 10 }, 2);
        resolve_ok("root", NULL, 0, &s);
        assert_int_equal(s.uid, 0);
        quilt_process_settings_clear(&s);
        quilt_process_settings_clear(&s);
        quilt_process_settings_clear(NULL);
}

static void test_user_forms(void **state)
{
        struct quilt_process_settings s = { 0 };
        const gid_t alice_groups[] = { 1000, 10, 29, 50, 500 };

        resolve_ok("alice", NULL, 0, &s);
        assert_int_equal(s.uid, 1000);
        assert_int_equal(s.gid, 1000);
        assert_string_equal(s.home, "/home/alice");     /* the first "alice" wins */
        expect_groups(&s, alice_groups, 5);

        resolve_ok("1000", NULL, 0, &s);                /* found in passwd: as by name */
        assert_int_equal(s.uid, 1000);
        assert_int_equal(s.gid, 1000);
        assert_string_equal(s.home, "/home/alice");
        expect_groups(&s, alice_groups, 5);

        /* An explicit group: that group only (Docker's rule). */
        resolve_ok("alice:staff", NULL, 0, &s);         /* the first "staff" wins */
        assert_int_equal(s.uid, 1000);
        assert_int_equal(s.gid, 50);
        assert_string_equal(s.home, "/home/alice");
        expect_groups(&s, (gid_t[]){ 50 }, 1);

        resolve_ok("1000:50", NULL, 0, &s);
        assert_int_equal(s.uid, 1000);
        assert_int_equal(s.gid, 50);
        expect_groups(&s, (gid_t[]){ 50 }, 1);

        resolve_ok("1000:staff", NULL, 0, &s);
        assert_int_equal(s.gid, 50);
        resolve_ok("alice:7", NULL, 0, &s);
        assert_int_equal(s.uid, 1000);
        assert_int_equal(s.gid, 7);
        expect_groups(&s, (gid_t[]){ 7 }, 1);

        /* A uid the image does not know: gid 0, home "/", no memberships. */
        resolve_ok("4242", NULL, 0, &s);
        assert_int_equal(s.uid, 4242);
        assert_int_equal(s.gid, 0);
        assert_string_equal(s.home, "/");
        expect_groups(&s, (gid_t[]){ 0 }, 1);
        resolve_ok("4242:4343", NULL, 0, &s);
        assert_int_equal(s.gid, 4343);
        resolve_ok("4242:audio", NULL, 0, &s);
        assert_int_equal(s.gid, 29);

        resolve_ok("bob2", NULL, 0, &s);
        assert_int_equal(s.uid, 1001);
        expect_groups(&s, (gid_t[]){ 1001, 29, 50 }, 3);

        resolve_ok("nohome", NULL, 0, &s);
        assert_int_equal(s.uid, 1003);
        assert_string_equal(s.home, "/");
        resolve_ok("emptyhome", NULL, 0, &s);
        assert_string_equal(s.home, "/");
        resolve_ok("last", NULL, 0, &s);                /* no final newline */
        assert_string_equal(s.home, "/home/last");
        resolve_ok("longuser", NULL, 0, &s);            /* after a 200 kB line, with a 200 kB gecos */
        assert_int_equal(s.uid, 1010);
        assert_string_equal(s.home, "/home/longuser");
        resolve_ok("4294967294", NULL, 0, &s);          /* the highest valid uid */
        assert_int_equal(s.uid, 4294967294u);
        quilt_process_settings_clear(&s);
}

static void test_supplementary(void **state)
{
        struct quilt_process_settings s = { 0 };
        char *extra[] = { "audio", "44", "10", "4242" };
        resolve_ok("4242", extra, 4, &s);
        expect_groups(&s, (gid_t[]){ 0, 10, 29, 44, 4242 }, 5);
        /* Added to the memberships, duplicates dropped, gid first. */
        resolve_ok("alice", extra, 4, &s);
        expect_groups(&s, (gid_t[]){ 1000, 10, 29, 44, 50, 500, 4242 }, 7);
        char *with_primary[] = { "1000", "dev" };
        resolve_ok("alice:staff", with_primary, 2, &s);
        expect_groups(&s, (gid_t[]){ 50, 1000 }, 2);
        quilt_process_settings_clear(&s);

        char *unknown[] = { "audio", "nosuch" };
        resolve_fails(main_fd, "alice", unknown, 2, -ENOENT,
                      "group 'nosuch' not found in the container's /etc/group");
        char *empty[] = { "" };
        resolve_fails(main_fd, "alice", empty, 1, -EINVAL, "supplementary group 1 is empty");
        char *range[] = { "4294967295" };
        resolve_fails(main_fd, "alice", range, 1, -EINVAL, "supplementary group '4294967295': gid out of range");
}

static void test_user_errors(void **state)
{
        resolve_fails(main_fd, "bob", NULL, 0, -ENOENT, "user 'bob' not found in the container's /etc/passwd");
        resolve_fails(main_fd, "bob:staff", NULL, 0, -ENOENT,
                      "user 'bob' not found in the container's /etc/passwd");
        resolve_fails(main_fd, "alice:nogroup", NULL, 0, -ENOENT,
                      "group 'nogroup' not found in the container's /etc/group");
        resolve_fails(main_fd, "4242:nogroup", NULL, 0, -ENOENT,
                      "group 'nogroup' not found in the container's /etc/group");
        /* Malformed lines never match. */
        resolve_fails(main_fd, "bad", NULL, 0, -ENOENT, NULL);
        resolve_fails(main_fd, "toobig", NULL, 0, -ENOENT, NULL);
        resolve_fails(main_fd, "toomany", NULL, 0, -ENOENT, NULL);
        resolve_fails(main_fd, "+nisuser", NULL, 0, -ENOENT, NULL);
        resolve_fails(main_fd, "malformed line without colons", NULL, 0, -ENOENT, NULL);
        resolve_fails(main_fd, "# the image's users", NULL, 0, -ENOENT, NULL);
        resolve_fails(main_fd, "alice:badgid", NULL, 0, -ENOENT, NULL);
        resolve_fails(main_fd, "alice:broken line", NULL, 0, -ENOENT, NULL);

        resolve_fails(main_fd, "a:b:c", NULL, 0, -EINVAL, "user 'a:b:c': more than one ':'");
        resolve_fails(main_fd, ":50", NULL, 0, -EINVAL, "user ':50': no user before ':'");
        resolve_fails(main_fd, "alice:", NULL, 0, -EINVAL, "user 'alice:': no group after ':'");
        resolve_fails(main_fd, "4294967295", NULL, 0, -EINVAL, "user '4294967295': uid out of range");
        resolve_fails(main_fd, "99999999999999999999999", NULL, 0, -EINVAL, NULL);
        resolve_fails(main_fd, "1000:4294967295", NULL, 0, -EINVAL, "user '1000:4294967295': gid out of range");
        resolve_fails(main_fd, "-1", NULL, 0, -ENOENT, NULL);      /* a name, not a number */
}

/* ---- roots whose files are missing, odd, or lead out ---- */

static void test_missing_files(void **state)
{
        char path[256];
        int fd = make_root("empty", path, sizeof(path));
        struct quilt_process_settings s = { 0 };
        struct quilt_error err = { 0 };

        /* No /etc/passwd: numbers still work, names do not. */
        assert_int_equal(quilt_process_resolve(fd, "", NULL, 0, NULL, 0, &s, &err), 0);
        assert_int_equal(s.uid, 0);
        assert_int_equal(s.gid, 0);
        assert_string_equal(s.home, "/");
        expect_groups(&s, (gid_t[]){ 0 }, 1);
        assert_int_equal(quilt_process_resolve(fd, "1000:1000", NULL, 0, NULL, 0, &s, &err), 0);
        assert_int_equal(s.gid, 1000);
        quilt_process_settings_clear(&s);
        resolve_fails(fd, "root", NULL, 0, -ENOENT, "user 'root' not found in the container's /etc/passwd");
        resolve_fails(fd, "0:wheel", NULL, 0, -ENOENT, "group 'wheel' not found in the container's /etc/group");
        close(fd);

        /* etc is a file: as missing. */
        fd = make_root("etcfile", path, sizeof(path));
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/etc", path);
        assert_int_equal(rmdir(p), 0);
        write_file(p, "not a directory\n");
        assert_int_equal(quilt_process_resolve(fd, "5", NULL, 0, NULL, 0, &s, &err), 0);
        quilt_process_settings_clear(&s);
        close(fd);
}

static void test_odd_files(void **state)
{
        char path[256], p[PATH_MAX];

        /* A FIFO must not hang the monitor. */
        int fd = make_root("fifo", path, sizeof(path));
        snprintf(p, sizeof(p), "%s/etc/passwd", path);
        assert_int_equal(mkfifo(p, 0644), 0);
        resolve_fails(fd, "0", NULL, 0, -EINVAL, "the container's /etc/passwd is not a regular file");
        close(fd);

        /* A directory. */
        fd = make_root("dir", path, sizeof(path));
        snprintf(p, sizeof(p), "%s/etc/group", path);
        assert_int_equal(mkdir(p, 0755), 0);
        root_file(path, "etc/passwd", "u:x:5:5::/h:/bin/sh\n");
        resolve_fails(fd, "u", NULL, 0, -EINVAL, "the container's /etc/group is not a regular file");
        close(fd);

        /* Too large (sparse, so cheap). */
        fd = make_root("huge", path, sizeof(path));
        snprintf(p, sizeof(p), "%s/etc/passwd", path);
        int f = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(f >= 0);
        assert_int_equal(ftruncate(f, 17 << 20), 0);
        close(f);
        resolve_fails(fd, "0", NULL, 0, -EFBIG, "the container's /etc/passwd is larger than 16 MiB");
        close(fd);

        /* NUL bytes: that line is skipped, the next one is read. */
        fd = make_root("nul", path, sizeof(path));
        snprintf(p, sizeof(p), "%s/etc/passwd", path);
        static const char nul[] = "ghost\0:x:7:7::/g:/bin/sh\nreal:x:8:8::/r:/bin/sh\n";
        f = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_int_equal(write(f, nul, sizeof(nul) - 1), (ssize_t)(sizeof(nul) - 1));
        close(f);
        struct quilt_process_settings s = { 0 };
        struct quilt_error err = { 0 };
        assert_int_equal(quilt_process_resolve(fd, "real", NULL, 0, NULL, 0, &s, &err), 0);
        assert_int_equal(s.uid, 8);
        quilt_process_settings_clear(&s);
        resolve_fails(fd, "ghost", NULL, 0, -ENOENT, NULL);
        close(fd);
}

/* etc/passwd and etc/group are symlinks that would lead to files outside
 * the root (relative "../../../..", and absolute): they resolve inside it. */
static void test_symlinks_stay_inside(void **state)
{
        char path[256], p[PATH_MAX], target[PATH_MAX];
        int fd = make_root("links", path, sizeof(path));

        /* Outside the root, at BASE/outside-*: what an escape would read. */
        snprintf(p, sizeof(p), "%s/outside-passwd", base);
        write_file(p, "outsider:x:666:666::/outside:/bin/sh\nshared:x:666:666::/outside:/bin/sh\n");
        snprintf(p, sizeof(p), "%s/outside-group", base);
        write_file(p, "evil:x:666:shared\n");

        /* Inside the root, at the same absolute path. */
        snprintf(p, sizeof(p), "%s%s", path, base);
        mkdir_p(p);
        snprintf(p, sizeof(p), "%s%s/outside-passwd", path, base);
        write_file(p, "insider:x:1500:1500::/inside:/bin/sh\nshared:x:1501:1501::/inside:/bin/sh\n");
        snprintf(p, sizeof(p), "%s%s/outside-group", path, base);
        write_file(p, "good:x:1600:shared\n");

        /* Relative, with more ".." than the root is deep. */
        snprintf(p, sizeof(p), "%s/etc/passwd", path);
        snprintf(target, sizeof(target), "../../../../../../../..%s/outside-passwd", base);
        assert_int_equal(symlink(target, p), 0);
        /* Absolute. */
        snprintf(p, sizeof(p), "%s/etc/group", path);
        snprintf(target, sizeof(target), "%s/outside-group", base);
        assert_int_equal(symlink(target, p), 0);

        struct quilt_process_settings s = { 0 };
        struct quilt_error err = { 0 };
        assert_int_equal(quilt_process_resolve(fd, "shared", NULL, 0, NULL, 0, &s, &err), 0);
        assert_int_equal(s.uid, 1501);
        assert_string_equal(s.home, "/inside");
        expect_groups(&s, (gid_t[]){ 1501, 1600 }, 2);
        quilt_process_settings_clear(&s);
        resolve_fails(fd, "outsider", NULL, 0, -ENOENT, NULL);
        resolve_fails(fd, "0:evil", NULL, 0, -ENOENT, NULL);

        /* A symlink to itself: an error, not a hang. */
        close(fd);
        fd = make_root("loop", path, sizeof(path));
        snprintf(p, sizeof(p), "%s/etc/passwd", path);
        assert_int_equal(symlink("../../../../etc/passwd", p), 0);
        assert_true(quilt_process_resolve(fd, "0", NULL, 0, NULL, 0, &s, &err) < 0);
        assert_int_equal(err.code, -ELOOP);
        assert_string_equal(err.message, "reading the container's /etc/passwd: Too many levels of symbolic links");
        close(fd);
}

static void test_resolve_rlimits(void **state)
{
        struct quilt_process_settings s = { 0 };
        struct quilt_error err = { 0 };
        const struct quilt_rlimit_spec rl[] = {
                { "nofile", 512, 1024 }, { "RLIMIT_CORE", 0, QUILT_RLIMIT_UNLIMITED },
        };
        assert_int_equal(quilt_process_resolve(main_fd, "alice", NULL, 0, rl, 2, &s, &err), 0);
        assert_int_equal(s.n_rlimits, 2);
        assert_int_equal(s.rlimits[0].resource, RLIMIT_NOFILE);
        assert_int_equal(s.rlimits[0].limit.rlim_cur, 512);
        assert_int_equal(s.rlimits[0].limit.rlim_max, 1024);
        assert_int_equal(s.rlimits[1].resource, RLIMIT_CORE);
        assert_int_equal(s.rlimits[1].limit.rlim_cur, 0);
        assert_true(s.rlimits[1].limit.rlim_max == RLIM_INFINITY);
        quilt_process_settings_clear(&s);

        const struct quilt_rlimit_spec bad[] = { { "FOO", 1, 1 } };
        assert_int_equal(quilt_process_resolve(main_fd, "alice", NULL, 0, bad, 1, &s, &err), -EINVAL);
        assert_non_null(strstr(err.message, "rlimits: unknown type 'FOO' (one of AS, CORE,"));
        const struct quilt_rlimit_spec order[] = { { "NOFILE", 2048, 1024 } };
        assert_int_equal(quilt_process_resolve(main_fd, "alice", NULL, 0, order, 1, &s, &err), -EINVAL);
        assert_string_equal(err.message, "rlimits: NOFILE: soft limit 2048 is above the hard limit 1024");
        const struct quilt_rlimit_spec dup[] = { { "NOFILE", 1, 1 }, { "rlimit_nofile", 1, 1 } };
        assert_int_equal(quilt_process_resolve(main_fd, "alice", NULL, 0, dup, 2, &s, &err), -EINVAL);
        assert_string_equal(err.message, "rlimits: NOFILE given twice");
        assert_null(s.rlimits);
}

/* ---- apply, in forked children ---- */

/* Runs fn in a child with a timeout; returns its exit status. */
static int in_child(int (*fn)(void))
{
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                alarm(10);
                _exit(fn());
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static bool have_cap(int cap)
{
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = { 0 };
        if (syscall(SYS_capget, &h, d) < 0)
                return false;
        return d[cap / 32].effective & (1u << (cap % 32));
}

static int child_apply_ok(void)
{
        /* Lower the hard limit first, so apply has to raise it: it works
         * because setrlimit comes before dropping privileges.  Only with
         * CAP_SYS_RESOURCE (some VMs' root lacks it). */
        if (have_cap(CAP_SYS_RESOURCE)) {
                struct rlimit low = { 256, 256 };
                if (setrlimit(RLIMIT_NOFILE, &low) < 0)
                        return 10;
        } else {
                fprintf(stderr, "no CAP_SYS_RESOURCE: not testing a raised hard limit\n");
        }
        gid_t groups[] = { 1000, 50, 29 };
        struct quilt_process_rlimit rl[] = {
                { RLIMIT_NOFILE, { 512, 2048 } },
                { RLIMIT_CORE, { 0, RLIM_INFINITY } },
        };
        struct quilt_process_settings s = {
                .uid = 1000, .gid = 1000, .groups = groups, .n_groups = 3,
                .rlimits = rl, .n_rlimits = 2,
        };
        struct quilt_error err = { 0 };
        if (quilt_process_apply(&s, &err) < 0) {
                fprintf(stderr, "apply: %s\n", err.message);
                return 11;
        }
        struct rlimit got;
        if (getrlimit(RLIMIT_NOFILE, &got) < 0 || got.rlim_cur != 512 || got.rlim_max != 2048)
                return 12;
        if (getrlimit(RLIMIT_CORE, &got) < 0 || got.rlim_cur != 0 || got.rlim_max != RLIM_INFINITY)
                return 13;
        uid_t r, e, sv;
        if (getresuid(&r, &e, &sv) < 0 || r != 1000 || e != 1000 || sv != 1000)
                return 14;
        gid_t gr, ge, gs;
        if (getresgid(&gr, &ge, &gs) < 0 || gr != 1000 || ge != 1000 || gs != 1000)
                return 15;
        gid_t now[8];
        int n = getgroups(8, now);
        if (n != 3)
                return 16;
        bool seen50 = false, seen29 = false, seen1000 = false;
        for (int i = 0; i < n; i++) {
                seen50 |= now[i] == 50;
                seen29 |= now[i] == 29;
                seen1000 |= now[i] == 1000;
        }
        if (!seen50 || !seen29 || !seen1000)
                return 17;
        /* Really unprivileged now. */
        if (setresuid(0, 0, 0) == 0)
                return 18;
        return 0;
}

static int child_apply_root_clears_groups(void)
{
        gid_t extra[] = { 4242, 4343 };
        if (setgroups(2, extra) < 0)
                return 10;
        gid_t groups[] = { 0 };
        struct quilt_process_settings s = { .uid = 0, .gid = 0, .groups = groups, .n_groups = 1 };
        struct quilt_error err = { 0 };
        if (quilt_process_apply(&s, &err) < 0)
                return 11;
        gid_t now[8];
        if (getgroups(8, now) != 1 || now[0] != 0)
                return 12;
        return getuid() == 0 ? 0 : 13;
}

static int child_apply_errors(void)
{
        struct quilt_error err = { 0 };
        struct quilt_process_rlimit bad = { RLIMIT_NOFILE, { 2048, 1024 } };
        struct quilt_process_settings s = { .uid = 1000, .gid = 1000, .rlimits = &bad, .n_rlimits = 1 };
        if (quilt_process_apply(&s, &err) != -EINVAL || strcmp(err.message, "setrlimit NOFILE: Invalid argument"))
                return 10;
        /* Without privileges: setgroups fails first. */
        if (setresgid(1000, 1000, 1000) < 0 || setresuid(1000, 1000, 1000) < 0)
                return 11;
        gid_t groups[] = { 1000 };
        struct quilt_process_settings u = { .uid = 0, .gid = 1000, .groups = groups, .n_groups = 1 };
        if (quilt_process_apply(&u, &err) != -EPERM || strcmp(err.message, "setgroups: Operation not permitted"))
                return 12;
        struct rlimit cur;
        getrlimit(RLIMIT_NOFILE, &cur);
        struct quilt_process_rlimit raise = { RLIMIT_NOFILE, { cur.rlim_max, RLIM_INFINITY } };
        struct quilt_process_settings v = { .uid = 1000, .gid = 1000, .rlimits = &raise, .n_rlimits = 1 };
        if (cur.rlim_max != RLIM_INFINITY &&
            (quilt_process_apply(&v, &err) != -EPERM || strcmp(err.message, "setrlimit NOFILE: Operation not permitted")))
                return 13;
        return 0;
}

static void test_apply(void **state)
{
        if (geteuid() != 0)
                skip();
        assert_int_equal(in_child(child_apply_ok), 0);
        assert_int_equal(in_child(child_apply_root_clears_groups), 0);
        assert_int_equal(in_child(child_apply_errors), 0);
}

/* The whole path: resolve from the fake root, apply in a child. */
static int child_resolved(void)
{
        struct quilt_process_settings s = { 0 };
        struct quilt_error err = { 0 };
        const struct quilt_rlimit_spec rl[] = { { "NOFILE", 100, 200 } };
        char *extra[] = { "44" };
        if (quilt_process_resolve(main_fd, "bob2", extra, 1, rl, 1, &s, &err) < 0)
                return 10;
        if (quilt_process_apply(&s, &err) < 0)
                return 11;
        if (getuid() != 1001 || getgid() != 1001 || getgroups(0, NULL) != 4)
                return 12;
        struct rlimit got;
        getrlimit(RLIMIT_NOFILE, &got);
        return got.rlim_cur == 100 && got.rlim_max == 200 ? 0 : 13;
}

static void test_resolve_and_apply(void **state)
{
        if (geteuid() != 0)
                skip();
        assert_int_equal(in_child(child_resolved), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_rlimit_names),
                cmocka_unit_test(test_rlimit_check),
                cmocka_unit_test(test_rlimit_duplicates),
                cmocka_unit_test(test_user_root),
                cmocka_unit_test(test_user_forms),
                cmocka_unit_test(test_supplementary),
                cmocka_unit_test(test_user_errors),
                cmocka_unit_test(test_missing_files),
                cmocka_unit_test(test_odd_files),
                cmocka_unit_test(test_symlinks_stay_inside),
                cmocka_unit_test(test_resolve_rlimits),
                cmocka_unit_test(test_apply),
                cmocka_unit_test(test_resolve_and_apply),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
