# SPDX-License-Identifier: MIT
"""The daemon and its config: shipped configs, custom chains and profiles,
start-up errors, shutdown."""

import os
import time

import pytest

import quilt_itest as qi


def _check_config(env, config, plugin_dir=None):
    return qi.run_cmd([env.paths.quiltd, "--check-config", "--config", config,
                       "--plugin-dir", plugin_dir or env.paths.plugin_dir], timeout=30)


def _start_fails(env, config, plugin_dir=None):
    """(exit code, its log, the Daemon) of a quiltd that must refuse to start."""
    rc, d = qi.start_fails(env, config, str(os.getpid()), plugin_dir)
    return rc, d.log(), d


@pytest.mark.parametrize("conf", ["quiltd.ini", "minimal.ini"])
def test_check_config_shipped(env, conf):
    path = os.path.join(env.paths.src, "conf", conf)
    r = _check_config(env, path)
    assert r.rc == 0, r
    assert "rootfs" in r.out + r.err, "the chain is not printed: %r" % r


def test_wrong_abi_plugin_refused(env):
    so = os.path.join(env.paths.test_plugin_dir, "wrong_abi.so")
    assert os.path.exists(so), "test plugin not built: %s" % so
    cfg = env.write_config("wrong-abi", "[plugins]\nchain = wrong_abi\n")
    r = _check_config(env, cfg, env.paths.test_plugin_dir)
    assert r.rc == 1, r
    assert "wrong_abi" in r.out + r.err, r
    rc, log, d = _start_fails(env, cfg, env.paths.test_plugin_dir)
    assert rc != 0, "quiltd started with a wrong-ABI plugin%s" % d.log_context()
    assert "wrong_abi" in log, "start-up error does not name the plugin:%s" % d.log_context()
    assert "abi" in log.lower() or "version" in log.lower(), d.log_context()


def test_missing_plugin_refused(env):
    cfg = env.write_config("missing-plugin", "[plugins]\nchain = rootfs, quilt_test_nosuch\n")
    r = _check_config(env, cfg)
    assert r.rc == 1 and "quilt_test_nosuch" in r.out + r.err, r
    rc, log, d = _start_fails(env, cfg)
    assert rc != 0 and "quilt_test_nosuch" in log, d.log_context()


@pytest.mark.parametrize("text,line", [
    ("[plugins]\nchain = rootfs\n[daemon]\nquilt_test_bogus = 1\n", 4),
    ("[plugins]\nchain = rootfs\n[quilt_test_section]\nx = 1\n", 3),
    ("[plugins]\nchain = rootfs\n\n[rootfs]\nmode = quilt-test-bogus\n", 5),
    ("[plugins]\nchain = rootfs\n[daemon]\ninsecure_registries =\n", 4),
    # A chain's default network mode: a bad value, and one no plugin provides.
    ("[plugins]\nchain = ns, rootfs\nnetwork = quilt-test-bogus\n", 3),
    ("[plugins]\nchain = rootfs\n\nnetwork = loopback\n", 4),
    ("[plugins]\nchain = ns, rootfs\n[profile.x]\nchain = ns, rootfs\nnetwork = bridge\n", 5),
])
def test_bad_config_names_file_and_line(env, text, line):
    cfg = env.write_config("bad", text)
    r = _check_config(env, cfg)
    assert r.rc == 1, r
    assert "%s:%d" % (cfg, line) in r.out + r.err or \
        "%s:%d" % (os.path.basename(cfg), line) in r.out + r.err, \
        "error does not name %s:%d: %r" % (cfg, line, r)
    rc, log, d = _start_fails(env, cfg)
    assert rc != 0 and ":%d" % line in log, d.log_context()


def test_second_daemon_on_same_state_dir_refused(env, start_daemon):
    first = start_daemon(env.paths.conf_default, "first")
    d2 = qi.Daemon(env.paths, env.tmp, "second", env.paths.conf_default)
    d2.state_dir = first.state_dir
    d2.socket = env.path("second.sock")
    d2.log_path = env.path("second.log")
    d2.spawn()
    try:
        rc = qi.wait_popen(d2.proc, 20)
        d2.proc = None
        assert rc is not None and rc != 0, "a second quiltd started on %s%s" % (
            first.state_dir, d2.log_context())
    finally:
        if d2.proc is not None:
            d2.stop(5)
    r = first.cli("ps")
    assert r.rc == 0, "the first daemon stopped answering: %r%s" % (r, first.log_context())
    assert os.path.exists(first.socket)


def test_sigterm_stops_running_containers(env, start_daemon, quilt_for):
    d = start_daemon(env.paths.conf_default, "shutdown")
    q = quilt_for(d, env.image)
    a = q.create(["sleep", "100"])
    b = q.create(["sh", "-c", 'trap "" TERM; while :; do sleep 1; done'])
    pids = [q.wait_state(c, ["RUNNING"])["pid"] for c in (a, b)]
    procs = qi.idents(set(pids) | qi.descendants(pids))
    monitors = d.quilt_processes()
    assert monitors, "no monitor processes seen"
    t0 = time.monotonic()
    d.stop_and_check(timeout=45)
    took = time.monotonic() - t0
    left = [p for p, t in procs.items() if qi.pid_alive(p, t)]
    assert not left, qi.describe_pids(left)
    assert took < 40, "shutdown took %.1fs" % took
    q.created = []


