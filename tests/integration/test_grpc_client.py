# SPDX-License-Identifier: MIT
"""An independent client: Python grpcio with stubs generated from
proto/quilt.proto alone, proving the API is plain gRPC."""

import os
import time

import pytest

import quilt_itest as qi

grpc = pytest.importorskip("grpc", reason="python3-grpcio is not installed")




def _wait_exited(pb2, s, cid, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        st = s.GetContainerStatus(pb2.GetContainerStatusRequest(container_id=cid), timeout=10)
        if st.state in (pb2.CONTAINER_STATE_EXITED, pb2.CONTAINER_STATE_FAILED):
            return st
        assert time.monotonic() < deadline, "not finished: %s" % st
        time.sleep(0.05)


def test_python_client_create_status_logs(stub, q):
    pb2, s = stub
    name = q.new_name("py")
    q.created.append(name)
    resp = s.CreateContainer(pb2.CreateContainerRequest(
        image=q.image, command=["sh", "-c", 'echo "hello $WHO"; echo oops >&2; exit 42'],
        environment={"WHO": "python"}, hostname="quilt-test-py", name=name), timeout=30)
    cid = resp.container_id
    assert len(cid) >= 12, resp
    q.created.append(cid)
    st = _wait_exited(pb2, s, cid)
    assert st.state == pb2.CONTAINER_STATE_EXITED, "%s%s" % (st, q.ctx())
    assert st.exit_code == 42 and st.exit_signal == 0, st
    assert st.container_id == cid and st.name == name, st
    assert st.finished_at_ns >= st.started_at_ns >= st.created_at_ns > 0, st
    assert list(st.command) == ["sh", "-c", 'echo "hello $WHO"; echo oops >&2; exit 42'], st
    # by name too
    st2 = s.GetContainerStatus(pb2.GetContainerStatusRequest(container_id=name), timeout=10)
    assert st2.container_id == cid
    out, err, last_ts = b"", b"", 0
    for m in s.GetContainerLogs(pb2.GetContainerLogsRequest(container_id=cid), timeout=30):
        assert m.timestamp_nanos >= last_ts, m
        last_ts = m.timestamp_nanos
        if m.source == pb2.LOG_SOURCE_STDOUT:
            out += m.content
        elif m.source == pb2.LOG_SOURCE_STDERR:
            err += m.content
        else:
            pytest.fail("log message with source %s" % m.source)
    assert out == b"hello python\n" and err == b"oops\n", (out, err)
    assert last_ts > 0
    lst = s.ListContainers(pb2.ListContainersRequest(), timeout=10)
    mine = [c for c in lst.containers if c.container_id == cid]
    assert mine and mine[0].state == pb2.CONTAINER_STATE_EXITED, lst
    # stop of an exited container is OK; remove
    s.StopContainer(pb2.StopContainerRequest(container_id=cid), timeout=30)
    s.RemoveContainer(pb2.RemoveContainerRequest(container_id=cid), timeout=30)
    assert not os.path.exists(q.container_dir(cid))


def test_python_client_follow_and_stop(stub, q):
    pb2, s = stub
    cid = s.CreateContainer(pb2.CreateContainerRequest(
        image=q.image, command=["sh", "-c", "echo started; sleep 100"],
        name=q.new_name("py")), timeout=30).container_id
    q.created.append(cid)
    stream = s.GetContainerLogs(pb2.GetContainerLogsRequest(container_id=cid, follow=True),
                                timeout=60)
    first = next(stream)
    assert first.content == b"started\n", first
    t0 = time.monotonic()
    r = s.StopContainer(pb2.StopContainerRequest(container_id=cid, timeout_seconds=1), timeout=30)
    assert time.monotonic() - t0 < 8
    assert r.status.state == pb2.CONTAINER_STATE_EXITED and r.status.exit_signal == 9, r
    rest = list(stream)          # the follow stream ends at exit
    assert b"".join(m.content for m in rest) == b"", rest
    s.RemoveContainer(pb2.RemoveContainerRequest(container_id=cid), timeout=30)


def _code(fn):
    with pytest.raises(grpc.RpcError) as ei:
        fn()
    return ei.value.code(), ei.value.details() or ""


def test_python_client_error_codes(stub, q, env):
    pb2, s = stub
    C = grpc.StatusCode
    req = pb2.CreateContainerRequest

    code, msg = _code(lambda: s.GetContainerStatus(
        pb2.GetContainerStatusRequest(container_id="quilt-test-nosuch"), timeout=10))
    assert code == C.NOT_FOUND, (code, msg)
    code, msg = _code(lambda: s.CreateContainer(req(image=q.image, command=[]), timeout=10))
    assert code == C.INVALID_ARGUMENT and "command" in msg.lower(), (code, msg)
    code, msg = _code(lambda: s.CreateContainer(
        req(image="quilt-test-images/busybox.tar", command=["true"]), timeout=10))
    assert code == C.INVALID_ARGUMENT and "image" in msg.lower(), (code, msg)
    code, msg = _code(lambda: s.CreateContainer(
        req(image=os.path.join(env.tmp, "quilt-test-nosuch.tar"), command=["true"]), timeout=10))
    assert code == C.NOT_FOUND and "image" in msg.lower(), (code, msg)
    for key in ("A=B", ""):
        code, msg = _code(lambda: s.CreateContainer(
            req(image=q.image, command=["true"], environment={key: "v"}), timeout=10))
        assert code == C.INVALID_ARGUMENT and "env" in msg.lower(), (key, code, msg)
    # a refused request registers nothing
    assert not [c for c in s.ListContainers(pb2.ListContainersRequest(), timeout=10).containers
                if c.image.endswith("quilt-test-nosuch.tar")]

    name = q.new_name("py")
    q.created.append(name)
    cid = s.CreateContainer(req(image=q.image, command=["sleep", "100"], name=name),
                            timeout=10).container_id
    q.created.append(cid)
    code, msg = _code(lambda: s.CreateContainer(req(image=q.image, command=["true"], name=name),
                                                timeout=10))
    assert code == C.ALREADY_EXISTS, (code, msg)
    q.wait_state(cid, ["RUNNING"])
    code, msg = _code(lambda: s.RemoveContainer(pb2.RemoveContainerRequest(container_id=cid),
                                                timeout=10))
    assert code == C.FAILED_PRECONDITION, (code, msg)
    s.RemoveContainer(pb2.RemoveContainerRequest(container_id=cid, force=True), timeout=30)
    code, msg = _code(lambda: s.RemoveContainer(pb2.RemoveContainerRequest(container_id=cid),
                                                timeout=10))
    assert code == C.NOT_FOUND, (code, msg)


def test_python_client_unknown_method_is_unimplemented(pb, q):
    ch = grpc.insecure_channel("unix:" + q.d.socket)
    try:
        call = ch.unary_unary("/quilt.v1.QuiltService/QuiltTestNoSuchMethod",
                              request_serializer=lambda b: b,
                              response_deserializer=lambda b: b)
        t0 = time.monotonic()
        code, msg = _code(lambda: call(b"", timeout=10))
        assert code == grpc.StatusCode.UNIMPLEMENTED, (code, msg)
        assert time.monotonic() - t0 < 5
    finally:
        ch.close()
