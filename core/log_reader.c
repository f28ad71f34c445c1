/* SPDX-License-Identifier: MIT */
/* Reading a container's log file for GetContainerLogs, also while the
 * monitor is still appending to it.  Memory use is one record at a time. */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>

#include "container.h"
#include "log_format.h"
#include "manager.h"
#include "monitor_protocol.h"
#include "util.h"

/* The largest record the format allows, with its header. */
#define BUFFER_MAX (QUILT_LOG_RECORD_MAX + QUILT_LOG_HEADER_MAX + 1)

struct quilt_log_stream {
        struct quilt_container_record *c;
        int fd;
        int inotify_fd;
        bool follow;
        bool finishing;                         /* the container ended: read to EOF once more */
        char *buf;
        size_t cap, start, end;
};

int quilt_manager_open_logs(struct quilt_manager *m, const char *ref, bool follow,
                            struct quilt_log_stream **ret, struct quilt_status *st)
{
        struct quilt_container_record *c;
        pthread_mutex_lock(&m->lock);
        int r = quilt_manager_lookup_locked(m, ref, &c, st);
        pthread_mutex_unlock(&m->lock);
        if (r < 0)
                return r;

        struct quilt_log_stream *s = calloc(1, sizeof(*s));
        if (!s) {
                quilt_container_unref(c);
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        }
        s->c = c;
        s->fd = s->inotify_fd = -1;
        s->follow = follow;
        s->cap = 64 * 1024;
        s->buf = malloc(s->cap);
        _cleanup_free_ char *path = NULL;
        if (!s->buf || asprintf(&path, "%s/" QUILT_LOG_FILE, c->dir) < 0) {
                path = NULL;
                quilt_log_stream_free(s);
                return quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        }
        s->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (s->fd < 0) {
                quilt_status_set(st, errno == ENOENT ? QUILT_NOT_FOUND : QUILT_INTERNAL,
                                 "logs of container %.12s: %s: %s", c->id, path, strerror(errno));
                quilt_log_stream_free(s);
                return -1;
        }
        if (follow) {
                s->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
                /* New output, and the monitor's atomic rename of DIR/state
                 * when the container ends: a quiet container's exit must end
                 * the stream at once, not at the next poll tick. */
                if (s->inotify_fd < 0 || inotify_add_watch(s->inotify_fd, path, IN_MODIFY) < 0 ||
                    inotify_add_watch(s->inotify_fd, c->dir, IN_MOVED_TO) < 0) {
                        quilt_status_set(st, QUILT_INTERNAL, "watching %s: %s", path, strerror(errno));
                        quilt_log_stream_free(s);
                        return -1;
                }
        }
        *ret = s;
        return 0;
}

void quilt_log_stream_free(struct quilt_log_stream *s)
{
        if (!s)
                return;
        quilt_closep(&s->fd);
        quilt_closep(&s->inotify_fd);
        quilt_container_unref(s->c);
        free(s->buf);
        free(s);
}

static bool container_finished(struct quilt_log_stream *s)
{
        struct quilt_manager *m = s->c->manager;
        pthread_mutex_lock(&m->lock);
        bool done = quilt_state_is_terminal(s->c->state) || s->c->monitor_done;
        pthread_mutex_unlock(&m->lock);
        return done;
}

/* Make room for more bytes at the end of the buffer. */
static int make_room(struct quilt_log_stream *s)
{
        if (s->start > 0) {
                memmove(s->buf, s->buf + s->start, s->end - s->start);
                s->end -= s->start;
                s->start = 0;
        }
        if (s->end < s->cap)
                return 0;
        if (s->cap >= BUFFER_MAX)
                return -EINVAL;                 /* cannot happen: parse refuses larger */
        size_t cap = s->cap * 2 > BUFFER_MAX ? BUFFER_MAX : s->cap * 2;
        char *n = realloc(s->buf, cap);
        if (!n)
                return -ENOMEM;
        s->buf = n;
        s->cap = cap;
        return 0;
}

int quilt_log_stream_next(struct quilt_log_stream *s, struct quilt_log_chunk *ret, int timeout_ms)
{
        for (;;) {
                struct quilt_log_record rec;
                long used = quilt_log_parse_record(s->buf + s->start, s->end - s->start, &rec);
                if (used > 0) {
                        s->start += (size_t)used;
                        ret->source = rec.stream;
                        ret->timestamp_ns = rec.timestamp_ns;
                        ret->setup_command = rec.setup_command;
                        ret->data = (const uint8_t *)rec.content;
                        ret->len = rec.len;
                        return 1;
                }
                if (used < 0) {
                        /* Not written by a monitor: skip to the next line and resync. */
                        char *nl = memchr(s->buf + s->start, '\n', s->end - s->start);
                        s->start = nl ? (size_t)(nl - s->buf) + 1 : s->end;
                        continue;
                }
                int r = make_room(s);
                if (r < 0)
                        return r;
                ssize_t n = read(s->fd, s->buf + s->end, s->cap - s->end);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n > 0) {
                        s->end += (size_t)n;
                        continue;
                }
                if (!s->follow || s->finishing)
                        return 0;
                /* The monitor writes every byte before it reports the exit,
                 * so after seeing it one more pass to EOF gets the rest. */
                if (container_finished(s)) {
                        s->finishing = true;
                        continue;
                }
                struct pollfd p = { .fd = s->inotify_fd, .events = POLLIN };
                r = poll(&p, 1, timeout_ms);
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (r > 0) {
                        char ev[4096];
                        while (read(s->inotify_fd, ev, sizeof(ev)) > 0)
                                ;
                        continue;
                }
                return -EAGAIN;
        }
}
