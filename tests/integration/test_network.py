# SPDX-License-Identifier: MIT
"""The network plugins (issue 8): net_loopback and net_bridge.

Modes none / loopback / bridge per request (--network), published ports
(-p HOST:CONTAINER[/tcp|udp]), outbound NAT, /etc/hosts and
/etc/resolv.conf written into the container's root, leases under the
state dir, the address in status and events, clean-up of veths, nft rules
and leases (also of containers that failed half-way, and of the bridge and
its table at daemon stop), and start-up errors of bad [net_bridge] values.

Every test has its own daemon(s) with a bridge qt-XXXXXX and a subnet
10.213.N.0/24 of its own (ip_forward = false, remove_on_shutdown = true);
the `net` fixture (net_helpers.py) deletes whatever the test or its
daemons left on the host, after checking that the daemons removed it
themselves.  Traffic goes only to loopback, to the test bridge's address,
to the test's containers and to a network namespace the test made."""

import os
import re
import socket

import pytest

import net_helpers as nh
import quilt_itest as qi
from net_helpers import net  # noqa: F401  (the fixture)

IMAGE_HOSTS = "127.0.0.1 localhost\n"        # what the test image ships


def _only_lo(out):
    links = nh.links_inside(out)
    assert list(links) == ["lo"], "links inside: %s\n%s" % (links, out)
    return links["lo"]


def _retry(script, n=100, delay_us=100000):
    """A shell loop that retries `script` until it succeeds (n times)."""
    return ("i=0; until %s; do i=$((i+1)); [ $i -ge %d ] && exit 1; usleep %d; done"
            % (script, n, delay_us))


# --------------------------------------------------------------------------
# none and loopback
# --------------------------------------------------------------------------


