/* SPDX-License-Identifier: MIT */
/* CreateVolume, ListVolumes, RemoveVolume and volume lookup (volumes.h). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "container.h"
#include "manager.h"
#include "util.h"
#include "volume_path.h"
#include "volumes.h"

#define DATA_DIR QUILT_VOLUME_DATA_DIR
#define NEW_PREFIX ".new-"
#define REMOVED_PREFIX ".removed-"
#define NAME_RULE "[A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 characters"
/* Containers named in a FAILED_PRECONDITION message; the count says the rest. */
#define USERS_NAMED 8

/* A bad name is echoed cut short: it may be anything a client sent. */
static int check_name(const char *name, struct quilt_status *st)
{
        if (!name || !*name)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "name: must name a volume (" NAME_RULE ")");
        if (!quilt_volume_name_is_valid(name))
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "name: '%.80s%s' is not a valid volume name: use " NAME_RULE,
                                        name, strlen(name) > 80 ? "..." : "");
        return 0;
}

/* STATE_DIR/volumes, or with `sub`: STATE_DIR/volumes/SUB[/SUB2]. */
static char *volumes_path(const struct quilt_manager *m, const char *sub, const char *sub2)
{
        char *p = NULL;
        if (asprintf(&p, "%s/" QUILT_VOLUMES_DIR "%s%s%s%s", m->cfg->state_dir, sub ? "/" : "", sub ? sub : "",
                     sub2 ? "/" : "", sub2 ? sub2 : "") < 0)
                return NULL;
        return p;
}

static bool is_dir(const char *path, struct stat *ret)
{
        struct stat sb;
        if (lstat(path, &sb) < 0 || !S_ISDIR(sb.st_mode))
                return false;
        if (ret)
                *ret = sb;
        return true;
}

static int make_volumes_dir(const struct quilt_manager *m, char **ret, struct quilt_status *st)
{
        _cleanup_free_ char *dir = volumes_path(m, NULL, NULL);
        if (!dir)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        /* Only root goes through it: containers see their _data, mounted. */
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return quilt_status_set(st, QUILT_INTERNAL, "mkdir %s: %s", dir, strerror(errno));
        *ret = TAKE_PTR(dir);
        return 0;
}

int quilt_volume_path(const struct quilt_manager *m, const char *name, char **ret_path,
                      struct quilt_status *st)
{
        if (check_name(name, st) < 0)
                return -1;
        /* The monitor mounts what this names (volume_path.h). */
        _cleanup_free_ char *data = quilt_volume_data_path(m->cfg->state_dir, name);
        if (!data)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        if (!is_dir(data, NULL))
                return quilt_status_set(st, QUILT_NOT_FOUND,
                                        "volume '%s' does not exist (create it with quilt-cli volume create %s)",
                                        name, name);
        *ret_path = TAKE_PTR(data);
        return 0;
}

int quilt_volumes_init(struct quilt_manager *m, struct quilt_status *st)
{
        _cleanup_free_ char *dir = NULL;
        if (make_volumes_dir(m, &dir, st) < 0)
                return -1;
        DIR *d = opendir(dir);
        if (!d)
                return quilt_status_set(st, QUILT_INTERNAL, "opendir %s: %s", dir, strerror(errno));
        int r = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strncmp(de->d_name, NEW_PREFIX, strlen(NEW_PREFIX)) != 0 &&
                    strncmp(de->d_name, REMOVED_PREFIX, strlen(REMOVED_PREFIX)) != 0)
                        continue;
                _cleanup_free_ char *p = NULL;
                struct quilt_error err = { 0 };
                if (asprintf(&p, "%s/%s", dir, de->d_name) < 0) {
                        r = quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
                        break;
                }
                if (quilt_remove_tree(p, &err) < 0) {
                        r = quilt_status_set(st, QUILT_INTERNAL, "removing %s: %s", p, err.message);
                        break;
                }
        }
        closedir(d);
        return r;
}

/* ---- users ---- */

static bool record_mounts(const struct quilt_container_record *c, const char *name)
{
        for (char **v = c->volumes; v && *v; v++)
                if (!strcmp(*v, name))
                        return true;
        return false;
}

/* Records being removed still count: their mounts may not be gone yet.
 * Call with m->lock held. */
static int count_users_locked(const struct quilt_manager *m, const char *name)
{
        int n = 0;
        for (const struct quilt_container_record *c = m->containers; c; c = c->next)
                n += record_mounts(c, name);
        return n;
}

/* FAILED_PRECONDITION naming the users ("ID12 (name)"), or 0 when none.
 * Call with m->lock held. */
