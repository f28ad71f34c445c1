# SPDX-License-Identifier: MIT
"""Error cases through the CLI: status codes, exec failures."""

import os

import quilt_itest as qi


def _err(r, code):
    assert r.rc == 1, "want exit 1: %r" % r
    assert r.err.startswith("quilt-cli: %s:" % code), "want 'quilt-cli: %s: ...': %r" % (code, r)
    assert len(r.err.split(":", 2)[2].strip()) > 3, "no message: %r" % r


def test_not_found_unknown_id(q):
    for args in (["status", "0123456789abcdef0123"], ["logs", "quilt-test-nosuch"],
                 ["stop", "quilt-test-nosuch"], ["rm", "quilt-test-nosuch"],
                 ["rm", "quilt-test-nosuch", "-f"]):
        _err(q.cli(*args), "NOT_FOUND")


def test_not_found_missing_image(q, env):
    missing = os.path.join(env.tmp, "quilt-test-no-such-image.tar")
    r = q.cli("create", "--image", missing, "--", "true")
    _err(r, "NOT_FOUND")
    assert "image" in r.err.lower() or missing in r.err, r


def test_invalid_argument_empty_env_key(q):
    r = q.cli("create", "--image", q.image, "-e", "=value", "--", "true")
    assert r.rc != 0, r
    if r.err.startswith("quilt-cli: INVALID_ARGUMENT"):
        assert "env" in r.err.lower(), r


def test_invalid_argument_empty_command(q):
    r = q.cli("create", "--image", q.image, "--command", "")
    assert r.rc != 0, "an empty command was accepted: %r" % r
    assert r.err.strip(), r


def test_already_exists_duplicate_name(q):
    name = q.new_name()
    cid = q.create(["true"], name=name)
    r = q.cli("create", "--name", name, "--image", q.image, "--", "true")
    _err(r, "ALREADY_EXISTS")
    assert name in r.err or "name" in r.err.lower(), r
    # the first one is untouched
    assert q.status(name)["containerId"] == cid
    q.ok("rm", name, "-f")


def test_exec_missing_binary_fails_cleanly(q):
    cid = q.create(["/no/such", "arg"])
    st = q.wait_state(cid)
    assert st["state"] == "FAILED", "%s%s" % (st, q.ctx())
    assert "exec /no/such: No such file or directory" in st["errorMessage"], st
    assert st["pid"] == 0 or not qi.pid_alive(st["pid"]), st
    # the daemon is fine
    r = q.run(["echo", "still fine"])
    assert r.rc == 0 and r.out == "still fine\n", "%r%s" % (r, q.ctx())
    # a FAILED container is not running: rm needs no force
    r = q.rm(cid, force=False)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert not os.path.exists(q.container_dir(cid))


def test_exec_not_executable_fails(q):
    cid = q.create(["/etc/passwd"])
    st = q.wait_state(cid)
    assert st["state"] == "FAILED", "%s%s" % (st, q.ctx())
    assert "exec /etc/passwd: Permission denied" in st["errorMessage"], st
    q.ok("rm", cid)


def test_run_of_failed_container_exits_125(q):
    r = q.run(["/no/such"])
    assert r.rc == 125, "%r%s" % (r, q.ctx())
    assert "container failed: exec /no/such: No such file or directory" in r.err, r


def test_missing_workdir_is_created(q):
    cid = q.create(["pwd"], workdir="/quilt-test-nowhere/deeper")
    st = q.wait_state(cid)
    assert st["state"] == "EXITED" and st["exitCode"] == 0, st
    assert q.logs(cid)[0] == "/quilt-test-nowhere/deeper\n", st
    q.ok("rm", cid, "-f")


def test_workdir_that_is_a_file_fails_naming_it(q):
    cid = q.create(["pwd"], workdir="/etc/passwd")
    st = q.wait_state(cid)
    assert st["state"] == "FAILED" and "/etc/passwd" in st["errorMessage"], st
    q.ok("rm", cid, "-f")
