/* SPDX-License-Identifier: MIT */
/* The event bus (see events.h): a ring of `capacity` slots; the event
 * with sequence s lives in slot (s - 1) % capacity, so the events held
 * are the last `capacity` ones before next_seq. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cleanup.h"
#include "events.h"
#include "util.h"

struct quilt_events {
        pthread_mutex_t lock;
        pthread_cond_t changed;                 /* CLOCK_MONOTONIC; broadcast per event */
        struct quilt_event *ring;
        size_t capacity;
        uint64_t next_seq;                      /* the sequence the next event gets; from 1 */
};

struct quilt_event_sub {
        struct quilt_events *ev;
        uint64_t next;                          /* the sequence to look at next */
        char **containers;
        size_t n_containers;
        char **types;
        size_t n_types;
};

void quilt_event_done(struct quilt_event *e)
{
        if (!e)
                return;
        free(e->type);
        free(e->id);
        free(e->name);
        for (size_t i = 0; i < e->n_attrs; i++) {
                free(e->attrs[i].key);
                free(e->attrs[i].value);
        }
        *e = (struct quilt_event){ 0 };
}

const char *quilt_event_attr(const struct quilt_event *e, const char *key)
{
        for (size_t i = 0; i < e->n_attrs; i++)
                if (e->attrs[i].key && !strcmp(e->attrs[i].key, key))
                        return e->attrs[i].value ? e->attrs[i].value : "";
        return NULL;
}

const char *quilt_event_int_str(char buf[24], long long v)
{
        snprintf(buf, 24, "%lld", v);
        return buf;
}

/* The length of s[0..len) without a UTF-8 sequence cut off at its end,
 * so a cut string stays valid in a proto3 string field. */
static size_t utf8_whole(const char *s, size_t len)
{
        size_t start = len;
        while (start > 0 && ((unsigned char)s[start - 1] & 0xc0) == 0x80 && len - start < 3)
                start--;
        if (start == 0)
                return len;
        unsigned char lead = (unsigned char)s[start - 1];
        size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
        return len - (start - 1) < need ? start - 1 : len;
}

const char *quilt_event_argv_str(char buf[QUILT_EVENT_VALUE_MAX], char *const *argv, size_t n)
{
        size_t len = 0;
        buf[0] = '\0';
        for (size_t i = 0; argv && i < n && argv[i] && len < QUILT_EVENT_VALUE_MAX - 1; i++) {
                int w = snprintf(buf + len, QUILT_EVENT_VALUE_MAX - len, "%s%s", i ? " " : "", argv[i]);
                if (w < 0)
                        break;
                len += (size_t)w;
        }
        if (len >= QUILT_EVENT_VALUE_MAX - 1)
                buf[utf8_whole(buf, QUILT_EVENT_VALUE_MAX - 1)] = '\0';
        return buf;
}

int quilt_events_new(size_t capacity, struct quilt_events **ret)
{
        struct quilt_events *ev = calloc(1, sizeof(*ev));
        if (!ev)
                return -ENOMEM;
        ev->capacity = capacity ? capacity : QUILT_EVENTS_CAPACITY;
        ev->ring = calloc(ev->capacity, sizeof(*ev->ring));
        if (!ev->ring) {
                free(ev);
                return -ENOMEM;
        }
        ev->next_seq = 1;
        pthread_mutex_init(&ev->lock, NULL);
        pthread_condattr_t attr;
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&ev->changed, &attr);
        pthread_condattr_destroy(&attr);
        *ret = ev;
        return 0;
}

void quilt_events_free(struct quilt_events *ev)
{
        if (!ev)
                return;
        for (size_t i = 0; i < ev->capacity; i++)
                quilt_event_done(&ev->ring[i]);
        free(ev->ring);
        pthread_cond_destroy(&ev->changed);
        pthread_mutex_destroy(&ev->lock);
        free(ev);
}

/* A copy of at most QUILT_EVENT_VALUE_MAX - 1 bytes, cut before a UTF-8
 * continuation byte so the result stays valid in a proto3 string. */
static char *dup_bounded(const char *s)
{
        size_t len = strnlen(s, QUILT_EVENT_VALUE_MAX);
        if (len == QUILT_EVENT_VALUE_MAX)
                len = utf8_whole(s, len - 1);
        return strndup(s, len);
}

static uint64_t oldest_held(const struct quilt_events *ev)
{
        return ev->next_seq > ev->capacity ? ev->next_seq - ev->capacity : 1;
}

static struct quilt_event *slot(struct quilt_events *ev, uint64_t seq)
{
        return &ev->ring[(seq - 1) % ev->capacity];
}

void quilt_events_emit(struct quilt_events *ev, const char *type, const char *id, const char *name,
                       ...)
{
        if (!ev)
                return;
        /* Copied before taking the lock: emitters may hold m->lock, and
         * the bus lock should only ever be held briefly. */
        struct quilt_event e = {
                .type = dup_bounded(type),
                .id = dup_bounded(id ? id : ""),
                .name = dup_bounded(name ? name : ""),
        };
        va_list ap;
        va_start(ap, name);
        for (const char *key; (key = va_arg(ap, const char *));) {
                const char *value = va_arg(ap, const char *);
                if (!value || e.n_attrs == QUILT_EVENT_ATTRS_MAX)
                        continue;
                e.attrs[e.n_attrs].key = dup_bounded(key);
                e.attrs[e.n_attrs].value = dup_bounded(value);
                e.n_attrs++;
        }
        va_end(ap);

        pthread_mutex_lock(&ev->lock);
        e.sequence = ev->next_seq++;
        /* Timed under the lock, so times never go back along sequences
         * (unless the wall clock itself is set back). */
        e.time_ns = quilt_now_ns();
        struct quilt_event *s = slot(ev, e.sequence);
        quilt_event_done(s);            /* the event capacity ago, if any */
        *s = e;
        pthread_cond_broadcast(&ev->changed);
        pthread_mutex_unlock(&ev->lock);
}

