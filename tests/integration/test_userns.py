# SPDX-License-Identifier: MIT
"""User namespaces (the userns plugin, profile userns of conf/quiltd.ini)
and the cgroup namespace (the ns plugin's cgroup key, on by default).

Root in the container is host uid 100000 (uid_map = gid_map =
100000:65536): `id -u` says 0 inside, /proc/self/uid_map shows the
mapping, what it writes in a bind-mounted host directory belongs to
100000 on the host, it can write its own root, and exec joins it as its
root.  Ways to the root tree's owners: an extracted root (a plain
directory) gets an idmapped mount; an overlay root, which overlayfs cannot
idmap, gets an idmapped lower layer from the rootfs plugin (the image store
keeps its owners, nothing is copied up); where the kernel refuses that, the
tree is chowned through the overlay (the fallback); idmap = chown forces
the chown.  Also: --user, a read-only root, tmpfs and volume mounts,
chroot mode, the cgroup plugin, and bad [userns] sections failing with
FILE:LINE."""

import importlib
import io
import os
import tarfile
import uuid

import pytest

import quilt_itest as qi

START = 100000
COUNT = 65536
PROFILE = "userns"

USERNS_CHAIN = "userns, ns, rootfs, mounts, caps, seccomp, setup"


def ok(q, r):
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    return r


def run(q, argv, extra=(), profile=PROFILE, timeout=60):
    return ok(q, q.run(list(argv), extra=list(extra), profile=profile, timeout=timeout))


def host_dir(env, name):
    d = env.path(name)
    os.mkdir(d)
    os.chmod(d, 0o777)  # the container's root is "others" to it
    return d


def running(q, argv=("sleep", "3600"), profile=PROFILE):
    cid = q.create(list(argv), profile=profile)
    st = q.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL))
    assert st["state"] == "RUNNING", "%s%s" % (st, q.ctx())
    return cid, st


def cli_exec(q, cid, argv):
    return q.cli("exec", cid, "--", *argv, timeout=60)


def suid_image(env):
    """The busybox image plus a setuid root file, bin/quilt-test-suid."""
    path = os.path.join(env.images, "quilt-test-suid-%s.tar" % uuid.uuid4().hex[:8])
    with tarfile.open(env.image) as src, tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tf:
        for ti in src.getmembers():
            tf.addfile(ti, src.extractfile(ti) if ti.isreg() else None)
        ti = tarfile.TarInfo("bin/quilt-test-suid")
        ti.mode, ti.size = 0o4755, 3
        tf.addfile(ti, io.BytesIO(b"hi\n"))
    return path


def check_container(q, env, profile=PROFILE):
    """What a userns container must show, whatever made its tree's owners."""
    # root inside, and the mapping it comes from
    r = run(q, ["sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map"],
            profile=profile)
    lines = [l.split() for l in r.out.splitlines()]
    assert lines[0] == ["0"] and lines[1] == ["0"], r
    assert lines[2] == ["0", str(START), str(COUNT)], r
    assert lines[3] == ["0", str(START), str(COUNT)], r

    # the image's files belong to the container's root, which may write
    # the root tree (the overlay's upper layer) and /tmp
    r = run(q, ["sh", "-c", "stat -c '%u %g' /bin/busybox /etc; "
                "echo hi > /quilt-test-root-file && cat /quilt-test-root-file && "
                "stat -c '%u %g' /quilt-test-root-file; echo x > /etc/quilt-test && "
                "mkdir /tmp/quilt-test-d && echo ok"], profile=profile)
    assert r.out.splitlines() == ["0 0", "0 0", "hi", "0 0", "ok"], r

    # a file created in a bind-mounted host directory is the mapped uid's
    d = host_dir(env, "userns-bind")
    run(q, ["sh", "-c", "echo hi > /mnt/quilt-test-f && mkdir /mnt/quilt-test-sub"],
        extra=["-v", "%s:/mnt" % d], profile=profile)
    for name in ("quilt-test-f", "quilt-test-sub"):
        st = os.lstat(os.path.join(d, name))
        assert (st.st_uid, st.st_gid) == (START, START), (name, st)
    # and a host file there that no container id maps to stays out of reach
    with open(os.path.join(d, "quilt-test-host"), "w") as f:
        f.write("secret\n")
    os.chmod(os.path.join(d, "quilt-test-host"), 0o600)
    r = q.run(["sh", "-c", "stat -c '%u' /mnt/quilt-test-host; cat /mnt/quilt-test-host"],
              extra=["-v", "%s:/mnt" % d], profile=profile)
    assert r.out.splitlines()[0] == "65534" and "secret" not in r.out, r

    # exec joins the container as its root: host uid START
    cid, st = running(q, profile=profile)
    r = ok(q, cli_exec(q, cid, ["sh", "-c", "id -u; cat /proc/self/uid_map; "
                                "echo e > /quilt-test-exec && stat -c %u /quilt-test-exec"]))
    out = r.out.splitlines()
    assert out[0] == "0" and out[1].split() == ["0", str(START), str(COUNT)] and out[2] == "0", r
    with open("/proc/%d/status" % st["pid"]) as f:
        uids = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
    assert uids == [str(START)] * 4, uids
    q.rm(cid)


