"""Network-namespace topologies for julier's end-to-end, fleet and fault tests, the
benchmark scripts and the demo, and what they share besides: the opening of a test
catalogue, checks that fail with a message, waiting for a condition, running one
named test and writing a benchmark's figures.

A topology is a bridge namespace ("sw") with one veth port per host; every host is
its own namespace whose eth0 is the other end. Nothing touches the root namespace's
links or addresses, and everything is removed on exit, on failure and on SIGTERM.

Addresses come only from 198.18.0.0/15 and 2001:db8::/32:
  client i   198.18.0.(10+i)/24   2001:db8::(10+i)/64
  lb         198.18.0.2/24        2001:db8::2/64
  backend i  198.18.0.(20+i)/24   2001:db8::(20+i)/64
  VIPs       198.19.0.0/24        2001:db8:1::/64   (routed by clients via the lb)
"""
from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

SUBNET4 = "198.18.0"
SUBNET6 = "2001:db8::"
VIP4 = "198.19.0.1"
VIP6 = "2001:db8:1::1"
VIP_NET4 = "198.19.0.0/24"
VIP_NET6 = "2001:db8:1::/64"
LB4 = f"{SUBNET4}.2"
LB6 = f"{SUBNET6}2"


def run(*args: str, check: bool = True, quiet: bool = False, **kw) -> subprocess.CompletedProcess:
    """Run a command; on failure raise with its stderr."""
    res = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({res.returncode}): {res.stderr.strip()}")
    if not quiet and res.returncode != 0:
        print(res.stderr, file=sys.stderr, end="")
    return res


class Fail(AssertionError):
    """A check of a test or benchmark did not hold."""


def check(cond: bool, msg: str) -> None:
    if not cond:
        raise Fail(msg)


def wait_until(predicate, timeout: float, what: str, context=None):
    """Poll `predicate` until it returns something true (returned) or fail after
    `timeout` s; `context()`, when given, says more in the failure (a daemon's log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise Fail(f"timed out after {timeout}s waiting for {what}" + (f":\n{context()}" if context else ""))


def fresh_namespace(ns: str) -> None:
    """Create namespace `ns` with lo up, replacing a leftover of a crashed run.
    The caller deletes it (`ip netns del`) when it is done, whatever happens."""
    run("ip", "netns", "del", ns, check=False, quiet=True)
    run("ip", "netns", "add", ns)
    run("ip", "-n", ns, "link", "set", "lo", "up")


def catalogue_header(limits: str) -> str:
    """The lines a test catalogue opens with: interface eth0, the pin directory and
    control socket Julierd fills in, metrics on 127.0.0.1:9641, and `limits` (the
    inside of the limits map, e.g. "max_services: 16, max_backends: 256")."""
    return ("interfaces: [eth0]\n"
            'pin_dir: "@PIN_DIR@"\n'
            'control_socket: "@SOCKET@"\n'
            'metrics: {listen: "127.0.0.1:9641"}\n'
            f"limits: {{{limits}}}\n")


def run_named_test(tests: dict, name: str) -> int:
    """Run tests[name]; print PASS or FAIL with the reason; the exit status."""
    try:
        tests[name]()
    except Fail as e:
        print(f"FAIL {name}: {e}", file=sys.stderr)
        return 1
    print(f"PASS {name}")
    return 0


def write_figures(path: str | None, figures: dict) -> None:
    """A benchmark's figures as one flat JSON object (what scripts/bench and
    bench/check_results.py read); nothing without a path."""
    if path:
        with open(path, "w") as f:
            json.dump(figures, f, indent=2, sort_keys=True)
            f.write("\n")


@dataclass
class Host:
    topo: "Topology"
    role: str        # short name: lb, be1, cl1
    ns: str          # namespace name
    addr4: str
    addr6: str
    port: str        # its bridge port in the switch namespace
    procs: list = field(default_factory=list)

    def sh(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return run("ip", "netns", "exec", self.ns, *args, check=check)

    def popen(self, *args: str, **kw) -> subprocess.Popen:
        """Start a process in this host's namespace; it is ended when the topology closes."""
        p = subprocess.Popen(["ip", "netns", "exec", self.ns, *args], **kw)
        self.procs.append(p)
        return p

    def netns_path(self) -> str:
        return f"/run/netns/{self.ns}"

    def mac(self) -> str:
        out = self.sh("cat", "/sys/class/net/eth0/address").stdout
        return out.strip()


