# SPDX-License-Identifier: MIT
"""Logs: stdout/stderr apart, following live, big output, fast exits."""

import os
import subprocess
import time

import quilt_itest as qi


def test_stdout_and_stderr_apart(q):
    script = "echo out1; echo err1 >&2; echo out2; echo err2 >&2"
    r = q.run(["sh", "-c", script])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert r.out == "out1\nout2\n", r
    assert r.err == "err1\nerr2\n", r
    cid = q.create(["sh", "-c", script])
    q.wait_state(cid)
    out, err = q.logs(cid)
    assert out == "out1\nout2\n", (out, err)
    assert err == "err1\nerr2\n", (out, err)
    q.ok("rm", cid)


def test_logs_follow_is_live_and_ends_at_exit(q, daemon):
    cid = q.create(["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10; do echo line$i; sleep 0.3; done"])
    argv = [daemon.paths.cli, "--socket", daemon.socket, "logs", cid, "-f"]
    p = qi.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = qi.read_line_with_timeout(p.stdout, 20)
        t_first = time.monotonic()
        assert first == b"line1\n", "first line %r%s" % (first, q.ctx())
        st = q.status(cid)
        assert st["state"] == "RUNNING", \
            "logs -f delivered its first line only after the container ended: %s" % st
        lines = [first]
        while True:
            line = qi.read_line_with_timeout(p.stdout, 20)
            if line is None:
                break
            lines.append(line)
        t_last = time.monotonic()
        assert lines == [b"line%d\n" % i for i in range(1, 11)], lines
        assert t_last - t_first >= 1.5, "lines were not delivered live (%.2fs)" % (t_last - t_first)
        rc = qi.wait_popen(p, 15)
        assert rc == 0, "logs -f exit %s, stderr %r%s" % (rc, p.stderr.read(), q.ctx())
        assert q.status(cid)["state"] == "EXITED"
    finally:
        if p.poll() is None:
            qi.kill_pid(p.pid)
        qi.wait_popen(p, 10)
        p.stdout.close()
        p.stderr.close()
    # following an exited container: everything, then the end
    r = q.cli("logs", cid, "-f", timeout=20)
    assert r.rc == 0 and r.out == "".join("line%d\n" % i for i in range(1, 11)), r
    q.ok("rm", cid)


def test_output_before_fast_exit_is_not_lost(q):
    script = "echo out; printf tail; echo err >&2; exit 5"
    for i in range(10):
        r = q.run(["sh", "-c", script])
        assert r.rc == 5, "run %d: %r%s" % (i, r, q.ctx())
        assert r.out == "out\ntail" and r.err == "err\n", "run %d: %r" % (i, r)
    for i in range(10):
        cid = q.create(["sh", "-c", script])
        st = q.wait_state(cid)
        assert st["state"] == "EXITED" and st["exitCode"] == 5, st
        out, err = q.logs(cid)
        assert out == "out\ntail" and err == "err\n", "create %d: %r %r" % (i, out, err)
        q.ok("rm", cid)


SIZE = 50_000_000


def _check_x_file(path, size):
    got = os.path.getsize(path)
    assert got == size, "%s: %d bytes, want %d" % (path, got, size)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            assert chunk.count(b"x") == len(chunk), "unexpected bytes in the log output"


def test_50mb_output_bounded_daemon_memory(env, start_daemon, quilt_for):
    # A daemon of its own: a clean high-water mark, and (for sanitizer
    # builds) no ASan quarantine, which keeps freed memory on purpose.
    daemon = start_daemon(env.paths.conf_default, "bigout",
                          environ=qi.asan_options("quarantine_size_mb=0"))
    q = quilt_for(daemon, env.image)
    # warm up: the first container and log stream allocate their buffers
    r = q.run(["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"])
    assert r.rc == 0 and len(r.out) == 100000, "%r%s" % (r, q.ctx())
    hwm0 = daemon.vm_hwm_kb()
    name = q.new_name()
    out1 = env.path("run.out")
    with open(out1, "wb") as f:
        r = q.cli("run", "--name", name, "--image", q.image, "--", "sh", "-c",
                  "head -c %d /dev/zero | tr '\\0' x" % SIZE, stdout=f, timeout=240, text=False)
    q.created.append(name)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    _check_x_file(out1, SIZE)
    out2 = env.path("logs.out")
    with open(out2, "wb") as f:
        r = q.cli("logs", name, stdout=f, timeout=240, text=False)
    assert r.rc == 0 and r.err == b"", "%r%s" % (r, q.ctx())
    _check_x_file(out2, SIZE)
    grew = daemon.vm_hwm_kb() - hwm0
    print("quiltd VmHWM %d kB -> growth %d kB" % (hwm0, grew))
    os.unlink(out1)
    os.unlink(out2)
    assert grew < 20 * 1024, "quiltd's VmHWM grew by %d kB for 50 MB of output (asan: %s)%s" % (
        grew, qi.uses_asan(daemon.proc.pid), q.ctx())
    q.ok("rm", name)
