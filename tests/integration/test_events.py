# SPDX-License-Identifier: MIT
"""StreamEvents and `quilt-cli events` (issue 6): the daemon's event
stream, in order per container, with filters and a replay window.

The stream is read with `quilt-cli events --json` in the background
(started with --since a moment before the test acts, so no event is
missed while the call is being set up), or with the Python gRPC stubs.
The session daemon is shared: every check looks at this test's
containers only."""

import calendar
import json
import os
import signal
import subprocess
import time

import pytest

import quilt_itest as qi
# The cgroup daemon (module scope) of the resource-control tests, for the
# OOM events; its tests are not collected here, only these fixtures.
from test_cgroup import OOM_ARGV, cg, cq  # noqa: F401


def rfc3339(ns):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + ".%09dZ" % (ns % 10**9)


class EventStream:
    """`quilt-cli events --json ARGS` running in the background."""

    def __init__(self, d, *args):
        self.d = d
        self.argv = [d.paths.cli, "--socket", d.socket, "events", "--json"] + [str(a) for a in args]
        self.p = qi.spawn(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, bufsize=0)
        self.seen = []
        self.rc = None

    def until(self, pred, timeout=30, what="the event"):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            line = qi.read_line_with_timeout(self.p.stdout, left) if left > 0 else None
            if line is None:
                raise AssertionError("%s did not come within %ss (rc %s); seen: %s%s"
                                     % (what, timeout, self.p.poll(), self.seen, self.d.log_context()))
            e = json.loads(line)
            self.seen.append(e)
            if pred(e):
                return e

    def stop(self):
        """Ctrl-C; returns the exit status and stderr."""
        if self.rc is None:
            if self.p.poll() is None:
                qi.kill_pid(self.p.pid, signal.SIGINT)
            self.rc = qi.wait_popen(self.p, 15)
            self.err = self.p.stderr.read().decode("utf-8", "replace")
            self.p.stdout.close()
            self.p.stderr.close()
        return self.rc

    def of(self, cid):
        return [e for e in self.seen if e["containerId"] == cid]


@pytest.fixture
def events(q):
    """events(*args) -> an EventStream on the session daemon, Ctrl-C'd after
    the test (it must then exit 0)."""
    streams = []

    def start(*args):
        s = EventStream(q.d, *args)
        streams.append(s)
        return s
    yield start
    bad = []
    for s in streams:
        rc = s.stop()
        if rc != 0:
            bad.append("%s: exit %s after SIGINT: %s" % (" ".join(s.argv), rc, s.err))
        q.d.cli_reports += ["quilt-cli events: " + r for r in qi.sanitizer_reports(s.err)]
    assert not bad, "\n".join(bad)


def since_now():
    return rfc3339(time.time_ns() - 1000)


def check_order(evs):
    seqs = [e["sequence"] for e in evs]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), evs
    times = [e["timeNs"] for e in evs]
    assert times == sorted(times), evs


def test_lifecycle_events_in_order(q, events):
    s = events("--since", since_now())
    name = q.new_name("ev")
    cid = q.create(["sh", "-c", "exit 3"], name=name)
    s.until(lambda e: e["containerId"] == cid and e["type"] == "exited")
    q.ok("rm", cid)
    s.until(lambda e: e["containerId"] == cid and e["type"] == "removed")
    assert s.stop() == 0, s.err

    mine = s.of(cid)
    assert [e["type"] for e in mine] == ["created", "started", "exited", "removed"], mine
    check_order(mine)
    assert all(e["name"] == name for e in mine), mine
    created, started, exited, _ = mine
    assert created["attributes"]["image"] == q.image, created
    assert created["attributes"]["command"] == "sh -c exit 3", created
    assert int(started["attributes"]["pid"]) > 0, started
    assert exited["attributes"] == {"exit_code": "3", "exit_signal": "0", "oom_killed": "false"}, exited


def test_setup_started_before_started(q, events):
    s = events("--since", since_now())
    cid = q.create(["true"], extra=["--setup", "true", "--setup", "echo quilt-test-two"])
    s.until(lambda e: e["containerId"] == cid and e["type"] == "exited")
    types = [e["type"] for e in s.of(cid)]
    assert types == ["created", "setup-started", "setup-started", "started", "exited"], s.of(cid)
    assert [e["attributes"]["setup_command"] for e in s.of(cid)[1:3]] == ["1", "2"]
    q.ok("rm", cid)


def test_failed_event_names_plugin_and_stage(q, events, env):
    garbage = env.path("garbage.tar")
    with open(garbage, "w") as f:
        f.write("quilt-test: this is not a tarball\n")
    s = events("--since", since_now())
    cid = q.create(["true"], image=garbage)
    e = s.until(lambda e: e["containerId"] == cid and e["type"] in ("failed", "exited"))
    assert e["type"] == "failed", s.of(cid)
    st = q.status(cid)
    assert st["state"] == "FAILED", st
    assert e["attributes"]["error"] == st["errorMessage"], (e, st)
    assert e["attributes"]["error"].startswith("rootfs: prepare_rootfs: "), e
    assert [x["type"] for x in s.of(cid)] == ["created", "failed"], s.of(cid)
    q.ok("rm", cid)
    os.unlink(garbage)


