# SPDX-License-Identifier: MIT
"""quilt-cli's workload flags (issue 5): --setup, --setup-timeout, --init,
--no-init, -v, --mount, --tmpfs, -u, --group-add, --read-only, --ulimit,
-w reach the daemon (status --json, status, ps) and the container; logs
--setup/--no-setup; bad values are usage errors (exit 2) that name the
option and never reach the daemon."""

import json
import os

import pytest

import quilt_itest as qi


def _human(q, cid):
    r = q.ok("status", cid)
    return r.out.splitlines()


def test_flags_reach_the_daemon_and_the_container(q, env):
    host = env.path("cli-bind")
    os.makedirs(host)
    with open(os.path.join(host, "f"), "w") as f:
        f.write("from the host\n")
    # targets that are in the image: what a read-only root does to new
    # mount points is the mounts plugin's business, not the CLI's
    script = ("cat /mnt/f; ulimit -n; ulimit -Hn; id -u; id -g; id -G; pwd; "
              "stat -c %a /run; touch /x 2>/dev/null && echo root-writable; "
              "touch /tmp/ok && echo tmp-writable; touch /mnt/y 2>/dev/null || echo mnt-ro")
    cid = q.create(["sh", "-c", script], extra=[
        "--setup", "true", "--setup", "echo setup-2", "--setup-timeout", "30",
        "--init",
        "-v", "%s:/mnt:ro" % host,
        "--mount", "type=tmpfs,target=/run,size=1m,mode=700",
        "--tmpfs", "/var:size=2m",
        "-u", "1000:1000", "--group-add", "10", "--group-add", "20",
        "--read-only",
        "--ulimit", "nofile=100:200",
        "-w", "/tmp"])
    st = q.wait_state(cid, timeout=60)
    assert st["state"] == "EXITED" and st["exitCode"] == 0, "%s%s" % (st, q.ctx())
    out = q.logs(cid)[0].splitlines()
    assert out == ["setup-2", "from the host", "100", "200", "1000", "1000", "1000 10 20", "/tmp",
                   "700", "tmp-writable", "mnt-ro"], "%s%s" % (out, q.ctx())

    # status --json: the workload as the request had it
    assert st["setupCommands"] == 2 and st["setupCommand"] == 0, st
    assert st["init"] is True and st["readOnlyRootfs"] is True, st
    assert st["user"] == "1000:1000", st
    assert st["mounts"] == [
        {"type": "bind", "source": host, "target": "/mnt", "readOnly": True, "sizeBytes": 0, "mode": 0},
        {"type": "tmpfs", "source": "", "target": "/run", "readOnly": False, "sizeBytes": 1 << 20,
         "mode": 0o700},
        {"type": "tmpfs", "source": "", "target": "/var", "readOnly": False, "sizeBytes": 2 << 20,
         "mode": 0},
    ], st["mounts"]

    # and the human form
    lines = _human(q, cid)
    for want in ["setup_commands: 2", "setup_command: -", "init: yes", "user: 1000:1000",
                 "read_only_rootfs: yes", "mounts: 3", "  bind %s -> /mnt ro" % host,
                 "  tmpfs -> /run (size 1 MiB, mode 0700)",
                 "  tmpfs -> /var (size 2 MiB, mode 1777)"]:
        assert want in lines, (want, lines)

    # logs: all of it by default, or either part
    both = q.ok("logs", cid).out
    assert both.startswith("setup-2\nfrom the host\n"), both
    assert q.ok("logs", cid, "--setup").out == "setup-2\n"
    assert q.ok("logs", cid, "--no-setup").out == both[len("setup-2\n"):]


def test_defaults_show_as_such(q):
    cid = q.create(["true"])
    st = q.wait_state(cid, timeout=60)
    assert st["state"] == "EXITED", st
    assert st["setupCommands"] == 0 and st["init"] is False and st["readOnlyRootfs"] is False, st
    assert st["mounts"] == [] and st["user"] == "", st
    lines = _human(q, cid)
    for want in ["setup_commands: 0", "setup_command: -", "init: no", "user: root",
                 "read_only_rootfs: no", "mounts: -"]:
        assert want in lines, (want, lines)
    assert q.ok("logs", cid, "--setup").out == ""


def test_named_volume_via_v_and_no_init(q):
    vol = q.new_name("cli-vol")
    q.ok("volume", "create", vol)
    try:
        r = q.run(["sh", "-c", "echo hi > /data/x; cat /data/x"],
                  extra=["-v", "%s:/data" % vol, "--no-init"])
        assert r.rc == 0 and r.out == "hi\n", "%r%s" % (r, q.ctx())
        data = os.path.join(q.d.state_dir, "volumes", vol, "_data", "x")
        with open(data) as f:
            assert f.read() == "hi\n"
    finally:
        q.cleanup()
        q.cli("volume", "rm", vol)