static void strv_free_n(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

/* The non-empty entries of `v`, copied. */
static int copy_list(const char *const *v, size_t n, char ***ret, size_t *ret_n)
{
        *ret = NULL;
        *ret_n = 0;
        if (n == 0)
                return 0;
        char **copy = calloc(n, sizeof(char *));
        if (!copy)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                if (!v[i] || !v[i][0])
                        continue;
                if (!(copy[k++] = strdup(v[i]))) {
                        strv_free_n(copy, k);
                        return -ENOMEM;
                }
        }
        *ret = copy;
        *ret_n = k;
        return 0;
}

int quilt_events_subscribe(struct quilt_events *ev, const struct quilt_event_filter *filter,
                           int64_t since_ns, struct quilt_event_sub **ret)
{
        struct quilt_event_sub *sub = calloc(1, sizeof(*sub));
        if (!sub)
                return -ENOMEM;
        sub->ev = ev;
        if (filter && (copy_list(filter->containers, filter->n_containers, &sub->containers,
                                 &sub->n_containers) < 0 ||
                       copy_list(filter->types, filter->n_types, &sub->types, &sub->n_types) < 0)) {
                quilt_events_unsubscribe(sub);
                return -ENOMEM;
        }
        pthread_mutex_lock(&ev->lock);
        sub->next = ev->next_seq;
        if (since_ns > 0)
                for (uint64_t s = oldest_held(ev); s < ev->next_seq; s++)
                        if (slot(ev, s)->time_ns >= since_ns) {
                                sub->next = s;
                                break;
                        }
        pthread_mutex_unlock(&ev->lock);
        *ret = sub;
        return 0;
}

void quilt_events_unsubscribe(struct quilt_event_sub *sub)
{
        if (!sub)
                return;
        strv_free_n(sub->containers, sub->n_containers);
        strv_free_n(sub->types, sub->n_types);
        free(sub);
}

static bool matches(const struct quilt_event_sub *sub, const struct quilt_event *e)
{
        bool ok = sub->n_types == 0;
        for (size_t i = 0; i < sub->n_types && !ok; i++)
                ok = e->type && !strcmp(e->type, sub->types[i]);
        if (!ok)
                return false;
        ok = sub->n_containers == 0;
        const char *id = e->id ? e->id : "", *name = e->name ? e->name : "";
        for (size_t i = 0; i < sub->n_containers && !ok; i++) {
                const char *ref = sub->containers[i];
                /* An id prefix (the full id included) or the exact name. */
                ok = (*id && !strncmp(id, ref, strlen(ref))) || (*name && !strcmp(name, ref));
        }
        return ok;
}

static char *dup_or_empty(const char *s)
{
        return strdup(s ? s : "");
}

static int event_copy(struct quilt_event *dst, const struct quilt_event *src)
{
        *dst = (struct quilt_event){
                .sequence = src->sequence,
                .time_ns = src->time_ns,
                .type = dup_or_empty(src->type),
                .id = dup_or_empty(src->id),
                .name = dup_or_empty(src->name),
        };
        bool ok = dst->type && dst->id && dst->name;
        for (size_t i = 0; i < src->n_attrs; i++) {
                dst->attrs[i].key = dup_or_empty(src->attrs[i].key);
                dst->attrs[i].value = dup_or_empty(src->attrs[i].value);
                dst->n_attrs++;
                ok = ok && dst->attrs[i].key && dst->attrs[i].value;
        }
        if (!ok) {
                quilt_event_done(dst);
                return -ENOMEM;
        }
        return 0;
}

/* The notice for a reader that fell behind the ring. */
static int lost_event(struct quilt_event *ret, uint64_t count, uint64_t last_lost)
{
        struct quilt_event lost = {
                .sequence = last_lost,
                .time_ns = quilt_now_ns(),
                .type = (char *)"lost",
                .attrs = { { .key = (char *)"count", .value = (char *)QUILT_EVENT_INT(count) } },
                .n_attrs = 1,
        };
        return event_copy(ret, &lost);
}

int quilt_events_next(struct quilt_event_sub *sub, struct quilt_event *ret, int timeout_ms)
{
        struct quilt_events *ev = sub->ev;
        struct timespec deadline = { 0 };
        if (timeout_ms >= 0) {
                int64_t ns = quilt_monotonic_ns() + (int64_t)timeout_ms * 1000000;
                deadline = (struct timespec){ .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
        }
        pthread_mutex_lock(&ev->lock);
        for (;;) {
                uint64_t oldest = oldest_held(ev);
                if (sub->next < oldest) {
                        uint64_t count = oldest - sub->next;
                        sub->next = oldest;
                        pthread_mutex_unlock(&ev->lock);
                        int r = lost_event(ret, count, oldest - 1);
                        return r < 0 ? r : 1;
                }
                while (sub->next < ev->next_seq) {
                        const struct quilt_event *e = slot(ev, sub->next++);
                        if (matches(sub, e)) {
                                int r = event_copy(ret, e);
                                pthread_mutex_unlock(&ev->lock);
                                return r < 0 ? r : 1;
                        }
                }
                if (timeout_ms < 0)
                        pthread_cond_wait(&ev->changed, &ev->lock);
                else if (pthread_cond_timedwait(&ev->changed, &ev->lock, &deadline) == ETIMEDOUT) {
                        pthread_mutex_unlock(&ev->lock);
                        return -EAGAIN;
                }
        }
}
