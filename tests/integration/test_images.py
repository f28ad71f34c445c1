# SPDX-License-Identifier: MIT
"""The rootfs plugin's image store and overlay mode (issue 4, first slice):
an image tarball is unpacked once into STATE_DIR/images/sha256/HEX/rootfs
and every container gets an overlay of its own upper dir over it; the
`extract` store (a profile here) keeps unpacking per container."""

import json
import os
import stat
import tarfile

import pytest

import quilt_itest as qi
from test_tar_security import CASES as BAD_TARBALLS
from test_tar_security import Targets

IMAGES_INI = """\
# quilt-test: overlay by default, the extract fallback as a profile
[plugins]
chain = ns, rootfs

[profile.extract]
chain = ns, rootfs:extract

[ns]
pid = true
mount = true
uts = true
ipc = true
net = true

[rootfs]
mode = pivot_root
store = overlay

[rootfs:extract]
mode = pivot_root
store = extract
"""

N = 20


def _image(env, tag):
    """A busybox image with two files of its own: one each container
    rewrites, one each container deletes."""
    path = env.path(tag + ".tar")

    def extra(tf):
        qi.add_file(tf, "etc/quilt-test-shared", "orig\n")
        qi.add_file(tf, "etc/quilt-test-victim", "victim\n")
        qi.add_file(tf, "etc/quilt-test-tag", tag + "\n")
    qi.build_busybox_tarball(path, extra=extra)
    return path, qi.file_digest(path)


def _sha_dir(d):
    return os.path.join(d.state_dir, "images", "sha256")


