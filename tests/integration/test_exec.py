# SPDX-License-Identifier: MIT
"""ExecContainer and `quilt-cli exec` (issue 6): a command run in a running
container lands in its namespaces, root and cgroup; output is streamed
whole and apart; exit codes, signals and timeouts come back; stdin goes in;
many run at once; and no container process can get at a Quilt binary
through /proc/PID/exe (the CVE-2019-5736 class).

Both the CLI (`quilt-cli exec`) and an independent Python gRPC client
(stubs from proto/quilt.proto) are used.  Every container runs a long
`sleep` as its main command and is removed by the `q` fixture."""

import hashlib
import importlib
import os
import threading
import time
import uuid

import pytest

import quilt_itest as qi

MIB = 1 << 20
NS_KINDS = ("pid", "mnt", "net", "uts", "ipc", "user")


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def running(q, argv=("sleep", "3600"), **kw):
    """A container whose main command is still running: (id, status)."""
    cid = q.create(list(argv), **kw)
    st = q.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL))
    assert st["state"] == "RUNNING", "%s%s" % (st, q.ctx())
    assert st["pid"] > 0, st
    return cid, st


def cli_exec(q, cid, argv, opts=(), timeout=60, text=True, stdin_data=None, env=None):
    """quilt-cli exec OPTS CID -- ARGV, like Daemon.cli (sanitizer reports on
    stderr are collected) but with stdin."""
    full = [q.d.paths.cli, "--socket", q.d.socket, "exec"] + [str(o) for o in opts] + \
        [cid, "--"] + [str(a) for a in argv]
    r = qi.run_cmd(full, timeout=timeout, text=text, stdin_data=stdin_data, env=env)
    err = r.err.decode("utf-8", "replace") if isinstance(r.err, bytes) else r.err
    q.d.cli_reports += ["quilt-cli exec: %s" % rep for rep in qi.sanitizer_reports(err)]
    return r


def exec_ok(q, cid, argv, **kw):
    r = cli_exec(q, cid, argv, **kw)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    return r


def ns_link(pid, kind):
    return os.readlink("/proc/%s/ns/%s" % (pid, kind))


def procs_in_pidns_of(main_pid, argv=None):
    """Host pids of the live processes in main_pid's pid namespace, only
    those whose argv is `argv` when given."""
    want = ns_link(main_pid, "pid")
    found = []
    for pid in qi.all_pids():
        try:
            if ns_link(pid, "pid") != want:
                continue
        except OSError:
            continue
        if argv is not None:
            cmd = (qi._read("/proc/%d/cmdline" % pid) or b"").split(b"\0")[:-1]
            if cmd != [a.encode() for a in argv]:
                continue
        if qi.pid_alive(pid):
            found.append(pid)
    return found


def wait_proc_in_container(main_pid, argv, timeout=10):
    pids = qi.poll(lambda: procs_in_pidns_of(main_pid, argv), timeout)
    assert pids, "no process %r appeared in the container of pid %d" % (argv, main_pid)
    assert len(pids) == 1, pids
    return pids[0]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def quilt_binaries(paths):
    """{path: sha256} of the Quilt executables of the build (quiltd,
    quilt-monitor, quilt-exec, quilt-init, quilt-cli, ...)."""
    out = {}
    core = os.path.join(paths.build, "core")
    for name in sorted(os.listdir(core)):
        p = os.path.join(core, name)
        if name.startswith("quilt") and os.path.isfile(p) and os.access(p, os.X_OK):
            out[p] = qi.file_digest(p)
    out[paths.cli] = qi.file_digest(paths.cli)
    return out


