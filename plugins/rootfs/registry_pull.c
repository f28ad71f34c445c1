/* SPDX-License-Identifier: MIT */
/* registry_pull.h: an image from a registry, through a temporary OCI
 * image layout, into the store. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci_json.h"
#include "oci_import.h"
#include "registry_pull.h"
#include "sha256.h"
#include "util.h"

#define MANIFEST_MAX (4 * 1024 * 1024)
#define LAYERS_MAX 1024
#define INDEX_DEPTH_MAX 4
#define TAG_MAX 128
#define NAME_MAX_LEN 255


#define ACCEPT_MANIFESTS                                                        \
        "Accept: application/vnd.oci.image.index.v1+json, "                   \
        "application/vnd.oci.image.manifest.v1+json, "                        \
        "application/vnd.docker.distribution.manifest.list.v2+json, "         \
        "application/vnd.docker.distribution.manifest.v2+json"

struct pull {
        CURL *curl;
        char *base;             /* "http://HOST[:PORT]/v2/NAME" */
        int blobs_fd;           /* LAYOUT/blobs/sha256 */
        char errbuf[CURL_ERROR_SIZE];
};

/* One download: written to `fd`, hashed, counted, optionally kept. */
struct sink {
        int fd;
        struct quilt_sha256 sha;
        uint64_t size;
        uint64_t max;
        char *mem;              /* when keeping: the bytes (NUL-terminated) */
        bool keep;
        bool too_big;
        int write_errno;
};

static size_t sink_write(char *data, size_t sz, size_t nmemb, void *userdata)
{
        struct sink *s = userdata;
        size_t n = sz * nmemb;
        if (s->size + n > s->max) {
                s->too_big = true;
                return 0;
        }
        quilt_sha256_update(&s->sha, data, n);
        if (s->keep) {
                char *m = realloc(s->mem, s->size + n + 1);
                if (!m) {
                        s->write_errno = ENOMEM;
                        return 0;
                }
                s->mem = m;
                memcpy(s->mem + s->size, data, n);
                s->mem[s->size + n] = '\0';
        }
        int r = quilt_write_all(s->fd, data, n);
        if (r < 0) {
                s->write_errno = -r;
                return 0;
        }
        s->size += n;
        return n;
}

/* GET base + `path` into blobs/sha256/HEX.  With `expect_hex` the
 * content must hash to it (and be `expect_size` bytes when >= 0); without,
 * its own hash names it.  ret_hex gets the hash, *ret_mem the bytes when
 * `keep` (free it), *ret_type the Content-Type (free it) when asked. */
