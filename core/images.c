/* SPDX-License-Identifier: MIT */
/* ImportImage, ListImages, RemoveImage and image references (images.h). */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "container.h"
#include "images.h"
#include "manager.h"
#include "util.h"

#ifndef QUILT_IMAGE_HELPER_PATH_DEFAULT
#define QUILT_IMAGE_HELPER_PATH_DEFAULT "/usr/local/libexec/quilt/quilt-image"
#endif

#define DIGEST_PREFIX "sha256:"
#define HEX_LEN 64
#define MIN_PREFIX 12
#define TAG_MAX 128
/* What is kept of the helper's stdout and stderr. */
#define HELPER_OUTPUT_MAX 4096

extern char **environ;

void quilt_images_read_lock(struct quilt_manager *m)
{
        pthread_rwlock_rdlock(&m->images_lock);
}

void quilt_images_unlock(struct quilt_manager *m)
{
        pthread_rwlock_unlock(&m->images_lock);
}

static bool is_hex(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static bool tag_is_valid(const char *t)
{
        size_t n = strlen(t);
        if (n == 0 || n > TAG_MAX || strstr(t, "..") || !strncmp(t, DIGEST_PREFIX, strlen(DIGEST_PREFIX)))
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = t[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                if (!alnum && (i == 0 || !strchr("._:/-", c)))
                        return false;
        }
        return true;
}

/* The tag's file name: '/' as "%2F" ('%' is not allowed in a tag). */
static char *tag_file_name(const char *tag)
{
        char *out = malloc(strlen(tag) * 3 + 1);
        if (!out)
                return NULL;
        char *p = out;
        for (; *tag; tag++) {
                if (*tag == '/') {
                        memcpy(p, "%2F", 3);
                        p += 3;
                } else
                        *p++ = *tag;
        }
        *p = '\0';
        return out;
}

static char *tag_from_file_name(const char *name)
{
        char *out = strdup(name);
        if (!out)
                return NULL;
        char *w = out;
        for (const char *r = name; *r;) {
                if (!strncmp(r, "%2F", 3)) {
                        *w++ = '/';
                        r += 3;
                } else
                        *w++ = *r++;
        }
        *w = '\0';
        return out;
}

static char *images_dir(struct quilt_manager *m, const char *sub)
{
        char *p = NULL;
        if (asprintf(&p, "%s/images%s%s", m->cfg->state_dir, sub ? "/" : "", sub ? sub : "") < 0)
                return NULL;
        return p;
}

/* The digest a tag file names, or -errno. */
static int read_tag(const char *path, char ret[QUILT_IMAGE_DIGEST_SIZE])
{
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = quilt_read_file(path, 256, &data, &len);
        if (r < 0)
                return r;
        data[strcspn(data, "\n")] = '\0';
        if (strncmp(data, DIGEST_PREFIX, strlen(DIGEST_PREFIX)) != 0 ||
            strlen(data) != strlen(DIGEST_PREFIX) + HEX_LEN ||
            !is_hex(data + strlen(DIGEST_PREFIX), HEX_LEN))
                return -EBADMSG;
        memcpy(ret, data, QUILT_IMAGE_DIGEST_SIZE);
        return 0;
}

/* Whether STORE/sha256/HEX/rootfs is there (a complete entry). */
static bool entry_exists(struct quilt_manager *m, const char *hex)
{
        _cleanup_free_ char *p = NULL;
        if (asprintf(&p, "%s/images/sha256/%.64s/rootfs", m->cfg->state_dir, hex) < 0)
                return false;
        struct stat sb;
        return lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Every complete entry's hex whose name starts with `prefix`: the count,
 * the (first) match copied to ret_hex. */
static size_t match_prefix(struct quilt_manager *m, const char *prefix, char ret_hex[HEX_LEN + 1])
{
        _cleanup_free_ char *sha = images_dir(m, "sha256");
        DIR *d = sha ? opendir(sha) : NULL;
        if (!d)
                return 0;
        size_t n = 0, plen = strlen(prefix);
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strlen(de->d_name) != HEX_LEN || !is_hex(de->d_name, HEX_LEN) ||
                    strncmp(de->d_name, prefix, plen) != 0 || !entry_exists(m, de->d_name))
                        continue;
                if (n++ == 0)
                        memcpy(ret_hex, de->d_name, HEX_LEN + 1);
        }
        closedir(d);
        return n;
}

