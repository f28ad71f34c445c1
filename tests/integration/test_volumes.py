# SPDX-License-Identifier: MIT
"""Named volumes (issue 5): CreateVolume, ListVolumes, RemoveVolume through
quilt-cli volume create/ls/rm and an independent gRPC client; the data in
STATE_DIR/volumes/NAME/_data, kept across containers, mounted with
-v NAME:/path or --mount type=volume; removal refused while a container
record mounts the volume."""

import json
import os
import stat
import time

import pytest

import quilt_itest as qi

NAME_RULE = "[A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 characters"


@pytest.fixture
def vols(q):
    """new() -> a fresh volume name; whatever is left of them is removed
    after the test, once the test's containers are gone (q's own teardown
    would come after ours, too late for a volume still in use)."""
    names = []

    def new(tag="v", prefix=""):
        n = prefix + q.new_name("vol-" + tag)
        names.append(n)
        return n
    yield new
    q.cleanup()
    for n in names:
        q.cli("volume", "rm", n)


def _volumes(q):
    r = q.ok("volume", "ls", "--json")
    doc = json.loads(r.out)
    assert list(doc) == ["volumes"], doc
    return doc["volumes"]


def _by_name(q):
    return {v["name"]: v for v in _volumes(q)}


def _data_dir(d, name):
    return os.path.join(d.state_dir, "volumes", name, "_data")


def _strays(d):
    """Creates and removes in progress (or cut short) in STATE_DIR/volumes."""
    vdir = os.path.join(d.state_dir, "volumes")
    return [n for n in os.listdir(vdir) if n.startswith(".")] if os.path.isdir(vdir) else []


def test_create_list_remove(q, vols):
    name = vols()
    t0 = time.time_ns()
    r = q.ok("volume", "create", name)
    assert r.out == name + "\n", r
    t1 = time.time_ns()

    # the data dir is where the brief says, 0755 whatever quiltd's umask
    data = _data_dir(q.d, name)
    assert os.path.isdir(data) and not os.path.islink(data)
    assert stat.S_IMODE(os.stat(data).st_mode) == 0o755, oct(os.stat(data).st_mode)
    assert os.listdir(data) == []
    assert os.path.realpath(data).startswith(os.path.realpath(q.d.state_dir) + "/")

    v = _by_name(q)[name]
    assert v == {"name": name, "path": data, "createdAtNs": v["createdAtNs"], "containers": 0}, v
    # the mtime of NAME: ns precision, between the two clock readings
    # (slack for file systems with coarse timestamps)
    assert t0 - 10**9 <= v["createdAtNs"] <= t1 + 10**9, (t0, v, t1)

    table = q.ok("volume", "ls").out.splitlines()
    assert table[0].split() == ["NAME", "CONTAINERS", "CREATED", "PATH"], table
    row = [line.split() for line in table[1:] if line.split()[0] == name]
    assert len(row) == 1 and row[0][1] == "0" and row[0][3] == data, table
    assert q.ok("volume", "list").out == q.ok("volume", "ls").out

    r = q.ok("volume", "rm", name)
    assert r.out == name + "\n", r
    assert not os.path.exists(os.path.dirname(data))
    assert name not in _by_name(q)
    assert _strays(q.d) == []


def test_list_is_sorted_by_name(q, vols):
    created = [vols("b", prefix="zz-"), vols("a"), vols("c", prefix="AA-")]
    for n in created:
        q.ok("volume", "create", n)
    listed = [v["name"] for v in _volumes(q)]
    assert listed == sorted(listed), listed
    assert [n for n in listed if n in created] == sorted(created), listed
    table = [line.split()[0] for line in q.ok("volume", "ls").out.splitlines()[1:]]
    assert table == listed, table


def test_duplicate_is_already_exists(q, vols):
    name = vols()
    q.ok("volume", "create", name)
    data = _data_dir(q.d, name)
    with open(os.path.join(data, "keep"), "w") as f:
        f.write("x")
    r = q.cli("volume", "create", name)
    assert r.rc == 1 and "ALREADY_EXISTS" in r.err and "volume '%s' already exists" % name in r.err, r
    # nothing of it was touched, nothing left behind
    assert os.listdir(data) == ["keep"]
    assert _strays(q.d) == []


@pytest.mark.parametrize("bad", ["-x", ".x", "_x", "a/b", "a b", "a:b", "../x", "x" * 65,
                                 "caf\u00e9", "a\nb"])
