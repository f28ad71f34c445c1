/* SPDX-License-Identifier: MIT */
/* WaitContainer: block on the manager's condition variable until a
 * container has ended (see manager.h). */
#include "container.h"
#include "manager.h"
#include "util.h"

/* How often a wait wakes up to ask whether its caller is still there. */
#define WAIT_POLL_NS (200LL * 1000000)

int quilt_manager_wait_container(struct quilt_manager *m, const char *ref, int timeout_seconds,
                                 bool (*cancelled)(void *userdata), void *userdata,
                                 Quilt__V1__ContainerStatusResponse **ret, struct quilt_status *st)
{
        if (timeout_seconds < 0)
                return quilt_status_set(st, QUILT_INVALID_ARGUMENT,
                                        "timeout_seconds: must not be negative (0: no limit)");
        struct quilt_container_record *c;
        pthread_mutex_lock(&m->lock);
        int r = quilt_manager_lookup_locked(m, ref, &c, st);
        if (r < 0) {
                pthread_mutex_unlock(&m->lock);
                return r;
        }
        int64_t deadline = timeout_seconds > 0
                ? quilt_monotonic_ns() + (int64_t)timeout_seconds * 1000000000 : 0;
        /* Our reference keeps the record (and its final state) even when
         * a RemoveContainer unlinks it meanwhile. */
        while (!quilt_state_is_terminal(c->state)) {
                if (cancelled && cancelled(userdata)) {
                        r = quilt_status_set(st, QUILT_CANCELLED, "call cancelled");
                        break;
                }
                int64_t now = quilt_monotonic_ns();
                if (deadline && now >= deadline) {
                        r = quilt_status_set(st, QUILT_DEADLINE_EXCEEDED,
                                             "container %.12s still %s after %d s", c->id,
                                             quilt_state_name(c->state), timeout_seconds);
                        break;
                }
                int64_t wake = now + WAIT_POLL_NS;
                quilt_manager_wait(m, deadline && deadline < wake ? deadline : wake);
        }
        if (r == 0 && !(*ret = quilt_container_status_locked(c)))
                r = quilt_status_set(st, QUILT_RESOURCE_EXHAUSTED, "out of memory");
        pthread_mutex_unlock(&m->lock);
        quilt_container_unref(c);
        return r;
}
