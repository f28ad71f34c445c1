# SPDX-License-Identifier: MIT
"""Request mounts (bind, tmpfs, named volumes), the read-only root and
--user with the shipped conf/quiltd.ini (chain ns, rootfs, mounts, setup).

The images with hostile symlinks point at a marker directory of our own
below the session temp dir (never at a real host directory such as /etc):
a mount that followed the symlink on the host would land on it."""

import os
import tarfile
import uuid

import pytest

import quilt_itest as qi


def run(q, argv, opts=(), image=None, timeout=60):
    """quilt-cli run --rm with extra create options (-v, --tmpfs, ...)."""
    name = q.new_name("mnt")
    q.created.append(name)
    args = ["run", "--rm", "--name", name] + list(opts) + q.spec_args(image or q.image, argv)
    return q.cli(*args, timeout=timeout)


def create(q, argv, opts=(), image=None):
    name = q.new_name("mnt")
    q.created.append(name)
    r = q.cli("create", "--name", name, *opts, *q.spec_args(image or q.image, argv))
    assert r.rc == 0, "create failed: %r%s" % (r, q.ctx())
    cid = r.out.strip()
    q.created.append(cid)
    return cid


def ok(q, r):
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    return r


def host_dir(env, name, files=None, mode=0o755):
    d = env.path(name)
    os.mkdir(d)
    os.chmod(d, mode)
    for fname, data in (files or {}).items():
        with open(os.path.join(d, fname), "w") as f:
            f.write(data)
    return d


def read(path):
    with open(path) as f:
        return f.read()


def snapshot(d):
    """{name: (mode, content)} of a flat directory: to see it is untouched."""
    out = {}
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        st = os.lstat(p)
        out[n] = (st.st_mode, st.st_mtime_ns, read(p) if os.path.isfile(p) else None)
    return out


def image_with(env, name, extra=None, skip=()):
    """The busybox image, minus the top-level entries in `skip`, plus extra(tf)."""
    path = os.path.join(env.images, "quilt-test-%s-%s.tar" % (name, uuid.uuid4().hex[:8]))
    with tarfile.open(env.image) as src, tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for ti in src.getmembers():
            top = ti.name.split("/", 1)[0]
            if top in skip:
                continue
            tf.addfile(ti, src.extractfile(ti) if ti.isreg() else None)
        if extra:
            extra(tf)
    return path


# --------------------------------------------------------------------------
# Bind mounts
# --------------------------------------------------------------------------


def test_bind_read_write(q, env):
    d = host_dir(env, "bind-rw", {"in": "from-host\n"})
    r = ok(q, run(q, ["sh", "-c", "cat /data/in && echo from-container > /data/out"],
                  ["-v", "%s:/data" % d]))
    assert r.out == "from-host\n", r
    assert read(os.path.join(d, "out")) == "from-container\n"


def test_bind_read_only(q, env):
    d = host_dir(env, "bind-ro", {"in": "from-host\n"})
    r = run(q, ["sh", "-c", "cat /data/in; echo x > /data/out; echo rc=$?; "
                            "grep ' /data ' /proc/self/mountinfo"], ["-v", "%s:/data:ro" % d])
    ok(q, r)
    assert r.out.startswith("from-host\nrc=1\n"), r
    assert "Read-only file system" in r.err, r
    # read-only reached the container through the root's recursive bind
    line = [l for l in r.out.splitlines() if " /data " in l]
    assert line and " ro," in line[0] + ",", r
    assert not os.path.exists(os.path.join(d, "out"))


def test_bind_file_and_missing_parents(q, env):
    d = host_dir(env, "bind-file", {"conf": "a file\n"})
    f = os.path.join(d, "conf")
    r = ok(q, run(q, ["sh", "-c", "cat /etc/quilt-test-conf /new/dir/conf; "
                                  "echo x >> /new/dir/conf; echo rc=$?"],
                  ["-v", "%s:/etc/quilt-test-conf:ro" % f, "-v", "%s:/new/dir/conf" % f]))
    assert r.out == "a file\na file\nrc=0\n", r
    assert read(f) == "a file\nx\n"


def test_bind_is_in_the_container_only(q, env):
    d = host_dir(env, "bind-ns", {"in": "x\n"})
    cid = create(q, ["sh", "-c", "cat /data/in && sleep 60"], ["-v", "%s:/data" % d])
    st = q.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL))
    assert st["state"] == "RUNNING", "%s%s" % (st, q.ctx())
    assert qi.poll(lambda: q.logs(cid)[0] == "x\n", 15), q.logs(cid)
    inside = qi.mountinfo(st["pid"])
    assert any(line.split()[4] == "/data" for line in inside), inside
    # neither the host nor anything below the container's dir shows it
    assert not qi.mount_lines_containing(d), qi.mount_lines_containing(d)
    assert not qi.mount_lines_containing(q.container_dir(cid))
    q.ok("rm", cid, "-f")


