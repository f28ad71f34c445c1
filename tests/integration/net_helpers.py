# SPDX-License-Identifier: MIT
"""Helpers for the network plugin tests (test_network.py): daemons with a
bridge of their own, host-side inspection with `ip` and `nft`, and the
`net` fixture that removes everything a test made — also when it failed.

Rules kept here: every host object a test makes is named qt-* or
quilt-test-* (bridges qt-XXXXXX, upstream veths qt-upXXXXXX, netns
quilt-test-up-XXXXXX); subnets are 10.213.N.0/24 (containers) and
10.214.N.0/30 (a test's own upstream link), N distinct per test; traffic
goes only to loopback, to the test bridge's own address, to containers and
to network namespaces the test made itself."""

import contextlib
import ipaddress
import json
import os
import random
import re
import signal
import socket
import subprocess
import threading

import pytest

import quilt_itest as qi

# The chain of the test daemons: conf/quiltd.ini's with the net plugins,
# which stand before rootfs: net_bridge's in_child bind-mounts the
# container's hosts and resolv.conf into the root before rootfs switches to
# it (after the switch the root's host path is gone).
CHAIN = "ns, net_loopback, net_bridge, rootfs, mounts, caps, seccomp, setup"
# The same without net_bridge (loopback/none only).
CHAIN_NO_BRIDGE = "ns, net_loopback, rootfs, mounts, caps, seccomp, setup"
# No network plugin at all (used with [ns] net = false).
CHAIN_NO_NET = "ns, rootfs, mounts, caps, seccomp, setup"

IP = "/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else "ip"
NFT = "/usr/sbin/nft" if os.path.exists("/usr/sbin/nft") else "nft"

_used_octets = set()
_octet_lock = threading.Lock()


def run(argv, timeout=30, check=False):
    r = qi.run_cmd([str(a) for a in argv], timeout=timeout)
    if check:
        assert r.rc == 0, r
    return r


def host_routes_text():
    return run([IP, "-4", "route", "show", "table", "all"]).out + run([IP, "-4", "addr"]).out


def pick_octet():
    """N for 10.213.N.0/24 and 10.214.N.0/30: unused by this run and by
    any route or address on the host (other test runs may be going on)."""
    with _octet_lock:
        taken = host_routes_text()
        cands = [n for n in range(1, 250) if n not in _used_octets
                 and ("10.213.%d." % n) not in taken and ("10.214.%d." % n) not in taken]
        assert cands, "no free 10.213.N.0/24 left"
        n = random.choice(cands)
        _used_octets.add(n)
        return n


def rand_tag(n=6):
    return "%0*x" % (n, random.getrandbits(4 * n))


def nft_table(bridge):
    return "quilt_" + re.sub(r"[^A-Za-z0-9_]", "_", bridge)


def veth_name(cid):
    return "qv" + cid[:12]


def is_container_id(s):
    return bool(re.fullmatch(r"[0-9a-f]{32,64}", s or ""))


def link_exists(name):
    return run([IP, "link", "show", "dev", name]).rc == 0


def link_info(name):
    """`ip -j -d link show dev NAME` as a dict, or None."""
    r = run([IP, "-j", "-d", "link", "show", "dev", name])
    if r.rc != 0:
        return None
    data = json.loads(r.out)
    return data[0] if data else None


def all_link_names():
    r = run([IP, "-j", "link", "show"], check=True)
    return [l["ifname"] for l in json.loads(r.out)]


def link_addrs4(name):
    r = run([IP, "-j", "-4", "addr", "show", "dev", name])
    if r.rc != 0:
        return []
    out = []
    for l in json.loads(r.out):
        for a in l.get("addr_info", []):
            out.append("%s/%s" % (a["local"], a["prefixlen"]))
    return out


