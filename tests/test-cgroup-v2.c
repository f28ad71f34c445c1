/* SPDX-License-Identifier: MIT */
/* The cgroup v2 backend against a fake cgroup2 tree: a temp dir holding,
 * as regular files, what the kernel would show (cgroup.controllers,
 * cgroup.subtree_control, memory.max, ...).  The tests assert which files
 * get which values: the controllers enabled top down, the limits, the
 * swap arithmetic, cgroup.kill, the parsing of memory.events and
 * cpu.stat, quiltd's move into its leaf.  Built with
 * plugins/cgroup/cgroup_v2.c, cgroup_common.c and cgroup_fs.c; no real
 * cgroup is touched, and only children this test forks are signalled. */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "../plugins/cgroup/cgroup_backend.h"
#include "../plugins/cgroup/cgroup_fs.h"

/* The module linked in: its descriptor, as quiltd would dlsym it. */
extern const struct quilt_plugin quilt_plugin_v1;

#define PARENT "quilt-test-parent"
#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CONTROLLERS "cpuset cpu io memory hugetlb pids rdma misc\n"

static const char *const container_files[] = {
        "cgroup.procs", "cgroup.kill", "cgroup.freeze", "cgroup.events", "memory.max",
        "memory.swap.max", "memory.current", "memory.peak", "memory.events", "cpu.max",
        "cpu.weight", "cpu.stat", "pids.max", "pids.current", NULL,
};

struct fixture {
        char root[64];
        struct cgroup_state *s;
};

__attribute__((format(printf, 3, 4)))
static void put(struct fixture *f, const char *value, const char *fmt, ...)
{
        char rel[512], path[600];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(rel, sizeof(rel), fmt, ap);
        va_end(ap);
        snprintf(path, sizeof(path), "%s/%s", f->root, rel);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, value, strlen(value)), (ssize_t)strlen(value));
        close(fd);
}

/* The file's content without a trailing newline; NULL when missing. */
__attribute__((format(printf, 2, 3)))
static char *get(struct fixture *f, const char *fmt, ...)
{
        static char buf[4096];
        char rel[512], path[600];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(rel, sizeof(rel), fmt, ap);
        va_end(ap);
        snprintf(path, sizeof(path), "%s/%s", f->root, rel);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n < 0 ? 0 : n] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        return buf;
}

__attribute__((format(printf, 2, 3)))
static void rm(struct fixture *f, const char *fmt, ...)
{
        char rel[512], path[600];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(rel, sizeof(rel), fmt, ap);
        va_end(ap);
        snprintf(path, sizeof(path), "%s/%s", f->root, rel);
        assert_int_equal(unlink(path), 0);
}

/* A non-leaf cgroup as the kernel shows it: controllers it may pass down
 * (what its parent enabled) and an empty subtree_control. */
static void make_cgroup(struct fixture *f, const char *rel, const char *controllers)
{
        char path[600];

        snprintf(path, sizeof(path), "%s/%s", f->root, rel);
        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
        put(f, controllers, "%s/cgroup.controllers", rel);
        put(f, "", "%s/cgroup.subtree_control", rel);
        put(f, "", "%s/cgroup.procs", rel);
}

