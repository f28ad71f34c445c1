# SPDX-License-Identifier: MIT
"""Registry pull (issue 4 part 4): Debian's docker-registry on a loopback
port, an OCI layout built here pushed into it with skopeo, pulled back
with `quilt-cli pull`; every blob checked against its digest as it
streams, a tampered blob in the registry refused."""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

import quilt_itest as qi
from test_images import _images, _sha_dir
from test_oci import CONFIG, Layout, _check_flattened, _daemon, _entry, _only_locks

REGISTRY_YAML = """\
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: {root}
http:
  addr: 127.0.0.1:{port}
"""


ACCEPT = ["application/vnd.oci.image.index.v1+json",
          "application/vnd.oci.image.manifest.v1+json",
          "application/vnd.docker.distribution.manifest.list.v2+json",
          "application/vnd.docker.distribution.manifest.v2+json"]


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    def __init__(self, env):
        for tool in ("docker-registry", "skopeo"):
            if not shutil.which(tool):
                pytest.skip("%s is not installed (scripts/install-deps.sh installs it)" % tool)
        self.root = env.path("registry")
        os.makedirs(self.root)
        self.port = _free_port()
        self.indexes = 0
        self.host = "127.0.0.1:%d" % self.port
        cfg = env.path("registry.yml")
        with open(cfg, "w") as f:
            f.write(REGISTRY_YAML.format(root=self.root, port=self.port))
        self.log = open(env.path("registry.log"), "wb")
        self.proc = qi.spawn(["docker-registry", "serve", cfg], stdin=subprocess.DEVNULL,
                             stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen("http://%s/v2/" % self.host, timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.skip("docker-registry did not start: see %s" % self.log.name)
            time.sleep(0.1)

    def push(self, layout, name, tag, all_images=True):
        argv = ["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false"]
        if all_images:
            argv.append("--all")
        argv += ["oci:%s:latest" % layout, "docker://%s/%s:%s" % (self.host, name, tag)]
        r = qi.run_cmd(argv, timeout=120)
        assert r.rc == 0, r
        return "%s/%s:%s" % (self.host, name, tag)

    def manifest(self, name, tag):
        """What a client gets for linux/amd64, fetched here: (digest, manifest)."""
        ref = tag
        for _ in range(4):
            req = urllib.request.Request(
                "http://%s/v2/%s/manifests/%s" % (self.host, name, ref),
                headers={"Accept": ", ".join(ACCEPT)})
            with urllib.request.urlopen(req, timeout=10) as r:
                data = r.read()
            doc = json.loads(data)
            self.indexes += "manifests" in doc
            if "manifests" not in doc:
                return "sha256:" + hashlib.sha256(data).hexdigest(), doc
            ref = [m for m in doc["manifests"]
                   if m.get("platform", {}).get("architecture") == "amd64"][0]["digest"]
        raise AssertionError("indexes nested too deep")

    def blob_path(self, digest):
        hexd = digest[7:]
        return os.path.join(self.root, "docker", "registry", "v2", "blobs", "sha256", hexd[:2],
                            hexd, "data")

    def stop(self):
        if self.proc.poll() is None:
            qi.kill_pid(self.proc.pid, signal.SIGTERM)
        qi.wait_popen(self.proc, 10)
        self.log.close()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def registry(env):
    reg = Registry(env)
    yield reg
    reg.stop()


def _no_staging(d):
    store = os.path.dirname(_sha_dir(d))
    left = [n for n in os.listdir(store) if n.startswith("pull-")] if os.path.isdir(store) else []
    assert left == [], "pull staging left: %s" % left


def test_pull_round_trip(env, start_daemon, quilt_for, registry):
    d, q = _daemon(env, start_daemon, quilt_for, "pull")
    lay = Layout(env.path("layout"))
    # the whole index (amd64 and an arm64 decoy): the pull follows it to linux/amd64
    ref = registry.push(lay.path, "quilt-test/busybox", "t1")
    r = q.ok("pull", ref, timeout=120)
    digest = r.out.strip()
    # keyed by the linux/amd64 manifest as the registry serves it (skopeo
    # compresses the plain layers it pushes, so the manifest differs from
    # the layout's)
    want, manifest = registry.manifest("quilt-test/busybox", "t1")
    assert digest == want and len(manifest["layers"]) == 3, (r, manifest)
    assert registry.indexes == 1, "skopeo --all did not push the index"
    _check_flattened(os.path.join(_entry(d, digest), "rootfs"))
    imgs = _images(q)
    assert list(imgs) == [digest] and imgs[digest]["tags"] == [ref], imgs
    _no_staging(d)

    # a container from the tag: the image config's defaults apply
    r = q.cli("run", "--rm", "--image", ref, timeout=60)
    assert r.rc == 0 and r.out == "cmd-ran from-image image\n/keep\n", r

    # again: a hit, the same digest; by digest too (no tag added)
    assert q.ok("pull", ref, timeout=120).out.strip() == digest
    assert q.ok("pull", "127.0.0.1:%d/quilt-test/busybox@%s" % (registry.port, digest),
                timeout=120).out.strip() == digest
    assert _images(q)[digest]["tags"] == [ref]

    # a single manifest (no index), docker schema 2 as skopeo writes it by default
    lay2 = Layout(env.path("layout2"), config=dict(CONFIG, Env=["QUILT_IMG_VAR=two"]))
    ref2 = registry.push(lay2.path, "quilt-test/busybox", "single", all_images=False)
    digest2 = q.ok("pull", ref2, timeout=120).out.strip()
    assert digest2 == registry.manifest("quilt-test/busybox", "single")[0] != digest
    cid = q.create(["sh", "-c", "echo $QUILT_IMG_VAR; ls /opq"], image=ref2)
    st = q.wait_state(cid, timeout=60)
    assert st["state"] == "EXITED" and st["exitCode"] == 0, (st, q.ctx())
    assert q.logs(cid)[0] == "two\ntop\n"
    _no_staging(d)


def test_pull_tampered_blob_refused(env, start_daemon, quilt_for, registry):
    d, q = _daemon(env, start_daemon, quilt_for, "pull-tamper")
    lay = Layout(env.path("layout"))
    ref = registry.push(lay.path, "quilt-test/busybox", "bad")
    expected = registry.manifest("quilt-test/busybox", "bad")[1]["layers"][1]["digest"]
    p = registry.blob_path(expected)
    with open(p, "r+b") as f:
        data = bytearray(f.read())
        data[len(data) // 2] ^= 0xff
        f.seek(0)
        f.write(data)
    r = q.cli("pull", ref, timeout=120)
    assert r.rc != 0 and "INVALID_ARGUMENT" in r.err, r
    assert "digest mismatch" in r.err and expected in r.err, r
    # refused while streaming, before the layout import ever sees it
    assert ("the registry sent sha256:" + qi.file_digest(p)) in r.err, r
    _only_locks(d)
    _no_staging(d)
    assert _images(q) == {}
    assert not os.listdir(os.path.join(d.state_dir, "images", "tags")) \
        if os.path.isdir(os.path.join(d.state_dir, "images", "tags")) else True


def test_pull_errors(env, start_daemon, quilt_for, registry):
    d, q = _daemon(env, start_daemon, quilt_for, "pull-errors")
    r = q.cli("pull", "busybox")
    assert r.rc != 0 and "INVALID_ARGUMENT" in r.err and "registry" in r.err, r
    r = q.cli("pull", "%s/quilt-test/missing:1" % registry.host, timeout=60)
    assert r.rc != 0 and "NOT_FOUND" in r.err and "HTTP 404" in r.err, r
    # nothing listens there: UNAVAILABLE
    r = q.cli("pull", "127.0.0.1:%d/quilt-test/busybox:1" % _free_port(), timeout=60)
    assert r.rc != 0 and "UNAVAILABLE" in r.err, r
    r = q.cli("pull", "%s/Quilt-Test/x:1" % registry.host)
    assert r.rc != 0 and "INVALID_ARGUMENT" in r.err, r
    _no_staging(d)
    assert _images(q) == {}
