/* SPDX-License-Identifier: MIT */
/* cgroup.so: probes the mounts at init and drives cgroup_v1's or
 * cgroup_v2's backend; the choice and the reason go to the log at info
 * level (quiltd --check-config shows them). */
#include "cgroup_backend.h"

CGROUP_PLUGIN_MODULE("cgroup", "cgroup v1 or v2, picked at init by probing the mounts (the log says which and why)",
                     NULL);