static int fetch(struct pull *p, const char *path, bool manifest, const char *what,
                 const char *expect_hex, int64_t expect_size, char ret_hex[QUILT_SHA256_HEX_SIZE],
                 uint64_t *ret_size, char **ret_mem, char **ret_type, struct quilt_error *err)
{
        _cleanup_free_ char *url = NULL;
        if (asprintf(&url, "%s/%s", p->base, path) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        char tmp[] = ".download-XXXXXX";
        int fd = -1;
        for (int i = 0; i < 100 && fd < 0; i++) {
                memcpy(tmp + strlen(tmp) - 6, "XXXXXX", 6);
                char *x = tmp + strlen(tmp) - 6;
                for (int k = 0; k < 6; k++)
                        x[k] = "abcdefghijklmnopqrstuvwxyz0123456789"[rand() % 36];
                fd = openat(p->blobs_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                            0600);
                if (fd < 0 && errno != EEXIST)
                        return quilt_error_set(err, -errno, "%s: creating a download file: %m", what);
        }
        if (fd < 0)
                return quilt_error_set(err, -EEXIST, "%s: creating a download file: %m", what);

        struct sink s = { .fd = fd, .keep = manifest || ret_mem,
                          .max = manifest ? MANIFEST_MAX : UINT64_MAX };
        if (expect_size >= 0 && (uint64_t)expect_size < s.max)
                s.max = (uint64_t)expect_size;
        quilt_sha256_init(&s.sha);
        struct curl_slist *headers = NULL;
        if (manifest)
                headers = curl_slist_append(NULL, ACCEPT_MANIFESTS);
        curl_easy_setopt(p->curl, CURLOPT_URL, url);
        curl_easy_setopt(p->curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(p->curl, CURLOPT_WRITEFUNCTION, sink_write);
        curl_easy_setopt(p->curl, CURLOPT_WRITEDATA, &s);
        p->errbuf[0] = '\0';
        CURLcode cc = curl_easy_perform(p->curl);
        curl_slist_free_all(headers);
        long code = 0;
        curl_easy_getinfo(p->curl, CURLINFO_RESPONSE_CODE, &code);
        int r = 0;
        if (s.too_big && expect_size >= 0 && s.max == (uint64_t)expect_size)
                r = quilt_error_set(err, -EBADMSG, "%s: size mismatch: expected %lld bytes, the registry sent more",
                                    what, (long long)expect_size);
        else if (s.too_big)
                r = quilt_error_set(err, -E2BIG, "%s: larger than %d bytes", what, MANIFEST_MAX);
        else if (s.write_errno)
                r = quilt_error_set(err, -s.write_errno, "%s: writing: %s", what, strerror(s.write_errno));
        else if (cc != CURLE_OK && cc != CURLE_HTTP_RETURNED_ERROR)
                r = quilt_error_set(err, -EIO, "GET %s: %s", url, p->errbuf[0] ? p->errbuf : curl_easy_strerror(cc));
        else if (code == 401)
                r = quilt_error_set(err, -EACCES,
                                    "GET %s: HTTP 401: the registry wants authentication (not supported)", url);
        else if (code != 200)
                r = quilt_error_set(err, code == 404 ? -ENOENT : -EIO, "GET %s: HTTP %ld", url, code);
        char hex[QUILT_SHA256_HEX_SIZE];
        if (r == 0) {
                uint8_t d[QUILT_SHA256_DIGEST_SIZE];
                quilt_sha256_final(&s.sha, d);
                quilt_sha256_hex(d, hex);
                if (expect_hex && strcmp(expect_hex, hex) != 0)
                        r = quilt_error_set(err, -EBADMSG,
                                            "%s: digest mismatch: expected sha256:%s, the registry sent sha256:%s",
                                            what, expect_hex, hex);
                else if (expect_size >= 0 && (uint64_t)expect_size != s.size)
                        r = quilt_error_set(err, -EBADMSG,
                                            "%s: size mismatch: expected %lld bytes, got %llu", what,
                                            (long long)expect_size, (unsigned long long)s.size);
        }
        if (close(fd) < 0 && r == 0)
                r = quilt_error_set(err, -errno, "%s: closing: %m", what);
        if (r == 0 && renameat(p->blobs_fd, tmp, p->blobs_fd, hex) < 0)
                r = quilt_error_set(err, -errno, "%s: renaming the download: %m", what);
        if (r < 0) {
                unlinkat(p->blobs_fd, tmp, 0);
                free(s.mem);
                return r;
        }
        if (ret_type) {
                char *ct = NULL;
                curl_easy_getinfo(p->curl, CURLINFO_CONTENT_TYPE, &ct);
                *ret_type = ct ? strndup(ct, strcspn(ct, ";")) : NULL;
        }
        memcpy(ret_hex, hex, QUILT_SHA256_HEX_SIZE);
        if (ret_size)
                *ret_size = s.size;
        if (ret_mem)
                *ret_mem = s.mem;
        else
                free(s.mem);
        return 0;
}

/* ---- references ---- */

struct ref {
        char *host;             /* HOST[:PORT] as written */
        char *name;
        char *reference;        /* a tag or "sha256:HEX" */
        bool by_digest;
};

static void ref_done(struct ref *r)
{
        free(r->host);
        free(r->name);
        free(r->reference);
}

static bool name_is_valid(const char *n)
{
        size_t len = strlen(n);
        if (len == 0 || len > NAME_MAX_LEN || strstr(n, "..") || strstr(n, "//") || n[0] == '/' ||
            n[len - 1] == '/')
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = n[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("._/-", c)))
                        return false;
        }
        return true;
}

static bool tag_is_valid(const char *t)
{
        size_t len = strlen(t);
        if (len == 0 || len > TAG_MAX || t[0] == '.' || t[0] == '-')
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = t[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      strchr("._-", c)))
                        return false;
        }
        return true;
}

