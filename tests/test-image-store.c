/* SPDX-License-Identifier: MIT */
/* The rootfs plugin's image store (plugins/rootfs/image_store.c) and its
 * SHA-256: known digests, unpack once, concurrent creates from two
 * processes unpack once, a failed unpack leaves nothing behind.  All under
 * one /tmp/quilt-test-XXXXXX directory. */
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "image_store.h"
#include "plugin_chain.h"       /* quilt_host_table(): the real remove_tree */
#include "sha256.h"

static char base[] = "/tmp/quilt-test-XXXXXX";
static char store[256];
static char sha_dir[512];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void remove_tree(const char *path)
{
        nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static int setup(void **state)
{
        (void)state;
        if (!mkdtemp(base))
                return -1;
        snprintf(store, sizeof(store), "%s/state/images", base);
        snprintf(sha_dir, sizeof(sha_dir), "%s/sha256", store);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        remove_tree(base);
        return 0;
}

/* A fresh store for each test. */
static int reset_store(void **state)
{
        (void)state;
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/state", base);
        remove_tree(p);
        return 0;
}

/* ---- SHA-256 ---------------------------------------------------------- */

static void hex_of(const void *data, size_t n, char out[QUILT_SHA256_HEX_SIZE])
{
        struct quilt_sha256 s;
        uint8_t d[QUILT_SHA256_DIGEST_SIZE];
        quilt_sha256_init(&s);
        quilt_sha256_update(&s, data, n);
        quilt_sha256_final(&s, d);
        quilt_sha256_hex(d, out);
}

static void test_sha256_vectors(void **state)
{
        (void)state;
        /* FIPS 180-4 / NIST examples. */
        static const struct {
                const char *in;
                const char *hex;
        } v[] = {
                { "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
                { "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
                { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
                { "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                  "klmnopqrlmnopqrsmnopqrstnopqrstu",
                  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1" },
        };
        char hex[QUILT_SHA256_HEX_SIZE];
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
                hex_of(v[i].in, strlen(v[i].in), hex);
                assert_string_equal(hex, v[i].hex);
        }

        /* One million 'a', fed in odd-sized pieces across block boundaries. */
        struct quilt_sha256 s;
        uint8_t d[QUILT_SHA256_DIGEST_SIZE];
        static char a[1000000];
        memset(a, 'a', sizeof(a));
        quilt_sha256_init(&s);
        size_t off = 0, step = 1;
        while (off < sizeof(a)) {
                size_t n = step < sizeof(a) - off ? step : sizeof(a) - off;
                quilt_sha256_update(&s, a + off, n);
                off += n;
                step = step * 7 % 131 + 1;
        }
        quilt_sha256_final(&s, d);
        quilt_sha256_hex(d, hex);
        assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

        /* Lengths around the padding boundary (55, 56, 63, 64, 65): pieces
         * and one-shot agree. */
        static const size_t lens[] = { 55, 56, 57, 63, 64, 65, 119, 120, 128 };
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
                char one[QUILT_SHA256_HEX_SIZE], two[QUILT_SHA256_HEX_SIZE];
                hex_of(a, lens[i], one);
                quilt_sha256_init(&s);
                for (size_t k = 0; k < lens[i]; k++)
                        quilt_sha256_update(&s, a + k, 1);
                quilt_sha256_final(&s, d);
                quilt_sha256_hex(d, two);
                assert_string_equal(one, two);
        }
}

static void test_sha256_fd(void **state)
{
        (void)state;
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s/abc", base);
        int fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "abc", 3), 3);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        char hex[QUILT_SHA256_HEX_SIZE];
        uint64_t size = 0;
        assert_int_equal(quilt_sha256_fd(fd, hex, &size), 0);
        assert_int_equal(size, 3);
        assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        close(fd);
        unlink(p);
}

/* ---- the store -------------------------------------------------------- */

static void test_default_path(void **state)
{
        (void)state;
        char *p = image_store_default_path("/var/lib/quilt/containers/abc");
        assert_non_null(p);
        assert_string_equal(p, "/var/lib/quilt/images");
        free(p);
        p = image_store_default_path("/var/lib/quilt/containers/abc//");
        assert_non_null(p);
        assert_string_equal(p, "/var/lib/quilt/images");
        free(p);
        assert_null(image_store_default_path("/abc"));
        assert_null(image_store_default_path(""));
}

/* A tarball with a few files; `tag` makes different images differ.
 * `blob` bytes of incompressible-ish data make the unpack take a while. */
static void build_tar(const char *path, const char *tag, size_t blob, const char *evil)
{
        struct archive *a = archive_write_new();
        assert_non_null(a);
        archive_write_set_format_pax_restricted(a);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        struct archive_entry *e = archive_entry_new();

        archive_entry_set_pathname(e, "etc");
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, 0755);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);

        const char *files[] = { "etc/tag", evil };
        for (size_t i = 0; i < 2; i++) {
                if (!files[i])
                        continue;
                archive_entry_clear(e);
                archive_entry_set_pathname(e, files[i]);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_size(e, (la_int64_t)strlen(tag));
                assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                assert_int_equal(archive_write_data(a, tag, strlen(tag)), (la_ssize_t)strlen(tag));
        }
        if (blob) {
                char *buf = malloc(blob);
                assert_non_null(buf);
                uint32_t x = 2463534242u;
                for (size_t i = 0; i < blob; i++) {
                        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
                        buf[i] = (char)x;
                }
                for (int k = 0; k < 8; k++) {
                        char name[32];
                        snprintf(name, sizeof(name), "blob%d", k);
                        archive_entry_clear(e);
                        archive_entry_set_pathname(e, name);
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_perm(e, 0644);
                        archive_entry_set_size(e, (la_int64_t)blob);
                        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
                        assert_int_equal(archive_write_data(a, buf, blob), (la_ssize_t)blob);
                }
                free(buf);
        }
        archive_entry_free(e);
        assert_int_equal(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

static void file_hex(const char *path, char hex[QUILT_SHA256_HEX_SIZE])
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(quilt_sha256_fd(fd, hex, NULL), 0);
        close(fd);
}

