# SPDX-License-Identifier: MIT
"""Resource control (issue 3): the cgroup plugins against the real kernel.

Every test runs once per cgroup backend available on the machine:

  cgroup_v1  v1 controllers mounted at /sys/fs/cgroup/<controller> (this
             hybrid build host);
  cgroup_v2  a cgroup2 mount with memory, cpu and pids enabled (the VM of
             tests/vm/run-in-vm.sh; skipped elsewhere with the reason).

QUILT_CGROUP_BACKEND=cgroup_v1|cgroup_v2|cgroup (a comma list is fine)
picks the backends and *forces* them: one that cannot run is then a
failure, not a skip.  QUILT_CGROUP_ROOT overrides the mount root (written
into the plugin's `root` key too).

Each backend gets one quiltd (module scope) whose chain is
`ns, rootfs, <backend>` with `parent = /quilt-test-<random>`: an absolute
parent that only this run uses; profiles: nopidns (no pid namespace),
nocgroup (no cgroup plugin), nocpu (controllers = memory, pids), defaults
(the section's default limits).  The `cgroup` (auto) plugin gets its own
check-config test and daemon.  After every test the parent must hold no
container cgroup in any hierarchy; at the end the parent directories are
removed (rmdir, only those below our parent).  The only processes ever
killed are those listed in our own container cgroups.
"""

import importlib
import json
import os
import re
import secrets
import signal
import time

import pytest

import quilt_itest as qi

MIB = 1 << 20
CPU_PERIOD_US = 100000
V1_CONTROLLERS = ("memory", "cpu", "pids")          # what every test needs
ALL_BACKENDS = ("cgroup_v1", "cgroup_v2")


# --------------------------------------------------------------------------
# The machine's cgroup mounts
# --------------------------------------------------------------------------

V1_NON_CONTROLLER_OPTS = {"rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec",
                          "clone_children", "xattr", "noprefix", "cpuset_v2_mode",
                          "favordynmods"}


def cgroup_mounts():
    """[(mount point, fstype, {controllers})] of every cgroup and cgroup2
    mount of our mount namespace (v1 named hierarchies as "name=X")."""
    out = []
    for line in qi.mountinfo():
        pre, _, post = line.partition(" - ")
        fields, post = pre.split(), post.split()
        if len(post) < 3 or post[0] not in ("cgroup", "cgroup2"):
            continue
        mp = qi._unescape_mount(fields[4])
        ctrls = set()
        if post[0] == "cgroup":
            ctrls = {o for o in post[2].split(",")
                     if o not in V1_NON_CONTROLLER_OPTS and not o.startswith("release_agent=")}
        else:
            data = qi._read(os.path.join(mp, "cgroup.controllers"))
            ctrls = set((data or b"").decode().split())
        out.append((mp, post[0], ctrls))
    return out


def v1_mounts():
    """{controller: mount point} of the v1 hierarchies."""
    m = {}
    for mp, fstype, ctrls in cgroup_mounts():
        if fstype == "cgroup":
            for c in ctrls:
                m.setdefault(c, mp)
    return m


def v2_root():
    """(the cgroup2 mount to use, None) or (None, why not)."""
    want = {"memory", "cpu", "pids"}
    env_root = os.environ.get("QUILT_CGROUP_ROOT")
    cands = [(mp, ctrls) for mp, fstype, ctrls in cgroup_mounts() if fstype == "cgroup2"]
    if env_root:
        cands = [(mp, c) for mp, c in cands if mp == env_root.rstrip("/")]
    if not cands:
        return None, "no cgroup2 is mounted%s" % (" at %s" % env_root if env_root else "")
    # a pure cgroup2 at /sys/fs/cgroup first, then the hybrid's unified
    cands.sort(key=lambda x: {"/sys/fs/cgroup": 0, "/sys/fs/cgroup/unified": 1}.get(x[0], 2))
    for mp, ctrls in cands:
        if want <= ctrls:
            return mp, None
    return None, "; ".join("the cgroup2 at %s has only: %s" % (mp, " ".join(sorted(c)) or "no controllers")
                           for mp, c in cands) + \
        " (memory, cpu and pids are bound to cgroup v1 hierarchies)"


def v1_available():
    if os.environ.get("QUILT_CGROUP_ROOT"):
        root = os.environ["QUILT_CGROUP_ROOT"].rstrip("/")
        m = {c: mp for c, mp in v1_mounts().items() if os.path.dirname(mp) == root}
    else:
        m = v1_mounts()
    missing = [c for c in V1_CONTROLLERS if c not in m]
    if missing:
        return None, "no cgroup v1 hierarchy for: %s" % ", ".join(missing)
    return m, None


def auto_expected():
    """The backend the `cgroup` (auto) plugin should pick here."""
    pure_v2 = [mp for mp, fstype, _ in cgroup_mounts() if mp == "/sys/fs/cgroup" and fstype == "cgroup2"]
    root, _ = v2_root()
    if pure_v2 and root:
        return "cgroup_v2"
    m, _ = v1_available()
    if m:
        return "cgroup_v1"
    if root:
        return "cgroup_v2"
    return None


def selected_backends():
    env = os.environ.get("QUILT_CGROUP_BACKEND", "").strip()
    if not env:
        return [(b, False) for b in ALL_BACKENDS]
    alias = {"v1": "cgroup_v1", "1": "cgroup_v1", "v2": "cgroup_v2", "2": "cgroup_v2",
             "auto": "cgroup"}
    out = []
    for b in env.split(","):
        b = alias.get(b.strip(), b.strip())
        if b not in ALL_BACKENDS + ("cgroup",):
            raise pytest.UsageError("QUILT_CGROUP_BACKEND: unknown backend %r" % b)
        out.append((b, True))
    return out


def read_value(path):
    data = qi._read(path)
    assert data is not None, "cannot read %s" % path
    return data.decode().strip()


def read_int(path):
    return int(read_value(path))


def cgroup_procs(d):
    data = qi._read(os.path.join(d, "cgroup.procs"))
    return {int(x) for x in (data or b"").split()}


def proc_cgroups(pid):
    """{controller or "": path} from /proc/PID/cgroup."""
    out = {}
    for line in (qi._read("/proc/%d/cgroup" % pid) or b"").decode().splitlines():
        _, ctrls, path = line.split(":", 2)
        for c in (ctrls.split(",") if ctrls else [""]):
            out[c] = path
    return out


def _i(v, default=0):
    """A JSON int64 (proto3 JSON may give a string; zero fields may be absent)."""
    return default if v is None or v == "" else int(v)


