# SPDX-License-Identifier: MIT
"""Masked and read-only paths in the container's /proc and /sys, their
mount options, and images whose /proc, /sys or /dev are symlinks out."""

import os
import tarfile

import pytest

import quilt_itest as qi


def _mount(lines, mount_point):
    """The mountinfo lines whose mount point is `mount_point`, topmost last."""
    return [l for l in lines if l.split()[4] == mount_point]


def _options(line):
    """Per-mount and superblock options of one mountinfo line."""
    fields = line.split()
    sep = fields.index("-")
    return set(fields[5].split(",")), set(fields[sep + 3].split(","))


def _check_config(env, config):
    return qi.run_cmd([env.paths.quiltd, "--check-config", "--config", config,
                       "--plugin-dir", env.paths.plugin_dir], timeout=30)


def _conf_with_ns(env, name, extra):
    """The shipped config with `extra` lines at the top of [ns]."""
    with open(env.paths.conf_default) as f:
        text = f.read()
    assert text.count("[ns]\n") == 1
    return env.write_config(name, text.replace("[ns]\n", "[ns]\n" + extra))


def test_masked_files_read_empty(q):
    # kcore is absent on some kernels: then it must fail, not show anything
    r = q.run(["sh", "-c", "for f in kcore keys timer_list interrupts; do "
                           "printf '%s ' $f; cat /proc/$f 2>/dev/null | wc -c; done"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    sizes = dict(l.split() for l in r.out.splitlines())
    assert sizes == {"kcore": "0", "keys": "0", "timer_list": "0", "interrupts": "0"}, r
    with open("/proc/interrupts") as f:
        assert f.read(), "the host's /proc/interrupts is empty: the test shows nothing"


def test_masked_dirs_are_empty_readonly_tmpfs(q):
    cid = q.create(["sh", "-c", "ls -A /sys/firmware | wc -l; ls -A /proc/acpi | wc -l; "
                                "touch /sys/firmware/x 2>&1; sleep 30"])
    st = q.wait_state(cid, ["RUNNING"] + list(qi.TERMINAL))
    assert st["state"] == "RUNNING", "%s%s" % (st, q.ctx())
    assert qi.poll(lambda: len(q.logs(cid)[0].splitlines()) >= 3, 15), q.logs(cid)
    out = q.logs(cid)[0].splitlines()
    assert out[0] == "0" and out[1] == "0", out
    assert "Read-only file system" in out[2], out
    inside = qi.mountinfo(q.status(cid)["pid"])
    for mp in ("/sys/firmware", "/proc/acpi"):
        if not os.path.exists(mp):
            continue
        lines = _mount(inside, mp)
        assert lines and lines[-1].split(" - ")[1].startswith("tmpfs"), (mp, lines)
        per_mount, _ = _options(lines[-1])
        assert {"ro", "nosuid", "nodev", "noexec"} <= per_mount, (mp, lines)
    # a file mask is a read-only bind of /dev/null
    keys = _mount(inside, "/proc/keys")
    assert keys and "ro" in _options(keys[-1])[0], keys
    q.ok("rm", cid, "-f")


def test_readonly_paths_refuse_writes(q):
    r = q.run(["sh", "-c", "echo quilt-test-x > /proc/sys/kernel/hostname; "
                           "echo h > /proc/sysrq-trigger; "
                           "cat /proc/sys/kernel/hostname; ls /proc/sys/kernel | wc -l"],
              hostname="quilt-test-ro")
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    # sysrq-trigger exists only with CONFIG_MAGIC_SYSRQ
    sysrq = os.path.exists("/proc/sysrq-trigger")
    assert r.err.count("Read-only file system") == (2 if sysrq else 1), r
    lines = r.out.splitlines()
    assert lines[0] == "quilt-test-ro", r          # unchanged, and still readable
    assert int(lines[1]) > 10, r


def test_proc_and_sys_mount_options(q):
    r = q.run(["cat", "/proc/self/mountinfo"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    lines = r.out.splitlines()
    proc, sys_ = _mount(lines, "/proc"), _mount(lines, "/sys")
    assert len(proc) == 1 and len(sys_) == 1, r.out
    assert {"rw", "nosuid", "nodev", "noexec"} <= _options(proc[0])[0], proc
    assert {"ro", "nosuid", "nodev", "noexec"} <= _options(sys_[0])[0], sys_
    # the masks and read-only binds sit on the new /proc and /sys only
    for line in lines:
        mp = line.split()[4]
        if mp.startswith("/proc/") or mp.startswith("/sys/"):
            assert not mp.startswith("/proc/self") and ".." not in mp, line


def test_custom_lists(env, start_daemon, quilt_for):
    cfg = _conf_with_ns(env, "masks-custom",
                        "masked_paths = /proc/cpuinfo, /proc/quilt-test-nosuch,"
                        " /sys/kernel\nreadonly_paths =\n")
    r = _check_config(env, cfg)
    assert r.rc == 0, r
    d = start_daemon(cfg, "masks-custom")
    q = quilt_for(d, env.image)
    r = q.run(["sh", "-c", "cat /proc/cpuinfo | wc -c; cat /proc/timer_list | wc -c; "
                           "ls -A /sys/kernel | wc -l; ls -A /sys/firmware | wc -l; "
                           "echo quilt-test-w > /proc/sys/kernel/hostname && hostname"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    cpuinfo, timer_list, sys_kernel, firmware, hostname = r.out.split()
    assert cpuinfo == "0" and sys_kernel == "0", r
    assert int(timer_list) > 0 and int(firmware) > 0, r     # defaults replaced, not added
    assert hostname == "quilt-test-w", r                     # readonly_paths empty: writable


@pytest.mark.parametrize("value", ["proc/keys", "/etc/shadow", "/proc/../etc", "/proc/self/"])
def test_bad_path_names_file_and_line(env, value):
    cfg = _conf_with_ns(env, "masks-bad", "\nmasked_paths = /proc/keys, %s\n" % value)
    r = _check_config(env, cfg)
    assert r.rc == 1, r
    line = 3 + open(cfg).read().split("[ns]\n")[0].count("\n")
    assert "%s:%d" % (os.path.basename(cfg), line) in r.out + r.err, (line, r)
    assert value in r.out + r.err, r


def test_symlink_in_configured_path_not_followed(env, start_daemon, quilt_for):
    """/proc/self is a symlink: the path is not resolved through it, the
    container fails naming the path rather than masking something else."""
    cfg = _conf_with_ns(env, "masks-self", "masked_paths = /proc/keys, /proc/self/status\n")
    d = start_daemon(cfg, "masks-self")
    q = quilt_for(d, env.image)
    cid = q.create(["true"])
    st = q.wait_state(cid)
    assert st["state"] == "FAILED", "%s%s" % (st, q.ctx())
    assert "/proc/self/status" in st["errorMessage"] and "symlink" in st["errorMessage"], st
    q.ok("rm", cid)


def _image_with_link(env, name, link):
    """The busybox image with top-level dir `name` replaced by a symlink to `link`."""
    image = env.path("%s-link.tar" % name)
    with tarfile.open(env.image) as src, \
            tarfile.open(image, "w", format=tarfile.PAX_FORMAT) as dst:
        for m in src.getmembers():
            if m.name.strip("./").split("/")[0] == name:
                continue
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        qi.add_symlink(dst, name, link)
    return image


@pytest.mark.parametrize("name", ["proc", "dev", "sys"])
@pytest.mark.parametrize("relative", [False, True])
def test_symlinked_mount_point_does_not_redirect(q, env, name, relative):
    target = env.path("%s-target" % name)
    os.makedirs(target)
    link = ("../" * 16 + target.lstrip("/")) if relative else target
    image = _image_with_link(env, name, link)
    cid = q.create(["sh", "-c", "ls /%s/ | wc -l" % name], image=image)
    st = q.wait_state(cid)
    # refused cleanly (the plugin will not mount through a symlink) ...
    assert st["state"] == "FAILED", "%s%s" % (st, q.ctx())
    assert "/%s" % name in st["errorMessage"] and "symlink" in st["errorMessage"], st
    # ... and nothing reached the host dir: no files, no mounts
    assert os.listdir(target) == [], os.listdir(target)
    assert not qi.mount_lines_containing(target), qi.mount_lines_containing(target)
    q.ok("rm", cid)
    assert os.listdir(target) == []
    os.rmdir(target)
    os.unlink(image)
