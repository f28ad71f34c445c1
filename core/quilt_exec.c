/* SPDX-License-Identifier: MIT */
/* quilt-exec: run a command inside a running container (ExecContainer).
 *
 *   quilt-exec --pid PID [--cwd DIR] [--uid N --gid N] [--groups G1,G2,...]
 *              [--rlimit RES=SOFT:HARD]... [--error-fd N] -- CMD [ARG...]
 *
 * PID is the container's init as the monitor sees it.  quilt-exec sets
 * the limits given, joins its namespaces and root, and forks (a pid
 * namespace takes effect only for children); the child takes on the
 * groups and ids given (numbers: the monitor resolved names in the
 * container's /etc/passwd) and execs CMD, searched in quilt-exec's own
 * environment's PATH, with that environment.  Without --uid/--gid the
 * command keeps quilt-exec's ids, except in a user namespace it joined:
 * there it is that namespace's root (uid 0, gid 0, no supplementary
 * groups).  quilt-exec itself stays outside the container's pid
 * namespace, forwards the signals it gets to the command, and exits with
 * the command's status: exit N -> N, killed by signal S -> 128+S.  If the
 * command cannot be reached (no such command, a bad DIR, a failed
 * setns...) it sends one struct quilt_child_message (QUILT_CHILD_ERROR)
 * on --error-fd, or writes "quilt-exec: MESSAGE" to stderr without one,
 * and exits 127.  --error-fd is close-on-exec in the command: EOF on it
 * means the command runs.
 *
 * Why a separate binary: the process that joins the container is, for a
 * moment, a process of the container.  It must never be a file a
 * container process could open for writing through /proc/PID/exe (runc's
 * CVE-2019-5736), so the monitor runs this one from a sealed memfd copy;
 * hence static and sanitizer-free (core/meson.build), like quilt-init.
 * Single-threaded: signals stay blocked and are taken with sigwaitinfo(). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include "child_protocol.h"
#include "exec_path.h"
#include "rlimits.h"
#include "seccomp_load.h"
#include "signal_relay.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

#define MAX_RLIMITS 64

struct options {
        pid_t pid;
        const char *cwd;
        bool ids;                               /* --uid and --gid given (or implicit_root) */
        bool implicit_root;                     /* no ids given, a user namespace joined */
        uid_t uid;
        gid_t gid;
        bool groups_given;
        gid_t *groups;
        size_t n_groups;
        struct { int resource; struct rlimit limit; } rlimits[MAX_RLIMITS];
        size_t n_rlimits;
        bool caps_given;                        /* --caps: the container's capability set */
        uint64_t caps;
        bool no_new_privs;
        int seccomp_fd;                         /* --seccomp-fd: the container's filter, or -1 */
        char **argv;                            /* CMD [ARG...] */
};

/* The container's seccomp filter, read before we join (BPF_MAXINSNS
 * instructions of 8 bytes at most). */
static unsigned char seccomp_program[4096 * 8];
static size_t seccomp_program_len;

/* runc's order.  user first: from then on our capabilities count in the
 * container's user namespace, which owns the others.  mnt last: joining
 * it resets our root and cwd to the namespace's, and only then can we
 * chroot into the container's own root (the rootfs plugin may have used
 * chroot rather than pivot_root).  pid anywhere before the fork. */
static const struct {
        const char *name;
        int flag;
} namespaces[] = {
        { "user", CLONE_NEWUSER },
        { "ipc", CLONE_NEWIPC },
        { "uts", CLONE_NEWUTS },
        { "net", CLONE_NEWNET },
        { "pid", CLONE_NEWPID },
        { "cgroup", CLONE_NEWCGROUP },
        { "time", CLONE_NEWTIME },
        { "mnt", CLONE_NEWNS },
};
#define N_NAMESPACES (sizeof(namespaces) / sizeof(namespaces[0]))

static int error_fd = -1;

/* Report why the command could not be reached, once, and exit 127.
 * `e` is a positive errno, appended as ": reason". */