def test_ps_and_status_while_setup_runs(q):
    cid = q.create(["true"], extra=["--setup", "true", "--setup", "sleep 60"])
    st = q.wait_state(cid, ["SETUP"], timeout=60)
    assert qi.poll(lambda: q.status(cid)["setupCommand"] == 2, 20), q.status(cid)
    assert "setup_command: 2 of 2" in _human(q, cid)
    table = q.ok("ps").out.splitlines()
    row = [line for line in table if line.startswith(cid[:12])]
    assert len(row) == 1 and " SETUP " in row[0] and row[0].rstrip().endswith("setup 2/2"), table
    doc = json.loads(q.ok("ps", "--json").out)
    mine = [c for c in doc["containers"] if c["containerId"] == cid]
    assert mine[0]["state"] == "CONTAINER_STATE_SETUP" and mine[0]["setupCommand"] == 2, mine
    q.ok("rm", "-f", cid)


# ---- usage errors: exit 2, the option named, the daemon never asked ----

BAD = [
    (["-v", "./data:/data"], "host path './data' is relative"),
    (["-v", "data"], "is not SRC:DST"),
    (["-v", "/a:b"], "target 'b' is not an absolute path"),
    (["-v", "/a:/b:rx"], "unknown mount option 'rx'"),
    (["-v", "a b:/b"], "neither an absolute host path nor a volume name"),
    (["--volume", "/a:/x", "-v", "v:/x"], "two mounts on /x"),
    (["--mount", "type=nfs,target=/x"], "type 'nfs' is not bind, tmpfs or volume"),
    (["--mount", "type=bind,target=/x"], "a bind mount needs source=/HOST/PATH"),
    (["--mount", "type=volume,target=/x"], "anonymous volumes are not supported"),
    (["--mount", "type=tmpfs,target=/x,bogus=1"], "unknown key 'bogus'"),
    (["--tmpfs", "/t:noexec"], "unsupported tmpfs option 'noexec'"),
    (["--tmpfs", "/t:size=lots"], "size 'lots'"),
    (["--tmpfs", "t"], "not an absolute path"),
    (["--ulimit", "files=1"], "unknown limit 'files'"),
    (["--ulimit", "nofile=2:1"], "above the hard limit"),
    (["--ulimit", "nofile"], "NAME=SOFT[:HARD]"),
    (["--ulimit", "nofile=1", "--ulimit", "NOFILE=2"], "--ulimit nofile is given twice"),
    (["--init", "--no-init"], "--init and --no-init contradict each other"),
    (["--setup-timeout", "5"], "--setup-timeout only goes with --setup"),
    (["--setup", "true", "--setup-timeout", "0"], "--setup-timeout: '0'"),
    (["--setup", "true", "--setup-timeout", "soon"], "--setup-timeout: 'soon'"),
    (["--setup", ""], "--setup needs a command"),
    (["-u", ""], "--user: '' is not USER[:GROUP]"),
    (["-u", "a:"], "--user: 'a:' is not USER[:GROUP]"),
    (["--user", ":g"], "is not USER[:GROUP]"),
    (["--group-add", ""], "--group-add: '' is not one group name or gid"),
    (["--group-add", "a,b"], "is not one group name or gid"),
    (["--setup"], "option '--setup' needs a value"),
]


@pytest.mark.parametrize("args,part", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_flags_are_usage_errors(q, env, args, part):
    # an option missing its value must come last ("--" would be its value)
    tail = [] if part.startswith("option '") else ["--", "true"]
    for verb in ("create", "run"):
        # a socket nobody listens on: a usage error must not need the daemon
        r = qi.run_cmd([env.paths.cli, "--socket", env.path("nobody.sock"), verb,
                        "--image", q.image] + args + tail, timeout=30)
        assert r.rc == 2, (verb, r)
        assert part in r.err and "usage: quilt-cli" in r.err, (verb, r)
        assert "cannot reach quiltd" not in r.err, r
        assert qi.sanitizer_reports(r.err) == [], r.err


def test_help_texts(q):
    for cmd, parts in [("create", ["--setup CMD", "-v, --volume SRC:DST[:ro|:rw]", "--mount type=",
                                   "--tmpfs DST", "-u, --user USER[:GROUP]", "--group-add GROUP",
                                   "--read-only", "--ulimit NAME=SOFT[:HARD]", "--init", "--no-init",
                                   "--setup-timeout SECS", "-w, --workdir D"]),
                       ("run", ["--rm", "--setup CMD"]),
                       ("logs", ["--setup", "--no-setup", "-f, --follow"]),
                       ("volume", ["volume create NAME", "volume ls [--json]", "volume rm NAME..."])]:
        r = q.ok(cmd, "--help")
        for p in parts:
            assert p in r.out, (cmd, p, r.out)
    r = q.ok("--help")
    assert "  volume " in r.out, r.out
    r = q.cli("logs", "x", "--setup", "--no-setup")
    assert r.rc == 2 and "contradict" in r.err, r
