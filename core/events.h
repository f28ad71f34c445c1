/* SPDX-License-Identifier: MIT */
/* quiltd's event bus (StreamEvents): a bounded ring of the most recent
 * events, each numbered (sequence, +1 per event, from 1), and readers
 * that follow it with a filter.
 *
 * Emitters may hold the manager's lock: the bus has its own mutex, taken
 * after m->lock and never held while taking it (lock order: m->lock, then
 * the bus).  Emitting never blocks on readers: a reader that falls more
 * than the ring's capacity behind loses the oldest events; its next read
 * then returns one synthetic event of type "lost" (no container; attribute
 * "count" = how many events it missed, matching its filter or not;
 * sequence = the last missed one) and it goes on from the oldest event
 * still held.  "lost" passes every filter. */
#ifndef QUILT_EVENTS_H
#define QUILT_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#define QUILT_EVENTS_CAPACITY 4096      /* events held for replay and slow readers */
#define QUILT_EVENT_ATTRS_MAX 8         /* key/value pairs past this are dropped */
#define QUILT_EVENT_VALUE_MAX 1024      /* longer strings are cut (bytes, incl. NUL) */

struct quilt_event_attr {
        char *key;
        char *value;
};

struct quilt_event {
        uint64_t sequence;
        int64_t time_ns;                /* CLOCK_REALTIME when it was emitted */
        char *type;
        char *id;                       /* "" for "lost" */
        char *name;                     /* "" when unnamed */
        struct quilt_event_attr attrs[QUILT_EVENT_ATTRS_MAX];
        size_t n_attrs;
};

/* Free the strings of an event quilt_events_next filled (not `e` itself). */
void quilt_event_done(struct quilt_event *e);
/* The value of attribute `key`, or NULL. */
const char *quilt_event_attr(const struct quilt_event *e, const char *key);

struct quilt_events;

/* capacity 0: QUILT_EVENTS_CAPACITY.  0 or -ENOMEM. */
int quilt_events_new(size_t capacity, struct quilt_events **ret);
/* No reader may be subscribed any more.  NULL is fine. */
void quilt_events_free(struct quilt_events *ev);

/* Record an event and wake the readers.  After `name` come key/value
 * string pairs, ended by NULL:
 *
 *     quilt_events_emit(ev, "exec-exited", c->id, c->name,
 *                       "exec_id", exec_id,
 *                       "exit_code", QUILT_EVENT_INT(code),
 *                       "timed_out", QUILT_EVENT_BOOL(timed_out), NULL);
 *
 * NULL id or name count as "".  A NULL value drops its pair.  Never
 * fails: should memory run out, the event is recorded without the
 * strings that could not be copied.  `ev` may be NULL (nothing happens). */
__attribute__((sentinel))
void quilt_events_emit(struct quilt_events *ev, const char *type, const char *id, const char *name,
                       ...);

/* Integer and boolean attribute values for quilt_events_emit: each
 * expands to a string in a compound literal that lives until the end of
 * the enclosing block, so it can be written inline in the call. */
const char *quilt_event_int_str(char buf[24], long long v);
#define QUILT_EVENT_INT(v) quilt_event_int_str((char[24]){ 0 }, (long long)(v))
#define QUILT_EVENT_BOOL(b) ((b) ? "true" : "false")
/* argv joined by spaces (not quoted), cut to QUILT_EVENT_VALUE_MAX:
 * at most `n` strings, fewer when a NULL comes first (SIZE_MAX: a
 * NULL-terminated vector). */
const char *quilt_event_argv_str(char buf[QUILT_EVENT_VALUE_MAX], char *const *argv, size_t n);
#define QUILT_EVENT_ARGV(argv, n) quilt_event_argv_str((char[QUILT_EVENT_VALUE_MAX]){ 0 }, (argv), (n))

/* What a reader wants.  An empty list matches everything.  A container
 * entry matches an event whose id equals it or starts with it, or whose
 * name equals it: decided per event, so a name also catches a container
 * created after the subscription.  Empty entries are ignored. */
struct quilt_event_filter {
        const char *const *containers;
        size_t n_containers;
        const char *const *types;
        size_t n_types;
};

struct quilt_event_sub;

/* Start reading.  since_ns > 0: first the events still held whose time is
 * >= since_ns (oldest first), then new ones; 0: only events emitted after
 * this call.  The filter is copied.  0 or -ENOMEM. */
int quilt_events_subscribe(struct quilt_events *ev, const struct quilt_event_filter *filter,
                           int64_t since_ns, struct quilt_event_sub **ret);
/* The next matching event after the reader's position, copied into *ret
 * (quilt_event_done it).  1: an event; -EAGAIN: none within timeout_ms
 * (< 0: wait without limit); -ENOMEM. */
int quilt_events_next(struct quilt_event_sub *sub, struct quilt_event *ret, int timeout_ms);
/* NULL is fine. */
void quilt_events_unsubscribe(struct quilt_event_sub *sub);

#endif