def test_bad_names_are_invalid_argument(q, bad):
    # "--": "-x" is an option otherwise (a usage error, rc 2)
    r = q.cli("volume", "create", "--", bad)
    assert r.rc == 1 and "INVALID_ARGUMENT" in r.err and NAME_RULE in r.err, r
    r = q.cli("volume", "rm", "--", bad)
    assert r.rc == 1 and "INVALID_ARGUMENT" in r.err and NAME_RULE in r.err, r
    assert _strays(q.d) == []


def test_empty_name_and_longest_name(q, vols):
    r = q.cli("volume", "create", "")
    assert r.rc == 1 and "INVALID_ARGUMENT" in r.err and "must name a volume" in r.err, r
    longest = vols("l")
    longest = longest + "x" * (64 - len(longest))
    q.ok("volume", "create", longest)
    assert os.path.isdir(_data_dir(q.d, longest))
    q.ok("volume", "rm", longest)


def test_remove_missing_is_not_found(q, vols):
    name = vols()
    r = q.cli("volume", "rm", name)
    assert r.rc == 1 and "NOT_FOUND" in r.err and "volume '%s' does not exist" % name in r.err, r
    # several at once: the missing one reported, the others removed
    a, b = vols("a"), vols("b")
    q.ok("volume", "create", a)
    q.ok("volume", "create", b)
    r = q.cli("volume", "rm", a, name, b)
    assert r.rc == 1 and r.out.split() == [a, b] and "NOT_FOUND" in r.err, r
    assert a not in _by_name(q) and b not in _by_name(q)


def test_cli_usage_errors(q):
    for args, part in [(["volume"], "missing a volume command"),
                       (["volume", "frob"], "unknown volume command 'frob'"),
                       (["volume", "create"], "missing the volume's NAME"),
                       (["volume", "create", "a", "b"], "unexpected argument 'b'"),
                       (["volume", "rm"], "missing the volume's NAME"),
                       (["volume", "ls", "x"], "unexpected argument 'x'"),
                       (["volume", "ls", "--bogus"], "unknown option '--bogus'")]:
        r = q.cli(*args)
        assert r.rc == 2 and part in r.err and "usage: quilt-cli" in r.err, (args, r)
    r = q.ok("volume", "--help")
    assert "volume create NAME" in r.out and NAME_RULE.split(",")[0] in r.out, r


def test_grpc_client_sees_the_same(q, vols, pb):
    grpc = pytest.importorskip("grpc", reason="python3-grpcio is not installed")
    pb2, pb2_grpc = pb
    name = vols("grpc")
    with grpc.insecure_channel("unix:" + q.d.socket) as ch:
        s = pb2_grpc.QuiltServiceStub(ch)
        v = s.CreateVolume(pb2.CreateVolumeRequest(name=name), timeout=10).volume
        assert v.name == name and v.path == _data_dir(q.d, name) and v.containers == 0, v
        assert v.created_at_ns > 0, v
        listed = [x for x in s.ListVolumes(pb2.ListVolumesRequest(), timeout=10).volumes
                  if x.name == name]
        assert listed == [v], listed
        with pytest.raises(grpc.RpcError) as e:
            s.CreateVolume(pb2.CreateVolumeRequest(name=name), timeout=10)
        assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS, e.value
        with pytest.raises(grpc.RpcError) as e:
            s.CreateVolume(pb2.CreateVolumeRequest(name="no/slash"), timeout=10)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value
        assert s.RemoveVolume(pb2.RemoveVolumeRequest(name=name), timeout=10).name == name
        with pytest.raises(grpc.RpcError) as e:
            s.RemoveVolume(pb2.RemoveVolumeRequest(name=name), timeout=10)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND, e.value


# ---- with containers: needs the lead's create wiring and the mounts plugin ----

