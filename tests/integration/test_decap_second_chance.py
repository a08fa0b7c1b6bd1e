#!/usr/bin/python3
"""Second chance between two backends running julier-decap (root only).

Topology: a bridge in namespace `sw` joins namespace `lb` (198.18.0.2 and
2001:db8::2, the balancer's outer sources, plus the client addresses 198.18.0.10
and 2001:db8::10) with backends `a` (198.18.0.20, 2001:db8::20) and `b`
(198.18.0.21, 2001:db8::21). Both backends hold the VIPs 198.19.0.1 and
2001:db8:1::1 on lo, run julier-decap on eth0 with each other as
second_chance.peers, and have forwarding on. The bridge ports run an
unconfigured julier_decap (an XDP program that passes everything), because a frame
sent back out of a veth with XDP_TX only arrives where the peer runs XDP.

Walk, per family: the client opens a real TCP connection to the VIP through `b`
(routed there, no tunnel); then `lb` sends the next data segment of that connection
as GUE to `a`, naming `b` as second candidate. `a` has no socket for it and sends
it on (`second_chance_tx`); `b` decapsulates it (`second_chance_kept`) and its
server socket reads the data. A segment of a connection nobody has goes to `b` as
well and is decapsulated there (`second_chance_hop_limit`); a SYN naming `b` stays
on `a` (`gue`). Last, with IPv6 forwarding off on `a`, attach warns about it and an
IPv6 candidate is not reached (`second_chance_fib_failed`).
"""
from __future__ import annotations

import ctypes
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

from runner import run_test
from test_decap import Failure, check, csum, ip4, ip6, run, setns, step, udp

LB4, LB6 = "198.18.0.2", "2001:db8::2"
CLIENT4, CLIENT6 = "198.18.0.10", "2001:db8::10"
A4, A6 = "198.18.0.20", "2001:db8::20"
B4, B6 = "198.18.0.21", "2001:db8::21"
VIP4, VIP6 = "198.19.0.1", "2001:db8:1::1"
PORT = 8080
GUE_PORT = 6080
CLONE_NEWNET = 0x40000000
JL_GUE_SC_TYPE = 0x4A43
TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ = 19, 20, 21
TCP_RECV_QUEUE, TCP_SEND_QUEUE = 1, 2
ACK, PSH, SYN = 0x10, 0x08, 0x02


def tcp(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int, data: bytes) -> bytes:
    t = bytearray(struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)) + data
    if ":" in src:
        pseudo = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
                  len(t).to_bytes(4, "big") + b"\0\0\0\x06")
    else:
        pseudo = (socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst) + b"\0\x06" +
                  len(t).to_bytes(2, "big"))
    t[16:18] = csum(pseudo + bytes(t)).to_bytes(2, "big")
    return bytes(t)


def second_chance_gue(family: int, candidate: str, hops: int, inner: bytes) -> bytes:
    """GUE variant 0 with hlen 5 and julier's field (abi.h, struct jl_gue_sc)."""
    proto = 4 if inner[0] >> 4 == 4 else 41
    addr = socket.inet_pton(socket.AF_INET if family == 4 else socket.AF_INET6, candidate).ljust(16, b"\0")
    return bytes([5, proto, 0, 0]) + struct.pack("!HBB", JL_GUE_SC_TYPE, family, hops) + addr + inner


