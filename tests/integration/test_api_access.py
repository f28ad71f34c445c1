# SPDX-License-Identifier: MIT
"""Who may call the API: quiltd checks SO_PEERCRED of every connection
before grpc reads a byte of it.  Root is served; a caller that is neither
root nor in [daemon] socket_group is refused and the refusal logged, even
when the socket's mode would let it connect."""

import os
import re

import quilt_itest as qi

NOBODY = ["setpriv", "--reuid", "65534", "--regid", "65534"]


def _config(env, name, group=None):
    text = open(env.paths.conf_default).read()
    extra = "socket_mode = 0666\n" + ("socket_group = %s\n" % group if group else "")
    text = re.sub(r"^\[daemon\]\n", "[daemon]\n" + extra, text, count=1, flags=re.M)
    return env.write_config(name, text)


def _cli_as(d, prefix, *args):
    return qi.run_cmd(prefix + [d.paths.cli, "--socket", d.socket] + list(args), timeout=30)


def test_root_is_served_others_are_refused_and_logged(env, start_daemon):
    d = start_daemon(_config(env, "api-open-mode"), "api")
    os.chmod(os.path.dirname(d.socket), 0o755)
    assert d.cli("ps").rc == 0
    r = _cli_as(d, NOBODY + ["--clear-groups"], "ps")
    assert r.rc != 0, r
    assert qi.poll(lambda: b"refusing client" in (open(d.log_path, "rb").read()), 10), d.log_context()
    log = open(d.log_path, "rb").read().decode("utf-8", "replace")
    assert re.search(r"refusing client pid \d+ uid 65534", log), log
    # the daemon is unharmed
    assert d.cli("ps").rc == 0


def test_a_member_of_socket_group_is_served(env, start_daemon):
    d = start_daemon(_config(env, "api-group", group="nogroup"), "api-group")
    os.chmod(os.path.dirname(d.socket), 0o755)
    st = os.stat(d.socket)
    assert st.st_gid == 65534, st
    r = _cli_as(d, NOBODY + ["--groups", "65534"], "ps")
    assert r.rc == 0, "%r%s" % (r, d.log_context())
    r = _cli_as(d, ["setpriv", "--reuid", "65534", "--regid", "1", "--clear-groups"], "ps")
    assert r.rc != 0, r
