/* SPDX-License-Identifier: MIT */
/* quiltd <-> quilt-monitor, over a SOCK_SEQPACKET socketpair that the
 * monitor gets as fd 3.  One short text message per packet:
 *
 * monitor -> quiltd
 *   "pid PID"                   the container process exists (host pid)
 *   "address A"                 a network plugin gave the container address A
 *   "setup N"                   setup command N (1..) runs: state SETUP
 *   "running STARTED_NS"        the command has been exec'd
 *   "failed MESSAGE"            a stage or the exec failed; no command runs
 *   "exited CODE SIGNAL FINISHED_NS"
 *   "cleaned [MESSAGE]"         only when nothing needs a cleanup (set-up
 *                               failed before any plugin ran)
 * quiltd -> monitor
 *   "signal SIGNO"              deliver to the container (SIGKILL: to
 *                               every process of it)
 *
 * The monitor also records each change in DIR/state, so quiltd's view is
 * only a cache of what the monitor knows. */
#ifndef QUILT_MONITOR_PROTOCOL_H
#define QUILT_MONITOR_PROTOCOL_H

#define QUILT_MONITOR_CONTROL_FD 3
#define QUILT_MONITOR_MESSAGE_MAX 2048

/* Files in the container's directory. */
#define QUILT_SPEC_FILE "spec.pb"               /* the resolved CreateContainerRequest */
#define QUILT_LOG_FILE "container.log"
#define QUILT_ROOTFS_DIR "rootfs"

#endif