/* An unknown reference that was most likely meant as a tarball path
 * relative to somewhere the daemon cannot know: "./x", "../x", "x.tar",
 * "dir/x.tar.gz", "x.tgz". */
static bool looks_like_a_path(const char *ref)
{
        if (!strncmp(ref, "./", 2) || !strncmp(ref, "../", 3))
                return true;
        const char *base = strrchr(ref, '/');
        base = base ? base + 1 : ref;
        static const char *const suffixes[] = { ".tgz", ".txz", ".tbz2", ".tzst" };
        if (strstr(base, ".tar"))
                return true;
        size_t n = strlen(base);
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t k = strlen(suffixes[i]);
                if (n > k && !strcmp(base + n - k, suffixes[i]))
                        return true;
        }
        return false;
}

int quilt_images_resolve(struct quilt_manager *m, const char *ref,
                         char ret_digest[QUILT_IMAGE_DIGEST_SIZE], struct quilt_status *st)
{
        const char *hex = NULL;
        if (!strncmp(ref, DIGEST_PREFIX, strlen(DIGEST_PREFIX)))
                hex = ref + strlen(DIGEST_PREFIX);
        else if (tag_is_valid(ref)) {
                _cleanup_free_ char *name = tag_file_name(ref);
                _cleanup_free_ char *path = NULL;
                if (!name || asprintf(&path, "%s/images/tags/%s", m->cfg->state_dir, name) < 0)
                        return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
                char digest[QUILT_IMAGE_DIGEST_SIZE];
                int r = read_tag(path, digest);
                if (r == 0 && entry_exists(m, digest + strlen(DIGEST_PREFIX))) {
                        memcpy(ret_digest, digest, sizeof(digest));
                        return 0;
                }
                if (r < 0 && r != -ENOENT)
                        return quilt_status_set(st, QUILT_INTERNAL, "image: reading tag '%s': %s",
                                                ref, strerror(-r));
                /* Not a tag: maybe a bare digest prefix. */
                size_t n = strlen(ref);
                if (n >= MIN_PREFIX && n <= HEX_LEN && is_hex(ref, n))
                        hex = ref;
        } else {
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "image: '%s' is neither an absolute path, a digest nor a valid tag",
                                        ref);
        }
        if (!hex && looks_like_a_path(ref))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "image: '%s' is not an absolute path (nor the tag of a stored image)",
                                        ref);
        if (!hex)
                return quilt_status_set(st, QUILT_NOT_FOUND, "image: no such image '%s'", ref);
        size_t n = strlen(hex);
        if (n < MIN_PREFIX || n > HEX_LEN || !is_hex(hex, n))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "image: '%s': a digest is sha256: and 12 to 64 lower-case hex digits",
                                        ref);
        char found[HEX_LEN + 1];
        size_t matches = match_prefix(m, hex, found);
        if (matches == 0)
                return quilt_status_set(st, QUILT_NOT_FOUND, "image: no such image '%s'", ref);
        if (matches > 1)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "image: prefix '%s' matches %zu images; give more of the digest",
                                        ref, matches);
        snprintf(ret_digest, QUILT_IMAGE_DIGEST_SIZE, DIGEST_PREFIX "%s", found);
        return 0;
}

/* ---- users ---- */

/* The image of each container still registered (not being removed):
 * c->image when it names a stored image, else its dir's image-digest
 * (written by the rootfs plugin for a tarball in overlay mode).
 * NULL-terminated, "" where none; lock order: images lock, then m->lock. */
struct user {
        char id[QUILT_ID_LEN + 1];
        char digest[QUILT_IMAGE_DIGEST_SIZE];
};