def test_stopped_event(q, events):
    s = events("--since", since_now())
    cid = q.create(["sleep", "100"])
    s.until(lambda e: e["containerId"] == cid and e["type"] == "started")
    q.ok("stop", cid, "-t", "0", timeout=30)
    stopped = s.until(lambda e: e["containerId"] == cid and e["type"] == "stopped")
    assert [e["type"] for e in s.of(cid)] == ["created", "started", "exited", "stopped"], s.of(cid)
    assert stopped["attributes"]["killed"] == "true", stopped
    assert stopped["attributes"]["timeout_seconds"] == "-1", stopped
    assert s.of(cid)[2]["attributes"]["exit_signal"] == str(int(signal.SIGKILL))
    # stopping an ended container again: no second "stopped"
    q.ok("stop", cid, timeout=30)
    q.ok("rm", cid)
    s.until(lambda e: e["containerId"] == cid and e["type"] == "removed")
    assert [e["type"] for e in s.of(cid)].count("stopped") == 1, s.of(cid)


def test_stopped_by_sigterm_is_not_killed(q, events):
    s = events("--since", since_now())
    cid = q.create(["sleep", "100"], extra=["--init"])
    s.until(lambda e: e["containerId"] == cid and e["type"] == "started")
    q.ok("stop", cid, "-t", "20", timeout=60)
    stopped = s.until(lambda e: e["containerId"] == cid and e["type"] == "stopped")
    assert stopped["attributes"] == {"timeout_seconds": "20", "killed": "false"}, s.of(cid)
    q.ok("rm", cid)


def test_replay_with_since(q):
    """Events before the call come back with --since; without it, not."""
    name = q.new_name("replay")
    cid = q.create(["true"], name=name)
    q.wait_state(cid)
    time.sleep(0.2)
    for args, want in ((["--since", "1m"], ["created", "started", "exited"]),
                       (["--since", rfc3339(time.time_ns() - 60 * 10**9)], ["created", "started", "exited"]),
                       ([], [])):
        s = EventStream(q.d, "--container", name, *args)
        try:
            if want:
                s.until(lambda e: e["type"] == "exited")
            else:
                # nothing old; the next event is the rm's
                q.ok("rm", cid)
                s.until(lambda e: e["type"] == "removed")
                want = ["removed"]
        finally:
            assert s.stop() == 0, s.err
        assert [e["type"] for e in s.seen] == want, (args, s.seen)


def test_filter_by_name_catches_a_later_container(q, events):
    name = q.new_name("later")
    s = events("--container", name, "--type", "created", "--type", "exited")
    other = q.create(["true"])
    time.sleep(0.5)     # the stream is set up by now; `other` is not in it
    cid = q.create(["sh", "-c", "exit 5"], name=name)
    e = s.until(lambda e: e["type"] == "exited")
    assert e["containerId"] == cid and e["attributes"]["exit_code"] == "5", e
    assert [x["type"] for x in s.seen] == ["created", "exited"], s.seen
    assert all(x["containerId"] == cid for x in s.seen), s.seen
    q.wait_state(other)
    q.ok("rm", other)
    q.ok("rm", cid)


def test_filter_by_id_prefix(q, events):
    cid = q.create(["sleep", "100"])
    s = events("--since", "1m", "--container", cid[:12], "--type", "created")
    e = s.until(lambda e: True)
    assert e["containerId"] == cid and e["type"] == "created", e
    q.ok("rm", cid, "-f")


def test_human_output_and_usage(q):
    name = q.new_name("human")
    cid = q.create(["sh", "-c", "exit 2"], name=name)
    q.wait_state(cid)
    p = qi.spawn([q.d.paths.cli, "--socket", q.d.socket, "events", "--since", "5m", "-c", name],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, bufsize=0)
    lines = []
    try:
        for _ in range(3):
            line = qi.read_line_with_timeout(p.stdout, 20)
            assert line is not None, lines
            lines.append(line.decode())
    finally:
        qi.kill_pid(p.pid, signal.SIGINT)
        rc = qi.wait_popen(p, 15)
        p.stdout.close()
        p.stderr.close()
    assert rc == 0, rc
    f = lines[0].split()
    assert f[1] == "created" and f[2] == cid[:12] and f[3] == name, lines
    assert f[0].endswith("Z") and "T" in f[0], lines
    assert 'command="sh -c exit 2"' in lines[0], lines
    assert lines[2].split()[1] == "exited" and " exit_code=2 " in lines[2], lines
    q.ok("rm", cid)
    for bad in (["--since", "yesterday"], ["--since", "2024-13-01T00:00:00Z"], ["--type", ""], ["extra"]):
        r = q.cli("events", *bad, timeout=10)
        assert r.rc == 2, (bad, r)


# -- over gRPC ------------------------------------------------------------

