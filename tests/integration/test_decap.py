#!/usr/bin/python3
"""julier-decap against the kernel in network namespaces (root only).

Topology: namespace `be` is a backend whose veth eth0 (198.18.0.20/24,
2001:db8::20/64) runs the decapsulator, with the VIPs 198.19.0.1 and 2001:db8:1::1
on lo and a UDP listener on each; namespace `peer` holds the other end of the veth
(198.18.0.2, 2001:db8::2) and sends hand-made tunnel frames into it from a raw
socket: from a balancer's (allowed) outer source and from a spoofed one.

Walk: attach (pins, XDP on eth0) -> allowed IPIP, IPv6-in-IPv6 and GUE delivered,
spoofed ones dropped and counted (status: `source`) -> attach with another
configuration updates in place (same program, no detach) -> a configuration with
an empty list is refused with its location and changes nothing -> detach removes
program and pins -> a julier_decap attached by hand (ip link ... obj, empty
configuration) decapsulates nothing, and attach replaces it in place.

julier-decap runs in the backend namespace via `nsenter --net`, so it keeps this
mount namespace and pins into a bpffs this test mounts in its own temporary
directory. Namespaces, mount and files are removed on exit, also on failure.
"""
from __future__ import annotations

import ctypes
import json
import os
import socket
import subprocess
import sys
import tempfile

from runner import run_test

BE4, BE6 = "198.18.0.20", "2001:db8::20"
LB4, LB6 = "198.18.0.2", "2001:db8::2"
SPOOF4, SPOOF6 = "198.18.0.99", "2001:db8::99"
CLIENT4, CLIENT6 = "198.18.0.10", "2001:db8::10"
VIP4, VIP6 = "198.19.0.1", "2001:db8:1::1"
PORT = 9999
GUE_PORT = 6080
CLONE_NEWNET = 0x40000000


class Failure(Exception):
    pass


def check(condition, message: str) -> None:
    if not condition:
        raise Failure(message)


def step(text: str) -> None:
    print(f"-- {text}", flush=True)


def run(*args: str, check_rc: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(list(args), capture_output=True, text=True)
    if check_rc and res.returncode != 0:
        raise Failure(f"{' '.join(args)} failed ({res.returncode}): {res.stdout}{res.stderr}")
    return res


# -- frames ---------------------------------------------------------------------------
def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src: str, dst: str, proto: int, payload: bytes) -> bytes:
    h = bytearray(20)
    h[0], h[8], h[9] = 0x45, 64, proto
    h[2:4] = (20 + len(payload)).to_bytes(2, "big")
    h[6] = 0x40  # DF
    h[12:16], h[16:20] = socket.inet_pton(socket.AF_INET, src), socket.inet_pton(socket.AF_INET, dst)
    h[10:12] = csum(bytes(h)).to_bytes(2, "big")
    return bytes(h) + payload


def ip6(src: str, dst: str, proto: int, payload: bytes) -> bytes:
    h = bytearray(40)
    h[0] = 0x60
    h[4:6] = len(payload).to_bytes(2, "big")
    h[6], h[7] = proto, 64
    h[8:24], h[24:40] = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    return bytes(h) + payload


def udp(src: str, dst: str, sport: int, dport: int, data: bytes) -> bytes:
    """A UDP header and data with the checksum over the pseudo-header of src/dst."""
    length = 8 + len(data)
    u = bytearray(sport.to_bytes(2, "big") + dport.to_bytes(2, "big") + length.to_bytes(2, "big") + b"\0\0")
    u += data
    if ":" in src:
        pseudo = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
                  length.to_bytes(4, "big") + b"\0\0\0\x11")
    else:
        pseudo = (socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst) +
                  b"\0\x11" + length.to_bytes(2, "big"))
    c = csum(pseudo + bytes(u)) or 0xFFFF
    u[6:8] = c.to_bytes(2, "big")
    return bytes(u)


def client_packet(family: int, text: str) -> bytes:
    """What a client sends to the VIP: a UDP datagram whose data is `text`."""
    data = text.encode()
    if family == 4:
        return ip4(CLIENT4, VIP4, 17, udp(CLIENT4, VIP4, 40000, PORT, data))
    return ip6(CLIENT6, VIP6, 17, udp(CLIENT6, VIP6, 40000, PORT, data))