static char *slurp(const char *path)
{
        static char buf[4096];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n < 0)
                return NULL;
        buf[n] = '\0';
        return buf;
}

/* Names in sha_dir, sorted into one comma-separated string. */
static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *list_sha_dir(void)
{
        static char out[8192];
        char *names[64];
        size_t n = 0;
        out[0] = '\0';
        DIR *d = opendir(sha_dir);
        if (!d)
                return out;
        struct dirent *de;
        while ((de = readdir(d)) && n < 64)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
                        names[n++] = strdup(de->d_name);
        closedir(d);
        qsort(names, n, sizeof(names[0]), cmp_str);
        for (size_t i = 0; i < n; i++) {
                strncat(out, names[i], sizeof(out) - strlen(out) - 2);
                strcat(out, ",");
                free(names[i]);
        }
        return out;
}

static void test_unpack_once(void **state)
{
        (void)state;
        const struct quilt_host *host = quilt_host_table();
        char img[512], img2[512], hex[QUILT_SHA256_HEX_SIZE];
        snprintf(img, sizeof(img), "%s/one.tar", base);
        snprintf(img2, sizeof(img2), "%s/two.tar", base);
        build_tar(img, "one\n", 0, NULL);
        build_tar(img2, "two\n", 0, NULL);
        file_hex(img, hex);

        struct quilt_error err = { 0 };
        struct image_store_entry e = { 0 };
        assert_int_equal(image_store_get(store, img, host, &e, &err), 0);
        assert_true(e.unpacked);
        assert_string_equal(e.hex, hex);
        char want[1024];
        snprintf(want, sizeof(want), "%s/%s/rootfs", sha_dir, hex);
        assert_string_equal(e.rootfs, want);
        char p[2048];
        snprintf(p, sizeof(p), "%s/etc/tag", e.rootfs);
        assert_string_equal(slurp(p), "one\n");

        /* meta */
        snprintf(p, sizeof(p), "%s/meta", e.dir);
        const char *meta = slurp(p);
        assert_non_null(meta);
        char line[1024];
        snprintf(line, sizeof(line), "digest=sha256:%s\n", hex);
        assert_non_null(strstr(meta, line));
        snprintf(line, sizeof(line), "source=%s\n", img);
        assert_non_null(strstr(meta, line));
        struct stat st;
        assert_int_equal(stat(img, &st), 0);
        snprintf(line, sizeof(line), "size=%lld\n", (long long)st.st_size);
        assert_non_null(strstr(meta, line));
        assert_non_null(strstr(meta, "unpacked_bytes=4\n"));
        assert_non_null(strstr(meta, "created=20"));
        image_store_entry_clear(&e);
        image_store_entry_clear(&e);            /* idempotent */

        /* The second time: a hit, the same tree (same inode). */
        snprintf(p, sizeof(p), "%s/%s/rootfs/etc/tag", sha_dir, hex);
        struct stat before;
        assert_int_equal(stat(p, &before), 0);
        assert_int_equal(image_store_get(store, img, host, &e, &err), 0);
        assert_false(e.unpacked);
        assert_string_equal(e.hex, hex);
        struct stat after;
        assert_int_equal(stat(p, &after), 0);
        assert_int_equal(before.st_ino, after.st_ino);
        image_store_entry_clear(&e);

        /* A second image never collides with the first. */
        assert_int_equal(image_store_get(store, img2, host, &e, &err), 0);
        assert_true(e.unpacked);
        assert_string_not_equal(e.hex, hex);
        snprintf(p, sizeof(p), "%s/etc/tag", e.rootfs);
        assert_string_equal(slurp(p), "two\n");
        image_store_entry_clear(&e);
        /* Exactly two entries and their locks, no temporary directory. */
        const char *names = list_sha_dir();
        assert_int_equal(strlen(names), 2 * (64 + 1) + 2 * (64 + 5 + 1));
        assert_null(strstr(names, ".tmp-"));
        unlink(img);
        unlink(img2);
}

