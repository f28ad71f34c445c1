/* SPDX-License-Identifier: MIT */
/* The cgroup v1 backend against a fake cgroupfs: a temp dir holding, as
 * empty regular files, what the kernel would show (cgroup.procs,
 * memory.limit_in_bytes, ...).  The tests assert which files get which
 * values.  Built with plugins/cgroup/cgroup_v1.c, cgroup_common.c and
 * cgroup_fs.c; no real cgroup is touched, and only children this test
 * forks are ever signalled. */
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

#define PARENT "/quilt-test-parent"
#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *const v1_files[][8] = {
        { "memory", "memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
          "memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.oom_control", NULL },
        { "cpu", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.shares", NULL },
        { "cpuacct", "cpuacct.usage", NULL },
        { "pids", "pids.max", "pids.current", NULL },
        { "freezer", "freezer.state", NULL },
};

struct fixture {
        char root[64];
        struct cgroup_state *s;
};

static void put(const char *path, const char *value)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, value, strlen(value)), (ssize_t)strlen(value));
        close(fd);
}

__attribute__((format(printf, 3, 4)))
static void putf(const char *value, char *buf, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, 512, fmt, ap);
        va_end(ap);
        put(buf, value);
}

/* The file's content, without a trailing newline. */
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
static void mkdirf(struct fixture *f, const char *fmt, ...)
{
        char rel[512], path[600];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(rel, sizeof(rel), fmt, ap);
        va_end(ap);
        snprintf(path, sizeof(path), "%s/%s", f->root, rel);
        assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

/* A hierarchy dir with cgroup.procs, as setup recognises one; then the
 * parent and the container's dir with the controller's files, since a
 * fake tree does not grow them on mkdir like the kernel does. */
static void make_hierarchy(struct fixture *f, size_t i)
{
        const char *ctl = v1_files[i][0];
        char p[512];

        mkdirf(f, "%s", ctl);
        putf("", p, "%s/%s/cgroup.procs", f->root, ctl);
        mkdirf(f, "%s" PARENT, ctl);
        putf("", p, "%s/%s" PARENT "/cgroup.procs", f->root, ctl);
        mkdirf(f, "%s" PARENT "/" ID, ctl);
        putf("", p, "%s/%s" PARENT "/" ID "/cgroup.procs", f->root, ctl);
        for (size_t j = 1; v1_files[i][j]; j++)
                putf("", p, "%s/%s" PARENT "/" ID "/%s", f->root, ctl, v1_files[i][j]);
}

static int setup_tree(void **state)
{
        struct fixture *f = calloc(1, sizeof(*f));

        assert_non_null(f);
        snprintf(f->root, sizeof(f->root), "/tmp/quilt-test-XXXXXX");
        assert_non_null(mkdtemp(f->root));
        for (size_t i = 0; i < ELEMENTSOF(v1_files); i++)
                make_hierarchy(f, i);
        f->s = cgroup_state_new(NULL, "cgroup_v1");
        assert_non_null(f->s);
        f->s->be = &cgroup_v1_backend;
        f->s->cfg.root = f->root;
        f->s->cfg.parent = PARENT;
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

static void test_setup_finds_hierarchies(void **state)
{
        struct fixture *f = *state;
        char want[600];

        do_setup(f);
        assert_int_equal(f->s->n_hier, 5);
        assert_int_equal(f->s->n_controllers, 5);
        snprintf(want, sizeof(want), "%s/memory" PARENT, f->root);
        assert_string_equal(cgroup_hier_for(f->s, "memory")->parent, want);
        snprintf(want, sizeof(want), "%s/freezer" PARENT, f->root);
        assert_string_equal(cgroup_hier_for(f->s, "freezer")->parent, want);
}

static void test_create_writes_limits(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits l = { .memory = 16 << 20, .cpu_millicores = 500, .cpu_weight = 100,
                                   .pids = 64 };
        struct quilt_error err = { 0 };
        int fd = 7;

        do_setup(f);
        assert_int_equal(f->s->be->create(f->s, ID, &l, &fd, &err), 0);
        assert_int_equal(fd, -1);               /* no CLONE_INTO_CGROUP on v1 */
        assert_string_equal(get(f, "memory" PARENT "/" ID "/memory.limit_in_bytes"), "16777216");
        assert_string_equal(get(f, "memory" PARENT "/" ID "/memory.memsw.limit_in_bytes"), "");
        assert_string_equal(get(f, "cpu" PARENT "/" ID "/cpu.cfs_period_us"), "100000");
        assert_string_equal(get(f, "cpu" PARENT "/" ID "/cpu.cfs_quota_us"), "50000");
        assert_string_equal(get(f, "cpu" PARENT "/" ID "/cpu.shares"), "2597");
        assert_string_equal(get(f, "pids" PARENT "/" ID "/pids.max"), "64");
}

static void test_create_makes_missing_dirs(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits none = { 0 };
        struct quilt_error err = { 0 };
        struct stat st;
        char path[600];
        int fd;

        f->s->cfg.parent = "/quilt-test-new/deeper";
        do_setup(f);
        assert_int_equal(f->s->be->create(f->s, ID, &none, &fd, &err), 0);
        for (size_t i = 0; i < ELEMENTSOF(v1_files); i++) {
                snprintf(path, sizeof(path), "%s/%s/quilt-test-new/deeper/" ID, f->root,
                         v1_files[i][0]);
                assert_int_equal(stat(path, &st), 0);
                assert_true(S_ISDIR(st.st_mode));
        }
}

static void test_shares_mapping(void **state)
{
        (void)state;
        assert_int_equal(cgroup_weight_to_shares(1), 2);
        assert_int_equal(cgroup_weight_to_shares(100), 2597);
        assert_int_equal(cgroup_weight_to_shares(10000), 262144);
        /* runc/crun map shares -> weight as 1 + ((shares - 2) * 9999) / 262142:
         * the way back lands on the weight again, give or take the rounding
         * down both ways. */
        for (uint64_t w = 1; w <= 10000; w += 37) {
                uint64_t shares = cgroup_weight_to_shares(w);
                uint64_t back = 1 + ((shares - 2) * 9999) / 262142;
                assert_true(back == w || back + 1 == w);
        }
}

static void test_swap_needs_memsw(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits l = { .memory = 16 << 20, .memory_swap = 32 << 20 };
        struct quilt_error err = { 0 };
        char path[600];
        int fd;

        snprintf(path, sizeof(path), "%s/memory" PARENT "/" ID "/memory.memsw.limit_in_bytes",
                 f->root);
        assert_int_equal(unlink(path), 0);
        do_setup(f);
        assert_int_equal(f->s->be->create(f->s, ID, &l, &fd, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err.message, "memory_swap_limit_bytes: this kernel has no swap "
                                            "accounting"));
        assert_non_null(strstr(err.message, "memory.memsw.limit_in_bytes"));
}

static void test_swap_written_as_total(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits l = { .memory = 16 << 20, .memory_swap = 32 << 20 };
        struct quilt_error err = { 0 };
        char p[600];
        int fd;

        putf("9223372036854771712\n", p, "%s/memory" PARENT "/" ID "/memory.limit_in_bytes",
             f->root);
        do_setup(f);
        assert_int_equal(f->s->be->create(f->s, ID, &l, &fd, &err), 0);
        assert_string_equal(get(f, "memory" PARENT "/" ID "/memory.limit_in_bytes"), "16777216");
        /* v1 memsw is memory and swap together, like the request. */
        assert_string_equal(get(f, "memory" PARENT "/" ID "/memory.memsw.limit_in_bytes"),
                            "33554432");
}

static void test_error_names_file_and_value(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits l = { .memory = 1048576 };
        struct quilt_error err = { 0 };
        char path[600], want[800];
        int fd;

        snprintf(path, sizeof(path), "%s/memory" PARENT "/" ID "/memory.limit_in_bytes", f->root);
        assert_int_equal(unlink(path), 0);
        do_setup(f);
        assert_int_equal(f->s->be->create(f->s, ID, &l, &fd, &err), -ENOENT);
        snprintf(want, sizeof(want), "writing 1048576 to %s: No such file or directory", path);
        assert_string_equal(err.message, want);
}

static void test_attach_every_hierarchy(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };

        do_setup(f);
        assert_int_equal(f->s->be->attach(f->s, ID, 4242, &err), 0);
        for (size_t i = 0; i < ELEMENTSOF(v1_files); i++)
                assert_string_equal(get(f, "%s" PARENT "/" ID "/cgroup.procs", v1_files[i][0]),
                                     "4242");
        /* The parent got nothing: only the container process goes in. */
        assert_string_equal(get(f, "memory" PARENT "/cgroup.procs"), "");
}

/* The plugin's attach hook (an exec joining the container): through the
 * module's descriptor, into the container's cgroup of every hierarchy. */
static void test_plugin_attach(void **state)
{
        struct fixture *f = *state;
        struct quilt_container c = { .struct_size = sizeof(c), .id = ID, .cgroup_fd = -1 };
        struct quilt_error err = { 0 };

        do_setup(f);
        assert_string_equal(quilt_plugin_v1.name, "cgroup_v1");
        assert_int_equal(quilt_plugin_v1.struct_size, sizeof(struct quilt_plugin));
        assert_non_null(quilt_plugin_v1.attach);
        assert_int_equal(quilt_plugin_v1.attach(f->s, &c, 5151, &err), 0);
        for (size_t i = 0; i < ELEMENTSOF(v1_files); i++)
                assert_string_equal(get(f, "%s" PARENT "/" ID "/cgroup.procs", v1_files[i][0]),
                                     "5151");
        assert_string_equal(get(f, "memory" PARENT "/cgroup.procs"), "");

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

static void test_stats_parsing(void **state)
{
        struct fixture *f = *state;
        struct quilt_stats st = { .struct_size = sizeof(st), -1, -1, -1, -1, -1 };
        struct quilt_error err = { 0 };
        char p[600];

        st.memory_current_bytes = st.memory_peak_bytes = st.cpu_usage_ns = st.pids_current =
                st.oom_kill_count = -1;
        putf("123456\n", p, "%s/memory" PARENT "/" ID "/memory.usage_in_bytes", f->root);
        putf("234567\n", p, "%s/memory" PARENT "/" ID "/memory.max_usage_in_bytes", f->root);
        putf("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", p,
             "%s/memory" PARENT "/" ID "/memory.oom_control", f->root);
        putf("987654321\n", p, "%s/cpuacct" PARENT "/" ID "/cpuacct.usage", f->root);
        putf("4\n", p, "%s/pids" PARENT "/" ID "/pids.current", f->root);
        do_setup(f);
        assert_int_equal(f->s->be->stats(f->s, ID, &st, &err), 0);
        assert_int_equal(st.memory_current_bytes, 123456);
        assert_int_equal(st.memory_peak_bytes, 234567);
        assert_int_equal(st.cpu_usage_ns, 987654321);
        assert_int_equal(st.pids_current, 4);
        assert_int_equal(st.oom_kill_count, 3);
}

static void test_stats_missing_files_stay_unknown(void **state)
{
        struct fixture *f = *state;
        struct quilt_stats st;
        struct quilt_error err = { 0 };

        memset(&st, 0xff, sizeof(st));          /* every field -1 */
        st.struct_size = sizeof(st);
        f->s->cfg.controllers = "memory";
        do_setup(f);
        /* The files exist but are empty: nothing to parse, nothing set. */
        assert_int_equal(f->s->be->stats(f->s, ID, &st, &err), 0);
        assert_int_equal(st.cpu_usage_ns, -1);
        assert_int_equal(st.pids_current, -1);
        assert_int_equal(st.oom_kill_count, -1);
}

static void test_update_only_given_fields(void **state)
{
        struct fixture *f = *state;
        struct cgroup_limits l = { .memory = 16 << 20, .pids = 10 };
        struct cgroup_limits up = { .pids = 20, .cpu_weight = 10000 };
        struct quilt_error err = { 0 };
        int fd;

        do_setup(f);
        assert_int_equal(f->s->be->create(f->s, ID, &l, &fd, &err), 0);
        assert_int_equal(f->s->be->update(f->s, ID, &up, &err), 0);
        assert_string_equal(get(f, "pids" PARENT "/" ID "/pids.max"), "20");
        assert_string_equal(get(f, "cpu" PARENT "/" ID "/cpu.shares"), "262144");
        assert_string_equal(get(f, "memory" PARENT "/" ID "/memory.limit_in_bytes"), "16777216");
        assert_string_equal(get(f, "cpu" PARENT "/" ID "/cpu.cfs_quota_us"), "");
}

static void test_explicit_controllers(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };
        struct cgroup_limits l = { .cpu_millicores = 100 };

        f->s->cfg.controllers = "memory, pids";
        do_setup(f);
        assert_int_equal(f->s->n_hier, 2);
        assert_null(cgroup_hier_for(f->s, "freezer"));
        assert_int_equal(cgroup_limits_check_controllers(f->s, &l, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err.message, "cpu_millicores = 100 needs the cpu controller"));
        assert_non_null(strstr(err.message, "memory, pids"));
}

static void test_explicit_controller_missing(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };

        f->s->cfg.controllers = "memory, blkio";
        assert_int_equal(f->s->be->setup(f->s, &err), -ENOENT);
        assert_non_null(strstr(err.message, "no cgroup v1 hierarchy for blkio"));
}

