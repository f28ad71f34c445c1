/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tar_entry.h"

__attribute__((format(printf, 4, 5)))
static int verdict(int code, char *reason, size_t reason_len, const char *fmt, ...)
{
        if (reason && reason_len > 0) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(reason, reason_len, fmt, ap);
                va_end(ap);
        }
        return code;
}

const char *quilt_tar_entry_strip(const char *path)
{
        if (!path)
                return "";
        /* "./a" and "././a" are "a"; ".//a" too: the slashes that follow a
         * "./" must go as well, or the rest would look absolute. */
        while (path[0] == '.' && path[1] == '/') {
                path += 2;
                while (*path == '/')
                        path++;
        }
        if (strcmp(path, ".") == 0)
                path++;
        return path;
}

/* True when one of the '/'-separated components of `path` is "..". */
static bool has_dotdot(const char *path)
{
        const char *p = path;
        for (;;) {
                size_t n = strcspn(p, "/");
                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return true;
                if (p[n] == '\0')
                        return false;
                p += n + 1;
        }
}

/* The checks shared by an entry's own path and a hard link's target:
 * both are looked up relative to the root, so both must stay below it. */
static int check_name(const char *name, bool is_link, char *reason, size_t reason_len)
{
        if (!name || name[0] == '\0')
                return verdict(-EINVAL, reason, reason_len, "%s",
                               is_link ? "empty hard link target" : "empty name");
        if (name[0] == '/')
                return is_link ? verdict(-EPERM, reason, reason_len,
                                         "hard link target '%s' is absolute", name)
                               : verdict(-EPERM, reason, reason_len, "absolute path");
        if (has_dotdot(name))
                return is_link ? verdict(-EPERM, reason, reason_len,
                                         "hard link target '%s' escapes the root", name)
                               : verdict(-EPERM, reason, reason_len, "path escapes the root");
        return 0;
}

int quilt_tar_entry_check(const char *path, const char *hardlink_target, mode_t type,
                          char *reason, size_t reason_len)
{
        int r = check_name(path, false, reason, reason_len);
        if (r < 0)
                return r;

        if (hardlink_target) {
                r = check_name(hardlink_target, true, reason, reason_len);
                if (r < 0)
                        return r;
                if (quilt_tar_entry_strip(hardlink_target)[0] == '\0')
                        return verdict(-EINVAL, reason, reason_len, "hard link to the root");
                if (quilt_tar_entry_strip(path)[0] == '\0')
                        return verdict(-EINVAL, reason, reason_len,
                                       "the root entry is not a directory");
                /* A hard link creates no new inode, so its type is the
                 * target's business: the target was checked when written. */
                return QUILT_TAR_ENTRY_WRITE;
        }

        if (quilt_tar_entry_strip(path)[0] == '\0') {
                /* "./": the rootfs directory itself.  It was made 0755 and
                 * root-owned by us; an image (often packed by a normal
                 * user) does not get to change that, nor replace it. */
                if (type == S_IFDIR)
                        return verdict(QUILT_TAR_ENTRY_SKIP, reason, reason_len,
                                       "the root directory itself");
                return verdict(-EINVAL, reason, reason_len, "the root entry is not a directory");
        }

        switch (type) {
        case S_IFREG:
        case S_IFDIR:
        case S_IFLNK:
        case S_IFIFO:
                return QUILT_TAR_ENTRY_WRITE;
        case S_IFCHR:
                /* A device node would give the container whatever device
                 * the numbers name; the ns plugin provides /dev instead. */
                return verdict(QUILT_TAR_ENTRY_SKIP, reason, reason_len, "character device");
        case S_IFBLK:
                return verdict(QUILT_TAR_ENTRY_SKIP, reason, reason_len, "block device");
        case S_IFSOCK:
                /* A socket file is meaningless without its listener. */
                return verdict(QUILT_TAR_ENTRY_SKIP, reason, reason_len, "socket");
        default:
                return verdict(-EINVAL, reason, reason_len, "unsupported file type 0%o",
                               (unsigned)type);
        }
}

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

int quilt_tar_whiteout(const char *path, char *target, size_t target_len, char *reason,
                       size_t reason_len)
{
        if (!path || path[0] == '\0')
                return QUILT_WHITEOUT_NONE;
        if (path[0] == '/')
                return verdict(-EPERM, reason, reason_len, "absolute path");
        if (has_dotdot(path))
                return verdict(-EPERM, reason, reason_len, "path escapes the root");
        const char *p = quilt_tar_entry_strip(path);
        size_t len = strlen(p);
        while (len > 0 && p[len - 1] == '/')
                len--;
        size_t base = len;
        while (base > 0 && p[base - 1] != '/')
                base--;
        const char *name = p + base;
        size_t name_len = len - base;
        size_t wl = strlen(WHITEOUT_PREFIX);
        if (name_len < wl || strncmp(name, WHITEOUT_PREFIX, wl) != 0)
                return QUILT_WHITEOUT_NONE;
        /* The directory part, without its trailing slashes. */
        size_t dir_len = base;
        while (dir_len > 0 && p[dir_len - 1] == '/')
                dir_len--;
        int kind;
        size_t need;
        if (name_len == strlen(WHITEOUT_OPAQUE) && !strncmp(name, WHITEOUT_OPAQUE, name_len)) {
                kind = QUILT_WHITEOUT_OPAQUE;
                need = dir_len;
        } else if (!strncmp(name, WHITEOUT_PREFIX WHITEOUT_PREFIX, 2 * wl)) {
                return verdict(QUILT_WHITEOUT_META, reason, reason_len, "aufs metadata");
        } else {
                const char *victim = name + wl;
                size_t vl = name_len - wl;
                if (vl == 0 || (vl == 1 && victim[0] == '.') ||
                    (vl == 2 && victim[0] == '.' && victim[1] == '.'))
                        return verdict(-EPERM, reason, reason_len,
                                       "whiteout names no file below its directory");
                kind = QUILT_WHITEOUT_FILE;
                need = dir_len + (dir_len ? 1 : 0) + vl;
                if (need + 1 <= target_len) {
                        memcpy(target, p, dir_len);
                        size_t o = dir_len;
                        if (dir_len)
                                target[o++] = '/';
                        memcpy(target + o, victim, vl);
                        target[need] = '\0';
                        return kind;
                }
                return verdict(-ENAMETOOLONG, reason, reason_len, "name too long");
        }
        if (need + 1 > target_len)
                return verdict(-ENAMETOOLONG, reason, reason_len, "name too long");
        memcpy(target, p, need);
        target[need] = '\0';
        return kind;
}
