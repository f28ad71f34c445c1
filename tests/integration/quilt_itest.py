# SPDX-License-Identifier: MIT
"""Helpers for Quilt's integration tests.

Everything here drives the real binaries of a meson build directory
(QUILT_BUILD_DIR) and cleans up after itself:

  * every host object is named quilt-test-* and lives under one session
    temp dir (/tmp/quilt-test-XXXX);
  * processes are only ever killed by pid, and only those that descend from
    a process these tests started (the test process is made a child
    subreaper, so a monitor that double-forks still ends up below us);
  * the temp dir is removed only when nothing is mounted below it, without
    following symlinks.
"""

import contextlib
import ctypes
import errno
import io
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tarfile
import time

STATE_PREFIX = "CONTAINER_STATE_"
TERMINAL = ("EXITED", "FAILED")

# --------------------------------------------------------------------------
# Paths
# --------------------------------------------------------------------------


def source_dir():
    env = os.environ.get("QUILT_SOURCE_DIR")
    if env:
        return os.path.abspath(env)
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def build_dir():
    env = os.environ.get("QUILT_BUILD_DIR")
    if env:
        return os.path.abspath(env)
    return os.path.join(source_dir(), "build")


class Paths:
    def __init__(self):
        self.src = source_dir()
        self.build = build_dir()
        self.quiltd = os.path.join(self.build, "core", "quiltd")
        self.monitor = os.path.join(self.build, "core", "quilt-monitor")
        self.cli = os.path.join(self.build, "cli", "quilt-cli")
        self.plugin_dir = os.path.join(self.build, "plugins")
        self.test_plugin_dir = os.path.join(self.build, "tests", "plugins")
        self.conf_default = os.path.join(self.src, "conf", "quiltd.ini")
        self.conf_minimal = os.path.join(self.src, "conf", "minimal.ini")
        self.proto_dir = os.path.join(self.src, "proto")

    def missing(self):
        return [p for p in (self.quiltd, self.monitor, self.cli)
                if not os.access(p, os.X_OK)]


# --------------------------------------------------------------------------
# Processes: every child we start is registered, so that reaping orphans
# (we are a subreaper) never steals the exit status of our own Popen.
# --------------------------------------------------------------------------