static int collect_users(struct quilt_manager *m, struct user **ret, size_t *ret_n)
{
        pthread_mutex_lock(&m->lock);
        size_t n = 0;
        for (struct quilt_container_record *c = m->containers; c; c = c->next)
                n++;
        struct user *u = calloc(n ? n : 1, sizeof(*u));
        if (!u) {
                pthread_mutex_unlock(&m->lock);
                return -ENOMEM;
        }
        size_t k = 0;
        for (struct quilt_container_record *c = m->containers; c; c = c->next) {
                if (c->removing)
                        continue;
                memcpy(u[k].id, c->id, sizeof(u[k].id));
                if (!strncmp(c->image, DIGEST_PREFIX, strlen(DIGEST_PREFIX))) {
                        snprintf(u[k].digest, sizeof(u[k].digest), "%s", c->image);
                } else {
                        _cleanup_free_ char *p = NULL;
                        if (asprintf(&p, "%s/image-digest", c->dir) > 0 &&
                            read_tag(p, u[k].digest) < 0)
                                u[k].digest[0] = '\0';
                }
                k++;
        }
        pthread_mutex_unlock(&m->lock);
        *ret = u;
        *ret_n = k;
        return 0;
}

/* ---- messages ---- */

static void image_free(Quilt__V1__Image *img)
{
        if (!img)
                return;
        free(img->digest);
        free(img->source);
        quilt_strv_free(img->tags);
        free(img);
}

void quilt_import_image_response_free(Quilt__V1__ImportImageResponse *r)
{
        if (!r)
                return;
        image_free(r->image);
        free(r);
}

void quilt_list_images_response_free(Quilt__V1__ListImagesResponse *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->n_images; i++)
                image_free(r->images[i]);
        free(r->images);
        free(r);
}

struct tag {
        char *name;
        char digest[QUILT_IMAGE_DIGEST_SIZE];
};

static void tags_free(struct tag *t, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(t[i].name);
        free(t);
}

static int tag_compare(const void *a, const void *b)
{
        return strcmp(((const struct tag *)a)->name, ((const struct tag *)b)->name);
}

/* Every tag (sorted); a missing tags dir is none. */
static int read_tags(struct quilt_manager *m, struct tag **ret, size_t *ret_n)
{
        *ret = NULL;
        *ret_n = 0;
        _cleanup_free_ char *dir = images_dir(m, "tags");
        if (!dir)
                return -ENOMEM;
        DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        struct tag *t = NULL;
        size_t n = 0, cap = 0;
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;               /* ".", "..", a write in progress */
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
                        r = -ENOMEM;
                        break;
                }
                char digest[QUILT_IMAGE_DIGEST_SIZE];
                if (read_tag(path, digest) < 0)
                        continue;
                if (n == cap) {
                        cap = cap ? cap * 2 : 8;
                        struct tag *nt = realloc(t, cap * sizeof(*t));
                        if (!nt) {
                                r = -ENOMEM;
                                break;
                        }
                        t = nt;
                }
                if (!(t[n].name = tag_from_file_name(de->d_name))) {
                        r = -ENOMEM;
                        break;
                }
                memcpy(t[n].digest, digest, sizeof(digest));
                n++;
        }
        closedir(d);
        if (r < 0) {
                tags_free(t, n);
                return r;
        }
        if (n)
                qsort(t, n, sizeof(*t), tag_compare);
        *ret = t;
        *ret_n = n;
        return 0;
}

static int64_t parse_created(const char *s)
{
        struct tm tm = { 0 };
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
        if (!end || *end)
                return 0;
        time_t t = timegm(&tm);
        return t == (time_t)-1 ? 0 : (int64_t)t * 1000000000;
}

/* The Image message for the entry `hex`, or NULL (errno: ENOENT when the
 * entry is not complete, ENOMEM). */