def weight_from_shares(shares):
    """runc's and crun's cpu.shares -> cpu.weight."""
    return 1 + ((shares - 2) * 9999) // 262142


# --------------------------------------------------------------------------
# One backend's daemon and its cgroup parent
# --------------------------------------------------------------------------


class CgroupSetup:
    def __init__(self, env, backend):
        self.env = env
        self.backend = backend
        self.parent = "/quilt-test-%d-%s" % (os.getpid(), secrets.token_hex(4))
        self.version = None
        self.v1 = {}
        self.root = None
        self.daemons = []
        self.current = None

    # -- where things are --------------------------------------------------
    def probe(self, plugin_dir=None):
        """None when the backend can run here, else the reason."""
        version = {"cgroup_v1": 1, "cgroup_v2": 2}.get(self.backend)
        if version is None:         # auto: the tests expect what it should pick
            exp = auto_expected()
            if exp is None:
                return "neither cgroup v1 nor v2 with memory, cpu and pids on this machine"
            version = 1 if exp == "cgroup_v1" else 2
        so = os.path.join(plugin_dir or self.env.paths.plugin_dir, self.backend + ".so")
        if not os.path.exists(so):
            return "%s not built (%s missing)" % (self.backend, so)
        if version == 1:
            m, why = v1_available()
            if not m:
                return "cgroup v1: " + why
            self.v1 = m
        else:
            root, why = v2_root()
            if not root:
                return ("cgroup v2 needs a cgroup2 with memory, cpu and pids: %s; the v2 suite runs "
                        "in a VM: tests/vm/run-in-vm.sh (QUILT_CGROUP_BACKEND=cgroup_v2)" % why)
            self.root = root
        self.version = version
        return None

    def mount(self, controller):
        return self.v1[controller] if self.version == 1 else self.root

    def cdir(self, cid, controller="memory"):
        """The container's cgroup in the hierarchy of controller."""
        return os.path.join(self.mount(controller) + self.parent, cid)

    def procs_dir(self, cid):
        return self.cdir(cid, "pids")

    def parent_dirs(self):
        """Our parent in every cgroup mount where it exists."""
        return [mp + self.parent for mp, _, _ in cgroup_mounts()
                if os.path.isdir(mp + self.parent)]

    def container_dirs(self, cid):
        """Every directory named like the container in any hierarchy."""
        out = []
        for mp, _, _ in cgroup_mounts():
            p = os.path.join(mp + self.parent, cid)
            if os.path.isdir(p):
                out.append(p)
        return out

    def children_left(self):
        """Sub-cgroups of our parent, in any hierarchy."""
        left = []
        for d in self.parent_dirs():
            for name in sorted(os.listdir(d)):
                if os.path.isdir(os.path.join(d, name)):
                    left.append(os.path.join(d, name))
        return left

    # -- files -------------------------------------------------------------
    def memory_limit(self, cid):
        f = "memory.limit_in_bytes" if self.version == 1 else "memory.max"
        return read_value(os.path.join(self.cdir(cid, "memory"), f))

    def cpu_quota(self, cid):
        """(quota, period) in microseconds; quota None = unlimited."""
        d = self.cdir(cid, "cpu")
        if self.version == 1:
            q = read_int(os.path.join(d, "cpu.cfs_quota_us"))
            return (None if q < 0 else q), read_int(os.path.join(d, "cpu.cfs_period_us"))
        q, p = read_value(os.path.join(d, "cpu.max")).split()
        return (None if q == "max" else int(q)), int(p)

    def check_cpu_weight(self, cid, weight):
        d = self.cdir(cid, "cpu")
        if self.version == 2:
            assert read_int(os.path.join(d, "cpu.weight")) == weight
            return
        shares = read_int(os.path.join(d, "cpu.shares"))
        # weight_to_shares is the inverse of runc's shares -> weight
        assert abs(weight_from_shares(shares) - weight) <= 1, \
            "cpu.shares %d for --cpu-weight %d (maps back to weight %d)" % (
                shares, weight, weight_from_shares(shares))

    def pids_max(self, cid):
        return read_value(os.path.join(self.cdir(cid, "pids"), "pids.max"))

    def pids_current(self, cid):
        return read_int(os.path.join(self.cdir(cid, "pids"), "pids.current"))

    def pids_events_max(self, cid):
        data = qi._read(os.path.join(self.cdir(cid, "pids"), "pids.events"))
        for line in (data or b"").decode().splitlines():
            k, _, v = line.partition(" ")
            if k == "max":
                return int(v)
        return None

    # -- the daemon --------------------------------------------------------
    def write_config(self):
        root = os.environ.get("QUILT_CGROUP_ROOT")
        rootline = "root = %s\n" % root if root else ""
        section = "[%s]\nparent = %s\n%s" % (self.backend, self.parent, rootline)
        text = ("; quilt-test: resource control, backend {b}\n"
                "[daemon]\nstop_timeout = 10\n"
                # no cgroup namespace: the tests read the host's cgroup paths inside
                "[ns]\ncgroup = false\n"
                "[plugins]\nchain = ns, rootfs, {b}\n"
                "[profile.nopidns]\nchain = ns:nopidns, rootfs, {b}\n"
                "[profile.nocgroup]\nchain = ns, rootfs\n"
                "[profile.nocpu]\nchain = ns, rootfs, {b}:nocpu\n"
                "[profile.defaults]\nchain = ns, rootfs, {b}:defaults\n"
                "[ns:nopidns]\npid = false\n"
                "{section}"
                "[{b}:nocpu]\nparent = {parent}\ncontrollers = memory, pids\n{root}"
                "[{b}:defaults]\nparent = {parent}\nmemory_limit = {mem}\n"
                "cpu_millicores = 250\npids_limit = 33\n{root}").format(
                    b=self.backend, section=section, parent=self.parent, root=rootline,
                    mem=40 * MIB)
        self.config = self.env.write_config("cgroup-" + self.backend, text)

    def get(self):
        if self.current is not None and self.current.alive():
            return self.current
        if self.current is not None:
            self.daemons.append(self.current)
        self.env._n += 1
        d = qi.Daemon(self.env.paths, self.env.tmp, "%d-%s" % (self.env._n, self.backend),
                      self.config)
        self.current = d
        d.start()
        return d

    def teardown(self):
        problems = []
        for d in self.daemons + ([self.current] if self.current else []):
            if d.alive():
                r = d.cli("ps", "--json", timeout=20)
                if r.rc == 0:
                    for c in json.loads(r.out).get("containers", []):
                        d.cli("rm", c.get("containerId", ""), "-f", timeout=30)
            try:
                d.stop_and_check(expect_clean=d.alive())
            except AssertionError as e:
                problems.append(str(e))
            cdir = os.path.join(d.state_dir, "containers")
            left = os.listdir(cdir) if os.path.isdir(cdir) else []
            if left:
                problems.append("container dirs left in %s: %s" % (cdir, left))
        problems += self.remove_cgroups()
        return problems

    def remove_cgroups(self):
        """Remove our parent in every hierarchy; container cgroups still in
        it are a failure (their processes, ours, are killed first)."""
        problems = []
        left = self.children_left()
        if left:
            problems.append("container cgroups left under %s after the daemon stopped: %s"
                            % (self.parent, left))
            for d in left:
                for pid in cgroup_procs(d):
                    qi.kill_pid(pid)
            for d in left:
                qi.poll(lambda: not cgroup_procs(d), 5)
                qi.reap_orphans()
                try:
                    os.rmdir(d)
                except OSError as e:
                    problems.append("rmdir %s: %s" % (d, e))
        for d in self.parent_dirs():
            assert os.path.basename(d).startswith("quilt-test-")
            try:
                os.rmdir(d)
            except OSError as e:
                problems.append("rmdir %s: %s" % (d, e))
        return problems


