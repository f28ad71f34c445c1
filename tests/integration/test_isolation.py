# SPDX-License-Identifier: MIT
"""Namespaces and the root switch with the shipped conf/quiltd.ini
(pivot_root, all namespaces)."""

import os
import re
import uuid

import quilt_itest as qi


def test_pid_namespace_shell_is_pid_1(q):
    r = q.run(["sh", "-c", "echo $$"])
    assert r.rc == 0 and r.out == "1\n", "%r%s" % (r, q.ctx())


def test_fresh_proc_shows_only_the_container(q):
    # /proc is the container's: its own processes only
    r = q.run(["sh", "-c", "ls /proc | grep -E '^[0-9]+$' | wc -l; cat /proc/1/cmdline | tr '\\0' ' '"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    n, cmd = r.out.splitlines()
    assert int(n) <= 5, r          # sh, ls/grep/wc/cat: nowhere near the host's
    assert cmd.startswith("sh -c"), r


def test_hostname_inside_and_unchanged_outside(q):
    before = qi.host_hostname()
    r = q.run(["sh", "-c", "hostname; cat /proc/sys/kernel/hostname"], hostname="quilt-test-h")
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert r.out == "quilt-test-h\nquilt-test-h\n", r
    assert qi.host_hostname() == before
    with open("/proc/sys/kernel/hostname") as f:
        assert f.read().strip() == before


def test_default_hostname_is_not_the_hosts(q):
    r = q.run(["hostname"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert r.out.strip() and r.out.strip() != qi.host_hostname(), r


def _unconfined_daemon(env, start_daemon, quilt_for):
    """A daemon whose chain has the namespaces and the root but neither caps
    nor seccomp: a container root that may mount (what the namespaces alone
    must keep from the host)."""
    text = open(env.paths.conf_default).read()
    text = re.sub(r"^chain = .*$", "chain = ns, rootfs", text, count=1, flags=re.M)
    d = start_daemon(env.write_config("isolation-unconfined", text), "unconfined")
    return quilt_for(d, env.image)


def test_tmpfs_inside_is_invisible_on_host(env, start_daemon, quilt_for):
    q = _unconfined_daemon(env, start_daemon, quilt_for)
    host_before = set(qi.mount_points())
    cid = q.create(["sh", "-c", "mount -t tmpfs none /mnt && touch /mnt/x && ls /mnt "
                    "&& grep ' /mnt ' /proc/self/mountinfo >/dev/null && echo ready; sleep 60"])
    st = q.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL))
    assert st["state"] == "RUNNING", "%s%s" % (st, q.ctx())
    assert qi.poll(lambda: q.logs(cid)[0] == "x\nready\n", 15), \
        "container did not mount its tmpfs: %s %s%s" % (q.logs(cid), q.status(cid), q.ctx())
    # the container's mount namespace has it ...
    pid = q.status(cid)["pid"]
    inside = qi.mountinfo(pid)
    assert any(" /mnt " in line and "tmpfs" in line for line in inside), inside
    # ... the host's does not
    new = set(qi.mount_points()) - host_before
    assert not any(mp.endswith("/mnt") for mp in new), new
    assert not qi.mount_lines_containing(env.tmp), qi.mount_lines_containing(env.tmp)
    assert not os.path.exists(os.path.join(q.container_dir(cid), "rootfs", "mnt", "x")), \
        "the tmpfs file is visible in the rootfs dir on the host"
    q.ok("rm", cid, "-f")


def test_only_loopback_in_network_namespace(q):
    r = q.run(["sh", "-c", "cat /proc/net/dev; echo ---; ip link show lo"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    dev, link = r.out.split("---\n")
    ifaces = [line.split(":")[0].strip() for line in dev.splitlines()[2:] if ":" in line]
    assert ifaces == ["lo"], r
    flags = link.split("<", 1)[1].split(">", 1)[0].split(",")
    assert "UP" in flags, "lo is not up: %r" % link


def test_host_marker_unreachable_after_pivot_root(q, env):
    secret = "quilt-test-secret-" + uuid.uuid4().hex
    marker = env.path("marker")
    with open(marker, "w") as f:
        f.write(secret + "\n")
    try:
        script = ("cat %(m)s; echo rc1=$?; ls -d /tmp/quilt-test-*; echo rc2=$?; "
                  "cat /proc/1/root%(m)s; echo rc3=$?; "
                  "ls /proc/1/root/ | tr '\\n' ' '; echo; ls / | tr '\\n' ' '; echo"
                  % {"m": marker})
        r = q.run(["sh", "-c", script])
        assert r.rc == 0, "%r%s" % (r, q.ctx())
        assert secret not in r.out and secret not in r.err, r
        lines = r.out.splitlines()
        for key in ("rc1=", "rc2=", "rc3="):
            line = [l for l in lines if l.startswith(key)]
            assert line and line[0] != key + "0", "%s: %r" % (key, r)
        # /proc/1/root is the container's own root
        assert lines[-1] == lines[-2], r
        # the old root is gone: no mount point outside the usual places
        r = q.run(["cat", "/proc/self/mountinfo"])
        assert r.rc == 0, r
        mps = [qi._unescape_mount(line.split()[4]) for line in r.out.splitlines()]
        # /proc and /sys carry the masks (a dozen mounts of their own)
        own = [mp for mp in mps if not mp.startswith(("/proc/", "/sys/"))]
        assert len(own) < len(qi.mount_points()) or len(own) < 20, mps
        assert not any(env.tmp in mp for mp in mps), mps
    finally:
        os.unlink(marker)


def test_ipc_and_uts_are_private(q):
    r = q.run(["sh", "-c", "for n in ipc uts net mnt pid; do readlink /proc/self/ns/$n; done"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    inside = r.out.split()
    outside = [os.readlink("/proc/self/ns/" + n) for n in ("ipc", "uts", "net", "mnt", "pid")]
    assert len(inside) == 5, r
    for i, o in zip(inside, outside):
        assert i != o, "namespace shared with the host: %s" % i


def test_minimal_dev(q):
    r = q.run(["sh", "-c", "ls /dev | sort | tr '\\n' ' '; echo; "
                           "echo ok > /dev/null && head -c 4 /dev/zero | wc -c && "
                           "head -c 4 /dev/urandom | wc -c; test -c /dev/tty && echo tty; "
                           "ls -l /dev/stdout /dev/fd"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    names = r.out.splitlines()[0].split()
    for n in ("null", "zero", "full", "random", "urandom", "tty", "fd", "stdin", "stdout",
              "stderr", "pts", "shm"):
        assert n in names, "/dev/%s missing: %r" % (n, r)
    assert "sda" not in names and "vda" not in names and "mem" not in names, names
    assert "4\n4\ntty\n" in r.out, r


def test_time_namespace(env, start_daemon, quilt_for):
    """[ns] time = true: the container's monotonic and boot clocks start
    near zero (its uptime, not the host's), for its command and an exec
    alike; the host's clocks are untouched."""
    text = open(env.paths.conf_default).read()
    text = re.sub(r"^\[ns\]$", "[ns]\ntime = true", text, count=1, flags=re.M)
    d = start_daemon(env.write_config("isolation-time", text), "timens")
    q = quilt_for(d, env.image)
    with open("/proc/uptime") as f:
        host_uptime = float(f.read().split()[0])
    cid = q.create(["sh", "-c", "cat /proc/uptime; sleep 60"])
    st = q.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL))
    assert st["state"] == "RUNNING", "%s%s" % (st, q.ctx())
    assert qi.poll(lambda: q.logs(cid)[0].strip() != "", 15), q.ctx()
    inside = float(q.logs(cid)[0].split()[0])
    assert inside < 60 < host_uptime, (inside, host_uptime)
    r = q.cli("exec", cid, "--", "cat", "/proc/uptime")
    assert r.rc == 0 and float(r.out.split()[0]) < 120, r
    with open("/proc/uptime") as f:
        assert float(f.read().split()[0]) >= host_uptime
    q.ok("rm", "-f", cid)
    # Without the key: the host's uptime.
    r = quilt_for(start_daemon(env.paths.conf_default, "notimens"), env.image).run(["cat", "/proc/uptime"])
    assert r.rc == 0 and float(r.out.split()[0]) >= host_uptime, r
