# SPDX-License-Identifier: MIT
"""Setup commands (CreateContainerRequest.setup_commands, quilt-cli --setup):
run by the setup plugin inside the container before the command, their
output logged apart, the SETUP state while they run, their failures,
timeouts and stops; a chain without the plugin refuses them."""

import time

import pytest

import quilt_itest as qi

grpc = pytest.importorskip("grpc", reason="python3-grpcio is not installed")




def _setup(*cmds):
    a = []
    for c in cmds:
        a += ["--setup", c]
    return a


def _grpc_status(pb2, s, cid):
    return s.GetContainerStatus(pb2.GetContainerStatusRequest(container_id=cid), timeout=10)


def _grpc_logs(pb2, s, cid):
    """[(setup_command, source, content)] with neighbours of the same kind joined."""
    out = []
    for m in s.GetContainerLogs(pb2.GetContainerLogsRequest(container_id=cid), timeout=30):
        if out and out[-1][:2] == (m.setup_command, m.source):
            out[-1] = (m.setup_command, m.source, out[-1][2] + m.content)
        else:
            out.append((m.setup_command, m.source, m.content))
    return out


def test_setup_prepares_what_the_command_uses(q):
    r = q.run(["cat", "/tmp/x"], extra=_setup("echo hi > /tmp/x"))
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert r.out == "hi\n", r


def test_setup_sees_env_and_workdir_in_order(q):
    cid = q.create(["cat", "/tmp/log"], env=["FOO=bar baz"], workdir="/work",
                   extra=_setup('echo "1 $FOO" >> /tmp/log',
                                'echo "2 $(pwd)" >> /tmp/log',
                                'echo "3 $(hostname) $(id -u)" >> /tmp/log'))
    st = q.wait_state(cid)
    assert st["state"] == "EXITED" and st["exitCode"] == 0, "%s%s" % (st, q.ctx())
    out, err = q.logs(cid)
    assert out == "1 bar baz\n2 /work\n3 %s 0\n" % st["hostname"], (out, err)
    q.ok("rm", cid)


def test_failing_setup_command_fails_the_container(q):
    cid = q.create(["echo", "quilt-test-main-ran"],
                   extra=_setup("echo quilt-test-first", "false", "echo quilt-test-third"))
    st = q.wait_state(cid)
    assert st["state"] == "FAILED", "%s%s" % (st, q.ctx())
    assert "setup command 2 (`false`) exited with 1" in st["errorMessage"], st
    out, err = q.logs(cid)
    assert "quilt-test-first" in out, (out, err)
    assert "quilt-test-main-ran" not in out + err, (out, err)
    assert "quilt-test-third" not in out + err, (out, err)
    q.ok("rm", cid)


def test_failed_setup_leaves_nothing_running_without_pid_namespace(q):
    # The chroot profile has no pid namespace that would end what a setup
    # command left in the background: the plugin ends it itself.
    t0 = time.monotonic()
    cid = q.create(["echo", "quilt-test-main-ran"], profile="chroot",
                   extra=_setup("sleep 30 & echo first", "sleep 30 & exit 3"))
    st = q.wait_state(cid, timeout=20)
    assert st["state"] == "FAILED", "%s%s" % (st, q.ctx())
    assert "setup command 2 (`sleep 30 & exit 3`) exited with 3" in st["errorMessage"], st
    assert time.monotonic() - t0 < 10, "the monitor waited for the background sleeps"
    out, _ = q.logs(cid)
    assert out == "first\n", out
    # the q fixture checks that no process (the sleeps) is left
    q.ok("rm", cid)


def test_setup_output_is_logged_and_marked(stub, q):
    pb2, s = stub
    cid = q.create(["sh", "-c", "echo main-out; echo main-err >&2"],
                   extra=_setup("echo s1-out", "echo s2-err >&2; echo s2-out"))
    st = q.wait_state(cid)
    assert st["state"] == "EXITED" and st["exitCode"] == 0, "%s%s" % (st, q.ctx())
    logs = _grpc_logs(pb2, s, cid)
    OUT, ERR = pb2.LOG_SOURCE_STDOUT, pb2.LOG_SOURCE_STDERR
    by_tag = {}
    for tag, src, data in logs:
        by_tag.setdefault((tag, src), b"")
        by_tag[(tag, src)] += data
    assert by_tag == {
        (1, OUT): b"s1-out\n",
        (2, ERR): b"s2-err\n",
        (2, OUT): b"s2-out\n",
        (0, OUT): b"main-out\n",
        (0, ERR): b"main-err\n",
    }, logs
    # setup output comes first, in command order
    tags = [t for t, _, _ in logs]
    assert tags == sorted(tags, key=lambda t: t if t else 1 << 30), logs
    gst = _grpc_status(pb2, s, cid)
    assert gst.setup_commands == 2 and gst.setup_command == 0, gst
    # the CLI's filters
    r = q.ok("logs", cid, "--setup")
    assert r.out == "s1-out\ns2-out\n" and r.err == "s2-err\n", r
    r = q.ok("logs", cid, "--no-setup")
    assert r.out == "main-out\n" and r.err == "main-err\n", r
    q.ok("rm", cid)