@pytest.fixture
def stub(pb, q):
    grpc = pytest.importorskip("grpc", reason="python3-grpcio is not installed")
    pb2, pb2_grpc = pb
    ch = grpc.insecure_channel("unix:" + q.d.socket)
    try:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield grpc, pb2, pb2_grpc.QuiltServiceStub(ch)
    finally:
        ch.close()


def test_grpc_stream_lifecycle_and_cancel(stub, q):
    grpc, pb2, s = stub
    since = time.time_ns()
    name = q.new_name("grpc")
    stream = s.StreamEvents(pb2.StreamEventsRequest(container_ids=[name], since_ns=since), timeout=60)
    cid = q.create(["sh", "-c", "exit 1"], name=name)
    q.wait_state(cid)
    q.ok("rm", cid)
    got = []
    for ev in stream:
        got.append(ev)
        if ev.type == "removed":
            break
    stream.cancel()
    assert [e.type for e in got] == ["created", "started", "exited", "removed"], got
    assert all(e.container_id == cid and e.name == name for e in got), got
    assert [e.sequence for e in got] == sorted(e.sequence for e in got)
    assert got[2].attributes["exit_code"] == "1", got[2]
    assert got[0].time_ns >= since

    with pytest.raises(grpc.RpcError) as e:
        list(s.StreamEvents(pb2.StreamEventsRequest(since_ns=-1), timeout=10))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# -- OOM (the cgroup daemon of test_cgroup.py) ---------------------------

def test_oom_event_before_exited(cq):
    d = cq.d
    name = cq.new_name("oom")
    s = EventStream(d, "--since", since_now(), "--container", name)
    try:
        r = cq.run(OOM_ARGV, name=name, rm=False, res=["--memory", "16M"], timeout=60)
        assert r.rc == 128 + signal.SIGKILL, "%r%s" % (r, cq.ctx())
        s.until(lambda e: e["type"] == "exited")
        cq.ok("rm", name)
        s.until(lambda e: e["type"] == "removed")
    finally:
        assert s.stop() == 0, s.err
    types = [e["type"] for e in s.seen]
    assert types == ["created", "started", "oom", "exited", "removed"], s.seen
    exited = s.seen[3]["attributes"]
    assert exited["oom_killed"] == "true" and exited["exit_signal"] == str(int(signal.SIGKILL)), exited


def test_daemon_shutdown_ends_open_streams_and_waits(start_daemon, env):
    """Open StreamEvents and WaitContainer calls notice the shutdown (they
    poll every 200 ms): quiltd stops promptly and cleanly."""
    d = start_daemon(env.paths.conf_default, name="evshutdown")
    q = qi.Quilt(d, env.image)
    cid = q.create(["sleep", "100"])
    q.wait_state(cid, ["RUNNING"])
    s = EventStream(d, "--since", "1m")
    w = qi.spawn([d.paths.cli, "--socket", d.socket, "wait", cid], stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        s.until(lambda e: e["containerId"] == cid and e["type"] == "started")
        time.sleep(0.3)
        assert w.poll() is None
        t0 = time.monotonic()
        rc = d.stop(timeout=30)
        assert rc == 0 and time.monotonic() - t0 < 15, (rc, time.monotonic() - t0, d.log_context())
        # both clients end (with an error status: the daemon went away)
        assert qi.wait_popen(w, 15) is not None
        assert qi.wait_popen(s.p, 15) is not None
    finally:
        for p in (w, s.p):
            if p.poll() is None:
                qi.kill_pid(p.pid)
                p.wait()
            qi.finished(p)
        for f in (w.stdout, w.stderr, s.p.stdout, s.p.stderr):
            f.close()


def test_exec_events_in_order(q, events):
    s = events("--since", since_now())
    cid = q.create(["sleep", "600"])
    s.until(lambda e: e["containerId"] == cid and e["type"] == "started")
    for code in ("0", "7"):
        r = q.cli("exec", cid, "--", "sh", "-c", "exit " + code, timeout=60)
        assert r.rc == int(code), r
    r = q.cli("exec", "--timeout", "1", cid, "--", "sleep", "50", timeout=60)
    assert r.rc == 124, r
    s.until(lambda e: e["containerId"] == cid and e["type"] == "exec-exited"
            and e["attributes"].get("timed_out") == "true")
    mine = [e for e in s.of(cid) if e["type"].startswith("exec-")]
    assert [e["type"] for e in mine] == ["exec-started", "exec-exited"] * 3, mine
    check_order(mine)
    starts, exits = mine[0::2], mine[1::2]
    assert [e["attributes"]["exec_id"] for e in starts] == [e["attributes"]["exec_id"] for e in exits]
    assert starts[1]["attributes"]["command"] == "sh -c exit 7", starts[1]
    assert [e["attributes"]["exit_code"] for e in exits[:2]] == ["0", "7"], exits
    assert exits[2]["attributes"]["exit_signal"] == "9", exits[2]
    assert [e["attributes"]["timed_out"] for e in exits] == ["false", "false", "true"], exits
    q.ok("rm", "-f", cid)
