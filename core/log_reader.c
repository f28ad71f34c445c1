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

/* A record is at most one pipe read (64 KiB) plus its header. */
#define LINE_MAX_BYTES (1024 * 1024)

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
                if (s->inotify_fd < 0 || inotify_add_watch(s->inotify_fd, path, IN_MODIFY) < 0) {
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
        if (s->cap >= LINE_MAX_BYTES) {
                /* Not written by a monitor: drop the garbage. */
                s->end = 0;
                return 0;
        }
        char *n = realloc(s->buf, s->cap * 2);
        if (!n)
                return -ENOMEM;
        s->buf = n;
        s->cap *= 2;
        return 0;
}

int quilt_log_stream_next(struct quilt_log_stream *s, struct quilt_log_chunk *ret, int timeout_ms)
{
        for (;;) {
                char *line = s->buf + s->start;
                char *nl = memchr(line, '\n', s->end - s->start);
                if (nl) {
                        size_t len = (size_t)(nl - line);
                        s->start += len + 1;
                        struct quilt_log_record rec;
                        if (quilt_log_parse_line(line, len, &rec) < 0)
                                continue;
                        ret->source = rec.stream;
                        ret->timestamp_ns = rec.timestamp_ns;
                        ret->data = (const uint8_t *)rec.content;
                        /* A full line: hand out its newline too (it follows in the buffer). */
                        ret->len = rec.len + (rec.partial ? 0 : 1);
                        if (!rec.partial)
                                ((char *)rec.content)[rec.len] = '\n';
                        return 1;
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