static Quilt__V1__Image *image_message(struct quilt_manager *m, const char *hex,
                                       const struct tag *tags, size_t n_tags,
                                       const struct user *users, size_t n_users)
{
        _cleanup_free_ char *meta_path = NULL, *meta = NULL;
        size_t len;
        if (asprintf(&meta_path, "%s/images/sha256/%s/meta", m->cfg->state_dir, hex) < 0)
                return NULL;
        if (!entry_exists(m, hex) || quilt_read_file(meta_path, 64 * 1024, &meta, &len) < 0) {
                errno = ENOENT;
                return NULL;
        }
        Quilt__V1__Image *img = calloc(1, sizeof(*img));
        if (!img)
                return NULL;
        quilt__v1__image__init(img);
        img->source = NULL;
        for (char *line = meta, *next; line && *line; line = next) {
                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                char *eq = strchr(line, '=');
                if (!eq)
                        continue;
                *eq = '\0';
                const char *v = eq + 1;
                if (!strcmp(line, "source") && !img->source)
                        img->source = strdup(v);
                else if (!strcmp(line, "size"))
                        img->size_bytes = strtoll(v, NULL, 10);
                else if (!strcmp(line, "unpacked_bytes"))
                        img->unpacked_bytes = strtoll(v, NULL, 10);
                else if (!strcmp(line, "created"))
                        img->created_at_ns = parse_created(v);
        }
        if (asprintf(&img->digest, DIGEST_PREFIX "%s", hex) < 0)
                img->digest = NULL;
        if (!img->source)
                img->source = strdup("");
        size_t k = 0;
        for (size_t i = 0; i < n_tags; i++)
                k += !strcmp(tags[i].digest + strlen(DIGEST_PREFIX), hex);
        img->tags = calloc(k + 1, sizeof(char *));
        if (!img->digest || !img->source || !img->tags) {
                image_free(img);
                errno = ENOMEM;
                return NULL;
        }
        for (size_t i = 0; i < n_tags; i++)
                if (!strcmp(tags[i].digest + strlen(DIGEST_PREFIX), hex)) {
                        if (!(img->tags[img->n_tags] = strdup(tags[i].name))) {
                                image_free(img);
                                errno = ENOMEM;
                                return NULL;
                        }
                        img->n_tags++;
                }
        for (size_t i = 0; i < n_users; i++)
                img->containers += !strcmp(users[i].digest, img->digest);
        return img;
}

/* ---- ImportImage ---- */

static void append(char *buf, size_t *len, const char *data, size_t n)
{
        size_t room = HELPER_OUTPUT_MAX - *len;
        if (n > room)
                n = room;
        memcpy(buf + *len, data, n);
        *len += n;
        buf[*len] = '\0';
}

/* Run "quilt-image MODE --store STORE ARG" (MODE import or pull); its
 * stdout into `out`, its stderr into `errbuf` (each HELPER_OUTPUT_MAX +
 * 1).  Returns the exit status (0 = success), or -1 with `st` set when it
 * could not run. */
/* The helper's argv: "MODE --store DIR [--insecure-registry H]... ARG";
 * `insecure` is the config's comma-separated list (pull only). */
#define HELPER_ARGS_MAX 64

static size_t helper_args(const char **argv, char *insecure_copy, const char *helper,
                          const char *mode, const char *store, const char *arg)
{
        size_t n = 0;
        argv[n++] = helper;
        argv[n++] = mode;
        argv[n++] = "--store";
        argv[n++] = store;
        char *save = NULL;
        for (char *h = insecure_copy ? strtok_r(insecure_copy, ", \t", &save) : NULL;
             h && n + 3 < HELPER_ARGS_MAX; h = strtok_r(NULL, ", \t", &save)) {
                argv[n++] = "--insecure-registry";
                argv[n++] = h;
        }
        argv[n++] = arg;
        argv[n] = NULL;
        return n;
}

