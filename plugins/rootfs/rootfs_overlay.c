/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "rootfs.h"
#include "rootfs_overlay.h"
#include "fs_create.h"

/* index=off: each container's upper dir stands alone (no index of lower
 * inodes to keep consistent across the many overlays of one lower dir). */
#define OVERLAY_EXTRA_OPTIONS "index=off"

static bool overlay_listed(void)
{
        FILE *f = fopen("/proc/filesystems", "re");
        if (!f)
                return false;
        bool found = false;
        char line[256];
        while (!found && fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = '\0';
                const char *name = strrchr(line, '\t');
                found = strcmp(name ? name + 1 : line, "overlay") == 0;
        }
        fclose(f);
        return found;
}

static bool option_safe(const char *p)
{
        return strpbrk(p, ",:\\") == NULL;
}

int rootfs_overlay_mount(const char *lower, const char *upper, const char *work,
                         const char *target, struct quilt_error *err)
{
        const char *paths[] = { lower, upper, work };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (!option_safe(paths[i]))
                        return quilt_error_set(err, -EINVAL,
                                               "overlay: path %s has ',', ':' or '\\' in it",
                                               paths[i]);
        _cleanup_free_ char *opts = NULL;
        if (asprintf(&opts, "lowerdir=%s,upperdir=%s,workdir=%s," OVERLAY_EXTRA_OPTIONS, lower,
                     upper, work) < 0)
                return quilt_error_set(err, -ENOMEM, "out of memory");
        if (mount("overlay", target, "overlay", 0, opts) < 0)
                return quilt_error_set(err, -errno, "mounting overlay on %s (%s): %m", target,
                                       opts);
        return 0;
}

int rootfs_overlay_mount_fd(int lower_fd, const char *upper, const char *work,
                            const char *target, struct quilt_error *err)
{
        const char *paths[] = { upper, work };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (!option_safe(paths[i]))
                        return quilt_error_set(err, -EINVAL,
                                               "overlay: path %s has ',', ':' or '\\' in it",
                                               paths[i]);
        _cleanup_close_ int fs_fd = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fs_fd < 0)
                return quilt_error_set(err, -errno, "fsopen overlay: %m");
        /* "lowerdir+" by fd (6.13 on): the layer may be a detached mount,
         * attached nowhere, so nothing is left to unmount but the overlay. */
        if (fsconfig(fs_fd, FSCONFIG_SET_FD, "lowerdir+", NULL, lower_fd) < 0 ||
            fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", "overlay", 0) < 0 ||
            fsconfig(fs_fd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0 ||
            fsconfig(fs_fd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0 ||
            fsconfig(fs_fd, FSCONFIG_SET_STRING, "index", "off", 0) < 0 ||
            fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                int r = -errno;
                char msg[256];
                const char *why = quilt_fs_message(fs_fd, msg, sizeof(msg));
                return quilt_error_set(err, r, "overlay on %s (upper %s): %s%s%s", target, upper,
                                       strerror(-r), why[0] ? ": " : "", why);
        }
        _cleanup_close_ int mnt_fd = fsmount(fs_fd, FSMOUNT_CLOEXEC, 0);
        if (mnt_fd < 0)
                return quilt_error_set(err, -errno, "overlay on %s: fsmount: %m", target);
        if (move_mount(mnt_fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return quilt_error_set(err, -errno, "overlay on %s: move_mount: %m", target);
        return 0;
}

void rootfs_overlay_umount(const char *target, const struct quilt_host *host)
{
        if (umount2(target, UMOUNT_NOFOLLOW) == 0)
                return;
        if (errno == EBUSY && umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
                return;
        /* EINVAL: not a mount point (an extract-mode root, or never mounted). */
        if (errno != EINVAL && errno != ENOENT && QUILT_HOST_HAS(host, log))
                host->log(QUILT_LOG_WARNING, ROOTFS_PLUGIN_NAME, "unmounting %s: %m", target);
}

bool rootfs_overlay_usable(const char *dir, char *why, size_t why_size)
{
        if (!overlay_listed()) {
                snprintf(why, why_size, "/proc/filesystems does not list overlay");
                return false;
        }
        _cleanup_free_ char *base = NULL;
        if (asprintf(&base, "%s/quilt-overlay-probe-XXXXXX", dir) < 0 || !mkdtemp(base)) {
                snprintf(why, why_size, "no directory for a test mount in %s: %m", dir);
                return false;
        }
        static const char *const sub[] = { "lower", "upper", "work", "merged" };
        char p[4][PATH_MAX];
        bool ok = true;
        for (size_t i = 0; i < ELEMENTSOF(sub) && ok; i++) {
                snprintf(p[i], sizeof(p[i]), "%s/%s", base, sub[i]);
                if (mkdir(p[i], 0700) < 0) {
                        snprintf(why, why_size, "mkdir %s: %m", p[i]);
                        ok = false;
                }
        }
        if (ok) {
                struct quilt_error e = { 0 };
                if (rootfs_overlay_mount(p[0], p[1], p[2], p[3], &e) < 0) {
                        snprintf(why, why_size, "a test mount failed: %s", e.message);
                        ok = false;
                } else {
                        if (umount2(p[3], UMOUNT_NOFOLLOW) < 0)
                                (void)umount2(p[3], MNT_DETACH | UMOUNT_NOFOLLOW);
                        snprintf(why, why_size,
                                 "/proc/filesystems lists overlay and a test mount in %s worked",
                                 dir);
                }
        }
        /* work/ holds a work/work dir after a mount: remove two levels. */
        char ww[PATH_MAX];
        snprintf(ww, sizeof(ww), "%s/work/work", base);
        (void)rmdir(ww);
        for (size_t i = ELEMENTSOF(sub); i-- > 0;) {
                snprintf(ww, sizeof(ww), "%s/%s", base, sub[i]);
                (void)rmdir(ww);
        }
        (void)rmdir(base);
        return ok;
}