def test_data_outlives_containers_and_removal_waits_for_them(q, vols):
    name = vols("use")
    q.ok("volume", "create", name)
    writer = q.create(["sh", "-c", "echo kept > /data/f; id -u > /data/uid"],
                      extra=["-v", "%s:/data" % name])
    st = q.wait_state(writer, timeout=60)
    assert st["state"] == "EXITED" and st["exitCode"] == 0, "%s%s" % (st, q.ctx())
    with open(os.path.join(_data_dir(q.d, name), "f")) as f:
        assert f.read() == "kept\n"
    assert _by_name(q)[name]["containers"] == 1

    # a second one, read-only, through --mount
    reader = q.create(["sh", "-c", "cat /v/f; echo x > /v/g"],
                      extra=["--mount", "type=volume,source=%s,target=/v,readonly" % name])
    st = q.wait_state(reader, timeout=60)
    assert st["state"] == "EXITED" and st["exitCode"] != 0, "%s%s" % (st, q.ctx())
    assert q.logs(reader)[0] == "kept\n"
    assert not os.path.exists(os.path.join(_data_dir(q.d, name), "g"))
    assert _by_name(q)[name]["containers"] == 2

    # refused while any record (exited ones too) mounts it, naming them
    r = q.cli("volume", "rm", name)
    assert r.rc == 1 and "FAILED_PRECONDITION" in r.err, r
    assert "volume '%s' is in use by" % name in r.err, r
    assert writer[:12] in r.err and reader[:12] in r.err, r
    assert os.path.isfile(os.path.join(_data_dir(q.d, name), "f"))
    q.ok("rm", writer)
    r = q.cli("volume", "rm", name)
    assert r.rc == 1 and "container %s" % reader[:12] in r.err and writer[:12] not in r.err, r
    assert _by_name(q)[name]["containers"] == 1
    q.ok("rm", reader)
    assert _by_name(q)[name]["containers"] == 0
    q.ok("volume", "rm", name)
    assert not os.path.exists(os.path.join(q.d.state_dir, "volumes", name))
    assert _strays(q.d) == []


def test_in_use_message_names_a_running_container(q, vols):
    name = vols("run")
    q.ok("volume", "create", name)
    cname = q.new_name("volrun")
    cid = q.create(["sleep", "100"], name=cname, extra=["-v", "%s:/data" % name])
    q.wait_state(cid, ["RUNNING"], timeout=60)
    r = q.cli("volume", "rm", name)
    assert r.rc == 1 and "FAILED_PRECONDITION" in r.err, r
    assert "volume '%s' is in use by container %s (%s)" % (name, cid[:12], cname) in r.err, r
    q.ok("rm", "-f", cid)
    q.ok("volume", "rm", name)


def test_create_with_a_missing_volume_is_not_found(q, vols):
    name = vols("missing")
    r = q.cli("create", "--image", q.image, "-v", "%s:/data" % name, "--", "true")
    assert r.rc == 1 and "NOT_FOUND" in r.err, r
    assert "volume '%s' does not exist (create it with quilt-cli volume create %s)" % (name, name) in r.err, r
    assert name not in _by_name(q)


def _parallel(fns):
    """Run the callables at once; their results in order."""
    import threading
    results = [None] * len(fns)
    start = threading.Barrier(len(fns))

    def run(i):
        start.wait()
        results[i] = fns[i]()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_concurrent_creates_of_one_name(q, vols):
    name = vols("race")
    rs = _parallel([lambda: q.cli("volume", "create", name) for _ in range(8)])
    ok = [r for r in rs if r.rc == 0]
    assert len(ok) == 1, rs
    assert all("ALREADY_EXISTS" in r.err for r in rs if r.rc != 0), rs
    assert _strays(q.d) == []
    q.ok("volume", "rm", name)


def test_remove_races_create_but_never_both_win(q, vols):
    """A create that mounts the volume and a remove of it, at once: either
    the container got it (the remove is refused) or the remove won (the
    create is NOT_FOUND), never both."""
    for i in range(6):
        name = vols("rr%d" % i)
        q.ok("volume", "create", name)
        cname = q.new_name("rr")
        q.created.append(cname)
        create, remove = _parallel([
            lambda: q.cli("create", "--image", q.image, "--name", cname, "-v", "%s:/data" % name,
                          "--", "true"),
            lambda: q.cli("volume", "rm", name)])
        if create.rc == 0:
            assert remove.rc == 1 and "FAILED_PRECONDITION" in remove.err, (create, remove)
            assert os.path.isdir(_data_dir(q.d, name))
            q.wait_state(cname, timeout=60)
            q.ok("rm", cname)
            q.ok("volume", "rm", name)
        else:
            assert "NOT_FOUND" in create.err, (create, remove)
            assert remove.rc == 0, (create, remove)
        assert not os.path.exists(os.path.join(q.d.state_dir, "volumes", name))
    assert _strays(q.d) == []