static int setup_tree(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        snprintf(f->root, sizeof(f->root), "/tmp/quilt-test-XXXXXX");
        assert_non_null(mkdtemp(f->root));
        make_cgroup(f, "", CONTROLLERS);
        make_cgroup(f, PARENT, "");
        make_cgroup(f, PARENT "/" ID, "");
        for (size_t i = 0; container_files[i]; i++)
                put(f, "", PARENT "/" ID "/%s", container_files[i]);
        f->s = cgroup_state_new(NULL, "cgroup_v2");
        assert_non_null(f->s);
        f->s->be = &cgroup_v2_backend;
        f->s->cfg.root = f->root;
        f->s->cfg.parent = "/" PARENT;
        f->s->drain_timeout_ms = 100;
        f->s->freeze_timeout_ms = 100;
        *state = f;
        return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

static int teardown_tree(void **state)
{
        struct fixture *f = *state;

        cgroup_state_free(f->s);
        nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(f);
        return 0;
}

static void do_setup(struct fixture *f)
{
        struct quilt_error err = { 0 };
        int r = f->s->be->setup(f->s, &err);
        if (r < 0)
                fail_msg("setup: %s", err.message);
}

static void create(struct fixture *f, const struct cgroup_limits *l)
{
        struct quilt_error err = { 0 };
        int fd = -1;
        int r = f->s->be->create(f->s, ID, l, &fd, &err);

        if (r < 0)
                fail_msg("create: %s", err.message);
        assert_true(fd >= 0);
        /* O_PATH | O_DIRECTORY | O_CLOEXEC, for clone3(CLONE_INTO_CGROUP). */
        int flags = fcntl(fd, F_GETFL);
        assert_true(flags & O_PATH);
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        close(fd);
}

static void test_setup(void **state)
{
        struct fixture *f = *state;
        char want[600];

        do_setup(f);
        assert_int_equal(f->s->n_hier, 1);
        assert_int_equal(f->s->n_controllers, 3);
        snprintf(want, sizeof(want), "%s/" PARENT, f->root);
        assert_string_equal(f->s->hier[0].parent, want);
        assert_string_equal(f->s->hier[0].enable_from, f->root);
}

static void test_create_enables_and_writes_limits(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits l = { .memory = 16 << 20, .cpu_millicores = 500, .cpu_weight = 100,
                                   .pids = 64 };

        put(f, CONTROLLERS, PARENT "/cgroup.controllers");
        do_setup(f);
        create(f, &l);
        /* From the root down to the parent, one write each. */
        assert_string_equal(get(f, "cgroup.subtree_control"), "+memory +cpu +pids");
        assert_string_equal(get(f, PARENT "/cgroup.subtree_control"), "+memory +cpu +pids");
        /* Not in the container's own: it is a leaf. */
        assert_string_equal(get(f, PARENT "/" ID "/cgroup.subtree_control"), "");
        assert_string_equal(get(f, PARENT "/" ID "/memory.max"), "16777216");
        assert_string_equal(get(f, PARENT "/" ID "/memory.swap.max"), "");
        assert_string_equal(get(f, PARENT "/" ID "/cpu.max"), "50000 100000");
        assert_string_equal(get(f, PARENT "/" ID "/cpu.weight"), "100");
        assert_string_equal(get(f, PARENT "/" ID "/pids.max"), "64");
        /* Nothing but the container goes in: the parent's procs stay. */
        assert_string_equal(get(f, PARENT "/cgroup.procs"), "");
}

static void test_enable_skips_what_is_on(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits none = { 0 };

        put(f, "cpu memory pids\n", "cgroup.subtree_control");
        put(f, "cpu memory pids\n", PARENT "/cgroup.controllers");
        put(f, "memory\n", PARENT "/cgroup.subtree_control");
        do_setup(f);
        create(f, &none);
        /* The root's was complete: not written (it would read "+..."). */
        assert_string_equal(get(f, "cgroup.subtree_control"), "cpu memory pids");
        assert_string_equal(get(f, PARENT "/cgroup.subtree_control"), "+cpu +pids");
}

static void test_enable_not_delegated(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits none = { 0 };
        struct quilt_error err = { 0 };
        int fd = -1;

        put(f, "cpu memory\n", PARENT "/cgroup.controllers");   /* no pids */
        do_setup(f);
        assert_int_equal(f->s->be->create(f->s, ID, &none, &fd, &err), -EPERM);
        assert_int_equal(fd, -1);
        assert_non_null(strstr(err.message, "the pids controller is not available in"));
        assert_non_null(strstr(err.message, PARENT "/cgroup.controllers"));
}

static void test_create_deeper_parent(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits none = { 0 };
        char path[600];

        /* mkdir -p makes the levels; the fake kernel files come from us. */
        f->s->cfg.parent = "/" PARENT "/a";
        put(f, CONTROLLERS, PARENT "/cgroup.controllers");
        snprintf(path, sizeof(path), "%s/" PARENT "/a", f->root);
        assert_int_equal(mkdir(path, 0755), 0);
        put(f, CONTROLLERS, PARENT "/a/cgroup.controllers");
        put(f, "", PARENT "/a/cgroup.subtree_control");
        snprintf(path, sizeof(path), "%s/" PARENT "/a/" ID, f->root);
        assert_int_equal(mkdir(path, 0755), 0);
        do_setup(f);
        create(f, &none);
        assert_string_equal(get(f, "cgroup.subtree_control"), "+memory +cpu +pids");
        assert_string_equal(get(f, PARENT "/cgroup.subtree_control"), "+memory +cpu +pids");
        assert_string_equal(get(f, PARENT "/a/cgroup.subtree_control"), "+memory +cpu +pids");
}

static void test_swap(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits l = { .memory = 16 << 20, .memory_swap = 48 << 20 };

        put(f, CONTROLLERS, PARENT "/cgroup.controllers");
        do_setup(f);
        create(f, &l);
        assert_string_equal(get(f, PARENT "/" ID "/memory.max"), "16777216");
        /* v2 memory.swap.max is the swap alone: the total less memory. */
        assert_string_equal(get(f, PARENT "/" ID "/memory.swap.max"), "33554432");
}

static void test_swap_without_accounting(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits l = { .memory = 16 << 20, .memory_swap = 48 << 20 };
        struct quilt_error err = { 0 };
        int fd = -1;

        put(f, CONTROLLERS, PARENT "/cgroup.controllers");
        rm(f, PARENT "/" ID "/memory.swap.max");
        do_setup(f);
        assert_int_equal(f->s->be->create(f->s, ID, &l, &fd, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err.message,
                               "memory_swap_limit_bytes: this kernel has no swap accounting"));
}

static void test_update_swap_uses_live_memory(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits up = { .memory_swap = 32 << 20 };
        struct quilt_error err = { 0 };

        do_setup(f);
        put(f, "16777216\n", PARENT "/" ID "/memory.max");
        assert_int_equal(f->s->be->update(f->s, ID, &up, &err), 0);
        assert_string_equal(get(f, PARENT "/" ID "/memory.swap.max"), "16777216");
        assert_string_equal(get(f, PARENT "/" ID "/memory.max"), "16777216");

        put(f, "max\n", PARENT "/" ID "/memory.max");
        assert_int_equal(f->s->be->update(f->s, ID, &up, &err), -EINVAL);
        assert_non_null(strstr(err.message, "needs a memory limit"));

        put(f, "67108864\n", PARENT "/" ID "/memory.max");
        assert_int_equal(f->s->be->update(f->s, ID, &up, &err), -EINVAL);
        assert_non_null(strstr(err.message, "is below the memory limit"));
}

static void test_update_only_given_fields(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits up = { .cpu_millicores = 1500, .pids = 7 };
        struct quilt_error err = { 0 };

        do_setup(f);
        put(f, "1048576\n", PARENT "/" ID "/memory.max");
        assert_int_equal(f->s->be->update(f->s, ID, &up, &err), 0);
        assert_string_equal(get(f, PARENT "/" ID "/cpu.max"), "150000 100000");
        assert_string_equal(get(f, PARENT "/" ID "/pids.max"), "7");
        assert_string_equal(get(f, PARENT "/" ID "/memory.max"), "1048576");
        assert_string_equal(get(f, PARENT "/" ID "/cpu.weight"), "");
        assert_int_equal(f->s->be->update(f->s, "gone", &up, &err), -ENOENT);
}

static void test_attach(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };

        do_setup(f);
        assert_int_equal(f->s->be->attach(f->s, ID, 31337, &err), 0);
        assert_string_equal(get(f, PARENT "/" ID "/cgroup.procs"), "31337");
}