def test_state_is_setup_while_a_setup_command_runs(stub, q):
    pb2, s = stub
    cid = q.create(["echo", "done"], extra=_setup("true", "sleep 2"))
    seen = {}

    def in_setup_2():
        st = _grpc_status(pb2, s, cid)
        seen["last"] = st
        return st.state == pb2.CONTAINER_STATE_SETUP and st.setup_command == 2
    assert qi.poll(in_setup_2, 10), "never in SETUP 2: %s%s" % (seen.get("last"), q.ctx())
    st = seen["last"]
    assert st.setup_commands == 2 and st.pid > 0, st
    assert q.status(cid)["state"] == "SETUP"
    st = q.wait_state(cid, timeout=20)
    assert st["state"] == "EXITED" and st["exitCode"] == 0, "%s%s" % (st, q.ctx())
    assert q.logs(cid)[0] == "done\n"
    q.ok("rm", cid)


def test_setup_timeout(q):
    t0 = time.monotonic()
    cid = q.create(["echo", "quilt-test-main-ran"],
                   extra=["--setup-timeout", "1"] + _setup("true", "sleep 30 & sleep 30"))
    st = q.wait_state(cid, timeout=20)
    took = time.monotonic() - t0
    assert st["state"] == "FAILED", "%s%s" % (st, q.ctx())
    assert "setup command 2 (`sleep 30 & sleep 30`) timed out after 1 s" in st["errorMessage"], st
    assert took < 10, "the timeout took %.1fs" % took
    assert "quilt-test-main-ran" not in q.logs(cid)[0]
    # the q fixture checks that no process (the sleeps) is left
    q.ok("rm", cid)


def test_stop_during_setup(stub, q):
    pb2, s = stub
    cid = q.create(["echo", "quilt-test-main-ran"], extra=_setup("sleep 100"))
    assert qi.poll(lambda: _grpc_status(pb2, s, cid).state == pb2.CONTAINER_STATE_SETUP, 10), \
        "never in SETUP: %s%s" % (_grpc_status(pb2, s, cid), q.ctx())
    t0 = time.monotonic()
    r = q.cli("stop", cid, "-t", "10", timeout=40)
    took = time.monotonic() - t0
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert took < 5, "stop during setup took %.1fs%s" % (took, q.ctx())
    st = q.wait_state(cid, timeout=10)
    assert st["state"] == "FAILED", "%s%s" % (st, q.ctx())
    assert "quilt-test-main-ran" not in q.logs(cid)[0]
    q.ok("rm", cid)


def test_chain_without_setup_refuses_setup_commands(env, start_daemon, quilt_for, pb):
    cfg = env.write_config("no-setup", "[plugins]\nchain = ns, rootfs\n")
    d = start_daemon(cfg, "no-setup")
    q = quilt_for(d, env.image)
    name = q.new_name("nosetup")
    q.created.append(name)
    r = q.cli("create", *q.spec_args(q.image, ["true"], name=name,
                                     extra=_setup("echo hi")))
    assert r.rc != 0, "created with setup commands on a chain without setup: %r" % r
    assert "FAILED_PRECONDITION" in r.err or "setup" in r.err.lower(), r
    with qi.grpc_stub(pb, d.socket) as (pb2, s):
        with pytest.raises(grpc.RpcError) as ei:
            s.CreateContainer(pb2.CreateContainerRequest(
                image=q.image, command=["true"], setup_commands=["echo hi"],
                name=name), timeout=10)
        assert ei.value.code() == grpc.StatusCode.FAILED_PRECONDITION, ei.value
        # nothing was registered
        lst = s.ListContainers(pb2.ListContainersRequest(), timeout=10)
        assert not [c for c in lst.containers if c.name == name], lst
    # without setup commands the same daemon runs containers fine
    r = q.run(["echo", "ok"])
    assert r.rc == 0 and r.out == "ok\n", "%r%s" % (r, d.log_context())
