/* SPDX-License-Identifier: MIT */
/* core/config.c and core/config_apply.c: quiltd.ini parsing, every error
 * with its FILE:LINE, the generic key-table parser, and a fuzz loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "util.h"

static char tmpdir[] = "/tmp/quilt-test-XXXXXX";
static char ini_path[sizeof(tmpdir) + 32];

static int group_setup(void **state)
{
        if (!mkdtemp(tmpdir))
                return -1;
        snprintf(ini_path, sizeof(ini_path), "%s/quiltd.ini", tmpdir);
        return 0;
}

static int group_teardown(void **state)
{
        return quilt_remove_tree(tmpdir, NULL);
}

static void write_ini(const char *text)
{
        FILE *f = fopen(ini_path, "we");
        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

/* Load `text` through a real file, as quiltd does. */
static int load(const char *text, struct quilt_config **ret, struct quilt_error *err)
{
        write_ini(text);
        memset(err, 0, sizeof(*err));
        *ret = NULL;
        return quilt_config_load(ini_path, ret, err);
}

/* `text` must fail with "PATH:LINE: what" (or "PATH: what" for line 0). */
static void expect_error(const char *text, int line, const char *what)
{
        struct quilt_config *cfg = NULL;
        struct quilt_error err;
        char expected[2 * QUILT_ERROR_MESSAGE_MAX];

        int r = load(text, &cfg, &err);
        if (line > 0)
                snprintf(expected, sizeof(expected), "%s:%d: %s", ini_path, line, what);
        else
                snprintf(expected, sizeof(expected), "%s: %s", ini_path, what);
        if (r >= 0 || strcmp(err.message, expected) != 0)
                print_error("input:\n%s\nexpected: %s\n     got: %s (r=%d)\n", text, expected,
                            err.message, r);
        assert_true(r < 0);
        assert_int_equal(err.code, r);
        assert_null(cfg);
        assert_string_equal(err.message, expected);
}

static const char valid_ini[] =
        "; quiltd.ini for the tests\n"
        "[daemon]\n"
        "socket = /run/quilt-test/q.sock\n"
        "state_dir = /var/lib/quilt-test\n"
        "plugin_dir = /opt/quilt/plugins\n"
        "monitor = /opt/quilt/quilt-monitor\n"
        "log_level = debug\n"
        "socket_mode = 0600\n"
        "socket_group = quilt\n"
        "stop_timeout = 30\n"
        "\n"
        "[plugins]\n"
        "chain =  rootfs , ns:inner,cgroup  \n"
        "\n"
        "[profile.minimal]\n"
        "chain = rootfs:chroot\n"
        "[profile.none]\n"
        "chain =\n"
        "\n"
        "[rootfs]\n"
        "tarball = /images/alpine.tar\n"
        "  # indented comment\n"
        "    switch = pivot_root   ; inline comment\n"
        "[ns:inner]\n"
        "pid = no\n"
        "[rootfs:chroot]\n"
        "switch = chroot\n";

