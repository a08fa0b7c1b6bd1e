"""Katran's XDP forwarder beside julier's in bench_e2e.py.

Katran (github.com/facebookincubator/katran, GPL-2.0) is not part of julier: its
sources come from KATRAN_SRC, by default `../shared/peers/katran` next to the
repository. This module compiles its `balancer.bpf.c` in the benchmark's run, loads
it with bpftool, pins its maps under a directory of the run's own and configures it
the way Katran's own loader does (one LRU_HASH per possible CPU in `lru_mapping`, a
VIP in `vip_map`, reals, the VIP's consistent-hashing ring and the next hop MAC),
with bpftool alone. Nothing of Katran is copied here: the constants and sizes are
read from its header and from the maps it creates.
"""
from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import socket
import struct
import subprocess

from topo import Fail, run

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def katran_source() -> str | None:
    """The directory holding `katran/lib/bpf/balancer.bpf.c`: $KATRAN_SRC, or
    ../shared/peers/katran relative to the repository root; None when neither has it
    (then the Katran figures are skipped)."""
    src = os.environ.get("KATRAN_SRC") or os.path.join(TOP, "..", "shared", "peers", "katran")
    src = os.path.abspath(src)
    return src if os.path.isfile(os.path.join(src, "katran", "lib", "bpf", "balancer.bpf.c")) else None


def read_consts(src: str) -> dict[str, int]:
    """The integer #defines of balancer_consts.h (plain numbers and `(1 << n)`)."""
    out: dict[str, int] = {}
    with open(os.path.join(src, "katran", "lib", "bpf", "balancer_consts.h")) as f:
        for line in f:
            m = re.match(r"#define\s+(\w+)\s+\(?\s*(\d+)U?\s*(?:<<\s*(\d+))?\s*\)?\s*(?://.*)?$", line.strip())
            if m:
                out.setdefault(m.group(1), int(m.group(2)) << int(m.group(3) or 0))
    for name in ("MAX_VIPS", "RING_SIZE", "MAX_CONN_RATE", "XDP_TX_CNTR", "XDP_TOTAL_CNTR", "XDP_DROP_CNTR",
                 "XDP_PASS_CNTR", "LRU_CNTRS", "NEW_CONN_RATE_CNTR", "FALLBACK_LRU_CNTR"):
        if name not in out:
            raise Fail(f"Katran's balancer_consts.h has no {name}")
    return out


def possible_cpus() -> int:
    with open("/sys/devices/system/cpu/possible") as f:
        last = f.read().strip().split(",")[-1]
    return int(last.split("-")[-1]) + 1


def hexbytes(data: bytes) -> list[str]:
    return ["hex", *(f"{b:02x}" for b in data)]


# The ring is shared by both objects, so only the first writes it.
SHARED_MAPS = ("vip_map", "reals", "ch_rings", "ctl_array")