def _partition_backends():
    """(backends to run, [(backend, why not)] of those skipped here).  A
    backend QUILT_CGROUP_BACKEND forces always runs (and fails if it can't)."""
    run, skipped = [], []
    for b, forced in selected_backends():
        why = CgroupSetup(None, b).probe(qi.Paths().plugin_dir)
        if forced or not why:
            run.append(b)
        else:
            skipped.append((b, why))
    return run, skipped


RUN_BACKENDS, SKIPPED_BACKENDS = _partition_backends()

if SKIPPED_BACKENDS:
    # One skip line per backend that cannot run here, instead of one per test.
    @pytest.mark.parametrize("backend,why", SKIPPED_BACKENDS, ids=[b for b, _ in SKIPPED_BACKENDS])
    def test_backend_can_run_here(backend, why):
        pytest.skip("%s: its tests do not run here: %s" % (backend, why))


@pytest.fixture(scope="module", params=RUN_BACKENDS)
def cg(request, env):
    backend = request.param
    forced = dict(selected_backends())[backend]
    s = CgroupSetup(env, backend)
    why = s.probe()
    if why:
        if forced:
            pytest.fail("QUILT_CGROUP_BACKEND asks for %s, which cannot run here: %s" % (backend, why))
        pytest.skip("%s: %s" % (backend, why))
    s.write_config()
    try:
        s.get()
        yield s
    finally:
        problems = s.teardown()
        if problems:
            pytest.fail("after the %s tests:\n%s" % (backend, "\n".join(problems)))


class CgQuilt(qi.Quilt):
    """qi.Quilt whose create/run take res=[...] resource flags."""

    @staticmethod
    def spec_args(image, argv=None, res=(), **kw):
        return [str(a) for a in res] + qi.Quilt.spec_args(image, argv, **kw)


@pytest.fixture
def cq(cg, env):
    """A CLI session on the backend's daemon; after the test everything it
    created is removed and no process, mount, container dir or container
    cgroup may be left."""
    d = cg.get()
    d.new_sanitizer_reports()
    s = CgQuilt(d, env.image)
    s.cg = cg
    yield s
    problems = []
    if not d.alive():
        problems.append("quiltd died during the test (exit %s)" % d.proc.poll())
    problems += s.cleanup()
    problems += d.leftovers(kill=not d.alive())
    left = qi.mount_lines_containing(env.tmp)
    if left:
        problems.append("mounts of the temp dir left after the test:\n  " + "\n  ".join(left))
    if d.alive():
        cdir = os.path.join(d.state_dir, "containers")
        left = os.listdir(cdir) if os.path.isdir(cdir) else []
        if left:
            problems.append("container dirs left in %s: %s" % (cdir, left))
    qi.poll(lambda: not cg.children_left(), 5)
    left = cg.children_left()
    if left:
        problems.append("container cgroups left after rm: %s" % left)
    problems += d.new_sanitizer_reports()
    if problems:
        pytest.fail("after the test:\n" + "\n".join(problems) + d.log_context())


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def running(q, argv=None, res=(), **kw):
    cid = q.create(argv, res=res, **kw)
    st = q.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL))
    assert st["state"] == "RUNNING", "%s%s" % (st, q.ctx())
    return cid, st


def wait_log(q, cid, needle, timeout=10):
    last = [""]

    def check():
        out, err = q.logs(cid)
        last[0] = out + err
        return needle in last[0]
    assert qi.poll(check, timeout), "%r not in the output of %s after %ss: %r%s" % (
        needle, cid, timeout, last[0], q.ctx())
    return last[0]


def stats(q, ref):
    r = q.cli("stats", ref, "--json", timeout=30)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    try:
        doc = json.loads(r.out)
    except ValueError as e:
        raise AssertionError("stats --json is not JSON (%s): %r" % (e, r))
    out = {"containerId": doc.get("containerId", "")}
    for k in ("memoryCurrentBytes", "memoryPeakBytes", "cpuUsageNs", "pidsCurrent",
              "oomKillCount", "timestampNs"):
        out[k] = _i(doc.get(k))
    return out


def resources(st):
    r = st.get("resources") or {}
    return {k: _i(r.get(k)) for k in ("memoryLimitBytes", "memorySwapLimitBytes",
                                      "cpuMillicores", "cpuWeight", "pidsLimit")}


def full_status(q, ref):
    """status --json, raw (for oomKilled and resources)."""
    r = q.cli("status", ref, "--json", timeout=30)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    raw = json.loads(r.out)
    st = qi.normalize_status(raw)
    st["oomKilled"] = bool(raw.get("oomKilled", False))
    st["resources"] = raw.get("resources")
    return st


def assert_all_dead(procs, what, timeout=5):
    qi.poll(lambda: not any(qi.pid_alive(p, t) for p, t in procs.items()), timeout)
    left = [p for p, t in procs.items() if qi.pid_alive(p, t)]
    assert not left, "%s:\n%s" % (what, qi.describe_pids(left))


# --------------------------------------------------------------------------
# Limits land in the cgroup files
# --------------------------------------------------------------------------