static void test_valid(void **state)
{
        struct quilt_config *cfg;
        struct quilt_error err;

        assert_int_equal(load(valid_ini, &cfg, &err), 0);
        assert_string_equal(cfg->path, ini_path);
        assert_string_equal(cfg->socket_path, "/run/quilt-test/q.sock");
        assert_string_equal(cfg->state_dir, "/var/lib/quilt-test");
        assert_string_equal(cfg->plugin_dir, "/opt/quilt/plugins");
        assert_string_equal(cfg->monitor_path, "/opt/quilt/quilt-monitor");
        assert_int_equal(cfg->log_level, QUILT_LOG_DEBUG);
        assert_int_equal(cfg->socket_mode, 0600);
        assert_string_equal(cfg->socket_group, "quilt");
        assert_int_equal(cfg->stop_timeout_seconds, 30);

        /* The default chain is profiles[0], whatever the file order. */
        assert_int_equal(cfg->n_profiles, 3);
        const struct quilt_profile *def = quilt_config_profile(cfg, NULL);
        assert_ptr_equal(def, &cfg->profiles[0]);
        assert_ptr_equal(quilt_config_profile(cfg, ""), def);
        assert_string_equal(def->name, "");
        assert_string_equal(def->file, ini_path);
        assert_int_equal(def->line, 13);
        assert_int_equal(def->n_entries, 3);
        assert_string_equal(def->entries[0].plugin, "rootfs");
        assert_string_equal(def->entries[0].instance, "rootfs");
        assert_string_equal(def->entries[1].plugin, "ns");
        assert_string_equal(def->entries[1].instance, "ns:inner");
        assert_string_equal(def->entries[2].plugin, "cgroup");
        assert_string_equal(def->entries[2].instance, "cgroup");

        const struct quilt_profile *min = quilt_config_profile(cfg, "minimal");
        assert_non_null(min);
        assert_string_equal(min->name, "minimal");
        assert_int_equal(min->line, 16);
        assert_int_equal(min->n_entries, 1);
        assert_string_equal(min->entries[0].plugin, "rootfs");
        assert_string_equal(min->entries[0].instance, "rootfs:chroot");
        const struct quilt_profile *none = quilt_config_profile(cfg, "none");
        assert_non_null(none);
        assert_int_equal(none->n_entries, 0);
        assert_null(quilt_config_profile(cfg, "absent"));

        /* Plugin sections, raw, with file and line; then an empty one
         * (line 0) for each chain entry the file has no section for. */
        assert_int_equal(cfg->n_sections, 4);
        assert_string_equal(cfg->sections[3].name, "cgroup");
        const struct quilt_config_section *s = quilt_config_section(cfg, "rootfs");
        assert_ptr_equal(s, &cfg->sections[0]);
        assert_string_equal(s->name, "rootfs");
        assert_string_equal(s->file, ini_path);
        assert_int_equal(s->line, 20);
        assert_int_equal(s->n_entries, 2);
        assert_string_equal(s->entries[0].key, "tarball");
        assert_string_equal(s->entries[0].value, "/images/alpine.tar");
        assert_int_equal(s->entries[0].line, 21);
        assert_string_equal(s->entries[0].file, ini_path);
        assert_string_equal(s->entries[1].key, "switch");
        assert_string_equal(s->entries[1].value, "pivot_root");
        assert_int_equal(s->entries[1].line, 23);
        s = quilt_config_section(cfg, "ns:inner");
        assert_int_equal(s->line, 24);
        assert_string_equal(s->entries[0].key, "pid");
        assert_string_equal(s->entries[0].value, "no");
        s = quilt_config_section(cfg, "rootfs:chroot");
        assert_int_equal(s->line, 26);

        /* A chain entry without a section gets a stable empty one. */
        s = quilt_config_section(cfg, "cgroup");
        assert_ptr_equal(s, &cfg->sections[3]);
        assert_string_equal(s->name, "cgroup");
        assert_int_equal(s->line, 0);
        assert_int_equal(s->n_entries, 0);
        assert_ptr_equal(quilt_config_section(cfg, "cgroup"), s);
        /* Not even in a chain: still never NULL. */
        s = quilt_config_section(cfg, "elsewhere");
        assert_non_null(s);
        assert_string_equal(s->name, "elsewhere");
        assert_int_equal(s->n_entries, 0);
        quilt_config_free(cfg);
}

static void test_defaults(void **state)
{
        struct quilt_config *cfg = quilt_config_new_default();

        assert_non_null(cfg);
        assert_null(cfg->path);
        assert_string_equal(cfg->socket_path, QUILT_DEFAULT_SOCKET);
        assert_string_equal(cfg->state_dir, QUILT_DEFAULT_STATE_DIR);
        assert_non_null(cfg->plugin_dir);
        assert_int_equal(cfg->plugin_dir[0], '/');
        assert_null(cfg->monitor_path);
        assert_null(cfg->socket_group);
        assert_int_equal(cfg->log_level, QUILT_LOG_INFO);
        assert_int_equal(cfg->socket_mode, 0660);
        assert_int_equal(cfg->stop_timeout_seconds, 10);
        assert_int_equal(cfg->n_profiles, 1);
        assert_string_equal(quilt_config_profile(cfg, NULL)->name, "");
        assert_int_equal(quilt_config_profile(cfg, NULL)->n_entries, 0);
        assert_int_equal(cfg->n_sections, 0);
        const struct quilt_config_section *s = quilt_config_section(cfg, "rootfs");
        assert_string_equal(s->name, "rootfs");
        assert_int_equal(s->line, 0);
        assert_int_equal(s->n_entries, 0);

        assert_int_equal(quilt_config_set_string(&cfg->socket_path, "/tmp/quilt-test.sock"), 0);
        assert_string_equal(cfg->socket_path, "/tmp/quilt-test.sock");
        assert_int_equal(quilt_config_set_string(&cfg->socket_group, "wheel"), 0);
        assert_string_equal(cfg->socket_group, "wheel");
        assert_int_equal(quilt_config_set_string(&cfg->socket_group, NULL), 0);
        assert_null(cfg->socket_group);
        quilt_config_free(cfg);
        quilt_config_free(NULL);
}