static int run_helper(const char *mode, const char *store, const char *path, const char *insecure,
                      char *out, char *errbuf, struct quilt_status *st)
{
        _cleanup_free_ char *helper = quilt_sibling_path("quilt-image", QUILT_IMAGE_HELPER_PATH_DEFAULT);
        if (!helper)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        int out_pipe[2], err_pipe[2];
        if (pipe2(out_pipe, O_CLOEXEC) < 0)
                return quilt_status_set(st, QUILT_INTERNAL, "pipe: %s", strerror(errno));
        if (pipe2(err_pipe, O_CLOEXEC) < 0) {
                close(out_pipe[0]);
                close(out_pipe[1]);
                return quilt_status_set(st, QUILT_INTERNAL, "pipe: %s", strerror(errno));
        }
        _cleanup_free_ char *insecure_copy = insecure ? strdup(insecure) : NULL;
        const char *argv[HELPER_ARGS_MAX + 1];
        helper_args(argv, insecure_copy, helper, mode, store, path);
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
        posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
        /* As for the monitor: a clean signal mask and dispositions. */
        sigset_t none, defaults;
        sigemptyset(&none);
        sigfillset(&defaults);
        sigdelset(&defaults, SIGKILL);
        sigdelset(&defaults, SIGSTOP);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &defaults);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                                POSIX_SPAWN_SETSID);
        pid_t pid;
        int r = posix_spawn(&pid, helper, &fa, &attr, (char *const *)argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        close(out_pipe[1]);
        close(err_pipe[1]);
        if (r != 0) {
                close(out_pipe[0]);
                close(err_pipe[0]);
                return quilt_status_set(st, QUILT_INTERNAL, "starting the image helper %s: %s",
                                        helper, strerror(r));
        }
        size_t out_len = 0, err_len = 0;
        out[0] = errbuf[0] = '\0';
        struct pollfd p[2] = { { .fd = out_pipe[0], .events = POLLIN },
                               { .fd = err_pipe[0], .events = POLLIN } };
        int open_fds = 2;
        while (open_fds > 0) {
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                for (int i = 0; i < 2; i++) {
                        if (p[i].fd < 0 || !p[i].revents)
                                continue;
                        char buf[1024];
                        ssize_t n = read(p[i].fd, buf, sizeof(buf));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0) {
                                close(p[i].fd);
                                p[i].fd = -1;
                                open_fds--;
                                continue;
                        }
                        if (i == 0)
                                append(out, &out_len, buf, (size_t)n);
                        else
                                append(errbuf, &err_len, buf, (size_t)n);
                }
        }
        for (int i = 0; i < 2; i++)
                if (p[i].fd >= 0)
                        close(p[i].fd);
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return quilt_status_set(st, QUILT_INTERNAL, "waiting for the image helper: %s",
                                                strerror(errno));
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* mkdir -p below the state dir (which exists). */
static int make_dir(const char *path)
{
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int write_tag(struct quilt_manager *m, const char *tag, const char *digest,
                     struct quilt_status *st)
{
        _cleanup_free_ char *dir = images_dir(m, "tags"), *name = tag_file_name(tag);
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        if (!dir || !name || asprintf(&path, "%s/%s", dir, name) < 0 ||
            asprintf(&tmp, "%s/.%s.tmp", dir, name) < 0)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        int r = make_dir(dir);
        if (r < 0)
                return quilt_status_set(st, QUILT_INTERNAL, "mkdir %s: %s", dir, strerror(-r));
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return quilt_status_set(st, QUILT_INTERNAL, "creating %s: %s", tmp, strerror(errno));
        char line[QUILT_IMAGE_DIGEST_SIZE + 1];
        int n = snprintf(line, sizeof(line), "%s\n", digest);
        if ((r = quilt_write_all(fd, line, (size_t)n)) < 0 || fsync(fd) < 0 ||
            rename(tmp, path) < 0) {
                int e = r < 0 ? -r : errno;
                unlink(tmp);
                return quilt_status_set(st, QUILT_INTERNAL, "writing tag %s: %s", path, strerror(e));
        }
        return 0;
}

/* Run the helper (`mode` "import" of the path `arg`, or "pull" of the
 * reference `arg`), then tag the result and describe it. */
static int fetch_image(struct quilt_manager *m, const char *mode, const char *arg, const char *tag,
                       Quilt__V1__Image **ret, struct quilt_status *st)
{
        const bool pull = !strcmp(mode, "pull");
        const char *verb = pull ? "pulling" : "importing";
        _cleanup_free_ char *store = images_dir(m, NULL);
        if (!store)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        char out[HELPER_OUTPUT_MAX + 1], errbuf[HELPER_OUTPUT_MAX + 1];
        /* The unpack itself needs no lock of ours: the store's per-image
         * lock protects it, as for the rootfs plugin. */
        int r = run_helper(mode, store, arg, pull ? m->cfg->insecure_registries : NULL, out, errbuf, st);
        if (r < 0)
                return -1;
        if (r != 0) {
                errbuf[strcspn(errbuf, "\n")] = '\0';
                const char *msg = !strncmp(errbuf, "quilt-image: ", 13) ? errbuf + 13 : errbuf;
                enum quilt_status_code code = QUILT_INVALID_ARGUMENT;
                if (pull && r == 3)
                        code = QUILT_UNAVAILABLE;
                else if (pull && r == 4)
                        code = QUILT_NOT_FOUND;
                return quilt_status_set(st, code, "%s %s: %s", verb, arg,
                                        *msg ? msg : "the image helper failed");
        }
        out[strcspn(out, "\n")] = '\0';
        if (strncmp(out, DIGEST_PREFIX, strlen(DIGEST_PREFIX)) != 0 ||
            strlen(out) != strlen(DIGEST_PREFIX) + HEX_LEN ||
            !is_hex(out + strlen(DIGEST_PREFIX), HEX_LEN))
                return quilt_status_set(st, QUILT_INTERNAL, "the image helper answered '%.80s'", out);
        const char *hex = out + strlen(DIGEST_PREFIX);

        pthread_rwlock_wrlock(&m->images_lock);
        r = 0;
        if (!entry_exists(m, hex))      /* removed in between */
                r = quilt_status_set(st, QUILT_ABORTED, "%s %s: sha256:%s was removed meanwhile",
                                     verb, arg, hex);
        if (r == 0 && tag && *tag)
                r = write_tag(m, tag, out, st);
        struct tag *tags = NULL;
        struct user *users = NULL;
        size_t n_tags = 0, n_users = 0;
        Quilt__V1__Image *img = NULL;
        if (r == 0 && (read_tags(m, &tags, &n_tags) < 0 || collect_users(m, &users, &n_users) < 0))
                r = quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        if (r == 0 && !(img = image_message(m, hex, tags, n_tags, users, n_users)))
                r = quilt_status_set(st, QUILT_INTERNAL, "reading sha256:%s: %s", hex,
                                     strerror(errno));
        pthread_rwlock_unlock(&m->images_lock);
        tags_free(tags, n_tags);
        free(users);
        if (r < 0)
                return -1;
        *ret = img;
        return 0;
}

int quilt_manager_import_image(struct quilt_manager *m, const char *path, const char *tag,
                               Quilt__V1__ImportImageResponse **ret, struct quilt_status *st)
{
        if (!path || !*path)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "path: must name a rootfs tarball, an OCI layout or a docker archive by its absolute path");
        if (path[0] != '/')
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT, "path: '%s' is not an absolute path",
                                        path);
        struct stat sb;
        if (stat(path, &sb) < 0)
                return quilt_status_set(st, errno == ENOENT ? QUILT_NOT_FOUND : QUILT_INVALID_ARGUMENT,
                                        "path: %s: %s", path, strerror(errno));
        if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "path: %s is neither a file (a rootfs tarball, an OCI layout or docker-archive tar) nor a directory (an OCI layout)",
                                        path);
        if (tag && *tag && !tag_is_valid(tag))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "tag: '%s' is not valid: use [A-Za-z0-9][A-Za-z0-9._:/-]*, without '..' or a leading 'sha256:', at most %d characters",
                                        tag, TAG_MAX);

        Quilt__V1__Image *img = NULL;
        if (fetch_image(m, "import", path, tag, &img, st) < 0)
                return -1;
        Quilt__V1__ImportImageResponse *resp = calloc(1, sizeof(*resp));
        if (!resp) {
                image_free(img);
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        }
        quilt__v1__import_image_response__init(resp);
        resp->image = img;
        *ret = resp;
        return 0;
}