def test_chroot_minimal_config(env, start_daemon, quilt_for):
    d = start_daemon(env.paths.conf_minimal, "minimal")
    q = quilt_for(d, env.image)
    r = q.run(["echo", "hello"])
    assert r.rc == 0 and r.out == "hello\n", "%r%s" % (r, q.ctx())
    # no namespaces: the config is obeyed
    r = q.run(["sh", "-c", "echo $$; hostname"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    pid, host = r.out.split()
    assert pid != "1", "PID namespace in the minimal config: %r" % r
    assert host == qi.host_hostname(), r
    # but chrooted: the host's files are out of reach
    marker = env.path("marker")
    with open(marker, "w") as f:
        f.write("quilt-test-host-only\n")
    r = q.run(["sh", "-c", "cat %s; echo rc=$?; ls /" % marker])
    os.unlink(marker)
    assert "quilt-test-host-only" not in r.out and "rc=0" not in r.out, r
    assert "busybox" not in r.out and "bin" in r.out.split(), r
    # exit codes, logs, rm
    cid = q.create(["sh", "-c", "echo out; echo err >&2; exit 9"])
    st = q.wait_state(cid)
    assert st["state"] == "EXITED" and st["exitCode"] == 9, "%s%s" % (st, q.ctx())
    assert q.logs(cid) == ("out\n", "err\n")
    q.ok("rm", cid)
    assert not os.path.exists(d.container_dir(cid))


PROFILES_INI = """\
# quilt-test: default chain with all namespaces, a chroot profile beside it
[plugins]
chain = ns, rootfs

[profile.chrooted]
chain = rootfs:chroot

[ns]
pid = true
mount = true
uts = true
ipc = true
net = true

[rootfs]
mode = pivot_root

[rootfs:chroot]
mode = chroot
"""


def test_profiles_side_by_side(env, start_daemon, quilt_for):
    cfg = env.write_config("profiles", PROFILES_INI)
    r = _check_config(env, cfg)
    assert r.rc == 0, r
    d = start_daemon(cfg, "profiles")
    q = quilt_for(d, env.image)
    a = q.create(["sh", "-c", "echo $$; sleep 2"])
    b = q.create(["sh", "-c", "echo $$; sleep 2"], profile="chrooted")
    for c in (a, b):
        st = q.wait_state(c)
        assert st["state"] == "EXITED" and st["exitCode"] == 0, "%s%s" % (st, q.ctx())
    assert q.logs(a)[0] == "1\n", q.logs(a)
    assert q.logs(b)[0] != "1\n", q.logs(b)
    r = q.cli("create", "--image", env.image, "--profile", "quilt-test-nosuch", "--", "true")
    assert r.rc == 1 and ("INVALID_ARGUMENT" in r.err or "NOT_FOUND" in r.err), r
    assert "quilt-test-nosuch" in r.err or "profile" in r.err.lower(), r
    for c in (a, b):
        q.ok("rm", c)


def test_custom_chain_without_network_namespace(env, start_daemon, quilt_for):
    cfg = env.write_config("nonet", PROFILES_INI.replace("net = true", "net = false"))
    d = start_daemon(cfg, "nonet")
    q = quilt_for(d, env.image)
    r = q.run(["sh", "-c", "echo $$; cat /proc/net/dev"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    lines = r.out.splitlines()
    assert lines[0] == "1", r
    inside = sorted(l.split(":")[0].strip() for l in lines[3:] if ":" in l)
    with open("/proc/net/dev") as f:
        host = sorted(l.split(":")[0].strip() for l in f.read().splitlines()[2:] if ":" in l)
    assert inside == host, "net = false but the container sees %s (host: %s)" % (inside, host)


def test_network_modes_follow_the_chain(env, start_daemon, quilt_for):
    """ns with net provides none and loopback (the default); without net
    the chain has no network mode and a request naming one is refused."""
    cfg = env.write_config("netmodes", PROFILES_INI.replace("net = true", "net = false") +
                           "\n[profile.quilt_test_net]\nchain = ns:withnet, rootfs\nnetwork = none\n"
                           "[ns:withnet]\nnet = true\n")
    d = start_daemon(cfg, "netmodes")
    q = quilt_for(d, env.image)
    r = q.cli("run", "--rm", "--image", env.image, "--network", "loopback", "--", "true")
    assert r.rc == 1 and "INVALID_ARGUMENT" in r.err and "no networking" in r.err, r
    cid = q.create(["true"])
    st = q.status(cid)
    assert not st.get("network"), st
    q.ok("rm", "-f", cid)
    # The profile's `network = none`: lo stays down; asking for loopback brings it up.
    r = q.cli("run", "--rm", "--image", env.image, "--profile", "quilt_test_net", "--",
              "ip", "addr", "show", "lo")
    assert r.rc == 0 and "UP" not in r.out.split(">")[0], r
    r = q.cli("run", "--rm", "--image", env.image, "--profile", "quilt_test_net", "--network",
              "loopback", "--", "ip", "addr", "show", "lo")
    assert r.rc == 0 and "UP" in r.out.split(">")[0] and "127.0.0.1" in r.out, r
    r = q.cli("run", "--rm", "--image", env.image, "--profile", "quilt_test_net", "--network",
              "bridge", "--", "true")
    assert r.rc == 1 and "INVALID_ARGUMENT" in r.err and "bridge" in r.err, r


def test_insecure_registries_key(env):
    cfg = env.write_config("insecure", "[daemon]\ninsecure_registries = registry.quilt-test:5000, "
                                       "quilt-test-mirror\n[plugins]\nchain = rootfs\n")
    r = _check_config(env, cfg)
    assert r.rc == 0, r