class Stub:
    """The Python gRPC client on the daemon's socket, one held channel."""

    def __init__(self, pb, socket):
        self.grpc = importlib.import_module("grpc")     # pb skipped already when missing
        self.pb2, pb2_grpc = pb
        self.ch = self.grpc.insecure_channel(
            "unix:" + socket, options=[("grpc.max_receive_message_length", 64 * MIB),
                                       ("grpc.max_send_message_length", 64 * MIB)])
        self.grpc.channel_ready_future(self.ch).result(timeout=10)
        self.s = pb2_grpc.QuiltServiceStub(self.ch)

    def close(self):
        self.ch.close()

    def exec(self, cid, argv, timeout=60, **fields):
        """Run to the end: {out, err, last (the exited message), ids, first_at
        (seconds from the call to the first output chunk), msgs}."""
        req = self.pb2.ExecContainerRequest(container_id=cid, command=list(argv), **fields)
        res = {"out": b"", "err": b"", "last": None, "ids": set(), "first_at": None, "msgs": 0}
        t0 = time.monotonic()
        for m in self.s.ExecContainer(req, timeout=timeout):
            res["msgs"] += 1
            res["ids"].add(m.exec_id)
            assert res["last"] is None, "a message after the exited one: %s" % m
            if m.content and res["first_at"] is None:
                res["first_at"] = time.monotonic() - t0
            if m.source == self.pb2.LOG_SOURCE_STDERR:
                res["err"] += m.content
            else:
                res["out"] += m.content
            if m.exited:
                res["last"] = m
        assert res["last"] is not None, "the stream ended without exited: %r" % res
        return res

    def code(self, fn):
        """The gRPC status code name of the error fn raises."""
        with pytest.raises(self.grpc.RpcError) as ei:
            fn()
        return ei.value.code().name, ei.value.details() or ""


@pytest.fixture
def stub(pb, q):
    s = Stub(pb, q.d.socket)
    try:
        yield s
    finally:
        s.close()


# --------------------------------------------------------------------------
# Where the command runs
# --------------------------------------------------------------------------


def test_exec_joins_the_containers_namespaces(q):
    cid, st = running(q, hostname="quilt-test-exec-h")
    main = {k: ns_link(st["pid"], k) for k in NS_KINDS}
    host = {k: ns_link("self", k) for k in NS_KINDS}
    script = "; ".join("echo %s $(readlink /proc/self/ns/%s)" % (k, k) for k in NS_KINDS) + \
        "; hostname; echo mypid $$"
    r = exec_ok(q, cid, ["sh", "-c", script])
    lines = r.out.splitlines()
    seen = dict(line.split(" ", 1) for line in lines if line.split(" ", 1)[0] in NS_KINDS)
    for k in NS_KINDS:
        assert seen.get(k) == main[k], "%s: exec %r, main %r, host %r\n%r" % (
            k, seen.get(k), main[k], host[k], r)
    for k in ("pid", "mnt", "net", "uts", "ipc"):
        assert main[k] != host[k], "the container shares the host's %s namespace" % k
    assert "quilt-test-exec-h" in lines, r
    # a pid of the container's pid namespace: small, and not the init's
    pid = int([line for line in lines if line.startswith("mypid ")][0].split()[1])
    assert 1 < pid < 1000, r


def test_exec_sees_the_containers_root_not_the_hosts(q, env):
    secret = "quilt-test-secret-" + uuid.uuid4().hex
    host_marker = env.path("exec-marker")
    with open(host_marker, "w") as f:
        f.write(secret + "\n")
    try:
        inside = "quilt-test-inside-" + uuid.uuid4().hex
        cid, _ = running(q, ["sh", "-c", "echo %s > /quilt-test-root-marker; exec sleep 3600" % inside])
        qi.poll(lambda: cli_exec(q, cid, ["test", "-e", "/quilt-test-root-marker"]).rc == 0, 10)
        r = exec_ok(q, cid, ["cat", "/quilt-test-root-marker"])
        assert r.out == inside + "\n", r
        r = cli_exec(q, cid, ["sh", "-c", "cat %s; echo rc=$?; ls -d /tmp/quilt-test-* ; "
                                          "echo rc2=$?" % host_marker])
        assert r.rc == 0, r
        assert secret not in r.out and secret not in r.err, r
        assert "rc=0" not in r.out and "rc2=0" not in r.out, r
        # the container's root is the main process's
        r = exec_ok(q, cid, ["sh", "-c", "ls /proc/1/root/ | tr '\\n' ' '; echo; ls / | tr '\\n' ' '; echo"])
        a, b = r.out.splitlines()
        assert a == b and "quilt-test-root-marker" in b, r
    finally:
        os.unlink(host_marker)


