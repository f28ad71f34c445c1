/* SPDX-License-Identifier: MIT */
/* quilt-image: quiltd's helper for the image store.  Unpacking runs
 * libarchive and the rootfs plugin's extraction code, which must not run
 * in the threaded daemon (DESIGN habit 10): quiltd posix_spawns this
 * small single-threaded program and waits for it.
 *
 *   quilt-image import --store DIR PATH
 *   quilt-image pull --store DIR [--insecure-registry HOST[:PORT]]... REF
 *
 * unpacks PATH into the store DIR and prints "sha256:HEX" on stdout.
 * PATH is a rootfs tarball (unpacked exactly as the rootfs plugin's
 * overlay mode does on first use: same entry layout, same lock protocol,
 * same tar checks), an OCI image layout (a directory or a tar of one) or
 * a docker-archive tar; the format is detected (oci_import.h).  `pull`
 * fetches REF (HOST[:PORT]/NAME[:TAG|@sha256:HEX]) from its registry with
 * libcurl into a temporary OCI layout in DIR and imports that
 * (registry_pull.h); plain HTTP for loopback registries and the
 * --insecure-registry hosts only.  Errors:
 * one line "quilt-image: MESSAGE" on stderr, exit status 1 (2 for a bad
 * command line; for pull 3 when the registry cannot be reached or answers
 * an error, 4 when it has no such image). */
#include <stdio.h>
#include <string.h>

#include "image_store.h"
#include "oci_import.h"
#include "plugin_chain.h"
#include "registry_pull.h"
#include "util.h"

static int usage(void)
{
        fputs("usage: quilt-image import --store DIR PATH\n"
              "       quilt-image pull --store DIR [--insecure-registry HOST[:PORT]]... REF\n",
              stderr);
        return 2;
}

int main(int argc, char **argv)
{
        if (argc < 5 || strcmp(argv[2], "--store") != 0)
                return usage();
        bool pull = !strcmp(argv[1], "pull");
        if (!pull && strcmp(argv[1], "import") != 0)
                return usage();
        const char *store = argv[3], *path = argv[argc - 1];
        /* pull: the --insecure-registry options between DIR and REF */
        char **insecure = argv + 4;
        size_t n_insecure = 0;
        for (int i = 4; i < argc - 1; i += 2) {
                if (!pull || i + 1 >= argc - 1 || strcmp(argv[i], "--insecure-registry") != 0)
                        return usage();
                insecure[n_insecure++] = argv[i + 1];
        }
        if (store[0] != '/' || (!pull && (argc != 5 || path[0] != '/')))
                return usage();

        /* Only warnings reach quiltd's log: "unpacked ..." is quiltd's to say. */
        quilt_host_set_log_level(QUILT_LOG_WARNING);
        struct quilt_error err = { 0 };
        struct image_store_entry e = { 0 };
#if QUILT_HAVE_PULL
        int r = pull ? registry_pull(store, path, insecure, n_insecure, quilt_host_table(), &e, &err)
                     : oci_import(store, path, quilt_host_table(), &e, &err);
#else
        (void)n_insecure;
        int r = pull ? quilt_error_set(&err, -ENOTSUP, "pull: quilt-image was built without libcurl")
                     : oci_import(store, path, quilt_host_table(), &e, &err);
#endif
        if (r < 0) {
                fprintf(stderr, "quilt-image: %s\n", err.message);
                /* pull: 3 the registry could not be reached or refused
                 * (quiltd: UNAVAILABLE), 4 no such image (NOT_FOUND). */
                if (pull && (r == -EIO || r == -EACCES))
                        return 3;
                if (pull && r == -ENOENT)
                        return 4;
                return 1;
        }
        printf("%s%s\n", IMAGE_DIGEST_PREFIX, e.hex);
        image_store_entry_clear(&e);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                perror("quilt-image: writing the digest");
                return 1;
        }
        return 0;
}