/* The smallest valid file: the core alone, every [daemon] default. */
static void test_minimal(void **state)
{
        struct quilt_config *cfg;
        struct quilt_error err;
        struct quilt_config *def = quilt_config_new_default();

        assert_int_equal(load("[plugins]\nchain =\n", &cfg, &err), 0);
        assert_string_equal(cfg->socket_path, def->socket_path);
        assert_string_equal(cfg->state_dir, def->state_dir);
        assert_string_equal(cfg->plugin_dir, def->plugin_dir);
        assert_null(cfg->monitor_path);
        assert_int_equal(cfg->log_level, QUILT_LOG_INFO);
        assert_int_equal(cfg->socket_mode, 0660);
        assert_int_equal(cfg->stop_timeout_seconds, 10);
        assert_int_equal(cfg->n_profiles, 1);
        assert_int_equal(cfg->profiles[0].n_entries, 0);
        assert_int_equal(cfg->profiles[0].line, 2);
        assert_int_equal(cfg->n_sections, 0);
        quilt_config_free(cfg);
        quilt_config_free(def);
}

/* BOM, CRLF, comments, profiles before [plugins], a section used only by
 * a profile, "name: value", octal mode without a leading zero. */
static void test_syntax_variants(void **state)
{
        struct quilt_config *cfg;
        struct quilt_error err;

        assert_int_equal(load("\xef\xbb\xbf[daemon]\r\n"
                              "# comment\r\n"
                              "socket_mode = 750\r\n"
                              "log_level: warning\r\n"
                              "[profile.p-1_x]\r\n"
                              "chain = a:b\r\n"
                              "[a:b]\r\n"
                              "k = v ; c\r\n"
                              "[plugins] ; the default chain\r\n"
                              "chain = a\r\n", &cfg, &err), 0);
        assert_int_equal(cfg->socket_mode, 0750);
        assert_int_equal(cfg->log_level, QUILT_LOG_WARNING);
        assert_int_equal(cfg->n_profiles, 2);
        assert_string_equal(cfg->profiles[0].name, "");
        assert_int_equal(cfg->profiles[0].line, 10);
        assert_string_equal(cfg->profiles[0].entries[0].instance, "a");
        assert_string_equal(cfg->profiles[1].name, "p-1_x");
        const struct quilt_config_section *s = quilt_config_section(cfg, "a:b");
        assert_int_equal(s->line, 7);
        assert_int_equal(s->n_entries, 1);
        assert_string_equal(s->entries[0].value, "v");
        assert_int_equal(quilt_config_section(cfg, "a")->line, 0);
        quilt_config_free(cfg);

        /* No newline at the end of the file. */
        assert_int_equal(load("[plugins]\nchain = x", &cfg, &err), 0);
        assert_string_equal(cfg->profiles[0].entries[0].plugin, "x");
        quilt_config_free(cfg);
}

static const char plugins_ok[] = "[plugins]\nchain =\n";

