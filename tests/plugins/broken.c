/* SPDX-License-Identifier: MIT */
/* Test plugins the loader must refuse, one per BROKEN_* macro:
 *   BROKEN_WRONG_ABI      wrong_abi.so: abi_version 2
 *   BROKEN_NO_SYMBOL      no_symbol.so: exports no quilt_plugin_v1
 *   BROKEN_SMALL_STRUCT   small_struct.so: struct_size ends before cleanup
 *   BROKEN_NAME_MISMATCH  name_mismatch.so: calls itself "other"
 * and one it must accept:
 *   BROKEN_FUTURE         future.so: a later ABI 1 with a field appended
 * init fails with a message of its own, so a test that expects the
 * loader's refusal would see it if init ran anyway. */
#include <stddef.h>

#include "quilt/plugin.h"

__attribute__((unused))
static int must_not_run(const struct quilt_host *host, const struct quilt_config_section *section,
                        void **ret_state, struct quilt_error *err)
{
        return quilt_error_set(err, -EFAULT, "init of a refused plugin ran");
}

__attribute__((unused))
static int no_hook(void *state, struct quilt_container *c, struct quilt_error *err)
{
        return 0;
}

#if defined(BROKEN_WRONG_ABI)
QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = 2,
        .struct_size = sizeof(struct quilt_plugin),
        .name = "wrong_abi",
        .init = must_not_run,
};
#elif defined(BROKEN_NO_SYMBOL)
QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v0 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_plugin),
        .name = "no_symbol",
        .init = must_not_run,
};
#elif defined(BROKEN_SMALL_STRUCT)
QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = offsetof(struct quilt_plugin, cleanup),
        .name = "small_struct",
        .init = must_not_run,
};
#elif defined(BROKEN_NAME_MISMATCH)
QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_plugin),
        .name = "other",
        .init = must_not_run,
};
#elif defined(BROKEN_FUTURE)
/* What an ABI 1 plugin built against a newer header might look like. */
struct future_plugin {
        struct quilt_plugin base;
        quilt_hook_fn appended;
};

QUILT_PLUGIN_EXPORT const struct future_plugin quilt_plugin_v1 = {
        .base = {
                .abi_version = QUILT_PLUGIN_ABI_VERSION,
                .struct_size = sizeof(struct future_plugin),
                .name = "future",
                .pre_clone = no_hook,
        },
        .appended = no_hook,
};
#else
#error "define one BROKEN_* macro"
#endif