def _tree(root):
    """{relative path: (type and mode, size, content or link)} of a tree."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st.st_mode):
                what = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                what = qi.file_digest(p)
            else:
                what = None
            out[rel] = (st.st_mode, st.st_size if stat.S_ISREG(st.st_mode) else 0, what)
    return out


def _tar_names(path):
    with tarfile.open(path) as tf:
        return {m.name.rstrip("/") for m in tf.getmembers()}


def _is_mount_point(path):
    return path in qi.mount_points()


SCRIPT = ('echo $Q > /quilt-test-mine-$Q; echo $Q > /etc/quilt-test-shared; '
          'rm /etc/quilt-test-victim; sleep 1; '
          'ls / | grep quilt-test-mine-; cat /etc/quilt-test-shared; '
          'test -e /etc/quilt-test-victim && echo victim-still-there; echo done')


def _run_many(q, image, n, profile=None):
    ids = []
    for i in range(n):
        ids.append(q.create(["sh", "-c", SCRIPT], image=image, env=["Q=%d" % i],
                            profile=profile))
    for i, cid in enumerate(ids):
        st = q.wait_state(cid, timeout=60)
        assert st["state"] == "EXITED" and st["exitCode"] == 0, "%d: %s%s" % (i, st, q.ctx())
        out, err = q.logs(cid)
        # none sees another's file, its own rewrite only, its own delete
        assert out == "quilt-test-mine-%d\n%d\ndone\n" % (i, i), (i, out, err)
    return ids


def _check_removed(q, d, ids):
    for cid in ids:
        q.ok("rm", cid)
        cdir = q.container_dir(cid)
        assert not os.path.exists(cdir), cdir
    left = qi.mount_lines_containing(os.path.join(d.state_dir, "containers"))
    assert not left, "mounts left after rm:\n" + "\n".join(left)
    assert not [l for l in qi.mountinfo() if " - overlay " in l and d.state_dir in l], \
        "an overlay of the state dir is left"


def test_overlay_20_containers_one_unpacked_image(env, start_daemon, quilt_for):
    cfg = env.write_config("images", IMAGES_INI)
    d = start_daemon(cfg, "images")
    q = quilt_for(d, env.image)
    image, hexd = _image(env, "overlay")

    ids = _run_many(q, image, N)

    # one unpacked copy, named by the tarball's sha256, and its lock only
    sha = _sha_dir(d)
    assert sorted(os.listdir(sha)) == sorted([hexd, hexd + ".lock"]), os.listdir(sha)
    entry = os.path.join(sha, hexd)
    with open(os.path.join(entry, "meta")) as f:
        meta = dict(l.split("=", 1) for l in f.read().splitlines())
    assert meta["digest"] == "sha256:" + hexd, meta
    assert meta["source"] == image and int(meta["size"]) == os.path.getsize(image), meta
    assert int(meta["unpacked_bytes"]) > 0 and meta["created"], meta

    # the image tree is unchanged: exactly the tarball's entries, original content
    lower = os.path.join(entry, "rootfs")
    tree = _tree(lower)
    assert set(tree) == _tar_names(image), set(tree) ^ _tar_names(image)
    with open(os.path.join(lower, "etc/quilt-test-shared")) as f:
        assert f.read() == "orig\n"
    assert os.path.exists(os.path.join(lower, "etc/quilt-test-victim"))

    for i, cid in enumerate(ids):
        cdir = q.container_dir(cid)
        with open(os.path.join(cdir, "image-digest")) as f:
            assert f.read() == "sha256:%s\n" % hexd
        # the writes went to the container's own upper dir
        with open(os.path.join(cdir, "upper", "quilt-test-mine-%d" % i)) as f:
            assert f.read() == "%d\n" % i
        # the overlay lives in the container's mount namespace only
        rootfs = os.path.join(cdir, "rootfs")
        assert not _is_mount_point(rootfs), "the overlay on %s shows on the host" % rootfs

    # seen from inside, the root is an overlay over the stored image
    cid = q.create(["cat", "/proc/self/mountinfo"], image=image)
    st = q.wait_state(cid, timeout=60)
    assert st["state"] == "EXITED" and st["exitCode"] == 0, st
    out, _ = q.logs(cid)
    roots = [l for l in out.splitlines() if l.split()[4] == "/"]
    assert roots and " - overlay " in roots[-1] and ("lowerdir=" + lower) in roots[-1], out
    ids.append(cid)

    # a container that fails half-way (after the mount) is cleaned up too
    bad = q.create(["/quilt-test-no-such-command"], image=image)
    st = q.wait_state(bad, timeout=30)
    assert st["state"] in ("FAILED", "EXITED") and (st["state"] == "FAILED" or st["exitCode"] != 0), st

    _check_removed(q, d, ids + [bad])
    assert _tree(lower) == tree, "the image changed"
    assert sorted(os.listdir(sha)) == sorted([hexd, hexd + ".lock"]), os.listdir(sha)


def test_extract_store_profile_is_the_fallback(env, start_daemon, quilt_for):
    cfg = env.write_config("images-extract", IMAGES_INI)
    r = qi.run_cmd([env.paths.quiltd, "--check-config", "--config", cfg,
                    "--plugin-dir", env.paths.plugin_dir])
    assert r.rc == 0, r
    assert "[rootfs] store = overlay" in r.err + r.out, r
    assert "[rootfs:extract] store = extract" in r.err + r.out, r
    d = start_daemon(cfg, "images-extract")
    q = quilt_for(d, env.image)
    image, hexd = _image(env, "extract")

    ids = _run_many(q, image, N, profile="extract")
    assert not os.path.exists(os.path.join(_sha_dir(d), hexd)), "extract mode used the store"
    for cid in ids:
        cdir = q.container_dir(cid)
        assert not _is_mount_point(os.path.join(cdir, "rootfs"))
        assert not os.path.exists(os.path.join(cdir, "upper"))
        assert not os.path.exists(os.path.join(cdir, "image-digest"))
    _check_removed(q, d, ids)


def test_auto_store_reports_its_choice(env):
    cfg = env.write_config("images-auto", IMAGES_INI.replace("store = overlay", "store = auto"))
    r = qi.run_cmd([env.paths.quiltd, "--check-config", "--config", cfg,
                    "--plugin-dir", env.paths.plugin_dir])
    assert r.rc == 0, r
    text = r.err + r.out
    have = any(l.endswith("\toverlay") or l == "nodev\toverlay"
               for l in open("/proc/filesystems").read().splitlines())
    want = "store = auto picked %s" % ("overlay" if have else "extract")
    assert want in text, r
    # the probe leaves nothing mounted
    assert not [l for l in qi.mountinfo() if "quilt-overlay-probe-" in l]


def test_image_store_path_must_be_absolute(env):
    cfg = env.write_config("images-rel", IMAGES_INI.replace(
        "store = overlay", "store = overlay\nimage_store = relative/images"))
    r = qi.run_cmd([env.paths.quiltd, "--check-config", "--config", cfg,
                    "--plugin-dir", env.paths.plugin_dir])
    assert r.rc != 0 and "image_store" in r.err, r


def test_configured_image_store(env, start_daemon, quilt_for):
    store = env.path("store")
    cfg = env.write_config("images-store", IMAGES_INI.replace(
        "store = overlay", "store = overlay\nimage_store = %s" % store))
    d = start_daemon(cfg, "images-store")
    q = quilt_for(d, env.image)
    image, hexd = _image(env, "store")
    ids = _run_many(q, image, 2)
    assert os.path.isdir(os.path.join(store, "sha256", hexd, "rootfs"))
    assert not os.path.exists(os.path.join(d.state_dir, "images"))
    _check_removed(q, d, ids)


@pytest.mark.parametrize("case", sorted(BAD_TARBALLS))
def test_malicious_tarball_in_overlay_mode(env, start_daemon, quilt_for, case):
    cfg = env.write_config("images-bad", IMAGES_INI)
    d = start_daemon(cfg, "images-bad")
    q = quilt_for(d, env.image)
    t = Targets(env, case)
    entries, words = BAD_TARBALLS[case]
    image = env.path("bad.tar")
    qi.build_busybox_tarball(image, extra=lambda tf: entries(tf, t))
    hexd = qi.file_digest(image)
    cid = q.create(["true"], image=image)
    st = q.wait_state(cid)
    cdir = q.container_dir(cid)
    sha = _sha_dir(d)
    escapes = [os.path.join(cdir, "quilt-test-escape-dotdot"),
               os.path.join(os.path.dirname(cdir), "quilt-test-escape-dotdot"),
               os.path.join(cdir, "quilt-test-escape-chain"),
               os.path.join(sha, "quilt-test-escape-dotdot"),
               os.path.join(sha, "quilt-test-escape-chain")]
    t.check_untouched(escapes)
    assert st["state"] == "FAILED", "bad tarball (%s) not refused: %s%s" % (case, st, q.ctx())
    msg = st["errorMessage"]
    assert msg.startswith("rootfs: prepare_rootfs: "), msg
    m = msg.replace(image, "<image>").replace(env.tmp, "<tmp>")
    assert any(w in m for w in words), "message does not name the entry (%s): %r" % (words, msg)
    # no store entry, no half-unpacked temporary dir: only the lock file
    assert sorted(os.listdir(sha)) == [hexd + ".lock"], os.listdir(sha)
    assert not qi.mount_lines_containing(cdir)
    assert not os.path.exists(os.path.join(cdir, "image-digest"))
    r = q.rm(cid, force=False)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert not os.path.exists(cdir)
    t.check_untouched(escapes)
    os.unlink(image)


def test_overlay_never_shows_on_the_host(env, start_daemon, quilt_for):
    """The monitor mounts the overlay in a mount namespace of its own: the
    host never sees it, and it goes with the container's last process —
    also when quiltd stops; the upper dir stays until rm."""
    cfg = env.write_config("images-restart", IMAGES_INI)
    d = start_daemon(cfg, "images-restart")
    q = quilt_for(d, env.image)
    cid = q.create(["sh", "-c", "echo hi > /quilt-test-kept; sleep 100"])
    q.wait_state(cid, ["RUNNING"])
    cdir = q.container_dir(cid)
    rootfs = os.path.join(cdir, "rootfs")
    assert not _is_mount_point(rootfs)
    assert not qi.mount_lines_containing(d.state_dir)
    d.stop(45)
    q.created = []
    assert not qi.mount_lines_containing(d.state_dir)
    with open(os.path.join(cdir, "upper", "quilt-test-kept")) as f:
        assert f.read() == "hi\n"
    d2 = start_daemon(cfg, "images-restart2", extra_args=["--state-dir", d.state_dir])
    q2 = quilt_for(d2, env.image)
    st = q2.status(cid)
    assert st["state"] in ("EXITED", "FAILED"), st
    q2.ok("rm", cid)
    assert not qi.mount_lines_containing(d.state_dir)
    assert not os.path.exists(cdir)


# ---- the image API: ImportImage, ListImages, RemoveImage (issue 4 part 5) ----

def _images(q):
    r = q.ok("images", "--json")
    return {i["digest"]: i for i in json.loads(r.out)["images"]}


def _import(q, path, tag=None):
    r = q.ok("import", path, *(["--tag", tag] if tag else []))
    digest = r.out.strip()
    assert digest.startswith("sha256:") and len(digest) == 71, r
    return digest


def _api_daemon(env, start_daemon, quilt_for, name):
    cfg = env.write_config(name, IMAGES_INI)
    d = start_daemon(cfg, name)
    return d, quilt_for(d, env.image)


def test_import_tag_list_and_create_by_reference(env, start_daemon, quilt_for):
    d, q = _api_daemon(env, start_daemon, quilt_for, "images-api")
    image, hexd = _image(env, "api")
    digest = _import(q, image, tag="quilt-test/busybox:1.0")
    assert digest == "sha256:" + hexd
    # the helper unpacked it exactly where the plugin would
    assert os.path.isdir(os.path.join(_sha_dir(d), hexd, "rootfs"))
    tagfile = os.path.join(d.state_dir, "images", "tags", "quilt-test%2Fbusybox:1.0")
    with open(tagfile) as f:
        assert f.read() == digest + "\n"
    # a second import of the same tarball is a hit; a second tag is added
    assert _import(q, image, tag="quilt-test-other") == digest
    imgs = _images(q)
    assert list(imgs) == [digest], imgs
    img = imgs[digest]
    assert sorted(img["tags"]) == ["quilt-test-other", "quilt-test/busybox:1.0"], img
    assert img["source"] == image and img["sizeBytes"] == os.path.getsize(image), img
    assert img["unpackedBytes"] > 0 and img["createdAtNs"] > 0 and img["containers"] == 0, img
    table = q.ok("images").out.splitlines()
    assert table[0].split() == ["DIGEST", "TAGS", "SIZE", "CONTAINERS", "CREATED"], table
    assert table[1].startswith(hexd[:12] + " "), table

    # create by tag, by digest prefix (bare and with sha256:), by full digest
    refs = ["quilt-test/busybox:1.0", hexd[:12], "sha256:" + hexd[:16], digest]
    ids = []
    for ref in refs:
        cid = q.create(["cat", "/etc/quilt-test-tag"], image=ref)
        st = q.wait_state(cid, timeout=60)
        assert st["state"] == "EXITED" and st["exitCode"] == 0, (ref, st, q.ctx())
        assert q.logs(cid)[0] == "api\n"
        assert st["image"] == digest, st      # the resolved digest: a tag may move later
        with open(os.path.join(q.container_dir(cid), "image-digest")) as f:
            assert f.read() == digest + "\n"
        ids.append(cid)
    assert _images(q)[digest]["containers"] == len(refs)

    # a container from the tarball path counts as well
    ids.append(q.create(["true"], image=image))
    q.wait_state(ids[-1], timeout=60)
    assert _images(q)[digest]["containers"] == len(refs) + 1

    # the tag moves when re-imported from another tarball
    image2, hexd2 = _image(env, "api2")
    assert _import(q, image2, tag="quilt-test-other") == "sha256:" + hexd2
    imgs = _images(q)
    assert imgs[digest]["tags"] == ["quilt-test/busybox:1.0"], imgs
    assert imgs["sha256:" + hexd2]["tags"] == ["quilt-test-other"], imgs
    cid = q.create(["cat", "/etc/quilt-test-tag"], image="quilt-test-other")
    q.wait_state(cid, timeout=60)
    assert q.logs(cid)[0] == "api2\n"
    ids.append(cid)

    # unknown references
    for ref in ["quilt-test-no-such-tag", "sha256:" + "0" * 64, "0123456789ab"]:
        r = q.cli("create", "--image", ref, "--", "true")
        assert r.rc != 0 and "NOT_FOUND" in r.err and "no such image '%s'" % ref in r.err, r
    r = q.cli("create", "--image", "bad..tag", "--", "true")
    assert r.rc != 0 and "INVALID_ARGUMENT" in r.err, r
    r = q.cli("import", image, "--tag", "bad..tag")
    assert r.rc != 0 and "INVALID_ARGUMENT" in r.err, r
    _check_removed(q, d, ids)
    for ref in ["quilt-test/busybox:1.0", "sha256:" + hexd2]:
        q.ok("rmi", ref)
    assert _images(q) == {}
    assert os.listdir(os.path.join(d.state_dir, "images", "tags")) == []


def test_rmi_refused_while_used_then_allowed(env, start_daemon, quilt_for):
    d, q = _api_daemon(env, start_daemon, quilt_for, "images-rmi")
    image, hexd = _image(env, "rmi")
    digest = _import(q, image, tag="quilt-test-rmi")
    running = q.create(["sleep", "100"], image="quilt-test-rmi")
    q.wait_state(running, ["RUNNING"])
    exited = q.create(["true"], image=hexd[:20])
    q.wait_state(exited, timeout=60)
    assert _images(q)[digest]["containers"] == 2
    for ref in ["quilt-test-rmi", digest, hexd[:12]]:
        r = q.cli("rmi", ref)
        assert r.rc != 0 and "FAILED_PRECONDITION" in r.err, r
        assert running[:12] in r.err and exited[:12] in r.err, r
    assert os.path.isdir(os.path.join(_sha_dir(d), hexd, "rootfs"))
    q.ok("rm", "-f", running)
    r = q.cli("rmi", "quilt-test-rmi")
    assert r.rc != 0 and exited[:12] in r.err and running[:12] not in r.err, r
    q.ok("rm", exited)
    assert _images(q)[digest]["containers"] == 0
    r = q.ok("rmi", "quilt-test-rmi")
    assert r.out.strip() == digest, r
    assert _images(q) == {}
    # the entry is gone, its lock file may stay; the tag went with it
    assert [n for n in os.listdir(_sha_dir(d)) if not n.endswith(".lock")] == []
    assert os.listdir(os.path.join(d.state_dir, "images", "tags")) == []
    for ref in ["quilt-test-rmi", digest]:
        r = q.cli("rmi", ref)
        assert r.rc != 0 and "NOT_FOUND" in r.err and "no such image" in r.err, r
    r = q.cli("create", "--image", "quilt-test-rmi", "--", "true")
    assert r.rc != 0 and "NOT_FOUND" in r.err, r
    # importing it again works after a removal
    assert _import(q, image) == digest
    q.ok("rmi", digest)
    q.created = []


def test_rmi_unknown_is_not_found(env, start_daemon, quilt_for):
    d, q = _api_daemon(env, start_daemon, quilt_for, "images-rmi-unknown")
    for ref in ["quilt-test-nothing", "sha256:" + "a" * 64, "abcdefabcdef"]:
        r = q.cli("rmi", ref)
        assert r.rc != 0 and "NOT_FOUND" in r.err and ("no such image '%s'" % ref) in r.err, r
    r = q.cli("rmi", "/tmp/x.tar")
    assert r.rc != 0 and "INVALID_ARGUMENT" in r.err, r


def test_extract_mode_refuses_a_digest(env, start_daemon, quilt_for):
    d, q = _api_daemon(env, start_daemon, quilt_for, "images-extract-ref")
    image, hexd = _image(env, "extref")
    _import(q, image, tag="quilt-test-ext")
    cid = q.create(["true"], image="quilt-test-ext", profile="extract")
    st = q.wait_state(cid, timeout=60)
    assert st["state"] == "FAILED" and "extract mode needs a tarball path" in st["errorMessage"], st
    q.ok("rm", cid)
    q.ok("rmi", "quilt-test-ext")
    q.created = []


@pytest.mark.parametrize("case", sorted(BAD_TARBALLS))
def test_import_malicious_tarball(env, start_daemon, quilt_for, case):
    d, q = _api_daemon(env, start_daemon, quilt_for, "images-import-bad")
    t = Targets(env, case)
    entries, words = BAD_TARBALLS[case]
    image = env.path("bad.tar")
    qi.build_busybox_tarball(image, extra=lambda tf: entries(tf, t))
    hexd = qi.file_digest(image)
    sha = _sha_dir(d)
    r = q.cli("import", image, "--tag", "quilt-test-bad")
    t.check_untouched([os.path.join(sha, "quilt-test-escape-dotdot"),
                       os.path.join(sha, "quilt-test-escape-chain")])
    assert r.rc != 0 and "INVALID_ARGUMENT" in r.err, r
    m = r.err.replace(image, "<image>").replace(env.tmp, "<tmp>")
    assert any(w in m for w in words), "message does not name the entry (%s): %r" % (words, r.err)
    # nothing in the store but the lock file, no tag
    assert sorted(os.listdir(sha)) == [hexd + ".lock"], os.listdir(sha)
    assert not os.path.exists(os.path.join(d.state_dir, "images", "tags", "quilt-test-bad"))
    assert _images(q) == {}
    os.unlink(image)
