/* SPDX-License-Identifier: MIT */
/* cgroup_v2.so: the v2 backend, on ROOT or ROOT/unified. */
#include "cgroup_backend.h"

static int v2_init(const struct quilt_host *host, const struct quilt_config_section *section,
                   void **ret_state, struct quilt_error *err)
{
        return cgroup_plugin_init(host, section, "cgroup_v2", &cgroup_v2_backend, ret_state, err);
}

QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_plugin),
        .name = "cgroup_v2",
        .description = "cgroup v2: memory, swap, cpu, pids limits; stats, OOM kills, cgroup.kill",
        .init = v2_init,
        .fini = cgroup_plugin_fini,
        .pre_clone = cgroup_plugin_pre_clone,
        .post_start = cgroup_plugin_post_start,
        .cleanup = cgroup_plugin_cleanup,
        .daemon_start = cgroup_plugin_daemon_start,
        .kill = cgroup_plugin_kill,
        .stats = cgroup_plugin_stats,
        .update = cgroup_plugin_update,
};
