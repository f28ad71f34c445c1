# SPDX-License-Identifier: MIT
"""pytest fixtures for Quilt's integration tests.

Fixtures:
  env          session: paths, the session temp dir /tmp/quilt-test-XXXX,
               the busybox rootfs tarball; removes the temp dir at the end
               (refusing while anything is mounted below it)
  daemon       the session's quiltd on conf/quiltd.ini with its own socket
               and state dir (restarted on a fresh state dir should a test
               crash it); stopped with SIGTERM at the end, then checked for
               left-over processes, mounts, container dirs, sanitizer reports
  q            function: a CLI session on `daemon`; after the test it
               rm -f's what the test created and checks that no process,
               mount or container dir of those containers is left
  start_daemon function: factory for extra daemons (own config), each
               stopped and checked after the test
  quilt_for    function: quilt_for(daemon, image) -> CLI session on it
"""

import importlib
import json
import os
import sys
import tempfile

import pytest

import quilt_itest as qi


def pytest_configure(config):
    if os.geteuid() != 0:
        # meson treats 77 as "skipped"
        pytest.exit("integration tests need root: skipped", returncode=77)


# Problems found while tearing down session fixtures. pytest reports only
# the first failing finalizer of a teardown, so they are also listed at the
# end and make the run fail.
SESSION_PROBLEMS = []


def _fail(problems):
    SESSION_PROBLEMS.extend(problems)
    pytest.fail("\n".join(problems))


def pytest_sessionfinish(session, exitstatus):
    if SESSION_PROBLEMS and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    if SESSION_PROBLEMS:
        terminalreporter.section("quilt: left behind / teardown problems", red=True)
        for p in SESSION_PROBLEMS:
            terminalreporter.write_line(p)


class Env:
    def __init__(self):
        self.paths = qi.Paths()
        self.tmp = tempfile.mkdtemp(prefix="quilt-test-", dir="/tmp")
        os.chmod(self.tmp, 0o755)
        self.images = os.path.join(self.tmp, "quilt-test-images")
        os.makedirs(self.images)
        self.image = os.path.join(self.images, "busybox.tar")
        self._n = 0

    def path(self, name):
        """A fresh path below the temp dir."""
        self._n += 1
        return os.path.join(self.tmp, "quilt-test-%d-%s" % (self._n, name))

    def write_config(self, name, text):
        p = self.path(name + ".ini")
        with open(p, "w") as f:
            f.write(text)
        return p


@pytest.fixture(scope="session")
def env():
    paths = qi.Paths()
    missing = paths.missing()
    if missing:
        pytest.fail("binaries not built (QUILT_BUILD_DIR=%s): %s" % (paths.build, missing))
    qi.become_subreaper()
    e = Env()
    try:
        qi.build_busybox_tarball(e.image)
        yield e
    finally:
        qi.reap_orphans()
        problems = []
        left = qi.mount_lines_containing(e.tmp)
        if left:
            problems.append("mounts left under %s:\n  %s" % (e.tmp, "\n  ".join(left)))
            qi.lazy_umount_under(e.tmp)
        if os.environ.get("QUILT_TEST_KEEP"):
            print("QUILT_TEST_KEEP: leaving %s" % e.tmp)
        else:
            try:
                qi.safe_rmtree(e.tmp)
            except Exception as ex:  # report, never hide
                problems.append("could not remove %s: %s" % (e.tmp, ex))
        if problems:
            _fail(problems)


def _check_containers_dir_empty(d):
    cdir = os.path.join(d.state_dir, "containers")
    left = os.listdir(cdir) if os.path.isdir(cdir) else []
    return ["container dirs left in %s: %s" % (cdir, left)] if left else []


class DaemonHolder:
    """The session daemon; restarted (with a fresh state dir) when it died,
    so one crash shows up in the test that caused it and not in all."""

    def __init__(self, env):
        self.env = env
        self.generation = 0
        self.current = None
        self.dead = []

    def get(self):
        if self.current is not None and self.current.alive():
            return self.current
        if self.current is not None:
            self.dead.append(self.current)
        self.generation += 1
        name = "main" if self.generation == 1 else "main%d" % self.generation
        self.current = qi.Daemon(self.env.paths, self.env.tmp, name, self.env.paths.conf_default)
        self.current.start()
        return self.current