def read_sysctl(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def ip_forward():
    return read_sysctl("/proc/sys/net/ipv4/ip_forward")


def host_wide_sysctls():
    """The host-wide and the host's own interfaces' settings that a bridge
    plugin must leave alone (it may only change those of its bridge)."""
    out = {"ip_forward": ip_forward()}
    base = "/proc/sys/net/ipv4/conf"
    for dev in sorted(os.listdir(base)):
        if dev.startswith(("qt-", "qv", "qb-")) or dev == "lo":
            continue
        if dev not in ("all", "default") and not os.path.exists("/sys/class/net/%s/device" % dev):
            continue        # only physical interfaces of the host, and all/default
        for key in ("forwarding", "route_localnet"):
            out["%s/%s" % (dev, key)] = read_sysctl(os.path.join(base, dev, key))
    return out


def nft_table_exists(table):
    return run([NFT, "list", "table", "ip", table]).rc == 0


def nft_table_text(table):
    r = run([NFT, "list", "table", "ip", table])
    return r.out if r.rc == 0 else ""


def nft_map_elements(table, name):
    """Elements of map `ip TABLE NAME` as a list of (key, value) (JSON
    values as nft gives them); None when there is no such map."""
    r = run([NFT, "-j", "list", "map", "ip", table, name])
    if r.rc != 0:
        return None
    doc = json.loads(r.out)
    for obj in doc.get("nftables", []):
        m = obj.get("map")
        if m is not None:
            return [tuple(e) if isinstance(e, list) else (e, None) for e in m.get("elem", [])]
    return None


def elem_keys(elems):
    """The integer keys of map elements (ports)."""
    keys = []
    for k, _ in elems or []:
        if isinstance(k, dict):       # {"elem": {"val": 8080, ...}} and alike
            k = k.get("elem", k).get("val", k)
        keys.append(k)
    return keys


def leases_dir(d, bridge):
    return os.path.join(d.state_dir, "plugins", "net_bridge", bridge, "leases")


def leases(d, bridge):
    p = leases_dir(d, bridge)
    return sorted(os.listdir(p)) if os.path.isdir(p) else []


def free_port():
    """A TCP and UDP port nothing on the host's loopback uses right now."""
    for _ in range(50):
        port = random.randint(20000, 60000)
        ok = True
        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
            s = socket.socket(socket.AF_INET, kind)
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                ok = False
            finally:
                s.close()
        if ok:
            return port
    raise AssertionError("no free port found")


def http_get(host, port, path="/", timeout=3):
    """(status line, body) of a plain HTTP/1.0 GET, or raises OSError."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, host)).encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode("latin-1"), body.decode("utf-8", "replace")


def poll_http(host, port, want, timeout=20):
    """GET until the body contains `want`; returns the last (status, body)
    or the last error text."""
    last = [None]

    def once():
        try:
            st, body = http_get(host, port)
            last[0] = (st, body)
            return want in body
        except OSError as e:
            last[0] = "%s:%d: %s" % (host, port, e)
            return False
    qi.poll(once, timeout, interval=0.1)
    return last[0]


def in_net(addr, subnet):
    try:
        return ipaddress.ip_address(addr) in ipaddress.ip_network(subnet)
    except ValueError:
        return False


# --------------------------------------------------------------------------
# Container helpers
# --------------------------------------------------------------------------


def cli_exec(q, cid, argv, timeout=60):
    r = q.cli("exec", cid, "--", *argv, timeout=timeout)
    return r


def exec_ok(q, cid, argv, timeout=60):
    r = cli_exec(q, cid, argv, timeout)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    return r


def running(q, argv=("sleep", "600"), extra=(), name=None, **kw):
    cid = q.create(list(argv), name=name, extra=list(extra), **kw)
    st = q.wait_state(cid, ["RUNNING", "EXITED", "FAILED"])
    assert st["state"] == "RUNNING", "%s%s" % (st, q.ctx())
    return cid, st


def links_inside(out):
    """{name: flags-set} from `ip -o link` output."""
    res = {}
    for line in out.splitlines():
        m = re.match(r"\d+:\s+([^:@]+)(?:@[^:]+)?:\s+<([^>]*)>", line)
        if m:
            res[m.group(1)] = set(m.group(2).split(","))
    return res


def eth0_inet(out):
    """The first A.B.C.D/P of `ip -o -4 addr show dev eth0` output."""
    m = re.search(r"\binet\s+(\d+\.\d+\.\d+\.\d+)/(\d+)", out)
    return (m.group(1), int(m.group(2))) if m else (None, None)


def human_status(q, ref):
    r = q.cli("status", ref, timeout=30)
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    return r.out


def net_status(q, ref):
    """{"network", "ip_address" (None for "-"), "ports": [(host, container,
    proto)]} from the human `quilt-cli status` output."""
    out = human_status(q, ref)
    res = {"network": None, "ip_address": None, "ports": []}
    lines = out.splitlines()
    for i, line in enumerate(lines):
        k, _, v = line.partition(": ")
        if k == "network":
            res["network"] = v.strip()
        elif k == "ip_address":
            res["ip_address"] = None if v.strip() in ("-", "") else v.strip()
        elif k == "ports":
            for extra in lines[i + 1:]:
                m = re.match(r"^\s+(\d+)->(\d+)/(\w+)$", extra)
                if not m:
                    break
                res["ports"].append((int(m.group(1)), int(m.group(2)), m.group(3)))
    res["ports"].sort()
    res["text"] = out
    return res


def inside_addr(q, cid):
    """eth0's address as the running container sees it (quilt-cli exec)."""
    r = exec_ok(q, cid, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"])
    addr, _ = eth0_inet(r.out)
    assert addr, r
    return addr


def addr_of(q, ref):
    return net_status(q, ref)["ip_address"]


def status_ports(st):
    """[(host, container, proto)] of status --json."""
    out = []
    for p in st.get("ports") or []:
        out.append((int(p.get("hostPort", 0)), int(p.get("containerPort", 0)),
                    (p.get("protocol") or "tcp").lower()))
    return sorted(out)


def started_event(d, cid, timeout=20):
    """The `started` event of cid (replayed from the daemon's window)."""
    argv = [d.paths.cli, "--socket", d.socket, "events", "--json", "--since", "10m",
            "--container", cid, "--type", "started"]
    p = qi.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                 bufsize=0)
    try:
        line = qi.read_line_with_timeout(p.stdout, timeout)
    finally:
        if p.poll() is None:
            qi.kill_pid(p.pid, signal.SIGINT)
        qi.wait_popen(p, 10)
        err = p.stderr.read().decode("utf-8", "replace")
        p.stdout.close()
        p.stderr.close()
        d.cli_reports += ["quilt-cli events: " + r for r in qi.sanitizer_reports(err)]
    assert line, "no started event for %s within %ss: %s%s" % (cid, timeout, err, d.log_context())
    return json.loads(line)


# --------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------


def config_text(chain=CHAIN, network=None, bridge=None, ns_net=True, **keys):
    """A daemon config: conf/quiltd.ini's settings plus the net plugins.
    `keys` go to [net_bridge] (only when the chain has net_bridge); None
    values are left out.  Returns (text, {key: line number})."""
    lines = ["; quilt-test: network plugin test daemon",
             "[daemon]", "log_level = debug",
             "[plugins]", "chain = " + chain]
    if network:
        lines.append("network = " + network)
    lines += ["[ns]", "pid = true", "mount = true", "uts = true", "ipc = true",
              "net = %s" % ("true" if ns_net else "false"),
              "proc = true", "dev = true", "sys = %s" % ("true" if ns_net else "false")]
    if ns_net:
        lines.append("loopback_up = true")
    lines += ["[rootfs]", "mode = pivot_root"]
    where = {}
    if "net_bridge" in chain:
        vals = {"bridge": bridge, "ip_forward": "false", "remove_on_shutdown": "true"}
        vals.update(keys)
        lines.append("[net_bridge]")
        for k, v in vals.items():
            if v is None:
                continue
            lines.append("%s = %s" % (k, v))
            where[k] = len(lines)
    return "\n".join(lines) + "\n", where


# --------------------------------------------------------------------------
# The per-test state and its clean-up
# --------------------------------------------------------------------------


class NetTest:
    def __init__(self, env, start_daemon, quilt_for):
        self.env = env
        self._start_daemon = start_daemon
        self._quilt_for = quilt_for
        self.tag = rand_tag()
        self.bridge = "qt-" + self.tag
        self.n = pick_octet()
        self.subnet = "10.213.%d.0/24" % self.n
        self.gateway = "10.213.%d.1" % self.n
        self.daemons = []
        self.sessions = []
        self.bridges = [self.bridge]
        self.own_links = []      # links the test itself made (qt-*)
        self.own_netns = []      # netns the test made (quilt-test-*)
        self.ids = set()
        self.ip_forward_before = ip_forward()
        self.sysctls_before = host_wide_sysctls()

    # -- daemons ------------------------------------------------------------
    def config(self, name="net", **kw):
        kw.setdefault("bridge", self.bridge)
        kw.setdefault("subnet", self.subnet)
        if kw.get("bridge") and kw["bridge"] not in self.bridges:
            self.bridges.append(kw["bridge"])
        text, where = config_text(**kw)
        path = self.env.write_config("%s-%s" % (name, self.tag), text)
        return path, where

    def daemon(self, name="net", wait=True, environ=None, **kw):
        path, _ = self.config(name, **kw)
        d = self._start_daemon(path, "%s-%s" % (name, self.tag), wait=wait, environ=environ)
        self.daemons.append(d)
        return d

    def restart_on(self, old, name="restart", **kw):
        """A new daemon (same config keys as given) on old's state dir."""
        path, _ = self.config(name, **kw)
        self.env._n += 1
        d = qi.Daemon(self.env.paths, self.env.tmp, "%d-%s-%s" % (self.env._n, name, self.tag), path)
        d.state_dir = old.state_dir
        self.daemons.append(d)
        d.start()
        return d

    def quilt(self, d):
        s = self._quilt_for(d, self.env.image)
        self.sessions.append(s)
        return s

    # -- the test's own host objects -----------------------------------------
    def add_netns(self, name):
        assert name.startswith("quilt-test-")
        run([IP, "netns", "add", name], check=True)
        self.own_netns.append(name)
        return name

    def add_link_record(self, name):
        assert name.startswith("qt-")
        self.own_links.append(name)
        return name

    # -- clean-up -----------------------------------------------------------
    def remember_ids(self):
        for s in self.sessions:
            self.ids.update(x for x in s.created if is_container_id(x))
        for d in self.daemons:
            if d.alive():
                r = d.cli("ps", "--json", timeout=20)
                if r.rc == 0:
                    with contextlib.suppress(ValueError):
                        for c in json.loads(r.out).get("containers", []):
                            if is_container_id(c.get("containerId", "")):
                                self.ids.add(c["containerId"])

    def leftovers(self):
        """Host objects of the daemons still there (after they stopped)."""
        problems = []
        for b in self.bridges:
            if link_exists(b):
                problems.append("bridge %s still exists" % b)
            t = nft_table(b)
            if nft_table_exists(t):
                problems.append("nft table ip %s still exists:\n%s" % (t, nft_table_text(t)))
        names = set(all_link_names())
        for cid in sorted(self.ids):
            if veth_name(cid) in names:
                problems.append("host veth %s of container %s still exists" % (veth_name(cid), cid))
        for d in self.daemons:
            cdir = os.path.join(d.state_dir, "containers")
            if os.path.isdir(cdir) and os.listdir(cdir):
                continue        # containers kept across a stop keep their leases
            for b in self.bridges:
                left = leases(d, b)
                if left:
                    problems.append("leases left in %s: %s" % (leases_dir(d, b), left))
        return problems

    def finish(self):
        problems = []
        self.remember_ids()
        for d in self.daemons:
            if d.alive():
                r = d.cli("ps", "--json", timeout=20)
                if r.rc == 0:
                    for c in json.loads(r.out).get("containers", []):
                        d.cli("rm", c.get("containerId", ""), "-f", timeout=60)
            try:
                d.stop_and_check(expect_clean=d.alive())
            except AssertionError as e:
                problems.append(str(e))
        problems += ["after the daemon stopped (remove_on_shutdown = true): " + p
                     for p in self.leftovers()]
        now = ip_forward()
        if now != self.ip_forward_before:
            problems.append("net.ipv4.ip_forward changed from %s to %s although every daemon had "
                            "ip_forward = false" % (self.ip_forward_before, now))
            with contextlib.suppress(OSError):
                with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
                    f.write(self.ip_forward_before + "\n")
        after = host_wide_sysctls()
        changed = {k: (v, after.get(k)) for k, v in self.sysctls_before.items()
                   if k != "ip_forward" and after.get(k) != v}
        if changed:
            problems.append("host-wide / host interface sysctls changed (before, after): %s" % changed)
        self.force_clean()
        return problems

    def force_clean(self):
        """Delete whatever is left, by name: the test's bridges, the host
        veths of its containers, its own links and netns, its nft tables."""
        names = set(all_link_names())
        doomed = [veth_name(c) for c in self.ids] + self.bridges + self.own_links
        for name in doomed:
            if name in names and (name.startswith("qt-") or name.startswith("qv")):
                run([IP, "link", "del", "dev", name])
        for ns in self.own_netns:
            run([IP, "netns", "del", ns])
        for b in self.bridges:
            t = nft_table(b)
            if nft_table_exists(t):
                run([NFT, "delete", "table", "ip", t])


@pytest.fixture
def net(env, start_daemon, quilt_for):
    t = NetTest(env, start_daemon, quilt_for)
    problems = []
    try:
        yield t
    finally:
        try:
            problems = t.finish()
        except Exception as e:      # never skip the forced clean-up
            problems = ["net fixture teardown: %r" % e]
            t.force_clean()
    if problems:
        pytest.fail("after the test:\n" + "\n".join(problems))


# --------------------------------------------------------------------------
# The test's own upstream host: a netns behind a veth of the test's own
# --------------------------------------------------------------------------

UPSTREAM_SERVER = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
s.settimeout(float(sys.argv[3]))
print("listening", flush=True)
try:
    c, peer = s.accept()
except socket.timeout:
    print("timeout", flush=True)
    sys.exit(3)
print(peer[0], flush=True)
c.sendall(b"quilt-test-upstream\n")
c.close()
'''


class Upstream:
    """`ip netns add quilt-test-up-TAG` with a veth pair: qt-upTAG on the
    host (10.214.N.1/30, forwarding=1 on it alone) and qt-uxTAG inside
    (10.214.N.2/30)."""

    def __init__(self, t):
        self.t = t
        self.ns = "quilt-test-up-" + t.tag
        self.host_if = "qt-up" + t.tag
        self.peer_if = "qt-ux" + t.tag
        self.host_addr = "10.214.%d.1" % t.n
        self.addr = "10.214.%d.2" % t.n
        t.add_netns(self.ns)
        t.add_link_record(self.host_if)
        run([IP, "link", "add", self.host_if, "type", "veth", "peer", "name", self.peer_if,
             "netns", self.ns], check=True)
        run([IP, "addr", "add", self.host_addr + "/30", "dev", self.host_if], check=True)
        run([IP, "link", "set", self.host_if, "up"], check=True)
        run([IP, "-n", self.ns, "addr", "add", self.addr + "/30", "dev", self.peer_if], check=True)
        run([IP, "-n", self.ns, "link", "set", self.peer_if, "up"], check=True)
        run([IP, "-n", self.ns, "link", "set", "lo", "up"], check=True)
        with open("/proc/sys/net/ipv4/conf/%s/forwarding" % self.host_if, "w") as f:
            f.write("1\n")

    def route_back(self, subnet):
        run([IP, "-n", self.ns, "route", "add", subnet, "via", self.host_addr], check=True)

    def serve_once(self, port, accept_timeout=60):
        """Start the one-shot server; returns the Popen once it listens."""
        p = qi.spawn([IP, "netns", "exec", self.ns, "/usr/bin/python3", "-c", UPSTREAM_SERVER,
                      self.addr, str(port), str(accept_timeout)],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, bufsize=0)
        line = qi.read_line_with_timeout(p.stdout, 15)
        if line != b"listening\n":
            qi.kill_pid(p.pid)
            qi.wait_popen(p, 5)
            raise AssertionError("upstream server did not start: %r %r" % (line, p.stderr.read()))
        return p

    @staticmethod
    def peer_of(p, timeout):
        line = qi.read_line_with_timeout(p.stdout, timeout)
        if p.poll() is None and line is None:
            qi.kill_pid(p.pid)
        qi.wait_popen(p, 10)
        p.stdout.close()
        p.stderr.close()
        return line.decode().strip() if line else None


def wait_for(fn, timeout, what):
    v = qi.poll(fn, timeout)
    assert v, "%s (not within %ss)" % (what, timeout)
    return v


def threads_map(fn, items):
    """[fn(item)] run in one thread per item; exceptions re-raised."""
    res = [None] * len(items)
    errs = []

    def one(i, it):
        try:
            res[i] = fn(it)
        except BaseException as e:  # noqa: B902 - reported below
            errs.append(e)
    ts = [threading.Thread(target=one, args=(i, it)) for i, it in enumerate(items)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errs:
        raise errs[0]
    return res