def tunnel(kind: str, outer_src: str, text: str) -> bytes:
    """The client's packet as a balancer encapsulates it to the backend (no Ethernet)."""
    if kind == "ipip":
        return ip4(outer_src, BE4, 4, client_packet(4, text))
    if kind == "ip6ip6":
        return ip6(outer_src, BE6, 41, client_packet(6, text))
    if kind == "gue6":  # GUE variant 0 over IPv6, IPv4 inside
        inner = client_packet(4, text)
        return ip6(outer_src, BE6, 17, udp(outer_src, BE6, 49152 + 7, GUE_PORT, b"\0\x04\0\0" + inner))
    raise ValueError(kind)


# -- the world ------------------------------------------------------------------------
def setns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {path}")
    finally:
        os.close(fd)


class World:
    """Namespaces, bpffs and sockets; all undone by close()."""

    def __init__(self, build: str):
        self.build = build
        self.tag = f"jldc{os.getpid()}"
        self.be = f"{self.tag}-be"
        self.peer = f"{self.tag}-peer"
        self.work = tempfile.mkdtemp(prefix="julier-decap-it-")
        self.bpffs = os.path.join(self.work, "bpf")
        self.pin_dir = os.path.join(self.bpffs, "decap")
        self.config = os.path.join(self.work, "decap.yaml")
        self.namespaces: list[str] = []
        self.mounted = False
        self.sockets: list[socket.socket] = []
        self.listen4: socket.socket | None = None
        self.listen6: socket.socket | None = None
        self.raw: socket.socket | None = None
        self.be_mac = b""

    def setup(self) -> None:
        for ns in (self.be, self.peer):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            run("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        run("ip", "-n", self.be, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", self.peer)
        for ns, a4, a6 in ((self.be, BE4, BE6), (self.peer, LB4, LB6)):
            run("ip", "-n", ns, "addr", "add", f"{a4}/24", "dev", "eth0")
            run("ip", "-n", ns, "-6", "addr", "add", f"{a6}/64", "dev", "eth0", "nodad")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            # Checksums in software: a veth hands out partial ones (see the testbed notes).
            run("ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tx", "off")
        run("ip", "-n", self.be, "addr", "add", f"{VIP4}/32", "dev", "lo")
        run("ip", "-n", self.be, "-6", "addr", "add", f"{VIP6}/128", "dev", "lo")
        for key in ("net.ipv4.conf.all.rp_filter", "net.ipv4.conf.eth0.rp_filter"):
            run("ip", "netns", "exec", self.be, "sysctl", "-qw", f"{key}=0")
        link = json.loads(run("ip", "-n", self.be, "-j", "link", "show", "eth0").stdout)[0]
        self.be_mac = bytes.fromhex(link["address"].replace(":", ""))
        os.makedirs(self.bpffs)
        run("mount", "-t", "bpf", "bpf", self.bpffs)
        self.mounted = True

        # Sockets keep the namespace they were made in: make each there, come back.
        home = os.open("/proc/self/ns/net", os.O_RDONLY)
        try:
            setns(f"/run/netns/{self.be}")
            self.listen4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.listen4.bind((VIP4, PORT))
            self.listen6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            self.listen6.bind((VIP6, PORT))
            setns(f"/run/netns/{self.peer}")
            self.raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
            self.raw.bind(("eth0", 0))
        finally:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.setns(home, CLONE_NEWNET)
            os.close(home)
        self.sockets = [self.listen4, self.listen6, self.raw]

    def close(self) -> None:
        for s in self.sockets:
            s.close()
        for ns in self.namespaces:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        if self.mounted:
            subprocess.run(["umount", self.bpffs], capture_output=True)
        subprocess.run(["rm", "-rf", "--one-file-system", self.work], capture_output=True)

    # -- julier-decap ------------------------------------------------------------
    def decap(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess:
        binary = os.path.join(self.build, "control", "decap", "julier-decap")
        res = subprocess.run(["nsenter", f"--net=/run/netns/{self.be}", binary, *args], capture_output=True, text=True)
        if expect is not None and res.returncode != expect:
            raise Failure(f"julier-decap {' '.join(args)} exited {res.returncode}, not {expect}:\n"
                          f"{res.stdout}{res.stderr}")
        return res

    def write_config(self, sources: list[str], locals_: list[str] | None = None, interface: str = "eth0") -> None:
        locals_ = locals_ if locals_ is not None else [BE4, BE6]
        with open(self.config, "w") as f:
            f.write(f"interface: {interface}\nxdp_mode: native\npin_dir: {self.pin_dir}\ngue_port: {GUE_PORT}\n"
                    f"allowed_sources: [{', '.join(sources)}]\nlocal_addresses: [{', '.join(locals_)}]\n")

    def status(self) -> dict:
        res = self.decap("status", "-c", self.config, "--json", expect=None)
        return json.loads(res.stdout)

    def counter(self, label: str) -> int:
        return self.status()["counters"][label]["packets"]

    def xdp_prog_id(self) -> int:
        link = json.loads(run("ip", "-n", self.be, "-j", "link", "show", "eth0").stdout)[0]
        return link.get("xdp", {}).get("prog", {}).get("id", 0)

    # -- traffic -------------------------------------------------------------------
    def send(self, kind: str, outer_src: str, text: str) -> None:
        packet = tunnel(kind, outer_src, text)
        ethertype = b"\x86\xdd" if packet[0] >> 4 == 6 else b"\x08\x00"
        self.raw.send(self.be_mac + b"\x02\0\0\0\0\x02" + ethertype + packet)

    def received(self, family: int, timeout: float = 1.0) -> list[str]:
        """Datagrams the VIP listener got within `timeout` s of quiet."""
        s = self.listen4 if family == 4 else self.listen6
        s.settimeout(timeout)
        got = []
        try:
            while True:
                got.append(s.recv(2048).decode())
                s.settimeout(0.2)
        except socket.timeout:
            return got


def test(w: World) -> None:
    step("attach: refused while a list is empty, with the place and the rule")
    w.write_config([])
    res = w.decap("attach", "-c", w.config, expect=2)
    check(f"{w.config}:5:18: error: allowed_sources: is empty" in res.stderr, f"no located refusal:\n{res.stderr}")
    check(w.xdp_prog_id() == 0 and not os.path.exists(w.pin_dir), "a refused attach changed something")

    step("attach: a first attach that fails leaves no pins")
    w.write_config(["198.18.0.0/28"], interface="nosuch0")
    res = w.decap("attach", "-c", w.config, expect=1)
    check("no network interface named nosuch0" in res.stderr, f"attach to a missing interface:\n{res.stderr}")
    check(not os.path.exists(w.pin_dir), f"pins left: {os.listdir(w.pin_dir) if os.path.exists(w.pin_dir) else ''}")

    step("attach: pinned and running on eth0")
    w.write_config(["198.18.0.0/28", "2001:db8::/124"])
    w.decap("attach", "-c", w.config)
    st = w.status()
    check(st["pinned"] and st["configured"], f"status after attach: {st}")
    check(st["interfaces"] == [{"name": "eth0", "mode": "native"}], f"interfaces: {st['interfaces']}")
    check(st["allowed_sources"] == ["198.18.0.0/28", "2001:db8::/124"], f"sources: {st['allowed_sources']}")
    check(st["local_addresses"] == [BE4, BE6], f"local addresses: {st['local_addresses']}")
    prog = st["prog_id"]
    check(w.xdp_prog_id() == prog, f"eth0 runs program {w.xdp_prog_id()}, status says {prog}")
    for name in ("jl_decap_sources", "jl_decap_addrs", "jl_decap_cfg", "jl_decap_counters", "prog"):
        check(os.path.exists(os.path.join(w.pin_dir, name)), f"no pin {name}")

    step("traffic: tunnels from the balancer's sources are delivered")
    w.send("ipip", LB4, "ipip from lb")
    w.send("ipip", "198.18.0.13", "ipip from lb entropy")  # low bits varied, inside the /28
    check(sorted(w.received(4)) == ["ipip from lb", "ipip from lb entropy"], "allowed IPIP not delivered")
    w.send("ip6ip6", "2001:db8::5", "ip6ip6 from lb")
    check(w.received(6) == ["ip6ip6 from lb"], "allowed IPv6-in-IPv6 not delivered")
    w.send("gue6", LB6, "gue from lb")
    check(w.received(4) == ["gue from lb"], "allowed GUE not delivered")
    st = w.status()
    check(st["counters"]["ipip"]["packets"] == 2 and st["counters"]["ip6ip6"]["packets"] == 1 and
          st["counters"]["gue"]["packets"] == 1, f"decapsulation counters: {st['counters']}")

    step("traffic: spoofed outer sources are dropped and counted")
    w.send("ipip", SPOOF4, "spoofed ipip")
    w.send("ip6ip6", SPOOF6, "spoofed ip6ip6")
    w.send("gue6", SPOOF6, "spoofed gue")
    check(w.received(4) == [] and w.received(6, 0.3) == [], "a spoofed tunnel packet was delivered")
    st = w.status()
    check(st["counters"]["source"]["packets"] == 3, f"source drops: {st['counters']['source']}")
    check(st["counters"]["source"]["bytes"] > 3 * 60, f"source drop bytes: {st['counters']['source']}")

    step("attach again with other sources: updated in place, same program")
    w.write_config(["198.18.0.96/28", "2001:db8::/124"])
    res = w.decap("attach", "-c", w.config)
    check("updated in place" in res.stdout and "+1 -1" in res.stdout, f"attach output: {res.stdout}")
    st = w.status()
    check(st["prog_id"] == prog and w.xdp_prog_id() == prog, "the program changed on an update")
    check(st["allowed_sources"] == ["198.18.0.96/28", "2001:db8::/124"], f"sources: {st['allowed_sources']}")
    check(st["counters"]["source"]["packets"] == 3, "counters were reset by an update")
    w.send("ipip", SPOOF4, "now allowed")
    w.send("ipip", LB4, "no longer allowed")
    check(w.received(4) == ["now allowed"], "the update did not take effect")
    check(w.counter("source") == 4, "the source now refused was not counted")

    step("a broken configuration changes nothing")
    w.write_config(["198.18.0.96/28"], [])
    res = w.decap("attach", "-c", w.config, expect=2)
    check(f"{w.config}:6:18: error: local_addresses: is empty" in res.stderr, f"no located refusal:\n{res.stderr}")
    w.write_config(["198.18.0.96/28", "2001:db8::/124"])
    check(w.status()["allowed_sources"] == ["198.18.0.96/28", "2001:db8::/124"], "a refused attach wrote maps")

    step("detach: program and pins gone")
    res = w.decap("detach", "-c", w.config)
    check("detached from eth0" in res.stdout, f"detach output: {res.stdout}")
    check(w.xdp_prog_id() == 0, "eth0 still runs XDP after detach")
    check(not os.path.exists(w.pin_dir), f"pins left: {os.listdir(w.pin_dir) if os.path.exists(w.pin_dir) else ''}")
    check(w.decap("status", "-c", w.config, expect=3).stdout.startswith("no decapsulator is pinned"), "status")
    w.decap("detach", "-c", w.config)  # nothing left: still fine

    step("a julier_decap attached by hand decapsulates nothing; attach takes it over in place")
    obj = os.path.join(w.build, "xdp", "julier_decap.bpf.o")
    run("ip", "-n", w.be, "link", "set", "dev", "eth0", "xdpdrv", "obj", obj, "sec", "xdp")
    by_hand = w.xdp_prog_id()
    w.send("ipip", LB4, "unconfigured")
    check(w.received(4, 0.5) == [], "an unconfigured decapsulator delivered a tunnel packet")
    res = w.decap("attach", "-c", w.config)
    check(w.xdp_prog_id() not in (0, by_hand), "the hand-attached program is still there")
    w.send("ipip", SPOOF4, "after takeover")
    check(w.received(4) == ["after takeover"], "not decapsulated after taking over")
    w.decap("detach", "-c", w.config)
    check(w.xdp_prog_id() == 0 and not os.path.exists(w.pin_dir), "detach after takeover left something")


def main() -> int:
    return run_test(__doc__, ("control/decap/julier-decap", "xdp/julier_decap.bpf.o"), World, test, Failure)

if __name__ == "__main__":
    sys.exit(main())