static void test_concurrent_unpack_once(void **state)
{
        (void)state;
        char img[512], hex[QUILT_SHA256_HEX_SIZE];
        snprintf(img, sizeof(img), "%s/big.tar", base);
        build_tar(img, "big\n", 4 << 20, NULL);         /* 32 MiB: the unpack takes a while */
        file_hex(img, hex);

        enum { N = 4 };
        int go[2];
        assert_int_equal(pipe(go), 0);
        pid_t pids[N];
        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        close(go[1]);
                        char c;
                        if (read(go[0], &c, 1) < 0)     /* EOF: everybody starts together */
                                _exit(3);
                        struct quilt_error err = { 0 };
                        struct image_store_entry e = { 0 };
                        int r = image_store_get(store, img, quilt_host_table(), &e, &err);
                        if (r < 0) {
                                fprintf(stderr, "child: %s\n", err.message);
                                _exit(2);
                        }
                        _exit(e.unpacked ? 10 : 0);
                }
        }
        close(go[0]);
        close(go[1]);
        int unpacked = 0, hits = 0;
        for (int i = 0; i < N; i++) {
                int status;
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                assert_true(WIFEXITED(status));
                if (WEXITSTATUS(status) == 10)
                        unpacked++;
                else if (WEXITSTATUS(status) == 0)
                        hits++;
        }
        assert_int_equal(unpacked, 1);
        assert_int_equal(hits, N - 1);
        char want[256];
        snprintf(want, sizeof(want), "%s,%s.lock,", hex, hex);
        assert_string_equal(list_sha_dir(), want);
        unlink(img);
}

static void test_failure_leaves_nothing(void **state)
{
        (void)state;
        char img[512], hex[QUILT_SHA256_HEX_SIZE], escape[PATH_MAX];
        snprintf(img, sizeof(img), "%s/evil.tar", base);
        /* From STORE/sha256/HEX.tmp-XXXXXX/rootfs, "../../../../" is base/state. */
        build_tar(img, "evil\n", 1 << 20, "../../../../quilt-test-escape");
        file_hex(img, hex);
        snprintf(escape, sizeof(escape), "%s/state/quilt-test-escape", base);

        struct quilt_error err = { 0 };
        struct image_store_entry e = { 0 };
        int r = image_store_get(store, img, quilt_host_table(), &e, &err);
        assert_true(r < 0);
        assert_non_null(strstr(err.message, "quilt-test-escape"));
        assert_null(e.dir);
        assert_true(access(escape, F_OK) < 0);
        char want[256];
        snprintf(want, sizeof(want), "%s.lock,", hex);  /* the lock only: no entry, no tmp */
        assert_string_equal(list_sha_dir(), want);

        /* Again: the same clean failure (no half entry taken for a hit). */
        r = image_store_get(store, img, quilt_host_table(), &e, &err);
        assert_true(r < 0);
        assert_string_equal(list_sha_dir(), want);
        unlink(img);

        /* A missing or non-regular image fails before touching the store. */
        r = image_store_get(store, "/nonexistent/quilt-test.tar", quilt_host_table(), &e, &err);
        assert_int_equal(r, -ENOENT);
        r = image_store_get(store, base, quilt_host_table(), &e, &err);
        assert_int_equal(r, -EINVAL);
        r = image_store_get("relative/store", img, quilt_host_table(), &e, &err);
        assert_int_equal(r, -EINVAL);
        assert_string_equal(list_sha_dir(), want);
}

static void test_stale_tmp_removed(void **state)
{
        (void)state;
        char img[512], hex[QUILT_SHA256_HEX_SIZE], stale[PATH_MAX];
        snprintf(img, sizeof(img), "%s/crash.tar", base);
        build_tar(img, "crash\n", 0, NULL);
        file_hex(img, hex);
        /* An unpack that died half-way (process killed holding the lock). */
        snprintf(stale, sizeof(stale), "%s/%s.tmp-dead01/rootfs/etc", sha_dir, hex);
        for (char *s = stale + 1; *s; s++) {            /* mkdir -p */
                if (*s != '/')
                        continue;
                *s = '\0';
                assert_true(mkdir(stale, 0700) == 0 || errno == EEXIST);
                *s = '/';
        }
        assert_int_equal(mkdir(stale, 0700), 0);

        struct quilt_error err = { 0 };
        struct image_store_entry e = { 0 };
        assert_int_equal(image_store_get(store, img, quilt_host_table(), &e, &err), 0);
        assert_true(e.unpacked);
        image_store_entry_clear(&e);
        char want[256];
        snprintf(want, sizeof(want), "%s,%s.lock,", hex, hex);
        assert_string_equal(list_sha_dir(), want);
        unlink(img);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sha256_vectors),
                cmocka_unit_test(test_sha256_fd),
                cmocka_unit_test(test_default_path),
                cmocka_unit_test_setup(test_unpack_once, reset_store),
                cmocka_unit_test_setup(test_concurrent_unpack_once, reset_store),
                cmocka_unit_test_setup(test_failure_leaves_nothing, reset_store),
                cmocka_unit_test_setup(test_stale_tmp_removed, reset_store),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