def test_dir_source_on_file_target_fails(q, env):
    d = host_dir(env, "bind-kind")
    r = run(q, ["true"], ["-v", "%s:/etc/passwd" % d])
    assert r.rc == 125, "%r%s" % (r, q.ctx())
    assert "mount 0 (/etc/passwd)" in r.err and "not a directory" in r.err, r


def test_missing_bind_source_is_not_found(q, env):
    missing = os.path.join(env.tmp, "quilt-test-no-such-dir-%s" % uuid.uuid4().hex[:8])
    r = q.cli("create", "--image", q.image, "-v", "%s:/data" % missing, "--", "true")
    assert r.rc != 0, r
    assert "NOT_FOUND" in r.err and missing in r.err, r
    assert not os.path.exists(missing)


# --------------------------------------------------------------------------
# Hostile images: symlinks on the way to the mount point
# --------------------------------------------------------------------------


def _symlink_escape(q, env, link_target_of):
    marker_dir = host_dir(env, "marker", {"marker": "host marker\n"})
    before = snapshot(marker_dir)
    link = link_target_of(marker_dir)
    img = image_with(env, "symlink", lambda tf: qi.add_symlink(tf, "data", link))
    src = host_dir(env, "bind-src", {"from-src": "src\n"})
    r = ok(q, run(q, ["sh", "-c", "ls /data; echo new > /data/written; "
                                  "cat %s/from-src; ls %s" % (marker_dir, marker_dir)],
                  ["-v", "%s:/data" % src], image=img))
    # the bind is where /data leads inside the root: the same path as the
    # host's marker dir, but the container's own
    assert r.out == "from-src\nsrc\nfrom-src\nwritten\n", r
    assert read(os.path.join(src, "written")) == "new\n"
    assert snapshot(marker_dir) == before, "the host's marker dir changed"
    assert not qi.mount_lines_containing(marker_dir)


def test_absolute_symlink_target_stays_in_root(q, env):
    # /data -> /tmp/quilt-test-XXXX/quilt-test-N-marker (exists on the host)
    _symlink_escape(q, env, lambda marker: marker)


def test_dotdot_symlink_target_stays_in_root(q, env):
    # /data -> ../../../../(...)/tmp/quilt-test-XXXX/quilt-test-N-marker: from
    # the rootfs dir on the host that would reach the host's marker dir
    _symlink_escape(q, env, lambda marker: "../" * 24 + marker.lstrip("/"))


def test_symlink_to_root_with_subdir(q, env):
    # /up -> ../../.. : /up/data is /data of the container
    img = image_with(env, "up", lambda tf: qi.add_symlink(tf, "up", "../../.."))
    src = host_dir(env, "bind-up", {"f": "up\n"})
    r = ok(q, run(q, ["cat", "/data/f"], ["-v", "%s:/up/data" % src], image=img))
    assert r.out == "up\n", r


def test_symlink_to_root_as_target_fails(q, env):
    # /up -> ../../.. and the target /up: a mount over the whole root
    img = image_with(env, "up-root", lambda tf: qi.add_symlink(tf, "up", "../../.."))
    src = host_dir(env, "bind-up-root")
    r = run(q, ["true"], ["-v", "%s:/up" % src], image=img)
    assert r.rc == 125, "%r%s" % (r, q.ctx())
    assert "mount 0 (/up): /up resolves to the container's root" in r.err, r


def test_file_target_through_symlink(q, env):
    # /conf -> /etc/quilt-test-target (a file of the image): the file bind
    # lands on the image's file
    def extra(tf):
        qi.add_file(tf, "etc/quilt-test-target", "image file\n")
        qi.add_symlink(tf, "conf", "/etc/quilt-test-target")
    img = image_with(env, "file-link", extra)
    d = host_dir(env, "file-link-src", {"f": "host file\n"})
    r = ok(q, run(q, ["cat", "/etc/quilt-test-target"], ["-v", "%s:/conf:ro" % os.path.join(d, "f")],
                  image=img))
    assert r.out == "host file\n", r


def test_file_target_dangling_symlink_fails(q, env):
    # /conf -> HOST-MARKER-FILE (absent in the image): no file is made on
    # the host, the mount fails
    marker_dir = host_dir(env, "file-marker", {"marker": "host marker\n"})
    before = snapshot(marker_dir)
    missing = os.path.join(marker_dir, "quilt-test-absent")
    img = image_with(env, "file-dangling", lambda tf: qi.add_symlink(tf, "conf", missing))
    d = host_dir(env, "file-dangling-src", {"f": "host file\n"})
    r = run(q, ["true"], ["-v", "%s:/conf" % os.path.join(d, "f")], image=img)
    assert r.rc == 125, "%r%s" % (r, q.ctx())
    assert "mount 0 (/conf): /conf is a symlink to a missing file in the container" in r.err, r
    assert snapshot(marker_dir) == before
    assert not os.path.exists(missing)