def test_network_none_has_only_lo_down(net):
    d = net.daemon()
    q = net.quilt(d)
    r = q.run(["sh", "-c", "ip -o link; readlink /proc/self/ns/net"], extra=["--network", "none"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    flags = _only_lo(r.out)
    assert "UP" not in flags, "lo is up in network none: %s" % r.out
    assert r.out.splitlines()[-1] != os.readlink("/proc/self/ns/net"), "the host's netns: %r" % r
    cid = q.create(["true"], extra=["--network", "none"])
    q.wait_state(cid)
    ns = nh.net_status(q, cid)
    assert ns["network"] == "none" and ns["ip_address"] is None and ns["ports"] == [], ns["text"]


def test_loopback_only_lo_up_and_reachable_inside(net):
    d = net.daemon()
    q = net.quilt(d)
    script = ("ip -o link; readlink /proc/self/ns/net; "
              "nc -l -p 7000 -e echo quilt-test-pong & "
              + _retry('out=$(nc 127.0.0.1 7000 </dev/null) && [ "$out" = quilt-test-pong ]')
              + "; echo got=$out")
    r = q.run(["sh", "-c", script], extra=["--network", "loopback"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    flags = _only_lo(r.out)
    assert "UP" in flags, "lo is not up in loopback mode: %s" % r.out
    assert r.out.splitlines()[1] != os.readlink("/proc/self/ns/net"), "the host's netns: %r" % r
    assert "got=quilt-test-pong" in r.out, r
    cid = q.create(["true"], extra=["--network", "loopback"])
    q.wait_state(cid)
    ns = nh.net_status(q, cid)
    assert ns["network"] == "loopback" and ns["ip_address"] is None, ns["text"]


def test_default_mode_loopback_unless_chain_says_bridge(net):
    # no `network` key: loopback where provided, even with net_bridge in the chain
    d = net.daemon("deflo")
    q = net.quilt(d)
    r = q.run(["ip", "-o", "link"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    assert "UP" in _only_lo(r.out), r
    cid = q.create(["true"])
    q.wait_state(cid)
    assert nh.net_status(q, cid)["network"] == "loopback", nh.net_status(q, cid)["text"]
    assert not nh.link_exists(net.bridge), "bridge created without a bridge container"
    q.ok("rm", cid)
    d.stop_and_check()
    # [plugins] network = bridge: the default is bridge
    d2 = net.daemon("defbr", network="bridge")
    q2 = net.quilt(d2)
    cid = q2.create(["ip", "-o", "-4", "addr", "show", "dev", "eth0"])
    st = q2.wait_state(cid)
    assert st["state"] == "EXITED" and st["exitCode"] == 0, "%s%s" % (st, q2.ctx())
    assert nh.net_status(q2, cid)["network"] == "bridge", nh.net_status(q2, cid)["text"]
    addr, _ = nh.eth0_inet(q2.logs(cid)[0])
    assert addr and nh.in_net(addr, net.subnet), q2.logs(cid)
    # and --network still overrides it
    r = q2.run(["ip", "-o", "link"], extra=["--network", "loopback"])
    assert r.rc == 0 and "UP" in _only_lo(r.out), "%r%s" % (r, q2.ctx())


# --------------------------------------------------------------------------
# bridge
# --------------------------------------------------------------------------


def test_bridge_eth0_address_route_mtu(net):
    d = net.daemon(mtu=1400)
    q = net.quilt(d)
    assert not nh.link_exists(net.bridge), "the bridge must be made lazily, at the first bridge container"
    cid, _ = nh.running(q, extra=["--network", "bridge"])
    r = nh.exec_ok(q, cid, ["sh", "-c", "ip -o link; echo ==; ip -o -4 addr show dev eth0; echo ==; "
                                        "ip route; echo ==; cat /sys/class/net/eth0/mtu"])
    links, addr_out, routes, mtu = r.out.split("==\n")
    names = nh.links_inside(links)
    assert sorted(names) == ["eth0", "lo"], names
    assert "UP" in names["eth0"] and "UP" in names["lo"], names
    addr, plen = nh.eth0_inet(addr_out)
    assert addr and nh.in_net(addr, net.subnet) and plen == 24, addr_out
    assert addr != net.gateway, "the container got the gateway address %s" % addr
    assert re.search(r"^default via %s dev eth0" % re.escape(net.gateway), routes, re.M), routes
    assert mtu.strip() == "1400", "eth0 mtu %r, config says 1400" % mtu
    # the container reaches the bridge address
    nh.exec_ok(q, cid, ["ping", "-c", "1", "-W", "5", net.gateway])
    # status and the lease
    ns = nh.net_status(q, cid)
    assert ns["network"] == "bridge" and ns["ip_address"] == addr, ns["text"]
    assert nh.leases(d, net.bridge) == [addr], (nh.leases_dir(d, net.bridge), nh.leases(d, net.bridge))
    # host side: bridge with the gateway address, our veth on it, sysctls
    assert "%s/24" % net.gateway in nh.link_addrs4(net.bridge), nh.link_addrs4(net.bridge)
    veth = nh.link_info(nh.veth_name(cid))
    assert veth is not None, "no host veth %s" % nh.veth_name(cid)
    assert veth.get("master") == net.bridge, veth
    assert veth.get("mtu") == 1400, veth
    conf = "/proc/sys/net/ipv4/conf/%s/" % net.bridge
    assert nh.read_sysctl(conf + "forwarding") == "1", "forwarding off on %s" % net.bridge
    assert nh.read_sysctl(conf + "route_localnet") == "1", "route_localnet off on %s" % net.bridge
    assert nh.ip_forward() == net.ip_forward_before, "net.ipv4.ip_forward changed (ip_forward = false)"
    q.ok("rm", "-f", cid)
    assert not nh.link_exists(nh.veth_name(cid)), "veth left after rm"
    assert nh.leases(d, net.bridge) == [], nh.leases(d, net.bridge)


def test_two_containers_reach_each_other(net):
    d = net.daemon()
    q = net.quilt(d)
    a_name, b_name = q.new_name("neta"), q.new_name("netb")
    a, _ = nh.running(q, ["sh", "-c", "while :; do nc -l -p 7001 -e echo quilt-test-from-a; done"],
                      name=a_name, extra=["--network", "bridge"])
    b, _ = nh.running(q, ["sh", "-c", "while :; do nc -l -p 7002 -e echo quilt-test-from-b; done"],
                      name=b_name, extra=["--network", "bridge"])
    ip_a, ip_b = nh.inside_addr(q, a), nh.inside_addr(q, b)
    assert ip_a and ip_b and ip_a != ip_b, (ip_a, ip_b)
    assert nh.in_net(ip_a, net.subnet) and nh.in_net(ip_b, net.subnet), (ip_a, ip_b)
    nh.exec_ok(q, b, ["ping", "-c", "1", "-W", "5", ip_a])
    nh.exec_ok(q, a, ["ping", "-c", "1", "-W", "5", ip_b])
    r = nh.exec_ok(q, b, ["sh", "-c", _retry('out=$(nc %s 7001 </dev/null) && [ -n "$out" ]' % ip_a)
                          + '; echo "$out"'])
    assert r.out.strip() == "quilt-test-from-a", r
    r = nh.exec_ok(q, a, ["sh", "-c", _retry('out=$(nc %s 7002 </dev/null) && [ -n "$out" ]' % ip_b)
                          + '; echo "$out"'])
    assert r.out.strip() == "quilt-test-from-b", r
    # /etc/hosts of the later one names itself and the earlier one
    hosts_b = nh.exec_ok(q, b, ["cat", "/etc/hosts"]).out
    entries = {}
    for line in hosts_b.splitlines():
        f = line.split("#")[0].split()
        for n in f[1:]:
            entries.setdefault(n, set()).add(f[0])
    assert ip_b in entries.get(b_name, ()), "own name not in /etc/hosts:\n%s" % hosts_b
    assert ip_a in entries.get(a_name, ()), "peer %s not in /etc/hosts:\n%s" % (a_name, hosts_b)
    assert "127.0.0.1" in entries.get("localhost", ()), hosts_b
    # and the earlier one learns of the later one
    got = qi.poll(lambda: b_name in nh.exec_ok(q, a, ["cat", "/etc/hosts"]).out, 10)
    assert got, "%s's /etc/hosts never listed %s:\n%s" % (a_name, b_name,
                                                          nh.exec_ok(q, a, ["cat", "/etc/hosts"]).out)
    # b gone: a's hosts forgets it
    assert q.rm(b).rc == 0
    got = qi.poll(lambda: b_name not in nh.exec_ok(q, a, ["cat", "/etc/hosts"]).out, 10)
    assert got, "%s's /etc/hosts still lists the removed %s:\n%s" % (
        a_name, b_name, nh.exec_ok(q, a, ["cat", "/etc/hosts"]).out)


def test_hosts_resolv_written_into_root_not_image(net, env):
    resolv = env.path("resolv.conf")
    with open(resolv, "w") as f:
        f.write("# quilt-test host resolv.conf\nnameserver 127.0.0.53\nnameserver 192.0.2.53\n"
                "nameserver ::1\nsearch quilt-test.example\n")
    digest = qi.file_digest(env.image)
    # dns set: exactly those servers
    d = net.daemon("dns", dns="10.213.%d.53, 10.213.%d.54" % (net.n, net.n), resolv_conf=resolv)
    q = net.quilt(d)
    name = q.new_name("nethosts")
    r = q.run(["sh", "-c", "cat /etc/resolv.conf; echo ==; cat /etc/hosts"], name=name,
              extra=["--network", "bridge"])
    assert r.rc == 0, "%r%s" % (r, q.ctx())
    resolv_in, hosts_in = r.out.split("==\n")
    servers = re.findall(r"^nameserver\s+(\S+)", resolv_in, re.M)
    assert servers == ["10.213.%d.53" % net.n, "10.213.%d.54" % net.n], resolv_in
    assert re.search(r"^\d+\.\d+\.\d+\.\d+\s.*\b%s\b" % re.escape(name), hosts_in, re.M), hosts_in
    # the image is not touched: a loopback container sees the image's hosts
    r = q.run(["cat", "/etc/hosts"], extra=["--network", "loopback"])
    assert r.rc == 0 and r.out == IMAGE_HOSTS, "%r%s" % (r, q.ctx())
    assert qi.file_digest(env.image) == digest, "the image tarball changed"
    for root, dirs, files in os.walk(d.state_dir):
        if os.path.relpath(root, d.state_dir).split(os.sep)[0] == "containers":
            dirs[:] = []
            continue
        if os.path.basename(root) == "etc" and "hosts" in files:
            with open(os.path.join(root, "hosts")) as f:
                assert f.read() == IMAGE_HOSTS, "image store file %s/hosts changed" % root
    d.stop_and_check()
    # dns empty: the resolv_conf file's servers minus loopback ones
    d2 = net.daemon("dns2", resolv_conf=resolv)
    q2 = net.quilt(d2)
    r = q2.run(["cat", "/etc/resolv.conf"], extra=["--network", "bridge"])
    assert r.rc == 0, "%r%s" % (r, q2.ctx())
    servers = re.findall(r"^nameserver\s+(\S+)", r.out, re.M)
    assert servers == ["192.0.2.53"], "from %s (127.0.0.53 and ::1 are loopback):\n%s" % (resolv, r.out)
    d2.stop_and_check()
    # hosts = false: the container's own name, but no peers
    d3 = net.daemon("nohosts", hosts="false", dns="10.213.%d.53" % net.n)
    q3 = net.quilt(d3)
    peer = q3.new_name("peer")
    nh.running(q3, name=peer, extra=["--network", "bridge"])
    name = q3.new_name("nohosts")
    r = q3.run(["cat", "/etc/hosts"], name=name, extra=["--network", "bridge"])
    assert r.rc == 0, "%r%s" % (r, q3.ctx())
    assert re.search(r"\s%s(\s|$)" % re.escape(name), r.out, re.M), r.out
    assert peer not in r.out, "hosts = false, yet the peer is listed:\n%s" % r.out


def test_status_and_started_event_show_the_address(net):
    d = net.daemon()
    q = net.quilt(d)
    hp = nh.free_port()
    cid, _ = nh.running(q, extra=["--network", "bridge", "-p", "%d:80" % hp, "--publish",
                                  "%d:53/udp" % hp])
    # human status
    ns = nh.net_status(q, cid)
    addr = ns["ip_address"]
    assert addr and nh.in_net(addr, net.subnet), ns["text"]
    assert ns["network"] == "bridge", ns["text"]
    human = ns["text"].splitlines()
    assert "ports: 2" in human, human
    assert ns["ports"] == [(hp, 53, "udp"), (hp, 80, "tcp")], human
    # the inside agrees
    r = nh.exec_ok(q, cid, ["ip", "-o", "-4", "addr", "show", "dev", "eth0"])
    assert nh.eth0_inet(r.out)[0] == addr, r
    table = nh.nft_table(net.bridge)
    assert nh.elem_keys(nh.nft_map_elements(table, "tcp_ports")) == [hp], nh.nft_table_text(table)
    assert nh.elem_keys(nh.nft_map_elements(table, "udp_ports")) == [hp], nh.nft_table_text(table)
    # the started event
    ev = nh.started_event(d, cid)
    assert ev["type"] == "started" and ev["attributes"].get("ip_address") == addr, ev
    # loopback: no address anywhere
    lo, _ = nh.running(q, extra=["--network", "loopback"])
    ns_lo = nh.net_status(q, lo)
    assert ns_lo["network"] == "loopback" and ns_lo["ip_address"] is None and ns_lo["ports"] == [], \
        ns_lo["text"]
    assert "ip_address" not in nh.started_event(d, lo)["attributes"], nh.started_event(d, lo)
    # status --json: proto3 JSON names
    st = q.status(cid)
    assert st.get("network") == "bridge", "status --json: %s" % st
    assert st.get("ipAddress") == addr, "status --json: %s" % st
    assert nh.status_ports(st) == [(hp, 53, "udp"), (hp, 80, "tcp")], "status --json: %s" % st
    st = q.status(lo)
    assert st.get("network") == "loopback" and not st.get("ipAddress") and not st.get("ports"), st
    # ps --json has them too
    mine = [c for c in q.ps() if c["containerId"] == cid]
    assert mine and mine[0].get("ipAddress") == addr, mine


# --------------------------------------------------------------------------
# published ports
# --------------------------------------------------------------------------

HTTPD = ("mkdir -p /www && echo quilt-test-page-%s > /www/index.html && "
         "exec httpd -f -p 80 -h /www")


def test_published_port_reachable_from_host(net):
    d = net.daemon()
    q = net.quilt(d)
    hp = nh.free_port()
    cid, _ = nh.running(q, ["sh", "-c", HTTPD % net.tag], extra=["--network", "bridge", "-p", "%d:80" % hp])
    table = nh.nft_table(net.bridge)
    assert hp in nh.elem_keys(nh.nft_map_elements(table, "tcp_ports")), nh.nft_table_text(table)
    want = "quilt-test-page-%s" % net.tag
    for host in ("127.0.0.1", net.gateway):
        res = nh.poll_http(host, hp, want)
        assert isinstance(res, tuple) and " 200 " in res[0] and want in res[1], \
            "GET http://%s:%d/: %r%s" % (host, hp, res, q.ctx())
    # the container's own address serves port 80 directly too
    addr = nh.inside_addr(q, cid)
    res = nh.poll_http(addr, 80, want)
    assert isinstance(res, tuple) and want in res[1], res
    q.ok("rm", "-f", cid)
    assert nh.elem_keys(nh.nft_map_elements(table, "tcp_ports")) == [], nh.nft_table_text(table)
    with pytest.raises(OSError):
        nh.http_get("127.0.0.1", hp, timeout=2)


def test_published_port_nc(net):
    # a plain TCP service (busybox nc) behind -p HOST:CONTAINER/tcp
    d = net.daemon()
    q = net.quilt(d)
    hp = nh.free_port()
    nh.running(q, ["sh", "-c", "while :; do nc -l -p 9000 -e echo quilt-test-nc; done"],
               extra=["--network", "bridge", "-p", "%d:9000/tcp" % hp])

    def once():
        try:
            with socket.create_connection(("127.0.0.1", hp), timeout=3) as s:
                return s.recv(100)
        except OSError:
            return None
    got = qi.poll(once, 20)
    assert got == b"quilt-test-nc\n", "127.0.0.1:%d gave %r%s" % (hp, got, q.ctx())


def test_ports_need_bridge(net):
    d = net.daemon()
    q = net.quilt(d)
    for mode in ("loopback", "none"):
        name = q.new_name()
        q.created.append(name)
        r = q.cli("create", "--image", q.image, "--name", name, "--network", mode, "-p", "%d:80" % nh.free_port(),
                  "--", "true")
        assert r.rc != 0 and "INVALID_ARGUMENT" in r.err, "-p with --network %s: %r" % (mode, r)


BAD_PORT_SPECS = ["80", "0:80", "70000:80", "80:0", "8080:80/sctp", "a:80", "8080:", ":80",
                  "8080:80/tcp/udp", "-1:80", "8080:80,8081:81"]


def test_bad_port_specs_refused(net):
    d = net.daemon()
    q = net.quilt(d)
    bad = []
    for spec in BAD_PORT_SPECS:
        name = q.new_name()
        q.created.append(name)
        r = q.cli("create", "--image", q.image, "--name", name, "--network", "bridge", "-p", spec, "--", "true")
        if r.rc == 0:
            bad.append("-p %s accepted: %r" % (spec, r))
        elif q.status_or_none(name) is not None:
            bad.append("-p %s: refused, yet a container exists" % spec)
    # the same host port twice in one request
    hp = nh.free_port()
    r = q.cli("create", "--image", q.image, "--network", "bridge", "-p", "%d:80" % hp, "-p", "%d:81" % hp,
              "--", "true")
    if r.rc == 0 or "twice" not in r.err:   # the CLI or the daemon (INVALID_ARGUMENT) says so
        bad.append("-p %d:80 -p %d:81: %r" % (hp, hp, r))
    assert not bad, "\n".join(bad)


# --------------------------------------------------------------------------
# NAT to the test's own upstream netns
# --------------------------------------------------------------------------


@pytest.mark.parametrize("nat", [True, False])
def test_outbound_nat_to_own_upstream_netns(net, nat):
    up = nh.Upstream(net)
    if not nat:
        up.route_back(net.subnet)     # without masquerade the reply needs a way back
    d = net.daemon(nat="true" if nat else "false")
    q = net.quilt(d)
    port = nh.free_port()
    server = up.serve_once(port)
    try:
        cid, _ = nh.running(q, ["sh", "-c", _retry('out=$(nc -w 3 %s %d </dev/null) && [ -n "$out" ]'
                                                   % (up.addr, port), n=30)
                                + '; echo "$out"; exec sleep 600'],
                            extra=["--network", "bridge"])
        peer = up.peer_of(server, 60)
    finally:
        if server.poll() is None:
            qi.kill_pid(server.pid)
            qi.wait_popen(server, 5)
    addr = nh.inside_addr(q, cid)
    want = up.host_addr if nat else addr
    assert peer == want, ("upstream %s saw source %r, want %s (nat = %s; container %s)%s"
                          % (up.addr, peer, want, nat, addr, q.ctx()))
    out = qi.poll(lambda: q.logs(cid)[0], 10)
    assert "quilt-test-upstream" in out, (out, q.logs(cid))
    if nat:
        assert "masquerade" in nh.nft_table_text(nh.nft_table(net.bridge)), \
            nh.nft_table_text(nh.nft_table(net.bridge))


# --------------------------------------------------------------------------
# clean-up
# --------------------------------------------------------------------------


def _assert_clean(d, net, ids):
    names = set(nh.all_link_names())
    left = [nh.veth_name(c) for c in ids if nh.veth_name(c) in names]
    assert not left, "veths left: %s" % left
    table = nh.nft_table(net.bridge)
    for m in ("tcp_ports", "udp_ports"):
        el = nh.nft_map_elements(table, m)
        assert el == [], "map %s of %s: %r\n%s" % (m, table, el, nh.nft_table_text(table))
    assert nh.leases(d, net.bridge) == [], nh.leases(d, net.bridge)


def test_hundred_create_rm_cycles_leave_nothing(net):
    d = net.daemon()
    q = net.quilt(d)
    base = nh.free_port()
    ids = []
    for i in range(100):
        extra = ["--network", "bridge"]
        if i % 3 == 0:
            extra += ["-p", "%d:80" % (base + i % 50)]
        if i % 5 == 0:
            extra += ["-p", "%d:53/udp" % (base + i % 50)]
        argv = ["sleep", "600"] if i % 2 == 0 else ["true"]
        cid = q.create(argv, extra=extra)
        ids.append(cid)
        if i == 0:
            q.wait_state(cid, ["RUNNING"])
            assert nh.link_exists(nh.veth_name(cid)), "no veth for a running bridge container"
            assert len(nh.leases(d, net.bridge)) == 1, nh.leases(d, net.bridge)
            assert base in nh.elem_keys(nh.nft_map_elements(nh.nft_table(net.bridge), "tcp_ports"))
        r = q.rm(cid)
        assert r.rc == 0, "cycle %d: %r%s" % (i, r, q.ctx())
    _assert_clean(d, net, ids)
    assert nh.link_exists(net.bridge), "the bridge went away while the daemon runs"


def test_failed_container_cleans_up(net):
    d = net.daemon()
    q = net.quilt(d)
    hp = nh.free_port()
    ids = []
    # the command does not exist: exec fails after the network was set up
    cid = q.create(["/quilt-test-nosuch"], extra=["--network", "bridge", "-p", "%d:80" % hp])
    ids.append(cid)
    st = q.wait_state(cid)
    assert st["state"] in ("FAILED", "EXITED") and (st["state"] == "FAILED" or st["exitCode"] != 0), st
    # a setup command that fails
    hp2 = nh.free_port()
    cid2 = q.create(["true"], extra=["--network", "bridge", "-p", "%d:81" % hp2, "--setup", "exit 7"])
    ids.append(cid2)
    st = q.wait_state(cid2)
    assert st["state"] == "FAILED" and "setup" in st["errorMessage"], "%s%s" % (st, q.ctx())
    for c in ids:
        r = q.rm(c)
        assert r.rc == 0, r
    _assert_clean(d, net, ids)
    # and the addresses are free again: a new container works
    r = q.run(["ping", "-c", "1", "-W", "5", net.gateway], extra=["--network", "bridge", "-p", "%d:80" % hp])
    assert r.rc == 0, "%r%s" % (r, q.ctx())


def test_daemon_stop_removes_bridge_and_table(net):
    d = net.daemon()
    q = net.quilt(d)
    cid, _ = nh.running(q, extra=["--network", "bridge", "-p", "%d:80" % nh.free_port()])
    table = nh.nft_table(net.bridge)
    assert nh.link_exists(net.bridge) and nh.nft_table_exists(table)
    veth = nh.veth_name(cid)
    d.stop_and_check()
    q.created = []
    left = []
    if nh.link_exists(net.bridge):
        left.append("bridge " + net.bridge)
    if nh.nft_table_exists(table):
        left.append("nft table ip " + table)
    if nh.link_exists(veth):
        left.append("veth " + veth)
    assert not left, "left after quiltd stopped (remove_on_shutdown = true): %s%s" % (left, d.log_context())


def test_same_host_port_twice_keeps_the_first(net):
    # a second container publishing a host port already published: refused
    # or FAILED, and its clean-up must not take the first one's mapping
    d = net.daemon()
    q = net.quilt(d)
    hp = nh.free_port()
    first, _ = nh.running(q, ["sh", "-c", HTTPD % net.tag], extra=["--network", "bridge", "-p", "%d:80" % hp])
    want = "quilt-test-page-%s" % net.tag
    res = nh.poll_http("127.0.0.1", hp, want)
    assert isinstance(res, tuple) and want in res[1], "%r%s" % (res, q.ctx())
    name = q.new_name("dup")
    q.created.append(name)
    r = q.cli("create", "--image", q.image, "--name", name, "--network", "bridge", "-p", "%d:80" % hp,
              "--", "sh", "-c", "mkdir -p /www && echo quilt-test-second > /www/index.html && "
              "exec httpd -f -p 80 -h /www")
    second = None
    if r.rc == 0:
        second = r.out.strip()
        st = q.wait_state(second, ["RUNNING", "FAILED", "EXITED"])
        assert st["state"] == "FAILED", ("a second container publishing host port %d: %s (the first "
                                         "still has it)%s" % (hp, st, q.ctx()))
        assert q.rm(second).rc == 0
    else:
        assert "INVALID_ARGUMENT" in r.err or "ALREADY_EXISTS" in r.err or "FAILED_PRECONDITION" in r.err, r
    res = nh.poll_http("127.0.0.1", hp, want, timeout=5)
    assert isinstance(res, tuple) and want in res[1], \
        "the first container's port %d broke after the second was refused: %r%s" % (hp, res, q.ctx())
    table = nh.nft_table(net.bridge)
    assert nh.elem_keys(nh.nft_map_elements(table, "tcp_ports")) == [hp], nh.nft_table_text(table)
    if second:
        assert not nh.link_exists(nh.veth_name(second))
    assert len(nh.leases(d, net.bridge)) == 1, nh.leases(d, net.bridge)


def test_leases_persist_across_a_restart(net):
    d = net.daemon()
    q = net.quilt(d)
    a, _ = nh.running(q, extra=["--network", "bridge"])
    addr_a = nh.inside_addr(q, a)
    assert nh.leases(d, net.bridge) == [addr_a]
    d.stop_and_check()
    q.created = []
    d2 = net.restart_on(d)
    q2 = net.quilt(d2)
    known = [c["containerId"] for c in q2.ps()]
    if a in known:
        # the container is still known: its lease stays, and nobody else gets it
        q2.created.append(a)
        assert addr_a in nh.leases(d2, net.bridge), nh.leases(d2, net.bridge)
        b, _ = nh.running(q2, extra=["--network", "bridge"])
        assert nh.inside_addr(q2, b) != addr_a, "the address of a kept container was handed out again"
        assert q2.rm(a).rc == 0
        assert addr_a not in nh.leases(d2, net.bridge), nh.leases(d2, net.bridge)
        assert q2.rm(b).rc == 0
    else:
        # gone: its lease was dropped at start-up
        assert addr_a not in nh.leases(d2, net.bridge), nh.leases(d2, net.bridge)
    assert nh.leases(d2, net.bridge) == [], nh.leases(d2, net.bridge)


# --------------------------------------------------------------------------
# one state dir, one daemon; distinct addresses
# --------------------------------------------------------------------------


def test_second_daemon_refused_and_concurrent_addresses_distinct(net, env):
    d = net.daemon()
    q = net.quilt(d)
    # a second quiltd on the same state dir (own socket) must not start
    path, _ = net.config("second")
    d2 = qi.Daemon(env.paths, env.tmp, "second-" + net.tag, path)
    d2.state_dir = d.state_dir
    d2.socket = env.path("second.sock")
    d2.log_path = env.path("second.log")
    d2.spawn()
    try:
        rc = qi.wait_popen(d2.proc, 20)
        d2.proc = None
    finally:
        if d2.proc is not None:
            d2.stop(5)
    assert rc is not None and rc != 0, "a second quiltd started on %s%s" % (d.state_dir, d2.log_context())
    assert q.cli("ps").rc == 0
    # 8 creates at once: 8 different addresses, 8 leases
    names = [q.new_name("conc") for _ in range(8)]
    ids = nh.threads_map(lambda n: q.create(["sleep", "600"], name=n, extra=["--network", "bridge"]), names)
    addrs = []
    for cid in ids:
        q.wait_state(cid, ["RUNNING"])
        addrs.append(nh.inside_addr(q, cid))
    assert len(set(addrs)) == 8 and all(nh.in_net(a, net.subnet) for a in addrs), addrs
    assert net.gateway not in addrs, addrs
    assert nh.leases(d, net.bridge) == sorted(addrs), (nh.leases(d, net.bridge), addrs)
    nh.threads_map(lambda c: q.rm(c), ids)
    _assert_clean(d, net, ids)


def test_small_subnet_runs_out_cleanly(net):
    # /29: 6 hosts, one the gateway -> 5 containers; the 6th is refused
    # and leaves nothing behind
    n = net.n
    d = net.daemon(subnet="10.213.%d.0/29" % n)
    q = net.quilt(d)
    ids = [nh.running(q, extra=["--network", "bridge"])[0] for _ in range(5)]
    addrs = sorted(nh.inside_addr(q, c) for c in ids)
    assert len(set(addrs)) == 5, addrs
    name = q.new_name()
    q.created.append(name)
    r = q.cli("create", "--image", q.image, "--name", name, "--network", "bridge", "--", "sleep", "600")
    if r.rc == 0:
        st = q.wait_state(name, ["FAILED", "RUNNING", "EXITED"])
        assert st["state"] == "FAILED", "a 6th container in a /29 with a gateway: %s" % st
        q.rm(name)
    assert sorted(nh.leases(d, net.bridge)) == addrs
    q.rm(ids[0])
    cid, _ = nh.running(q, extra=["--network", "bridge"])      # the freed address is handed out again
    ids.append(cid)
    for c in ids[1:]:
        q.rm(c)
    _assert_clean(d, net, ids)


def test_plugin_runs_no_ip_or_nft_commands(net, env):
    # The plugin talks netlink and libnftables itself.  Stand-ins for the
    # usual tools early in the daemon's PATH record any call; the plugins'
    # own strings name none of them either.
    fakebin = env.path("fakebin")
    os.makedirs(fakebin)
    marker = os.path.join(fakebin, "called")
    tools = ("ip", "nft", "iptables", "ip6tables", "sysctl", "brctl", "bridge", "modprobe", "sh", "busybox")
    for tool in tools:
        with open(os.path.join(fakebin, tool), "w") as f:
            f.write("#!/bin/sh\necho \"%s $*\" >> %s\nexit 1\n" % (tool, marker))
        os.chmod(os.path.join(fakebin, tool), 0o755)
    environ = dict(os.environ)
    environ["PATH"] = fakebin + ":" + environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    up = nh.Upstream(net)
    d = net.daemon(environ=environ)
    q = net.quilt(d)
    hp = nh.free_port()
    cid, _ = nh.running(q, ["sh", "-c", HTTPD % net.tag], extra=["--network", "bridge", "-p", "%d:80" % hp,
                                                                 "-p", "%d:53/udp" % hp])
    res = nh.poll_http("127.0.0.1", hp, "quilt-test-page-" + net.tag)
    assert isinstance(res, tuple), "%r%s" % (res, q.ctx())
    nh.exec_ok(q, cid, ["ping", "-c", "1", "-W", "5", up.addr])       # through the NAT
    q.ok("rm", "-f", cid)
    d.stop_and_check()
    called = open(marker).read() if os.path.exists(marker) else ""
    assert not called, "quiltd or its plugins ran external tools:\n%s" % called
    for so in ("net_bridge.so", "net_loopback.so"):
        data = open(os.path.join(env.paths.plugin_dir, so), "rb").read()
        for needle in (b"/sbin/ip", b"/bin/ip ", b"/sbin/nft", b"iptables", b"/sbin/sysctl", b"popen"):
            assert needle not in data, "%s contains %r" % (so, needle)


# --------------------------------------------------------------------------
# modes a chain does not provide; bad config
# --------------------------------------------------------------------------


def _refused(q, *flags):
    name = q.new_name()
    q.created.append(name)
    r = q.cli("create", "--image", q.image, "--name", name, *flags, "--", "true")
    return r


def test_mode_not_in_chain_is_invalid_argument(net):
    d = net.daemon("nobridge", chain=nh.CHAIN_NO_BRIDGE)
    q = net.quilt(d)
    r = _refused(q, "--network", "bridge")
    assert r.rc != 0 and "INVALID_ARGUMENT" in r.err, r
    r = q.run(["ip", "-o", "link"], extra=["--network", "loopback"])
    assert r.rc == 0 and "UP" in _only_lo(r.out), "%r%s" % (r, q.ctx())
    d.stop_and_check()
    # no net plugin, ns without net: no mode at all
    d2 = net.daemon("nonet", chain=nh.CHAIN_NO_NET, ns_net=False)
    q2 = net.quilt(d2)
    for mode in ("none", "loopback", "bridge"):
        r = _refused(q2, "--network", mode)
        assert r.rc != 0 and "INVALID_ARGUMENT" in r.err, "--network %s: %r" % (mode, r)
    cid = q2.create(["true"])
    st = q2.wait_state(cid)
    assert st["state"] == "EXITED", st
    assert nh.net_status(q2, cid)["network"] in ("", "-"), nh.net_status(q2, cid)["text"]
    # only the ns plugin (net = true): none and loopback, not bridge
    d3 = net.daemon("nsonly", chain=nh.CHAIN_NO_NET)
    q3 = net.quilt(d3)
    r = _refused(q3, "--network", "bridge")
    assert r.rc != 0 and "INVALID_ARGUMENT" in r.err, r
    r = q3.run(["ip", "-o", "link"], extra=["--network", "none"])
    assert r.rc == 0 and "UP" not in _only_lo(r.out), "%r%s" % (r, q3.ctx())


def test_unknown_network_mode_refused(net):
    d = net.daemon()
    q = net.quilt(d)
    r = _refused(q, "--network", "quilt-test-bogus")
    assert r.rc != 0, r
    assert q.status_or_none(q.created[-1]) is None


@pytest.mark.parametrize("what", ["prefix33", "host_bits", "not_cidr", "loopback_overlap",
                                  "own_route_overlap", "gateway_outside"])
def test_bad_bridge_config_names_file_and_line(net, env, what):
    n = net.n
    keys = {}
    bad_key = "subnet"
    if what == "prefix33":
        keys["subnet"] = "10.213.%d.0/33" % n
    elif what == "host_bits":
        keys["subnet"] = "10.213.%d.1/24" % n
    elif what == "not_cidr":
        keys["subnet"] = "10.213.%d.0" % n
    elif what == "loopback_overlap":
        keys["subnet"] = "127.0.0.0/8"
    elif what == "own_route_overlap":
        # a veth pair of the test's own, one end with an address (and so a
        # route) inside the subnet
        a = net.add_link_record("qt-d" + net.tag)
        b = net.add_link_record("qt-e" + net.tag)
        nh.run([nh.IP, "link", "add", a, "type", "veth", "peer", "name", b], check=True)
        nh.run([nh.IP, "addr", "add", "10.213.%d.200/25" % n, "dev", a], check=True)
        nh.run([nh.IP, "link", "set", a, "up"], check=True)
        nh.run([nh.IP, "link", "set", b, "up"], check=True)
        assert "10.213.%d.128/25" % n in nh.run([nh.IP, "-4", "route"]).out
        keys["subnet"] = "10.213.%d.0/24" % n
    elif what == "gateway_outside":
        keys["gateway"] = "10.213.%d.1" % ((n + 1) % 250)
        bad_key = "gateway"
    path, where = net.config("bad-" + what, **keys)
    rc, d = qi.start_fails(env, path, "net-" + net.tag + what)
    log = d.log()
    assert rc != 0, "quiltd started with %s%s" % (what, d.log_context())
    want = "%s:%d" % (path, where[bad_key])
    assert want in log or "%s:%d" % (os.path.basename(path), where[bad_key]) in log, \
        "start-up error does not name %s%s" % (want, d.log_context())
    assert not nh.link_exists(net.bridge) and not nh.nft_table_exists(nh.nft_table(net.bridge))
    r = qi.run_cmd([env.paths.quiltd, "--check-config", "--config", path, "--plugin-dir",
                    env.paths.plugin_dir], timeout=30)
    if what not in ("own_route_overlap", "loopback_overlap"):
        assert r.rc != 0 and ":%d" % where[bad_key] in r.out + r.err, r


def test_good_config_checks(net, env):
    path, _ = net.config("good", mtu=1400, dns="10.213.%d.53" % net.n, gateway="10.213.%d.254" % net.n)
    r = qi.run_cmd([env.paths.quiltd, "--check-config", "--config", path, "--plugin-dir",
                    env.paths.plugin_dir], timeout=30)
    assert r.rc == 0, r
    assert "net_bridge" in r.out + r.err, r
    d = net.daemon(mtu=1400, dns="10.213.%d.53" % net.n, gateway="10.213.%d.254" % net.n)
    q = net.quilt(d)
    r = q.run(["ip", "route"], extra=["--network", "bridge"])
    assert r.rc == 0 and re.search(r"^default via 10\.213\.%d\.254 dev eth0" % net.n, r.out, re.M), \
        "%r%s" % (r, q.ctx())


def test_bridge_under_user_namespace(net):
    """net_bridge after userns: eth0, the gateway, /etc/hosts all there for
    a container whose root is an unprivileged host uid (its files are
    attached from fds the monitor opened, where the state dir is in sight)."""
    d = net.daemon(chain="userns, " + nh.CHAIN)
    q = net.quilt(d)
    cid, _ = nh.running(q, extra=["--network", "bridge"])
    r = nh.exec_ok(q, cid, ["sh", "-c", "id -u; cat /proc/self/uid_map; ip -o -4 addr show dev eth0; "
                                        "grep -c $(hostname) /etc/hosts"])
    lines = r.out.splitlines()
    assert lines[0] == "0" and lines[1].split()[:2] == ["0", "100000"], r.out
    addr, _ = nh.eth0_inet(r.out)
    assert addr and nh.in_net(addr, net.subnet), r.out
    assert lines[-1] != "0", "the container's name is not in its /etc/hosts: %r" % r.out
    nh.exec_ok(q, cid, ["ping", "-c", "1", "-W", "5", net.gateway])
    pid = q.status(cid)["pid"]
    with open("/proc/%d/status" % pid) as f:
        uid = [l for l in f if l.startswith("Uid:")][0].split()[1]
    assert uid == "100000", "the container's root is host uid %s" % uid
    q.ok("rm", "-f", cid)
    assert not nh.link_exists(nh.veth_name(cid)), "veth left after rm"
