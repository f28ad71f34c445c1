/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <string.h>

#include "volume_path.h"

char *quilt_volume_data_path(const char *state_dir, const char *name)
{
        char *path = NULL;
        if (asprintf(&path, "%s/" QUILT_VOLUMES_DIR "/%s/" QUILT_VOLUME_DATA_DIR, state_dir, name) < 0)
                return NULL;
        return path;
}

bool quilt_volume_name_is_valid(const char *name)
{
        size_t n = name ? strlen(name) : 0;
        if (n == 0 || n > QUILT_VOLUME_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = name[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
                if (!alnum && (i == 0 || !strchr("_.-", c)))
                        return false;
        }
        return true;
}