# --------------------------------------------------------------------------
# tmpfs
# --------------------------------------------------------------------------


def test_tmpfs_size_enforced(q):
    r = run(q, ["sh", "-c", "stat -c %a /scratch; grep ' /scratch ' /proc/self/mountinfo; "
                            "dd if=/dev/zero of=/scratch/f bs=1024 count=2048; echo rc=$?"],
            ["--tmpfs", "/scratch:size=1m"])
    ok(q, r)
    lines = r.out.splitlines()
    assert lines[0] == "1777", r
    assert "nosuid" in lines[1] and "nodev" in lines[1] and "size=1024k" in lines[1], r
    assert lines[-1] == "rc=1", r
    assert "No space left on device" in r.err, r


def test_tmpfs_mode_and_read_only(q):
    r = ok(q, run(q, ["sh", "-c", "stat -c %a /t1; touch /t2/x; echo rc=$?"],
                  ["--tmpfs", "/t1:mode=700", "--tmpfs", "/t2:ro"]))
    assert r.out == "700\nrc=1\n", r
    assert "Read-only file system" in r.err, r


# --------------------------------------------------------------------------
# Named volumes
# --------------------------------------------------------------------------


def test_named_volume_persists(q):
    vol = "quilt-test-vol-%s" % uuid.uuid4().hex[:8]
    q.ok("volume", "create", vol)
    try:
        ok(q, run(q, ["sh", "-c", "echo kept > /v/file"], ["-v", "%s:/v" % vol]))
        r = ok(q, run(q, ["cat", "/v/file"], ["-v", "%s:/v:ro" % vol]))
        assert r.out == "kept\n", r
    finally:
        r = q.cli("volume", "rm", vol)
        assert r.rc == 0, r


# --------------------------------------------------------------------------
# Read-only root
# --------------------------------------------------------------------------


def test_read_only_root_tmp_writable(q, env):
    d = host_dir(env, "ro-root-bind")
    r = run(q, ["sh", "-c", "touch /x; echo rc=$?; touch /tmp/y && echo tmp-ok; "
                            "echo v > /data/v && echo bind-ok; "
                            "grep -c ' /tmp ' /proc/self/mountinfo; "
                            "grep ' /tmp ' /proc/self/mountinfo; stat -c %a /tmp"],
            ["--read-only", "-v", "%s:/data" % d])
    ok(q, r)
    lines = r.out.splitlines()
    assert lines[:4] == ["rc=1", "tmp-ok", "bind-ok", "1"], r
    assert "Read-only file system" in r.err, r
    assert "tmpfs" in lines[4] and "nosuid" in lines[4] and "nodev" in lines[4], r
    assert lines[5] == "1777", r
    assert read(os.path.join(d, "v")) == "v\n"


def test_read_only_root_keeps_request_tmp(q):
    r = ok(q, run(q, ["sh", "-c", "grep ' /tmp ' /proc/self/mountinfo"],
                  ["--read-only", "--tmpfs", "/tmp:size=1m"]))
    lines = r.out.splitlines()
    assert len(lines) == 1 and "size=1024k" in lines[0], r


def test_read_only_root_with_mount_below_tmp(q, env):
    # /tmp's tmpfs is made before the request mounts: it must not hide them
    d = host_dir(env, "ro-tmp-sub", {"f": "below tmp\n"})
    r = ok(q, run(q, ["sh", "-c", "cat /tmp/sub/f; echo w > /tmp/sub/w; touch /tmp/y && echo tmp-ok"],
                  ["--read-only", "-v", "%s:/tmp/sub" % d]))
    assert r.out == "below tmp\ntmp-ok\n", r
    assert read(os.path.join(d, "w")) == "w\n"


def test_read_only_root_without_tmp_in_image(q, env):
    img = image_with(env, "notmp", skip=("tmp",))
    r = ok(q, run(q, ["sh", "-c", "touch /tmp/y && echo tmp-ok; touch /x; echo rc=$?"],
                  ["--read-only"], image=img))
    assert r.out == "tmp-ok\nrc=1\n", r


def test_writable_root_by_default(q):
    r = ok(q, run(q, ["sh", "-c", "touch /x && echo ok; grep -c ' /tmp ' /proc/self/mountinfo; true"]))
    assert r.out == "ok\n0\n", r


# --------------------------------------------------------------------------
# --user with a bind mount
# --------------------------------------------------------------------------