class World:
    """Namespaces, bpffs and sockets; all undone by close()."""

    def __init__(self, build: str):
        self.build = build
        self.tag = f"jlsc{os.getpid()}"
        self.ns = {name: f"{self.tag}-{name}" for name in ("sw", "lb", "a", "b")}
        self.work = tempfile.mkdtemp(prefix="julier-decap-sc-")
        self.bpffs = os.path.join(self.work, "bpf")
        self.namespaces: list[str] = []
        self.mounted = False
        self.sockets: list[socket.socket] = []
        self.macs: dict[str, bytes] = {}
        self.raw: socket.socket | None = None

    def setup(self) -> None:
        for ns in self.ns.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            run("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        sw = self.ns["sw"]
        run("ip", "-n", sw, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", sw, "link", "set", "br0", "up")
        obj = os.path.join(self.build, "xdp", "julier_decap.bpf.o")
        addrs = {"lb": [LB4, LB6, CLIENT4, CLIENT6], "a": [A4, A6], "b": [B4, B6]}
        for host, host_addrs in addrs.items():
            ns = self.ns[host]
            run("ip", "-n", sw, "link", "add", f"p{host}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            run("ip", "-n", sw, "link", "set", f"p{host}", "master", "br0", "up")
            run("ip", "-n", sw, "link", "set", "dev", f"p{host}", "xdpdrv", "obj", obj, "sec", "xdp")
            for a in host_addrs:
                run("ip", "-n", ns, *(["-6"] if ":" in a else []), "addr", "add", f"{a}/{64 if ':' in a else 24}",
                    "dev", "eth0", *(["nodad"] if ":" in a else []))
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            # Checksums in software: a veth hands out partial ones (see the testbed notes).
            run("ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tx", "off")
            link = json.loads(run("ip", "-n", ns, "-j", "link", "show", "eth0").stdout)[0]
            self.macs[host] = bytes.fromhex(link["address"].replace(":", ""))
        for host in ("a", "b"):
            ns = self.ns[host]
            run("ip", "-n", ns, "addr", "add", f"{VIP4}/32", "dev", "lo")
            run("ip", "-n", ns, "-6", "addr", "add", f"{VIP6}/128", "dev", "lo")
            for key in ("net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0",
                        "net.ipv4.conf.eth0.forwarding=1", "net.ipv6.conf.eth0.forwarding=1"):
                run("ip", "netns", "exec", ns, "sysctl", "-qw", key)
        # The client reaches the VIPs through b without a tunnel: that is where its
        # connections live.
        run("ip", "-n", self.ns["lb"], "route", "add", f"{VIP4}/32", "via", B4, "src", CLIENT4)
        run("ip", "-n", self.ns["lb"], "-6", "route", "add", f"{VIP6}/128", "via", B6, "src", CLIENT6)
        # XDP resolves no neighbour: a learns b's address first.
        run("ip", "netns", "exec", self.ns["a"], "ping", "-c1", "-W2", B4)
        run("ip", "netns", "exec", self.ns["a"], "ping", "-6", "-c1", "-W2", B6)
        os.makedirs(self.bpffs)
        run("mount", "-t", "bpf", "bpf", self.bpffs)
        self.mounted = True
        for host in ("a", "b"):
            warnings = self.attach(host)
            check(warnings == "", f"attach on {host} warned:\n{warnings}")
        self.raw = self.in_ns("lb", lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW))
        self.raw.bind(("eth0", 0))

    def in_ns(self, host: str, make):
        """make() run in the host's namespace (sockets keep the one they were made in)."""
        home = os.open("/proc/self/ns/net", os.O_RDONLY)
        try:
            setns(f"/run/netns/{self.ns[host]}")
            made = make()
        finally:
            ctypes.CDLL(None, use_errno=True).setns(home, CLONE_NEWNET)
            os.close(home)
        if isinstance(made, socket.socket):
            self.sockets.append(made)
        elif isinstance(made, tuple):
            self.sockets.extend(s for s in made if isinstance(s, socket.socket))
        return made

    def close(self) -> None:
        for s in self.sockets:
            s.close()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        if self.mounted:
            subprocess.run(["umount", self.bpffs], capture_output=True)
        subprocess.run(["rm", "-rf", "--one-file-system", self.work], capture_output=True)

    # -- julier-decap ------------------------------------------------------------
    def decap(self, host: str, *args: str) -> subprocess.CompletedProcess:
        binary = os.path.join(self.build, "control", "decap", "julier-decap")
        res = subprocess.run(["nsenter", f"--net=/run/netns/{self.ns[host]}", binary, *args], capture_output=True,
                             text=True)
        if res.returncode != 0:
            raise Failure(f"julier-decap {' '.join(args)} on {host} exited {res.returncode}:\n{res.stdout}{res.stderr}")
        return res

    def config(self, host: str) -> str:
        return os.path.join(self.work, f"{host}.yaml")

    def attach(self, host: str) -> str:
        """Attaches (or updates) julier-decap on the host; its warnings."""
        local = [A4, A6] if host == "a" else [B4, B6]
        with open(self.config(host), "w") as f:
            f.write(f"interface: eth0\nxdp_mode: native\npin_dir: {self.bpffs}/{host}\ngue_port: {GUE_PORT}\n"
                    f"allowed_sources: [{LB4}, {LB6}]\nlocal_addresses: [{', '.join(local)}]\n"
                    "second_chance:\n  peers: [198.18.0.16/28, 2001:db8::/120]\n")
        return self.decap(host, "attach", "-c", self.config(host)).stderr

    def counters(self, host: str) -> dict[str, int]:
        st = json.loads(self.decap(host, "status", "-c", self.config(host), "--json").stdout)
        return {label: c["packets"] for label, c in st["counters"].items()}

    def moved(self, host: str, before: dict[str, int], settle: dict[str, int]) -> dict[str, int]:
        """The counters that moved since `before`, once `settle` has (or after 3 s);
        without not_tunnel, which ARP and neighbour discovery move at any time."""

        def delta() -> dict[str, int]:
            now = self.counters(host)
            return {k: v - before.get(k, 0) for k, v in now.items() if v != before.get(k, 0) and k != "not_tunnel"}

        deadline = time.monotonic() + 3
        while True:
            d = delta()
            if all(d.get(k, 0) >= n for k, n in settle.items()) or time.monotonic() > deadline:
                time.sleep(0.2)  # anything else that would move
                return delta()
            time.sleep(0.05)

    # -- traffic -------------------------------------------------------------------
    def send_to_a(self, family: int, gue: bytes) -> None:
        if family == 4:
            packet = ip4(LB4, A4, 17, udp(LB4, A4, 49152 + 5, GUE_PORT, gue))
            ethertype = b"\x08\x00"
        else:
            packet = ip6(LB6, A6, 17, udp(LB6, A6, 49152 + 5, GUE_PORT, gue))
            ethertype = b"\x86\xdd"
        self.raw.send(self.macs["a"] + self.macs["lb"] + ethertype + packet)


def connection(w: World, family: int, client_port: int):
    """A TCP connection client -> VIP:PORT that lives on b; returns (server socket,
    the client's next sequence number, the next it expects)."""
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    vip, client = (VIP4, CLIENT4) if family == 4 else (VIP6, CLIENT6)

    def listen():
        s = socket.socket(af, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((vip, PORT))
        s.listen(4)
        return s

    listener = w.in_ns("b", listen)

    def connect():
        c = socket.socket(af, socket.SOCK_STREAM)
        c.bind((client, client_port))
        c.settimeout(5)
        c.connect((vip, PORT))
        return c

    c = w.in_ns("lb", connect)
    listener.settimeout(5)
    server, _ = listener.accept()
    w.sockets.append(server)
    # The client's sequence numbers, read in repair mode, which also keeps the
    # client's kernel quiet about the segment it did not send itself.
    c.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    c.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)
    snd = struct.unpack("I", c.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ, 4))[0]
    c.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)
    rcv = struct.unpack("I", c.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ, 4))[0]
    return server, snd, rcv


