# SPDX-License-Identifier: MIT
"""Malicious rootfs tarballs: the container ends FAILED naming the entry,
and nothing is ever written (or removed) outside the container's root."""

import os
import stat

import pytest

import quilt_itest as qi

DEEP = "../" * 16


class Targets:
    """Host paths a bad tarball aims at, all below the session temp dir."""

    def __init__(self, env, tag):
        self.dir = env.path("target-dir")             # an existing host dir
        os.makedirs(self.dir)
        self.sentinel = os.path.join(self.dir, "keep")
        with open(self.sentinel, "w") as f:
            f.write("keep\n")
        self.file = env.path("target-file")           # an existing host file
        with open(self.file, "w") as f:
            f.write("original\n")
        self.absent = env.path("target-absent")       # must never appear
        self.passwd = os.stat("/etc/passwd")
        self.passwd_digest = qi.file_digest("/etc/passwd")

    def check_untouched(self, extra=()):
        problems = []
        if sorted(os.listdir(self.dir)) != ["keep"]:
            problems.append("target dir changed: %s" % os.listdir(self.dir))
        if not os.path.exists(self.sentinel):
            problems.append("sentinel removed: %s" % self.sentinel)
        st = os.lstat(self.file)
        with open(self.file) as f:
            content = f.read()
        if content != "original\n" or st.st_nlink != 1:
            problems.append("target file changed: %r nlink=%d" % (content, st.st_nlink))
        if os.path.lexists(self.absent):
            problems.append("written outside: %s" % self.absent)
        st = os.stat("/etc/passwd")
        if st.st_nlink != self.passwd.st_nlink or qi.file_digest("/etc/passwd") != self.passwd_digest:
            problems.append("/etc/passwd changed (nlink %d -> %d)" % (self.passwd.st_nlink, st.st_nlink))
        for p in extra:
            if os.path.lexists(p):
                problems.append("written outside: %s" % p)
        assert not problems, "\n".join(problems)


def _payload(tf, name, data=b"PWNED\n"):
    qi.add_file(tf, name, data)


CASES = {
    # name: (entries(tf, targets), words the error message must contain (any of))
    "dotdot": (lambda tf, t: _payload(tf, "../quilt-test-escape-dotdot"),
               ["quilt-test-escape-dotdot"]),
    "dotdot-deep": (lambda tf, t: _payload(tf, DEEP + t.absent.lstrip("/")),
                    ["target-absent"]),
    "absolute": (lambda tf, t: _payload(tf, t.absent), ["target-absent"]),
    "symlink-abs": (lambda tf, t: (qi.add_symlink(tf, "lnk", t.dir), _payload(tf, "lnk/pwned")),
                    ["lnk"]),
    "symlink-rel": (lambda tf, t: (qi.add_symlink(tf, "rlnk", DEEP + t.dir.lstrip("/")),
                                   _payload(tf, "rlnk/pwned")),
                    ["rlnk"]),
    "symlink-dir-chain": (lambda tf, t: (qi.add_dir(tf, "sub"),
                                         qi.add_symlink(tf, "sub/up", "../.."),
                                         _payload(tf, "sub/up/quilt-test-escape-chain")),
                          ["sub/up"]),
    "hardlink-passwd": (lambda tf, t: qi.add_hardlink(tf, "hl", "../../etc/passwd"),
                        ["hl", "passwd"]),
    "hardlink-passwd-deep": (lambda tf, t: qi.add_hardlink(tf, "hl", DEEP + "etc/passwd"),
                             ["hl", "passwd"]),
    "hardlink-abs": (lambda tf, t: qi.add_hardlink(tf, "hl", t.file), ["hl", "target-file"]),
    "hardlink-then-write": (lambda tf, t: (qi.add_hardlink(tf, "hl2", DEEP + t.file.lstrip("/")),
                                           _payload(tf, "hl2")),
                            ["hl2", "target-file"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malicious_tarball_fails_and_writes_nothing_outside(q, env, case):
    t = Targets(env, case)
    entries, words = CASES[case]
    image = env.path("image.tar")
    qi.build_busybox_tarball(image, extra=lambda tf: entries(tf, t))
    cid = q.create(["true"], image=image)
    st = q.wait_state(cid)
    cdir = q.container_dir(cid)
    escapes = [os.path.join(cdir, "quilt-test-escape-dotdot"),
               os.path.join(os.path.dirname(cdir), "quilt-test-escape-dotdot"),
               os.path.join(cdir, "quilt-test-escape-chain")]
    t.check_untouched(escapes)
    assert st["state"] == "FAILED", "bad tarball (%s) not refused: %s%s" % (case, st, q.ctx())
    msg = st["errorMessage"]
    assert msg.startswith("rootfs: prepare_rootfs: "), msg
    # the entry (or its link target) must be named; ignore the image path
    m = msg.replace(image, "<image>").replace(env.tmp, "<tmp>")
    assert any(w in m for w in words), "message does not name the entry (%s): %r" % (words, msg)
    assert not qi.mount_lines_containing(cdir)
    r = q.rm(cid, force=False)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert not os.path.exists(cdir)
    # removal must not follow links out either
    t.check_untouched(escapes)
    os.unlink(image)


def test_symlinks_pointing_outside_are_kept_not_followed(q, env):
    """Absolute symlinks are normal in images (the busybox applets are);
    extracting them and removing the container never touches the target."""
    t = Targets(env, "benign")

    def extra(tf):
        qi.add_symlink(tf, "hostdir", t.dir)
        qi.add_symlink(tf, "hostfile", t.file)
        qi.add_symlink(tf, "updir", DEEP + t.dir.lstrip("/"))
    image = env.path("benign-links.tar")
    qi.build_busybox_tarball(image, extra=extra)
    cid = q.create(["sh", "-c", "readlink /hostdir; ls /hostdir/ 2>&1 | grep -c keep"], image=image)
    st = q.wait_state(cid)
    assert st["state"] == "EXITED", "%s%s" % (st, q.ctx())
    out, _ = q.logs(cid)
    assert out.splitlines()[0] == t.dir and out.splitlines()[1] == "0", out
    # extract mode leaves the tree in the container dir; overlay mode keeps
    # it in the image store (readlink inside the container checked it)
    link = os.path.join(q.container_dir(cid), "rootfs", "hostdir")
    if os.path.lexists(link):
        assert os.readlink(link) == t.dir
    q.ok("rm", cid)
    t.check_untouched()
    os.unlink(image)


def test_device_nodes_refused_or_neutralised(q, env):
    image = env.path("dev.tar")
    qi.build_busybox_tarball(image, extra=lambda tf: (qi.add_chardev(tf, "quilt-test-mem", 1, 1),
                                                      qi.add_chardev(tf, "quilt-test-null", 1, 3)))
    cid = q.create(["sh", "-c", "for f in /quilt-test-mem /quilt-test-null; do "
                                "test -c $f && echo DEVICE $f; done; echo done"], image=image)
    st = q.wait_state(cid)
    root = os.path.join(q.container_dir(cid), "rootfs")
    for n in ("quilt-test-mem", "quilt-test-null"):
        p = os.path.join(root, n)
        if os.path.lexists(p):
            assert not stat.S_ISCHR(os.lstat(p).st_mode), "device node %s extracted" % p
    if st["state"] == "FAILED":
        assert st["errorMessage"].startswith("rootfs: prepare_rootfs: "), st
        assert "quilt-test-mem" in st["errorMessage"], st
    else:
        assert st["state"] == "EXITED", st
        assert q.logs(cid)[0] == "done\n", q.logs(cid)
    q.ok("rm", cid)
    os.unlink(image)