static int parse_ref(const char *s, struct ref *ret, struct quilt_error *err)
{
        const char *slash = strchr(s, '/');
        if (!slash || slash == s)
                return quilt_error_set(err, -EINVAL,
                                       "reference '%s': name the registry: HOST[:PORT]/NAME[:TAG]", s);
        size_t hl = (size_t)(slash - s);
        if (!memchr(s, '.', hl) && !memchr(s, ':', hl) && !(hl == 9 && !strncmp(s, "localhost", 9)))
                return quilt_error_set(err, -EINVAL,
                                       "reference '%s': '%.*s' is not a registry host (HOST with a '.' or a ':PORT', or localhost)",
                                       s, (int)hl, s);
        for (size_t i = 0; i < hl; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || strchr(".-:[]", s[i])))
                        return quilt_error_set(err, -EINVAL, "reference '%s': bad registry host", s);
        ret->host = strndup(s, hl);
        const char *rest = slash + 1, *at = strchr(rest, '@');
        const char *last_slash = strrchr(rest, '/');
        const char *colon = strrchr(last_slash ? last_slash : rest, ':');
        if (at) {
                ret->name = strndup(rest, (size_t)(at - rest));
                ret->reference = strdup(at + 1);
                ret->by_digest = true;
        } else if (colon) {
                ret->name = strndup(rest, (size_t)(colon - rest));
                ret->reference = strdup(colon + 1);
        } else {
                ret->name = strdup(rest);
                ret->reference = strdup("latest");
        }
        if (!ret->host || !ret->name || !ret->reference)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        if (!name_is_valid(ret->name))
                return quilt_error_set(err, -EINVAL,
                                       "reference '%s': repository name '%s' is not valid ([a-z0-9._/-], no '..')",
                                       s, ret->name);
        if (ret->by_digest ? !oci_digest_hex(ret->reference) : !tag_is_valid(ret->reference))
                return quilt_error_set(err, -EINVAL, "reference '%s': %s '%s' is not valid", s,
                                       ret->by_digest ? "digest" : "tag", ret->reference);
        return 0;
}