def inner_tcp(family: int, client_port: int, seq: int, ack: int, flags: int, data: bytes) -> bytes:
    if family == 4:
        return ip4(CLIENT4, VIP4, 6, tcp(CLIENT4, VIP4, client_port, PORT, seq, ack, flags, data))
    return ip6(CLIENT6, VIP6, 6, tcp(CLIENT6, VIP6, client_port, PORT, seq, ack, flags, data))


def test(w: World) -> None:
    for family in (4, 6):
        cand = B4 if family == 4 else B6
        step(f"IPv{family}: a connection on b; its next segment sent to a, naming b")
        server, snd, rcv = connection(w, family, 40000 + family)
        before_a, before_b = w.counters("a"), w.counters("b")
        data = f"second chance over IPv{family}".encode()
        w.send_to_a(family,
                    second_chance_gue(family, cand, 1, inner_tcp(family, 40000 + family, snd, rcv, ACK | PSH, data)))
        server.settimeout(3)
        try:
            got = server.recv(2048)
        except socket.timeout:
            got = b""
        moved_a = w.moved("a", before_a, {"second_chance_tx": 1})
        moved_b = w.moved("b", before_b, {"second_chance_kept": 1})
        check(moved_a == {"second_chance_tx": 1}, f"a's counters moved: {moved_a}")
        check(moved_b == {"second_chance_kept": 1}, f"b's counters moved: {moved_b}")
        check(got == data, f"b's server socket read {got!r}")

        step(f"IPv{family}: a segment nobody has goes to b and is decapsulated there")
        before_a, before_b = w.counters("a"), w.counters("b")
        w.send_to_a(family, second_chance_gue(family, cand, 1, inner_tcp(family, 41000, 1, 1, ACK, b"nobody")))
        moved_a = w.moved("a", before_a, {"second_chance_tx": 1})
        moved_b = w.moved("b", before_b, {"second_chance_hop_limit": 1})
        check(moved_a == {"second_chance_tx": 1}, f"a's counters moved: {moved_a}")
        check(moved_b == {"second_chance_hop_limit": 1}, f"b's counters moved: {moved_b}")

        step(f"IPv{family}: a SYN naming b stays on a")
        before_a = w.counters("a")
        w.send_to_a(family, second_chance_gue(family, cand, 1, inner_tcp(family, 42000, 1, 0, SYN, b"")))
        moved_a = w.moved("a", before_a, {"gue": 1})
        check(moved_a == {"gue": 1}, f"a's counters moved: {moved_a}")

    step("forwarding off: attach warns, and a's lookups fail (fib_failed), the packet stays on a")
    run("ip", "netns", "exec", w.ns["a"], "sysctl", "-qw", "net.ipv6.conf.eth0.forwarding=0")
    warnings = w.attach("a")
    check("IPv6 forwarding is off on eth0" in warnings and "IPv4" not in warnings, f"attach warned:\n{warnings}")
    before_a = w.counters("a")
    w.send_to_a(6, second_chance_gue(6, B6, 1, inner_tcp(6, 43000, 1, 1, ACK, b"")))
    moved_a = w.moved("a", before_a, {"second_chance_fib_failed": 1})
    check(moved_a == {"second_chance_fib_failed": 1}, f"a's counters moved: {moved_a}")


def main() -> int:
    return run_test(__doc__, ("control/decap/julier-decap", "xdp/julier_decap.bpf.o"), World, test, Failure)

if __name__ == "__main__":
    sys.exit(main())