/* The plugin's attach hook (an exec joining the container): through the
 * module's descriptor, into the container's one cgroup. */
static void test_plugin_attach(void **state)
{
        struct fixture *f = *state;
        struct quilt_container c = { .struct_size = sizeof(c), .id = ID, .cgroup_fd = -1 };
        struct quilt_error err = { 0 };

        do_setup(f);
        assert_string_equal(quilt_plugin_v1.name, "cgroup_v2");
        assert_int_equal(quilt_plugin_v1.struct_size, sizeof(struct quilt_plugin));
        assert_non_null(quilt_plugin_v1.attach);
        assert_int_equal(quilt_plugin_v1.attach(f->s, &c, 5151, &err), 0);
        assert_string_equal(get(f, PARENT "/" ID "/cgroup.procs"), "5151");
        assert_string_equal(get(f, PARENT "/cgroup.procs"), "");

        /* No such container cgroup: an error naming the file. */
        c.id = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
        assert_true(quilt_plugin_v1.attach(f->s, &c, 5151, &err) < 0);
        assert_non_null(strstr(err.message, "cgroup.procs"));
        /* An id that is no path component, and no pid: refused. */
        c.id = "../escape";
        assert_int_equal(quilt_plugin_v1.attach(f->s, &c, 5151, &err), -EINVAL);
        c.id = ID;
        assert_int_equal(quilt_plugin_v1.attach(f->s, &c, 0, &err), -EINVAL);
}