_live_popen = set()
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def spawn(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    _live_popen.add(p.pid)
    return p


def finished(p):
    _live_popen.discard(p.pid)


def wait_popen(p, timeout):
    """Wait for p; on timeout SIGKILL it (by pid) and return None."""
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_pid(p.pid)
        p.wait()
        rc = None
    finished(p)
    return rc


class Result:
    def __init__(self, argv, rc, out, err, elapsed, timed_out=False):
        self.argv = argv
        self.rc = rc
        self.out = out
        self.err = err
        self.elapsed = elapsed
        self.timed_out = timed_out

    def __repr__(self):
        def cut(s):
            if isinstance(s, bytes):
                s = s.decode("utf-8", "replace")
            return s if len(s) < 3000 else s[:1500] + "\n[...]\n" + s[-1500:]
        return ("$ %s\n-> rc=%s%s (%.2fs)\n--- stdout ---\n%s\n--- stderr ---\n%s"
                % (" ".join(self.argv), self.rc, " TIMED OUT" if self.timed_out else "",
                   self.elapsed, cut(self.out), cut(self.err)))


def run_cmd(argv, timeout=60, text=True, stdin_data=None, env=None, stdout=None):
    """Run argv with a timeout; never raises on failure. stdout may be a file."""
    t0 = time.monotonic()
    p = spawn(argv, stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
              stdout=stdout if stdout is not None else subprocess.PIPE,
              stderr=subprocess.PIPE, env=env)
    timed_out = False
    try:
        out, err = p.communicate(input=stdin_data, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_pid(p.pid)
        out, err = p.communicate()
    finished(p)
    out = out if out is not None else b""
    if text:
        out = out.decode("utf-8", "replace")
        err = err.decode("utf-8", "replace")
    return Result([str(a) for a in argv], None if timed_out else p.returncode,
                  out, err, time.monotonic() - t0, timed_out)


def kill_pid(pid, sig=signal.SIGKILL):
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def proc_stat(pid):
    """(state, ppid, starttime) of pid, or None when it is gone."""
    data = _read("/proc/%d/stat" % pid)
    if not data:
        return None
    rest = data[data.rindex(b")") + 2:].split()
    return rest[0].decode(), int(rest[1]), int(rest[19])


def pid_alive(pid, starttime=None):
    """True while pid exists and is not a zombie (and, when starttime is
    given, is still the same process, not a recycled pid)."""
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return starttime is None or st[2] == starttime


def idents(pids):
    """{pid: starttime} for the pids that exist."""
    out = {}
    for pid in pids:
        st = proc_stat(pid)
        if st:
            out[pid] = st[2]
    return out


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def ppid_map():
    m = {}
    for pid in all_pids():
        st = proc_stat(pid)
        if st:
            m[pid] = st
    return m


def descendants(roots, m=None):
    """Live (non-zombie) descendants of the roots, roots excluded."""
    m = m if m is not None else ppid_map()
    children = {}
    for pid, (_, ppid, _) in m.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = set(), list(roots)
    while todo:
        for c in children.get(todo.pop(), []):
            if c not in out:
                out.add(c)
                todo.append(c)
    return {p for p in out if m.get(p, ("X",))[0] not in ("Z", "X")}


def reap_orphans():
    """Reap zombies that were re-parented to us (subreaper), not our Popens."""
    me = os.getpid()
    for pid, (state, ppid, _) in ppid_map().items():
        if ppid == me and state == "Z" and pid not in _live_popen:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


def orphans():
    """Live children of the test process that no Popen of ours owns."""
    me = os.getpid()
    return {pid for pid, (state, ppid, _) in ppid_map().items()
            if ppid == me and pid not in _live_popen and state not in ("Z", "X")}


def describe_pids(pids):
    lines = []
    for pid in sorted(pids):
        cmd = (_read("/proc/%d/cmdline" % pid) or b"").replace(b"\0", b" ").decode("utf-8", "replace")
        try:
            exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            exe = "?"
        lines.append("  pid %d exe=%s cmd=%s" % (pid, exe, cmd.strip()))
    return "\n".join(lines)


def processes_mentioning(path, exes=()):
    """Live processes whose cmdline mentions path or whose exe is in exes."""
    found = set()
    needle = path.encode()
    exes = {os.path.realpath(e) for e in exes}
    for pid in all_pids():
        if pid == os.getpid():
            continue
        cmd = _read("/proc/%d/cmdline" % pid) or b""
        try:
            exe = os.readlink("/proc/%d/exe" % pid)
        except OSError:
            exe = ""
        if (needle in cmd and exe in exes) and pid_alive(pid):
            found.add(pid)
    return found


def poll(fn, timeout, interval=0.05):
    """Call fn until it returns a truthy value or timeout; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)
        interval = min(interval * 1.5, 0.5)


# --------------------------------------------------------------------------
# Mounts
# --------------------------------------------------------------------------


def _unescape_mount(s):
    return (s.replace("\\040", " ").replace("\\011", "\t")
            .replace("\\012", "\n").replace("\\134", "\\"))


def mountinfo(pid="self"):
    data = _read("/proc/%s/mountinfo" % pid) or b""
    return data.decode("utf-8", "replace").splitlines()


def mount_lines_containing(path):
    """mountinfo lines of our mount namespace that mention path."""
    path = path.rstrip("/")
    return [line for line in mountinfo() if path in _unescape_mount(line)]


def mount_points(pid="self"):
    return [_unescape_mount(line.split()[4]) for line in mountinfo(pid)]


MNT_DETACH = 2


def lazy_umount_under(path):
    """Detach every mount whose mount point is under path (deepest first)."""
    libc = ctypes.CDLL(None, use_errno=True)
    done = []
    path = path.rstrip("/")
    for mp in sorted(set(mount_points()), key=len, reverse=True):
        if mp == path or mp.startswith(path + "/"):
            if libc.umount2(mp.encode(), MNT_DETACH) == 0:
                done.append(mp)
    return done


def safe_rmtree(path):
    """rm -rf path, refusing while anything is mounted there."""
    if not os.path.basename(path.rstrip("/")).startswith("quilt-test-"):
        raise RuntimeError("refusing to remove %s: not a quilt-test- dir" % path)
    left = [mp for mp in mount_points() if mp == path or mp.startswith(path.rstrip("/") + "/")]
    if left:
        raise RuntimeError("refusing to remove %s: still mounted: %s" % (path, left))
    if os.path.islink(path):
        raise RuntimeError("refusing to remove %s: a symlink" % path)
    # shutil.rmtree uses the fd-based walk on Linux (openat/unlinkat): it
    # never follows a symlink out of the tree.
    assert shutil.rmtree.avoids_symlink_attacks
    shutil.rmtree(path)


# --------------------------------------------------------------------------
# Rootfs tarballs
# --------------------------------------------------------------------------


def _ti(name, kind=tarfile.REGTYPE, mode=0o644, size=0, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.size = size
    ti.linkname = linkname
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = "root"
    ti.mtime = int(time.time())
    return ti


def add_dir(tf, name, mode=0o755):
    tf.addfile(_ti(name, tarfile.DIRTYPE, mode))


def add_file(tf, name, data, mode=0o644):
    if isinstance(data, str):
        data = data.encode()
    tf.addfile(_ti(name, tarfile.REGTYPE, mode, len(data)), io.BytesIO(data))


def add_symlink(tf, name, target):
    tf.addfile(_ti(name, tarfile.SYMTYPE, 0o777, linkname=target))


def add_hardlink(tf, name, target):
    tf.addfile(_ti(name, tarfile.LNKTYPE, 0o644, linkname=target))


def add_chardev(tf, name, major, minor):
    ti = _ti(name, tarfile.CHRTYPE, 0o666)
    ti.devmajor, ti.devminor = major, minor
    tf.addfile(ti)


BUSYBOX = "/bin/busybox"


def busybox_applets():
    out = subprocess.run([BUSYBOX, "--list-full"], check=True, capture_output=True,
                         text=True).stdout.split()
    return [p.strip("/") for p in out if p.strip("/")]


def write_busybox_rootfs(tf):
    for d, mode in (("bin", 0o755), ("sbin", 0o755), ("usr", 0o755), ("usr/bin", 0o755),
                    ("usr/sbin", 0o755), ("proc", 0o555), ("dev", 0o755), ("sys", 0o555),
                    ("tmp", 0o1777), ("etc", 0o755), ("root", 0o700), ("mnt", 0o755),
                    ("var", 0o755), ("run", 0o755)):
        add_dir(tf, d, mode)
    with open(BUSYBOX, "rb") as f:
        data = f.read()
    add_file(tf, "bin/busybox", data, 0o755)
    for applet in busybox_applets():
        if applet != "bin/busybox":
            add_symlink(tf, applet, "/bin/busybox")
    add_file(tf, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
    add_file(tf, "etc/group", "root:x:0:\n")
    add_file(tf, "etc/hostname", "quilt-test-image\n")
    add_file(tf, "etc/hosts", "127.0.0.1 localhost\n")


def build_busybox_tarball(path, extra=None, mode="w"):
    """A busybox rootfs; extra(tf) may append more (e.g. malicious) entries."""
    with tarfile.open(path, mode, format=tarfile.PAX_FORMAT) as tf:
        write_busybox_rootfs(tf)
        if extra:
            extra(tf)
    return path


# --------------------------------------------------------------------------
# The daemon
# --------------------------------------------------------------------------


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "WARNING: AddressSanitizer", "runtime error:", "ThreadSanitizer")


def sanitizer_reports(text):
    """Lines of text that look like a sanitizer report (with a little context)."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        if any(m in line for m in SANITIZER_MARKERS):
            out.append("\n".join(lines[i:i + 12]))
    return out


def short_state(s):
    s = str(s or "")
    return s[len(STATE_PREFIX):] if s.startswith(STATE_PREFIX) else s


class Daemon:
    """One quiltd on its own socket and state dir below the session temp dir."""

    def __init__(self, paths, tmp, name, config, plugin_dir=None, extra_args=(), env=None):
        self.paths = paths
        self.env = env
        self.tmp = tmp
        self.name = name
        self.config = config
        self.plugin_dir = plugin_dir or paths.plugin_dir
        self.extra_args = list(extra_args)
        self.socket = os.path.join(tmp, "quilt-test-%s.sock" % name)
        self.state_dir = os.path.join(tmp, "quilt-test-state-%s" % name)
        self.log_path = os.path.join(tmp, "quilt-test-%s.log" % name)
        self.proc = None
        self.cli_reports = []       # sanitizer reports seen on quilt-cli's stderr
        self.log_checked = 0        # log offset up to which we looked for reports
        self.baseline = {}          # {pid: starttime} right after start-up
        self.seen = {}              # {pid: starttime} of every process of it we saw
        self.exit_code = None

    # -- start / stop ------------------------------------------------------
    def argv(self):
        # setpriv --pdeathsig: should the test run itself be killed, the
        # daemon still gets its SIGTERM and shuts its containers down.
        wrap = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []
        return wrap + [self.paths.quiltd, "--config", self.config, "--socket", self.socket,
                "--state-dir", self.state_dir, "--plugin-dir", self.plugin_dir] + self.extra_args

    def spawn(self):
        os.makedirs(self.state_dir, exist_ok=True)
        log = open(self.log_path, "ab")
        log.write(("=== %s\n" % " ".join(self.argv())).encode())
        log.flush()
        # Own session: a ^C to the test run must not reach the daemon before
        # our teardown stops it properly.
        self.proc = spawn(self.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                          start_new_session=True, env=self.env)
        log.close()
        self.exit_code = None
        return self.proc

    def start(self, timeout=30):
        self.spawn()
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                finished(self.proc)
                self.exit_code = rc
                raise AssertionError("quiltd exited with %s before it was ready%s"
                                     % (rc, self.log_context()))
            if os.path.exists(self.socket):
                last = self.cli("ps", timeout=10)
                if last.rc == 0:
                    self.baseline = idents(self.descendants())
                    self.seen.update(self.baseline)
                    return self
            time.sleep(0.05)
        self.stop()
        raise AssertionError("quiltd not ready after %ss (last ps: %r)%s"
                             % (timeout, last, self.log_context()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def descendants(self):
        if not self.alive():
            return set()
        return descendants([self.proc.pid])

    def quilt_processes(self):
        """Everything that belongs to this daemon's containers: its
        descendants, orphans re-parented to us, monitors naming our state dir."""
        orph = orphans()
        procs = self.descendants() | orph | descendants(orph)
        procs |= processes_mentioning(self.state_dir, (self.paths.monitor,))
        self.seen.update(idents(procs))
        return procs

    def stop(self, timeout=30):
        """SIGTERM, then SIGKILL after timeout. Returns the exit code
        (None when it had to be killed)."""
        if self.proc is None:
            return self.exit_code
        if self.proc.poll() is None:
            self.seen.update(idents(self.descendants()))
            kill_pid(self.proc.pid, signal.SIGTERM)
            self.exit_code = wait_popen(self.proc, timeout)
        else:
            self.exit_code = self.proc.returncode
            finished(self.proc)
        self.proc = None
        return self.exit_code

    def stop_and_check(self, timeout=30, expect_clean=True):
        """Stop the daemon and check nothing of it is left. Kills leftovers
        (by pid; all of them descend from this daemon) and raises an
        AssertionError describing them."""
        problems = []
        was_running = self.alive()
        if was_running:
            self.quilt_processes()
        rc = self.stop(timeout)
        if was_running and expect_clean and rc != 0:
            problems.append("quiltd did not exit cleanly on SIGTERM: exit code %s%s"
                            % (rc, " (killed after %ss)" % timeout if rc is None else ""))
        problems += self.leftovers(kill=True)
        problems += self.new_sanitizer_reports()
        if problems:
            raise AssertionError("\n".join(problems) + self.log_context())

    def new_sanitizer_reports(self):
        """Sanitizer reports in the daemon log (quiltd, quilt-monitor) or on
        quilt-cli's stderr since the last call."""
        data = _read(self.log_path) or b""
        text = data[self.log_checked:].decode("utf-8", "replace")
        self.log_checked = len(data)
        found = sanitizer_reports(text) + self.cli_reports
        self.cli_reports = []
        return ["sanitizer report:\n" + r for r in found]

    def leftovers(self, kill=False, wait=10):
        """Problems (strings): processes or mounts of this daemon's
        containers still there after `wait` seconds."""
        problems = []

        def live():
            reap_orphans()
            procs = {p for p, t in self.seen.items() if pid_alive(p, t)} | self.quilt_processes()
            if self.alive():
                procs = {p for p in procs
                         if not (p in self.baseline and pid_alive(p, self.baseline[p]))}
                procs.discard(self.proc.pid)
            return procs
        poll(lambda: not live(), wait)
        left = live()
        if left:
            problems.append("processes left behind:\n" + describe_pids(left))
            if kill:
                for pid in left:
                    kill_pid(pid)
                poll(lambda: not any(pid_alive(p) for p in left), 5)
                reap_orphans()
        mounts = mount_lines_containing(self.state_dir)
        if mounts:
            problems.append("mounts left behind:\n  " + "\n  ".join(mounts))
        return problems

    # -- helpers -----------------------------------------------------------
    def log(self):
        data = _read(self.log_path) or b""
        return data.decode("utf-8", "replace")

    def log_context(self, n=6000):
        text = self.log()
        if len(text) > n:
            text = "[...]" + text[-n:]
        return "\n--- quiltd log %s ---\n%s\n--- end of log ---" % (self.log_path, text)

    def vm_hwm_kb(self):
        return proc_status_kb(self.proc.pid, "VmHWM")

    def vm_rss_kb(self):
        return proc_status_kb(self.proc.pid, "VmRSS")

    def cli(self, *args, timeout=60, text=True, stdout=None, env=None):
        argv = [self.paths.cli, "--socket", self.socket] + [str(a) for a in args]
        r = run_cmd(argv, timeout=timeout, text=text, stdout=stdout, env=env)
        err = r.err.decode("utf-8", "replace") if isinstance(r.err, bytes) else r.err
        self.cli_reports += ["quilt-cli %s: %s" % (" ".join(argv[3:]), rep)
                             for rep in sanitizer_reports(err)]
        return r

    def container_dir(self, cid):
        return os.path.join(self.state_dir, "containers", cid)


def asan_options(*extra):
    """The environment with extra AddressSanitizer options appended (later
    options win), for daemons built with -Db_sanitize=address."""
    env = dict(os.environ)
    opts = [o for o in env.get("ASAN_OPTIONS", "").split(":") if o] + list(extra)
    env["ASAN_OPTIONS"] = ":".join(opts)
    return env


def uses_asan(pid):
    return b"libasan" in (_read("/proc/%d/maps" % pid) or b"")


def proc_status_kb(pid, key):
    for line in (_read("/proc/%d/status" % pid) or b"").decode().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise AssertionError("no %s for pid %d" % (key, pid))


# --------------------------------------------------------------------------
# A CLI session bound to a daemon; remembers what a test created.
# --------------------------------------------------------------------------


class Quilt:
    _counter = 0

    def __init__(self, daemon, image):
        self.d = daemon
        self.image = image
        self.created = []         # ids and names, for clean-up

    def ctx(self):
        return self.d.log_context()

    def cli(self, *args, **kw):
        return self.d.cli(*args, **kw)

    def ok(self, *args, **kw):
        r = self.cli(*args, **kw)
        assert r.rc == 0, "%r%s" % (r, self.ctx())
        return r

    @classmethod
    def new_name(cls, tag="c"):
        cls._counter += 1
        return "quilt-test-%s-%d-%d" % (tag, os.getpid(), cls._counter)

    @staticmethod
    def spec_args(image, argv=None, command=None, name=None, env=(), hostname=None,
                  workdir=None, profile=None, extra=()):
        """`extra`: more create flags as given, e.g. ["--init", "-v", "/a:/b"]."""
        a = ["--image", image] + list(extra)
        if name:
            a += ["--name", name]
        for e in env:
            a += ["-e", e]
        if hostname:
            a += ["--hostname", hostname]
        if workdir:
            a += ["--workdir", workdir]
        if profile:
            a += ["--profile", profile]
        if command is not None:
            a += ["--command", command]
        else:
            a += ["--"] + list(argv)
        return a

    def create(self, argv=None, image=None, name=None, **kw):
        name = name if name is not None else self.new_name()
        if name:
            self.created.append(name)
        r = self.cli("create", *self.spec_args(image or self.image, argv, name=name, **kw))
        assert r.rc == 0, "create failed: %r%s" % (r, self.ctx())
        cid = r.out.strip()
        assert cid and "\n" not in cid, "create printed %r%s" % (r.out, self.ctx())
        self.created.append(cid)
        return cid

    def run(self, argv=None, image=None, name=None, rm=True, timeout=60, **kw):
        name = name if name is not None else self.new_name()
        if name:
            self.created.append(name)
        args = ["run"] + (["--rm"] if rm else []) + self.spec_args(image or self.image, argv,
                                                                   name=name, **kw)
        return self.cli(*args, timeout=timeout)

    def status(self, ref):
        r = self.cli("status", ref, "--json", timeout=30)
        assert r.rc == 0, "status failed: %r%s" % (r, self.ctx())
        try:
            st = json.loads(r.out)
        except ValueError as e:
            raise AssertionError("status --json is not JSON (%s): %r" % (e, r))
        return normalize_status(st)

    def status_or_none(self, ref):
        """status(ref), or None while the daemon says NOT_FOUND."""
        r = self.cli("status", ref, "--json", timeout=30)
        if r.rc != 0 and "NOT_FOUND" in r.err:
            return None
        return self.status(ref) if r.rc != 0 else normalize_status(json.loads(r.out))

    def wait_state(self, ref, states=TERMINAL, timeout=30, may_not_exist_yet=False):
        states = tuple(states)
        last = {}

        def check():
            nonlocal last
            last = self.status_or_none(ref) if may_not_exist_yet else self.status(ref)
            return last is not None and last["state"] in states
        if not poll(check, timeout):
            raise AssertionError("container %s not in %s after %ss: %s%s"
                                 % (ref, states, timeout, last, self.ctx()))
        return last

    def logs(self, ref, timeout=60, text=True):
        r = self.cli("logs", ref, timeout=timeout, text=text)
        assert r.rc == 0, "logs failed: %r%s" % (r, self.ctx())
        return r.out, r.err

    def rm(self, ref, force=True):
        args = ["rm", ref] + (["-f"] if force else [])
        return self.cli(*args, timeout=60)

    def container_dir(self, cid):
        return self.d.container_dir(cid)

    def ps(self):
        r = self.cli("ps", "--json", timeout=30)
        assert r.rc == 0, "ps failed: %r%s" % (r, self.ctx())
        doc = json.loads(r.out)
        return [normalize_status(c) for c in doc.get("containers", [])]

    def cleanup(self):
        """rm -f whatever this test created and still exists."""
        problems = []
        if not self.d.alive():
            return problems
        for ref in reversed(self.created):
            r = self.cli("rm", ref, "-f", timeout=60)
            if r.rc != 0 and "NOT_FOUND" not in r.err:
                problems.append("rm -f %s: %r" % (ref, r))
        self.created = []
        return problems


def _int(v):
    if v is None or v == "":
        return 0
    return int(v)


def normalize_status(st):
    """CLI JSON (proto3 JSON mapping: int64 may be strings, zero fields may
    be absent) to a plain dict with short state names."""
    out = dict(st)
    out["state"] = short_state(st.get("state"))
    for k in ("exitCode", "exitSignal", "pid", "createdAtNs", "startedAtNs", "finishedAtNs"):
        out[k] = _int(st.get(k))
    for k in ("containerId", "name", "errorMessage", "image"):
        out[k] = st.get(k) or ""
    out["command"] = st.get("command") or []
    return out


# --------------------------------------------------------------------------
# Misc
# --------------------------------------------------------------------------


def read_line_with_timeout(f, timeout):
    """Read one line from a binary pipe with a deadline (None on timeout/EOF)."""
    deadline = time.monotonic() + timeout
    buf = b""
    fd = f.fileno()
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not r:
            break
        ch = os.read(fd, 1)
        if not ch:
            return buf or None
        buf += ch
        if ch == b"\n":
            return buf
    return None


def host_hostname():
    return socket.gethostname()


def file_digest(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def errno_name(e):
    return errno.errorcode.get(e, str(e))


@contextlib.contextmanager
def grpc_stub(pb, socket_path):
    """(quilt_pb2, QuiltServiceStub) on a ready channel to quiltd's socket
    (pb: the conftest fixture's pair); the channel is closed afterwards."""
    import grpc
    pb2, pb2_grpc = pb
    ch = grpc.insecure_channel("unix:" + socket_path)
    try:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield pb2, pb2_grpc.QuiltServiceStub(ch)
    finally:
        ch.close()


def start_fails(env, config, name, plugin_dir=None, timeout=20):
    """Start quiltd on `config` expecting it to refuse to start; returns
    (exit code, the Daemon: .log(), .log_context())."""
    d = Daemon(env.paths, env.tmp, "refused-%s" % name, config, plugin_dir)
    d.socket = env.path("refused.sock")
    d.state_dir = env.path("refused-state")
    d.log_path = env.path("refused.log")
    d.spawn()
    try:
        rc = wait_popen(d.proc, timeout)
        d.proc = None
    finally:
        if d.proc is not None and d.alive():
            d.stop(5)
    assert rc is not None, "quiltd did not exit within %ss on a bad start-up%s" % (
        timeout, d.log_context())
    return rc, d
