/* SPDX-License-Identifier: MIT */
/* cgroup_v1.so: the v1 backend, whatever else is mounted. */
#include "cgroup_backend.h"

CGROUP_PLUGIN_MODULE("cgroup_v1", "cgroup v1: memory, cpu, pids limits; stats, OOM kills, freezer kill",
                     &cgroup_v1_backend);
