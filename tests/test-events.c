/* SPDX-License-Identifier: MIT */
/* core/events.c: the ring, filters, the "lost" notice, replay, and
 * concurrent emitters and readers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <cmocka.h>

#include "events.h"
#include "util.h"

#define ID_A "aaaa000000000000000000000000000000000000000000000000000000000001"
#define ID_B "bbbb000000000000000000000000000000000000000000000000000000000002"

static struct quilt_events *new_bus(size_t capacity)
{
        struct quilt_events *ev = NULL;
        assert_int_equal(quilt_events_new(capacity, &ev), 0);
        return ev;
}

static struct quilt_event_sub *subscribe(struct quilt_events *ev, const char *const *containers,
                                         size_t n_containers, const char *const *types, size_t n_types,
                                         int64_t since_ns)
{
        struct quilt_event_filter f = { containers, n_containers, types, n_types };
        struct quilt_event_sub *sub = NULL;
        assert_int_equal(quilt_events_subscribe(ev, &f, since_ns, &sub), 0);
        return sub;
}

/* The next event's type and id ("" when none within 0 ms). */
static void expect_next(struct quilt_event_sub *sub, const char *type, const char *id)
{
        struct quilt_event e;
        int r = quilt_events_next(sub, &e, 0);
        if (!type) {
                assert_int_equal(r, -EAGAIN);
                return;
        }
        assert_int_equal(r, 1);
        assert_string_equal(e.type, type);
        assert_string_equal(e.id, id);
        quilt_event_done(&e);
}

static void test_order_and_attributes(void **state)
{
        (void)state;
        struct quilt_events *ev = new_bus(0);
        struct quilt_event_sub *before = subscribe(ev, NULL, 0, NULL, 0, 0);
        char *argv[] = { "sh", "-c", "echo hi", NULL };
        quilt_events_emit(ev, "created", ID_A, "web", "image", "/x.tar",
                          "command", QUILT_EVENT_ARGV(argv, SIZE_MAX), NULL);
        quilt_events_emit(ev, "started", ID_A, "web", "pid", QUILT_EVENT_INT(4242),
                          "skipped", (const char *)NULL, "late", "yes", NULL);
        quilt_events_emit(ev, "exited", ID_A, NULL, "exit_code", QUILT_EVENT_INT(-7),
                          "oom_killed", QUILT_EVENT_BOOL(0), NULL);

        struct quilt_event e;
        assert_int_equal(quilt_events_next(before, &e, 0), 1);
        assert_int_equal(e.sequence, 1);
        assert_string_equal(e.type, "created");
        assert_string_equal(e.name, "web");
        assert_string_equal(quilt_event_attr(&e, "image"), "/x.tar");
        assert_string_equal(quilt_event_attr(&e, "command"), "sh -c echo hi");
        assert_true(e.time_ns > 0);
        int64_t t1 = e.time_ns;
        quilt_event_done(&e);

        assert_int_equal(quilt_events_next(before, &e, 0), 1);
        assert_int_equal(e.sequence, 2);
        assert_string_equal(quilt_event_attr(&e, "pid"), "4242");
        /* A NULL value drops its pair; the pairs after it stay. */
        assert_null(quilt_event_attr(&e, "skipped"));
        assert_string_equal(quilt_event_attr(&e, "late"), "yes");
        assert_int_equal(e.n_attrs, 2);
        assert_true(e.time_ns >= t1);
        quilt_event_done(&e);

        assert_int_equal(quilt_events_next(before, &e, 0), 1);
        assert_int_equal(e.sequence, 3);
        assert_string_equal(e.name, "");
        assert_string_equal(quilt_event_attr(&e, "exit_code"), "-7");
        assert_string_equal(quilt_event_attr(&e, "oom_killed"), "false");
        quilt_event_done(&e);
        expect_next(before, NULL, NULL);

        /* A new reader sees only what comes after it. */
        struct quilt_event_sub *after = subscribe(ev, NULL, 0, NULL, 0, 0);
        expect_next(after, NULL, NULL);
        quilt_events_emit(ev, "removed", ID_A, "web", NULL);
        expect_next(after, "removed", ID_A);
        expect_next(before, "removed", ID_A);

        quilt_events_unsubscribe(before);
        quilt_events_unsubscribe(after);
        quilt_events_free(ev);
}