def test_exec_is_in_the_containers_cgroup(env):
    tcg = importlib.import_module("test_cgroup")
    setup, why = None, []
    for backend in tcg.RUN_BACKENDS:
        s = tcg.CgroupSetup(env, backend)
        w = s.probe()
        if not w:
            setup = s
            break
        why.append("%s: %s" % (backend, w))
    if setup is None:
        pytest.skip("no cgroup backend runs here: %s" % "; ".join(why))
    setup.write_config()
    problems = []
    try:
        d = setup.get()
        q = qi.Quilt(d, env.image)
        try:
            cid, st = running(q, ["sh", "-c", "cat /proc/self/cgroup; exec sleep 3600"],
                              name=q.new_name("cg"))
            main_cg = qi._read("/proc/%d/cgroup" % st["pid"]).decode()
            want = setup.parent + "/" + cid
            assert want in main_cg, "main %s not in %s:\n%s" % (st["pid"], want, main_cg)
            # what the exec'd process sees of itself ...
            r = exec_ok(q, cid, ["cat", "/proc/self/cgroup"])
            out, _ = q.logs(cid)
            assert sorted(r.out.splitlines()) == sorted(out.splitlines()), \
                "exec:\n%s\nmain:\n%s" % (r.out, out)
            # ... and what the host sees of a running exec
            p = qi.spawn([d.paths.cli, "--socket", d.socket, "exec", cid, "--", "sleep", "37"],
                         stdin=qi.subprocess.DEVNULL, stdout=qi.subprocess.DEVNULL,
                         stderr=qi.subprocess.PIPE)
            try:
                pid = wait_proc_in_container(st["pid"], ["sleep", "37"])
                exec_cg = qi._read("/proc/%d/cgroup" % pid).decode()
                assert sorted(exec_cg.splitlines()) == sorted(main_cg.splitlines()), \
                    "exec pid %d:\n%s\nmain:\n%s" % (pid, exec_cg, main_cg)
                tasks = tcg.cgroup_procs(setup.procs_dir(cid))
                assert pid in tasks and st["pid"] in tasks, (pid, tasks)
            finally:
                qi.kill_pid(p.pid)
                qi.wait_popen(p, 10)
        finally:
            problems += q.cleanup()
    finally:
        problems += setup.teardown()
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------
# Exit status, output, input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("argv,rc", [
    (["true"], 0),
    (["sh", "-c", "exit 7"], 7),
    (["sh", "-c", "kill -9 $$"], 137),
    (["sh", "-c", "kill -TERM $$"], 143),
], ids=["true", "exit7", "sigkill", "sigterm"])
def test_exit_status_cli(q, argv, rc):
    cid, _ = running(q)
    r = cli_exec(q, cid, argv)
    assert r.rc == rc, "%r%s" % (r, q.ctx())
    # the container goes on
    assert q.status(cid)["state"] == "RUNNING"


def test_exit_status_grpc(q, stub):
    cid, _ = running(q)
    for argv, code, sig in ((["true"], 0, 0), (["sh", "-c", "exit 7"], 7, 0),
                            (["sh", "-c", "kill -9 $$"], 137, 9)):
        res = stub.exec(cid, argv)
        last = res["last"]
        assert last.exited and not last.timed_out, res
        assert (last.exit_code, last.exit_signal) == (code, sig), "%r: %s" % (argv, last)
        ids = res["ids"]
        assert len(ids) == 1 and "" not in ids, "exec_id must be set, the same, on every message: %s" % ids


