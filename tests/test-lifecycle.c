/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "lifecycle.h"
#include "state_file.h"
#include "util.h"

static const enum quilt_state all[] = {
        QUILT_STATE_PENDING, QUILT_STATE_SETUP, QUILT_STATE_RUNNING, QUILT_STATE_EXITED,
        QUILT_STATE_FAILED,
};

static void test_legal_transitions(void **state)
{
        /* The whole table: exactly these seven arrows exist. */
        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                for (size_t j = 0; j < ELEMENTSOF(all); j++) {
                        enum quilt_state a = all[i], b = all[j];
                        bool expected = (a == QUILT_STATE_PENDING && b == QUILT_STATE_RUNNING) ||
                                        (a == QUILT_STATE_PENDING && b == QUILT_STATE_FAILED) ||
                                        (a == QUILT_STATE_PENDING && b == QUILT_STATE_SETUP) ||
                                        (a == QUILT_STATE_SETUP && b == QUILT_STATE_RUNNING) ||
                                        (a == QUILT_STATE_SETUP && b == QUILT_STATE_FAILED) ||
                                        (a == QUILT_STATE_RUNNING && b == QUILT_STATE_EXITED) ||
                                        (a == QUILT_STATE_RUNNING && b == QUILT_STATE_FAILED);
                        assert_int_equal(quilt_state_transition_allowed(a, b), expected);
                }
}

static void test_terminal(void **state)
{
        assert_false(quilt_state_is_terminal(QUILT_STATE_PENDING));
        assert_false(quilt_state_is_terminal(QUILT_STATE_RUNNING));
        assert_false(quilt_state_is_terminal(QUILT_STATE_SETUP));
        assert_true(quilt_state_is_terminal(QUILT_STATE_EXITED));
        assert_true(quilt_state_is_terminal(QUILT_STATE_FAILED));
        assert_false(quilt_state_has_process(QUILT_STATE_PENDING));
        assert_true(quilt_state_has_process(QUILT_STATE_SETUP));
        assert_true(quilt_state_has_process(QUILT_STATE_RUNNING));
        assert_false(quilt_state_has_process(QUILT_STATE_EXITED));
        assert_false(quilt_state_has_process(QUILT_STATE_FAILED));
        assert_false(quilt_state_transition_allowed((enum quilt_state)0, QUILT_STATE_RUNNING));
        assert_false(quilt_state_transition_allowed((enum quilt_state)99, QUILT_STATE_RUNNING));
}

static void test_names(void **state)
{
        for (size_t i = 0; i < ELEMENTSOF(all); i++) {
                const char *n = quilt_state_name(all[i]);
                assert_non_null(n);
                assert_int_equal(quilt_state_from_name(n), all[i]);
        }
        assert_string_equal(quilt_state_name(QUILT_STATE_EXITED), "EXITED");
        assert_null(quilt_state_name((enum quilt_state)42));
        assert_int_equal(quilt_state_from_name("RUNNIN"), -1);
        assert_int_equal(quilt_state_from_name(NULL), -1);
}

static void test_state_file_roundtrip(void **state)
{
        char dir[] = "/tmp/quilt-test-XXXXXX";
        assert_non_null(mkdtemp(dir));
        struct quilt_run_state in = {
                .state = QUILT_STATE_FAILED, .monitor_pid = 12, .pid = 34, .exit_code = 137,
                .exit_signal = 9, .created_ns = 1, .started_ns = 2, .finished_ns = 3, .cleaned = true,
        };
        snprintf(in.error, sizeof(in.error), "rootfs: prepare_rootfs: line1\nline2 \\ done");
        assert_int_equal(quilt_run_state_write(dir, &in), 0);
        struct quilt_run_state out;
        assert_int_equal(quilt_run_state_read(dir, &out), 0);
        assert_int_equal(out.state, in.state);
        assert_int_equal(out.monitor_pid, 12);
        assert_int_equal(out.pid, 34);
        assert_int_equal(out.exit_code, 137);
        assert_int_equal(out.exit_signal, 9);
        assert_true(out.created_ns == 1 && out.started_ns == 2 && out.finished_ns == 3);
        assert_true(out.cleaned);
        assert_string_equal(out.error, in.error);
        assert_null(out.entered);
        assert_int_equal(quilt_run_state_write(dir, &(struct quilt_run_state){
                                 .state = QUILT_STATE_RUNNING, .entered = "ns,rootfs:chroot" }), 0);
        quilt_run_state_done(&out);
        assert_int_equal(quilt_run_state_read(dir, &out), 0);
        assert_string_equal(out.entered, "ns,rootfs:chroot");
        quilt_run_state_done(&out);
        assert_int_equal(quilt_remove_tree(dir, NULL), 0);
        assert_int_equal(quilt_run_state_read(dir, &out), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_legal_transitions),
                cmocka_unit_test(test_terminal),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_state_file_roundtrip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