/* ---- PullImage ---- */

void quilt_pull_image_response_free(Quilt__V1__PullImageResponse *r)
{
        if (!r)
                return;
        image_free(r->image);
        free(r);
}

int quilt_manager_pull_image(struct quilt_manager *m, const char *reference,
                             Quilt__V1__PullImageResponse **ret, struct quilt_status *st)
{
        if (!reference || !*reference)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "reference: must name an image: HOST[:PORT]/NAME[:TAG]");
        if (reference[0] == '-' || reference[0] == '/')
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "reference: '%s' is not HOST[:PORT]/NAME[:TAG]", reference);
        /* A tag reference as given becomes the image's tag; by digest, none. */
        const char *tag = strchr(reference, '@') ? NULL : reference;
        if (tag && !tag_is_valid(tag))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "reference: '%s' is not HOST[:PORT]/NAME[:TAG] (or too long for a tag, at most %d characters)",
                                        reference, TAG_MAX);
        Quilt__V1__Image *img = NULL;
        if (fetch_image(m, "pull", reference, tag, &img, st) < 0)
                return -1;
        Quilt__V1__PullImageResponse *resp = calloc(1, sizeof(*resp));
        if (!resp) {
                image_free(img);
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        }
        quilt__v1__pull_image_response__init(resp);
        resp->image = img;
        *ret = resp;
        return 0;
}