def test_stdout_and_stderr_apart(q, stub):
    cid, _ = running(q)
    script = "echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 3"
    r = cli_exec(q, cid, ["sh", "-c", script])
    assert r.rc == 3, r
    assert r.out == "out1\nout2\n" and r.err == "err1\nerr2\n", r
    res = stub.exec(cid, ["sh", "-c", script])
    assert res["out"] == b"out1\nout2\n" and res["err"] == b"err1\nerr2\n", res
    assert res["last"].exit_code == 3


def test_output_is_streamed_as_produced(q, stub):
    cid, _ = running(q)
    t0 = time.monotonic()
    res = stub.exec(cid, ["sh", "-c", "echo first; sleep 3; echo second"])
    assert res["out"] == b"first\nsecond\n", res
    assert time.monotonic() - t0 >= 3
    assert res["first_at"] is not None and res["first_at"] < 2.5, \
        "the first line came only after %.2fs" % res["first_at"]


def test_one_megabyte_arrives_whole(q, stub):
    cid, _ = running(q)
    r = exec_ok(q, cid, ["sh", "-c", "head -c 1048576 /dev/urandom > /tmp/big && sha256sum /tmp/big"])
    want = r.out.split()[0]
    r = exec_ok(q, cid, ["cat", "/tmp/big"], text=False)
    assert len(r.out) == MIB and sha256(r.out) == want, (len(r.out), r.err)
    r = exec_ok(q, cid, ["sh", "-c", "cat /tmp/big >&2"], text=False)
    assert r.out == b"" and len(r.err) == MIB and sha256(r.err) == want, len(r.err)
    res = stub.exec(cid, ["sh", "-c", "cat /tmp/big; cat /tmp/big >&2"])
    assert len(res["out"]) == MIB and sha256(res["out"]) == want, len(res["out"])
    assert len(res["err"]) == MIB and sha256(res["err"]) == want, len(res["err"])
    assert res["last"].exit_code == 0


def test_stdin_round_trip(q, stub):
    cid, _ = running(q)
    data = os.urandom(MIB) + b"\0end\n"
    r = exec_ok(q, cid, ["cat"], opts=["-i"], stdin_data=data, text=False)
    assert r.out == data, (len(r.out), r.err)
    r = exec_ok(q, cid, ["wc", "-c"], opts=["-i"], stdin_data=b"hello\n")
    assert r.out.strip() == "6", r
    # without -i the command's stdin is empty, whatever ours has
    r = exec_ok(q, cid, ["cat"], stdin_data=b"not for the container\n")
    assert r.out == "", r
    # over gRPC
    res = stub.exec(cid, ["cat"], stdin=data)
    assert res["out"] == data and res["last"].exit_code == 0, len(res["out"])
    res = stub.exec(cid, ["cat"])
    assert res["out"] == b"" and res["last"].exit_code == 0, res


def test_cli_refuses_stdin_larger_than_a_request(q):
    cid, _ = running(q)
    r = cli_exec(q, cid, ["cat"], opts=["-i"], stdin_data=b"x" * (17 * MIB), text=True)
    assert r.rc == 1 and "stdin is larger than" in r.err and r.out == "", r


# --------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------


def test_environment_option(q, stub):
    cid, _ = running(q, env=["QUILT_TEST_A=from-create", "QUILT_TEST_B=kept"])
    script = 'echo "$QUILT_TEST_A|$QUILT_TEST_B|$QUILT_TEST_C|$QUILT_TEST_D"'
    r = exec_ok(q, cid, ["sh", "-c", script])
    assert r.out == "from-create|kept||\n", r
    env = dict(os.environ, QUILT_TEST_D="copied")
    r = exec_ok(q, cid, ["sh", "-c", script],
                opts=["-e", "QUILT_TEST_A=from-exec", "-e", "QUILT_TEST_C=c=1", "-e", "QUILT_TEST_D"],
                env=env)
    assert r.out == "from-exec|kept|c=1|copied\n", r
    res = stub.exec(cid, ["sh", "-c", script], environment={"QUILT_TEST_C": "grpc"})
    assert res["out"] == b"from-create|kept|grpc|\n", res
    r = cli_exec(q, cid, ["true"], opts=["-e", "=x"])
    assert r.rc == 2, r


