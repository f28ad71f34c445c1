# SPDX-License-Identifier: MIT
"""stop (SIGTERM, SIGKILL after the timeout) and rm with and without force."""

import os
import signal
import subprocess
import time

import quilt_itest as qi


def _running(q, argv, **kw):
    cid = q.create(argv, **kw)
    st = q.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL))
    assert st["state"] == "RUNNING", "%s%s" % (st, q.ctx())
    return cid, st


def _timed_stop(q, cid, secs):
    t0 = time.monotonic()
    r = q.cli("stop", cid, "-t", str(secs), timeout=secs + 30)
    return r, time.monotonic() - t0


def test_stop_sigterm_trapped_gets_sigkill_after_timeout(q):
    cid, st = _running(q, ["sh", "-c", 'trap "" TERM; echo trapped; while true; do sleep 1; done'])
    qi.poll(lambda: q.logs(cid)[0] == "trapped\n", 10)
    r, took = _timed_stop(q, cid, 2)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert 1.5 <= took <= 8, "stop -t 2 took %.2fs%s" % (took, q.ctx())
    st2 = q.status(cid)
    assert st2["state"] == "EXITED", st2
    assert st2["exitSignal"] == signal.SIGKILL, st2
    assert qi.poll(lambda: not qi.pid_alive(st["pid"]), 5), qi.describe_pids([st["pid"]])
    q.ok("rm", cid)


def test_stop_pid1_without_handler_ignores_sigterm(q):
    # PID 1 of a namespace ignores signals it has no handler for: SIGKILL it is
    cid, st = _running(q, ["sleep", "100"])
    r, took = _timed_stop(q, cid, 2)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert 1.5 <= took <= 8, "stop -t 2 took %.2fs%s" % (took, q.ctx())
    st2 = q.status(cid)
    assert st2["state"] == "EXITED" and st2["exitSignal"] == signal.SIGKILL, st2
    q.ok("rm", cid)


def test_stop_handled_sigterm_exits_quickly(q):
    cid, _ = _running(q, ["sh", "-c", 'trap "exit 0" TERM; echo up; while :; do sleep 0.1; done'])
    qi.poll(lambda: q.logs(cid)[0] == "up\n", 10)
    r, took = _timed_stop(q, cid, 10)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert took < 5, "a container that exits on SIGTERM took %.2fs to stop%s" % (took, q.ctx())
    st = q.status(cid)
    assert st["state"] == "EXITED" and st["exitCode"] == 0 and st["exitSignal"] == 0, st
    q.ok("rm", cid)


def test_stop_exited_container_is_ok(q):
    cid = q.create(["true"])
    q.wait_state(cid)
    r = q.cli("stop", cid)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert q.status(cid)["exitCode"] == 0
    q.ok("rm", cid)


def test_stop_kills_every_process_of_the_container(q):
    # a background child that also ignores TERM must die with the container
    cid, st = _running(q, ["sh", "-c", 'trap "" TERM; (trap "" TERM; sleep 1000) & '
                                        'echo $! ; while :; do sleep 1; done'])
    assert qi.poll(lambda: q.logs(cid)[0].strip(), 10), q.ctx()
    kids = qi.descendants([st["pid"]])
    assert kids, "no child processes of the container's init"
    r, took = _timed_stop(q, cid, 1)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    procs = qi.idents(kids | {st["pid"]})
    qi.poll(lambda: not any(qi.pid_alive(p, t) for p, t in procs.items()), 5)
    left = [p for p, t in procs.items() if qi.pid_alive(p, t)]
    assert not left, "container processes still alive after stop:\n" + qi.describe_pids(left)
    q.ok("rm", cid)


def test_run_reports_128_plus_signal(q, daemon):
    name = q.new_name()
    q.created.append(name)
    argv = [daemon.paths.cli, "--socket", daemon.socket, "run", "--name", name,
            "--image", q.image, "--", "sleep", "100"]
    p = qi.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        q.wait_state(name, ["RUNNING"], timeout=30, may_not_exist_yet=True)
        q.ok("stop", name, "-t", "1")
        rc = qi.wait_popen(p, 30)
        assert rc == 128 + signal.SIGKILL, "run exited %s, want %d%s" % (
            rc, 128 + signal.SIGKILL, q.ctx())
    finally:
        if p.poll() is None:
            qi.kill_pid(p.pid)
        qi.wait_popen(p, 10)
    q.ok("rm", name)


def test_rm_running_needs_force(q):
    cid, st = _running(q, ["sleep", "100"])
    d = q.container_dir(cid)
    r = q.rm(cid, force=False)
    assert r.rc != 0, "%r%s" % (r, q.ctx())
    assert "FAILED_PRECONDITION" in r.err, r
    assert q.status(cid)["state"] == "RUNNING"
    assert os.path.isdir(d)
    t0 = time.monotonic()
    r = q.rm(cid, force=True)
    took = time.monotonic() - t0
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert took < 8, "rm -f took %.2fs%s" % (took, q.ctx())
    assert not os.path.exists(d), "container dir %s left after rm -f" % d
    r = q.cli("status", cid)
    assert r.rc == 1 and "NOT_FOUND" in r.err, r
    assert qi.poll(lambda: not qi.pid_alive(st["pid"]), 5), \
        "container init still alive after rm -f:\n" + qi.describe_pids([st["pid"]])


def test_force_rm_right_after_create(q):
    # The stop reaches the monitor while it is still preparing (extracting,
    # cloning, or holding the child at its sync point): every moment must
    # end the container promptly, never hang until a deadline.
    for delay in (0, 0.005, 0.02, 0.05, 0.1, 0.2):
        cid = q.create(["sleep", "100"])
        if delay:
            time.sleep(delay)
        r = q.cli("rm", cid, "-f", timeout=20)
        assert r.rc == 0, "rm -f after %.3f s: %r" % (delay, r)
        assert r.elapsed < 8, "rm -f after %.3f s took %.1f s (a hang, not a slow machine)" % (delay, r.elapsed)