static int refuse_if_used_locked(const struct quilt_manager *m, const char *name,
                                 struct quilt_status *st)
{
        char names[768] = "";
        size_t len = 0;
        int used = 0;
        for (const struct quilt_container_record *c = m->containers; c; c = c->next) {
                if (!record_mounts(c, name))
                        continue;
                if (used < USERS_NAMED && len < sizeof(names))
                        len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%.12s%s%.40s%s",
                                                used ? ", " : "", c->id, *c->name ? " (" : "",
                                                c->name, *c->name ? ")" : "");
                used++;
        }
        if (used == 0)
                return 0;
        if (used == 1)
                return quilt_status_set(st, QUILT_FAILED_PRECONDITION,
                                        "volume '%s' is in use by container %s; remove it first",
                                        name, names);
        return quilt_status_set(st, QUILT_FAILED_PRECONDITION,
                                "volume '%s' is in use by %d containers: %s%s; remove them first",
                                name, used, names, used > USERS_NAMED ? ", ..." : "");
}

/* ---- messages ---- */

static void volume_free(Quilt__V1__Volume *v)
{
        if (!v)
                return;
        free(v->name);
        free(v->path);
        free(v);
}

void quilt_create_volume_response_free(Quilt__V1__CreateVolumeResponse *r)
{
        if (!r)
                return;
        volume_free(r->volume);
        free(r);
}

void quilt_list_volumes_response_free(Quilt__V1__ListVolumesResponse *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->n_volumes; i++)
                volume_free(r->volumes[i]);
        free(r->volumes);
        free(r);
}

/* The Volume message of NAME (without `containers`), or NULL with errno:
 * ENOENT when it is not a complete volume, ENOMEM.  created_at_ns is the
 * mtime of STATE_DIR/volumes/NAME: it gets its one entry (_data) before
 * the rename that publishes it, and nothing writes to it afterwards
 * (containers only see _data), so that is when it was made, to the ns. */
static Quilt__V1__Volume *volume_message(const struct quilt_manager *m, const char *name)
{
        _cleanup_free_ char *dir = volumes_path(m, name, NULL);
        _cleanup_free_ char *data = volumes_path(m, name, DATA_DIR);
        if (!dir || !data) {
                errno = ENOMEM;
                return NULL;
        }
        struct stat sb;
        if (!is_dir(data, NULL) || !is_dir(dir, &sb)) {
                errno = ENOENT;
                return NULL;
        }
        Quilt__V1__Volume *v = calloc(1, sizeof(*v));
        if (!v) {
                errno = ENOMEM;
                return NULL;
        }
        quilt__v1__volume__init(v);
        v->created_at_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        v->name = strdup(name);
        v->path = TAKE_PTR(data);
        if (!v->name) {
                volume_free(v);
                errno = ENOMEM;
                return NULL;
        }
        return v;
}

/* ---- CreateVolume ---- */

/* Build it under a name no volume can have (names start alphanumeric),
 * then publish it with one rename that never replaces anything. */
static int publish(const char *tmp, const char *final)
{
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EINVAL)
                return -errno;
        /* A file system without RENAME_NOREPLACE: rename() still never
         * replaces a volume (its dir is not empty: it holds _data). */
        return rename(tmp, final) < 0 ? -errno : 0;
}

int quilt_manager_create_volume(struct quilt_manager *m, const char *name,
                                Quilt__V1__CreateVolumeResponse **ret, struct quilt_status *st)
{
        if (check_name(name, st) < 0)
                return -1;
        _cleanup_free_ char *dir = NULL, *tmp = NULL, *final = NULL, *data = NULL;
        if (make_volumes_dir(m, &dir, st) < 0)
                return -1;
        if (asprintf(&tmp, "%s/" NEW_PREFIX "XXXXXX", dir) < 0 || !(final = volumes_path(m, name, NULL)))
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        if (is_dir(final, NULL))        /* the common refusal, without any writing */
                return quilt_status_set(st, QUILT_ALREADY_EXISTS, "volume '%s' already exists", name);
        if (!mkdtemp(tmp))
                return quilt_status_set(st, QUILT_INTERNAL, "creating volume '%s': mkdtemp %s: %s",
                                        name, tmp, strerror(errno));
        int r = 0;
        struct quilt_error err = { 0 };
        if (asprintf(&data, "%s/" DATA_DIR, tmp) < 0)
                r = quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        /* chmod: the daemon's umask must not decide what containers may do. */
        else if (mkdir(data, 0755) < 0 || chmod(data, 0755) < 0)
                r = quilt_status_set(st, QUILT_INTERNAL, "creating volume '%s': %s: %s", name, data,
                                     strerror(errno));
        else if ((r = publish(tmp, final)) == -EEXIST || r == -ENOTEMPTY)
                r = quilt_status_set(st, QUILT_ALREADY_EXISTS, "volume '%s' already exists", name);
        else if (r < 0)
                r = quilt_status_set(st, QUILT_INTERNAL, "creating volume '%s': renaming %s: %s", name,
                                     tmp, strerror(-r));
        if (r < 0) {
                quilt_remove_tree(tmp, &err);
                return -1;
        }

        Quilt__V1__CreateVolumeResponse *resp = calloc(1, sizeof(*resp));
        Quilt__V1__Volume *v = volume_message(m, name);
        if (!resp || !v) {
                /* Created all the same; a list shows it. */
                free(resp);
                volume_free(v);
                return quilt_status_set(st, QUILT_INTERNAL, "volume '%s' created, but reading it back: %s",
                                        name, strerror(v ? ENOMEM : errno));
        }
        quilt__v1__create_volume_response__init(resp);
        pthread_mutex_lock(&m->lock);
        v->containers = count_users_locked(m, name);
        pthread_mutex_unlock(&m->lock);
        resp->volume = v;
        *ret = resp;
        return 0;
}