__attribute__((format(printf, 2, 3)))
_Noreturn static void fail(int e, const char *fmt, ...)
{
        struct quilt_child_message msg = { .type = QUILT_CHILD_ERROR, .code = -e };
        va_list ap;

        va_start(ap, fmt);
        int n = vsnprintf(msg.message, sizeof(msg.message), fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < sizeof(msg.message))
                snprintf(msg.message + n, sizeof(msg.message) - (size_t)n, ": %s", strerror(e));
        if (error_fd >= 0) {
                ssize_t w;
                do
                        w = write(error_fd, &msg, sizeof(msg));
                while (w < 0 && errno == EINTR);
        } else {
                char line[sizeof(msg.message) + 16];
                int len = snprintf(line, sizeof(line), "quilt-exec: %s\n", msg.message);
                if (len > 0)
                        (void)!write(2, line, (size_t)len < sizeof(line) ? (size_t)len
                                                                          : sizeof(line) - 1);
        }
        _exit(127);
}

_Noreturn static void usage(const char *why)
{
        char buf[512];
        int n = snprintf(buf, sizeof(buf),
                         "quilt-exec: %s\nusage: quilt-exec --pid PID [--cwd DIR] [--uid N --gid N] "
                         "[--groups G1,G2,...] [--rlimit RES=SOFT:HARD]... [--error-fd N] "
                         "-- CMD [ARG...]\n", why);
        if (n > 0)
                (void)!write(2, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
        _exit(127);
}

/* A decimal number in [min, max], the whole string. */
static bool parse_number(const char *s, unsigned long long min, unsigned long long max,
                         unsigned long long *ret)
{
        char *end;
        if (!s || !*s || *s == '-' || *s == '+')
                return false;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return false;
        *ret = v;
        return true;
}

/* "unlimited" / "infinity" or a number. */
static bool parse_limit(const char *s, rlim_t *ret)
{
        unsigned long long v;
        if (!strcmp(s, "unlimited") || !strcmp(s, "infinity")) {
                *ret = RLIM_INFINITY;
                return true;
        }
        if (!parse_number(s, 0, ULLONG_MAX, &v))
                return false;
        *ret = (rlim_t)v;
        return true;
}

/* "NOFILE=64:1024" */
static bool parse_rlimit(struct options *o, char *s)
{
        char *eq = strchr(s, '='), *colon;
        if (!eq || o->n_rlimits >= MAX_RLIMITS)
                return false;
        *eq = '\0';
        int res = quilt_rlimit_resource(s);
        *eq = '=';
        if (res < 0 || !(colon = strchr(eq + 1, ':')))
                return false;
        *colon = '\0';
        struct rlimit l;
        bool ok = parse_limit(eq + 1, &l.rlim_cur) && parse_limit(colon + 1, &l.rlim_max);
        *colon = ':';
        /* RLIM_INFINITY is the largest value, so this compare holds for it too. */
        if (!ok || l.rlim_cur > l.rlim_max)
                return false;
        o->rlimits[o->n_rlimits].resource = res;
        o->rlimits[o->n_rlimits].limit = l;
        o->n_rlimits++;
        return true;
}

/* "5,6,1000" or "" (no supplementary groups at all). */
static bool parse_groups(struct options *o, const char *s)
{
        size_t n = *s ? 1 : 0;
        for (const char *p = s; *p; p++)
                n += *p == ',';
        if (n > NGROUPS_MAX)
                return false;
        free(o->groups);
        o->groups = calloc(n ? n : 1, sizeof(gid_t));
        if (!o->groups)
                return false;
        o->n_groups = 0;
        o->groups_given = true;
        for (const char *p = s; n > 0;) {
                char num[16];
                size_t len = strcspn(p, ",");
                unsigned long long v;
                if (len == 0 || len >= sizeof(num))
                        return false;
                memcpy(num, p, len);
                num[len] = '\0';
                if (!parse_number(num, 0, (gid_t)-2, &v))
                        return false;
                o->groups[o->n_groups++] = (gid_t)v;
                p += len;
                if (!*p)
                        break;
                p++;
        }
        return true;
}

static void parse_options(int argc, char **argv, struct options *o)
{
        bool have_uid = false, have_gid = false;
        int i = 1;

        for (; i < argc; i++) {
                const char *opt = argv[i];
                unsigned long long v;
                if (!strcmp(opt, "--")) {
                        i++;
                        break;
                }
                if (strncmp(opt, "--", 2) != 0)
                        break;
                if (i + 1 >= argc)
                        usage("an option without its value");
                char *val = argv[++i];
                if (!strcmp(opt, "--pid")) {
                        if (!parse_number(val, 1, INT_MAX, &v))
                                usage("--pid: not a pid");
                        o->pid = (pid_t)v;
                } else if (!strcmp(opt, "--cwd")) {
                        if (val[0] != '/')
                                usage("--cwd: not an absolute path");
                        o->cwd = val;
                } else if (!strcmp(opt, "--uid")) {
                        if (!parse_number(val, 0, (uid_t)-2, &v))
                                usage("--uid: not a uid");
                        o->uid = (uid_t)v;
                        have_uid = true;
                } else if (!strcmp(opt, "--gid")) {
                        if (!parse_number(val, 0, (gid_t)-2, &v))
                                usage("--gid: not a gid");
                        o->gid = (gid_t)v;
                        have_gid = true;
                } else if (!strcmp(opt, "--groups")) {
                        if (!parse_groups(o, val))
                                usage("--groups: not a list of gids");
                } else if (!strcmp(opt, "--rlimit")) {
                        if (!parse_rlimit(o, val))
                                usage("--rlimit: not RES=SOFT:HARD");
                } else if (!strcmp(opt, "--caps")) {
                        char *end;
                        errno = 0;
                        unsigned long long mask = strtoull(val, &end, 16);
                        if (errno || end == val || *end)
                                usage("--caps: not a hexadecimal capability mask");
                        o->caps = mask;
                        o->caps_given = true;
                } else if (!strcmp(opt, "--seccomp-fd")) {
                        if (!parse_number(val, 3, INT_MAX, &v))
                                usage("--seccomp-fd: not an fd >= 3");
                        o->seccomp_fd = (int)v;
                } else if (!strcmp(opt, "--no-new-privs")) {
                        if (!parse_number(val, 0, 1, &v))
                                usage("--no-new-privs: not 0 or 1");
                        o->no_new_privs = v == 1;
                } else if (!strcmp(opt, "--error-fd")) {
                        /* 0-2 are the command's stdio: never ours to make close-on-exec */
                        if (!parse_number(val, 3, INT_MAX, &v))
                                usage("--error-fd: not an fd >= 3");
                        error_fd = (int)v;
                } else
                        usage("unknown option");
        }
        if (o->pid <= 0)
                usage("--pid is required");
        if (have_uid != have_gid)
                usage("--uid and --gid go together");
        o->ids = have_uid;
        if (i >= argc || argv[i][0] == '\0')
                usage("no command");
        o->argv = argv + i;
}

/* Every inherited fd but stdio becomes close-on-exec: a host fd (a
 * directory, say) reaching the command is a way out of the container
 * (runc's CVE-2024-21626).  --error-fd is meant to be close-on-exec too. */
static void cloexec_from_3(void)
{
        if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
                return;
        /* Before Linux 5.11: one by one (our /proc is still the host's). */
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                fail(errno, "listing /proc/self/fd");
        int self = dirfd(d);
        for (struct dirent *de; (de = readdir(d));) {
                unsigned long long fd;
                if (parse_number(de->d_name, 3, INT_MAX, &fd) && (int)fd != self &&
                    fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF)
                        fail(errno, "close-on-exec fd %llu", fd);
        }
        closedir(d);
}

/* Open the container's namespaces and root while /proc is still ours:
 * once in its mount namespace, /proc is the container's.  Every open is
 * relative to one /proc/PID fd, so they all name the same process. */
static int open_target(pid_t pid, int ns_fds[N_NAMESPACES])
{
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d", (int)pid);
        int proc_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (proc_fd < 0)
                fail(errno, "the container's init (pid %d)", (int)pid);

        for (size_t i = 0; i < N_NAMESPACES; i++) {
                char ours[64], theirs[64];
                struct stat a, b;
                snprintf(theirs, sizeof(theirs), "ns/%s", namespaces[i].name);
                snprintf(ours, sizeof(ours), "/proc/self/ns/%s", namespaces[i].name);
                ns_fds[i] = -1;
                int fd = openat(proc_fd, theirs, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        int e = errno;
                        if (e == ENOENT && stat(ours, &a) < 0 && errno == ENOENT)
                                continue;       /* a kernel without this namespace type */
                        fail(e, "open /proc/%d/%s", (int)pid, theirs);
                }
                if (fstat(fd, &b) < 0)
                        fail(errno, "fstat /proc/%d/%s", (int)pid, theirs);
                /* The same one as ours: nothing to join (and setns would
                 * refuse our own user namespace). */
                if (stat(ours, &a) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                        close(fd);
                        continue;
                }
                ns_fds[i] = fd;
        }
        int root_fd = openat(proc_fd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root_fd < 0)
                fail(errno, "open /proc/%d/root", (int)pid);
        close(proc_fd);
        return root_fd;
}

/* Before we join a user namespace: raising a hard limit takes
 * CAP_SYS_RESOURCE in the host's, which we hold only until then.  The
 * command inherits them through the fork; quilt-exec itself opens no
 * more fds and forks once, so a low NOFILE or NPROC does not hurt it. */
static void apply_rlimits(const struct options *o)
{
        for (size_t i = 0; i < o->n_rlimits; i++)
                if (setrlimit(o->rlimits[i].resource, &o->rlimits[i].limit) < 0)
                        fail(errno, "setrlimit %s", quilt_rlimit_name(o->rlimits[i].resource));
}

/* Join, then take the container's root and working directory.  Returns
 * whether we joined another pid namespace. */
static bool enter(struct options *o, int ns_fds[N_NAMESPACES], int root_fd)
{
        bool new_pid_ns = false;
        for (size_t i = 0; i < N_NAMESPACES; i++) {
                if (ns_fds[i] < 0)
                        continue;
                if (setns(ns_fds[i], namespaces[i].flag) < 0)
                        fail(errno, "setns %s of pid %d", namespaces[i].name, (int)o->pid);
                close(ns_fds[i]);
                ns_fds[i] = -1;
                if (namespaces[i].flag == CLONE_NEWPID)
                        new_pid_ns = true;
                /* Our host uid means nothing in the container's user
                 * namespace (it shows as the overflow uid): "stay root"
                 * is its root then, as runc does. */
                if (namespaces[i].flag == CLONE_NEWUSER && !o->ids) {
                        o->ids = o->implicit_root = true;
                        o->uid = 0;
                        o->gid = 0;
                }
        }
        if (fchdir(root_fd) < 0 || chroot(".") < 0)
                fail(errno, "entering the root of pid %d", (int)o->pid);
        close(root_fd);
        /* Inside the chroot now: DIR resolves in the container's tree and
         * ".." cannot climb out of it. */
        const char *cwd = o->cwd ? o->cwd : "/";
        if (chdir("/") < 0 || chdir(cwd) < 0)
                fail(errno, "chdir %s", cwd);
        return new_pid_ns;
}

/* In the forked child, inside the container: take on who the command
 * runs as, then exec it.  Never returns. */
static void read_seccomp_program(int fd)
{
        for (;;) {
                /* From the start, wherever the writer left the offset. */
                ssize_t n = pread(fd, seccomp_program + seccomp_program_len,
                                  sizeof(seccomp_program) - seccomp_program_len,
                                  (off_t)seccomp_program_len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        fail(errno, "reading the seccomp filter");
                if (n == 0)
                        break;
                seccomp_program_len += (size_t)n;
                if (seccomp_program_len == sizeof(seccomp_program))
                        fail(E2BIG, "reading the seccomp filter");
        }
        close(fd);
        if (seccomp_program_len == 0)
                fail(EINVAL, "reading the seccomp filter: empty");
}

/* Every capability outside `keep` leaves the bounding set; ambient ones
 * go too.  The kernel's last capability is where PR_CAPBSET_READ stops. */
static void drop_bounding(uint64_t keep)
{
        for (int cap = 0; cap < 64; cap++) {
                if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) < 0)
                        break;
                if (!(keep & (UINT64_C(1) << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                        fail(errno, "dropping capability %d from the bounding set", cap);
        }
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                fail(errno, "clearing the ambient capabilities");
}

/* After the uid change: effective and permitted keep only `keep` of what
 * is left (nothing for a non-root user), inheritable none. */
static void limit_capabilities(uint64_t keep)
{
        struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[2] = { { 0 } };
        if (syscall(SYS_capget, &header, data) < 0)
                fail(errno, "capget");
        for (int i = 0; i < 2; i++) {
                uint32_t k = (uint32_t)(keep >> (32 * i));
                data[i].permitted &= k;
                data[i].effective &= k;
                data[i].inheritable = 0;
        }
        if (syscall(SYS_capset, &header, data) < 0)
                fail(errno, "capset");
}

_Noreturn static void run_command(const struct options *o, pid_t expected_ppid)
{
        /* Die with quilt-exec (the monitor SIGKILLs it on a timeout).  Seen
         * from a pid namespace we joined, our parent has no pid: 0. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                fail(errno, "prctl(PR_SET_PDEATHSIG)");
        if (getppid() != expected_ppid)
                _exit(127);                     /* it died already: nobody to report to */

        /* The bounding set first, while we still hold CAP_SETPCAP. */
        if (o->caps_given)
                drop_bounding(o->caps);

        /* New ids without a group list: only the new gid, never the
         * groups of root we would otherwise keep.  The namespace's root
         * (implicit) drops the host's groups where the namespace allows
         * setgroups at all (/proc/PID/setgroups "deny": EPERM). */
        if (o->groups_given || o->ids) {
                const gid_t *groups = o->groups_given ? o->groups : &o->gid;
                size_t n = o->groups_given ? o->n_groups : o->implicit_root ? 0 : 1;
                if (setgroups(n, groups) < 0 && !(o->implicit_root && errno == EPERM))
                        fail(errno, "setgroups");
        }
        /* gid before uid: afterwards we could not change it. */
        if (o->ids && setresgid(o->gid, o->gid, o->gid) < 0)
                fail(errno, "setresgid %u", (unsigned)o->gid);
        if (o->ids && setresuid(o->uid, o->uid, o->uid) < 0)
                fail(errno, "setresuid %u", (unsigned)o->uid);

        /* The container's own restrictions: an exec is never less confined
         * than the main process.  (A seccomp filter, when the container
         * has one, goes last, after these.) */
        if (o->caps_given)
                limit_capabilities(o->caps);
        if (o->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                fail(errno, "prctl(PR_SET_NO_NEW_PRIVS)");

        quilt_relay_reset_signals();

        /* The seccomp filter last: only the exec runs under it. */
        int r = quilt_seccomp_load(seccomp_program_len ? seccomp_program : NULL, seccomp_program_len);
        if (r < 0)
                fail(-r, "loading the seccomp filter");

        int e = quilt_exec_search(o->argv, environ);
        fail(e, "exec %s", o->argv[0]);
}

int main(int argc, char **argv)
{
        struct options o = { .seccomp_fd = -1 };
        int ns_fds[N_NAMESPACES];

        /* Exec'd from a memfd, the kernel would call us "memfd:quilt-exe". */
        prctl(PR_SET_NAME, "quilt-exec");
        parse_options(argc, argv, &o);
        cloexec_from_3();
        if (o.seccomp_fd >= 0)
                read_seccomp_program(o.seccomp_fd);
        /* Not dumpable: a container process must not ptrace us or open our
         * /proc/PID/fd (the host's namespace and root fds) while we join.
         * The command's exec makes it dumpable again. */
        if (prctl(PR_SET_DUMPABLE, 0) < 0)
                fail(errno, "prctl(PR_SET_DUMPABLE)");
        /* An inherited SIG_IGN would make the kernel reap the command and
         * hide its status. */
        signal(SIGCHLD, SIG_DFL);

        int root_fd = open_target(o.pid, ns_fds);
        apply_rlimits(&o);
        bool new_pid_ns = enter(&o, ns_fds, root_fd);

        /* Block before fork so nothing arrives between fork and the wait
         * loop: every signal for us is the command's. */
        sigset_t set;
        int blocked = quilt_relay_block_signals(&set);
        if (blocked < 0)
                fail(-blocked, "sigprocmask");

        pid_t expected_ppid = new_pid_ns ? 0 : getpid();
        pid_t child = fork();
        if (child < 0)
                fail(errno, "fork into the container of pid %d", (int)o.pid);
        if (child == 0)
                run_command(&o, expected_ppid);

        /* From now on only the command holds the error pipe: the monitor
         * sees EOF exactly when it has exec'd (or its one message). */
        if (error_fd >= 0)
                close(error_fd);
        free(o.groups);

        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&set, &si);
                if (sig < 0) {
                        if (errno == EINTR)
                                continue;
                        /* Cannot wait for signals: still wait for the command. */
                        int status;
                        while (waitpid(child, &status, 0) < 0)
                                if (errno != EINTR)
                                        _exit(127);
                        _exit(quilt_relay_exit_code(status));
                }
                if (sig != SIGCHLD) {
                        kill(child, sig);
                        continue;
                }
                int status;
                pid_t r = waitpid(child, &status, WNOHANG);
                if (r == child && (WIFEXITED(status) || WIFSIGNALED(status)))
                        _exit(quilt_relay_exit_code(status));
        }
}