static void test_filters(void **state)
{
        (void)state;
        struct quilt_events *ev = new_bus(0);
        const char *by_id[] = { ID_A };
        const char *by_prefix[] = { "bbbb" };
        const char *by_name[] = { "", "later" };
        const char *by_type[] = { "exited", "oom" };
        struct quilt_event_sub *s_id = subscribe(ev, by_id, 1, NULL, 0, 0);
        struct quilt_event_sub *s_prefix = subscribe(ev, by_prefix, 1, NULL, 0, 0);
        struct quilt_event_sub *s_name = subscribe(ev, by_name, 2, NULL, 0, 0);
        struct quilt_event_sub *s_type = subscribe(ev, NULL, 0, by_type, 2, 0);
        struct quilt_event_sub *s_both = subscribe(ev, by_prefix, 1, by_type, 2, 0);

        quilt_events_emit(ev, "created", ID_A, "first", NULL);
        quilt_events_emit(ev, "created", ID_B, "later", NULL);   /* named after subscribing */
        quilt_events_emit(ev, "oom", ID_B, "later", NULL);
        quilt_events_emit(ev, "exited", ID_A, "first", NULL);
        quilt_events_emit(ev, "exited", ID_B, "later", NULL);

        expect_next(s_id, "created", ID_A);
        expect_next(s_id, "exited", ID_A);
        expect_next(s_id, NULL, NULL);

        expect_next(s_prefix, "created", ID_B);
        expect_next(s_prefix, "oom", ID_B);
        expect_next(s_prefix, "exited", ID_B);
        expect_next(s_prefix, NULL, NULL);

        /* The empty entry is ignored, not a prefix of every id. */
        expect_next(s_name, "created", ID_B);
        expect_next(s_name, "oom", ID_B);
        expect_next(s_name, "exited", ID_B);
        expect_next(s_name, NULL, NULL);

        expect_next(s_type, "oom", ID_B);
        expect_next(s_type, "exited", ID_A);
        expect_next(s_type, "exited", ID_B);
        expect_next(s_type, NULL, NULL);

        expect_next(s_both, "oom", ID_B);
        expect_next(s_both, "exited", ID_B);
        expect_next(s_both, NULL, NULL);

        quilt_events_unsubscribe(s_id);
        quilt_events_unsubscribe(s_prefix);
        quilt_events_unsubscribe(s_name);
        quilt_events_unsubscribe(s_type);
        quilt_events_unsubscribe(s_both);
        quilt_events_free(ev);
}

static void test_lost_events(void **state)
{
        (void)state;
        struct quilt_events *ev = new_bus(4);
        const char *types[] = { "exited" };
        struct quilt_event_sub *sub = subscribe(ev, NULL, 0, types, 1, 0);
        for (int i = 0; i < 10; i++)
                quilt_events_emit(ev, i == 8 ? "exited" : "created", ID_A, "x", NULL);

        /* Events 1..6 were overwritten: one notice, whatever the filter,
         * then the oldest held (7..10), filtered. */
        struct quilt_event e;
        assert_int_equal(quilt_events_next(sub, &e, 0), 1);
        assert_string_equal(e.type, "lost");
        assert_string_equal(e.id, "");
        assert_string_equal(quilt_event_attr(&e, "count"), "6");
        assert_int_equal(e.sequence, 6);
        quilt_event_done(&e);
        assert_int_equal(quilt_events_next(sub, &e, 0), 1);
        assert_string_equal(e.type, "exited");
        assert_int_equal(e.sequence, 9);
        quilt_event_done(&e);
        expect_next(sub, NULL, NULL);

        /* Keeping up: no notice. */
        quilt_events_emit(ev, "exited", ID_A, "x", NULL);
        assert_int_equal(quilt_events_next(sub, &e, 0), 1);
        assert_int_equal(e.sequence, 11);
        quilt_event_done(&e);

        quilt_events_unsubscribe(sub);
        quilt_events_free(ev);
}

static void test_replay_since(void **state)
{
        (void)state;
        struct quilt_events *ev = new_bus(8);
        quilt_events_emit(ev, "created", ID_A, "old", NULL);
        nanosleep(&(struct timespec){ .tv_nsec = 2000000 }, NULL);
        int64_t mark = quilt_now_ns();
        quilt_events_emit(ev, "created", ID_B, "new", NULL);
        quilt_events_emit(ev, "started", ID_B, "new", NULL);

        struct quilt_event_sub *since = subscribe(ev, NULL, 0, NULL, 0, mark);
        expect_next(since, "created", ID_B);
        expect_next(since, "started", ID_B);
        expect_next(since, NULL, NULL);

        /* Long ago: everything still held, oldest first, without a "lost". */
        struct quilt_event_sub *all = subscribe(ev, NULL, 0, NULL, 0, 1);
        expect_next(all, "created", ID_A);
        expect_next(all, "created", ID_B);
        expect_next(all, "started", ID_B);

        /* In the future: only new events. */
        struct quilt_event_sub *future = subscribe(ev, NULL, 0, NULL, 0, quilt_now_ns() + 3600000000000LL);
        expect_next(future, NULL, NULL);
        quilt_events_emit(ev, "exited", ID_B, "new", NULL);
        expect_next(future, "exited", ID_B);

        /* A replay from a ring that wrapped starts at the oldest held. */
        for (int i = 0; i < 20; i++)
                quilt_events_emit(ev, "exec-started", ID_A, "old", NULL);
        struct quilt_event_sub *wrapped = subscribe(ev, NULL, 0, NULL, 0, 1);
        struct quilt_event e;
        assert_int_equal(quilt_events_next(wrapped, &e, 0), 1);
        assert_string_equal(e.type, "exec-started");
        assert_int_equal(e.sequence, 24 - 8 + 1);
        quilt_event_done(&e);

        quilt_events_unsubscribe(since);
        quilt_events_unsubscribe(all);
        quilt_events_unsubscribe(future);
        quilt_events_unsubscribe(wrapped);
        quilt_events_free(ev);
}