def wait_written(path):
    assert qi.poll(lambda: os.path.exists(path), 10), path
    st = os.lstat(path)
    return st.st_uid, st.st_gid


FALLBACK_WARNING = "; chowning the root tree instead"


def count_files(root):
    return sum(len(dirs) + len(files) for _, dirs, files in os.walk(root))


def image_layer(state_dir):
    """The one image of the store below `state_dir` (its unpacked tree)."""
    store = os.path.join(state_dir, "images", "sha256")
    layers = [os.path.join(store, h, "rootfs") for h in os.listdir(store)
              if os.path.isdir(os.path.join(store, h, "rootfs"))]
    assert layers, store
    return layers


def assert_store_untouched(state_dir):
    """Every file of the image store still belongs to host root."""
    for layer in image_layer(state_dir):
        for dirpath, dirs, files in os.walk(layer):
            for name in dirs + files:
                st = os.lstat(os.path.join(dirpath, name))
                assert (st.st_uid, st.st_gid) == (0, 0), (dirpath, name, st)


def test_userns_overlay_root(q, env):
    """The shipped profile: the root is an overlay whose lower layer is
    idmapped through the container's mapping, so the image's files are the
    container's root's without a copy: the upper dir holds only what the
    container writes, and the image store keeps its own owners."""
    check_container(q, env)
    cid, _ = running(q, ["sh", "-c", "echo > /quilt-test-w; exec sleep 3600"])
    upper = os.path.join(q.container_dir(cid), "upper")
    assert wait_written(os.path.join(upper, "quilt-test-w")) == (START, START)
    # the upper dir's root is the container's root's, with the image's mode
    st = os.stat(upper)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (START, START, 0o755), st
    # nothing of the image was copied up
    assert not os.path.exists(os.path.join(upper, "bin"))
    layers = image_layer(q.d.state_dir)
    assert count_files(upper) <= 5 < count_files(layers[0]), (
        os.listdir(upper), count_files(layers[0]))
    r = ok(q, cli_exec(q, cid, ["sh", "-c", "ls -ln /bin/busybox; stat -c '%u %g %a' /"]))
    lines = r.out.splitlines()
    assert lines[0].split()[2:4] == ["0", "0"] and lines[1] == "0 0 755", r
    assert FALLBACK_WARNING not in q.d.log()
    assert_store_untouched(q.d.state_dir)
    q.rm(cid)


def test_userns_overlay_monitor_made_dirs(q, env):
    """What the monitor makes through the overlay as host root (a new
    working directory, the mount point of a bind mount) is the container
    root's too, and the host directory bound there keeps its owner."""
    d = host_dir(env, "userns-ovl-bind")
    r = run(q, ["sh", "-c", "stat -c '%u %g' . /quilt-test-mnt /quilt-test-mnt/sub; "
                "touch ./f /quilt-test-mnt/g /quilt-test-mnt/sub/h && echo ok"],
            extra=["-w", "/quilt-test-wd/deep", "-v", "%s:/quilt-test-mnt/sub" % d])
    # (the bound host directory shows its host owner, root: nobody here)
    assert r.out.splitlines() == ["0 0", "0 0", "65534 65534", "ok"], r
    st = os.stat(d)
    assert (st.st_uid, st.st_gid) == (0, 0), st
    assert os.stat(os.path.join(d, "h")).st_uid == START


