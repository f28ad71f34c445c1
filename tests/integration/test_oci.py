# SPDX-License-Identifier: MIT
"""OCI image layouts and docker-archive tars (issue 4 part 3): imported
into the image store flattened, whiteouts honoured, every blob checked
against its digest, the image config's defaults applied at create."""

import gzip
import hashlib
import io
import json
import os
import stat
import tarfile

import pytest

import quilt_itest as qi
from test_images import IMAGES_INI, _images, _import, _sha_dir
from test_tar_security import CASES as BAD_TARBALLS
from test_tar_security import Targets

grpc = pytest.importorskip("grpc", reason="python3-grpcio is not installed")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"

CONFIG = {
    "Entrypoint": ["/bin/sh", "-c"],
    "Cmd": ["echo cmd-ran $QUILT_IMG_VAR $QUILT_OVERRIDE; pwd"],
    "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "QUILT_IMG_VAR=from-image",
            "QUILT_OVERRIDE=image"],
    "WorkingDir": "/keep",
    "User": "1000",
}


def _tar(build):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        build(tf)
    return buf.getvalue()


def _layer1(tf):
    qi.write_busybox_rootfs(tf)
    qi.add_file(tf, "etc/quilt-victim", "victim\n")
    qi.add_dir(tf, "opq")
    qi.add_file(tf, "opq/old1", "old1\n")
    qi.add_dir(tf, "opq/sub")
    qi.add_file(tf, "opq/sub/old2", "old2\n")
    qi.add_dir(tf, "keep")
    qi.add_file(tf, "keep/k1", "k1\n")


def _layer2(tf):
    qi.add_file(tf, "opq/mid", "mid\n")
    qi.add_file(tf, "etc/quilt-mid", "mid\n")
    qi.add_dir(tf, "gone")
    qi.add_file(tf, "gone/inside", "x\n")


def _layer3(tf):
    # the opaque marker after the new entry: order within a layer does not matter
    qi.add_file(tf, "opq/top", "top\n")
    qi.add_file(tf, "opq/.wh..wh..opq", "")
    qi.add_file(tf, "etc/.wh.quilt-victim", "")
    qi.add_file(tf, ".wh.gone", "")             # a whole directory
    qi.add_file(tf, "keep/k3", "k3\n")


LAYERS = [_layer1, _layer2, _layer3]


def _sha(data):
    return hashlib.sha256(data).hexdigest()