static pid_t fork_waiter(void)
{
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                for (;;)
                        pause();
        }
        return pid;
}

static void test_kill_sigkill_uses_cgroup_kill(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };

        do_setup(f);
        assert_int_equal(f->s->be->kill(f->s, ID, SIGKILL, &err), 0);
        assert_string_equal(get(f, PARENT "/" ID "/cgroup.kill"), "1");
        assert_string_equal(get(f, PARENT "/" ID "/cgroup.freeze"), "");
}

static void test_kill_sigterm_freezes(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };
        char pids[32];
        int status;

        put(f, "populated 1\nfrozen 1\n", PARENT "/" ID "/cgroup.events");
        pid_t child = fork_waiter();
        snprintf(pids, sizeof(pids), "%d\n", (int)child);
        put(f, pids, PARENT "/" ID "/cgroup.procs");
        do_setup(f);
        assert_int_equal(f->s->be->kill(f->s, ID, SIGTERM, &err), 0);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGTERM);
        /* Frozen for the pid list, thawed again after; cgroup.kill is for
         * SIGKILL only. */
        assert_string_equal(get(f, PARENT "/" ID "/cgroup.freeze"), "0");
        assert_string_equal(get(f, PARENT "/" ID "/cgroup.kill"), "");
}

static void test_kill_sigkill_without_cgroup_kill(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };
        char pids[32];
        int status;

        rm(f, PARENT "/" ID "/cgroup.kill");
        put(f, "populated 1\nfrozen 1\n", PARENT "/" ID "/cgroup.events");
        pid_t child = fork_waiter();
        snprintf(pids, sizeof(pids), "%d\n", (int)child);
        put(f, pids, PARENT "/" ID "/cgroup.procs");
        do_setup(f);
        assert_int_equal(f->s->be->kill(f->s, ID, SIGKILL, &err), 0);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
        assert_string_equal(get(f, PARENT "/" ID "/cgroup.freeze"), "0");
}

static void test_kill_without_cgroup(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };

        do_setup(f);
        assert_int_equal(f->s->be->kill(f->s, "not-there", SIGTERM, &err), -EOPNOTSUPP);
}

static void test_stats_parsing(void **state)
{
        struct fixture *f = *state;
        struct quilt_stats st;
        struct quilt_error err = { 0 };

        memset(&st, 0xff, sizeof(st));
        st.struct_size = sizeof(st);
        put(f, "4194304\n", PARENT "/" ID "/memory.current");
        put(f, "8388608\n", PARENT "/" ID "/memory.peak");
        put(f, "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 0\n",
            PARENT "/" ID "/cpu.stat");
        put(f, "3\n", PARENT "/" ID "/pids.current");
        /* oom counts hitting the limit; oom_kill the processes it killed. */
        put(f, "low 0\nhigh 0\nmax 12\noom 5\noom_kill 2\noom_group_kill 0\n",
            PARENT "/" ID "/memory.events");
        do_setup(f);
        assert_int_equal(f->s->be->stats(f->s, ID, &st, &err), 0);
        assert_int_equal(st.memory_current_bytes, 4194304);
        assert_int_equal(st.memory_peak_bytes, 8388608);
        assert_int_equal(st.cpu_usage_ns, 1500000);
        assert_int_equal(st.pids_current, 3);
        assert_int_equal(st.oom_kill_count, 2);
}

