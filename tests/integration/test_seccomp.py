# SPDX-License-Identifier: MIT
"""Seccomp (the seccomp plugin; the core loads its filter before exec):
Docker's default profile in the default chain (mount, unshare -U refused,
fork/exec fine), custom Docker/OCI JSON profiles per request
(--seccomp-profile PATH|NAME: an ERRNO rule, a KILL rule ending the command
with SIGSYS), malformed profiles refused naming the entry, and "unconfined"
only where [seccomp] allow_unconfined permits it."""

import json
import os
import signal

import pytest

import quilt_itest as qi

SIGSYS = signal.SIGSYS

DENY_MKDIR = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}],
}
KILL_MKDIR = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"}],
}
BAD_ACTION = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
        {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"},
        {"names": ["gettid"], "action": "SCMP_ACT_LOG"},
        {"names": ["mkdir"], "action": "SCMP_ACT_QUILT_TEST_BOGUS"},
    ],
}

# The default chain with seccomp where quiltd.ini puts it, on a daemon of
# our own (so [seccomp] can differ), with a profiles_dir.
CHAIN = "ns, rootfs, mounts, caps, seccomp, setup"


def _profile(env, name, doc):
    p = env.path(name + ".json")
    with open(p, "w") as f:
        f.write(doc if isinstance(doc, str) else json.dumps(doc))
    return p


def _seccomp(path):
    return ["--seccomp-profile", path]


def _status_fields(text):
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        if k in ("Seccomp", "Seccomp_filters", "NoNewPrivs"):
            out[k] = int(v.strip())
    return out


def _create_fails(q, argv, extra):
    """A create the daemon must refuse: at once (the RPC fails) or in the
    monitor (the container FAILED).  Returns the message."""
    name = q.new_name()
    q.created.append(name)
    r = q.cli("create", *q.spec_args(q.image, argv, name=name, extra=extra))
    if r.rc != 0:
        return r.err
    cid = r.out.strip()
    q.created.append(cid)
    st = q.wait_state(cid)
    assert st["state"] == "FAILED", "%s%s" % (st, q.ctx())
    return st["errorMessage"]


@pytest.fixture
def sq(env, start_daemon, quilt_for):
    """A session on a daemon whose chain has seccomp, [seccomp] as given."""
    def make(section="", name="seccomp"):
        pdir = env.path("profiles")
        os.makedirs(pdir)
        cfg = env.write_config(name, "[plugins]\nchain = %s\n[seccomp]\nprofiles_dir = %s\n%s"
                               % (CHAIN, pdir, section))
        s = quilt_for(start_daemon(cfg, name), env.image)
        s.profiles_dir = pdir
        return s
    return make


# -- the default chain (conf/quiltd.ini) ---------------------------------


