/* SPDX-License-Identifier: MIT */
/* What quilt-init and quilt-exec share as the one parent of a command:
 * they block every signal and take them with sigwaitinfo() (no handlers),
 * forward them to the command, and exit with its status.  Header-only and
 * libc-only: both are static helpers that link nothing of core/. */
#ifndef QUILT_SIGNAL_RELAY_H
#define QUILT_SIGNAL_RELAY_H

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

/* Block every signal but the synchronous ones (blocking those would only
 * hide a crash of the helper); *ret_set is what sigwaitinfo() then takes.
 * Call before fork, so nothing arrives between fork and the wait loop.
 * 0 or -errno. */
static inline int quilt_relay_block_signals(sigset_t *ret_set)
{
        static const int synchronous[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT, SIGSYS };

        sigfillset(ret_set);
        for (size_t i = 0; i < sizeof(synchronous) / sizeof(synchronous[0]); i++)
                sigdelset(ret_set, synchronous[i]);
        return sigprocmask(SIG_SETMASK, ret_set, NULL) < 0 ? -errno : 0;
}

/* In the forked child, before it execs the command: every disposition
 * back to default and nothing blocked. */
static inline void quilt_relay_reset_signals(void)
{
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);   /* EINVAL for libc-internal ones: fine */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
}

/* The helper's own exit status for the command's wait status: exit N ->
 * N, killed by signal S -> 128+S. */
static inline int quilt_relay_exit_code(int status)
{
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 127;
}

#endif