static void test_stats_without_memory_peak(void **state)
{
        struct fixture *f = *state;
        struct quilt_stats st;
        struct quilt_error err = { 0 };

        memset(&st, 0xff, sizeof(st));
        st.struct_size = sizeof(st);
        rm(f, PARENT "/" ID "/memory.peak");            /* before 5.19 */
        rm(f, PARENT "/" ID "/pids.current");           /* pids not enabled */
        put(f, "4096\n", PARENT "/" ID "/memory.current");
        do_setup(f);
        assert_int_equal(f->s->be->stats(f->s, ID, &st, &err), 0);
        assert_int_equal(st.memory_current_bytes, 4096);
        assert_int_equal(st.memory_peak_bytes, -1);
        assert_int_equal(st.pids_current, -1);
        assert_int_equal(f->s->be->stats(f->s, "gone", &st, &err), -ENOENT);
}

static void test_controllers(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };
        struct cgroup_limits l = { .cpu_weight = 50 };

        /* Defaults the system lacks are dropped; a limit needing one fails. */
        put(f, "memory pids\n", "cgroup.controllers");
        do_setup(f);
        assert_false(cgroup_has_controller(f->s, "cpu"));
        assert_int_equal(cgroup_limits_check_controllers(f->s, &l, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err.message, "cpu_weight = 50 needs the cpu controller"));
}

static void test_explicit_controller_missing(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };

        put(f, "memory pids\n", "cgroup.controllers");
        f->s->cfg.controllers = "memory,cpu";
        assert_int_equal(f->s->be->setup(f->s, &err), -ENOENT);
        assert_non_null(strstr(err.message, "controllers: cpu is not available in"));
}

static void test_v1_names_are_core_on_v2(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits none = { 0 };

        /* cpuacct and freezer: cpu.stat and cgroup.freeze serve them. */
        f->s->cfg.controllers = "memory, cpuacct, freezer";
        put(f, CONTROLLERS, PARENT "/cgroup.controllers");
        do_setup(f);
        create(f, &none);
        assert_string_equal(get(f, "cgroup.subtree_control"), "+memory");
}

static void test_destroy(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };
        char path[600];

        do_setup(f);
        assert_int_equal(f->s->be->destroy(f->s, ID, &err), -ENOTEMPTY);
        assert_non_null(strstr(err.message, "rmdir "));
        /* cgroup.kill was the way in: the fake tree shows it was written. */
        assert_string_equal(get(f, PARENT "/" ID "/cgroup.kill"), "1");

        snprintf(path, sizeof(path), "%s/" PARENT "/" ID, f->root);
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        /* A child cgroup the container made goes first. */
        assert_int_equal(mkdir(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/" PARENT "/" ID "/nested", f->root);
        assert_int_equal(mkdir(path, 0755), 0);
        assert_int_equal(f->s->be->destroy(f->s, ID, &err), 0);
        snprintf(path, sizeof(path), "%s/" PARENT "/" ID, f->root);
        assert_false(cg_exists(path));
        snprintf(path, sizeof(path), "%s/" PARENT, f->root);
        assert_true(cg_exists(path));
        assert_int_equal(f->s->be->destroy(f->s, ID, &err), 0);
}

/* quiltd on the default parent: moves itself into <own>/quiltd, makes
 * <own>/quilt, enables the controllers in <own> and <own>/quilt.  The
 * monitors then start in <own>/quiltd and land on the same parent. */
static void test_daemon_start_default_parent(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };
        char self[600], want[600], pid[32];

        make_cgroup(f, "system.slice", CONTROLLERS);
        make_cgroup(f, "system.slice/quiltd.service", CONTROLLERS);
        make_cgroup(f, "system.slice/quiltd.service/quiltd", "");
        make_cgroup(f, "system.slice/quiltd.service/quilt", CONTROLLERS);
        snprintf(self, sizeof(self), "%s/self-cgroup", f->root);
        put(f, "0::/system.slice/quiltd.service\n", "self-cgroup");
        f->s->proc_self_cgroup = self;
        f->s->cfg.parent = "";
        do_setup(f);
        snprintf(want, sizeof(want), "%s/system.slice/quiltd.service/quilt", f->root);
        assert_string_equal(f->s->hier[0].parent, want);

        assert_int_equal(f->s->be->daemon_start(f->s, &err), 0);
        snprintf(pid, sizeof(pid), "%d", (int)getpid());
        assert_string_equal(get(f, "system.slice/quiltd.service/quiltd/cgroup.procs"), pid);
        assert_string_equal(get(f, "system.slice/quiltd.service/cgroup.subtree_control"),
                            "+memory +cpu +pids");
        assert_string_equal(get(f, "system.slice/quiltd.service/quilt/cgroup.subtree_control"),
                            "+memory +cpu +pids");
        /* Never above our own cgroup. */
        assert_string_equal(get(f, "system.slice/cgroup.subtree_control"), "");
        assert_string_equal(get(f, "cgroup.subtree_control"), "");

        /* A monitor, forked by quiltd, sees itself in the leaf. */
        struct cgroup_state *m = cgroup_state_new(NULL, "cgroup_v2");
        assert_non_null(m);
        m->be = &cgroup_v2_backend;
        m->cfg.root = f->root;
        m->proc_self_cgroup = self;
        put(f, "0::/system.slice/quiltd.service/quiltd\n", "self-cgroup");
        assert_int_equal(m->be->setup(m, &err), 0);
        assert_string_equal(m->hier[0].parent, want);
        /* And quiltd restarted inside its leaf does not nest another. */
        assert_int_equal(m->be->daemon_start(m, &err), 0);
        snprintf(want, sizeof(want), "%s/system.slice/quiltd.service/quiltd/quiltd", f->root);
        assert_false(cg_exists(want));
        cgroup_state_free(m);
}

