/* SPDX-License-Identifier: MIT */
/* cgroup_v2.so: the v2 backend, on ROOT or ROOT/unified. */
#include "cgroup_backend.h"

CGROUP_PLUGIN_MODULE("cgroup_v2", "cgroup v2: memory, swap, cpu, pids limits; stats, OOM kills, cgroup.kill",
                     &cgroup_v2_backend);