def test_limits_are_written_and_reported(cq):
    cg = cq.cg
    cid, st = running(cq, ["sleep", "100"],
                      res=["--memory", "16M", "--cpus", "0.5", "--cpu-weight", "200", "--pids", "10"])
    assert cg.memory_limit(cid) == str(16 * MIB)
    assert cg.cpu_quota(cid) == (50000, CPU_PERIOD_US)
    cg.check_cpu_weight(cid, 200)
    assert cg.pids_max(cid) == "10"
    full = full_status(cq, cid)
    assert resources(full) == {"memoryLimitBytes": 16 * MIB, "memorySwapLimitBytes": 0,
                               "cpuMillicores": 500, "cpuWeight": 200, "pidsLimit": 10}, full
    assert full["oomKilled"] is False, full
    q_rm = cq.cli("rm", cid, "-f", timeout=60)
    assert q_rm.rc == 0, q_rm


def test_container_is_in_its_cgroup_from_the_start_and_the_monitor_is_not(cq):
    cg = cq.cg
    # cat is the container's first program: it reads its own cgroup
    name = cq.new_name("cg")
    r = cq.run(["cat", "/proc/self/cgroup"], name=name, rm=False, res=["--pids", "50"])
    assert r.rc == 0, "%r%s" % (r, cq.ctx())
    cid = cq.status(name)["containerId"]
    seen = {}
    for line in r.out.splitlines():
        _, ctrls, path = line.split(":", 2)
        for c in (ctrls.split(",") if ctrls else [""]):
            seen[c] = path
    want = cg.parent + "/" + cid
    if cg.version == 1:
        for c in V1_CONTROLLERS:
            assert seen.get(c) == want, "%s: %r, want %r\n%s" % (c, seen.get(c), want, r.out)
    else:
        assert seen.get("") == want, "%r, want %r\n%s" % (seen.get(""), want, r.out)
    cq.ok("rm", cid)

    # while running: the init is in the cgroup, no quilt-monitor is
    cid, st = running(cq, ["sleep", "100"], res=["--memory", "64M"])
    for c in V1_CONTROLLERS if cg.version == 1 else ("memory",):
        procs = cgroup_procs(cg.cdir(cid, c))
        assert st["pid"] in procs, "%s: init %d not in %s%s" % (c, st["pid"], procs, cq.ctx())
        for pid in procs:
            try:
                exe = os.readlink("/proc/%d/exe" % pid)
            except OSError:
                continue
            assert os.path.basename(exe) != "quilt-monitor", \
                "the monitor (pid %d) is in the container's %s cgroup" % (pid, c)
    ppid = qi.proc_stat(st["pid"])[1]
    mine = proc_cgroups(ppid)
    assert not any(p.endswith("/" + cid) for p in mine.values()), \
        "the container's parent process %d is in its cgroup: %s" % (ppid, mine)


def test_memory_swap_limit(cq):
    """--memory-swap is written where the kernel accounts swap, or refused
    with a clear error: never silently ignored."""
    cg = cq.cg
    name = cq.new_name("cg")
    cq.created.append(name)
    r = cq.cli("create", *cq.spec_args(cq.image, ["sleep", "100"], name=name,
                                       res=["--memory", "16M", "--memory-swap", "48M"]))
    # v1 accounts swap where the root has memory.memsw.*; on v2 (5.8+) always
    accounted = (cg.version == 2 or
                 os.path.exists(os.path.join(cg.mount("memory"), "memory.memsw.limit_in_bytes")))
    if r.rc != 0:
        assert "swap" in r.err.lower(), "refused without saying why: %r" % r
        assert not accounted, "the kernel accounts swap, yet: %r%s" % (r, cq.ctx())
        return
    cid = r.out.strip()
    cq.created.append(cid)
    st = cq.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL))
    if st["state"] == "FAILED":
        assert "swap" in st["errorMessage"].lower(), st
        assert not accounted, "the kernel accounts swap, yet: %s%s" % (st, cq.ctx())
        return
    assert st["state"] == "RUNNING", st
    d = cg.cdir(cid, "memory")
    if cg.version == 1:
        assert read_value(os.path.join(d, "memory.memsw.limit_in_bytes")) == str(48 * MIB)
    else:
        assert read_value(os.path.join(d, "memory.swap.max")) == str(32 * MIB)
    assert cg.memory_limit(cid) == str(16 * MIB)
    assert resources(full_status(cq, cid))["memorySwapLimitBytes"] == 48 * MIB


def test_config_defaults_apply_to_requests_without_limits(cq):
    """[BACKEND:defaults] memory_limit, cpu_millicores, pids_limit fill what
    a request leaves at 0; a request's own value wins."""
    cg = cq.cg
    cid, _ = running(cq, ["sleep", "100"], profile="defaults")
    assert cg.memory_limit(cid) == str(40 * MIB)
    assert cg.cpu_quota(cid) == (25000, CPU_PERIOD_US)
    assert cg.pids_max(cid) == "33"
    cq.ok("rm", cid, "-f", timeout=60)
    cid, _ = running(cq, ["sleep", "100"], profile="defaults", res=["--pids", "12"])
    assert cg.pids_max(cid) == "12"
    assert cg.memory_limit(cid) == str(40 * MIB)
    cq.ok("rm", cid, "-f", timeout=60)


def test_limit_without_its_controller_is_an_error(cq):
    """controllers = memory, pids: --cpus cannot be applied, and says so."""
    cg = cq.cg
    name = cq.new_name("nocpu")
    cq.created.append(name)
    r = cq.cli("create", *cq.spec_args(cq.image, ["sleep", "100"], name=name, profile="nocpu",
                                       res=["--cpus", "0.5"]), timeout=30)
    if r.rc != 0:
        assert "cpu" in r.err, "refused without naming cpu: %r" % r
    else:
        st = cq.wait_state(r.out.strip(), ["RUNNING"] + list(qi.TERMINAL))
        assert st["state"] == "FAILED", "--cpus without the cpu controller: %s%s" % (st, cq.ctx())
        assert "cpu" in st["errorMessage"], st
        cq.ok("rm", name)
    # what the instance has works, and only its controllers get a cgroup
    cid, _ = running(cq, ["sleep", "100"], profile="nocpu", res=["--memory", "24M", "--pids", "9"])
    assert cg.memory_limit(cid) == str(24 * MIB)
    assert cg.pids_max(cid) == "9"
    if cg.version == 1:
        assert not os.path.isdir(cg.cdir(cid, "cpu")), "a cpu cgroup without the cpu controller"
    cq.ok("rm", cid, "-f", timeout=60)


# --------------------------------------------------------------------------
# Limits hold
# --------------------------------------------------------------------------

# The children and the init outlive the checks (a slow VM included), and
# the test ends the container; bounded all the same.
FORK_BOMB = ('(i=0; while [ $i -lt 50 ]; do sleep 60 & i=$((i+1)); done) 2>&1; '
             'echo quilt-bomb-rc=$?; exec sleep 60')