class Katran:
    """One loaded Katran object: compiled with `defines`, pinned under `pin_dir`,
    attached to `dev` of namespace `ns`. With `share`, it uses that instance's VIP,
    reals, ring and control maps instead of its own (its LRUs and counters are its
    own)."""

    def __init__(self, src: str, workdir: str, pin_dir: str, ns: str, dev: str, name: str,
                 defines: dict[str, str], share: "Katran | None" = None):
        self.src, self.workdir, self.pin_dir = src, workdir, pin_dir
        self.ns, self.dev, self.name, self.defines, self.share = ns, dev, name, defines, share
        self.obj = os.path.join(workdir, f"{name}.o")
        self.consts = read_consts(src)
        self.prog_id = 0

    def map_path(self, name: str) -> str:
        return os.path.join(self.pin_dir, "maps", name)

    def build(self) -> None:
        # The flags of Katran's own build for its default flavour (peers README), plus
        # the defines the benchmark needs.
        cmd = ["clang", "-I.", "-Ikatran/lib/linux_includes", "-I/usr/include/x86_64-linux-gnu",
               "-D__x86_64__", "-D__KERNEL__", *(f"-D{k}={v}" for k, v in self.defines.items()),
               "-O2", "-target", "bpf", "-g", "-w", "-c", "katran/lib/bpf/balancer.bpf.c", "-o", self.obj]
        res = subprocess.run(cmd, cwd=self.src, capture_output=True, text=True)
        if res.returncode != 0:
            raise Fail(f"cannot build Katran's balancer.bpf.c: {res.stderr.strip()[-2000:]}")

    def load(self) -> None:
        os.makedirs(os.path.join(self.pin_dir, "maps"), exist_ok=True)
        reuse = []
        if self.share is not None:
            for m in SHARED_MAPS:
                reuse += ["map", "name", m, "pinned", self.share.map_path(m)]
        run("bpftool", "prog", "load", self.obj, os.path.join(self.pin_dir, "prog"), "type", "xdp", *reuse,
            "pinmaps", os.path.join(self.pin_dir, "maps"))
        info = json.loads(run("bpftool", "prog", "show", "pinned", os.path.join(self.pin_dir, "prog"),
                              "--json").stdout)
        if info.get("name") != "balancer_ingress":
            raise Fail(f"Katran's object loaded {info.get('name')}, not balancer_ingress")
        self.prog_id = int(info["id"])

    def map_info(self, name: str) -> dict:
        return json.loads(run("bpftool", "map", "show", "pinned", self.map_path(name), "--json").stdout)

    def configure(self, vip: str, port: int, backends: list[str], next_hop_mac: str, lru_total: int) -> int:
        """Fill the maps as Katran's loader does; the per-CPU LRU size. The VIP is
        TCP, vip_num 0, no flags; reals 1..n; every ring slot of vip_num 0 names a
        real (round robin: which real a slot names does not change the cost)."""
        # One LRU per possible CPU, with the key and value sizes of fallback_cache
        # (the inner map prototype of lru_mapping has the same); Katran splits its
        # total LRU size over the forwarding CPUs.
        fallback = self.map_info("fallback_cache")
        cpus = possible_cpus()
        per_cpu = lru_total // cpus
        cmds = []
        for cpu in range(cpus):
            inner = os.path.join(self.pin_dir, f"lru{cpu}")
            run("bpftool", "map", "create", inner, "type", "lru_hash", "key", str(fallback["bytes_key"]),
                "value", str(fallback["bytes_value"]), "entries", str(per_cpu), "name", f"katran_lru{cpu}")
            cmds.append(["map", "update", "pinned", self.map_path("lru_mapping"),
                         "key", *hexbytes(struct.pack("<I", cpu)), "value", "pinned", inner])
        if self.share is None:
            vip_key = socket.inet_aton(vip) + bytes(12) + struct.pack("!H", port) + bytes([socket.IPPROTO_TCP, 0])
            if len(vip_key) != self.map_info("vip_map")["bytes_key"]:
                raise Fail(f"Katran's vip_definition is not {len(vip_key)} bytes")
            cmds.append(["map", "update", "pinned", self.map_path("vip_map"), "key", *hexbytes(vip_key),
                         "value", *hexbytes(struct.pack("<II", 0, 0))])
            real_size = self.map_info("reals")["bytes_value"]
            for i, b in enumerate(backends, start=1):
                value = (socket.inet_aton(b) + bytes(real_size))[:real_size]  # flags 0: IPv4
                cmds.append(["map", "update", "pinned", self.map_path("reals"),
                             "key", *hexbytes(struct.pack("<I", i)), "value", *hexbytes(value)])
            mac = bytes(int(x, 16) for x in next_hop_mac.split(":"))
            cmds.append(["map", "update", "pinned", self.map_path("ctl_array"),
                         "key", *hexbytes(struct.pack("<I", 0)), "value", *hexbytes(mac + bytes(2))])
            for slot in range(self.consts["RING_SIZE"]):
                cmds.append(["map", "update", "pinned", self.map_path("ch_rings"),
                             "key", *hexbytes(struct.pack("<I", slot)),
                             "value", *hexbytes(struct.pack("<I", 1 + slot % len(backends)))])
        batch = os.path.join(self.workdir, f"{self.name}.batch")
        with open(batch, "w") as f:
            f.writelines(" ".join(c) + "\n" for c in cmds)
        run("bpftool", "batch", "file", batch)
        # Read a few back: the LRU of every CPU, the ring's last slot.
        for cpu in range(cpus):
            got = run("bpftool", "map", "lookup", "pinned", self.map_path("lru_mapping"),
                      "key", *hexbytes(struct.pack("<I", cpu)), "--json").stdout
            if '"value"' not in got:
                raise Fail(f"{self.name}: lru_mapping has no LRU for CPU {cpu}")
        return per_cpu

    def attach(self, netns_path: str) -> None:
        # nsenter keeps the root mount namespace, where the pins are (`ip netns exec`
        # would see a /sys without bpffs).
        run("nsenter", f"--net={netns_path}", "ip", "link", "set", "dev", self.dev, "xdpdrv", "pinned",
            os.path.join(self.pin_dir, "prog"))

    def stats(self) -> dict[int, dict[str, object]]:
        """Katran's `stats` map: index -> v1 and v2 summed over CPUs, and per CPU."""
        dump = json.loads(run("bpftool", "map", "dump", "pinned", self.map_path("stats"), "--json").stdout)
        out: dict[int, dict[str, object]] = {}
        for entry in dump:
            entry = entry.get("formatted", entry)
            per_cpu = [(int(v["value"]["v1"]), int(v["value"]["v2"])) for v in entry["values"]]
            out[int(entry["key"])] = {"v1": sum(a for a, _ in per_cpu), "v2": sum(b for _, b in per_cpu),
                                      "cpus": per_cpu}
        return out

    def flood_limit(self) -> int:
        """New flows per second per CPU above which this object skips LRU writes."""
        if "MAX_CONN_RATE" in self.defines:
            return int(self.defines["MAX_CONN_RATE"].rstrip("ULul"), 0)
        return self.consts["MAX_CONN_RATE"]

    def flood_window(self) -> "FloodWindow":
        return FloodWindow(self.map_path("stats"), self.consts["MAX_VIPS"] + self.consts["NEW_CONN_RATE_CNTR"])

    def close(self) -> None:
        shutil.rmtree(self.pin_dir, ignore_errors=True)