def test_userns_overlay_two_containers(q, env):
    """Two at once over the one image: each its own upper dir, each sees its
    own writes only, neither copies the image."""
    cids = []
    for n in ("a", "b"):
        cid, _ = running(q, ["sh", "-c", "echo %s > /etc/quilt-test-%s; exec sleep 3600" % (n, n)])
        cids.append(cid)
    for n, other, cid in (("a", "b", cids[0]), ("b", "a", cids[1])):
        upper = os.path.join(q.container_dir(cid), "upper")
        assert wait_written(os.path.join(upper, "etc", "quilt-test-" + n)) == (START, START)
        r = ok(q, cli_exec(q, cid, ["sh", "-c", "cat /etc/quilt-test-%s; id -u; "
                                    "test -e /etc/quilt-test-%s || echo alone" % (n, other)]))
        assert r.out.split() == [n, "0", "alone"], r
        # /etc was copied up (its entry only), not the image
        assert count_files(upper) <= 5, sorted(os.listdir(upper))
        st = os.stat(os.path.join(upper, "etc"))
        assert (st.st_uid, st.st_gid) == (START, START), st
    for cid in cids:
        q.rm(cid)
    assert_store_untouched(q.d.state_dir)


def overlay_config(env, name, extra=""):
    return env.write_config(name, "[daemon]\nlog_level = debug\n[plugins]\nchain = %s\n"
                            "[rootfs]\nstore = overlay\n%s" % (USERNS_CHAIN, extra))


def test_userns_overlay_logs_the_path(env, start_daemon, quilt_for):
    d = start_daemon(overlay_config(env, "userns-ovl-debug"), "userns-ovl-debug")
    q = quilt_for(d, env.image)
    run(q, ["true"], profile=None)
    log = d.log()
    assert "overlay over an idmapped lower layer" in log, log
    assert "owners mapped by the root tree's layers already" in log, log
    assert FALLBACK_WARNING not in log, log


def test_userns_overlay_fallback(env, start_daemon, quilt_for):
    """An image store on a filesystem without idmapped mounts (ramfs): the
    overlay is a plain one and the tree is chowned through it, as before."""
    store = env.path("quilt-test-ramfs-store")
    os.mkdir(store)
    r = qi.run_cmd(["mount", "-t", "ramfs", "quilt-test-ramfs", store])
    if r.rc != 0:
        pytest.skip("no ramfs: %r" % (r,))
    try:
        d = start_daemon(overlay_config(env, "userns-ovl-fallback", "image_store = %s\n" % store),
                         "userns-ovl-fallback")
        q = quilt_for(d, env.image)
        cid, _ = running(q, ["sh", "-c", "echo > /quilt-test-w; id -u; exec sleep 3600"],
                         profile=None)
        upper = os.path.join(q.container_dir(cid), "upper")
        assert wait_written(os.path.join(upper, "quilt-test-w")) == (START, START)
        st = os.stat(os.path.join(upper, "bin"))
        assert (st.st_uid, st.st_gid) == (START, START), st
        r = ok(q, cli_exec(q, cid, ["stat", "-c", "%u %g", "/bin/busybox"]))
        assert r.out.split() == ["0", "0"], r
        log = d.log()
        assert "a plain overlay (the userns plugin matches the owners)" in log, log
        assert FALLBACK_WARNING in log, log
        q.rm(cid)
        d.stop_and_check()
    finally:
        qi.run_cmd(["umount", store])
        os.rmdir(store)


def extract_config(env, name, idmap):
    """The userns chain with the image extracted into a plain directory
    (ext4 or whatever the state dir is on: a filesystem with idmapped
    mounts) instead of an overlay."""
    return env.write_config(name, "[plugins]\nchain = %s\n[rootfs]\nstore = extract\n"
                            "[userns]\nidmap = %s\n" % (USERNS_CHAIN, idmap))


def test_userns_idmapped(env, start_daemon, quilt_for):
    d = start_daemon(extract_config(env, "userns-idmap", "auto"), "userns-idmap")
    q = quilt_for(d, env.image)
    check_container(q, env, profile=None)
    # through the idmapped root the container's root writes the image's
    # own ids: on disk its new file belongs to 0, like the image's files
    cid, _ = running(q, ["sh", "-c", "echo > /quilt-test-w; exec sleep 3600"], profile=None)
    rootfs = os.path.join(q.container_dir(cid), "rootfs")
    assert wait_written(os.path.join(rootfs, "quilt-test-w")) == (0, 0)
    assert os.stat(os.path.join(rootfs, "bin")).st_uid == 0
    assert FALLBACK_WARNING not in d.log(), d.log()
    q.rm(cid)