/* ---- ListImages ---- */

static int image_compare(const void *a, const void *b)
{
        const Quilt__V1__Image *x = *(Quilt__V1__Image *const *)a, *y = *(Quilt__V1__Image *const *)b;
        if (x->created_at_ns != y->created_at_ns)
                return x->created_at_ns > y->created_at_ns ? -1 : 1;
        return strcmp(x->digest, y->digest);
}

int quilt_manager_list_images(struct quilt_manager *m, Quilt__V1__ListImagesResponse **ret,
                              struct quilt_status *st)
{
        Quilt__V1__ListImagesResponse *list = calloc(1, sizeof(*list));
        if (!list)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        quilt__v1__list_images_response__init(list);
        struct tag *tags = NULL;
        struct user *users = NULL;
        size_t n_tags = 0, n_users = 0, cap = 0;
        int r = 0;

        pthread_rwlock_rdlock(&m->images_lock);
        _cleanup_free_ char *sha = images_dir(m, "sha256");
        DIR *d = sha ? opendir(sha) : NULL;
        if (!sha)
                r = -ENOMEM;
        else if (!d && errno != ENOENT)
                r = -errno;
        if (d && r == 0 && (r = read_tags(m, &tags, &n_tags)) == 0)
                r = collect_users(m, &users, &n_users);
        struct dirent *de;
        while (d && r == 0 && (de = readdir(d))) {
                if (strlen(de->d_name) != HEX_LEN || !is_hex(de->d_name, HEX_LEN))
                        continue;
                Quilt__V1__Image *img = image_message(m, de->d_name, tags, n_tags, users, n_users);
                if (!img) {
                        if (errno != ENOENT)
                                r = -ENOMEM;
                        continue;
                }
                if (list->n_images == cap) {
                        cap = cap ? cap * 2 : 8;
                        Quilt__V1__Image **n = realloc(list->images, cap * sizeof(*n));
                        if (!n) {
                                image_free(img);
                                r = -ENOMEM;
                                break;
                        }
                        list->images = n;
                }
                list->images[list->n_images++] = img;
        }
        if (d)
                closedir(d);
        pthread_rwlock_unlock(&m->images_lock);
        tags_free(tags, n_tags);
        free(users);
        if (r < 0) {
                quilt_list_images_response_free(list);
                return quilt_status_set(st, r == -ENOMEM ? QUILT_RESOURCE_EXHAUSTED : QUILT_INTERNAL,
                                        "listing images: %s", strerror(-r));
        }
        if (list->n_images)
                qsort(list->images, list->n_images, sizeof(*list->images), image_compare);
        *ret = list;
        return 0;
}

/* ---- RemoveImage ---- */