/* The host without its port: "[::1]:5000" -> "::1", "h:5000" -> "h". */
static bool is_loopback(const char *hostport)
{
        char h[256];
        if (hostport[0] == '[') {
                const char *end = strchr(hostport, ']');
                if (!end || (size_t)(end - hostport) >= sizeof(h))
                        return false;
                snprintf(h, sizeof(h), "%.*s", (int)(end - hostport - 1), hostport + 1);
        } else {
                snprintf(h, sizeof(h), "%.*s", (int)strcspn(hostport, ":"), hostport);
        }
        if (!strcasecmp(h, "localhost") || !strcmp(h, "::1"))
                return true;
        struct in_addr a;
        return inet_pton(AF_INET, h, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* ---- index ---- */

static int write_file(int dir_fd, const char *name, const char *text, struct quilt_error *err)
{
        _cleanup_close_ int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                        0644);
        if (fd < 0)
                return quilt_error_set(err, -errno, "creating %s: %m", name);
        int r = quilt_write_all(fd, text, strlen(text));
        if (r < 0)
                return quilt_error_set(err, r, "writing %s: %s", name, strerror(-r));
        return 0;
}

/* Fetch everything the image needs into the layout at `dir_fd`. */
static int fetch_image(struct pull *p, const struct ref *ref, int dir_fd, struct quilt_error *err)
{
        char hex[QUILT_SHA256_HEX_SIZE], top_hex[QUILT_SHA256_HEX_SIZE];
        uint64_t top_size = 0;
        _cleanup_free_ char *top_type = NULL, *mem = NULL, *path = NULL;
        if (asprintf(&path, "manifests/%s", ref->reference) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        char what[160];
        snprintf(what, sizeof(what), "manifest %s", ref->reference);
        int r = fetch(p, path, true, what, ref->by_digest ? oci_digest_hex(ref->reference) : NULL, -1,
                      top_hex, &top_size, &mem, &top_type, err);
        if (r < 0)
                return r;
        json_object *doc = json_tokener_parse(mem);
        if (!doc || !json_object_is_type(doc, json_type_object)) {
                if (doc)
                        json_object_put(doc);
                return quilt_error_set(err, -EINVAL, "%s: not a JSON object", what);
        }
        if (!top_type || !*top_type || !strcmp(top_type, "application/json")) {
                free(top_type);
                const char *mt = oci_jstr(doc, "mediaType");
                top_type = strdup(mt ? mt : oci_jget(doc, "manifests", json_type_array)
                                          ? "application/vnd.oci.image.index.v1+json"
                                          : "application/vnd.oci.image.manifest.v1+json");
        }
        memcpy(hex, top_hex, sizeof(hex));
        for (int depth = 0; r == 0 && oci_jget(doc, "manifests", json_type_array); depth++) {
                if (depth >= INDEX_DEPTH_MAX) {
                        r = quilt_error_set(err, -ELOOP, "image indexes nested too deep");
                        break;
                }
                snprintf(what, sizeof(what), "index sha256:%.12s", hex);
                json_object *desc = oci_pick_manifest(doc, what, err);
                const char *h = desc ? oci_digest_hex(oci_jstr(desc, "digest")) : NULL;
                if (!desc) {
                        r = -EINVAL;
                        break;
                }
                if (!h) {
                        r = quilt_error_set(err, -EINVAL, "%s: a manifest digest is not sha256:HEX", what);
                        break;
                }
                char *p2 = NULL, *m2 = NULL;
                char expect[QUILT_SHA256_HEX_SIZE];
                snprintf(expect, sizeof(expect), "%s", h);
                snprintf(what, sizeof(what), "manifest sha256:%s", expect);
                if (asprintf(&p2, "manifests/sha256:%s", expect) < 0) {
                        r = quilt_error_set(err, -ENOMEM, "out of memory");
                        break;
                }
                r = fetch(p, p2, true, what, expect, oci_jsize(desc), hex, NULL, &m2, NULL, err);
                free(p2);
                if (r < 0)
                        break;
                json_object_put(doc);
                doc = json_tokener_parse(m2);
                free(m2);
                if (!doc || !json_object_is_type(doc, json_type_object))
                        r = quilt_error_set(err, -EINVAL, "%s: not a JSON object", what);
        }
        json_object *cdesc = r == 0 ? oci_jget(doc, "config", json_type_object) : NULL;
        json_object *layers = r == 0 ? oci_jget(doc, "layers", json_type_array) : NULL;
        if (r == 0 && (!cdesc || !layers))
                r = quilt_error_set(err, -EINVAL,
                                    "manifest sha256:%s: no config or layers (docker schema 1 is not supported)",
                                    hex);
        size_t n = layers ? json_object_array_length(layers) : 0;
        if (r == 0 && n > LAYERS_MAX)
                r = quilt_error_set(err, -E2BIG, "manifest sha256:%s: %zu layers (at most %d)", hex, n,
                                    LAYERS_MAX);
        for (size_t i = 0; r == 0 && i <= n; i++) {
                json_object *d = i == 0 ? cdesc : json_object_array_get_idx(layers, i - 1);
                const char *digest = oci_jstr(d, "digest"), *h = oci_digest_hex(digest);
                if (i == 0)
                        snprintf(what, sizeof(what), "config %s", digest ? digest : "");
                else
                        snprintf(what, sizeof(what), "layer %zu (%s)", i, digest ? digest : "");
                if (!h) {
                        r = quilt_error_set(err, -EINVAL, "%s: digest is not sha256:HEX", what);
                        break;
                }
                if (faccessat(p->blobs_fd, h, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
                        continue;       /* the same blob twice */
                char *bp = NULL, got[QUILT_SHA256_HEX_SIZE];
                if (asprintf(&bp, "blobs/%s", digest) < 0) {
                        r = quilt_error_set(err, -ENOMEM, "out of memory");
                        break;
                }
                r = fetch(p, bp, false, what, h, oci_jsize(d), got, NULL, NULL, NULL, err);
                free(bp);
        }
        if (doc)
                json_object_put(doc);
        if (r < 0)
                return r;

        /* The layout: oci-layout and an index.json naming the top manifest. */
        json_object *index = json_object_new_object(), *list = json_object_new_array(),
                    *desc = json_object_new_object();
        json_object_object_add(index, "schemaVersion", json_object_new_int(2));
        json_object_object_add(desc, "mediaType", json_object_new_string(top_type ? top_type : ""));
        char d[7 + QUILT_SHA256_HEX_SIZE];
        snprintf(d, sizeof(d), "sha256:%s", top_hex);
        json_object_object_add(desc, "digest", json_object_new_string(d));
        json_object_object_add(desc, "size", json_object_new_int64((int64_t)top_size));
        json_object_array_add(list, desc);
        json_object_object_add(index, "manifests", list);
        r = write_file(dir_fd, "oci-layout", "{\"imageLayoutVersion\": \"1.0.0\"}\n", err);
        if (r == 0)
                r = write_file(dir_fd, "index.json",
                               json_object_to_json_string_ext(index, JSON_C_TO_STRING_PLAIN), err);
        json_object_put(index);
        return r;
}

int registry_pull(const char *store, const char *refstr, char *const *insecure, size_t n_insecure,
                  const struct quilt_host *host, struct image_store_entry *ret,
                  struct quilt_error *err)
{
        struct ref ref = { 0 };
        int r = parse_ref(refstr, &ref, err);
        if (r < 0) {
                ref_done(&ref);
                return r;
        }
        bool plain = is_loopback(ref.host);
        for (size_t i = 0; i < n_insecure && !plain; i++)
                plain = !strcmp(insecure[i], ref.host);
        r = image_store_prepare(store, err);
        if (r < 0) {
                ref_done(&ref);
                return r;
        }

        struct pull p = { .blobs_fd = -1 };
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int dir_fd = -1;
        if (asprintf(&dir, "%s/pull-XXXXXX", store) < 0) {
                dir = NULL;
                ref_done(&ref);
                return quilt_error_set(err, -ENOMEM, "out of memory");
        }
        if (!mkdtemp(dir)) {
                r = quilt_error_set(err, -errno, "creating %s: %m", dir);
                free(dir);
                dir = NULL;
                ref_done(&ref);
                return r;
        }
        srand((unsigned)getpid());
        if ((dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
            mkdirat(dir_fd, "blobs", 0700) < 0 || mkdirat(dir_fd, "blobs/sha256", 0700) < 0 ||
            (p.blobs_fd = openat(dir_fd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                r = quilt_error_set(err, -errno, "preparing %s: %m", dir);
        if (r == 0 && asprintf(&p.base, "%s://%s/v2/%s", plain ? "http" : "https", ref.host, ref.name) < 0) {
                p.base = NULL;
                r = quilt_error_set(err, -ENOMEM, "out of memory");
        }
        if (r == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                r = quilt_error_set(err, -EIO, "libcurl: initialisation failed");
        if (r == 0 && !(p.curl = curl_easy_init()))
                r = quilt_error_set(err, -ENOMEM, "libcurl: out of memory");
        if (r == 0) {
                const char *protos = plain ? "http,https" : "https";
                curl_easy_setopt(p.curl, CURLOPT_PROTOCOLS_STR, protos);
                curl_easy_setopt(p.curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
                curl_easy_setopt(p.curl, CURLOPT_FOLLOWLOCATION, 1L);
                curl_easy_setopt(p.curl, CURLOPT_MAXREDIRS, 5L);
                curl_easy_setopt(p.curl, CURLOPT_ERRORBUFFER, p.errbuf);
                curl_easy_setopt(p.curl, CURLOPT_NOSIGNAL, 1L);
                curl_easy_setopt(p.curl, CURLOPT_CONNECTTIMEOUT, 30L);
                /* A stalled transfer: under 1 byte/s for 60 s. */
                curl_easy_setopt(p.curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
                curl_easy_setopt(p.curl, CURLOPT_LOW_SPEED_TIME, 60L);
                curl_easy_setopt(p.curl, CURLOPT_USERAGENT, "quilt-image/" QUILT_VERSION);
                if (is_loopback(ref.host))
                        curl_easy_setopt(p.curl, CURLOPT_NOPROXY, "*");
                r = fetch_image(&p, &ref, dir_fd, err);
        }
        if (p.curl)
                curl_easy_cleanup(p.curl);
        if (p.blobs_fd >= 0)
                close(p.blobs_fd);
        free(p.base);
        if (r == 0)
                r = oci_import(store, dir, host, ret, err);
        struct quilt_error e2 = { 0 };
        if (host->remove_tree(dir, &e2) < 0 && QUILT_HOST_HAS(host, log))
                host->log(QUILT_LOG_WARNING, "quilt-image", "removing %s: %s", dir, e2.message);
        ref_done(&ref);
        return r;
}