def test_userns_chown_fallback(env, start_daemon, quilt_for):
    """idmap = chown forces what happens where idmapped mounts are refused."""
    d = start_daemon(extract_config(env, "userns-chown", "chown"), "userns-chown")
    q = quilt_for(d, env.image)
    check_container(q, env, profile=None)
    q.image = suid_image(env)
    cid, _ = running(q, ["sh", "-c", "echo > /quilt-test-w; exec sleep 3600"], profile=None)
    rootfs = os.path.join(q.container_dir(cid), "rootfs")
    assert wait_written(os.path.join(rootfs, "quilt-test-w")) == (START, START)
    for rel in ("bin", "bin/busybox", "etc"):
        st = os.lstat(os.path.join(rootfs, rel))
        assert (st.st_uid, st.st_gid) == (START, START), (rel, st)
    # setuid bits survive the chown
    r = ok(q, cli_exec(q, cid, ["stat", "-c", "%a %u", "/bin/quilt-test-suid"]))
    assert r.out.split() == ["4755", "0"], r
    assert os.stat(os.path.join(rootfs, "bin", "quilt-test-suid")).st_mode & 0o7777 == 0o4755
    assert FALLBACK_WARNING not in d.log(), d.log()
    q.rm(cid)


def test_cgroup_namespace(q):
    """The container sits at the root of its cgroup namespace: every line
    of /proc/self/cgroup ends in ":/", with the unified "0::/" among them."""
    for profile in (None, PROFILE):
        r = ok(q, q.run(["cat", "/proc/self/cgroup"], profile=profile))
        lines = r.out.splitlines()
        assert lines and all(l.endswith(":/") for l in lines), r
        assert "0::/" in lines, r


def test_setup_and_workdir_under_userns(q):
    # setup commands run as the container's root too; a new working
    # directory is made by the monitor before the owners are matched
    r = run(q, ["sh", "-c", "pwd; id -u; cat /quilt-test-setup"],
            extra=["--setup", "id -u > /quilt-test-setup", "-w", "/quilt-test-wd"])
    assert r.out.splitlines() == ["/quilt-test-wd", "0", "0"], r


BAD = [
    ("uid_map = 0:65536\n", "uid_map", "host id 0"),
    ("gid_map = 100000:0\n", "gid_map", "at least 1"),
    ("uid_map = 4294967000:65536\n", "uid_map", "past the last host id"),
    ("uid_map = 100000\n", "uid_map", "HOST_START:COUNT"),
    ("subuid = quilt-test-nobody\nsubuid_file = /nonexistent-quilt-test\n", "subuid",
     "/nonexistent-quilt-test"),
    ("idmap = sometimes\n", "idmap", ""),
    ("quilt_test_key = 1\n", "quilt_test_key", "quilt_test_key"),
]


@pytest.mark.parametrize("body,key,what", BAD)
def test_bad_userns_section_names_file_and_line(env, start_daemon, body, key, what):
    text = "[plugins]\nchain = %s\n[userns]\n; line 5 is wrong\n%s" % (USERNS_CHAIN, body)
    cfg = env.write_config("baduserns", text)
    r = qi.run_cmd([env.paths.quiltd, "--check-config", "--config", cfg,
                    "--plugin-dir", env.paths.plugin_dir], timeout=30)
    assert r.rc == 1, r
    assert "%s:5: [userns]" % cfg in r.out + r.err, r
    assert what in r.out + r.err, r
    # and the daemon itself refuses to start on it
    d = start_daemon(cfg, "baduserns", wait=False)
    assert qi.poll(lambda: not d.alive(), 30), "quiltd started on a bad [userns]"
    assert "%s:5: [userns]" % cfg in d.log(), d.log()


def test_subuid_file(env, start_daemon, quilt_for):
    sub = env.path("subuid")
    with open(sub, "w") as f:
        f.write("someone:300000:65536\nquilt-test-user:200000:65536\n")
    text = ("[plugins]\nchain = %s\n[userns]\nsubuid = quilt-test-user\n"
            "subuid_file = %s\nsubgid_file = %s\n" % (USERNS_CHAIN, sub, sub))
    d = start_daemon(env.write_config("subuid", text), "subuid")
    q = quilt_for(d, env.image)
    r = ok(q, q.run(["cat", "/proc/self/uid_map", "/proc/self/gid_map"]))
    assert [l.split() for l in r.out.splitlines()] == [["0", "200000", "65536"]] * 2, r