static void test_daemon_start_absolute_parent(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };

        do_setup(f);
        assert_int_equal(f->s->be->daemon_start(f->s, &err), 0);
        /* Nothing moved, nothing enabled. */
        assert_string_equal(get(f, "cgroup.subtree_control"), "");
}

static void test_daemon_start_busy(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };
        char self[600], path[600];

        /* The own cgroup's subtree_control is a directory here, so the write
         * fails: the message names the file and the value. */
        make_cgroup(f, "svc", CONTROLLERS);
        make_cgroup(f, "svc/quiltd", "");
        make_cgroup(f, "svc/quilt", CONTROLLERS);
        snprintf(path, sizeof(path), "%s/svc/cgroup.subtree_control", f->root);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkdir(path, 0755), 0);
        put(f, "0::/svc\n", "self-cgroup");
        snprintf(self, sizeof(self), "%s/self-cgroup", f->root);
        f->s->proc_self_cgroup = self;
        f->s->cfg.parent = "";
        do_setup(f);
        assert_true(f->s->be->daemon_start(f->s, &err) < 0);
        assert_non_null(strstr(err.message, "svc/cgroup.subtree_control"));
        rmdir(path);
}

static void test_parent_at_root_leaf(void **state)
{
        struct fixture *f = *state;
        char self[600], want[600];

        put(f, "0::/quiltd\n", "self-cgroup");
        snprintf(self, sizeof(self), "%s/self-cgroup", f->root);
        f->s->proc_self_cgroup = self;
        f->s->cfg.parent = "";
        do_setup(f);
        snprintf(want, sizeof(want), "%s/quilt", f->root);
        assert_string_equal(f->s->hier[0].parent, want);
        assert_string_equal(f->s->hier[0].enable_from, f->root);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_tree, teardown_tree)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_setup),
                T(test_create_enables_and_writes_limits),
                T(test_enable_skips_what_is_on),
                T(test_enable_not_delegated),
                T(test_create_deeper_parent),
                T(test_swap),
                T(test_swap_without_accounting),
                T(test_update_swap_uses_live_memory),
                T(test_update_only_given_fields),
                T(test_attach),
                T(test_plugin_attach),
                T(test_kill_sigkill_uses_cgroup_kill),
                T(test_kill_sigterm_freezes),
                T(test_kill_sigkill_without_cgroup_kill),
                T(test_kill_without_cgroup),
                T(test_stats_parsing),
                T(test_stats_without_memory_peak),
                T(test_controllers),
                T(test_explicit_controller_missing),
                T(test_v1_names_are_core_on_v2),
                T(test_destroy),
                T(test_daemon_start_default_parent),
                T(test_daemon_start_absolute_parent),
                T(test_daemon_start_busy),
                T(test_parent_at_root_leaf),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