static void test_daemon_errors(void **state)
{
        expect_error("[daemon]\nbogus = 1\n[plugins]\nchain =\n", 2,
                     "unknown key 'bogus' in [daemon]");
        expect_error("[plugins]\nchain =\n[daemon]\nlog_level = verbose\n", 4,
                     "[daemon] log_level: expected one of error, warning, info, debug");
        expect_error("[daemon]\nlog_level = INFO\n", 2,
                     "[daemon] log_level: expected one of error, warning, info, debug");
        expect_error("[daemon]\nsocket_mode = 0999\n", 2,
                     "[daemon] socket_mode: '0999' is not an octal mode like 0660");
        expect_error("[daemon]\nsocket_mode = 010000\n", 2,
                     "[daemon] socket_mode: '010000' is not an octal mode like 0660");
        expect_error("[daemon]\nsocket_mode = 17777\n", 2,
                     "[daemon] socket_mode: '17777' is not an octal mode like 0660");
        expect_error("[daemon]\nsocket_mode =\n", 2,
                     "[daemon] socket_mode: '' is not an octal mode like 0660");
        expect_error("[daemon]\nstop_timeout = 0\n", 2,
                     "[daemon] stop_timeout: '0' is not a number of seconds from 1 to 3600");
        expect_error("[daemon]\nstop_timeout = 3601\n", 2,
                     "[daemon] stop_timeout: '3601' is not a number of seconds from 1 to 3600");
        expect_error("[daemon]\nstop_timeout = -1\n", 2,
                     "[daemon] stop_timeout: '-1' is not a number of seconds from 1 to 3600");
        expect_error("[daemon]\nstop_timeout = 99999999999999999999\n", 2,
                     "[daemon] stop_timeout: '99999999999999999999' is not a number of seconds "
                     "from 1 to 3600");
        expect_error("[daemon]\nstate_dir = var/lib/quilt\n", 2,
                     "[daemon] state_dir: 'var/lib/quilt' is not an absolute path");
        expect_error("[daemon]\nsocket =\n", 2, "[daemon] socket: '' is not an absolute path");
        expect_error("[daemon]\nsocket_group =\n", 2, "[daemon] socket_group: empty value");
        expect_error("[daemon]\nsocket = /a\n\nsocket = /b\n", 4,
                     "duplicate key 'socket' in [daemon] (first at line 2)");

        /* The boundaries are accepted. */
        struct quilt_config *cfg;
        struct quilt_error err;
        assert_int_equal(load("[daemon]\nstop_timeout = 3600\nsocket_mode = 07777\n"
                              "[plugins]\nchain =\n", &cfg, &err), 0);
        assert_int_equal(cfg->stop_timeout_seconds, 3600);
        assert_int_equal(cfg->socket_mode, 07777);
        quilt_config_free(cfg);
        assert_int_equal(load("[daemon]\nstop_timeout = 1\n[plugins]\nchain =\n", &cfg, &err), 0);
        assert_int_equal(cfg->stop_timeout_seconds, 1);
        quilt_config_free(cfg);
}

static void test_chain_errors(void **state)
{
        static const char *const bad_entries[] = {
                "Rootfs", "a:b:c", "a:", ":a", "a b", "a/b", "../x", "a:B", "a.b",
        };
        char text[256], what[512];

        expect_error("", 0, "no [plugins] chain (required; 'chain =' runs no plugins)");
        expect_error("[daemon]\nlog_level = info\n", 0,
                     "no [plugins] chain (required; 'chain =' runs no plugins)");
        expect_error("[profile.x]\nchain =\n", 0,
                     "no [plugins] chain (required; 'chain =' runs no plugins)");
        expect_error("[daemon]\n[plugins]\n", 2, "[plugins] has no 'chain' key");
        expect_error("[plugins]\nchain =\nfoo = 1\n", 3, "unknown key 'foo' in [plugins]");
        expect_error("[plugins]\nchain =\nchain = a\n", 3,
                     "duplicate key 'chain' in [plugins] (first at line 2)");
        for (size_t i = 0; i < ELEMENTSOF(bad_entries); i++) {
                snprintf(text, sizeof(text), "[plugins]\nchain = ok, %s\n", bad_entries[i]);
                snprintf(what, sizeof(what), "[plugins] chain: invalid entry '%s' (expected NAME "
                         "or NAME:INSTANCE, names of a-z, 0-9, _ and -)", bad_entries[i]);
                expect_error(text, 2, what);
        }
        expect_error("[plugins]\nchain = a,,b\n", 2, "[plugins] chain: empty entry");
        expect_error("[plugins]\nchain = a,\n", 2, "[plugins] chain: empty entry");
        expect_error("[plugins]\nchain = , a\n", 2, "[plugins] chain: empty entry");
        expect_error("[plugins]\nchain = ,\n", 2, "[plugins] chain: empty entry");
        expect_error("[plugins]\nchain = a, b, a\n", 2, "[plugins] chain: 'a' is listed twice");
        expect_error("[plugins]\nchain = daemon\n", 2,
                     "[plugins] chain: 'daemon' is a reserved section name");
        expect_error("[plugins]\nchain = plugins\n", 2,
                     "[plugins] chain: 'plugins' is a reserved section name");

        expect_error("[plugins]\nchain =\n[profile.Bad]\nchain =\n", 3,
                     "invalid profile name 'Bad' (a-z, 0-9, _ and -)");
        expect_error("[plugins]\nchain =\n[profile.]\nchain =\n", 3,
                     "invalid profile name '' (a-z, 0-9, _ and -)");
        expect_error("[plugins]\nchain =\n[profile.min]\n\n", 3, "[profile.min] has no 'chain' key");
        expect_error("[plugins]\nchain =\n[profile.min]\nchain = x\nflavour = y\n", 5,
                     "unknown key 'flavour' in [profile.min]");
        expect_error("[plugins]\nchain =\n[profile.min]\nchain = x y\n", 4,
                     "[profile.min] chain: invalid entry 'x y' (expected NAME or NAME:INSTANCE, "
                     "names of a-z, 0-9, _ and -)");
        expect_error("[plugins]\nchain =\n[profile.a]\nchain =\n[profile.a]\nchain =\n", 5,
                     "duplicate section [profile.a] (first at line 3)");
}