class Layout:
    """An OCI image layout written by hand: oci-layout, index.json (-> an
    image index -> the linux/amd64 manifest, beside an arm64 decoy),
    blobs/sha256/*."""

    def __init__(self, path, layers=LAYERS, config=CONFIG, tamper=None, gzip_first=True):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"))
        self.layer_blobs = []
        diff_ids = []
        for i, build in enumerate(layers):
            raw = _tar(build)
            diff_ids.append("sha256:" + _sha(raw))
            data = gzip.compress(raw) if (i == 0 and gzip_first) else raw
            mt = OCI_LAYER_GZ if (i == 0 and gzip_first) else OCI_LAYER
            d = self.blob(data)
            self.layer_blobs.append(d)
            if tamper == i:
                # the bytes change, the digest naming them does not
                p = os.path.join(path, "blobs", "sha256", d["digest"][7:])
                with open(p, "r+b") as f:
                    f.seek(len(data) // 2)
                    b = f.read(1)
                    f.seek(len(data) // 2)
                    f.write(bytes([b[0] ^ 0xff]))
            self.layer_blobs[-1]["mediaType"] = mt
        cfg = {"architecture": "amd64", "os": "linux", "config": config,
               "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        self.config = self.blob(json.dumps(cfg).encode(), OCI_CONFIG)
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": self.config,
                    "layers": self.layer_blobs}
        self.manifest_bytes = json.dumps(manifest).encode()
        self.manifest = self.blob(self.manifest_bytes, OCI_MANIFEST)
        decoy = self.blob(json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                                      "config": self.config, "layers": []}).encode(),
                          OCI_MANIFEST)
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            dict(decoy, platform={"architecture": "arm64", "os": "linux"}),
            dict(self.manifest, platform={"architecture": "amd64", "os": "linux"})]}
        idx = self.blob(json.dumps(index).encode(), OCI_INDEX)
        with open(os.path.join(path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        with open(os.path.join(path, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": [
                dict(idx, annotations={"org.opencontainers.image.ref.name": "latest"})]}, f)
        self.digest = self.manifest["digest"]

    def blob(self, data, mt=None):
        h = _sha(data)
        with open(os.path.join(self.path, "blobs", "sha256", h), "wb") as f:
            f.write(data)
        d = {"digest": "sha256:" + h, "size": len(data)}
        if mt:
            d["mediaType"] = mt
        return d

    def tar(self, out):
        with tarfile.open(out, "w") as tf:
            for name in sorted(os.listdir(self.path)):
                tf.add(os.path.join(self.path, name), arcname=name)
        return out


def docker_archive(out, layers=LAYERS, config=CONFIG, tamper=None):
    """`docker save` format: manifest.json, HEX.json, ID/layer.tar."""
    raws = [_tar(b) for b in layers]
    cfg = {"architecture": "amd64", "os": "linux", "config": config,
           "rootfs": {"type": "layers", "diff_ids": ["sha256:" + _sha(r) for r in raws]}}
    cfg_bytes = json.dumps(cfg).encode()
    cfg_hex = _sha(cfg_bytes)
    if tamper is not None:
        r = bytearray(raws[tamper])
        r[len(r) // 2] ^= 0xff
        raws[tamper] = bytes(r)
    names = ["%064x/layer.tar" % (i + 1) for i in range(len(raws))]
    manifest = [{"Config": cfg_hex + ".json", "RepoTags": ["quilt-test:latest"], "Layers": names}]
    with tarfile.open(out, "w") as tf:
        def put(name, data):
            qi.add_file(tf, name, data)
        put("manifest.json", json.dumps(manifest))
        put(cfg_hex + ".json", cfg_bytes)
        for n, r in zip(names, raws):
            qi.add_dir(tf, n.split("/")[0])
            put(n, r)
    return out, cfg_hex


def _daemon(env, start_daemon, quilt_for, name):
    cfg = env.write_config(name, IMAGES_INI)
    d = start_daemon(cfg, name)
    return d, quilt_for(d, env.image)


def _check_flattened(root):
    names = set()
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            names.add(os.path.relpath(os.path.join(dirpath, n), root))
    assert not [n for n in names if os.path.basename(n).startswith(".wh.")], \
        "whiteout files in the tree: %s" % [n for n in names if ".wh." in n]
    assert "etc/quilt-victim" not in names          # deleted by layer 3
    assert "gone" not in names and "gone/inside" not in names
    assert sorted(os.listdir(os.path.join(root, "opq"))) == ["top"], os.listdir(os.path.join(root, "opq"))
    assert sorted(os.listdir(os.path.join(root, "keep"))) == ["k1", "k3"]
    with open(os.path.join(root, "etc/quilt-mid")) as f:
        assert f.read() == "mid\n"
    assert os.path.isfile(os.path.join(root, "bin/busybox"))


def _entry(d, digest):
    return os.path.join(_sha_dir(d), digest[7:])


def _only_locks(d):
    sha = _sha_dir(d)
    left = [n for n in os.listdir(sha) if not n.endswith(".lock")] if os.path.isdir(sha) else []
    assert left == [], "left in the store: %s" % left
    store = os.path.dirname(sha)
    staging = [n for n in os.listdir(store) if n.startswith("import-")] if os.path.isdir(store) else []
    assert staging == [], "staging left: %s" % staging


def test_oci_layout_dir_and_tar(env, start_daemon, quilt_for, pb):
    d, q = _daemon(env, start_daemon, quilt_for, "oci-layout")
    lay = Layout(env.path("layout"))
    digest = _import(q, lay.path, tag="quilt-test-oci:1")
    # keyed by the manifest blob's digest (the linux/amd64 one, behind the index)
    assert digest == lay.digest == "sha256:" + _sha(lay.manifest_bytes)
    entry = _entry(d, digest)
    _check_flattened(os.path.join(entry, "rootfs"))
    with open(os.path.join(entry, "config")) as f:
        cfg = f.read().splitlines()
    assert cfg == ["Entrypoint\t/bin/sh", "Entrypoint\t-c",
                   "Cmd\techo cmd-ran $QUILT_IMG_VAR $QUILT_OVERRIDE; pwd",
                   "Env\tPATH=/usr/sbin:/usr/bin:/sbin:/bin", "Env\tQUILT_IMG_VAR=from-image",
                   "Env\tQUILT_OVERRIDE=image", "WorkingDir\t/keep", "User\t1000"], cfg
    # the same layout as a tar: the same image (a hit), staging removed
    tar = lay.tar(env.path("layout.tar"))
    assert _import(q, tar, tag="quilt-test-oci:tar") == digest
    assert list(_images(q)) == [digest]
    assert not [n for n in os.listdir(os.path.dirname(_sha_dir(d))) if n.startswith("import-")]

    # a command given: the image's Env under the request's, its WorkingDir
    cid = q.create(["sh", "-c", "echo $QUILT_IMG_VAR $QUILT_OVERRIDE; pwd; cat /keep/k3"],
                   image="quilt-test-oci:1", env=["QUILT_OVERRIDE=request"])
    st = q.wait_state(cid, timeout=60)
    assert st["state"] == "EXITED" and st["exitCode"] == 0, (st, q.ctx())
    assert q.logs(cid)[0] == "from-image request\n/keep\nk3\n"
    # the request's working directory wins
    cid = q.create(["pwd"], image=digest, workdir="/etc")
    q.wait_state(cid, timeout=60)
    assert q.logs(cid)[0] == "/etc\n"

    # no command: Entrypoint + Cmd (through the gRPC API; quilt-cli asks for one)
    pb2, pb2_grpc = pb
    ch = grpc.insecure_channel("unix:" + d.socket)
    try:
        s = pb2_grpc.QuiltServiceStub(ch)
        resp = s.CreateContainer(pb2.CreateContainerRequest(image="quilt-test-oci:1"), timeout=30)
        q.created.append(resp.container_id)
        st = q.wait_state(resp.container_id, timeout=60)
        assert st["state"] == "EXITED" and st["exitCode"] == 0, (st, q.ctx())
        assert q.logs(resp.container_id)[0] == "cmd-ran from-image image\n/keep\n"
        assert st["command"] == ["/bin/sh", "-c", CONFIG["Cmd"][0]], st

        # an image from a plain tarball has no default command
        tb = env.path("plain.tar")
        qi.build_busybox_tarball(tb)
        _import(q, tb, tag="quilt-test-plain")
        with pytest.raises(grpc.RpcError) as e:
            s.CreateContainer(pb2.CreateContainerRequest(image="quilt-test-plain"), timeout=30)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value
        assert "command: empty, and the image has no default" in e.value.details(), e.value
        # a tarball path still needs a command, as before
        with pytest.raises(grpc.RpcError) as e:
            s.CreateContainer(pb2.CreateContainerRequest(image=tb), timeout=30)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value
    finally:
        ch.close()

    # and as a user would: quilt-cli run --rm --image TAG, no command
    r = q.cli("run", "--rm", "--image", "quilt-test-oci:1", timeout=60)
    assert r.rc == 0 and r.out == "cmd-ran from-image image\n/keep\n", r
    r = q.cli("run", "--rm", "--image", "quilt-test-plain", timeout=60)
    assert r.rc == 1 and "command: empty, and the image has no default" in r.err, r


def test_oci_layout_without_default_command(env, start_daemon, quilt_for, pb):
    d, q = _daemon(env, start_daemon, quilt_for, "oci-nocmd")
    lay = Layout(env.path("layout"), config={"Env": ["A=b"]})
    _import(q, lay.path, tag="quilt-test-nocmd")
    pb2, pb2_grpc = pb
    ch = grpc.insecure_channel("unix:" + d.socket)
    try:
        s = pb2_grpc.QuiltServiceStub(ch)
        with pytest.raises(grpc.RpcError) as e:
            s.CreateContainer(pb2.CreateContainerRequest(image="quilt-test-nocmd"), timeout=30)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value
        assert "command: empty, and the image has no default" in e.value.details()
    finally:
        ch.close()


@pytest.mark.parametrize("form", ["dir", "tar"])
def test_tampered_layer_refused(env, start_daemon, quilt_for, form):
    d, q = _daemon(env, start_daemon, quilt_for, "oci-tamper")
    lay = Layout(env.path("layout"), tamper=1)
    path = lay.path if form == "dir" else lay.tar(env.path("layout.tar"))
    r = q.cli("import", path, "--tag", "quilt-test-tampered")
    expected = lay.layer_blobs[1]["digest"]
    assert r.rc != 0 and "INVALID_ARGUMENT" in r.err, r
    assert "digest mismatch" in r.err and expected in r.err, r
    with open(os.path.join(lay.path, "blobs", "sha256", expected[7:]), "rb") as f:
        assert ("sha256:" + _sha(f.read())) in r.err, r
    _only_locks(d)
    assert _images(q) == {}


def test_tampered_manifest_refused(env, start_daemon, quilt_for):
    d, q = _daemon(env, start_daemon, quilt_for, "oci-tamper-manifest")
    lay = Layout(env.path("layout"))
    p = os.path.join(lay.path, "blobs", "sha256", lay.digest[7:])
    with open(p, "ab") as f:
        f.write(b" ")
    r = q.cli("import", lay.path)
    assert r.rc != 0 and "digest mismatch" in r.err and lay.digest in r.err, r
    _only_locks(d)


def test_docker_archive(env, start_daemon, quilt_for):
    d, q = _daemon(env, start_daemon, quilt_for, "oci-docker")
    path, cfg_hex = docker_archive(env.path("docker.tar"))
    # first a tampered copy (the same config, so the same key: a stored
    # image is a hit and its layers are not read again)
    bad, bad_hex = docker_archive(env.path("docker-bad.tar"), tamper=2)
    r = q.cli("import", bad)
    assert r.rc != 0 and "digest mismatch" in r.err, r
    # the layer's expected digest is its diff_id
    with tarfile.open(bad) as tf:
        cfg = json.loads(tf.extractfile(bad_hex + ".json").read())
    assert cfg["rootfs"]["diff_ids"][2] in r.err, r
    _only_locks(d)

    digest = _import(q, path, tag="quilt-test-docker")
    assert digest == "sha256:" + cfg_hex        # no manifest blob: Docker's image id
    entry = _entry(d, digest)
    _check_flattened(os.path.join(entry, "rootfs"))
    cid = q.create(["sh", "-c", "echo $QUILT_IMG_VAR; pwd"], image="quilt-test-docker")
    st = q.wait_state(cid, timeout=60)
    assert st["state"] == "EXITED" and st["exitCode"] == 0, (st, q.ctx())
    assert q.logs(cid)[0] == "from-image\n/keep\n"



WHITEOUT_CASES = {
    # a whiteout through a symlink of a lower layer must not delete on the host
    "whiteout-through-symlink": (lambda tf, t: qi.add_file(tf, "hostlnk/.wh.keep", ""),
                                 ["hostlnk", "symlink"]),
    "opaque-through-symlink": (lambda tf, t: qi.add_file(tf, "hostlnk/.wh..wh..opq", ""),
                               ["hostlnk", "symlink"]),
    "whiteout-dotdot": (lambda tf, t: qi.add_file(tf, "etc/.wh.../../quilt-x", ""),
                        ["escapes", "quilt-x"]),
    "whiteout-of-dotdot": (lambda tf, t: qi.add_file(tf, "etc/.wh..", ""), [".wh.."]),
}


@pytest.mark.parametrize("case", sorted(BAD_TARBALLS) + sorted(WHITEOUT_CASES))
def test_malicious_layer_refused(env, start_daemon, quilt_for, case):
    d, q = _daemon(env, start_daemon, quilt_for, "oci-bad")
    t = Targets(env, case)
    entries, words = BAD_TARBALLS.get(case) or WHITEOUT_CASES[case]

    def lower(tf):
        _layer1(tf)
        qi.add_symlink(tf, "hostlnk", t.dir)
    lay = Layout(env.path("layout"), layers=[lower, lambda tf: entries(tf, t)], gzip_first=False)
    sha = _sha_dir(d)
    r = q.cli("import", lay.path, "--tag", "quilt-test-bad")
    t.check_untouched([os.path.join(sha, "quilt-test-escape-dotdot"),
                       os.path.join(sha, "quilt-test-escape-chain"),
                       os.path.join(os.path.dirname(sha), "quilt-test-escape-dotdot")])
    assert r.rc != 0 and "INVALID_ARGUMENT" in r.err, r
    m = r.err.replace(env.tmp, "<tmp>")
    assert any(w in m for w in words), "message does not name the entry (%s): %r" % (words, r.err)
    _only_locks(d)
    assert _images(q) == {}
    assert not os.path.exists(os.path.join(d.state_dir, "images", "tags", "quilt-test-bad"))


@pytest.mark.parametrize("case", ["dotdot", "symlink-abs", "hardlink-abs"])
def test_malicious_layout_tar_refused(env, start_daemon, quilt_for, case):
    """The outer tar of a layout gets the same checks as a rootfs tarball."""
    d, q = _daemon(env, start_daemon, quilt_for, "oci-bad-outer")
    t = Targets(env, case)
    entries, words = BAD_TARBALLS[case]
    lay = Layout(env.path("layout"))
    tar = lay.tar(env.path("layout.tar"))
    with tarfile.open(tar, "a") as tf:
        entries(tf, t)
    r = q.cli("import", tar)
    store = os.path.dirname(_sha_dir(d))
    t.check_untouched([os.path.join(store, "quilt-test-escape-dotdot"),
                       os.path.join(os.path.dirname(store), "quilt-test-escape-dotdot")])
    assert r.rc != 0 and "INVALID_ARGUMENT" in r.err, r
    m = r.err.replace(tar, "<image>").replace(env.tmp, "<tmp>")
    assert any(w in m for w in words), (words, r.err)
    _only_locks(d)
