/* SPDX-License-Identifier: MIT */
/* A new network namespace starts with `lo` down; most programs expect
 * 127.0.0.1 to work, so bring it up.  Two ioctls on a throwaway socket are
 * all it takes: no netlink, nothing allocated. */
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "cleanup.h"
#include "loopback.h"

int quilt_loopback_up(struct quilt_error *err)
{
        _cleanup_close_ int fd = -1;
        struct ifreq ifr = { 0 };
        int r;

        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                r = -errno;
                return quilt_error_set(err, r, "socket: %s", strerror(-r));
        }
        memcpy(ifr.ifr_name, "lo", sizeof("lo"));
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
                r = -errno;
                return quilt_error_set(err, r, "lo: SIOCGIFFLAGS: %s", strerror(-r));
        }
        if (ifr.ifr_flags & IFF_UP)
                return 0;
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
                r = -errno;
                return quilt_error_set(err, r, "lo: SIOCSIFFLAGS: %s", strerror(-r));
        }
        return 0;
}