def test_user_read_only_tmpfs_and_volume(q, env):
    """The request's other settings under a user namespace: --user is a
    container uid (host START + uid), a read-only root keeps /tmp
    writable, a request tmpfs and a named volume take the container's
    root's writes."""
    r = run(q, ["sh", "-c", "id -u; id -g; cat /proc/self/uid_map"], extra=["--user", "1000:1000"])
    out = r.out.splitlines()
    assert out[:2] == ["1000", "1000"] and out[2].split() == ["0", str(START), str(COUNT)], r
    r = q.run(["sh", "-c", "echo x > /quilt-test-ro"], extra=["--read-only"], profile=PROFILE)
    assert r.rc != 0 and "Read-only file system" in r.err, r
    r = run(q, ["sh", "-c", "echo x > /tmp/f && stat -c '%u' /tmp/f && "
                "echo y > /scratch/f && stat -c '%u' /scratch/f"],
            extra=["--read-only", "--tmpfs", "/scratch"])
    assert r.out.split() == ["0", "0"], r
    vol = q.new_name("vol")
    ok(q, q.cli("volume", "create", vol))
    try:
        run(q, ["sh", "-c", "echo v > /data/f"], extra=["-v", "%s:/data" % vol])
        r = run(q, ["sh", "-c", "cat /data/f; stat -c '%u' /data/f"], extra=["-v", "%s:/data" % vol])
        assert r.out.split() == ["v", "0"], r
    finally:
        q.cli("volume", "rm", vol)


def test_chroot_under_userns(env, start_daemon, quilt_for):
    """rootfs in chroot mode, no ns plugin: the user namespace (and the
    mount namespace that comes with it) alone."""
    text = ("[plugins]\nchain = userns, rootfs:chroot, mounts, caps:chroot, seccomp, setup\n"
            "[rootfs:chroot]\nmode = chroot\n[caps:chroot]\n"
            "default = CHOWN, DAC_OVERRIDE, FSETID, FOWNER, SETGID, SETUID, KILL\n")
    d = start_daemon(env.write_config("userns-chroot", text), "userns-chroot")
    q = quilt_for(d, env.image)
    dd = host_dir(env, "userns-chroot-bind")
    r = ok(q, q.run(["sh", "-c", "id -u; echo hi > /quilt-test-f; cat /quilt-test-f; "
                     "echo b > /mnt/f"], extra=["-v", "%s:/mnt" % dd]))
    assert r.out.split() == ["0", "hi"], r
    st = os.lstat(os.path.join(dd, "f"))
    assert (st.st_uid, st.st_gid) == (START, START), st


def test_cgroup_plugins_under_userns(env):
    """cgroup_v1 / cgroup_v2 after userns: the container is placed, limited
    and sees itself at its cgroup namespace's root."""
    tcg = importlib.import_module("test_cgroup")
    ran, why = 0, []
    for backend in tcg.RUN_BACKENDS:
        setup = tcg.CgroupSetup(env, backend)
        w = setup.probe()
        if w:
            why.append("%s: %s" % (backend, w))
            continue
        setup.write_config()
        with open(setup.config, "a") as f:
            # (its [ns] turns the cgroup namespace off: ours has it on)
            f.write("[profile.userns]\nchain = userns, ns:cgns, rootfs, mounts, %s\n"
                    "[ns:cgns]\ncgroup = true\n" % backend)
        problems = []
        try:
            d = setup.get()
            q = qi.Quilt(d, env.image)
            try:
                cid = q.create(["sh", "-c", "id -u; cat /proc/self/cgroup; exec sleep 3600"],
                               profile=PROFILE, extra=["--memory", "64M"])
                st = q.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL))
                assert st["state"] == "RUNNING", "%s%s" % (st, q.ctx())
                assert st["pid"] in tcg.cgroup_procs(setup.procs_dir(cid))
                assert int(setup.memory_limit(cid)) == 64 << 20
                assert qi.poll(lambda: len(q.logs(cid)[0].splitlines()) > 1, 10)
                out = q.logs(cid)[0].splitlines()
                assert out[0] == "0" and all(l.endswith(":/") for l in out[1:]), out
                r = ok(q, cli_exec(q, cid, ["cat", "/proc/self/cgroup"]))
                assert sorted(r.out.splitlines()) == sorted(out[1:]), (r, out)
                ran += 1
            finally:
                problems += q.cleanup()
        finally:
            problems += setup.teardown()
        assert not problems, "\n".join(problems)
    if not ran:
        pytest.skip("no cgroup backend runs here: %s" % "; ".join(why))


def test_userns_must_stand_first(env, start_daemon, quilt_for):
    text = "[plugins]\nchain = ns, userns, rootfs\n"
    d = start_daemon(env.write_config("userns-second", text), "userns-second")
    q = quilt_for(d, env.image)
    cid = q.create(["true"], profile=None)
    st = q.wait_state(cid)
    assert st["state"] == "FAILED", st
    assert "userns must stand first in the chain (before ns)" in st["errorMessage"], st