static void test_section_errors(void **state)
{
        expect_error("[plugins]\nchain = a\n[b]\nk = v\n", 3, "section [b] is not used by any chain");
        /* An empty one too: inih alone would never tell us it exists. */
        expect_error("[plugins]\nchain = a\n\n[b]\n", 4, "section [b] is not used by any chain");
        /* [rootfs] is not [rootfs:chroot]. */
        expect_error("[plugins]\nchain = rootfs:chroot\n[rootfs]\n", 3,
                     "section [rootfs] is not used by any chain");
        expect_error("[plugins]\nchain = a\n[a]\n[plugins]\n", 4,
                     "duplicate section [plugins] (first at line 1)");
        expect_error("[plugins]\nchain = a\n[a]\nx = 1\n[a]\ny = 2\n", 5,
                     "duplicate section [a] (first at line 3)");
        expect_error("[daemon]\n[daemon]\n", 2, "duplicate section [daemon] (first at line 1)");
        expect_error("[plugins]\nchain = a\n[a]\nk = 1\nj = 2\nk = 3\n", 6,
                     "duplicate key 'k' in [a] (first at line 4)");
        expect_error("k = v\n[plugins]\nchain =\n", 1, "key 'k' outside of any section");
        expect_error("[plugins]\nchain =\n[A]\n", 3, "invalid section name [A]");
        expect_error("[plugins]\nchain =\n[a b]\n", 3, "invalid section name [a b]");
        expect_error("[plugins]\nchain =\n[]\n", 3, "invalid section name []");
        expect_error("[plugins]\nchain =\n[a;b]\n", 3, "invalid section name [a;b]");
}

static void test_syntax_errors(void **state)
{
        char text[1024], what[256];

        expect_error("[plugins]\nchain =\njunk\n", 3,
                     "syntax error: expected 'key = value', '[section]' or a comment");
        /* inih's complaint comes first when it is on an earlier line. */
        expect_error("[plugins]\njunk\nchain = X\n", 2,
                     "syntax error: expected 'key = value', '[section]' or a comment");
        expect_error("[plugins]\nchain = X\njunk\n", 2,
                     "[plugins] chain: invalid entry 'X' (expected NAME or NAME:INSTANCE, "
                     "names of a-z, 0-9, _ and -)");
        expect_error("[plugins\nchain =\n", 1, "syntax error: '[' without ']'");
        expect_error("[plugins]x\nchain =\n", 1, "syntax error: text after ']'");
        expect_error("[plugins]\nchain =\n= v\n", 3, "invalid key '' (letters, digits, '_', '-' and '.')");
        expect_error("[plugins]\nchain =\n[a]\nk!ey = 1\n", 4,
                     "invalid key 'k!ey' (letters, digits, '_', '-' and '.')");

        /* Longer than inih's line buffer: refused, not split in two. */
        int n = snprintf(text, sizeof(text), "[plugins]\nchain =\n[daemon]\nstate_dir = /");
        memset(text + n, 'x', 300);
        strcpy(text + n + 300, "\n");
        snprintf(what, sizeof(what), "line too long (at most %d characters)", 198);
        expect_error(text, 4, what);
        /* ... but the longest line that fits is fine. */
        struct quilt_config *cfg;
        struct quilt_error err;
        n = snprintf(text, sizeof(text), "[plugins]\nchain =\n[daemon]\nstate_dir = /");
        memset(text + n, 'x', 198 - 13);
        strcpy(text + n + 198 - 13, "\n");
        assert_int_equal(load(text, &cfg, &err), 0);
        assert_int_equal(strlen(cfg->state_dir), 198 - 12);
        quilt_config_free(cfg);

        /* Keys inih would cut at 49 characters. */
        n = snprintf(text, sizeof(text), "[plugins]\nchain = a\n[a]\n");
        memset(text + n, 'k', 60);
        strcpy(text + n + 60, " = 1\n");
        expect_error(text, 4, "key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...' is too long "
                     "(at most 48 characters)");
}