@pytest.fixture(scope="session")
def daemon_holder(env):
    h = DaemonHolder(env)
    yield h
    problems = []
    for d in h.dead + ([h.current] if h.current else []):
        try:
            d.stop_and_check()
        except AssertionError as e:
            problems.append(str(e))
        problems += _check_containers_dir_empty(d)
    if problems:
        _fail(problems)


@pytest.fixture
def daemon(daemon_holder):
    return daemon_holder.get()


@pytest.fixture
def q(daemon, env):
    """CLI session on the session daemon, with per-test leak checks."""
    daemon.new_sanitizer_reports()      # earlier ones belong to earlier tests
    s = qi.Quilt(daemon, env.image)
    yield s
    problems = []
    if not daemon.alive():
        problems.append("quiltd died during the test (exit %s)" % daemon.proc.poll())
    problems += s.cleanup()
    problems += daemon.leftovers(kill=not daemon.alive())
    left = qi.mount_lines_containing(env.tmp)
    if left:
        problems.append("mounts of the temp dir left after the test:\n  " + "\n  ".join(left))
    if daemon.alive():
        problems += _check_containers_dir_empty(daemon)
    problems += daemon.new_sanitizer_reports()
    if problems:
        pytest.fail("after the test:\n" + "\n".join(problems) + daemon.log_context())


@pytest.fixture
def start_daemon(env):
    """start_daemon(config, name=..., plugin_dir=..., extra_args=..., environ=...) -> Daemon."""
    started = []

    def start(config, name="extra", plugin_dir=None, extra_args=(), wait=True, environ=None):
        env._n += 1       # unique per run: several tests use the same name
        d = qi.Daemon(env.paths, env.tmp, "%d-%s" % (env._n, name), config,
                      plugin_dir, extra_args, environ)
        started.append(d)
        if wait:
            d.start()
        else:
            d.spawn()
        return d

    yield start
    problems = []
    for d in started:
        if d.alive():
            # rm -f anything left, so the daemon's stop has less to do
            r = d.cli("ps", "--json", timeout=20)
            if r.rc == 0:
                for c in json.loads(r.out).get("containers", []):
                    d.cli("rm", c.get("containerId", ""), "-f", timeout=30)
        try:
            d.stop_and_check(expect_clean=d.alive())
        except AssertionError as e:
            problems.append(str(e))
    if problems:
        _fail(["after the test:"] + problems)


@pytest.fixture
def quilt_for():
    """quilt_for(daemon) -> a CLI session cleaned up after the test."""
    sessions = []

    def make(d, image):
        s = qi.Quilt(d, image)
        sessions.append(s)
        return s
    yield make
    for s in sessions:
        s.cleanup()


@pytest.fixture(scope="session")
def pb(env):
    """(quilt_pb2, quilt_pb2_grpc): Python stubs generated from proto/quilt.proto
    alone with protoc and grpc_python_plugin, for an independent gRPC client."""
    pytest.importorskip("grpc", reason="python3-grpcio is not installed")
    out = env.path("pystubs")
    os.makedirs(out)
    protoc, plugin = "/usr/bin/protoc", "/usr/bin/grpc_python_plugin"
    for tool in (protoc, plugin):
        assert os.access(tool, os.X_OK), "%s missing (protobuf-compiler, protobuf-compiler-grpc)" % tool
    r = qi.run_cmd([protoc, "-I", env.paths.proto_dir, "--python_out=" + out,
                    "--grpc_out=" + out, "--plugin=protoc-gen-grpc=" + plugin,
                    os.path.join(env.paths.proto_dir, "quilt.proto")], timeout=60)
    assert r.rc == 0, r
    sys.path.insert(0, out)
    try:
        pb2 = importlib.import_module("quilt_pb2")
        pb2_grpc = importlib.import_module("quilt_pb2_grpc")
    finally:
        sys.path.remove(out)
    return pb2, pb2_grpc


@pytest.fixture
def stub(pb, q):
    """(quilt_pb2, QuiltServiceStub) on the session daemon."""
    with qi.grpc_stub(pb, q.d.socket) as s:
        yield s