def test_pids_limit_stops_a_fork_bomb(cq):
    cg = cq.cg
    cid = cq.create(["sh", "-c", FORK_BOMB], res=["--pids", "10"])
    out = wait_log(cq, cid, "quilt-bomb-rc=", timeout=30)
    assert "can't fork" in out or "Resource temporarily unavailable" in out, out
    assert "quilt-bomb-rc=0" not in out, out
    assert cq.status(cid)["state"] == "RUNNING"
    # at the limit (the sleeps live on): the container is held ...
    cur = cg.pids_current(cid)
    assert 8 <= cur <= 10, "pids.current %d, pids.max 10" % cur
    ev = cg.pids_events_max(cid)
    assert ev is None or ev > 0, "pids.events max %s" % ev
    s = stats(cq, cid)
    assert 8 <= s["pidsCurrent"] <= 10, s
    # ... the host is not
    r = qi.run_cmd(["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; "
                    "do /bin/true & done; wait; echo forked"], timeout=30)
    assert r.rc == 0 and "forked" in r.out, r
    cq.ok("stop", cid, "-t", "0", timeout=30)
    st = cq.status(cid)
    assert st["state"] == "EXITED" and st["exitSignal"] == signal.SIGKILL, st
    cq.ok("rm", cid)


OOM_ARGV = ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]   # a 64 MiB buffer


def test_oom_kill_is_reported(cq):
    name = cq.new_name("oom")
    t0 = time.monotonic()
    r = cq.run(OOM_ARGV, name=name, rm=False, res=["--memory", "16M"], timeout=60)
    assert r.rc == 128 + signal.SIGKILL, "run: want 137 for an OOM kill: %r%s" % (r, cq.ctx())
    assert "oom" in r.err.lower(), "run did not say OOM: %r" % r
    assert time.monotonic() - t0 < 30
    st = full_status(cq, name)
    assert st["state"] == "EXITED" and st["exitSignal"] == signal.SIGKILL, st
    assert st["oomKilled"] is True, st
    s = stats(cq, name)
    assert s["oomKillCount"] >= 1, s
    h = cq.cli("status", name, timeout=30)
    assert h.rc == 0 and re.search(r"oom_killed:\s*yes", h.out), h
    cq.ok("rm", name)


def test_sigkill_without_oom_is_not_oom_killed(cq):
    cid, _ = running(cq, ["sleep", "100"], res=["--memory", "16M"])
    cq.ok("stop", cid, "-t", "0", timeout=30)
    st = full_status(cq, cid)
    assert st["state"] == "EXITED" and st["exitSignal"] == signal.SIGKILL, st
    assert st["oomKilled"] is False, st
    cq.ok("rm", cid)


def test_512k_memory_limit_still_starts_true(cq):
    name = cq.new_name("cg")
    r = cq.run(["/bin/true"], name=name, rm=False, res=["--memory", "512K"])
    assert r.rc == 0, "%r%s" % (r, cq.ctx())
    st = full_status(cq, name)
    assert st["state"] == "EXITED" and st["exitCode"] == 0 and not st["oomKilled"], st
    assert resources(st)["memoryLimitBytes"] == 512 * 1024, st
    cq.ok("rm", name)


# --------------------------------------------------------------------------
# Stats
# --------------------------------------------------------------------------


def test_stats_move_while_the_container_works(cq):
    cid, _ = running(cq, ["sh", "-c", "echo spinning; while :; do :; done"],
                     res=["--cpus", "0.5", "--memory", "64M"])
    wait_log(cq, cid, "spinning")
    s1 = qi.poll(lambda: (lambda s: s if s["cpuUsageNs"] > 0 else None)(stats(cq, cid)), 5)
    assert s1, "cpuUsageNs stays 0 while the container spins"
    time.sleep(1.5)
    s2 = stats(cq, cid)
    assert s2["containerId"] == cid, s2
    assert s2["timestampNs"] > s1["timestampNs"], (s1, s2)
    used = s2["cpuUsageNs"] - s1["cpuUsageNs"]
    wall = s2["timestampNs"] - s1["timestampNs"]
    assert used > 0.1 * wall, "cpu usage %d ns in %d ns of spinning" % (used, wall)
    # --cpus 0.5 holds it near half a CPU
    assert used < 0.7 * wall, "--cpus 0.5 but %d ns in %d ns" % (used, wall)
    assert s2["memoryCurrentBytes"] > 0, s2
    assert s2["memoryPeakBytes"] == -1 or s2["memoryPeakBytes"] >= s2["memoryCurrentBytes"] > 0, s2
    assert s2["pidsCurrent"] >= 1, s2
    assert s2["oomKillCount"] in (0, -1), s2
    h = cq.cli("stats", cid, timeout=30)
    assert h.rc == 0 and "cpu" in h.out, h
    cq.ok("stop", cid, "-t", "0", timeout=30)
    s3 = stats(cq, cid)        # recorded at exit
    assert s3["cpuUsageNs"] >= s2["cpuUsageNs"], (s2, s3)
    cq.ok("rm", cid)


def test_stats_of_an_exited_container_keep_the_peak(cq):
    cg = cq.cg
    name = cq.new_name("cg")
    r = cq.run(["dd", "if=/dev/zero", "of=/dev/null", "bs=8M", "count=1"], name=name, rm=False,
               res=["--memory", "64M"])
    assert r.rc == 0, "%r%s" % (r, cq.ctx())
    s = stats(cq, name)
    if cg.version == 1:
        assert s["memoryPeakBytes"] != -1, "v1 has memory.max_usage_in_bytes: %s" % s
    assert s["memoryPeakBytes"] == -1 or s["memoryPeakBytes"] >= 8 * MIB, s
    assert s["cpuUsageNs"] > 0, s
    assert s["oomKillCount"] in (0, -1), s
    cq.ok("rm", name)


# --------------------------------------------------------------------------
# Update
# --------------------------------------------------------------------------

FORKER = ('i=0; while [ $i -lt 5 ]; do sleep 1000 & i=$((i+1)); done; echo quilt-ready; '
          'while :; do sleep 0.2; done 2>&1')