static void test_unreadable(void **state)
{
        struct quilt_config *cfg = NULL;
        struct quilt_error err;
        char path[sizeof(tmpdir) + 32], expected[512];

        snprintf(path, sizeof(path), "%s/absent.ini", tmpdir);
        assert_int_equal(quilt_config_load(path, &cfg, &err), -ENOENT);
        assert_null(cfg);
        snprintf(expected, sizeof(expected), "%s: No such file or directory", path);
        assert_string_equal(err.message, expected);

        assert_int_equal(quilt_config_load(tmpdir, &cfg, &err), -EISDIR);
        snprintf(expected, sizeof(expected), "%s: Is a directory", tmpdir);
        assert_string_equal(err.message, expected);

        /* Not a config file: refused before it fills memory. */
        write_ini("");
        assert_int_equal(truncate(ini_path, 2 << 20), 0);
        assert_int_equal(quilt_config_load(ini_path, &cfg, &err), -EFBIG);
        snprintf(expected, sizeof(expected), "%s: larger than 1048576 bytes", ini_path);
        assert_string_equal(err.message, expected);

        /* A symlinked config (/etc/quilt/quiltd.ini -> ...) is fine. */
        snprintf(path, sizeof(path), "%s/link.ini", tmpdir);
        write_ini(plugins_ok);
        assert_int_equal(symlink(ini_path, path), 0);
        assert_int_equal(quilt_config_load(path, &cfg, &err), 0);
        assert_string_equal(cfg->path, path);
        quilt_config_free(cfg);
        assert_int_equal(unlink(path), 0);

        /* A NUL byte, which inih would take for the end of the line. */
        static const char nul[] = "[plugins]\nchain = a\0b\n";
        assert_int_equal(quilt_config_load_buffer("mem.ini", nul, sizeof(nul) - 1, &cfg, &err),
                         -EINVAL);
        assert_string_equal(err.message, "mem.ini:2: NUL byte in line");
        /* A NULL err is allowed. */
        assert_int_equal(quilt_config_load_buffer("mem.ini", nul, sizeof(nul) - 1, &cfg, NULL),
                         -EINVAL);
}

/* ---- config_apply ---- */

struct target {
        bool flag;
        const char *name;
        uint64_t size;
        int mode;
        uint64_t untouched;
};

static const char *const modes[] = { "a", "b", "c", NULL };

static const struct quilt_config_key table[] = {
        { "flag", QUILT_CONFIG_BOOL, offsetof(struct target, flag), NULL },
        { "name", QUILT_CONFIG_STRING, offsetof(struct target, name), NULL },
        { "size", QUILT_CONFIG_UINT64, offsetof(struct target, size), NULL },
        { "mode", QUILT_CONFIG_CHOICE, offsetof(struct target, mode), modes },
        { "untouched", QUILT_CONFIG_UINT64, offsetof(struct target, untouched), NULL },
        { NULL, 0, 0, NULL },
};

/* Apply one `key = value` at f.ini:7 in [sec]; returns config_apply's result. */
static int apply1(const char *key, const char *value, struct target *t, struct quilt_error *err)
{
        struct quilt_config_entry e = { key, value, "f.ini", 7 };
        struct quilt_config_section s = { "sec", "f.ini", 6, 1, &e };

        memset(err, 0, sizeof(*err));
        return quilt_config_apply(&s, table, t, err);
}

static void expect_apply_error(const char *key, const char *value, const char *what)
{
        struct target t = { .size = 42 };
        struct quilt_error err;
        char expected[512];

        assert_int_equal(apply1(key, value, &t, &err), -EINVAL);
        assert_int_equal(err.code, -EINVAL);
        snprintf(expected, sizeof(expected), "f.ini:7: [sec] %s", what);
        assert_string_equal(err.message, expected);
}

static void test_apply_bool(void **state)
{
        static const char *const yes[] = { "true", "yes", "on", "1", "TRUE", "Yes" };
        static const char *const no[] = { "false", "no", "off", "0", "OFF" };
        struct quilt_error err;
        struct target t;

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                t.flag = false;
                assert_int_equal(apply1("flag", yes[i], &t, &err), 0);
                assert_true(t.flag);
        }
        for (size_t i = 0; i < ELEMENTSOF(no); i++) {
                t.flag = true;
                assert_int_equal(apply1("flag", no[i], &t, &err), 0);
                assert_false(t.flag);
        }
        expect_apply_error("flag", "maybe", "flag: 'maybe' is not a boolean "
                           "(true/false, yes/no, on/off, 1/0)");
        expect_apply_error("flag", "", "flag: '' is not a boolean (true/false, yes/no, on/off, 1/0)");
        expect_apply_error("flag", "2", "flag: '2' is not a boolean (true/false, yes/no, on/off, 1/0)");
}

