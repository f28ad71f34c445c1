/* SPDX-License-Identifier: MIT */
/* A test plugin that appends "INSTANCE STAGE" to the file its section
 * names (`log = PATH`), so tests can check which hooks ran in what order,
 * and fails where its section says (`fail_stage`, `fail_init`).
 * Built several times: as recorder.so and as p1.so..p5.so (RECORDER_NAME),
 * p4 without a prepare_rootfs hook (RECORDER_NO_PREPARE_ROOTFS), p5 with
 * a struct_size that ends before `attach` (RECORDER_BEFORE_ATTACH): a
 * plugin built before the hook existed, though its attach is set.
 * attach records "attach PID" (fail_stage = attach). */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "quilt/plugin.h"

#ifndef RECORDER_NAME
#define RECORDER_NAME "recorder"
#endif

struct recorder {
        const char *instance;
        const char *log;
        int fail_stage;                 /* index into stage_choices; 0: none */
        bool fail_init;
        bool fail_quietly;              /* fail without filling err */
        uint64_t fail_code;             /* errno to fail with */
        uint64_t clone_flags;           /* ORed into c->clone_flags in pre_clone */
};

static const char *const stage_choices[] = {
        "none", "prepare_rootfs", "pre_clone", "in_child", "post_start", "cleanup", "attach", NULL,
};
#define FAIL_ATTACH 6                   /* "attach" in stage_choices */

static const struct quilt_config_key recorder_keys[] = {
        { "log", QUILT_CONFIG_STRING, offsetof(struct recorder, log), NULL },
        { "fail_stage", QUILT_CONFIG_CHOICE, offsetof(struct recorder, fail_stage), stage_choices },
        { "fail_init", QUILT_CONFIG_BOOL, offsetof(struct recorder, fail_init), NULL },
        { "fail_quietly", QUILT_CONFIG_BOOL, offsetof(struct recorder, fail_quietly), NULL },
        { "fail_code", QUILT_CONFIG_UINT64, offsetof(struct recorder, fail_code), NULL },
        { "clone_flags", QUILT_CONFIG_UINT64, offsetof(struct recorder, clone_flags), NULL },
        { NULL, 0, 0, NULL },
};

static void record(const struct recorder *r, const char *what)
{
        char line[256];
        size_t n;
        int fd;

        if (!r->log)
                return;
        n = (size_t)snprintf(line, sizeof(line), "%s %s\n", r->instance, what);
        if (n >= sizeof(line))
                n = sizeof(line) - 1;
        fd = open(r->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0)
                return;
        if (write(fd, line, n) < 0) {
                /* The test sees the missing line. */
        }
        close(fd);
}

static int step(void *state, struct quilt_container *c, struct quilt_error *err,
                enum quilt_stage stage)
{
        struct recorder *r = state;

        record(r, stage_choices[stage + 1]);
        if (stage == QUILT_STAGE_PRE_CLONE && c)
                c->clone_flags |= r->clone_flags;
        if (r->fail_stage == (int)stage + 1 && r->fail_quietly)
                return -(int)r->fail_code;
        if (r->fail_stage == (int)stage + 1)
                return quilt_error_set(err, -(int)r->fail_code, "injected failure (fail_code %d)",
                                       (int)r->fail_code);
        return 0;
}

#ifndef RECORDER_NO_PREPARE_ROOTFS
static int recorder_prepare_rootfs(void *state, struct quilt_container *c, struct quilt_error *err)
{
        return step(state, c, err, QUILT_STAGE_PREPARE_ROOTFS);
}
#endif

static int recorder_pre_clone(void *state, struct quilt_container *c, struct quilt_error *err)
{
        return step(state, c, err, QUILT_STAGE_PRE_CLONE);
}

static int recorder_in_child(void *state, struct quilt_container *c, struct quilt_error *err)
{
        return step(state, c, err, QUILT_STAGE_IN_CHILD);
}

static int recorder_post_start(void *state, struct quilt_container *c, struct quilt_error *err)
{
        return step(state, c, err, QUILT_STAGE_POST_START);
}

static int recorder_cleanup(void *state, struct quilt_container *c, struct quilt_error *err)
{
        return step(state, c, err, QUILT_STAGE_CLEANUP);
}

static int recorder_attach(void *state, struct quilt_container *c, pid_t pid, struct quilt_error *err)
{
        struct recorder *r = state;
        char what[64];

        snprintf(what, sizeof(what), "attach %d", (int)pid);
        record(r, what);
        if (r->fail_stage == FAIL_ATTACH && r->fail_quietly)
                return -(int)r->fail_code;
        if (r->fail_stage == FAIL_ATTACH)
                return quilt_error_set(err, -(int)r->fail_code, "injected failure (fail_code %d)",
                                       (int)r->fail_code);
        return 0;
}

static int recorder_init(const struct quilt_host *host, const struct quilt_config_section *section,
                         void **ret_state, struct quilt_error *err)
{
        struct recorder *r = calloc(1, sizeof(*r));
        int ret;

        if (!r)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        r->instance = section->name;
        r->fail_code = EIO;
        ret = host->config_apply(section, recorder_keys, r, err);
        if (ret < 0) {
                free(r);
                return ret;
        }
        if (r->fail_init) {
                free(r);
                return quilt_error_set(err, -EINVAL, "refusing to start (fail_init = yes)");
        }
        host->log(QUILT_LOG_DEBUG, RECORDER_NAME, "init %s", r->instance);
        record(r, "init");
        *ret_state = r;
        return 0;
}

static void recorder_fini(void *state)
{
        struct recorder *r = state;

        record(r, "fini");
        free(r);
}

QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
#ifdef RECORDER_BEFORE_ATTACH
        .struct_size = offsetof(struct quilt_plugin, attach),
#else
        .struct_size = sizeof(struct quilt_plugin),
#endif
        .name = RECORDER_NAME,
        .description = "test plugin: records its hooks in a file",
        .init = recorder_init,
        .fini = recorder_fini,
#ifndef RECORDER_NO_PREPARE_ROOTFS
        .prepare_rootfs = recorder_prepare_rootfs,
#endif
        .pre_clone = recorder_pre_clone,
        .in_child = recorder_in_child,
        .post_start = recorder_post_start,
        .cleanup = recorder_cleanup,
        .attach = recorder_attach,
};
