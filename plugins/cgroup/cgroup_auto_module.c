/* SPDX-License-Identifier: MIT */
/* cgroup.so: probes the mounts at init and drives cgroup_v1's or
 * cgroup_v2's backend; the choice and the reason go to the log at info
 * level (quiltd --check-config shows them). */
#include "cgroup_backend.h"

static int auto_init(const struct quilt_host *host, const struct quilt_config_section *section,
                     void **ret_state, struct quilt_error *err)
{
        return cgroup_plugin_init(host, section, "cgroup", NULL, ret_state, err);
}

QUILT_PLUGIN_EXPORT const struct quilt_plugin quilt_plugin_v1 = {
        .abi_version = QUILT_PLUGIN_ABI_VERSION,
        .struct_size = sizeof(struct quilt_plugin),
        .name = "cgroup",
        .description = "cgroup v1 or v2, picked at init by probing the mounts (the log says "
                       "which and why)",
        .init = auto_init,
        .fini = cgroup_plugin_fini,
        .pre_clone = cgroup_plugin_pre_clone,
        .post_start = cgroup_plugin_post_start,
        .cleanup = cgroup_plugin_cleanup,
        .daemon_start = cgroup_plugin_daemon_start,
        .kill = cgroup_plugin_kill,
        .stats = cgroup_plugin_stats,
        .update = cgroup_plugin_update,
};