def test_working_directory_option(q, stub):
    cid, _ = running(q, workdir="/tmp")
    assert exec_ok(q, cid, ["pwd"]).out == "/tmp\n"
    assert exec_ok(q, cid, ["pwd"], opts=["-w", "/etc"]).out == "/etc\n"
    assert stub.exec(cid, ["pwd"], working_directory="/usr/bin")["out"] == b"/usr/bin\n"
    r = cli_exec(q, cid, ["pwd"], opts=["-w", "/quilt-test-no-such-dir"])
    assert r.rc != 0 and r.out == "", r
    assert q.status(cid)["state"] == "RUNNING"


def test_user_option(q, stub):
    cid, _ = running(q)
    assert exec_ok(q, cid, ["sh", "-c", "id -u; id -g"]).out == "0\n0\n"
    assert exec_ok(q, cid, ["sh", "-c", "id -u; id -g"], opts=["-u", "1234:5678"]).out == "1234\n5678\n"
    assert exec_ok(q, cid, ["id", "-u"], opts=["--user", "root"]).out == "0\n"
    res = stub.exec(cid, ["id", "-u"], user="4321")
    assert res["out"] == b"4321\n", res
    r = cli_exec(q, cid, ["id"], opts=["-u", "quilt-test-no-such-user"])
    assert r.rc != 0 and r.out == "", r
    r = cli_exec(q, cid, ["id"], opts=["-u", "1:"])
    assert r.rc == 2, r


def test_timeout_kills_the_exec(q, stub):
    cid, st = running(q)
    t0 = time.monotonic()
    r = cli_exec(q, cid, ["sleep", "77"], opts=["--timeout", "1"], timeout=30)
    assert r.rc == 124, "%r%s" % (r, q.ctx())
    assert "quilt-cli: exec timed out after 1 s" in r.err, r
    assert time.monotonic() - t0 < 15, r
    res = stub.exec(cid, ["sh", "-c", "echo before; exec sleep 78"], timeout_seconds=1, timeout=30)
    last = res["last"]
    assert last.exited and last.timed_out, last
    assert res["out"] == b"before\n", res
    # the processes are gone: from the host and from inside
    for argv in (["sleep", "77"], ["sleep", "78"]):
        assert qi.poll(lambda: not procs_in_pidns_of(st["pid"], argv), 5), \
            "%r still runs after its timeout" % argv
    r = exec_ok(q, cid, ["ps"])
    assert "sleep 77" not in r.out and "sleep 78" not in r.out, r
    assert q.status(cid)["state"] == "RUNNING"


def test_a_client_that_goes_away_ends_its_exec(q):
    cid, st = running(q)
    p = qi.spawn([q.d.paths.cli, "--socket", q.d.socket, "exec", cid, "--", "sleep", "79"],
                 stdin=qi.subprocess.DEVNULL, stdout=qi.subprocess.DEVNULL,
                 stderr=qi.subprocess.DEVNULL)
    try:
        wait_proc_in_container(st["pid"], ["sleep", "79"])
    finally:
        qi.kill_pid(p.pid)
        qi.wait_popen(p, 10)
    assert qi.poll(lambda: not procs_in_pidns_of(st["pid"], ["sleep", "79"]), 10), \
        "the exec outlived its client"
    assert q.status(cid)["state"] == "RUNNING"


# --------------------------------------------------------------------------
# Many at once; errors
# --------------------------------------------------------------------------

# Each exec waits until all N have started: they can only all finish when
# they run at the same time.
BARRIER = ("touch /tmp/quilt-test-$0-$1; n=0; "
           "while [ $(ls /tmp | grep -c \"^quilt-test-$0-\") -lt %d ]; do "
           "sleep 0.05; n=$((n+1)); [ $n -lt 400 ] || exit 99; done; echo ok $1")