static void test_default_controller_missing_is_dropped(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };
        struct cgroup_limits l = { .pids = 5 };
        char path[600];

        snprintf(path, sizeof(path), "%s/pids/cgroup.procs", f->root);
        assert_int_equal(unlink(path), 0);
        do_setup(f);
        assert_false(cgroup_has_controller(f->s, "pids"));
        assert_int_equal(cgroup_limits_check_controllers(f->s, &l, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err.message, "this system does not offer"));
}

/* Co-mounted controllers (cpu -> cpu,cpuacct) are one hierarchy; the
 * default parent is `quilt` under our own cgroup, from /proc/self/cgroup. */
static void test_default_parent_and_comount(void **state)
{
        struct fixture *f = *state;
        char path[600], target[600], want[600], p[600];

        snprintf(path, sizeof(path), "%s/cpu,cpuacct", f->root);
        assert_int_equal(mkdir(path, 0755), 0);
        putf("", p, "%s/cpu,cpuacct/cgroup.procs", f->root);
        snprintf(target, sizeof(target), "%s/cpu", f->root);
        nftw(target, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        assert_int_equal(symlink("cpu,cpuacct", target), 0);
        snprintf(target, sizeof(target), "%s/cpuacct", f->root);
        nftw(target, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        assert_int_equal(symlink("cpu,cpuacct", target), 0);

        snprintf(path, sizeof(path), "%s/self-cgroup", f->root);
        put(path, "12:pids:/system.slice/quiltd.service\n"
                  "7:freezer:/\n"
                  "5:cpu,cpuacct:/system.slice/quiltd.service\n"
                  "4:memory:/system.slice/quiltd.service\n"
                  "1:name=systemd:/system.slice/quiltd.service\n"
                  "0::/system.slice/quiltd.service\n");
        f->s->proc_self_cgroup = path;
        f->s->cfg.parent = "";
        do_setup(f);
        assert_int_equal(f->s->n_hier, 4);
        struct cgroup_hier *cpu = cgroup_hier_for(f->s, "cpu");
        assert_ptr_equal(cpu, cgroup_hier_for(f->s, "cpuacct"));
        assert_string_equal(cpu->label, "cpu,cpuacct");
        snprintf(want, sizeof(want), "%s/memory/system.slice/quiltd.service/quilt", f->root);
        assert_string_equal(cgroup_hier_for(f->s, "memory")->parent, want);
        snprintf(want, sizeof(want), "%s/freezer/quilt", f->root);
        assert_string_equal(cgroup_hier_for(f->s, "freezer")->parent, want);
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

static void test_kill_freezes_signals_thaws(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };
        char p[600], pids[64];
        int status;

        pid_t child = fork_waiter();
        snprintf(pids, sizeof(pids), "%d\n", (int)child);
        putf(pids, p, "%s/freezer" PARENT "/" ID "/cgroup.procs", f->root);
        do_setup(f);
        assert_int_equal(f->s->be->kill(f->s, ID, SIGTERM, &err), 0);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGTERM);
        assert_string_equal(get(f, "freezer" PARENT "/" ID "/freezer.state"), "THAWED");
}

static void test_kill_without_freezer(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };
        char p[600], pids[64];
        int status;

        pid_t child = fork_waiter();
        snprintf(pids, sizeof(pids), "%d\n", (int)child);
        putf(pids, p, "%s/memory" PARENT "/" ID "/cgroup.procs", f->root);
        f->s->cfg.controllers = "memory";
        do_setup(f);
        assert_int_equal(f->s->be->kill(f->s, ID, SIGKILL, &err), 0);
        assert_int_equal(waitpid(child, &status, 0), child);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
}

