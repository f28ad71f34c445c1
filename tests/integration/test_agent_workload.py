# SPDX-License-Identifier: MIT
"""Issue 5's acceptance scenario, end to end through quilt-cli: an agent
tool container that installs its tool with a setup command, shares a host
directory with the agent, runs work from it for a long time, stops fast
under the minimal init and leaves nothing but the agent's data behind."""

import os
import time

import quilt_itest as qi

# The "tool" a setup command installs into the image's root (the busybox
# image has no package manager: writing a script stands in for apk add).
INSTALL = ("mkdir -p /opt/tool && "
           "printf '#!/bin/sh\\necho \"tool saw: $(cat \"$1\")\"\\n' > /opt/tool/run && "
           "chmod 755 /opt/tool/run && echo installed")

# The long-running main command: picks up job files the agent drops into
# the shared directory and writes each result next to it.
WORKER = ("echo worker up; "
          "while :; do for j in /shared/jobs/*.job; do [ -e \"$j\" ] || continue; "
          "/opt/tool/run \"$j\" > \"${j%.job}.result.tmp\" && "
          "mv \"${j%.job}.result.tmp\" \"${j%.job}.result\" && rm \"$j\"; done; sleep 0.1; done")


def test_agent_tool_container_end_to_end(q, env):
    shared = env.path("agent-shared")
    os.makedirs(os.path.join(shared, "jobs"))
    os.chmod(shared, 0o777)
    os.chmod(os.path.join(shared, "jobs"), 0o777)
    try:
        cid = q.create(["sh", "-c", WORKER],
                       extra=["--init", "--setup", INSTALL, "-v", "%s:/shared" % shared,
                              "--user", "1000:1000"])
        st = q.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL), timeout=60)
        assert st["state"] == "RUNNING", "%s%s" % (st, q.ctx())
        assert qi.poll(lambda: "worker up" in q.logs(cid)[0], 10), q.logs(cid)

        # The agent hands over work through the shared directory.
        for i in range(3):
            with open(os.path.join(shared, "jobs", "%d.job" % i), "w") as f:
                f.write("input %d\n" % i)
        results = [os.path.join(shared, "jobs", "%d.result" % i) for i in range(3)]
        assert qi.poll(lambda: all(os.path.exists(r) for r in results), 20), \
            (os.listdir(os.path.join(shared, "jobs")), q.logs(cid), q.ctx())
        for i, r in enumerate(results):
            with open(r) as f:
                assert f.read() == "tool saw: input %d\n" % i
            assert os.stat(r).st_uid == 1000, "result written as uid %d" % os.stat(r).st_uid

        # Setup output is in the logs, before the command's.
        out, _ = q.logs(cid)
        assert out.index("installed") < out.index("worker up"), out

        # The shell is not PID 1 under the init: SIGTERM ends it at once.
        t0 = time.monotonic()
        r = q.cli("stop", cid, "-t", "10", timeout=40)
        took = time.monotonic() - t0
        assert r.rc == 0, "%r%s" % (r, q.ctx())
        assert took < 2.5, "stop with --init took %.2fs%s" % (took, q.ctx())
        st = q.status(cid)
        assert st["state"] == "EXITED" and st["exitCode"] == 128 + 15, st

        cdir = q.container_dir(cid)
        q.ok("rm", cid)
        assert not os.path.exists(cdir), os.listdir(cdir)
        # The agent's data outlives the container; no mount is left on it.
        assert sorted(os.listdir(os.path.join(shared, "jobs"))) == \
            ["0.result", "1.result", "2.result"]
        assert not qi.mount_lines_containing(shared), qi.mount_lines_containing(shared)
    finally:
        qi.safe_rmtree(shared)