def test_twenty_concurrent_execs_over_grpc(q, stub):
    cid, _ = running(q)
    n = 20
    results, errors = {}, []

    def one(i):
        try:
            results[i] = stub.exec(cid, ["sh", "-c", BARRIER % n, "g", str(i)], timeout=60)
        except Exception as e:  # reported below
            errors.append("exec %d: %r" % (i, e))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert not errors, errors
    assert sorted(results) == list(range(n))
    for i, res in results.items():
        assert res["last"].exit_code == 0 and res["out"] == b"ok %d\n" % i, (i, res)
    ids = set().union(*(res["ids"] for res in results.values()))
    assert len(ids) == n, "exec ids are not distinct: %s" % ids


def test_twenty_concurrent_cli_execs(q):
    cid, _ = running(q)
    n = 20
    argv = [q.d.paths.cli, "--socket", q.d.socket, "exec", cid, "--", "sh", "-c", BARRIER % n, "c"]
    procs = [qi.spawn(argv + [str(i)], stdin=qi.subprocess.DEVNULL, stdout=qi.subprocess.PIPE,
                      stderr=qi.subprocess.PIPE) for i in range(n)]
    outs = []
    for i, p in enumerate(procs):
        try:
            out, err = p.communicate(timeout=90)
        except qi.subprocess.TimeoutExpired:
            qi.kill_pid(p.pid)
            out, err = p.communicate()
        qi.finished(p)
        q.d.cli_reports += ["quilt-cli exec: %s" % rep
                            for rep in qi.sanitizer_reports(err.decode("utf-8", "replace"))]
        outs.append((i, p.returncode, out, err))
    bad = [o for o in outs if o[1] != 0 or o[2] != b"ok %d\n" % o[0]]
    assert not bad, "%s%s" % (bad, q.ctx())


def test_exec_into_an_exited_container_fails_precondition(q, stub):
    cid = q.create(["true"])
    assert q.wait_state(cid)["state"] == "EXITED"
    r = cli_exec(q, cid, ["true"])
    assert r.rc == 1 and "FAILED_PRECONDITION" in r.err, r
    code, _ = stub.code(lambda: stub.exec(cid, ["true"]))
    assert code == "FAILED_PRECONDITION"


def test_exec_into_an_unknown_container_is_not_found(q, stub):
    r = cli_exec(q, "quilt-test-no-such-container", ["true"])
    assert r.rc == 1 and "NOT_FOUND" in r.err, r
    code, _ = stub.code(lambda: stub.exec("quilt-test-no-such-container", ["true"]))
    assert code == "NOT_FOUND"


def test_bad_requests(q, stub):
    cid, _ = running(q)
    code, _ = stub.code(lambda: stub.exec(cid, []))
    assert code == "INVALID_ARGUMENT"
    r = cli_exec(q, cid, ["quilt-test-no-such-program"])
    assert r.rc != 0 and r.out == "", r
    assert q.status(cid)["state"] == "RUNNING"
    # usage errors never reach the daemon
    for args in (["exec"], ["exec", cid], ["exec", "-t", "x", cid, "true"], ["exec", "--bogus", cid, "true"]):
        r = q.cli(*args)
        assert r.rc == 2 and "usage:" in r.err, r


# --------------------------------------------------------------------------
# CVE-2019-5736 class: no Quilt binary is reachable for writing
# --------------------------------------------------------------------------

