#!/usr/bin/python3
"""Quilt next to crun and runc, measured in one run.

Run through bench/run.sh (see bench/README.md).  Needs root.  Starts its
own quiltd on a temporary socket and state dir, prepares a busybox image,
an unpacked rootfs and OCI bundles, measures, prints a Markdown report and
writes it to bench/results/latest.md.  Everything it starts it stops, and
its temporary directory goes away, also on failure or Ctrl-C.

The benchmark only reports; it never fails because something is slow.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO, "build")
BUILT = {"quiltd": "core/quiltd", "quilt-monitor": "core/quilt-monitor", "quilt-cli": "cli/quilt-cli",
         "quilt-init": "core/quilt-init"}
# Copied when built: the monitor runs ExecContainer's helper from next to
# itself.  Without it the exec section says why it could not run.
OPTIONAL_BUILT = {"quilt-exec": "core/quilt-exec"}
PROTO_DIR = os.path.join(REPO, "proto")
CONFIG = os.path.join(REPO, "conf", "quiltd.ini")
DEFAULT_OUTPUT = os.path.join(REPO, "bench", "results", "latest.md")
NETWORK_OUTPUT = os.path.join(REPO, "bench", "results", "network.md")   # --network-only
# Section 6 (network start time) runs a second quiltd with this chain: the
# default chain plus the network plugins (net_* before rootfs: their in_child
# bind-mounts /etc/hosts and /etc/resolv.conf into the root before the switch).
NET_CHAIN = "ns, net_loopback, net_bridge, rootfs, mounts, caps, seccomp, setup"
NET_PLUGINS = ("net_loopback.so", "net_bridge.so")
NET_MODES = ("none", "loopback", "bridge")

# crun (1.8) refuses any container on a hybrid host whose cgroup2 mount has a
# controller enabled, whatever --cgroup-manager says: the check sits before
# the manager switch in libcrun/cgroup.c.  We hide that one file in a private
# mount namespace (see Masked below); the host is not touched.
UNIFIED_CONTROLLERS = "/sys/fs/cgroup/unified/cgroup.controllers"
HYBRID_ERROR = "hybrid mode not supported"


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------
# Running and timing commands.  One code path (Local) does every timed run;
# Masked runs the same code in a helper process inside a private mount
# namespace, so only the commands it runs see the masked file.

class Local:
    """Runs commands in this process's namespaces."""

    name = "host mount namespace"

    def __init__(self):
        self.spawned = {}

    def run(self, argv, cwd=None):
        """Run argv to the end.  Returns (wall ns, rc, stdout, stderr)."""
        t0 = time.perf_counter_ns()
        p = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        t1 = time.perf_counter_ns()
        return t1 - t0, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def spawn(self, argv):
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.spawned[p.pid] = p
        return p.pid

    def wait(self, pid, timeout):
        p = self.spawned.pop(pid)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return None

    def close(self):
        for pid in list(self.spawned):
            p = self.spawned.pop(pid)
            p.kill()
            p.wait()


class Masked:
    """A helper (this script, --serve) in a private mount namespace where an
    empty file is bind-mounted over UNIFIED_CONTROLLERS."""

    name = "private mount namespace, empty file over " + UNIFIED_CONTROLLERS

    def __init__(self, tmp):
        empty = os.path.join(tmp, "empty-controllers")
        open(empty, "w").close()
        log_path = os.path.join(tmp, "masked-helper.log")
        with open(log_path, "w") as log:
            self.proc = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", sys.executable,
                 os.path.abspath(__file__), "--serve", empty],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                start_new_session=True, text=True)
        ready = self.proc.stdout.readline()
        if ready.strip() != "ready":
            self.close()
            with open(log_path) as f:
                err = f.read().strip()
            raise BenchError("mount-namespace helper did not start: %s" % (err or ready or "no output"))

    def _call(self, **req):
        # Numbered: a call interrupted before its answer was read (Ctrl-C)
        # must not hand that answer to the next call (the clean-up's).
        self.seq = getattr(self, "seq", 0) + 1
        req["seq"] = self.seq
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise BenchError("mount-namespace helper died")
            resp = json.loads(line)
            if resp.get("seq") == self.seq:
                return resp

    def run(self, argv, cwd=None):
        r = self._call(op="run", argv=argv, cwd=cwd)
        return r["ns"], r["rc"], r["out"], r["err"]

    def spawn(self, argv):
        return self._call(op="spawn", argv=argv)["pid"]

    def wait(self, pid, timeout):
        return self._call(op="wait", pid=pid, timeout=timeout)["rc"]

    def close(self):
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def serve(empty):
    """--serve: the Masked helper.  Runs in the namespace unshare made."""
    subprocess.run(["mount", "--bind", empty, UNIFIED_CONTROLLERS], check=True)
    local = Local()
    print("ready", flush=True)
    try:
        for line in sys.stdin:
            req = json.loads(line)
            if req["op"] == "run":
                ns, rc, out, err = local.run(req["argv"], req.get("cwd"))
                resp = {"ns": ns, "rc": rc, "out": out, "err": err}
            elif req["op"] == "spawn":
                resp = {"pid": local.spawn(req["argv"])}
            elif req["op"] == "wait":
                resp = {"rc": local.wait(req["pid"], req["timeout"])}
            else:
                resp = {"error": "unknown op"}
            resp["seq"] = req.get("seq")
            print(json.dumps(resp), flush=True)
    finally:
        local.close()


# --------------------------------------------------------------------------
# Statistics and formatting

def stats(samples_ns):
    ms = sorted(x / 1e6 for x in samples_ns)
    if not ms:
        return None
    p90 = statistics.quantiles(ms, n=10, method="inclusive")[8] if len(ms) > 1 else ms[0]
    return {"median": statistics.median(ms), "p90": p90, "min": ms[0], "max": ms[-1], "n": len(ms)}


def fmt_ms(v):
    if v is None:
        return "n/a"
    return "%.2f" % v if v < 10 else "%.1f" % v


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "n/a"
    return "%.2fx" % (a / b)