static void test_kill_without_cgroup(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };

        do_setup(f);
        assert_int_equal(f->s->be->kill(f->s, "not-there", SIGKILL, &err), -EOPNOTSUPP);
}

static void test_destroy(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };
        char path[600];

        do_setup(f);
        /* A fake cgroup holds regular files: rmdir refuses, and says where. */
        assert_int_equal(f->s->be->destroy(f->s, ID, &err), -ENOTEMPTY);
        assert_non_null(strstr(err.message, "rmdir "));
        assert_non_null(strstr(err.message, PARENT "/" ID));

        /* Emptied, as the kernel's would be once its tasks are gone: removed
         * in every hierarchy, the parent stays. */
        for (size_t i = 0; i < ELEMENTSOF(v1_files); i++) {
                snprintf(path, sizeof(path), "%s/%s" PARENT "/" ID, f->root, v1_files[i][0]);
                nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
                assert_int_equal(mkdir(path, 0755), 0);
        }
        assert_int_equal(f->s->be->destroy(f->s, ID, &err), 0);
        for (size_t i = 0; i < ELEMENTSOF(v1_files); i++) {
                snprintf(path, sizeof(path), "%s/%s" PARENT "/" ID, f->root, v1_files[i][0]);
                assert_false(cg_exists(path));
                snprintf(path, sizeof(path), "%s/%s" PARENT, f->root, v1_files[i][0]);
                assert_true(cg_exists(path));
        }
        /* Idempotent: nothing left is fine. */
        assert_int_equal(f->s->be->destroy(f->s, ID, &err), 0);
}