class Topology:
    """Context manager: `with Topology(backends=3) as t: ...`."""

    def __init__(self, backends: int = 3, clients: int = 1, prefix: str | None = None):
        self.prefix = prefix or f"jl{os.getpid() % 100000}"
        self.n_backends = backends
        self.n_clients = clients
        self.namespaces: list[str] = []
        self.hosts: dict[str, Host] = {}
        self._closed = False

    # -- lifecycle -------------------------------------------------------------
    def __enter__(self) -> "Topology":
        atexit.register(self.close)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._on_signal)
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _on_signal(self, signum, _frame):
        self.close()
        sys.exit(128 + signum)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for h in self.hosts.values():
            for p in h.procs:
                if p.poll() is None:
                    p.terminate()
            for p in h.procs:
                try:
                    p.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for ns in reversed(self.namespaces):
            run("ip", "netns", "del", ns, check=False, quiet=True)

    # -- construction ----------------------------------------------------------
    def _add_ns(self, role: str) -> str:
        ns = f"{self.prefix}-{role}"
        self.namespaces.append(ns)
        fresh_namespace(ns)
        return ns

    def _build(self) -> None:
        self.sw = self._add_ns("sw")
        run("ip", "-n", self.sw, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.sw, "link", "set", "br0", "up")
        self._host("lb", LB4, LB6)
        for i in range(1, self.n_backends + 1):
            self._host(f"be{i}", f"{SUBNET4}.{20 + i}", f"{SUBNET6}{20 + i}")
        for i in range(1, self.n_clients + 1):
            self._host(f"cl{i}", f"{SUBNET4}.{10 + i}", f"{SUBNET6}{10 + i}")
        for h in self.clients():
            h.sh("ip", "route", "add", VIP_NET4, "via", LB4)
            h.sh("ip", "-6", "route", "add", VIP_NET6, "via", LB6)
        for h in self.backends():
            h.sh("ip", "addr", "add", f"{VIP4}/32", "dev", "lo")
            h.sh("ip", "-6", "addr", "add", f"{VIP6}/128", "dev", "lo")
            for key, val in (("net.ipv4.conf.all.arp_ignore", "1"),
                             ("net.ipv4.conf.all.arp_announce", "2"),
                             ("net.ipv4.conf.all.rp_filter", "0"),
                             ("net.ipv4.conf.eth0.rp_filter", "0")):
                h.sh("sysctl", "-qw", f"{key}={val}")
        self.wait_reachable()

    def _host(self, role: str, addr4: str, addr6: str) -> Host:
        ns = self._add_ns(role)
        port = f"p-{role}"
        run("ip", "-n", self.sw, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
        run("ip", "-n", self.sw, "link", "set", port, "master", "br0", "up")
        run("ip", "-n", ns, "addr", "add", f"{addr4}/24", "dev", "eth0")
        run("ip", "-n", ns, "-6", "addr", "add", f"{addr6}/64", "dev", "eth0", "nodad")
        run("ip", "-n", ns, "link", "set", "eth0", "up")
        # veth hands out partial checksums; after XDP rewrites them the receiver would
        # drop the packets (see the testbed notes), so checksum in software.
        run("ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tx", "off", quiet=True)
        host = Host(self, role, ns, addr4, addr6, port)
        self.hosts[role] = host
        return host

    def wait_reachable(self, timeout: float = 10.0) -> None:
        """Wait until every host answers a ping from the lb (neighbours learnt, v6 up)."""
        deadline = time.monotonic() + timeout
        lb = self.lb()
        for h in list(self.backends()) + list(self.clients()):
            for addr in (h.addr4, h.addr6):
                while run("ip", "netns", "exec", lb.ns, "ping", "-c1", "-W1", addr, check=False).returncode != 0:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{h.role} ({addr}) not reachable from lb")
                    time.sleep(0.2)

    # -- accessors -------------------------------------------------------------
    def lb(self) -> Host:
        return self.hosts["lb"]

    def backends(self) -> list[Host]:
        return [self.hosts[f"be{i}"] for i in range(1, self.n_backends + 1)]

    def clients(self) -> list[Host]:
        return [self.hosts[f"cl{i}"] for i in range(1, self.n_clients + 1)]

    def attach_xdp(self, ns: str, dev: str, obj: str, section: str = "xdp") -> None:
        run("ip", "-n", ns, "link", "set", "dev", dev, "xdpdrv", "obj", obj, "sec", section)

    def let_lb_transmit(self, pass_obj: str) -> None:
        """XDP_TX out of a veth only arrives if the peer runs XDP too: give the lb's
        bridge port an XDP_PASS program."""
        self.attach_xdp(self.sw, self.lb().port, pass_obj)