static void test_apply_string_choice(void **state)
{
        struct quilt_error err;
        struct target t = { 0 };
        const char *value = "hello";

        assert_int_equal(apply1("name", value, &t, &err), 0);
        assert_ptr_equal(t.name, value);        /* into the section, not a copy */
        assert_int_equal(apply1("mode", "c", &t, &err), 0);
        assert_int_equal(t.mode, 2);
        assert_int_equal(apply1("mode", "a", &t, &err), 0);
        assert_int_equal(t.mode, 0);
        expect_apply_error("mode", "d", "mode: 'd' is not one of a, b, c");
        expect_apply_error("mode", "A", "mode: 'A' is not one of a, b, c");
}

static void test_apply_uint64(void **state)
{
        static const struct {
                const char *text;
                uint64_t value;
        } good[] = {
                { "0", 0 },
                { "42", 42 },
                { "010", 10 },          /* decimal, not octal */
                { "0x10", 16 },
                { "0XfF", 255 },
                { "18446744073709551615", UINT64_MAX },
                { "0xffffffffffffffff", UINT64_MAX },
                { "0x0000000000000000000001", 1 },
        };
        static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "0x", "1k", "0x1g", "1.5", "x" };
        static const char *const big[] = {
                "18446744073709551616", "99999999999999999999999", "0x10000000000000000",
        };
        struct quilt_error err;
        struct target t;
        char what[256];

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                t.size = 1234;
                assert_int_equal(apply1("size", good[i].text, &t, &err), 0);
                assert_true(t.size == good[i].value);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(what, sizeof(what), "size: '%s' is not an unsigned number "
                         "(decimal or 0x hex)", bad[i]);
                expect_apply_error("size", bad[i], what);
        }
        for (size_t i = 0; i < ELEMENTSOF(big); i++) {
                snprintf(what, sizeof(what), "size: '%s' is out of range "
                         "(at most 18446744073709551615)", big[i]);
                expect_apply_error("size", big[i], what);
        }
}

static void test_apply_unknown(void **state)
{
        struct quilt_error err;
        struct target t = { .untouched = 7 };
        static const struct quilt_config_key empty[] = { { NULL, 0, 0, NULL } };
        struct quilt_config_entry e = { "zzz", "1", NULL, 3 };
        struct quilt_config_section s = { "other", "g.ini", 2, 1, &e };

        expect_apply_error("zzz", "1", "unknown key 'zzz' (known: flag, name, size, mode, untouched)");
        assert_int_equal(quilt_config_apply(&s, empty, NULL, &err), -EINVAL);
        /* The entry's file, else the section's. */
        assert_string_equal(err.message, "g.ini:3: [other] unknown key 'zzz' (known: none)");
        assert_int_equal(t.untouched, 7);
        /* Nothing to apply. */
        s.n_entries = 0;
        assert_int_equal(quilt_config_apply(&s, table, &t, &err), 0);
        assert_int_equal(quilt_config_apply(NULL, table, &t, &err), 0);
}

/* Several keys, from a loaded file: the first bad one stops, with the
 * file's real path and line. */
static void test_apply_from_file(void **state)
{
        struct quilt_config *cfg;
        struct quilt_error err;
        struct target t = { .untouched = 7 };
        char expected[512];

        assert_int_equal(load("[plugins]\nchain = x:y\n[x:y]\n"
                              "flag = on\nname = quilt\nsize = 0x100\nmode = b\n"
                              "bogus = 1\n", &cfg, &err), 0);
        const struct quilt_config_section *s = quilt_config_section(cfg, "x:y");
        assert_int_equal(quilt_config_apply(s, table, &t, &err), -EINVAL);
        snprintf(expected, sizeof(expected), "%s:8: [x:y] unknown key 'bogus' "
                 "(known: flag, name, size, mode, untouched)", ini_path);
        assert_string_equal(err.message, expected);
        assert_true(t.flag);
        assert_string_equal(t.name, "quilt");
        assert_true(t.size == 0x100);
        assert_int_equal(t.mode, 1);
        assert_int_equal(t.untouched, 7);
        quilt_config_free(cfg);
}

/* ---- fuzz ---- */

static uint64_t rng_state;

