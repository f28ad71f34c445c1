# SPDX-License-Identifier: MIT
"""Capabilities and no_new_privs (the caps plugin): Docker's default 14
(CapEff 00000000a80425fb), --cap-add / --cap-drop, the setup commands
confined too, a non-root user left with none, and the [caps] section."""

import pytest

import quilt_itest as qi

DEFAULT = 0x00000000a80425fb
NET_ADMIN = 1 << 12
NET_RAW = 1 << 13

STATUS_KEYS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs")


def _parse(text):
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        if k in STATUS_KEYS:
            out[k] = int(v.strip(), 16) if k.startswith("Cap") else int(v.strip())
    assert set(out) == set(STATUS_KEYS), "missing fields in %r" % text
    return out


def _status_of(q, extra=(), profile=None):
    """The command's own /proc/self/status capability lines."""
    r = q.run(["cat", "/proc/self/status"], extra=list(extra), profile=profile)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    return _parse(r.out)


def _caps(*flags):
    a = []
    for f, name in flags:
        a += [f, name]
    return a


def test_default_set(q):
    st = _status_of(q)
    assert st["CapEff"] == DEFAULT, "CapEff %016x" % st["CapEff"]
    assert st["CapPrm"] == DEFAULT and st["CapBnd"] == DEFAULT, st
    assert st["CapInh"] == 0 and st["CapAmb"] == 0, st
    assert st["NoNewPrivs"] == 1, st


def test_default_set_text(q):
    # exactly as Docker's `grep Cap /proc/self/status` prints it
    r = q.run(["grep", "-E", "^(CapEff|NoNewPrivs)", "/proc/self/status"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert r.out.split() == ["CapEff:", "00000000a80425fb", "NoNewPrivs:", "1"], r


def test_cap_drop_all(q):
    st = _status_of(q, _caps(("--cap-drop", "ALL")))
    assert st["CapEff"] == 0 and st["CapPrm"] == 0 and st["CapBnd"] == 0, st
    assert st["CapInh"] == 0 and st["CapAmb"] == 0 and st["NoNewPrivs"] == 1, st


def test_cap_drop_all_then_add(q):
    st = _status_of(q, _caps(("--cap-drop", "ALL"), ("--cap-add", "CHOWN"),
                             ("--cap-add", "cap_kill")))
    assert st["CapEff"] == (1 << 0) | (1 << 5), "CapEff %016x" % st["CapEff"]
    assert st["CapBnd"] == st["CapEff"], st


def test_cap_add_net_admin(q):
    st = _status_of(q, _caps(("--cap-add", "NET_ADMIN")))
    assert st["CapEff"] == DEFAULT | NET_ADMIN, "CapEff %016x" % st["CapEff"]
    assert st["CapEff"] & NET_ADMIN
    assert st["CapBnd"] == DEFAULT | NET_ADMIN, st


def test_cap_add_any_spelling(q):
    st = _status_of(q, _caps(("--cap-add", "cap_net_admin"), ("--cap-drop", "Cap_Chown")))
    assert st["CapEff"] == (DEFAULT | NET_ADMIN) & ~1, "CapEff %016x" % st["CapEff"]


def test_net_admin_works_only_when_added(q):
    # bringing lo down needs CAP_NET_ADMIN in the container's own netns
    r = q.run(["ip", "link", "set", "lo", "down"])
    assert r.rc != 0, r
    r = q.run(["ip", "link", "set", "lo", "down"], extra=_caps(("--cap-add", "NET_ADMIN")))
    assert r.rc == 0, "%r%s" % (r, q.ctx())


def test_unknown_capability_is_invalid_argument(q):
    for flag in ("--cap-add", "--cap-drop"):
        name = q.new_name()
        q.created.append(name)
        r = q.cli("create", "--image", q.image, "--name", name, flag, "QUILT_TEST_NOSUCH",
                  "--", "true")
        assert r.rc != 0, r
        assert "INVALID_ARGUMENT" in r.err, r
        assert "unknown capability 'QUILT_TEST_NOSUCH'" in r.err, r


def test_setup_command_is_confined(q):
    r = q.run(["cat", "/tmp/setup-status"],
              extra=["--setup", "grep -E '^(Cap|NoNewPrivs)' /proc/self/status > /tmp/setup-status",
                     "--cap-drop", "NET_RAW"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    st = _parse(r.out)
    assert st["CapEff"] == DEFAULT & ~NET_RAW, "setup CapEff %016x" % st["CapEff"]
    assert st["CapBnd"] == DEFAULT & ~NET_RAW, st
    assert st["NoNewPrivs"] == 1, st


def test_non_root_user_has_none(q):
    st = _status_of(q, ["--user", "1000"])
    assert st["CapEff"] == 0 and st["CapPrm"] == 0 and st["CapAmb"] == 0, st
    assert st["CapBnd"] == DEFAULT, st
    assert st["NoNewPrivs"] == 1, st


def test_net_raw_by_default(q):
    # busybox ping opens a raw ICMP socket: CAP_NET_RAW (the new netns
    # allows no unprivileged ICMP sockets to fall back to)
    r = q.run(["ping", "-c", "1", "-W", "2", "127.0.0.1"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    r = q.run(["ping", "-c", "1", "-W", "2", "127.0.0.1"], extra=_caps(("--cap-drop", "NET_RAW")))
    assert r.rc != 0, r


CAPS_INI = """
[plugins]
chain = ns, rootfs, mounts, caps, setup
[caps]
default = CHOWN, SETUID, SETGID
allow_add = NET_ADMIN
no_new_privs = false
"""


def test_caps_section(env, start_daemon, quilt_for):
    cfg = env.write_config("caps", CAPS_INI)
    d = start_daemon(cfg, "caps")
    q = quilt_for(d, env.image)
    st = _status_of(q)
    assert st["CapEff"] == (1 << 0) | (1 << 6) | (1 << 7), "CapEff %016x" % st["CapEff"]
    assert st["NoNewPrivs"] == 0, st
    st = _status_of(q, _caps(("--cap-add", "NET_ADMIN")))
    assert st["CapEff"] == (1 << 0) | (1 << 6) | (1 << 7) | NET_ADMIN, st
    # what allow_add does not list is refused, naming it
    name = q.new_name()
    q.created.append(name)
    r = q.cli("create", "--image", q.image, "--name", name, "--cap-add", "SYS_ADMIN",
              "--", "true")
    if r.rc == 0:
        q.created.append(r.out.strip())
        st = q.wait_state(r.out.strip())
        msg = st["errorMessage"]
        assert st["state"] == "FAILED", st
    else:
        msg = r.err
    assert "cap_add: capability 'SYS_ADMIN' is not allowed ([caps] allow_add)" in msg, (r, msg)


@pytest.mark.parametrize("text,line", [
    ("[plugins]\nchain = caps\n[caps]\ndefault = CHOWN, QUILT_TEST_BOGUS\n", 4),
    ("[plugins]\nchain = caps\n[caps]\nno_new_privs = true\nallow_add = NET_ADMINN\n", 5),
    ("[plugins]\nchain = caps\n[caps]\nno_new_privs = maybe\n", 4),
    ("[plugins]\nchain = caps\n[caps]\n\nquilt_test_key = 1\n", 5),
])
def test_bad_caps_section_names_file_and_line(env, text, line):
    cfg = env.write_config("badcaps", text)
    r = qi.run_cmd([env.paths.quiltd, "--check-config", "--config", cfg,
                    "--plugin-dir", env.paths.plugin_dir], timeout=30)
    assert r.rc == 1, r
    assert "%s:%d: [caps]" % (cfg, line) in r.out + r.err, r
