/* SPDX-License-Identifier: MIT */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "oci_json.h"
#include "oci_import.h"
#include "rootfs.h"
#include "tar_entry.h"
#include "tar_extract.h"

/* Manifests, indexes and configs are small; a bigger one is refused. */
#define JSON_MAX (4 * 1024 * 1024)
#define LAYERS_MAX 1024
#define INDEX_DEPTH_MAX 4


#define imp_log(host, level, ...)                                                      \
        do {                                                                           \
                if (QUILT_HOST_HAS((host), log))                                      \
                        (host)->log((level), ROOTFS_PLUGIN_NAME, __VA_ARGS__);         \
        } while (0)

static void json_putp(json_object **j)
{
        if (*j)
                json_object_put(*j);
}
#define _cleanup_json_ __attribute__((cleanup(json_putp)))

/* `rel` below dir_fd, never through a symlink or "..". */
static int open_beneath(int dir_fd, const char *rel, int flags)
{
        struct open_how how = {
                .flags = (uint64_t)(flags | O_CLOEXEC | O_NOCTTY),
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int)syscall(SYS_openat2, dir_fd, rel, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

static bool is_hex64(const char *s, size_t n)
{
        if (n != 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* Open `rel`, a regular file, hash it and compare with `expect` (64 hex,
 * or NULL: any); the fd is back at offset 0.  `what` names it in messages. */
static int open_verified(int dir_fd, const char *rel, const char *what, const char *expect,
                         int64_t expect_size, char actual[QUILT_SHA256_HEX_SIZE],
                         uint64_t *ret_size, struct quilt_error *err)
{
        int fd = open_beneath(dir_fd, rel, O_RDONLY);
        if (fd < 0)
                return quilt_error_set(err, fd, "%s: opening %s: %s", what, rel, strerror(-fd));
        struct stat st;
        int r = 0;
        if (fstat(fd, &st) < 0)
                r = quilt_error_set(err, -errno, "%s: %s: %m", what, rel);
        else if (!S_ISREG(st.st_mode))
                r = quilt_error_set(err, -EINVAL, "%s: %s is not a regular file", what, rel);
        uint64_t size = 0;
        if (r == 0 && (r = quilt_sha256_fd(fd, actual, &size)) < 0)
                r = quilt_error_set(err, r, "%s: hashing %s: %s", what, rel, strerror(-r));
        if (r == 0 && expect && strcmp(expect, actual) != 0)
                r = quilt_error_set(err, -EBADMSG,
                                    "%s: digest mismatch: expected sha256:%s, the content is sha256:%s",
                                    what, expect, actual);
        if (r == 0 && expect_size >= 0 && (uint64_t)expect_size != size)
                r = quilt_error_set(err, -EBADMSG, "%s: size mismatch: expected %lld bytes, got %llu",
                                    what, (long long)expect_size, (unsigned long long)size);
        if (r == 0 && lseek(fd, 0, SEEK_SET) < 0)
                r = quilt_error_set(err, -errno, "%s: seek: %m", what);
        if (r < 0) {
                close(fd);
                return r;
        }
        if (ret_size)
                *ret_size = size;
        return fd;
}

static int read_json_fd(int fd, const char *what, json_object **ret, struct quilt_error *err)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return quilt_error_set(err, -errno, "%s: %m", what);
        if (st.st_size > JSON_MAX)
                return quilt_error_set(err, -EFBIG, "%s: larger than %d bytes", what, JSON_MAX);
        size_t len = (size_t)st.st_size;
        _cleanup_free_ char *buf = malloc(len + 1);
        if (!buf)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        size_t got = 0;
        while (got < len) {
                ssize_t n = read(fd, buf + got, len - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return quilt_error_set(err, -errno, "%s: reading: %m", what);
                if (n == 0)
                        break;
                got += (size_t)n;
        }
        buf[got] = '\0';
        json_tokener *tok = json_tokener_new();
        if (!tok)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        json_object *j = json_tokener_parse_ex(tok, buf, (int)got);
        enum json_tokener_error je = json_tokener_get_error(tok);
        json_tokener_free(tok);
        if (!j || je != json_tokener_success) {
                if (j)
                        json_object_put(j);
                return quilt_error_set(err, -EBADMSG, "%s: not valid JSON (%s)", what,
                                       json_tokener_error_desc(je));
        }
        *ret = j;
        return 0;
}

/* A file of the layout read as JSON, unverified (index.json, oci-layout,
 * manifest.json: what names the blobs). */
static int read_json_file(int dir_fd, const char *rel, json_object **ret, struct quilt_error *err)
{
        _cleanup_close_ int fd = open_beneath(dir_fd, rel, O_RDONLY);
        if (fd < 0)
                return quilt_error_set(err, fd, "%s: %s", rel, strerror(-fd));
        return read_json_fd(fd, rel, ret, err);
}

/* ---- the plan: what to import ---- */

struct layer {
        char *path;                     /* below the layout dir */
        char hex[QUILT_SHA256_HEX_SIZE];        /* what its content must hash to */
        int64_t size;                   /* -1: not given */
};

struct plan {
        const char *format;             /* "oci" or "docker-archive" */
        const char *source;
        int dir_fd;
        char key[QUILT_SHA256_HEX_SIZE];
        json_object *config;            /* the image config document */
        struct layer *layers;
        size_t n_layers;
        uint64_t size;                  /* bytes of manifest, config and layers */
        const struct quilt_host *host;
};

static void plan_done(struct plan *p)
{
        for (size_t i = 0; i < p->n_layers; i++)
                free(p->layers[i].path);
        free(p->layers);
        if (p->config)
                json_object_put(p->config);
}

/* A descriptor's blob, verified, parsed. */
static int read_blob_json(struct plan *p, json_object *desc, const char *what, json_object **ret,
                          char ret_hex[QUILT_SHA256_HEX_SIZE], struct quilt_error *err)
{
        const char *digest = oci_jstr(desc, "digest");
        const char *hex = oci_digest_hex(digest);
        if (!hex)
                return quilt_error_set(err, -EINVAL, "%s: digest '%s' is not sha256:HEX", what,
                                       digest ? digest : "");
        json_object *sz = oci_jget(desc, "size", json_type_int);
        char rel[128], label[256], actual[QUILT_SHA256_HEX_SIZE];
        snprintf(rel, sizeof(rel), "blobs/sha256/%s", hex);
        snprintf(label, sizeof(label), "%s %s", what, digest);
        uint64_t size;
        _cleanup_close_ int fd = open_verified(p->dir_fd, rel, label, hex,
                                               sz ? json_object_get_int64(sz) : -1, actual, &size,
                                               err);
        if (fd < 0)
                return fd;
        p->size += size;
        memcpy(ret_hex, hex, QUILT_SHA256_HEX_SIZE);
        return read_json_fd(fd, label, ret, err);
}

static int add_layer(struct plan *p, const char *path, const char *hex, int64_t size,
                     struct quilt_error *err)
{
        struct layer *n = realloc(p->layers, (p->n_layers + 1) * sizeof(*n));
        if (!n)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        p->layers = n;
        struct layer *l = &p->layers[p->n_layers];
        if (!(l->path = strdup(path)))
                return quilt_error_set(err, -ENOMEM, "out of memory");
        memcpy(l->hex, hex, QUILT_SHA256_HEX_SIZE);
        l->size = size;
        p->n_layers++;
        return 0;
}

static int plan_oci(struct plan *p, struct quilt_error *err)
{
        p->format = "oci";
        _cleanup_json_ json_object *layout = NULL, *index = NULL, *manifest = NULL;
        int r = read_json_file(p->dir_fd, "oci-layout", &layout, err);
        if (r < 0)
                return r;
        if (!oci_jstr(layout, "imageLayoutVersion"))
                return quilt_error_set(err, -EINVAL, "oci-layout: no imageLayoutVersion");
        r = read_json_file(p->dir_fd, "index.json", &index, err);
        if (r < 0)
                return r;
        json_object *desc = oci_pick_manifest(index, "index.json", err);
        if (!desc)
                return -EINVAL;
        char hex[QUILT_SHA256_HEX_SIZE];
        for (int depth = 0;; depth++) {
                if (depth >= INDEX_DEPTH_MAX)
                        return quilt_error_set(err, -ELOOP, "image indexes nested too deep");
                json_object *doc = NULL;
                r = read_blob_json(p, desc, "manifest", &doc, hex, err);
                if (r < 0)
                        return r;
                if (manifest)
                        json_object_put(manifest);
                manifest = doc;
                if (!oci_jget(manifest, "manifests", json_type_array))
                        break;          /* a manifest, not an index */
                char what[96];
                snprintf(what, sizeof(what), "index sha256:%.12s", hex);
                if (!(desc = oci_pick_manifest(manifest, what, err)))
                        return -EINVAL;
        }
        memcpy(p->key, hex, sizeof(p->key));
        json_object *cdesc = oci_jget(manifest, "config", json_type_object);
        json_object *layers = oci_jget(manifest, "layers", json_type_array);
        if (!cdesc || !layers)
                return quilt_error_set(err, -EINVAL, "manifest sha256:%s: no config or layers", hex);
        char chex[QUILT_SHA256_HEX_SIZE];
        r = read_blob_json(p, cdesc, "config", &p->config, chex, err);
        if (r < 0)
                return r;
        size_t n = json_object_array_length(layers);
        if (n > LAYERS_MAX)
                return quilt_error_set(err, -E2BIG, "manifest sha256:%s: %zu layers (at most %d)", hex,
                                       n, LAYERS_MAX);
        for (size_t i = 0; i < n; i++) {
                json_object *l = json_object_array_get_idx(layers, i);
                const char *digest = oci_jstr(l, "digest");
                const char *lhex = oci_digest_hex(digest);
                if (!lhex)
                        return quilt_error_set(err, -EINVAL, "layer %zu: digest '%s' is not sha256:HEX",
                                               i + 1, digest ? digest : "");
                json_object *sz = oci_jget(l, "size", json_type_int);
                char rel[128];
                snprintf(rel, sizeof(rel), "blobs/sha256/%s", lhex);
                if ((r = add_layer(p, rel, lhex, sz ? json_object_get_int64(sz) : -1, err)) < 0)
                        return r;
        }
        return 0;
}

/* "HEX.json" or ".../HEX": the hex a docker-archive file name carries. */
static bool name_hex(const char *rel, char ret[QUILT_SHA256_HEX_SIZE])
{
        const char *base = strrchr(rel, '/');
        base = base ? base + 1 : rel;
        size_t n = strlen(base);
        if (n == 69 && !strcmp(base + 64, ".json"))
                n = 64;
        if (!is_hex64(base, n))
                return false;
        memcpy(ret, base, 64);
        ret[64] = '\0';
        return true;
}

static int plan_docker(struct plan *p, struct quilt_error *err)
{
        p->format = "docker-archive";
        _cleanup_json_ json_object *m = NULL;
        int r = read_json_file(p->dir_fd, "manifest.json", &m, err);
        if (r < 0)
                return r;
        size_t n = json_object_is_type(m, json_type_array) ? json_object_array_length(m) : 0;
        if (n != 1)
                return quilt_error_set(err, -EINVAL,
                                       "manifest.json: %zu images (one is imported at a time)", n);
        json_object *e = json_object_array_get_idx(m, 0);
        const char *cfg = oci_jstr(e, "Config");
        json_object *layers = oci_jget(e, "Layers", json_type_array);
        if (!cfg || !layers)
                return quilt_error_set(err, -EINVAL, "manifest.json: no Config or Layers");
        char expect[QUILT_SHA256_HEX_SIZE], actual[QUILT_SHA256_HEX_SIZE];
        bool named = name_hex(cfg, expect);
        char label[128];
        snprintf(label, sizeof(label), "config %s", cfg);
        uint64_t size;
        _cleanup_close_ int fd = open_verified(p->dir_fd, cfg, label, named ? expect : NULL, -1,
                                               actual, &size, err);
        if (fd < 0)
                return fd;
        p->size += size;
        if ((r = read_json_fd(fd, label, &p->config, err)) < 0)
                return r;
        memcpy(p->key, actual, sizeof(p->key));
        json_object *diff = oci_jget(oci_jget(p->config, "rootfs", json_type_object), "diff_ids",
                                 json_type_array);
        size_t nl = json_object_array_length(layers);
        if (!diff || json_object_array_length(diff) != nl)
                return quilt_error_set(err, -EINVAL,
                                       "config sha256:%s: rootfs.diff_ids does not list the %zu layers",
                                       actual, nl);
        if (nl > LAYERS_MAX)
                return quilt_error_set(err, -E2BIG, "%zu layers (at most %d)", nl, LAYERS_MAX);
        for (size_t i = 0; i < nl; i++) {
                json_object *lp = json_object_array_get_idx(layers, i);
                const char *id = json_object_get_string(json_object_array_get_idx(diff, i));
                const char *hex = oci_digest_hex(id);
                if (!json_object_is_type(lp, json_type_string) || !hex)
                        return quilt_error_set(err, -EINVAL, "layer %zu: bad path or diff_id", i + 1);
                /* docker save writes layers uncompressed: a layer's sha256
                 * is its diff_id. */
                if ((r = add_layer(p, json_object_get_string(lp), hex, -1, err)) < 0)
                        return r;
        }
        return 0;
}

/* ---- filling the store entry ---- */

static void put_escaped(FILE *f, const char *key, const char *v)
{
        fprintf(f, "%s\t", key);
        for (; *v; v++) {
                switch (*v) {
                case '\\': fputs("\\\\", f); break;
                case '\n': fputs("\\n", f); break;
                case '\t': fputs("\\t", f); break;
                case '\r': fputs("\\r", f); break;
                default: fputc(*v, f);
                }
        }
        fputc('\n', f);
}

static int write_config(const char *dir, json_object *doc, struct quilt_error *err)
{
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/config", dir) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        FILE *f = fopen(path, "wxe");
        if (!f)
                return quilt_error_set(err, -errno, "creating %s: %m", path);
        json_object *c = oci_jget(doc, "config", json_type_object);
        static const char *const arrays[] = { "Entrypoint", "Cmd", "Env" };
        for (size_t i = 0; c && i < ELEMENTSOF(arrays); i++) {
                json_object *a = oci_jget(c, arrays[i], json_type_array);
                for (size_t k = 0; a && k < json_object_array_length(a); k++) {
                        json_object *s = json_object_array_get_idx(a, k);
                        if (json_object_is_type(s, json_type_string))
                                put_escaped(f, arrays[i], json_object_get_string(s));
                }
        }
        static const char *const strings[] = { "WorkingDir", "User" };
        for (size_t i = 0; c && i < ELEMENTSOF(strings); i++) {
                const char *s = oci_jstr(c, strings[i]);
                if (s && *s)
                        put_escaped(f, strings[i], s);
        }
        bool bad = ferror(f);
        if (fclose(f) != 0 || bad)
                return quilt_error_set(err, -EIO, "writing %s: %m", path);
        return 0;
}

static int fill_layers(const char *dir, const char *rootfs, void *data, struct quilt_error *err)
{
        struct plan *p = data;
        for (size_t i = 0; i < p->n_layers; i++) {
                struct layer *l = &p->layers[i];
                char label[160], actual[QUILT_SHA256_HEX_SIZE];
                snprintf(label, sizeof(label), "layer %zu (sha256:%s)", i + 1, l->hex);
                _cleanup_close_ int fd = open_verified(p->dir_fd, l->path, label, l->hex, l->size,
                                                       actual, NULL, err);
                if (fd < 0)
                        return fd;
                int r = quilt_rootfs_extract_layer_fd(label, fd, rootfs, p->host, err);
                if (r < 0)
                        return r;
        }
        return write_config(dir, p->config, err);
}

/* ---- detection ---- */

int oci_detect(const char *path, struct quilt_error *err)
{
        struct stat st;
        if (stat(path, &st) < 0)
                return quilt_error_set(err, -errno, "%s: %m", path);
        if (S_ISDIR(st.st_mode)) {
                _cleanup_close_ int d = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (d < 0)
                        return quilt_error_set(err, -errno, "%s: %m", path);
                if (faccessat(d, "index.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                        return OCI_FORMAT_LAYOUT;
                if (faccessat(d, "manifest.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                        return OCI_FORMAT_DOCKER;
                return quilt_error_set(err, -EINVAL,
                                       "%s: a directory, but neither an OCI layout (index.json) nor a docker archive (manifest.json)",
                                       path);
        }
        if (!S_ISREG(st.st_mode))
                return quilt_error_set(err, -EINVAL, "%s: not a regular file or directory", path);
        struct archive *a = archive_read_new();
        if (!a)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        archive_read_support_filter_all(a);
        archive_read_support_format_tar(a);
        bool layout = false, index = false, manifest = false;
        if (archive_read_open_filename(a, path, 64 * 1024) == ARCHIVE_OK) {
                struct archive_entry *e;
                /* Not a tar at all: the tarball path reports it. */
                while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                        const char *n = quilt_tar_entry_strip(archive_entry_pathname(e));
                        if (archive_entry_filetype(e) != AE_IFREG)
                                continue;
                        layout |= !strcmp(n, "oci-layout");
                        index |= !strcmp(n, "index.json");
                        manifest |= !strcmp(n, "manifest.json");
                }
        }
        archive_read_free(a);
        if (layout && index)
                return OCI_FORMAT_LAYOUT;
        if (manifest)
                return OCI_FORMAT_DOCKER;
        return OCI_FORMAT_TARBALL;
}

/* ---- import ---- */

int oci_import(const char *store, const char *path, const struct quilt_host *host,
               struct image_store_entry *ret, struct quilt_error *err)
{
        int kind = oci_detect(path, err);
        if (kind < 0)
                return kind;
        if (kind == OCI_FORMAT_TARBALL)
                return image_store_get(store, path, host, ret, err);
        int r = image_store_prepare(store, err);
        if (r < 0)
                return r;

        struct plan p = { .source = path, .dir_fd = -1, .host = host };
        _cleanup_free_ char *staging = NULL;
        struct stat st;
        if (stat(path, &st) < 0)
                return quilt_error_set(err, -errno, "%s: %m", path);
        if (S_ISDIR(st.st_mode)) {
                p.dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (p.dir_fd < 0)
                        return quilt_error_set(err, -errno, "%s: %m", path);
        } else {
                /* A tar of a layout: unpacked (with every tarball check)
                 * into a staging dir of the store, removed at the end. */
                if (asprintf(&staging, "%s/import-XXXXXX", store) < 0) {
                        staging = NULL;
                        return quilt_error_set(err, -ENOMEM, "out of memory");
                }
                if (!mkdtemp(staging))
                        return quilt_error_set(err, -errno, "creating %s: %m", staging);
                r = quilt_rootfs_extract_with_host(path, staging, host, err);
                if (r == 0 && (p.dir_fd = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                        r = quilt_error_set(err, -errno, "%s: %m", staging);
                if (r < 0)
                        goto out;
        }
        r = kind == OCI_FORMAT_LAYOUT ? plan_oci(&p, err) : plan_docker(&p, err);
        if (r < 0)
                goto out;
        if (staging)
                p.size = (uint64_t)st.st_size;
        r = image_store_put(store, p.key, path, p.size, fill_layers, &p, host, ret, err);
        if (r == 0)
                imp_log(host, QUILT_LOG_DEBUG, "%s: %s image, %zu layers, sha256:%s", path, p.format,
                        p.n_layers, p.key);
out:
        if (p.dir_fd >= 0)
                close(p.dir_fd);
        plan_done(&p);
        if (staging) {
                struct quilt_error e2 = { 0 };
                if (host->remove_tree(staging, &e2) < 0)
                        imp_log(host, QUILT_LOG_WARNING, "removing %s: %s", staging, e2.message);
        }
        return r;
}