static uint64_t rng(void)
{
        /* xorshift64*: reproducible from QUILT_FUZZ_SEED. */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * 2685821657736338717ULL;
}

static void fuzz_one(const char *data, size_t len)
{
        struct quilt_config *cfg = NULL;
        struct quilt_error err = { 0 };

        int r = quilt_config_load_buffer("fuzz.ini", data, len, &cfg, &err);
        if (r < 0) {
                assert_null(cfg);
                assert_int_equal(err.code, r);
                assert_int_equal(strncmp(err.message, "fuzz.ini:", 9), 0);
                return;
        }
        assert_int_equal(r, 0);
        assert_non_null(cfg);
        /* Whatever loaded must be consistent. */
        assert_non_null(quilt_config_profile(cfg, NULL));
        for (size_t i = 0; i < cfg->n_profiles; i++)
                for (size_t j = 0; j < cfg->profiles[i].n_entries; j++) {
                        const struct quilt_chain_entry *e = &cfg->profiles[i].entries[j];
                        const struct quilt_config_section *s = quilt_config_section(cfg, e->instance);
                        assert_string_equal(s->name, e->instance);
                        assert_int_equal(strncmp(e->instance, e->plugin, strlen(e->plugin)), 0);
                }
        for (size_t i = 0; i < cfg->n_sections; i++)
                assert_true(cfg->sections[i].line > 0 || cfg->sections[i].n_entries == 0);
        quilt_config_free(cfg);
}

static void test_fuzz(void **state)
{
        static const char alphabet[] = "[]=:;#,. \t\n\r\nabcdeilnoprst_-0x19/daemon\n";
        const char *seed = getenv("QUILT_FUZZ_SEED");
        const char *iter = getenv("QUILT_FUZZ_ITERATIONS");
        size_t iterations = iter ? strtoul(iter, NULL, 10) : 20000;
        size_t vlen = strlen(valid_ini);
        char buf[4096];

        rng_state = seed ? strtoull(seed, NULL, 0) : 0x5eed5eedULL;
        if (!rng_state)
                rng_state = 1;

        /* Every truncation of a valid file. */
        for (size_t i = 0; i <= vlen; i++)
                fuzz_one(valid_ini, i);

        for (size_t it = 0; it < iterations; it++) {
                size_t len;

                switch (rng() % 4) {
                case 0: /* flip a few bytes of the valid file */
                        len = vlen;
                        memcpy(buf, valid_ini, len);
                        for (int k = (int)(rng() % 8) + 1; k > 0; k--)
                                buf[rng() % len] = (char)rng();
                        break;
                case 1: /* text from INI-ish characters */
                        len = rng() % 512;
                        for (size_t i = 0; i < len; i++)
                                buf[i] = alphabet[rng() % (sizeof(alphabet) - 1)];
                        break;
                case 2: /* any bytes */
                        len = rng() % 512;
                        for (size_t i = 0; i < len; i++)
                                buf[i] = (char)rng();
                        break;
                default: /* splice: valid lines, shuffled and cut */
                        len = 0;
                        for (int k = (int)(rng() % 30); k > 0 && len < sizeof(buf) - 300; k--) {
                                size_t a = rng() % vlen, b = a + rng() % 80;
                                if (b > vlen)
                                        b = vlen;
                                memcpy(buf + len, valid_ini + a, b - a);
                                len += b - a;
                        }
                        break;
                }
                fuzz_one(buf, len);
        }

        /* And a few through a real file. */
        for (int it = 0; it < 50; it++) {
                size_t len = rng() % 300;
                for (size_t i = 0; i < len; i++)
                        buf[i] = alphabet[rng() % (sizeof(alphabet) - 1)];
                buf[len] = '\0';
                struct quilt_config *cfg = NULL;
                struct quilt_error err;
                if (load(buf, &cfg, &err) == 0)
                        quilt_config_free(cfg);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_minimal),
                cmocka_unit_test(test_syntax_variants),
                cmocka_unit_test(test_daemon_errors),
                cmocka_unit_test(test_chain_errors),
                cmocka_unit_test(test_section_errors),
                cmocka_unit_test(test_syntax_errors),
                cmocka_unit_test(test_unreadable),
                cmocka_unit_test(test_apply_bool),
                cmocka_unit_test(test_apply_string_choice),
                cmocka_unit_test(test_apply_uint64),
                cmocka_unit_test(test_apply_unknown),
                cmocka_unit_test(test_apply_from_file),
                cmocka_unit_test(test_fuzz),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