static void test_limits_resolve(void **state)
{
        struct fixture *f = *state;
        struct quilt_resources r = { .struct_size = sizeof(r) };
        struct cgroup_limits l;
        struct quilt_error err = { 0 };

        f->s->cfg.memory_limit = 1 << 20;
        f->s->cfg.pids_limit = 32;
        r.pids_limit = 8;
        assert_int_equal(cgroup_limits_resolve(f->s, &r, true, &l, &err), 0);
        assert_int_equal(l.memory, 1 << 20);    /* the default */
        assert_int_equal(l.pids, 8);            /* the request wins */
        assert_int_equal(cgroup_limits_resolve(f->s, &r, false, &l, &err), 0);
        assert_int_equal(l.memory, 0);          /* update: no defaults */

        r.memory_limit_bytes = -1;
        assert_int_equal(cgroup_limits_resolve(f->s, &r, true, &l, &err), -EINVAL);
        assert_string_equal(err.message, "memory_limit_bytes: -1 is negative");

        r.memory_limit_bytes = 2 << 20;
        r.memory_swap_limit_bytes = 1 << 20;
        assert_int_equal(cgroup_limits_resolve(f->s, &r, true, &l, &err), -EINVAL);
        assert_non_null(strstr(err.message, "is below memory_limit_bytes"));

        f->s->cfg.memory_limit = 0;
        r.memory_limit_bytes = 0;
        assert_int_equal(cgroup_limits_resolve(f->s, &r, true, &l, &err), -EINVAL);
        assert_non_null(strstr(err.message, "needs memory_limit_bytes"));

        r = (struct quilt_resources){ .struct_size = sizeof(r), .cpu_weight = 10001 };
        assert_int_equal(cgroup_limits_resolve(f->s, &r, true, &l, &err), -EINVAL);
        r = (struct quilt_resources){ .struct_size = sizeof(r), .cpu_millicores = 9 };
        assert_int_equal(cgroup_limits_resolve(f->s, &r, true, &l, &err), -EINVAL);
        r.cpu_millicores = 10;
        assert_int_equal(cgroup_limits_resolve(f->s, &r, true, &l, &err), 0);

        /* An older core's struct ends before pids_limit: not set. */
        r = (struct quilt_resources){ .struct_size = offsetof(struct quilt_resources, pids_limit),
                                      .pids_limit = 5 };
        assert_int_equal(cgroup_limits_resolve(f->s, &r, false, &l, &err), 0);
        assert_int_equal(l.pids, 0);
}

