# SPDX-License-Identifier: MIT
"""--init: quilt-init as PID 1 forwards signals, reaps orphans, passes the
exit code through, and comes from a sealed memfd, not from the image."""

import hashlib
import os
import signal
import tarfile
import time

import quilt_itest as qi


def _create(q, argv, init=True):
    name = q.new_name("init")
    q.created.append(name)
    args = ["create"] + (["--init"] if init else []) + q.spec_args(q.image, argv, name=name)
    r = q.cli(*args)
    assert r.rc == 0, "create failed: %r%s" % (r, q.ctx())
    cid = r.out.strip()
    q.created.append(cid)
    return cid


def _running(q, argv, init=True):
    cid = _create(q, argv, init)
    st = q.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL))
    assert st["state"] == "RUNNING", "%s%s" % (st, q.ctx())
    return cid, st


def _timed_stop(q, cid, secs):
    t0 = time.monotonic()
    r = q.cli("stop", cid, "-t", str(secs), timeout=secs + 30)
    return r, time.monotonic() - t0


def _init_path(q):
    return os.path.join(q.d.paths.build, "core", "quilt-init")


def _sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _zombie_children(pid):
    return [p for p, (state, ppid, _) in qi.ppid_map().items() if ppid == pid and state == "Z"]


# PID 1 (a shell, then `sleep`) has no SIGTERM handler: the kernel drops
# the signal and only SIGKILL ends it.
SLEEPER = ["sh", "-c", "sleep 1000"]


def test_stop_without_init_needs_sigkill(q):
    cid, _ = _running(q, SLEEPER, init=False)
    r, took = _timed_stop(q, cid, 3)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert took >= 2.8, "stop -t 3 took only %.2fs%s" % (took, q.ctx())
    st = q.status(cid)
    assert st["state"] == "EXITED" and st["exitSignal"] == signal.SIGKILL, st
    q.ok("rm", cid)


def test_stop_with_init_forwards_sigterm(q):
    cid, st = _running(q, SLEEPER)
    r, took = _timed_stop(q, cid, 3)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert took < 2.5, "stop -t 3 with --init took %.2fs%s" % (took, q.ctx())
    st2 = q.status(cid)
    assert st2["state"] == "EXITED", st2
    assert st2["exitCode"] == 128 + signal.SIGTERM and st2["exitSignal"] == 0, st2
    assert qi.poll(lambda: not qi.pid_alive(st["pid"]), 5), qi.describe_pids([st["pid"]])
    q.ok("rm", cid)


def test_trapped_signal_exit_code_passes_through(q):
    cid, _ = _running(q, ["sh", "-c", 'trap "exit 42" TERM; echo up; while :; do sleep 0.1; done'])
    assert qi.poll(lambda: q.logs(cid)[0] == "up\n", 10), q.ctx()
    r, took = _timed_stop(q, cid, 10)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert took < 5, "took %.2fs%s" % (took, q.ctx())
    st = q.status(cid)
    assert st["state"] == "EXITED" and st["exitCode"] == 42, st
    q.ok("rm", cid)


# A shell double-forks two short sleeps (their parent exits at once, so
# they reparent to PID 1) and then PID 1 becomes `sleep 1000`, which never
# waits: without an init the orphans stay zombies.
ORPHANS = ["sh", "-c", "sh -c 'sleep 0.5 & sleep 0.5 & exit 0'; exec sleep 1000"]


def test_orphans_stay_zombies_without_init(q):
    cid, st = _running(q, ORPHANS, init=False)
    assert qi.poll(lambda: len(_zombie_children(st["pid"])) >= 2, 10), \
        "no zombies below a PID 1 that never waits:\n" + \
        qi.describe_pids(qi.descendants([st["pid"]]) | {st["pid"]})
    q.ok("rm", cid, "-f")


def test_init_reaps_orphans(q):
    cid, st = _running(q, ORPHANS)
    init = st["pid"]
    # the orphans are gone: only `sleep 1000` is left below init
    def settled():
        kids = [p for p, (_, ppid, _) in qi.ppid_map().items() if ppid == init]
        return len(kids) == 1 and not _zombie_children(init)
    ok = qi.poll(settled, 10)
    assert ok, "init did not reap:\n" + qi.describe_pids(qi.descendants([init]) | {init})
    time.sleep(1)
    assert _zombie_children(init) == [], qi.describe_pids(qi.descendants([init]) | {init})
    assert q.status(cid)["state"] == "RUNNING"
    q.ok("rm", cid, "-f")


def test_exit_code_passes_through(q):
    cid = _create(q, ["sh", "-c", "exit 7"])
    st = q.wait_state(cid)
    assert st["state"] == "EXITED" and st["exitCode"] == 7 and st["exitSignal"] == 0, st
    q.ok("rm", cid)


def test_killed_command_is_128_plus_signal(q):
    cid = _create(q, ["sh", "-c", "kill -9 $$"])
    st = q.wait_state(cid)
    assert st["state"] == "EXITED" and st["exitCode"] == 128 + signal.SIGKILL, st
    q.ok("rm", cid)


def test_pid1_is_quilt_init_from_a_sealed_memfd(q, env):
    before = _sha256(_init_path(q))
    # the container tries to overwrite its PID 1's binary (CVE-2019-5736)
    cid = _create(q, ["sh", "-c", 'tr "\\0" " " < /proc/1/cmdline; echo; echo $PPID; '
                                  'echo pwned > /proc/1/exe; echo "write rc=$?"; cat /proc/1/comm'])
    st = q.wait_state(cid)
    out, err = q.logs(cid)
    assert st["state"] == "EXITED" and st["exitCode"] == 0, "%s\n%s\n%s" % (st, out, err)
    lines = out.splitlines()
    assert lines[0].startswith("quilt-init ") and " -- sh -c " in lines[0], out
    assert lines[1] == "1", "the command's parent is not PID 1: %r" % out
    assert lines[2] != "write rc=0", "the container could write /proc/1/exe: %r %r" % (out, err)
    assert lines[3] == "quilt-init", "PID 1's name (ps, top): %r" % out
    assert _sha256(_init_path(q)) == before, "quilt-init on the host changed"
    q.ok("rm", cid)

    # ... and the image has no quilt-init in it
    with tarfile.open(env.image) as tf:
        names = [m.name for m in tf.getmembers() if "quilt-init" in m.name]
    assert names == [], names


def test_host_sees_memfd_exe(q):
    cid, st = _running(q, SLEEPER)
    exe = os.readlink("/proc/%d/exe" % st["pid"])
    assert exe.startswith("/memfd:quilt-init"), exe
    q.ok("rm", cid, "-f")


def test_missing_command_fails_like_without_init(q):
    for init in (False, True):
        cid = _create(q, ["quilt-test-no-such-command", "arg"], init=init)
        st = q.wait_state(cid)
        assert st["state"] == "FAILED", "init=%s: %s%s" % (init, st, q.ctx())
        assert "exec quilt-test-no-such-command: No such file or directory" in st["errorMessage"], \
            "init=%s: %s" % (init, st)
        q.ok("rm", cid)