/* Under the entry's lock (no plugin is unpacking or looking it up), move
 * the entry out of its name in one rename, then remove the tree.  A tree
 * half removed (an error, a crash) is named HEX.tmp-*, which the store's
 * next unpack of that image removes. */
static int remove_entry(struct quilt_manager *m, const char *hex, struct quilt_status *st)
{
        _cleanup_free_ char *dir = NULL, *lock = NULL, *tmp = NULL;
        if (asprintf(&dir, "%s/images/sha256/%s", m->cfg->state_dir, hex) < 0 ||
            asprintf(&lock, "%s.lock", dir) < 0 || asprintf(&tmp, "%s.tmp-removed", dir) < 0)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        _cleanup_close_ int lock_fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (lock_fd < 0)
                return quilt_status_set(st, QUILT_INTERNAL, "opening %s: %s", lock, strerror(errno));
        while (flock(lock_fd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return quilt_status_set(st, QUILT_INTERNAL, "locking %s: %s", lock,
                                                strerror(errno));
        struct quilt_error err = { 0 };
        if (quilt_remove_tree(tmp, &err) < 0)
                return quilt_status_set(st, QUILT_INTERNAL, "removing sha256:%s: %s", hex, err.message);
        if (rename(dir, tmp) < 0)
                return quilt_status_set(st, errno == ENOENT ? QUILT_NOT_FOUND : QUILT_INTERNAL,
                                        "removing sha256:%s: renaming %s: %s", hex, dir,
                                        strerror(errno));
        if (quilt_remove_tree(tmp, &err) < 0)
                return quilt_status_set(st, QUILT_INTERNAL, "removing sha256:%s: %s", hex, err.message);
        return 0;
}

int quilt_manager_remove_image(struct quilt_manager *m, const char *ref, char **ret_digest,
                               struct quilt_status *st)
{
        if (!ref || !*ref)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT, "image: must not be empty");
        if (ref[0] == '/')
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "image: '%s' is a path: name a stored image by its digest or tag",
                                        ref);
        pthread_rwlock_wrlock(&m->images_lock);
        char digest[QUILT_IMAGE_DIGEST_SIZE];
        struct tag *tags = NULL;
        struct user *users = NULL;
        size_t n_tags = 0, n_users = 0;
        int r = quilt_images_resolve(m, ref, digest, st);
        if (r == 0 && (read_tags(m, &tags, &n_tags) < 0 || collect_users(m, &users, &n_users) < 0))
                r = quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        if (r == 0) {
                char names[512] = "";
                size_t used = 0, len = 0;
                for (size_t i = 0; i < n_users; i++) {
                        if (strcmp(users[i].digest, digest) != 0)
                                continue;
                        if (used < 8 && len < sizeof(names))
                                len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%.12s",
                                                        used ? ", " : "", users[i].id);
                        used++;
                }
                if (used)
                        r = quilt_status_set(st, QUILT_FAILED_PRECONDITION,
                                             "image %s is used by %zu container%s: %s%s; remove %s first",
                                             digest, used, used == 1 ? "" : "s", names,
                                             used > 8 ? ", ..." : "", used == 1 ? "it" : "them");
        }
        if (r == 0) {
                _cleanup_free_ char *dir = images_dir(m, "tags");
                for (size_t i = 0; i < n_tags && dir; i++) {
                        if (strcmp(tags[i].digest, digest) != 0)
                                continue;
                        _cleanup_free_ char *name = tag_file_name(tags[i].name), *p = NULL;
                        if (name && asprintf(&p, "%s/%s", dir, name) > 0 && unlink(p) < 0 &&
                            errno != ENOENT) {
                                r = quilt_status_set(st, QUILT_INTERNAL, "removing tag %s: %s",
                                                     tags[i].name, strerror(errno));
                                break;
                        }
                }
        }
        if (r == 0)
                r = remove_entry(m, digest + strlen(DIGEST_PREFIX), st);
        pthread_rwlock_unlock(&m->images_lock);
        tags_free(tags, n_tags);
        free(users);
        if (r < 0)
                return -1;
        if (!(*ret_digest = strdup(digest)))
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        return 0;
}