/* ---- ListVolumes ---- */

static int volume_compare(const void *a, const void *b)
{
        const Quilt__V1__Volume *x = *(Quilt__V1__Volume *const *)a, *y = *(Quilt__V1__Volume *const *)b;
        return strcmp(x->name, y->name);
}

int quilt_manager_list_volumes(struct quilt_manager *m, Quilt__V1__ListVolumesResponse **ret,
                               struct quilt_status *st)
{
        Quilt__V1__ListVolumesResponse *list = calloc(1, sizeof(*list));
        if (!list)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        quilt__v1__list_volumes_response__init(list);
        _cleanup_free_ char *dir = volumes_path(m, NULL, NULL);
        DIR *d = dir ? opendir(dir) : NULL;
        int r = 0;
        size_t cap = 0;
        if (!dir)
                r = -ENOMEM;
        else if (!d && errno != ENOENT)         /* no volumes dir: none yet */
                r = -errno;
        struct dirent *de;
        while (d && r == 0 && (de = readdir(d))) {
                /* ".", "..", creates and removes in progress, strays */
                if (!quilt_volume_name_is_valid(de->d_name))
                        continue;
                Quilt__V1__Volume *v = volume_message(m, de->d_name);
                if (!v) {
                        if (errno != ENOENT)
                                r = -ENOMEM;
                        continue;
                }
                if (list->n_volumes == cap) {
                        cap = cap ? cap * 2 : 8;
                        Quilt__V1__Volume **n = realloc(list->volumes, cap * sizeof(*n));
                        if (!n) {
                                volume_free(v);
                                r = -ENOMEM;
                                break;
                        }
                        list->volumes = n;
                }
                list->volumes[list->n_volumes++] = v;
        }
        if (d)
                closedir(d);
        if (r < 0) {
                quilt_list_volumes_response_free(list);
                return quilt_status_set(st, r == -ENOMEM ? QUILT_RESOURCE_EXHAUSTED : QUILT_INTERNAL,
                                        "listing volumes: %s", strerror(-r));
        }
        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < list->n_volumes; i++)
                list->volumes[i]->containers = count_users_locked(m, list->volumes[i]->name);
        pthread_mutex_unlock(&m->lock);
        if (list->n_volumes > 1)
                qsort(list->volumes, list->n_volumes, sizeof(*list->volumes), volume_compare);
        *ret = list;
        return 0;
}

/* ---- RemoveVolume ---- */

int quilt_manager_remove_volume(struct quilt_manager *m, const char *name, char **ret_name,
                                struct quilt_status *st)
{
        if (check_name(name, st) < 0)
                return -1;
        /* The trash sits next to the volume: STATE_DIR/volumes/.removed-NAME-NS. */
        _cleanup_free_ char *final = volumes_path(m, name, NULL), *dir = volumes_path(m, NULL, NULL);
        _cleanup_free_ char *trash = NULL;
        if (!final || !dir ||
            asprintf(&trash, "%s/" REMOVED_PREFIX "%s-%lld", dir, name, (long long)quilt_monotonic_ns()) < 0)
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");

        /* Check the users and take the name away under the lock creates
         * hold from quilt_volume_path until their record is registered.
         * The rename is the removal as far as anyone can see; deleting the
         * data (any size) then runs without holding up the daemon. */
        pthread_mutex_lock(&m->lock);
        int r = 0;
        if (!is_dir(final, NULL))
                r = quilt_status_set(st, QUILT_NOT_FOUND, "volume '%s' does not exist", name);
        else
                r = refuse_if_used_locked(m, name, st);
        if (r == 0 && rename(final, trash) < 0)
                r = quilt_status_set(st, errno == ENOENT ? QUILT_NOT_FOUND : QUILT_INTERNAL,
                                     "removing volume '%s': renaming %s: %s", name, final,
                                     strerror(errno));
        pthread_mutex_unlock(&m->lock);
        if (r < 0)
                return -1;

        struct quilt_error err = { 0 };
        if (quilt_remove_tree(trash, &err) < 0)
                return quilt_status_set(st, QUILT_INTERNAL,
                                        "volume '%s' is gone, but deleting its data stopped: %s (left in %s)",
                                        name, err.message, trash);
        if (!(*ret_name = strdup(name)))
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        return 0;
}