def test_update_changes_a_running_container(cq):
    cg = cq.cg
    cid, _ = running(cq, ["sh", "-c", FORKER],
                     res=["--memory", "32M", "--cpus", "1", "--cpu-weight", "100", "--pids", "20"])
    wait_log(cq, cid, "quilt-ready")
    assert cg.memory_limit(cid) == str(32 * MIB)
    assert cg.cpu_quota(cid) == (100000, CPU_PERIOD_US)
    assert cg.pids_max(cid) == "20"

    r = cq.cli("update", cid, "--memory", "48M", "--cpus", "0.25", "--cpu-weight", "300",
               timeout=30)
    assert r.rc == 0, "%r%s" % (r, cq.ctx())
    assert cg.memory_limit(cid) == str(48 * MIB)
    assert cg.cpu_quota(cid) == (25000, CPU_PERIOD_US)
    cg.check_cpu_weight(cid, 300)
    assert cg.pids_max(cid) == "20", "a limit not given to update changed"
    res = resources(full_status(cq, cid))
    assert res == {"memoryLimitBytes": 48 * MIB, "memorySwapLimitBytes": 0,
                   "cpuMillicores": 250, "cpuWeight": 300, "pidsLimit": 20}, res

    # pids below what runs now: the next fork fails, the shell gives up
    assert cg.pids_current(cid) >= 6
    r = cq.cli("update", cid, "--pids", "3", timeout=30)
    assert r.rc == 0, "%r%s" % (r, cq.ctx())
    assert cg.pids_max(cid) == "3"
    st = cq.wait_state(cid, timeout=15)
    assert st["state"] == "EXITED" and st["exitCode"] != 0, st
    out, err = cq.logs(cid)
    assert "can't fork" in out + err or "Resource temporarily unavailable" in out + err, (out, err)

    r = cq.cli("update", cid, "--pids", "30", timeout=30)
    assert r.rc != 0 and "FAILED_PRECONDITION" in r.err, r
    cq.ok("rm", cid)


# --------------------------------------------------------------------------
# Stop, rm and clean-up through the cgroup
# --------------------------------------------------------------------------

ESCAPERS = ('trap "" TERM; '
            'setsid sh -c \'trap "" TERM HUP; exec sleep 1000\' & '
            '(trap "" TERM; sleep 1000 &) ; '
            '(setsid sleep 1000 &) ; '
            'echo quilt-ready; while :; do sleep 1; done')


def _escaped_container(cq):
    cg = cq.cg
    cid, st = running(cq, ["sh", "-c", ESCAPERS], profile="nopidns", res=["--pids", "50"])
    wait_log(cq, cid, "quilt-ready")
    d = cg.procs_dir(cid)
    qi.poll(lambda: len(cgroup_procs(d)) >= 4, 5)
    procs = qi.idents(cgroup_procs(d))
    assert len(procs) >= 4, "want init and 3 sleeps in %s: %s" % (d, qi.describe_pids(procs))
    assert st["pid"] in procs
    # some of them left the init's process group and session
    pgid = os.getpgid(st["pid"])
    assert any(os.getpgid(p) != pgid for p in procs if qi.pid_alive(p)), qi.describe_pids(procs)
    return cid, procs


def test_stop_kills_every_process_without_a_pid_namespace(cq):
    cid, procs = _escaped_container(cq)
    r = cq.cli("stop", cid, "-t", "1", timeout=40)
    assert r.rc == 0, "%r%s" % (r, cq.ctx())
    assert_all_dead(procs, "processes of the container alive after stop")
    assert not cgroup_procs(cq.cg.procs_dir(cid))
    cq.ok("rm", cid)
    assert not cq.cg.container_dirs(cid)


def test_force_rm_kills_every_process_without_a_pid_namespace(cq):
    cid, procs = _escaped_container(cq)
    r = cq.cli("rm", cid, "-f", timeout=60)
    assert r.rc == 0, "%r%s" % (r, cq.ctx())
    assert_all_dead(procs, "processes of the container alive after rm -f")
    left = cq.cg.container_dirs(cid)
    assert not left, "cgroups left after rm -f: %s" % left


def test_rm_kills_what_the_exited_init_left_behind(cq):
    # no pid namespace: the init's exit does not end its children
    cg = cq.cg
    cid = cq.create(["sh", "-c", "setsid sleep 1000 & echo quilt-child=$!"], profile="nopidns",
                    res=["--pids", "20"])
    st = cq.wait_state(cid)
    assert st["state"] == "EXITED" and st["exitCode"] == 0, st
    out = wait_log(cq, cid, "quilt-child=")
    child = int(re.search(r"quilt-child=(\d+)", out).group(1))
    # The monitor kills what the init left behind as soon as it exits (its
    # group and everything in the cgroup); a slow machine may still see the
    # child for a moment, then it must be in the container's cgroup.
    procs = qi.idents([child])
    if procs:
        in_cgroup = child in cgroup_procs(cg.procs_dir(cid))
        assert in_cgroup or not any(qi.pid_alive(p, t) for p, t in procs.items()), \
            "%d not in the container's cgroup" % child
    r = cq.cli("rm", cid, timeout=60)
    assert r.rc == 0, "%r%s" % (r, cq.ctx())
    assert_all_dead(procs, "a child of the container outlived rm")
    assert not cg.container_dirs(cid)


def test_rm_removes_the_cgroup_from_every_hierarchy(cq):
    cg = cq.cg
    cid, _ = running(cq, ["sleep", "100"], res=["--memory", "32M", "--cpus", "1", "--pids", "20"])
    dirs = cg.container_dirs(cid)
    for c in (V1_CONTROLLERS if cg.version == 1 else ("memory",)):
        assert cg.cdir(cid, c) in dirs, "no cgroup of %s for %s: %s" % (c, cid, dirs)
    cq.ok("stop", cid, "-t", "0", timeout=30)
    cq.ok("rm", cid)
    left = cg.container_dirs(cid)
    assert not left, "cgroups left after rm: %s" % left


@pytest.mark.parametrize("how", ["no-such-program", "workdir-is-a-file"])
def test_failed_container_leaves_no_cgroup(cq, how):
    # a missing working directory is created: a file in its place is not
    kw = {"workdir": "/etc/passwd"} if how == "workdir-is-a-file" else {}
    argv = ["/no/such"] if how == "no-such-program" else ["true"]
    cid = cq.create(argv, res=["--memory", "32M", "--pids", "20"], **kw)
    st = cq.wait_state(cid)
    assert st["state"] == "FAILED" and st["errorMessage"], st
    cq.ok("rm", cid)
    left = cq.cg.container_dirs(cid)
    assert not left, "cgroups of a FAILED container left after rm: %s" % left


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


BAD_FLAGS = [
    (["--memory", "-1"], "memory"),
    (["--memory", "12Q"], "memory"),
    (["--pids", "0"], "pids"),
    (["--pids", "-5"], "pids"),
    (["--cpus", "-1"], "cpus"),
    (["--cpus", "abc"], "cpus"),
    (["--cpu-weight", "0"], "cpu-weight"),
    (["--cpu-weight", "10001"], "cpu-weight"),
    (["--memory", "16M", "--memory-swap", "8M"], "memory-swap"),
]