static void test_long_values_are_cut(void **state)
{
        (void)state;
        struct quilt_events *ev = new_bus(0);
        struct quilt_event_sub *sub = subscribe(ev, NULL, 0, NULL, 0, 0);
        /* 2-byte UTF-8 characters with an odd offset: a cut at the limit
         * would split one. */
        char big[3 * QUILT_EVENT_VALUE_MAX];
        big[0] = 'x';
        size_t n = 1;
        while (n + 2 < sizeof(big) - 1) {
                big[n++] = (char)0xc3;
                big[n++] = (char)0xa9;
        }
        big[n] = '\0';
        quilt_events_emit(ev, "failed", ID_A, "x", "error", big, NULL);
        struct quilt_event e;
        assert_int_equal(quilt_events_next(sub, &e, 0), 1);
        const char *v = quilt_event_attr(&e, "error");
        size_t len = strlen(v);
        assert_true(len < QUILT_EVENT_VALUE_MAX);
        assert_true(len >= QUILT_EVENT_VALUE_MAX - 3);
        assert_int_equal(len % 2, 1);   /* 'x' and whole characters only */
        quilt_event_done(&e);

        char *argv[] = { big, "tail", NULL };
        const char *joined = QUILT_EVENT_ARGV(argv, SIZE_MAX);
        assert_true(strlen(joined) < QUILT_EVENT_VALUE_MAX);
        assert_int_equal(strlen(joined) % 2, 1);
        char *two[] = { "a", "b", "c", NULL };
        assert_string_equal(QUILT_EVENT_ARGV(two, 2), "a b");

        quilt_events_unsubscribe(sub);
        quilt_events_free(ev);
}

#define N_EMITTERS 4
#define PER_EMITTER 5000

struct emitter {
        struct quilt_events *ev;
        const char *id;
};

static void *emit_main(void *arg)
{
        struct emitter *em = arg;
        for (int i = 0; i < PER_EMITTER; i++)
                quilt_events_emit(em->ev, "exec-exited", em->id, NULL, "n", QUILT_EVENT_INT(i), NULL);
        return NULL;
}

struct reader {
        struct quilt_event_sub *sub;
        uint64_t last_seq;
        long seen, lost, out_of_order;
        long next_n[N_EMITTERS];       /* per emitter: the n expected next */
};

static void *read_main(void *arg)
{
        struct reader *rd = arg;
        long total = (long)N_EMITTERS * PER_EMITTER;
        while (rd->seen + rd->lost < total) {
                struct quilt_event e;
                int r = quilt_events_next(rd->sub, &e, 2000);
                if (r == -EAGAIN)
                        break;  /* stalled: the asserts below report it */
                if (e.sequence <= rd->last_seq)
                        rd->out_of_order++;
                rd->last_seq = e.sequence;
                if (!strcmp(e.type, "lost")) {
                        rd->lost += atol(quilt_event_attr(&e, "count"));
                        memset(rd->next_n, 0, sizeof(rd->next_n));     /* resync */
                } else {
                        int k = e.id[0] - '0';
                        long n = atol(quilt_event_attr(&e, "n"));
                        /* Per emitter, in order (gaps only after a "lost"). */
                        if (n < rd->next_n[k])
                                rd->out_of_order++;
                        rd->next_n[k] = n + 1;
                        rd->seen++;
                }
                quilt_event_done(&e);
        }
        return NULL;
}

static void test_concurrent(void **state)
{
        (void)state;
        /* Small enough that readers may fall behind: what they see plus
         * what they were told they lost must add up. */
        struct quilt_events *ev = new_bus(256);
        struct reader readers[3] = { 0 };
        pthread_t rt[3], et[N_EMITTERS];
        struct emitter em[N_EMITTERS];
        static const char *ids[N_EMITTERS] = { "0", "1", "2", "3" };

        for (int i = 0; i < 3; i++) {
                readers[i].sub = subscribe(ev, NULL, 0, NULL, 0, 0);
                assert_int_equal(pthread_create(&rt[i], NULL, read_main, &readers[i]), 0);
        }
        for (int i = 0; i < N_EMITTERS; i++) {
                em[i] = (struct emitter){ ev, ids[i] };
                assert_int_equal(pthread_create(&et[i], NULL, emit_main, &em[i]), 0);
        }
        for (int i = 0; i < N_EMITTERS; i++)
                pthread_join(et[i], NULL);
        for (int i = 0; i < 3; i++) {
                pthread_join(rt[i], NULL);
                assert_int_equal(readers[i].seen + readers[i].lost, N_EMITTERS * PER_EMITTER);
                assert_int_equal(readers[i].out_of_order, 0);
                quilt_events_unsubscribe(readers[i].sub);
        }
        quilt_events_free(ev);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_order_and_attributes),
                cmocka_unit_test(test_filters),
                cmocka_unit_test(test_lost_events),
                cmocka_unit_test(test_replay_since),
                cmocka_unit_test(test_long_values_are_cut),
                cmocka_unit_test(test_concurrent),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