def test_user_owns_files_on_bind(q, env):
    d = host_dir(env, "user-bind", mode=0o777)
    r = ok(q, run(q, ["sh", "-c", "id -u; id -g; echo x > /data/f"],
                  ["--user", "1000:1000", "-v", "%s:/data" % d]))
    assert r.out == "1000\n1000\n", r
    st = os.stat(os.path.join(d, "f"))
    assert (st.st_uid, st.st_gid) == (1000, 1000), st


# --------------------------------------------------------------------------
# Other chains: the rootfs plugin's readonly key, chroot
# --------------------------------------------------------------------------


READONLY_INI = """\
# quilt-test: readonly = true in both rootfs modes, with the mounts plugin
[plugins]
chain = ns, rootfs, mounts

[profile.rochroot]
chain = ns, rootfs:rochroot, mounts

[ns]
pid = true
mount = true
uts = true
ipc = true
net = true

[rootfs]
mode = pivot_root
readonly = true

[rootfs:rochroot]
mode = chroot
readonly = true
"""


@pytest.mark.parametrize("profile", [None, "rochroot"])
def test_config_readonly_key(env, start_daemon, quilt_for, profile):
    cfg = env.write_config("readonly", READONLY_INI)
    d = start_daemon(cfg, "readonly")
    q = quilt_for(d, env.image)
    src = host_dir(env, "ro-key-bind")
    opts = ["-v", "%s:/data" % src] + (["--profile", profile] if profile else [])
    r = run(q, ["sh", "-c", "touch /x; echo rc=$?; touch /tmp/y && echo tmp-ok; "
                            "echo v > /data/v && echo bind-ok"], opts)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert r.out == "rc=1\ntmp-ok\nbind-ok\n", r
    assert "Read-only file system" in r.err, r
    assert read(os.path.join(src, "v")) == "v\n"


def test_chroot_profile_bind_and_no_read_only(q, env):
    # the shipped [profile.chroot] has no mount namespace: the container
    # shares the monitor's, where the bind is; a read-only root needs one
    src = host_dir(env, "chroot-bind", {"f": "chroot\n"})
    r = ok(q, run(q, ["cat", "/data/f"], ["--profile", "chroot", "-v", "%s:/data" % src]))
    assert r.out == "chroot\n", r
    assert not qi.mount_lines_containing(src)
    r = run(q, ["true"], ["--profile", "chroot", "--read-only"])
    assert r.rc != 0, r
    assert "needs a mount namespace" in r.err, r


EXTRACT_INI = """\
# quilt-test: the rootfs unpacked per container (no overlay) and mounts
[plugins]
chain = ns, rootfs, mounts

[ns]
pid = true
mount = true
uts = true
ipc = true
net = true

[rootfs]
mode = pivot_root
store = extract
"""


def test_extract_store(env, start_daemon, quilt_for):
    # c->rootfs a plain directory instead of an overlay mount: the root's
    # recursive bind must still carry the mounts, read-only included
    cfg = env.write_config("extract", EXTRACT_INI)
    d = start_daemon(cfg, "extract")
    q = quilt_for(d, env.image)
    rw = host_dir(env, "extract-rw")
    ro = host_dir(env, "extract-ro", {"f": "ro\n"})
    marker_dir = host_dir(env, "extract-marker", {"marker": "host marker\n"})
    before = snapshot(marker_dir)
    img = image_with(env, "extract-symlink",
                     lambda tf: qi.add_symlink(tf, "data", "../" * 24 + marker_dir.lstrip("/")))
    r = run(q, ["sh", "-c", "echo w > /data/w && echo rw-ok; cat /ro/f; echo x > /ro/x; "
                            "echo rc=$?; touch /x; echo rc=$?; touch /tmp/t && echo tmp-ok; "
                            "dd if=/dev/zero of=/s/f bs=1024 count=2048 2>/dev/null; echo rc=$?"],
            ["--read-only", "-v", "%s:/data" % rw, "-v", "%s:/ro:ro" % ro,
             "--tmpfs", "/s:size=1m"], image=img)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert r.out == "rw-ok\nro\nrc=1\nrc=1\ntmp-ok\nrc=1\n", r
    assert read(os.path.join(rw, "w")) == "w\n"
    assert not os.path.exists(os.path.join(ro, "x"))
    assert snapshot(marker_dir) == before


def test_mount_targets_under_kernel_filesystems_are_refused(q):
    # the ns plugin mounts /proc, /dev and /sys afresh: a mount there would vanish
    for target in ("/proc", "/dev/shm/x", "//sys/fs"):
        r = q.cli("create", "--image", q.image, "--tmpfs", target, "--", "true")
        assert r.rc != 0 and "INVALID_ARGUMENT" in r.err and "ns plugin" in r.err, r