def test_cli_refuses_bad_resource_flags(cq):
    # one test for all (each test costs a lot in the TCG VM)
    names = []
    for flags, word in BAD_FLAGS:
        name = cq.new_name("bad")
        cq.created.append(name)
        names.append(name)
        r = cq.cli("create", *cq.spec_args(cq.image, ["true"], name=name, res=flags), timeout=30)
        assert r.rc != 0, r
        assert word in r.err, "error does not name %s: %r" % (word, r)
    left = [c["name"] for c in cq.ps() if c["name"] in names]
    assert not left, "refused creates registered %s" % left


def test_cli_resources_on_a_chain_without_cgroup_plugin(cq):
    name = cq.new_name("bad")
    cq.created.append(name)
    r = cq.cli("create", *cq.spec_args(cq.image, ["true"], name=name, profile="nocgroup",
                                       res=["--pids", "10"]), timeout=30)
    assert r.rc != 0 and "FAILED_PRECONDITION" in r.err, r
    assert "resource-control plugin" in r.err, r
    assert cq.status_or_none(name) is None
    # without resources that chain runs fine
    r = cq.run(["true"], profile="nocgroup")
    assert r.rc == 0, "%r%s" % (r, cq.ctx())


def test_cli_stats_and_update_errors(cq):
    r = cq.cli("stats", "quilt-test-nosuch", timeout=30)
    assert r.rc != 0 and "NOT_FOUND" in r.err, r
    r = cq.cli("update", "quilt-test-nosuch", "--pids", "5", timeout=30)
    assert r.rc != 0 and "NOT_FOUND" in r.err, r
    cid, _ = running(cq, ["sleep", "100"], res=["--pids", "20"])
    r = cq.cli("update", cid, timeout=30)
    assert r.rc != 0, "update without a limit: %r" % r
    r = cq.cli("update", cid, "--pids", "0", timeout=30)
    assert r.rc != 0 and "pids" in r.err, r
    assert cq.cg.pids_max(cid) == "20"
    # a container of a chain without a cgroup plugin cannot be updated
    other, _ = running(cq, ["sleep", "100"], profile="nocgroup")
    r = cq.cli("update", other, "--pids", "5", timeout=30)
    assert r.rc != 0 and "FAILED_PRECONDITION" in r.err, r
    cq.ok("rm", other, "-f", timeout=60)
    cq.ok("rm", cid, "-f", timeout=60)


# -- the same through an independent gRPC client ----------------------------

grpc = None


@pytest.fixture
def stub(pb, cq):
    global grpc
    grpc = importlib.import_module("grpc")      # pb skipped already when it is missing
    pb2, pb2_grpc = pb
    ch = grpc.insecure_channel("unix:" + cq.d.socket)
    try:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield pb2, pb2_grpc.QuiltServiceStub(ch)
    finally:
        ch.close()


def _code(fn):
    with pytest.raises(grpc.RpcError) as ei:
        fn()
    return ei.value.code(), ei.value.details() or ""


GRPC_BAD_RESOURCES = [
    (dict(memory_limit_bytes=-1), "INVALID_ARGUMENT", "resources.memory_limit_bytes"),
    (dict(memory_limit_bytes=1000), "INVALID_ARGUMENT", "resources.memory_limit_bytes"),
    (dict(cpu_millicores=-500), "INVALID_ARGUMENT", "resources.cpu_millicores"),
    (dict(cpu_weight=10001), "INVALID_ARGUMENT", "resources.cpu_weight"),
    (dict(cpu_weight=-1), "INVALID_ARGUMENT", "resources.cpu_weight"),
    (dict(pids_limit=-1), "INVALID_ARGUMENT", "resources.pids_limit"),
    (dict(pids_limit=1 << 40), "INVALID_ARGUMENT", "resources.pids_limit"),
    (dict(memory_swap_limit_bytes=64 * MIB), "INVALID_ARGUMENT", "memory_swap_limit_bytes"),
    (dict(memory_limit_bytes=32 * MIB, memory_swap_limit_bytes=16 * MIB), "INVALID_ARGUMENT",
     "memory_swap_limit_bytes"),
    (dict(pids_limit=10, _profile="nocgroup"), "FAILED_PRECONDITION", "resource-control plugin"),
]


def test_grpc_resource_validation(stub, cq):
    pb2, s = stub
    names = []
    for res, code, word in GRPC_BAD_RESOURCES:
        res = dict(res)
        profile = res.pop("_profile", "")
        name = cq.new_name("py")
        cq.created.append(name)
        names.append(name)
        c, msg = _code(lambda: s.CreateContainer(pb2.CreateContainerRequest(
            image=cq.image, command=["true"], name=name, profile=profile,
            resources=pb2.Resources(**res)), timeout=10))
        assert c == getattr(grpc.StatusCode, code), (res, c, msg)
        assert word in msg, "%s: %r does not name %r" % (res, msg, word)
    lst = s.ListContainers(pb2.ListContainersRequest(), timeout=10)
    assert not [x for x in lst.containers if x.name in names], "a refused request registered"