def test_default_chain_is_confined(q):
    r = q.run(["cat", "/proc/self/status"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    st = _status_fields(r.out)
    assert st.get("Seccomp") == 2, "no seccomp filter in the default chain: %s" % st
    assert st.get("NoNewPrivs") == 1, st


def test_default_profile_denies_mount(q):
    r = q.run(["mount", "-t", "tmpfs", "x", "/mnt"])
    assert r.rc != 0, r
    # busybox words EPERM its own way
    assert ("Operation not permitted" in r.out + r.err or
            "permission denied" in r.out + r.err), r


def test_default_profile_denies_user_namespace(q):
    # needs no capability: only the filter stops it
    r = q.run(["unshare", "-U", "true"])
    assert r.rc != 0, r
    assert "Operation not permitted" in r.out + r.err, r


def test_default_profile_forks_and_execs(q):
    r = q.run(["sh", "-c", "echo $(echo ok) && (true | cat) && mkdir /tmp/d && rmdir /tmp/d"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert r.out == "ok\n", r


# -- profiles per request ------------------------------------------------


def test_chain_default_and_filters(sq):
    q = sq()
    r = q.run(["sh", "-c", "grep -E '^Seccomp:' /proc/self/status; unshare -U true"])
    assert r.rc != 0, r
    assert "Seccomp:\t2" in r.out, r
    assert "Operation not permitted" in r.out + r.err, r
    r = q.run(["sh", "-c", "echo $(echo ok)"])
    assert r.rc == 0 and r.out == "ok\n", "%r%s" % (r, q.ctx())


def test_custom_profile_denies_mkdir(env, sq):
    q = sq()
    path = _profile(env, "deny-mkdir", DENY_MKDIR)
    r = q.run(["mkdir", "/x"], extra=_seccomp(path))
    assert r.rc != 0, r
    assert "Operation not permitted" in r.out + r.err, r
    # what the profile allows still runs
    r = q.run(["sh", "-c", "echo $(echo ok)"], extra=_seccomp(path))
    assert r.rc == 0 and r.out == "ok\n", "%r%s" % (r, q.ctx())


def test_profile_by_name_from_profiles_dir(sq):
    q = sq()
    with open(os.path.join(q.profiles_dir, "nomkdir.json"), "w") as f:
        json.dump(DENY_MKDIR, f)
    r = q.run(["mkdir", "/x"], extra=_seccomp("nomkdir"))
    assert r.rc != 0 and "Operation not permitted" in r.out + r.err, r
    msg = _create_fails(q, ["true"], _seccomp("quilt-test-absent"))
    assert "quilt-test-absent" in msg, msg


def test_kill_action_ends_with_sigsys(env, sq):
    q = sq()
    path = _profile(env, "kill-mkdir", KILL_MKDIR)
    cid = q.create(["mkdir", "/x"], extra=_seccomp(path))
    st = q.wait_state(cid)
    assert st["state"] == "EXITED", "%s%s" % (st, q.ctx())
    assert st["exitSignal"] == SIGSYS or st["exitCode"] == 128 + SIGSYS, st
    q.ok("rm", cid)


def test_malformed_profile_is_refused_naming_the_entry(env, sq):
    q = sq()
    path = _profile(env, "bad-action", BAD_ACTION)
    msg = _create_fails(q, ["true"], _seccomp(path))
    assert "syscalls[3].action: unknown action 'SCMP_ACT_QUILT_TEST_BOGUS'" in msg, msg
    # refused by the RPC itself, before any container exists
    assert "INVALID_ARGUMENT" in msg and path in msg, msg
    assert q.cli("ps", "-a").out.count(q.created[-1]) == 0, q.ctx()
    path = _profile(env, "not-json", '{"defaultAction": "SCMP_ACT_ALLOW",')
    msg = _create_fails(q, ["true"], _seccomp(path))
    assert "invalid JSON" in msg and path in msg, msg


def test_unconfined_refused_by_default(sq):
    q = sq()
    msg = _create_fails(q, ["true"], _seccomp("unconfined"))
    assert "unconfined is not allowed by the config" in msg, msg
    assert "PERMISSION_DENIED" in msg, msg


def test_unconfined_when_allowed(sq):
    q = sq("allow_unconfined = true\n", name="seccomp-unconfined")
    r = q.run(["grep", "-E", "^Seccomp:", "/proc/self/status"], extra=_seccomp("unconfined"))
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert r.out.split() == ["Seccomp:", "0"], r
    # without the flag the chain's profile still applies
    r = q.run(["grep", "-E", "^Seccomp:", "/proc/self/status"])
    assert r.rc == 0 and r.out.split() == ["Seccomp:", "2"], r


def test_exec_is_confined_too(env, sq):
    q = sq()
    path = _profile(env, "deny-mkdir-exec", DENY_MKDIR)
    cid = q.create(["sleep", "30"], extra=_seccomp(path))
    st = q.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL))
    assert st["state"] == "RUNNING", "%s%s" % (st, q.ctx())
    r = q.cli("exec", cid, "--", "mkdir", "/y", timeout=30)
    assert r.rc != 0 and "Operation not permitted" in r.out + r.err, r
    r = q.cli("exec", cid, "--", "sh", "-c", "echo $(echo ok)", timeout=30)
    assert r.rc == 0 and r.out == "ok\n", r
    r = q.rm(cid)
    assert r.rc == 0, r


@pytest.mark.parametrize("text,line", [
    ("[plugins]\nchain = seccomp\n[seccomp]\nallow_unconfined = maybe\n", 4),
    ("[plugins]\nchain = seccomp\n[seccomp]\nprofile = default\nquilt_test_key = 1\n", 5),
    ("[plugins]\nchain = seccomp\n[seccomp]\n\nprofiles_dir = relative\n", 5),
    ("[plugins]\nchain = seccomp\n[seccomp]\nprofile = /nonexistent/quilt-test.json\n", 4),
])
def test_bad_seccomp_section_names_file_and_line(env, text, line):
    cfg = env.write_config("badseccomp", text)
    r = qi.run_cmd([env.paths.quiltd, "--check-config", "--config", cfg,
                    "--plugin-dir", env.paths.plugin_dir], timeout=30)
    assert r.rc == 1, r
    assert "%s:%d: [seccomp]" % (cfg, line) in r.out + r.err, r


def test_setup_commands_are_confined_too(env, sq):
    q = sq()
    path = _profile(env, "deny-mkdir-setup", DENY_MKDIR)
    msg = _create_fails(q, ["true"], _seccomp(path) + ["--setup", "mkdir /quilt-test-setup-dir"])
    assert "setup command 1" in msg and "exited with 1" in msg, msg