static void test_bad_ids_and_parents(void **state)
{
        struct fixture *f = *state;
        struct quilt_error err = { 0 };

        assert_int_equal(cgroup_check_id("../etc", &err), -EINVAL);
        assert_int_equal(cgroup_check_id("a/b", &err), -EINVAL);
        assert_int_equal(cgroup_check_id("", &err), -EINVAL);
        assert_int_equal(cgroup_check_id(ID, &err), 0);
        f->s->cfg.parent = "/quilt-test/../..";
        assert_int_equal(f->s->be->setup(f->s, &err), -EINVAL);
        assert_non_null(strstr(err.message, "parent"));
}

static void test_fs_helpers(void **state)
{
        uint64_t v = 0;
        char *j = NULL;

        (void)state;
        assert_int_equal(cg_kv_u64("oom 5\noom_kill 2\n", "oom", &v), 0);
        assert_int_equal(v, 5);
        assert_int_equal(cg_kv_u64("oom 5\noom_kill 2\n", "oom_kill", &v), 0);
        assert_int_equal(v, 2);
        assert_int_equal(cg_kv_u64("oom 5\n", "oom_group_kill", &v), -ENOENT);
        assert_int_equal(cg_parse_u64("max\n", &v), -ERANGE);
        assert_int_equal(cg_parse_u64("12x", &v), -EINVAL);
        assert_true(cg_word_in("cpuset cpu io memory", "cpu"));
        assert_false(cg_word_in("cpuset io memory", "cpu"));
        assert_true(cg_word_in("cpu,cpuacct", "cpuacct"));
        assert_int_equal(cg_join(&j, "/sys/fs/cgroup/", "/quilt"), 0);
        assert_string_equal(j, "/sys/fs/cgroup/quilt");
        free(j);
        assert_int_equal(cg_join(&j, "/", "x"), 0);
        assert_string_equal(j, "/x");
        free(j);
        assert_int_equal(cg_join(&j, "/a", ""), 0);
        assert_string_equal(j, "/a");
        free(j);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_tree, teardown_tree)

int main(void)
{
        const struct CMUnitTest tests[] = {
                T(test_setup_finds_hierarchies),
                T(test_create_writes_limits),
                T(test_create_makes_missing_dirs),
                cmocka_unit_test(test_shares_mapping),
                T(test_swap_needs_memsw),
                T(test_swap_written_as_total),
                T(test_error_names_file_and_value),
                T(test_attach_every_hierarchy),
                T(test_plugin_attach),
                T(test_stats_parsing),
                T(test_stats_missing_files_stay_unknown),
                T(test_update_only_given_fields),
                T(test_explicit_controllers),
                T(test_explicit_controller_missing),
                T(test_default_controller_missing_is_dropped),
                T(test_default_parent_and_comount),
                T(test_kill_freezes_signals_thaws),
                T(test_kill_without_freezer),
                T(test_kill_without_cgroup),
                T(test_destroy),
                T(test_limits_resolve),
                T(test_bad_ids_and_parents),
                cmocka_unit_test(test_fs_helpers),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