ATTEMPT = r"""
for p in /proc/[0-9]*; do
  pid=${p#/proc/}
  exe=$(readlink $p/exe 2>/dev/null)
  if (echo quilt-test-x >> $p/exe) 2>/dev/null; then echo "WROTE $pid $exe"; else echo "refused $pid $exe"; fi
done
if (echo quilt-test-x >> /proc/self/exe) 2>/dev/null; then echo "WROTE self"; else echo "refused self"; fi
echo "selfexe $(readlink /proc/$$/exe)"
ppid=$(sed -n 's/^PPid:[[:space:]]*//p' /proc/$$/status)
echo "ppid $ppid"
if [ "$ppid" != 0 ]; then
  if (echo quilt-test-x >> /proc/$ppid/exe) 2>/dev/null; then echo "WROTE parent $ppid"; else echo "refused parent"; fi
fi
"""


def test_no_quilt_binary_can_be_overwritten_through_proc_exe(q, stub):
    before = quilt_binaries(q.d.paths)
    assert any(p.endswith("/quilt-monitor") for p in before), before
    # quilt-init as PID 1 (a Quilt binary inside the container), sleep under it
    cid, st = running(q, ["sh", "-c", "exec sleep 3600"], extra=["--init"])
    # an exec that stays while the others try
    bg = qi.spawn([q.d.paths.cli, "--socket", q.d.socket, "exec", cid, "--", "sleep", "81"],
                  stdin=qi.subprocess.DEVNULL, stdout=qi.subprocess.DEVNULL,
                  stderr=qi.subprocess.DEVNULL)
    try:
        exec_pid = wait_proc_in_container(st["pid"], ["sleep", "81"])
        # its parent on the host (the helper that joined the container) runs
        # no file of the build: a sealed memfd copy at most
        # (or is outside the container's pid namespace, where no container
        # process can name it)
        helper = qi.proc_stat(exec_pid)[1]
        helper_exe = os.readlink("/proc/%d/exe" % helper)
        inside = helper in procs_in_pidns_of(st["pid"])
        assert not inside or os.path.realpath(helper_exe) not in before, \
            "the exec's parent %d, in the container, runs %s" % (helper, helper_exe)
        print("exec's parent on the host: pid %d exe %s (in the container's pid ns: %s)"
              % (helper, helper_exe, inside))
        if helper_exe.startswith("/memfd:"):
            with pytest.raises(OSError):
                with open("/proc/%d/exe" % helper, "ab") as f:
                    f.write(b"quilt-test-x")

        # from inside: every visible process, the exec'd shell itself and
        # its parent (as the container sees it)
        r = exec_ok(q, cid, ["sh", "-c", ATTEMPT])
        assert "WROTE" not in r.out, "%r" % r
        lines = r.out.splitlines()
        assert "refused self" in lines, r
        assert any(line.startswith("refused 1 ") for line in lines), r
        assert "selfexe /bin/busybox" in lines, r
        # /proc/1 is quilt-init, not a file of the host
        one = [line for line in lines if line.startswith("refused 1 ")][0]
        assert qi.Paths().build not in one, one

        # the #!/proc/self/exe trick: a script whose interpreter is the exe of
        # whoever execs it; while it runs, another exec keeps trying
        exec_ok(q, cid, ["sh", "-c", "printf '#!/proc/self/exe\\n' > /tmp/quilt-test-evil && "
                                     "chmod +x /tmp/quilt-test-evil"])
        attempts = []

        def attack():
            attempts.append(cli_exec(q, cid, ["sh", "-c", "i=0; while [ $i -lt 15 ]; do %s; i=$((i+1)); done"
                                              % ATTEMPT.strip()], timeout=120))
        t = threading.Thread(target=attack)
        t.start()
        for _ in range(5):
            res = stub.exec(cid, ["/tmp/quilt-test-evil"], timeout_seconds=3, timeout=30)
            assert res["last"].exited, res
        t.join(150)
        assert attempts and attempts[0].rc == 0, attempts
        assert "WROTE" not in attempts[0].out, attempts[0]
    finally:
        qi.kill_pid(bg.pid)
        qi.wait_popen(bg, 10)
    after = quilt_binaries(q.d.paths)
    assert after == before, "a Quilt binary changed: %s" % [
        p for p in before if before[p] != after.get(p)]
    assert q.status(cid)["state"] == "RUNNING"