def md_table(header, rows, align=None):
    """align: one of 'l'/'r' per column; default: first left, rest right."""
    align = align or "l" + "r" * (len(header) - 1)
    out = ["| " + " | ".join(header) + " |",
           "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out)


def read_status_kb(pid):
    """VmRSS, RssAnon, RssFile and the threads of pid from /proc/PID/status,
    and Pss from smaps_rollup (kB)."""
    r = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                r[k] = int(v.split()[0])
            elif k == "Threads":
                r[k] = int(v)
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    r["Pss"] = int(line.split()[1])
    except OSError:
        pass
    return r


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def ppid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("PPid:"):
                return int(line.split()[1])
    return None


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return "(no message)"


# --------------------------------------------------------------------------
# The benchmark

class Runtime:
    """An OCI runtime (crun or runc) as the benchmark drives it."""

    def __init__(self, key, binary, global_flags, label):
        self.key = key
        self.binary = binary
        self.flags = global_flags
        self.label = label
        self.runner = None
        self.unavailable = None
        self.version = None
        self.note = None

    def cmd(self, *args):
        return [self.binary] + self.flags + list(args)


class HeldExec:
    """A runner (run(argv) -> (ns, rc, out, err), as Local's) that makes one
    ExecContainer call of /bin/true on a channel held across calls."""

    def __init__(self, pb2, stub, container):
        self.pb2 = pb2
        self.stub = stub
        self.container = container

    def run(self, argv=None):
        req = self.pb2.ExecContainerRequest(container_id=self.container, command=["/bin/true"])
        t0 = time.perf_counter_ns()
        try:
            last = None
            for m in self.stub.ExecContainer(req, timeout=30):
                if m.exited:
                    last = m
        except Exception as e:  # grpc.RpcError: reported as a failed run
            return time.perf_counter_ns() - t0, 1, "", "ExecContainer: %s" % e
        t1 = time.perf_counter_ns()
        if last is None:
            return t1 - t0, 1, "", "ExecContainer: no exit status"
        return t1 - t0, last.exit_code, "", ""


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = None
        self.own_tmp = False
        self.quiltd = None
        self.local = Local()
        self.masked = None
        self.seq = 0
        self.notes = []
        self.prefix = "qb%d" % os.getpid()
        # crun creates its default state dir even for --version: remove
        # the (empty) dirs afterwards unless they were there before.
        self.default_roots = [d for d in ("/run/crun", "/run/runc") if not os.path.exists(d)]
        self.load_start = os.getloadavg()[0]
        self.detached = []      # (runtime, id) of run --detach containers
        self.channel = None
        self.net_quiltd = None  # section 6's own quiltd
        self.net_bridge = None

    # ---- set-up -----------------------------------------------------------

    def ensure_build(self):
        if not os.path.isdir(BUILD):
            print("bench: %s is missing; building it (meson setup + ninja)" % BUILD, flush=True)
            subprocess.run(["meson", "setup", BUILD], cwd=REPO, check=True)
            subprocess.run(["ninja", "-C", BUILD], cwd=REPO, check=True)
        missing = [p for p in BUILT.values() if not os.access(os.path.join(BUILD, p), os.X_OK)]
        if missing:
            raise BenchError("not built: %s (run: ninja -C build)" % ", ".join(missing))

    def snapshot_build(self):
        """Copy the binaries and plugins into the temp dir, so a rebuild of
        build/ during the run cannot mix two versions (quiltd finds
        quilt-monitor next to itself)."""
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir)
        for name, rel in BUILT.items():
            shutil.copy2(os.path.join(BUILD, rel), os.path.join(bindir, name))
        for name, rel in OPTIONAL_BUILT.items():
            if os.access(os.path.join(BUILD, rel), os.X_OK):
                shutil.copy2(os.path.join(BUILD, rel), os.path.join(bindir, name))
        self.plugins = os.path.join(self.tmp, "plugins")
        os.makedirs(self.plugins)
        for e in os.listdir(os.path.join(BUILD, "plugins")):
            if e.endswith(".so"):
                shutil.copy2(os.path.join(BUILD, "plugins", e), self.plugins)
        self.build_time = datetime.datetime.fromtimestamp(
            os.path.getmtime(os.path.join(bindir, "quiltd")), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
        self.commit = self.git("rev-parse", "--short", "HEAD") or "?"
        if self.git("status", "--porcelain", "--untracked-files=no"):
            self.commit += " + uncommitted changes"
        self.quiltd_bin = os.path.join(bindir, "quiltd")
        self.cli = os.path.join(bindir, "quilt-cli")

    def make_tmp(self):
        if self.args.tmpdir:
            self.tmp = self.args.tmpdir
            os.makedirs(self.tmp, exist_ok=True)
        else:
            self.tmp = tempfile.mkdtemp(prefix="quilt-bench-", dir="/tmp")
            self.own_tmp = True
        if not os.path.basename(self.tmp.rstrip("/")).startswith("quilt-bench-"):
            raise BenchError("--tmpdir must be named /tmp/quilt-bench-*")

    def prepare_image(self):
        self.image = os.path.join(self.tmp, "busybox.tar.gz")
        p = subprocess.run(["bash", os.path.join(REPO, "scripts", "build-busybox-rootfs.sh"), self.image],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise BenchError("building the busybox image failed: %s" % p.stderr.strip())
        self.rootfs = os.path.join(self.tmp, "rootfs")
        os.makedirs(self.rootfs)
        subprocess.run(["tar", "-xzf", self.image, "-C", self.rootfs], check=True)
        self.image_bytes = os.path.getsize(self.image)
        self.image_entries = sum(len(d) + len(f) for _, d, f in os.walk(self.rootfs))

    def make_bundle(self, rt, name, args):
        """An OCI bundle from `RT spec`: non-terminal, the five namespaces,
        args, and root.path pointing at the shared unpacked rootfs."""
        specdir = os.path.join(self.tmp, "spec-" + rt.key)
        if not os.path.exists(os.path.join(specdir, "config.json")):
            os.makedirs(specdir, exist_ok=True)
            p = subprocess.run([rt.binary, "spec"], cwd=specdir, capture_output=True, text=True)
            if p.returncode != 0:
                raise BenchError("%s spec: %s" % (rt.binary, first_line(p.stderr)))
        with open(os.path.join(specdir, "config.json")) as f:
            cfg = json.load(f)
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = args
        cfg["root"]["path"] = self.rootfs
        cfg["linux"]["namespaces"] = [{"type": t} for t in ("pid", "mount", "uts", "ipc", "network")]
        bundle = os.path.join(self.tmp, "bundle-%s-%s" % (rt.key, name))
        os.makedirs(bundle, exist_ok=True)
        with open(os.path.join(bundle, "config.json"), "w") as f:
            json.dump(cfg, f, indent=1)
        return bundle

    def next_id(self, what):
        self.seq += 1
        return "%s-%s-%d" % (self.prefix, what, self.seq)

    def probe_runtime(self, rt):
        """Find a way to run rt here, or set rt.unavailable."""
        if not rt.binary or not os.access(rt.binary, os.X_OK):
            rt.unavailable = "%s not found (apt-get install -y crun runc)" % (rt.binary or rt.key.split("-")[0])
            return
        p = subprocess.run([rt.binary, "--version"], capture_output=True, text=True)
        rt.version = first_line(p.stdout)
        try:
            rt.bundle_true = self.make_bundle(rt, "true", ["/bin/true"])
            rt.bundle_sleep = self.make_bundle(rt, "sleep", ["/bin/sleep", "60"])
        except BenchError as e:
            rt.unavailable = str(e)
            return
        os.makedirs(os.path.join(self.tmp, "root-" + rt.key), exist_ok=True)
        errors = []
        for runner in (self.local, "masked"):
            if runner == "masked":
                if not os.path.exists(UNIFIED_CONTROLLERS) or not errors or HYBRID_ERROR not in errors[-1]:
                    break
                if self.masked is None:
                    try:
                        self.masked = Masked(self.tmp)
                    except BenchError as e:
                        errors.append(str(e))
                        break
                runner = self.masked
            _, rc, out, err = runner.run(rt.cmd("run", "--bundle", rt.bundle_true, self.next_id(rt.key)))
            if rc == 0:
                rt.runner = runner
                if runner is self.masked:
                    rt.note = ("refused in the host mount namespace (`%s`); measured in a %s"
                               % (first_line(errors[-1]), runner.name))
                return
            errors.append(first_line(err or out))
        rt.unavailable = errors[-1] if errors else "cannot run"

    def start_quiltd(self):
        self.sock = os.path.join(self.tmp, "quiltd.sock")
        self.state = os.path.join(self.tmp, "state")
        log = open(os.path.join(self.tmp, "quiltd.log"), "w")
        self.quiltd = subprocess.Popen(
            [self.quiltd_bin, "--config", CONFIG, "--plugin-dir", self.plugins, "--socket", self.sock,
             "--state-dir", self.state],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        with open(os.path.join(self.tmp, "quiltd.pid"), "w") as f:
            f.write("%d\n" % self.quiltd.pid)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.quiltd.poll() is not None:
                raise BenchError("quiltd exited at start-up:\n" + self.quiltd_log())
            if os.path.exists(self.sock) and self.quilt("ps")[1] == 0:
                return
            time.sleep(0.02)
        raise BenchError("quiltd did not answer within 10 s:\n" + self.quiltd_log())

    def quiltd_log(self):
        try:
            with open(os.path.join(self.tmp, "quiltd.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def quilt(self, *args):
        return self.local.run([self.cli, "--socket", self.sock] + list(args))

    def checked_quilt(self, *args):
        ns, rc, out, err = self.quilt(*args)
        if rc != 0:
            raise BenchError("quilt-cli %s: exit %d: %s" % (" ".join(args), rc, first_line(err)))
        return ns, out

    # ---- measurements -----------------------------------------------------

    def measure_interleaved(self, targets, runs, warmup):
        """targets: [(key, runner, argv-or-callable)].  Each round runs every
        target once, rotating the order; the first `warmup` rounds are
        dropped.  Returns {key: [ns...]}."""
        samples = {k: [] for k, _, _ in targets}
        for i in range(warmup + runs):
            shift = i % len(targets)
            for key, runner, argv in targets[shift:] + targets[:shift]:
                a = argv() if callable(argv) else argv
                ns, rc, out, err = runner.run(a)
                if rc != 0:
                    raise BenchError("%s: `%s` exited %d: %s" % (key, " ".join(a), rc, first_line(err or out)))
                if i >= warmup:
                    samples[key].append(ns)
        return samples

    def bench_latency(self):
        targets = [("quilt", self.local,
                    [self.cli, "--socket", self.sock, "run", "--rm", "--image", self.image, "--", "/bin/true"]),
                   # the same under quilt-init (copied into a sealed memfd per container)
                   ("quilt-init", self.local,
                    [self.cli, "--socket", self.sock, "run", "--rm", "--init", "--image", self.image, "--",
                     "/bin/true"])]
        for rt in self.runtimes:
            if rt.runner:
                targets.append((rt.key, rt.runner,
                                lambda rt=rt: rt.cmd("run", "--bundle", rt.bundle_true, self.next_id(rt.key))))
        return self.measure_interleaved(targets, self.args.runs, self.args.warmup)

    def bench_quilt_stages(self):
        """run (no --rm) -> status --json -> rm, with wall-clock marks
        around the CLI and the daemon's created/started/finished stamps.
        Each round also unpacks the same image with GNU tar (and bsdtar,
        libarchive like Quilt, if installed) next to Quilt's state dir and
        removes the tree again: what extraction alone costs here, sampled
        under the same conditions."""
        stages = {k: [] for k in ("cli_to_created", "created_to_started", "started_to_finished",
                                  "finished_to_cli_exit", "run_total", "rm",
                                  "created_to_extract", "extract", "extract_to_started")}
        tools = [("tar", ["tar", "-xzf", self.image, "-C"])]
        if shutil.which("bsdtar"):
            tools.append(("bsdtar", ["bsdtar", "-xzf", self.image, "-C"]))
        extract = {name: [] for name, _ in tools}
        extract["rm -rf"] = []
        for i in range(self.args.warmup + self.args.runs):
            for name, argv in tools:
                d = os.path.join(self.tmp, "extract-ref")
                os.makedirs(d)
                a, rc, _, err = self.local.run(argv + [d])
                b, rc2, _, _ = self.local.run(["rm", "-rf", d])
                if rc or rc2:
                    raise BenchError("%s reference failed: %s" % (name, first_line(err)))
                if i >= self.args.warmup:
                    extract[name].append(a)
                    if name == "tar":
                        extract["rm -rf"].append(b)
            name = self.next_id("stage")
            t0 = time.time_ns()
            _, rc, _, err = self.quilt("run", "--name", name, "--image", self.image, "--", "/bin/true")
            t1 = time.time_ns()
            if rc != 0:
                raise BenchError("quilt-cli run: exit %d: %s" % (rc, first_line(err)))
            _, out = self.checked_quilt("status", name, "--json")
            st = json.loads(out)
            c, s, f = int(st["createdAtNs"]), int(st["startedAtNs"]), int(st["finishedAtNs"])
            span = self.extraction_span(st["containerId"])
            rm_ns, _ = self.checked_quilt("rm", name)
            if i < self.args.warmup:
                continue
            if span:
                stages["created_to_extract"].append(span[0] - c)
                stages["extract"].append(span[1] - span[0])
                stages["extract_to_started"].append(s - span[1])
            stages["cli_to_created"].append(c - t0)
            stages["created_to_started"].append(s - c)
            stages["started_to_finished"].append(f - s)
            stages["finished_to_cli_exit"].append(t1 - f)
            stages["run_total"].append(t1 - t0)
            stages["rm"].append(rm_ns)
        return stages, extract

    def extraction_span(self, cid):
        """(first, last) change time (ctime, CLOCK_REALTIME ns) of the
        entries of an exited container's rootfs: when its extraction began
        and ended, to the resolution of the filesystem's timestamps.  The
        rootfs directory itself is left out: pivot_root's put_old comes and
        goes in it after extraction."""
        root = os.path.join(self.state, "containers", cid, "rootfs")
        first = last = None
        for d, dirs, files in os.walk(root):
            for n in dirs + files:
                t = os.lstat(os.path.join(d, n)).st_ctime_ns
                first = t if first is None or t < first else first
                last = t if last is None or t > last else last
        return (first, last) if first is not None else None

    def bench_cli(self):
        targets = [
            ("quilt-cli --help", self.local, [self.cli, "--help"]),
            ("quilt-cli --version", self.local, [self.cli, "--version"]),
            ("quilt-cli ps", self.local, [self.cli, "--socket", self.sock, "ps"]),
        ]
        for rt in self.runtimes:
            if rt.runner and rt.key in ("crun", "runc"):
                targets.append(("%s --version" % rt.key, rt.runner, [rt.binary, "--version"]))
                targets.append(("%s list" % rt.key, rt.runner, rt.cmd("list")))
        return self.measure_interleaved(targets, self.args.runs, self.args.warmup)

    def wait_for(self, what, check, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = check()
            if r:
                return r
            time.sleep(0.02)
        raise BenchError("timed out waiting for " + what)

    def bench_memory(self, quiltd_fresh):
        k = 3
        mem = {"quiltd_fresh": quiltd_fresh}
        # Quilt: k sleeping containers, each with its monitor.
        names = []
        try:
            for _ in range(k):
                name = self.next_id("mem")
                self.checked_quilt("create", "--name", name, "--image", self.image, "--", "/bin/sleep", "60")
                names.append(name)
            monitors = []
            for name in names:
                def running(name=name):
                    st = json.loads(self.checked_quilt("status", name, "--json")[1])
                    return st["state"] == "CONTAINER_STATE_RUNNING" and int(st.get("pid", 0)) or None
                cpid = self.wait_for("container %s to run" % name, running)
                mpid = ppid(cpid)
                if comm(mpid) != "quilt-monitor":
                    raise BenchError("parent of container pid %d is %s, not quilt-monitor" % (cpid, comm(mpid)))
                monitors.append(read_status_kb(mpid))
            mem["quilt_monitor"] = monitors
            mem["quiltd_with_k"] = read_status_kb(self.quiltd.pid)
            mem["k"] = k
        finally:
            for name in names:
                self.quilt("rm", "-f", name)
        mem["quiltd_after"] = read_status_kb(self.quiltd.pid)
        # crun / runc: the foreground `run` process, which stays as the
        # container's parent (their only per-container process without conmon).
        for rt in self.runtimes:
            if not rt.runner:
                continue
            ids, samples = [], []
            try:
                for _ in range(k):
                    cid = self.next_id(rt.key + "-mem")
                    pid = rt.runner.spawn(rt.cmd("run", "--bundle", rt.bundle_sleep, cid))
                    ids.append((cid, pid))

                    def running(cid=cid):
                        _, rc, out, _ = rt.runner.run(rt.cmd("state", cid))
                        return rc == 0 and json.loads(out).get("status") == "running"
                    self.wait_for("%s container %s to run" % (rt.key, cid), running)
                    samples.append(read_status_kb(pid))
                mem[rt.key] = samples
            finally:
                for cid, pid in ids:
                    rt.runner.run(rt.cmd("kill", cid, "KILL"))
                    rt.runner.wait(pid, 10)
        return mem

    # ---- exec round-trips ----------------------------------------------------

    def grpc_stub(self):
        """Python grpc stubs generated from proto/quilt.proto into the temp
        dir (as tests/integration do): (pb2, stub on one held channel)."""
        try:
            import grpc
        except ImportError as e:
            raise BenchError("python3 grpc is not importable (%s; apt-get install python3-grpcio)" % e)
        out = os.path.join(self.tmp, "pystubs")
        os.makedirs(out, exist_ok=True)
        plugin = shutil.which("grpc_python_plugin") or "/usr/bin/grpc_python_plugin"
        p = subprocess.run(["protoc", "-I", PROTO_DIR, "--python_out=" + out, "--grpc_out=" + out,
                            "--plugin=protoc-gen-grpc=" + plugin, os.path.join(PROTO_DIR, "quilt.proto")],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise BenchError("protoc (protobuf-compiler, protobuf-compiler-grpc): %s" % first_line(p.stderr))
        sys.path.insert(0, out)
        try:
            import quilt_pb2
            import quilt_pb2_grpc
        finally:
            sys.path.remove(out)
        self.channel = grpc.insecure_channel("unix:" + self.sock)
        grpc.channel_ready_future(self.channel).result(timeout=10)
        return quilt_pb2, quilt_pb2_grpc.QuiltServiceStub(self.channel)

    def start_detached(self, rt):
        """A `sleep 3600` container of rt, started with `run --detach`.  Its
        stdio goes to a file: a detached container keeps runc's/crun's stdio
        open, and the harness reads pipes to their end."""
        bundle = self.make_bundle(rt, "exec", ["/bin/sleep", "3600"])
        cid = self.next_id(rt.key + "-exec")
        log = os.path.join(self.tmp, "%s.log" % cid)
        self.detached.append((rt, cid))
        _, rc, _, _ = rt.runner.run(["sh", "-c", 'exec "$@" >"$0" 2>&1 </dev/null', log] +
                                    rt.cmd("run", "--detach", "--bundle", bundle, cid))
        if rc != 0:
            try:
                with open(log) as f:
                    err = f.read()
            except OSError:
                err = ""
            raise BenchError("%s run --detach: exit %d: %s" % (rt.key, rc, first_line(err)))

        def running():
            _, rc, out, _ = rt.runner.run(rt.cmd("state", cid))
            return rc == 0 and json.loads(out).get("status") == "running"
        self.wait_for("%s container %s to run" % (rt.key, cid), running)
        return cid

    def remove_detached(self):
        """Kill and delete the run --detach containers; each one is tried
        even when another fails (this also runs on an interruption)."""
        failed = []
        for rt, cid in self.detached:
            try:
                rt.runner.run(rt.cmd("kill", cid, "KILL"))
                for _ in range(100):
                    _, rc, out, _ = rt.runner.run(rt.cmd("state", cid))
                    try:
                        if rc != 0 or json.loads(out).get("status") != "running":
                            break
                    except ValueError:
                        break
                    time.sleep(0.05)
                _, rc, _, err = rt.runner.run(rt.cmd("delete", "--force", cid))
                if rc != 0:
                    failed.append("%s delete --force %s: %s" % (rt.key, cid, first_line(err)))
            except Exception as e:  # keep going with the others
                failed.append("%s %s: %s" % (rt.key, cid, e))
        self.detached = []
        if failed:
            print("bench: removing detached containers: %s" % "; ".join(failed), file=sys.stderr)

    def bench_exec(self):
        """Round-trips of `/bin/true` into one long-running container per
        runtime.  Quilt: ExecContainer on one held grpc channel (in this
        process) and `quilt-cli exec` (a process, like the others); crun and
        runc: `RT exec ID /bin/true` into a `run --detach` container.
        Returns ({key: [ns...]}, {key: why unavailable}); a failure stops
        only this section, and every row then says why."""
        targets, unavailable = [], {}
        name = self.next_id("exec")
        try:
            try:
                self.checked_quilt("create", "--name", name, "--image", self.image, "--", "/bin/sleep", "3600")

                def running():
                    st = json.loads(self.checked_quilt("status", name, "--json")[1])
                    if st["state"] in ("CONTAINER_STATE_EXITED", "CONTAINER_STATE_FAILED"):
                        raise BenchError("exec container ended: %s" % st.get("errorMessage", st["state"]))
                    return st["state"] == "CONTAINER_STATE_RUNNING"
                self.wait_for("the Quilt exec container to run", running)
                _, rc, _, err = self.quilt("exec", name, "--", "/bin/true")
                if rc != 0:
                    raise BenchError("quilt-cli exec: exit %d: %s" % (rc, first_line(err)))
            except BenchError as e:
                unavailable["quilt-grpc"] = unavailable["quilt-cli"] = str(e)
            if "quilt-cli" not in unavailable:
                targets.append(("quilt-cli", self.local,
                                [self.cli, "--socket", self.sock, "exec", name, "--", "/bin/true"]))
                try:
                    targets.insert(0, ("quilt-grpc", HeldExec(*self.grpc_stub(), name),
                                       ["ExecContainer", name, "/bin/true"]))
                except BenchError as e:
                    unavailable["quilt-grpc"] = str(e)
            for rt in self.runtimes:
                if not rt.runner:
                    unavailable[rt.key] = rt.unavailable
                    continue
                try:
                    cid = self.start_detached(rt)
                except BenchError as e:
                    unavailable[rt.key] = str(e)
                    continue
                targets.append((rt.key, rt.runner, rt.cmd("exec", cid, "/bin/true")))
            samples = {}
            try:
                if targets:
                    samples = self.measure_interleaved(targets, self.args.runs, self.args.warmup)
            except BenchError as e:
                for key, _, _ in targets:
                    unavailable[key] = "failed during the measurement: %s" % e
        finally:
            if getattr(self, "channel", None) is not None:
                self.channel.close()
                self.channel = None
            self.remove_detached()
            self.quilt("rm", "-f", name)
        return samples, unavailable

    # ---- 6. network start time ------------------------------------------

    def net_subnet(self):
        """A free 10.213.N.0/24 (no host route or address in it)."""
        taken = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True,
                               text=True).stdout
        taken += subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
        for n in range(240, 10, -1):
            if "10.213.%d." % n not in taken:
                return "10.213.%d.0/24" % n
        raise BenchError("no free 10.213.N.0/24 for the bench bridge")

    def start_net_quiltd(self):
        """A second quiltd whose chain has net_loopback and net_bridge, with a
        bridge of its own (qb-XXXXXX): ip_forward = false (the host-wide
        net.ipv4.ip_forward is not touched; nothing here leaves the host),
        nat = false, remove_on_shutdown = true (bridge and nft table go at
        its stop)."""
        missing = [p for p in NET_PLUGINS if not os.path.exists(os.path.join(self.plugins, p))]
        if missing:
            raise BenchError("not built: %s" % ", ".join("plugins/" + m for m in missing))
        for tool in ("ip", "nft"):
            if not shutil.which(tool):
                raise BenchError("%s not found (iproute2, nftables)" % tool)
        self.net_bridge = "qb-%06x" % (os.getpid() & 0xffffff)
        if subprocess.run(["ip", "link", "show", "dev", self.net_bridge], capture_output=True).returncode == 0:
            raise BenchError("a link named %s exists already" % self.net_bridge)
        self.net_subnet_value = self.net_subnet()
        self.net_bridge_label = self.net_bridge
        with open(os.path.join(self.tmp, "net-bridge"), "w") as f:
            f.write(self.net_bridge + "\n")      # for run.sh's EXIT trap
        cfg = os.path.join(self.tmp, "quiltd-net.ini")
        with open(cfg, "w") as f:
            f.write("[plugins]\nchain = %s\n"
                    "[ns]\npid = true\nmount = true\nuts = true\nipc = true\nnet = true\n"
                    "proc = true\ndev = true\nsys = true\nloopback_up = true\n"
                    "[rootfs]\nmode = pivot_root\n"
                    "[net_bridge]\nbridge = %s\nsubnet = %s\nnat = false\nip_forward = false\n"
                    "remove_on_shutdown = true\ndns = %s\n"
                    % (NET_CHAIN, self.net_bridge, self.net_subnet_value,
                       self.net_subnet_value.replace(".0/24", ".53")))
        self.net_sock = os.path.join(self.tmp, "quiltd-net.sock")
        self.net_state = os.path.join(self.tmp, "state-net")
        log = open(os.path.join(self.tmp, "quiltd-net.log"), "w")
        self.net_quiltd = subprocess.Popen(
            [self.quiltd_bin, "--config", cfg, "--plugin-dir", self.plugins, "--socket", self.net_sock,
             "--state-dir", self.net_state],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        with open(os.path.join(self.tmp, "quiltd-net.pid"), "w") as f:
            f.write("%d\n" % self.net_quiltd.pid)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.net_quiltd.poll() is not None:
                raise BenchError("the network quiltd exited at start-up: %s" % self.net_log()[-500:])
            if os.path.exists(self.net_sock) and self.net_cli("ps")[1] == 0:
                return
            time.sleep(0.02)
        raise BenchError("the network quiltd did not answer within 10 s")

    def net_log(self):
        try:
            with open(os.path.join(self.tmp, "quiltd-net.log")) as f:
                return f.read()
        except OSError:
            return ""

    def net_cli(self, *args):
        return self.local.run([self.cli, "--socket", self.net_sock] + list(args))

    def bench_network(self):
        """Start cost of the network modes on one daemon: `run --rm
        --network MODE -- /bin/true` interleaved, and the daemon-side
        `created` -> `started` of the same without --rm (status --json,
        then rm).  Returns (samples, stages, unavailable-reason)."""
        try:
            self.start_net_quiltd()
        except BenchError as e:
            return None, None, str(e)
        try:
            # the first bridge container creates the bridge (lazily): one
            # untimed run, so no timed round pays for it
            _, rc, out, err = self.net_cli("run", "--rm", "--network", "bridge", "--image", self.image,
                                           "--", "/bin/true")
            if rc != 0:
                return None, None, "run --network bridge: exit %d: %s" % (rc, first_line(err or out))
            targets = [("net-" + m, self.local,
                        [self.cli, "--socket", self.net_sock, "run", "--rm", "--network", m,
                         "--image", self.image, "--", "/bin/true"]) for m in NET_MODES]
            samples = self.measure_interleaved(targets, self.args.runs, self.args.warmup)
            stages = {m: [] for m in NET_MODES}
            for i in range(self.args.warmup + self.args.runs):
                order = NET_MODES[i % 3:] + NET_MODES[:i % 3]
                for m in order:
                    name = self.next_id("net")
                    _, rc, out, err = self.net_cli("run", "--name", name, "--network", m, "--image",
                                                   self.image, "--", "/bin/true")
                    if rc != 0:
                        raise BenchError("run --network %s: exit %d: %s" % (m, rc, first_line(err or out)))
                    _, rc, out, err = self.net_cli("status", name, "--json")
                    self.net_cli("rm", name)
                    if rc != 0:
                        raise BenchError("status: %s" % first_line(err))
                    st = json.loads(out)
                    if i >= self.args.warmup:
                        stages[m].append(int(st["startedAtNs"]) - int(st["createdAtNs"]))
            return samples, stages, None
        except BenchError as e:
            return None, None, str(e)
        finally:
            self.stop_net_quiltd()

    def stop_net_quiltd(self):
        """Stop the network quiltd; check that it removed its bridge and nft
        table (remove_on_shutdown = true) and remove them itself if not."""
        if self.net_quiltd and self.net_quiltd.poll() is None:
            if os.path.exists(self.net_sock):
                _, rc, out, _ = self.net_cli("ps", "--json")
                if rc == 0:
                    try:
                        for c in json.loads(out).get("containers", []):
                            self.net_cli("rm", "-f", c["containerId"])
                    except (ValueError, KeyError, AttributeError):
                        pass
            self.net_quiltd.send_signal(signal.SIGTERM)
            try:
                self.net_quiltd.wait(20)
            except subprocess.TimeoutExpired:
                print("bench: the network quiltd ignored SIGTERM; killing it", file=sys.stderr)
                self.net_quiltd.kill()
                self.net_quiltd.wait()
        if not self.net_bridge:
            return
        table = "quilt_" + self.net_bridge.replace("-", "_")
        left = []
        if subprocess.run(["ip", "link", "show", "dev", self.net_bridge], capture_output=True).returncode == 0:
            left.append("bridge " + self.net_bridge)
            subprocess.run(["ip", "link", "del", "dev", self.net_bridge], capture_output=True)
        if subprocess.run(["nft", "list", "table", "ip", table], capture_output=True).returncode == 0:
            left.append("nft table ip " + table)
            subprocess.run(["nft", "delete", "table", "ip", table], capture_output=True)
        if left:
            self.notes.append("The network quiltd left %s behind at its stop although "
                              "remove_on_shutdown = true; the bench removed it." % " and ".join(left))
        self.net_bridge = None

    def report_network(self, samples, stages, unavailable):
        L = ["## 6. Network start time: `run --rm --network bridge` vs `loopback`", ""]
        if unavailable:
            L.append("unavailable: %s" % unavailable)
            L.append("")
            return L
        st = {m: stats(samples["net-" + m]) for m in NET_MODES}
        ds = {m: stats(stages[m]) for m in NET_MODES}
        lo, lo_d = st["loopback"]["median"], ds["loopback"]["median"]
        rows = []
        for m in NET_MODES:
            rows.append(("`quilt-cli run --rm --network %s ... -- /bin/true`" % m, fmt_ms(st[m]["median"]),
                         fmt_ms(st[m]["p90"]), fmt_ms(st[m]["min"]), fmt_ratio(st[m]["median"], lo),
                         fmt_ms(ds[m]["median"]), fmt_ratio(ds[m]["median"], lo_d)))
        L.append(md_table(["command", "median ms", "p90 ms", "min ms", "this / loopback",
                           "`created` → `started` median ms", "this / loopback"], rows))
        L.append("")
        br, br_d = st["bridge"]["median"], ds["bridge"]["median"]
        L.append("Bridge mode costs %s ms more per `run --rm` than loopback (median, %s), %s ms of it "
                 "between `created` and `started` on the daemon's side (%s)."
                 % (fmt_ms(br - lo), fmt_ratio(br, lo), fmt_ms(br_d - lo_d), fmt_ratio(br_d, lo_d)))
        L.append("")
        L.append("A second quiltd of its own, chain `%s`, bridge `%s` with subnet %s, `nat = false`, "
                 "`ip_forward = false` (the host-wide setting is not touched), `remove_on_shutdown = "
                 "true`. The three modes run interleaved in rotating order, %d runs each after %d "
                 "warm-up rounds; the bridge exists before the first timed run (one untimed bridge "
                 "container creates it). Bridge mode per container: an address lease, hosts and "
                 "resolv.conf, a veth pair with one end moved into the container and configured, "
                 "its removal and the lease's on `--rm`. The `created` → `started` column comes "
                 "from the same container run without `--rm` (`status --json`, then `rm`)."
                 % (NET_CHAIN, self.net_bridge_label, self.net_subnet_value, self.args.runs,
                    self.args.warmup))
        L.append("")
        return L

    # ---- running it all ---------------------------------------------------

    def run(self):
        started = time.monotonic()
        self.ensure_build()
        self.make_tmp()
        self.snapshot_build()
        print("bench: preparing images and bundles in %s" % self.tmp, flush=True)
        self.prepare_image()
        if self.args.network_only:
            self.runtimes = []
            print("bench: network start time only, bridge vs loopback", flush=True)
            network = self.bench_network()
            L = ["# Quilt network start time", "",
                 "Generated by `bench/run.sh --network-only --runs %d` (warm-up %d rounds, dropped) in "
                 "%.0f s; medians and p90s in milliseconds." % (self.args.runs, self.args.warmup,
                                                                 time.monotonic() - started), "",
                 md_table(["", ""], self.environment(), "ll"), ""]
            L += self.report_network(*network)
            L += ["- " + n for n in self.notes]
            self.write_report("\n".join(L))
            return
        crun = self.args.crun if self.args.crun else shutil.which("crun")
        runc = self.args.runc if self.args.runc else shutil.which("runc")
        self.runtimes = [
            Runtime("crun", crun, ["--root", os.path.join(self.tmp, "root-crun"), "--cgroup-manager=disabled"],
                    "crun --cgroup-manager=disabled"),
            Runtime("crun-cgroupfs", crun, ["--root", os.path.join(self.tmp, "root-crun-cgroupfs")],
                    "crun (default cgroupfs manager)"),
            Runtime("runc", runc, ["--root", os.path.join(self.tmp, "root-runc")], "runc"),
        ]
        for rt in self.runtimes:
            self.probe_runtime(rt)
        self.start_quiltd()
        quiltd_fresh = read_status_kb(self.quiltd.pid)
        n = self.args.runs
        print("bench: 1/6 start-to-exit latency (%d runs + %d warm-up each)" % (n, self.args.warmup), flush=True)
        latency = self.bench_latency()
        print("bench: 2/6 Quilt stage breakdown", flush=True)
        stages, extract = self.bench_quilt_stages()
        print("bench: 3/6 CLI start-up", flush=True)
        cli = self.bench_cli()
        print("bench: 4/6 memory", flush=True)
        mem = self.bench_memory(quiltd_fresh)
        print("bench: 5/6 exec round-trip of /bin/true", flush=True)
        execs = self.bench_exec()
        print("bench: 6/6 network start time, bridge vs loopback", flush=True)
        network = self.bench_network()
        elapsed = time.monotonic() - started
        report = self.report(latency, stages, extract, cli, mem, execs, network, elapsed)
        self.write_report(report)

    def write_report(self, report):
        print()
        print(report)
        if not self.args.no_write:
            os.makedirs(os.path.dirname(self.args.output), exist_ok=True)
            with open(self.args.output, "w") as f:
                f.write(report + "\n")
            print("bench: written to %s" % os.path.relpath(self.args.output, REPO))

    # ---- report -----------------------------------------------------------

    @staticmethod
    def git(*args):
        try:
            return subprocess.run(("git",) + args, capture_output=True, text=True, cwd=REPO).stdout.strip()
        except OSError:
            return ""

    def environment(self):
        cpu = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        layout = "cgroup v1"
        if os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            layout = "cgroup v2 (unified)"
        elif os.path.exists(UNIFIED_CONTROLLERS):
            with open(UNIFIED_CONTROLLERS) as f:
                ctl = f.read().strip() or "none"
            layout = "hybrid: v1 controllers + cgroup2 at /sys/fs/cgroup/unified (controllers: %s)" % ctl
        fs = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "-T", self.tmp],
                            capture_output=True, text=True).stdout.strip() or "?"
        rows = [
            ("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")),
            ("quilt", "HEAD %s; %s/ binaries of %s UTC (buildtype %s)"
             % (self.commit, os.path.relpath(BUILD, REPO), self.build_time, self.buildtype())),
            ("kernel", platform.release()),
            ("cpu", "%s, %d online" % (cpu, os.cpu_count())),
            ("load average (1 min)", "%.2f at the start, %.2f at the end" % (self.load_start, os.getloadavg()[0])),
            ("cgroups", layout),
            ("/tmp filesystem", fs),
        ]
        for rt in self.runtimes:
            if rt.key != "crun-cgroupfs":
                rows.append((rt.key, rt.version or "not installed"))
        return rows

    def buildtype(self):
        try:
            p = subprocess.run(["meson", "introspect", "--buildoptions", BUILD], capture_output=True, text=True)
            for o in json.loads(p.stdout):
                if o["name"] == "buildtype":
                    return o["value"]
        except (OSError, ValueError):
            pass
        return "?"

    def report(self, latency, stages, extract, cli, mem, execs, network, elapsed):
        L = []
        a = self.args
        L.append("# Quilt vs crun vs runc")
        L.append("")
        L.append("Generated by `bench/run.sh --runs %d` (warm-up %d rounds, dropped) in %.0f s. "
                 "Times are wall-clock per command, spawned from Python; median and p90 (linear "
                 "interpolation) in milliseconds. Ratio = Quilt median / other median "
                 "(> 1 means Quilt is slower)." % (a.runs, a.warmup, elapsed))
        L.append("")
        L.append(md_table(["", ""], self.environment(), "ll"))
        L.append("")

        # availability
        L.append("## Runtimes")
        L.append("")
        rows = []
        for rt in self.runtimes:
            if rt.unavailable:
                rows.append((rt.label, "unavailable: %s" % rt.unavailable))
            else:
                rows.append((rt.label, "ok" + (" (in a private mount namespace, see Notes)" if rt.note else "")))
        L.append(md_table(["runtime", "status"], rows, "ll"))
        L.append("")

        # 1. latency
        q = stats(latency["quilt"])
        L.append("## 1. Start-to-exit latency of `/bin/true`")
        L.append("")
        rows = [("quilt-cli run --rm --image TAR -- /bin/true", fmt_ms(q["median"]), fmt_ms(q["p90"]),
                 fmt_ms(q["min"]), "1.00x")]
        qi = stats(latency["quilt-init"])
        rows.append(("quilt-cli run --rm --init --image TAR -- /bin/true", fmt_ms(qi["median"]),
                     fmt_ms(qi["p90"]), fmt_ms(qi["min"]), fmt_ratio(q["median"], qi["median"])))
        for rt in self.runtimes:
            label = "%s run --bundle B ID" % rt.label
            if rt.unavailable:
                rows.append((label, "unavailable: " + rt.unavailable, "", "", "n/a"))
                continue
            s = stats(latency[rt.key])
            rows.append((label, fmt_ms(s["median"]), fmt_ms(s["p90"]), fmt_ms(s["min"]),
                         fmt_ratio(q["median"], s["median"])))
        L.append(md_table(["command", "median ms", "p90 ms", "min ms", "Quilt / this"], rows))
        L.append("")
        L.append("Quilt extracts the gzip'd busybox tarball (%d KiB, %d entries) into a fresh rootfs on "
                 "every run and deletes it again on `--rm` (image caching comes in a later issue); "
                 "crun and runc start from the already-unpacked rootfs. Chain: `ns, rootfs, mounts, setup` from "
                 "`conf/quiltd.ini` (pid, mount, uts, ipc, net namespaces; /proc, /dev, /sys; lo up; "
                 "pivot_root); no cgroups. The OCI bundles are `crun spec` / `runc spec` with "
                 "`terminal: false`, the same five namespaces and args `[\"/bin/true\"]`; they keep "
                 "those specs' mounts, masked paths, capabilities and rlimits."
                 % (self.image_bytes // 1024, self.image_entries))
        L.append("")

        # Quilt stages
        L.append("### Where Quilt's time goes")
        L.append("")
        L.append("`quilt-cli run` without `--rm`, then `status --json` (daemon stamps `createdAtNs`, "
                 "`startedAtNs`, `finishedAtNs`, CLOCK_REALTIME) and `quilt-cli rm`, %d runs." % a.runs)
        L.append("")
        labels = [
            ("cli_to_created", "quilt-cli start → CreateContainer reaches the manager (`created`)"),
            ("created_to_started", "`created` → `started`: state dir, monitor spawn, image (overlay over the store, or extract), clone, in_child set-up, exec"),
            ("created_to_extract", "&nbsp;&nbsp;↳ `created` → first rootfs entry written (state dir, monitor spawn, plugin load)"),
            ("extract", "&nbsp;&nbsp;↳ first → last rootfs entry (extraction by the rootfs plugin)"),
            ("extract_to_started", "&nbsp;&nbsp;↳ last rootfs entry → `started` (pre_clone, clone, in_child: mounts, pivot_root; exec)"),
            ("started_to_finished", "`started` → `finished`: /bin/true runs, monitor reaps it"),
            ("finished_to_cli_exit", "`finished` → quilt-cli exits: log stream ends, final status"),
            ("run_total", "= `quilt-cli run` (no --rm) total"),
            ("rm", "`quilt-cli rm` afterwards (a whole CLI invocation: cleanup + rootfs removal)"),
        ]
        rows = []
        for key, label in labels:
            s = stats(stages[key])
            if s:
                rows.append((label, fmt_ms(s["median"]), fmt_ms(s["p90"])))
        for name, label in (("tar", "reference: GNU `tar -xzf` of the same image, same filesystem (a process)"),
                            ("bsdtar", "reference: `bsdtar -xzf` (libarchive, as Quilt) of it (a process)"),
                            ("rm -rf", "reference: `rm -rf` of that tree (a process)")):
            if name in extract:
                s = stats(extract[name])
                rows.append((label, fmt_ms(s["median"]), fmt_ms(s["p90"])))
        L.append(md_table(["stage", "median ms", "p90 ms"], rows))
        L.append("")
        L.append("The three ↳ rows split `created` → `started` using the change times (ctime) of the "
                 "entries of the container's rootfs, read before `rm`; they are as fine as the "
                 "filesystem's timestamps.")
        L.append("")
        total = stats(stages["run_total"])["median"]
        shares = []
        for key, what in (("extract", "extracting the image"),
                          ("finished_to_cli_exit", "after the container had exited")):
            s = stats(stages[key])
            if s and total:
                shares.append("%s %.0f%%" % (what, 100 * s["median"] / total))
        ext = stats(stages["extract"])
        if shares:
            line = "Share of the median `quilt-cli run` total: " + ", ".join(shares) + "."
            if ext:
                line += " Extraction costs %.3f ms per tar entry." % (ext["median"] / max(1, self.image_entries))
            L.append(line)
            L.append("")
        daemon_side = [c + s for c, s in zip(stages["created_to_started"], stages["started_to_finished"])]
        d = stats(daemon_side)
        parts = ["Daemon side only (`created` → `finished`): median %s ms" % fmt_ms(d["median"])]
        for rt in self.runtimes:
            if rt.runner:
                parts.append("%s of `%s run`" % (fmt_ratio(d["median"], stats(latency[rt.key])["median"]), rt.key))
        L.append(parts[0] + " — " + ", ".join(parts[1:]) + ".")
        L.append("")

        # 2. CLI
        L.append("## 2. CLI start-up")
        L.append("")
        base = {}
        for rt in ("crun", "runc"):
            if ("%s --version" % rt) in cli:
                base[rt] = stats(cli["%s --version" % rt])["median"]
        rows = []
        for key in cli:
            s = stats(cli[key])
            if key.startswith("quilt"):
                r = [fmt_ratio(s["median"], base.get(rt)) for rt in ("crun", "runc")]
            else:
                r = ["", ""]
            rows.append(("`%s`" % key, fmt_ms(s["median"]), fmt_ms(s["p90"]), r[0], r[1]))
        for rt in self.runtimes:
            if rt.key in ("crun", "runc") and rt.unavailable:
                rows.append(("`%s --version`" % rt.key, "unavailable: " + rt.unavailable, "", "", ""))
        L.append(md_table(["command", "median ms", "p90 ms", "Quilt / crun --version",
                           "Quilt / runc --version"], rows))
        L.append("")
        L.append("`quilt-cli --help` and `--version` never touch grpc; `quilt-cli ps` connects to the "
                 "daemon and makes one ListContainers call (no containers at that point). "
                 "`crun list` / `runc list` read their (empty) state directory, shown for comparison.")
        L.append("")

        # 3. memory
        L.append("## 3. Memory (kB)")
        L.append("")
        def m(sample, key="VmRSS"):
            return sample.get(key, "n/a") if sample else "n/a"
        def med(samples, key):
            vals = [s[key] for s in samples if key in s]
            return int(statistics.median(vals)) if vals else None
        def one(label, sample):
            return (label, m(sample), m(sample, "RssAnon"), m(sample, "Pss"), sample.get("Threads", ""))

        def many(label, samples):
            return (label, med(samples, "VmRSS"), med(samples, "RssAnon"), med(samples, "Pss"), "")
        rows = [
            one("quiltd, idle after start-up", mem["quiltd_fresh"]),
            one("quiltd with %d containers running" % mem["k"], mem["quiltd_with_k"]),
            one("quiltd, idle after the benchmark", mem["quiltd_after"]),
            many("quilt-monitor, per running container (median of %d)" % mem["k"], mem["quilt_monitor"]),
        ]
        for rt in self.runtimes:
            if rt.key == "crun-cgroupfs":
                continue
            rows.append(("%s daemon" % rt.key, "n/a (no daemon)", "n/a", "n/a", ""))
            if rt.unavailable:
                rows.append(("%s per container" % rt.key, "unavailable: " + rt.unavailable, "", "", ""))
                continue
            rows.append(many("`%s run` in the foreground, per running container (median of %d)"
                             % (rt.key, mem["k"]), mem[rt.key]))
            rows.append(("%s per container with `run -d` (no conmon)" % rt.key, "n/a (no process stays)",
                         "n/a", "n/a", ""))
        L.append(md_table(["process", "VmRSS", "RssAnon", "Pss", "threads"], rows))
        L.append("")
        mon = med(mem["quilt_monitor"], "VmRSS")
        parts = []
        for rt in ("crun", "runc"):
            if rt in mem:
                parts.append("Quilt monitor / `%s run`: %s" % (rt, fmt_ratio(mon, med(mem[rt], "VmRSS"))))
        if parts:
            L.append("VmRSS ratios: " + "; ".join(parts) + ". VmRSS counts every resident page "
                     "mapped, shared libraries included; RssAnon is the process's own anonymous "
                     "memory; Pss splits shared pages among the processes that map them.")
            L.append("")

        # 4. exec
        L += self.report_exec(*execs)

        # 6. network
        L += self.report_network(*network)

        # notes
        L.append("## Notes")
        L.append("")
        noted = set()
        for rt in self.runtimes:
            if rt.note and rt.note not in noted:
                noted.add(rt.note)
                keys = ", ".join(r.key for r in self.runtimes if r.note == rt.note)
                L.append("- %s: %s. `--cgroup-manager` does not help: crun 1.8 makes that check "
                         "before it looks at the manager. The host is not changed." % (keys, rt.note))
        L.append("- `crun --cgroup-manager=disabled` creates no cgroups, like Quilt's default chain "
                 "(conf/quiltd.ini has no cgroup plugin); `crun-cgroupfs` and runc (which has no switch "
                 "to turn cgroups off) create and remove a cgroup in every v1 hierarchy per container.")
        for n in self.notes:
            L.append("- " + n)
        L.append("- crun/runc state lives in `--root` directories under the temporary directory; "
                 "every timed command is a fresh process started with `subprocess.run` from the same "
                 "Python harness, rounds interleave the runtimes in rotating order.")
        return "\n".join(L)

    def report_exec(self, samples, unavailable):
        L = ["## 4. Exec round-trip of `/bin/true` into a running container", ""]
        rows = []
        st = {k: stats(v) for k, v in samples.items()}
        base = {rt: st[rt]["median"] for rt in ("crun", "runc") if st.get(rt)}
        labels = [("quilt-grpc", "Quilt: ExecContainer on one held grpc channel (Python client)"),
                  ("quilt-cli", "Quilt: `quilt-cli exec ID -- /bin/true` (a process)")]
        labels += [(rt.key, "`%s exec ID /bin/true`" % rt.label) for rt in self.runtimes]
        for key, label in labels:
            if key in unavailable or key not in st or not st[key]:
                rows.append((label, "unavailable: %s" % unavailable.get(key, "not measured"), "", "", "", ""))
                continue
            s = st[key]
            if key.startswith("quilt"):
                r = [fmt_ratio(s["median"], base.get(rt)) for rt in ("crun", "runc")]
            else:
                r = ["", ""]
            rows.append((label, fmt_ms(s["median"]), fmt_ms(s["p90"]), fmt_ms(s["min"]), r[0], r[1]))
        L.append(md_table(["round-trip", "median ms", "p90 ms", "min ms", "Quilt / crun exec",
                           "Quilt / runc exec"], rows))
        L.append("")
        L.append("One container per runtime whose main process is `/bin/sleep 3600`: Quilt's created "
                 "through the API with the default chain, crun's and runc's with `run --detach` from a "
                 "bundle like the ones above (the same five namespaces, the same rootfs). %d round-trips "
                 "each after %d warm-up rounds, interleaved in rotating order. The held-channel row is "
                 "one ExecContainer call from the harness's own process on a grpc channel opened "
                 "once (connection set-up excluded), timed from the call to the last message "
                 "(`exited`); every other row is a fresh process (`quilt-cli exec` pays its own "
                 "process start and grpc connect, as `crun exec` / `runc exec` pay theirs). Each "
                 "exec's exit code is checked (0)." % (self.args.runs, self.args.warmup))
        L.append("")
        return L

    # ---- tearing down -----------------------------------------------------

    def stop_quiltd(self):
        if not self.quiltd or self.quiltd.poll() is not None:
            return
        # Leftover containers first, so their monitors clean up their rootfs.
        if os.path.exists(self.sock):
            _, rc, out, _ = self.quilt("ps", "--json")
            if rc == 0:
                try:
                    for c in json.loads(out).get("containers", []):
                        self.quilt("rm", "-f", c["containerId"])
                except (ValueError, KeyError, AttributeError):
                    pass
        self.quiltd.send_signal(signal.SIGTERM)
        try:
            self.quiltd.wait(20)
        except subprocess.TimeoutExpired:
            print("bench: quiltd ignored SIGTERM; killing it", file=sys.stderr)
            self.quiltd.kill()
            self.quiltd.wait()

    def leftover_cgroups(self):
        """rmdir cgroups named after our container ids (runc/crun remove them
        themselves; this only matters after an interruption)."""
        root = "/sys/fs/cgroup"
        try:
            hierarchies = os.listdir(root)
        except OSError:
            return
        for h in hierarchies:
            d = os.path.join(root, h)
            try:
                for e in os.listdir(d):
                    if e.startswith(self.prefix + "-"):
                        try:
                            os.rmdir(os.path.join(d, e))
                        except OSError:
                            pass
            except OSError:
                pass

    def cleanup(self):
        for step in (self.remove_detached, lambda: self.masked and self.masked.close(),
                     self.stop_quiltd, self.stop_net_quiltd, self.local.close,
                     self.leftover_cgroups, self.remove_tmp, self.remove_default_roots):
            try:
                step()
            except Exception as e:  # keep going: the rest must still be cleaned
                print("bench: cleanup: %s" % e, file=sys.stderr)

    def remove_default_roots(self):
        for d in self.default_roots:
            try:
                os.rmdir(d)
            except OSError:
                pass

    def remove_tmp(self):
        if not self.tmp or not os.path.isdir(self.tmp):
            return
        prefix = os.path.realpath(self.tmp) + "/"
        with open("/proc/self/mountinfo") as f:
            mounts = [l.split()[4] for l in f if l.split()[4].startswith(prefix)]
        if mounts:
            print("bench: not removing %s: still mounted: %s" % (self.tmp, ", ".join(mounts)), file=sys.stderr)
            return
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    global BUILD
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(sys.argv[2])
        return 0
    ap = argparse.ArgumentParser(description="Quilt vs crun vs runc (see bench/README.md)")
    ap.add_argument("--runs", type=int, default=30, help="measured runs per command (default 30)")
    ap.add_argument("--warmup", type=int, default=3, help="warm-up rounds, dropped (default 3)")
    ap.add_argument("--output", help="report file (default bench/results/latest.md; with "
                    "--network-only bench/results/network.md)")
    ap.add_argument("--no-write", action="store_true", help="print only, write no report file")
    ap.add_argument("--crun", help="crun binary (default: from PATH)")
    ap.add_argument("--runc", help="runc binary (default: from PATH)")
    ap.add_argument("--build", default=BUILD,
                    help="meson build dir whose binaries are measured (default: build/)")
    ap.add_argument("--network-only", action="store_true",
                    help="measure only section 6 (network start time, bridge vs loopback)")
    ap.add_argument("--tmpdir", help=argparse.SUPPRESS)  # given by run.sh
    args = ap.parse_args()
    BUILD = os.path.abspath(args.build)
    if not args.output:
        args.output = NETWORK_OUTPUT if args.network_only else DEFAULT_OUTPUT
    if args.runs < 2:
        ap.error("--runs must be at least 2")
    if os.geteuid() != 0:
        print("bench: must run as root", file=sys.stderr)
        return 1

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)   # also when started with SIGINT ignored
    signal.signal(signal.SIGHUP, on_term)

    b = Bench(args)
    try:
        b.run()
        return 0
    except BenchError as e:
        print("bench: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        b.cleanup()


if __name__ == "__main__":
    sys.exit(main())