def test_grpc_stats_and_update(stub, cq):
    pb2, s = stub
    C = grpc.StatusCode
    c, _ = _code(lambda: s.GetContainerStats(pb2.GetContainerStatsRequest(
        container_id="quilt-test-nosuch"), timeout=10))
    assert c == C.NOT_FOUND
    c, _ = _code(lambda: s.UpdateContainerResources(pb2.UpdateContainerResourcesRequest(
        container_id="quilt-test-nosuch", resources=pb2.Resources(pids_limit=5)), timeout=10))
    assert c == C.NOT_FOUND

    name = cq.new_name("py")
    cq.created.append(name)
    cid = s.CreateContainer(pb2.CreateContainerRequest(
        image=cq.image, command=["sleep", "100"], name=name,
        resources=pb2.Resources(memory_limit_bytes=32 * MIB, pids_limit=20)),
        timeout=30).container_id
    cq.created.append(cid)
    cq.wait_state(cid, ["RUNNING"])
    st = s.GetContainerStatus(pb2.GetContainerStatusRequest(container_id=cid), timeout=10)
    assert st.resources.memory_limit_bytes == 32 * MIB and st.resources.pids_limit == 20, st
    assert not st.oom_killed
    sr = s.GetContainerStats(pb2.GetContainerStatsRequest(container_id=name), timeout=10)
    assert sr.container_id == cid and sr.memory_current_bytes > 0 and sr.pids_current >= 1, sr
    assert sr.timestamp_ns > 0 and sr.cpu_usage_ns >= 0, sr

    c, msg = _code(lambda: s.UpdateContainerResources(pb2.UpdateContainerResourcesRequest(
        container_id=cid, resources=pb2.Resources(pids_limit=-3)), timeout=10))
    assert c == C.INVALID_ARGUMENT and "resources.pids_limit" in msg, (c, msg)
    c, msg = _code(lambda: s.UpdateContainerResources(pb2.UpdateContainerResourcesRequest(
        container_id=cid, resources=pb2.Resources()), timeout=10))
    assert c == C.INVALID_ARGUMENT, (c, msg)
    # memory + swap below the memory limit in force
    c, msg = _code(lambda: s.UpdateContainerResources(pb2.UpdateContainerResourcesRequest(
        container_id=cid, resources=pb2.Resources(memory_swap_limit_bytes=16 * MIB)), timeout=10))
    assert c == C.INVALID_ARGUMENT and "memory_swap_limit_bytes" in msg, (c, msg)

    u = s.UpdateContainerResources(pb2.UpdateContainerResourcesRequest(
        container_id=cid, resources=pb2.Resources(pids_limit=7)), timeout=10)
    assert u.status.container_id == cid and u.status.resources.pids_limit == 7, u
    assert u.status.resources.memory_limit_bytes == 32 * MIB, u
    assert cq.cg.pids_max(cid) == "7"

    s.StopContainer(pb2.StopContainerRequest(container_id=cid, timeout_seconds=-1), timeout=30)
    c, msg = _code(lambda: s.UpdateContainerResources(pb2.UpdateContainerResourcesRequest(
        container_id=cid, resources=pb2.Resources(pids_limit=9)), timeout=10))
    assert c == C.FAILED_PRECONDITION, (c, msg)
    after = s.GetContainerStats(pb2.GetContainerStatsRequest(container_id=cid), timeout=10)
    assert after.container_id == cid and after.cpu_usage_ns >= sr.cpu_usage_ns, after
    s.RemoveContainer(pb2.RemoveContainerRequest(container_id=cid), timeout=30)
    assert not cq.cg.container_dirs(cid)


# --------------------------------------------------------------------------
# The `cgroup` (auto) plugin
# --------------------------------------------------------------------------


def _auto_config(env, parent):
    return env.write_config("cgroup-auto", "[plugins]\nchain = ns, rootfs, cgroup\n"
                            "[cgroup]\nparent = %s\n" % parent)


def _remove_parent(parent):
    """rmdir our (empty) parent wherever it was made; its children are a problem."""
    problems = []
    for mp, _, _ in cgroup_mounts():
        d = mp + parent
        if not os.path.isdir(d):
            continue
        kids = [k for k in os.listdir(d) if os.path.isdir(os.path.join(d, k))]
        if kids:
            problems.append("container cgroups left in %s: %s" % (d, kids))
            for k in kids:
                for pid in cgroup_procs(os.path.join(d, k)):
                    qi.kill_pid(pid)
                qi.poll(lambda: not cgroup_procs(os.path.join(d, k)), 5)
                try:
                    os.rmdir(os.path.join(d, k))
                except OSError as e:
                    problems.append("rmdir %s/%s: %s" % (d, k, e))
        try:
            os.rmdir(d)
        except OSError as e:
            problems.append("rmdir %s: %s" % (d, e))
    return problems


def test_check_config_auto_names_its_backend(env):
    so = os.path.join(env.paths.plugin_dir, "cgroup.so")
    if not os.path.exists(so):
        pytest.skip("the cgroup (auto) plugin is not built: %s" % so)
    want = auto_expected()
    if want is None:
        pytest.skip("no usable cgroup hierarchy on this machine")
    parent = "/quilt-test-auto-%d-%s" % (os.getpid(), secrets.token_hex(4))
    try:
        r = qi.run_cmd([env.paths.quiltd, "--check-config", "--config", _auto_config(env, parent),
                        "--plugin-dir", env.paths.plugin_dir], timeout=30)
        assert r.rc == 0, r
        text = r.out + r.err
        other = "cgroup_v2" if want == "cgroup_v1" else "cgroup_v1"
        lines = [ln for ln in text.splitlines() if want in ln]
        assert lines, "check-config does not name the backend auto picked (%s): %r" % (want, r)
        # ... and why: more than the bare name on the line (or the next)
        assert any(len(ln.replace(want, "").strip(" :-=")) > 10 for ln in lines), \
            "check-config does not say why it picked %s: %r" % (want, r)
        assert not [ln for ln in text.splitlines()
                    if re.search(r"\b(picked|chose|chosen|selected|using|uses)\b.*\b%s\b" % other, ln)], \
            "check-config claims %s: %r" % (other, r)
    finally:
        problems = _remove_parent(parent)
    assert not problems, problems


def test_auto_backend_applies_limits(env, start_daemon, quilt_for):
    so = os.path.join(env.paths.plugin_dir, "cgroup.so")
    if not os.path.exists(so):
        pytest.skip("the cgroup (auto) plugin is not built: %s" % so)
    want = auto_expected()
    if want is None:
        pytest.skip("no usable cgroup hierarchy on this machine")
    parent = "/quilt-test-auto-%d-%s" % (os.getpid(), secrets.token_hex(4))
    setup = CgroupSetup(env, want)
    setup.parent = parent
    assert setup.probe() is None
    problems, q = [], None
    try:
        d = start_daemon(_auto_config(env, parent), name="cgroup-auto")
        q = quilt_for(d, env.image)
        cid = q.create(["sleep", "100"])
        r = q.cli("rm", cid, "-f", timeout=60)       # no limits: fine as well
        assert r.rc == 0, r
        r = q.cli("create", *CgQuilt.spec_args(env.image, ["sleep", "100"], name=q.new_name("auto"),
                                               res=["--pids", "7", "--memory", "24M"]), timeout=30)
        assert r.rc == 0, "%r%s" % (r, d.log_context())
        cid = r.out.strip()
        q.created.append(cid)
        st = q.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL))
        assert st["state"] == "RUNNING", st
        assert setup.pids_max(cid) == "7", "auto should be %s" % want
        assert setup.memory_limit(cid) == str(24 * MIB)
        r = q.cli("rm", cid, "-f", timeout=60)
        assert r.rc == 0, r
        assert not setup.container_dirs(cid)
    finally:
        if q is not None:
            problems += q.cleanup()         # rm -f first: the daemon removes its cgroups
        qi.poll(lambda: not setup.children_left(), 5)
        problems += _remove_parent(parent)
    assert not problems, problems
