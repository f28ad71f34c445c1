/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "lifecycle.h"
#include "util.h"

static const char *const state_names[] = {
        [QUILT_STATE_PENDING] = "PENDING",
        [QUILT_STATE_RUNNING] = "RUNNING",
        [QUILT_STATE_EXITED] = "EXITED",
        [QUILT_STATE_FAILED] = "FAILED",
        [QUILT_STATE_SETUP] = "SETUP",
};

const char *quilt_state_name(enum quilt_state s)
{
        if ((unsigned)s >= ELEMENTSOF(state_names))
                return NULL;
        return state_names[s];
}

int quilt_state_from_name(const char *name)
{
        for (unsigned i = 0; i < ELEMENTSOF(state_names); i++)
                if (state_names[i] && name && !strcmp(state_names[i], name))
                        return (int)i;
        return -1;
}

bool quilt_state_transition_allowed(enum quilt_state from, enum quilt_state to)
{
        switch (from) {
        case QUILT_STATE_PENDING:
                return to == QUILT_STATE_SETUP || to == QUILT_STATE_RUNNING ||
                       to == QUILT_STATE_FAILED;
        case QUILT_STATE_SETUP:
                return to == QUILT_STATE_RUNNING || to == QUILT_STATE_FAILED;
        case QUILT_STATE_RUNNING:
                return to == QUILT_STATE_EXITED || to == QUILT_STATE_FAILED;
        case QUILT_STATE_EXITED:
        case QUILT_STATE_FAILED:
                return false;
        }
        return false;
}

bool quilt_state_is_terminal(enum quilt_state s)
{
        return s == QUILT_STATE_EXITED || s == QUILT_STATE_FAILED;
}

bool quilt_state_has_process(enum quilt_state s)
{
        return s == QUILT_STATE_SETUP || s == QUILT_STATE_RUNNING;
}
