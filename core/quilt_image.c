/* SPDX-License-Identifier: MIT */
/* quilt-image: quiltd's helper for the image store.  Unpacking runs
 * libarchive and the rootfs plugin's extraction code, which must not run
 * in the threaded daemon (DESIGN habit 10): quiltd posix_spawns this
 * small single-threaded program and waits for it.
 *
 *   quilt-image import --store DIR PATH
 *
 * unpacks PATH into the store DIR and prints "sha256:HEX" on stdout.
 * PATH is a rootfs tarball (unpacked exactly as the rootfs plugin's
 * overlay mode does on first use: same entry layout, same lock protocol,
 * same tar checks), an OCI image layout (a directory or a tar of one) or
 * a docker-archive tar; the format is detected (oci_import.h).  Errors:
 * one line "quilt-image: MESSAGE" on stderr, exit status 1 (2 for a bad
 * command line). */
#include <stdio.h>
#include <string.h>

#include "image_store.h"
#include "oci_import.h"
#include "plugin_chain.h"
#include "util.h"

static int usage(void)
{
        fputs("usage: quilt-image import --store DIR PATH\n", stderr);
        return 2;
}

int main(int argc, char **argv)
{
        if (argc != 5 || strcmp(argv[1], "import") != 0 || strcmp(argv[2], "--store") != 0)
                return usage();
        const char *store = argv[3], *path = argv[4];
        if (store[0] != '/' || path[0] != '/')
                return usage();

        /* Only warnings reach quiltd's log: "unpacked ..." is quiltd's to say. */
        quilt_host_set_log_level(QUILT_LOG_WARNING);
        struct quilt_error err = { 0 };
        struct image_store_entry e = { 0 };
        if (oci_import(store, path, quilt_host_table(), &e, &err) < 0) {
                fprintf(stderr, "quilt-image: %s\n", err.message);
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