_libc = ctypes.CDLL(None, use_errno=True)
_SYS_BPF = 321  # x86_64
_BPF_MAP_LOOKUP_ELEM, _BPF_MAP_UPDATE_ELEM, _BPF_OBJ_GET = 1, 2, 7


class FloodWindow:
    """Katran's new-connection rate state, read and written straight with the bpf(2)
    system call (no process per access, so it can be polled while traffic runs): per
    CPU, the count of new flows (v1) in the one-second window that started at v2
    (CLOCK_MONOTONIC ns, bpf_ktime_get_ns)."""

    def __init__(self, stats_pin: str, index: int):
        path = ctypes.create_string_buffer(stats_pin.encode())
        attr = struct.pack("=QII", ctypes.addressof(path), 0, 0) + bytes(112)
        buf = ctypes.create_string_buffer(attr, len(attr))
        self.fd = _libc.syscall(_SYS_BPF, _BPF_OBJ_GET, buf, len(attr))
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), f"BPF_OBJ_GET {stats_pin}")
        self.cpus = possible_cpus()
        self.key = ctypes.c_uint32(index)
        self.value = ctypes.create_string_buffer(16 * self.cpus)  # struct lb_stats per CPU
        attr = struct.pack("=IIQQQ", self.fd, 0, ctypes.addressof(self.key), ctypes.addressof(self.value), 0)
        self.attr = ctypes.create_string_buffer(attr + bytes(128 - len(attr)), 128)

    def read(self) -> list[tuple[int, int]]:
        if _libc.syscall(_SYS_BPF, _BPF_MAP_LOOKUP_ELEM, self.attr, 128) != 0:
            raise OSError(ctypes.get_errno(), "BPF_MAP_LOOKUP_ELEM")
        raw = self.value.raw
        return [struct.unpack_from("=QQ", raw, 16 * c) for c in range(self.cpus)]

    def write(self, values: list[tuple[int, int]]) -> None:
        ctypes.memmove(self.value, b"".join(struct.pack("=QQ", *v) for v in values), 16 * self.cpus)
        if _libc.syscall(_SYS_BPF, _BPF_MAP_UPDATE_ELEM, self.attr, 128) != 0:
            raise OSError(ctypes.get_errno(), "BPF_MAP_UPDATE_ELEM")

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
