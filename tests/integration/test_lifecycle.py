# SPDX-License-Identifier: MIT
"""Create, run, status, ps, names and id prefixes, rm; the CLI contract."""

import os
import time

import quilt_itest as qi


def test_output_and_exit_code(q):
    r = q.run(["sh", "-c", "echo hi; exit 3"])
    assert r.rc == 3, "%r%s" % (r, q.ctx())
    assert r.out == "hi\n", r


def test_exit_zero_and_rm_removes(q):
    name = q.new_name()
    r = q.run(["echo", "hello"], name=name)
    assert r.rc == 0 and r.out == "hello\n", "%r%s" % (r, q.ctx())
    # --rm: gone afterwards
    st = q.cli("status", name)
    assert st.rc == 1 and "NOT_FOUND" in st.err, st


def test_command_string_is_split_like_a_shell(q):
    r = q.run(command="sh -c 'echo \"a  b\" $0' arg0")
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert r.out == "a  b arg0\n", r


def test_env_workdir(q):
    r = q.run(["sh", "-c", 'echo "$FOO|$BAR|$(pwd)"'], env=["FOO=bar baz", "BAR="],
              workdir="/tmp")
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert r.out == "bar baz||/tmp\n", r


def test_states_pending_running_exited(q):
    cid = q.create(["sh", "-c", "sleep 2; exit 7"])
    seen = []
    running = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        st = q.status(cid)
        if not seen or seen[-1] != st["state"]:
            seen.append(st["state"])
        if st["state"] == "RUNNING" and running is None:
            running = st
        if st["state"] in qi.TERMINAL:
            break
        time.sleep(0.05)
    order = ["PENDING", "RUNNING", "EXITED"]
    assert seen and seen[-1] == "EXITED", "states seen: %s%s" % (seen, q.ctx())
    assert all(s in order for s in seen), seen
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen), seen
    assert running is not None, "never saw RUNNING: %s" % seen
    assert running["pid"] > 0, running
    assert running["containerId"] == cid, running
    final = q.status(cid)
    assert final["exitCode"] == 7 and final["exitSignal"] == 0, final
    assert final["createdAtNs"] > 0, final
    assert final["finishedAtNs"] >= final["startedAtNs"] >= final["createdAtNs"], final
    # wall clock, nanoseconds, roughly now
    assert abs(final["finishedAtNs"] / 1e9 - time.time()) < 600, final
    assert final["finishedAtNs"] - final["startedAtNs"] >= 1.5e9, final
    assert final["image"] == q.image, final
    assert final["command"] == ["sh", "-c", "sleep 2; exit 7"], final
    # the process is gone once EXITED
    assert not qi.pid_alive(running["pid"]) or qi.poll(lambda: not qi.pid_alive(running["pid"]), 5)


def test_status_by_name_and_prefix(q):
    name = q.new_name()
    cid = q.create(["true"], name=name)
    assert len(cid) >= 12 and all(c in "0123456789abcdef" for c in cid), cid
    q.wait_state(cid)
    for ref in (cid, cid[:12], cid[:8], name):
        st = q.status(ref)
        assert st["containerId"] == cid and st["name"] == name, (ref, st)
        assert st["state"] == "EXITED" and st["exitCode"] == 0, st
    # the text output also works
    r = q.ok("status", cid[:12])
    assert cid[:12] in r.out or name in r.out, r
    # logs, stop, rm also take a prefix / name
    q.ok("logs", name)
    q.ok("stop", cid[:10])
    d = q.container_dir(cid)
    assert os.path.isdir(d), "container dir %s missing while it exists%s" % (d, q.ctx())
    q.ok("rm", cid[:12])
    assert not os.path.exists(d), "container dir %s left after rm" % d
    r = q.cli("status", name)
    assert r.rc == 1 and "NOT_FOUND" in r.err, r


def test_container_dir_and_rm(q):
    cid = q.create(["sh", "-c", "echo x > /tmp/f"])
    st = q.wait_state(cid)
    assert st["state"] == "EXITED" and st["exitCode"] == 0, "%s%s" % (st, q.ctx())
    d = q.container_dir(cid)
    assert os.path.isdir(d), "no container dir %s%s" % (d, q.ctx())
    assert os.path.isdir(os.path.join(d, "rootfs")), os.listdir(d)
    r = q.rm(cid, force=False)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert not os.path.exists(d), "container dir left after rm: %s" % d
    assert cid not in [c["containerId"] for c in q.ps()]


def test_ps_json_lists_containers(q):
    a = q.create(["sleep", "30"])
    b = q.create(["true"])
    q.wait_state(a, ["RUNNING"])
    q.wait_state(b)
    cs = {c["containerId"]: c for c in q.ps()}
    assert a in cs and b in cs, cs
    assert cs[a]["state"] == "RUNNING", cs[a]
    assert cs[b]["state"] == "EXITED", cs[b]
    assert cs[a]["image"] == q.image and cs[a]["command"] == ["sleep", "30"], cs[a]
    r = q.ok("ps")
    assert a[:12] in r.out and b[:12] in r.out, r
    assert "RUNNING" in r.out and "EXITED" in r.out, r
    for c in (a, b):
        q.ok("rm", c, "-f")
    cs = {c["containerId"] for c in q.ps()}
    assert a not in cs and b not in cs


def test_run_without_rm_keeps_container(q):
    name = q.new_name()
    r = q.run(["sh", "-c", "echo kept; exit 4"], name=name, rm=False)
    assert r.rc == 4 and r.out == "kept\n", "%r%s" % (r, q.ctx())
    st = q.status(name)
    assert st["state"] == "EXITED" and st["exitCode"] == 4, st
    out, _ = q.logs(name)
    assert out == "kept\n"
    q.ok("rm", name)


def test_socket_from_environment(q, daemon):
    envv = dict(os.environ, QUILT_SOCKET=daemon.socket)
    r = qi.run_cmd([daemon.paths.cli, "ps"], timeout=30, env=envv)
    assert r.rc == 0, r
    r = qi.run_cmd([daemon.paths.cli, "--socket", daemon.socket + ".nope", "ps"], timeout=30)
    assert r.rc != 0 and r.err.strip(), r


def test_socket_mode(daemon):
    mode = os.stat(daemon.socket).st_mode & 0o777
    assert mode == 0o660, "socket mode %o, want 0660" % mode


def test_gzip_image(q, env):
    gz = os.path.join(env.images, "busybox.tar.gz")
    if not os.path.exists(gz):
        qi.build_busybox_tarball(gz, mode="w:gz")
    r = q.run(["echo", "gz"], image=gz)
    assert r.rc == 0 and r.out == "gz\n", "%r%s" % (r, q.ctx())


def test_many_containers_side_by_side(q):
    ids = [q.create(["sh", "-c", "echo n%d; sleep 1" % i]) for i in range(5)]
    for i, cid in enumerate(ids):
        st = q.wait_state(cid)
        assert st["state"] == "EXITED" and st["exitCode"] == 0, "%s%s" % (st, q.ctx())
        assert q.logs(cid)[0] == "n%d\n" % i
    for cid in ids:
        q.ok("rm", cid)
