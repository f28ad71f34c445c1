# SPDX-License-Identifier: MIT
"""Readiness: RUNNING means the command was exec'd (after setup); a
readiness probe, run in the container until it exits 0, sets `ready` and
sends one "ready" event."""

import json
import subprocess
import time

import quilt_itest as qi


def _running(q, argv, extra=()):
    cid = q.create(argv, extra=list(extra))
    st = q.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL))
    assert st["state"] == "RUNNING", "%s%s" % (st, q.ctx())
    return cid


def test_without_a_probe_running_is_ready(q):
    cid = _running(q, ["sleep", "100"], ["--setup", "true"])
    assert q.status(cid)["ready"] is True
    q.ok("stop", cid, "-t", "0")
    assert q.status(cid)["ready"] is False
    q.ok("rm", cid)


def _rfc3339(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + ".%09dZ" % (ns % 10**9)


def _event_types(q, cid, since_ns, until_type):
    """The event types of `cid` from since_ns on, until `until_type` came."""
    p = qi.spawn([q.d.paths.cli, "--socket", q.d.socket, "events", "--json", "--since",
                  _rfc3339(since_ns), "--container", cid],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    types = []
    try:
        while until_type not in types:
            line = qi.read_line_with_timeout(p.stdout, 10)
            assert line is not None, types
            types.append(json.loads(line)["type"])
    finally:
        qi.kill_pid(p.pid, 2)
        qi.wait_popen(p, 10)
        p.stdout.close()
        p.stderr.close()
    return types


def test_probe_sets_ready_once_it_passes(q):
    since = time.time_ns() - 1000
    # the file appears a second after the start; the probe looks every 100 ms
    cid = _running(q, ["sh", "-c", "sleep 1; touch /tmp/quilt-test-ready; exec sleep 100"],
                   ["--ready-probe", "test -e /tmp/quilt-test-ready", "--ready-interval", "100"])
    assert q.status(cid)["ready"] is False, q.status(cid)
    assert qi.poll(lambda: q.status(cid)["ready"], 15), q.status(cid)
    assert _event_types(q, cid, since, "ready") == ["created", "started", "ready"]
    q.ok("rm", "-f", cid)


def test_failing_probe_leaves_it_running_not_ready(q):
    cid = _running(q, ["sleep", "100"], ["--ready-probe", "exit 1", "--ready-interval", "50"])
    time.sleep(1.0)
    st = q.status(cid)
    assert st["state"] == "RUNNING" and st["ready"] is False, st
    q.ok("rm", "-f", cid)


def test_probe_flags_are_checked(q):
    r = q.cli("create", "--image", q.image, "--ready-interval", "100", "--", "true")
    assert r.rc == 2 and "--ready-probe" in r.err, r
    r = q.cli("create", "--image", q.image, "--ready-probe", "", "--", "true")
    assert r.rc == 2, r
