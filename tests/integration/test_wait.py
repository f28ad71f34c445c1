# SPDX-License-Identifier: MIT
"""WaitContainer and `quilt-cli wait` (issue 6): block until a container
has ended and exit with its status."""

import signal
import subprocess
import time

import pytest

import quilt_itest as qi
# The cgroup daemon (module scope) of the resource-control tests, for the
# OOM kill; its tests are not collected here, only these fixtures.
from test_cgroup import OOM_ARGV, cg, cq  # noqa: F401


def wait_cli(q, ref, *args, timeout=60):
    return q.cli("wait", ref, *args, timeout=timeout)


@pytest.mark.parametrize("code", [0, 7])
def test_wait_exit_code(q, code):
    cid = q.create(["sh", "-c", "sleep 1; exit %d" % code])
    r = wait_cli(q, cid)
    assert r.rc == code and r.out == "%d\n" % code, "%r%s" % (r, q.ctx())
    st = q.status(cid)
    assert st["state"] == "EXITED" and st["exitCode"] == code, st
    q.ok("rm", cid)


def test_wait_blocks_until_the_end(q):
    cid = q.create(["sleep", "2"])
    t0 = time.monotonic()
    r = wait_cli(q, cid)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    # a wait that returned at once would see it still running
    assert time.monotonic() - t0 >= 1.0, r
    q.ok("rm", cid)


def test_wait_killed_container_is_128_plus_signal(q):
    name = q.new_name("wait")
    cid = q.create(["sleep", "100"], name=name)
    q.wait_state(cid, ["RUNNING"])
    p = qi.spawn([q.d.paths.cli, "--socket", q.d.socket, "wait", name],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        assert p.poll() is None, "wait returned while the container ran"
        q.ok("stop", cid, "-t", "0", timeout=30)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            qi.kill_pid(p.pid)
            p.communicate()
        qi.finished(p)
    assert p.returncode == 128 + signal.SIGKILL, (p.returncode, out, err)
    assert out == b"137\n", (out, err)
    q.ok("rm", cid)


def test_wait_failed_container_is_125(q):
    cid = q.create(["/no/such"])
    r = wait_cli(q, cid)
    assert r.rc == 125, "%r%s" % (r, q.ctx())
    assert "container failed: exec /no/such: No such file or directory" in r.err, r
    q.ok("rm", cid)


def test_wait_returns_at_once_for_an_exited_container(q):
    cid = q.create(["sh", "-c", "exit 4"])
    q.wait_state(cid)
    r = wait_cli(q, cid, timeout=10)
    assert r.rc == 4 and r.out == "4\n", r
    assert r.elapsed < 3, r
    q.ok("rm", cid)


def test_wait_timeout_is_deadline_exceeded(q):
    cid = q.create(["sleep", "100"])
    q.wait_state(cid, ["RUNNING"])
    r = wait_cli(q, cid, "--timeout", "1", timeout=30)
    assert r.rc == 124, "%r%s" % (r, q.ctx())
    assert "DEADLINE_EXCEEDED" in r.err, r
    assert 0.8 <= r.elapsed < 10, r
    # still running: a timed-out wait does not touch the container
    assert q.status(cid)["state"] == "RUNNING"
    q.ok("rm", cid, "-f")


def test_wait_unknown_container_is_not_found(q):
    r = wait_cli(q, "quilt-test-no-such-container", timeout=10)
    assert r.rc == 1 and "NOT_FOUND" in r.err, r


def test_wait_container_removed_while_waiting_answers_its_end(q):
    """rm -f stops the container first: the wait answers that end."""
    cid = q.create(["sleep", "100"])
    q.wait_state(cid, ["RUNNING"])
    p = qi.spawn([q.d.paths.cli, "--socket", q.d.socket, "wait", cid],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        q.ok("rm", cid, "-f", timeout=30)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            qi.kill_pid(p.pid)
            p.communicate()
        qi.finished(p)
    assert p.returncode == 137 and out == b"137\n", (p.returncode, out, err)


def test_wait_usage_errors(q):
    r = q.cli("wait", timeout=10)
    assert r.rc == 2 and "missing container ID" in r.err, r
    r = q.cli("wait", "x", "--timeout", "soon", timeout=10)
    assert r.rc == 2 and "--timeout" in r.err, r


# -- over gRPC ------------------------------------------------------------

grpc = None


@pytest.fixture
def stub(stub):
    """conftest's, with this module's `grpc` imported for the status codes."""
    global grpc
    grpc = pytest.importorskip("grpc", reason="python3-grpcio is not installed")
    yield stub


def test_grpc_wait_status_and_timeout(stub, q):
    pb2, s = stub
    cid = q.create(["sh", "-c", "sleep 1; exit 9"])
    resp = s.WaitContainer(pb2.WaitContainerRequest(container_id=cid), timeout=30)
    st = resp.status
    assert st.container_id == cid and st.state == pb2.CONTAINER_STATE_EXITED, st
    assert st.exit_code == 9 and st.exit_signal == 0 and not st.oom_killed, st

    running = q.create(["sleep", "100"])
    q.wait_state(running, ["RUNNING"])
    with pytest.raises(grpc.RpcError) as e:
        s.WaitContainer(pb2.WaitContainerRequest(container_id=running, timeout_seconds=1), timeout=30)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e.value
    with pytest.raises(grpc.RpcError) as e:
        s.WaitContainer(pb2.WaitContainerRequest(container_id=running, timeout_seconds=-1), timeout=30)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value
    with pytest.raises(grpc.RpcError) as e:
        s.WaitContainer(pb2.WaitContainerRequest(container_id="quilt-test-nope"), timeout=30)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND, e.value
    q.ok("rm", cid)
    q.ok("rm", running, "-f")


def test_grpc_wait_cancelled_by_client_frees_the_call(stub, q):
    """A client that gives up (its deadline) leaves no waiting call behind:
    the daemon still stops promptly at the end of the session, and a later
    wait works."""
    pb2, s = stub
    cid = q.create(["sleep", "100"])
    q.wait_state(cid, ["RUNNING"])
    for _ in range(5):
        with pytest.raises(grpc.RpcError) as e:
            s.WaitContainer(pb2.WaitContainerRequest(container_id=cid), timeout=0.3)
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    fut = s.WaitContainer.future(pb2.WaitContainerRequest(container_id=cid), timeout=30)
    time.sleep(0.3)
    q.ok("stop", cid, "-t", "0", timeout=30)
    st = fut.result().status
    assert st.state == pb2.CONTAINER_STATE_EXITED and st.exit_signal == signal.SIGKILL, st
    q.ok("rm", cid)


def test_grpc_wait_oom_killed(cq, pb):
    grpc = pytest.importorskip("grpc", reason="python3-grpcio is not installed")
    pb2, pb2_grpc = pb
    cid = cq.create(OOM_ARGV, res=["--memory", "16M"])
    ch = grpc.insecure_channel("unix:" + cq.d.socket)
    try:
        resp = pb2_grpc.QuiltServiceStub(ch).WaitContainer(
            pb2.WaitContainerRequest(container_id=cid), timeout=60)
    finally:
        ch.close()
    st = resp.status
    assert st.state == pb2.CONTAINER_STATE_EXITED, st
    assert st.oom_killed and st.exit_signal == signal.SIGKILL, st
    r = cq.cli("wait", cid, timeout=30)
    assert r.rc == 137 and "OOM" in r.err, r
    cq.ok("rm", cid)
