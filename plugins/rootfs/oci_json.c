/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "oci_json.h"

json_object *oci_jget(json_object *o, const char *key, json_type type)
{
        json_object *v;
        if (!o || !json_object_is_type(o, json_type_object) ||
            !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, type))
                return NULL;
        return v;
}

const char *oci_jstr(json_object *o, const char *key)
{
        json_object *v = oci_jget(o, key, json_type_string);
        return v ? json_object_get_string(v) : NULL;
}

int64_t oci_jsize(json_object *desc)
{
        json_object *sz = oci_jget(desc, "size", json_type_int);
        return sz ? json_object_get_int64(sz) : -1;
}

const char *oci_digest_hex(const char *digest)
{
        if (!digest || strncmp(digest, "sha256:", 7) != 0)
                return NULL;
        const char *h = digest + 7;
        if (strlen(h) != 64 || strspn(h, "0123456789abcdef") != 64)
                return NULL;
        return h;
}

json_object *oci_pick_manifest(json_object *index, const char *what, struct quilt_error *err)
{
        json_object *list = oci_jget(index, "manifests", json_type_array);
        size_t n = list ? json_object_array_length(list) : 0;
        if (n == 0) {
                quilt_error_set(err, -EINVAL, "%s lists no manifests", what);
                return NULL;
        }
        for (size_t i = 0; i < n; i++) {
                json_object *d = json_object_array_get_idx(list, i);
                json_object *pl = oci_jget(d, "platform", json_type_object);
                const char *os = oci_jstr(pl, "os"), *arch = oci_jstr(pl, "architecture");
                if (os && arch && !strcmp(os, "linux") && !strcmp(arch, OCI_HOST_ARCH))
                        return d;
        }
        if (n == 1)
                return json_object_array_get_idx(list, 0);
        quilt_error_set(err, -ENOENT, "%s lists %zu manifests, none for linux/" OCI_HOST_ARCH, what, n);
        return NULL;
}
