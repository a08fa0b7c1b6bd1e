#!/usr/bin/python3
"""Per-packet cost of the forwarder on real traffic, as a ratio to a MAC-swapping
XDP_TX program measured in the same run.

trafgen (netsniff-ng) in a generator namespace sends through two veth pairs into a
second namespace: eth0 there runs the forwarder as julierd configured it, eth1 the
trivial MAC-swap program. The kernel's BPF run-time statistics
(kernel.bpf_stats_enabled=1; run_time_ns / run_cnt of `bpftool prog show`) give the
cost per packet of each program. Rounds interleave the paths, so drift on the shared
machine hits them alike; each figure is the median over rounds, each ratio the median
of the per-round ratios.

Paths: `_est` traffic cycles over 256 established flows (source ports 10000-10255, the
flows are made before timing); `_new` traffic has a random source address (low 16
bits) and source port in every packet, so the connection table misses each time.

Proof of the path, every round: the forwarder's TX_FORWARD counter and the service's
packet counter grew by exactly the program's run_cnt growth and no other counter
moved; `_est` rounds made no new flow, `_new` rounds made a new flow for >= 99.9 % of
the packets (the rest are repeats of a random 5-tuple). The trivial program's
run_cnt growth must equal its veth's xdp_tx count.

Katran beside julier (bench/e2e/katran.py): with Katran's sources (KATRAN_SRC, by
default ../shared/peers/katran next to the repository) its forwarder is compiled,
loaded and configured with bpftool as its own loader does it (an LRU per possible
CPU in lru_mapping, one VIP with julier's ipip backends and ring size, the next hop
MAC in ctl_array), on eth2 as it ships and on eth3 with its new-connection flood
limit compiled out (MAX_CONN_RATE). The same rounds time it on the ipip traffic:
`katran_ipip_est` (eth2), `katran_ipip_new` (eth3: every miss writes the LRU) and
`katran_ipip_new_over_limit` (eth2 held over its flood limit: misses skip the LRU
write, for >= 95 % of a round's packets). Each is proven by Katran's own counters:
XDP_TX and its total grew by exactly the run_cnt growth, no drop or pass, the VIP
counted every packet, no fallback LRU, no LRU miss in `_est` rounds and >= 99.9 %
misses in `_new` rounds. Without the sources the Katran figures are skipped, and
the output says so.

With --profile DIR, one more batch of each path runs under `perf record -a -g`
after the timed rounds (DIR/PATH.perf.data), and the benchmark prints, per path,
where the samples taken inside that path's program went (the trivial program is
too short to be sampled): the program's own
instructions and each kernel function it called (map lookups, hashing, the LRU),
as a share of those samples. The profiled batches are not part of the figures.

  bench_e2e.py --build BUILD_DIR [--quick] [--json FILE] [--profile DIR]

Needs root; everything lives in two namespaces and pin directories of this run's
own, removed on exit, failure and SIGTERM; the sysctl gets its old value back.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

from julier import Julierd
from katran import Katran, katran_source
from topo import Fail, Host, catalogue_header, fresh_namespace, run, write_figures

LB4, LB6 = "198.18.0.2", "2001:db8::2"
CLIENT4, CLIENT6 = "198.18.0.10", "2001:db8::10"
BACKENDS4 = [f"198.18.0.{21 + i}" for i in range(4)]
BACKENDS6 = [f"2001:db8::{21 + i}" for i in range(4)]
EST_PORTS = (10000, 10255)  # 256 established flows per path

# name -> (service, vip, port, protocol, forwarding, family, new flows)
PATHS = {
    "v4_tcp_l2_est": ("l2", "198.19.0.1", 80, "tcp", "l2", 4, False),
    "v4_tcp_ipip_est": ("ipip", "198.19.0.2", 80, "tcp", "ipip", 4, False),
    "v6_tcp_ip6ip6_est": ("ip6ip6", "2001:db8:1::3", 80, "tcp", "ip6ip6", 6, False),
    "v4_udp_gue_est": ("gue", "198.19.0.4", 53, "udp", "gue", 4, False),
    "v4_tcp_ipip_new": ("ipipnew", "198.19.0.5", 80, "tcp", "ipip", 4, True),
}
PROFILE_PACKETS = 1_000_000  # per path with --profile: about a thousand samples inside the program
STATS_SYSCTL = "/proc/sys/kernel/bpf_stats_enabled"
MAX_FLOWS = 1048576  # julier's connection table; Katran's LRUs hold as many in all

# Katran beside julier's ipip path: the same VIP, port, backends and ring size, on
# eth2 (built as it ships, with its new-connection flood limit) and eth3 (the limit
# compiled out). name -> (instance, new flows, the julier path it is compared with)
KATRAN_PATHS = {
    "katran_ipip_est": ("shipped", False, "v4_tcp_ipip_est"),
    "katran_ipip_new": ("nolimit", True, "v4_tcp_ipip_new"),
    "katran_ipip_new_over_limit": ("shipped", True, "v4_tcp_ipip_new"),
}
KATRAN_DEVS = {"shipped": "eth2", "nolimit": "eth3"}
KATRAN_VIP, KATRAN_PORT = "198.19.0.2", 80
KATRAN_NEXT_HOP = "02:00:00:00:02:01"
# Katran's outer IPv4 source is a fixed /16 prefix (172.16 by default) with the low
# bits of the client's address: 198.18 here, as a u16 in network byte order.
KATRAN_DEFINES = {"IPIP_V4_PREFIX": str(198 | 18 << 8)}
NO_FLOOD_LIMIT = {"MAX_CONN_RATE": "0xffffffffffffffffULL"}


def catalogue() -> str:
    services = []
    for service, vip, port, proto, mode, family, _ in PATHS.values():
        backends = BACKENDS4 if family == 4 else BACKENDS6
        services.append(
            f'  - {{name: {service}, vip: "{vip}", port: {port}, protocol: {proto}, forwarding: {mode},\n'
            f'     backends: [{", ".join(f"{{address: {chr(34)}{b}{chr(34)}}}" for b in backends)}]}}')
    limits = f"max_services: 16, max_backends: 256, ring_capacity: 524288, max_flows: {MAX_FLOWS}"
    return catalogue_header(limits) + f"""# `_new` times a connection-table write on every packet: flood protection would stop
# writing above its rate and the path would no longer be the one named.
flood_protection: {{new_flow_rate_per_cpu: 0}}
defaults:
  ring_size: 65537
  encap_source: {{ipv4: {LB4}, ipv6: "{LB6}"}}
  health: {{kind: none}}
services:
""" + "\n".join(services) + "\n"


def flows_made(service: dict[str, int]) -> int:
    """Connection table entries a service's traffic made: new flows, and TCP packets
    without SYN that found no entry (the TCP frames here are ACKs)."""
    return service.get("new_flows", 0) + service.get("nonsyn_miss", 0)


def trafgen_config(dst_mac: str, src_mac: str, path: str) -> str:
    _, vip, port, proto, _, family, new = PATHS[path]
    return trafgen_frame(dst_mac, src_mac, vip, port, proto, family, new)


def trafgen_frame(dst_mac: str, src_mac: str, vip: str, port: int, proto: str, family: int, new: bool) -> str:
    if family == 4:
        # A new flow every packet: random low 16 bits of 198.18.x.y and source port.
        ip = (f"ipv4(sa={CLIENT4}, sa[2:2]=drnd(), da={vip}, ttl=64, df)" if new
              else f"ipv4(sa={CLIENT4}, da={vip}, ttl=64, df)")
    else:
        ip = f"ipv6(sa={CLIENT6}, da={vip}, hoplimit=64)"
    sport = "drnd(1024, 65535)" if new else f"dinc({EST_PORTS[0]}, {EST_PORTS[1]})"
    if proto == "tcp":
        l4, pad = f"tcp(sp={sport}, dp={port}, seq=1, ackseq=1, ack, win=512)", 10
    else:
        l4, pad = f"udp(sp={sport}, dp={port})", 22
    # trafgen fills in the IPv4 ethertype, not the IPv6 one.
    etype = "" if family == 4 else ", type=0x86dd"
    return f"{{ eth(da={dst_mac}, sa={src_mac}{etype}), {ip}, {l4}, fill(0x61, {pad}) }}\n"


class Bench:
    def __init__(self, build: str, quick: bool, profile: str | None = None):
        self.build = build
        self.quick = quick
        self.profile = profile
        self.prefix = f"jlb{os.getpid() % 100000}"
        self.gen = f"{self.prefix}-gen"
        self.lb = f"{self.prefix}-lb"
        self.namespaces: list[str] = []
        self.workdir = tempfile.mkdtemp(prefix="julier-bench-e2e-")
        self.jd: Julierd | None = None
        self.old_stats: str | None = None
        self.katran_src = katran_source()
        self.katran: dict[str, Katran] = {}
        self.katran_pins = f"/sys/fs/bpf/julier-bench-e2e-katran-{os.getpid()}"
        self.katran_lru = 0

    # -- setup and cleanup -----------------------------------------------------
    def setup(self) -> None:
        for ns in (self.gen, self.lb):
            self.namespaces.append(ns)
            fresh_namespace(ns)
        devs = ["eth0", "eth1"] + (list(KATRAN_DEVS.values()) if self.katran_src else [])
        for dev in devs:
            run("ip", "-n", self.gen, "link", "add", dev, "type", "veth", "peer", "name", dev, "netns", self.lb)
            # The generator needs no stack: no IPv6 router or listener reports reach
            # the programs under test, so their run counts are the generator's packets.
            run("ip", "netns", "exec", self.gen, "sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1")
            run("ip", "-n", self.gen, "link", "set", dev, "up")
        run("ip", "-n", self.lb, "addr", "add", f"{LB4}/24", "dev", "eth0")
        run("ip", "-n", self.lb, "-6", "addr", "add", f"{LB6}/64", "dev", "eth0", "nodad")
        for dev in devs:
            run("ip", "-n", self.lb, "link", "set", dev, "up")
        # Backends need a next hop, not a host: permanent neighbour entries.
        for i, addr in enumerate(BACKENDS4 + BACKENDS6):
            run("ip", "-n", self.lb, "neigh", "replace", addr, "lladdr", f"02:00:00:00:01:{i:02x}",
                "dev", "eth0", "nud", "permanent")
        trivial = os.path.join(self.build, "xdp", "julier_bench_trivial_tx.bpf.o")
        run("ip", "-n", self.lb, "link", "set", "dev", "eth1", "xdpdrv", "obj", trivial, "sec", "xdp")

        host = Host(topo=None, role="lb", ns=self.lb, addr4=LB4, addr6=LB6, port="")  # type: ignore[arg-type]
        self.jd = Julierd(self.build, host, catalogue(), name="julier-bench-e2e")
        self.jd.start()
        services = {s["name"]: s for s in self.jd.ctl("services")}
        for service, *_ in PATHS.values():
            if service not in services:
                raise Fail(f"julierd does not run service {service}:\n{self.jd.log()[-2000:]}")
        for service, *_ in PATHS.values():
            weights = {b["address"]: (b["weight_now"], b["problem"]) for b in self.jd.ctl("backends", service)}
            if not weights or any(w <= 0 or problem for w, problem in weights.values()):
                raise Fail(f"service {service}: backends not all in the ring: {weights}")

        if self.katran_src:
            self.setup_katran()

        with open(STATS_SYSCTL) as f:
            self.old_stats = f.read().strip()
        with open(STATS_SYSCTL, "w") as f:
            f.write("1\n")

    def setup_katran(self) -> None:
        """Katran as it ships on eth2 and with its flood limit compiled out on eth3;
        the second uses the first one's VIP, reals, ring and next hop, and has LRUs
        and counters of its own."""
        netns = f"/var/run/netns/{self.lb}"
        for instance, defines in (("shipped", KATRAN_DEFINES), ("nolimit", {**KATRAN_DEFINES, **NO_FLOOD_LIMIT})):
            k = Katran(self.katran_src, self.workdir, os.path.join(self.katran_pins, instance), self.lb,
                       KATRAN_DEVS[instance], f"katran_{instance}", defines, share=self.katran.get("shipped"))
            self.katran[instance] = k
            k.build()
            k.load()
            self.katran_lru = k.configure(KATRAN_VIP, KATRAN_PORT, BACKENDS4, KATRAN_NEXT_HOP, MAX_FLOWS)
            k.attach(netns)
            if self.prog_id(k.dev) != k.prog_id:
                raise Fail(f"{k.dev} does not run Katran's program {k.prog_id}")

    def close(self) -> None:
        if self.old_stats is not None:
            try:
                with open(STATS_SYSCTL, "w") as f:
                    f.write(self.old_stats + "\n")
            except OSError as e:
                print(f"warning: cannot restore {STATS_SYSCTL}: {e}", file=sys.stderr)
            self.old_stats = None
        if self.jd is not None:
            self.jd.teardown()
            self.jd = None
        for ns in reversed(self.namespaces):
            run("ip", "netns", "del", ns, check=False, quiet=True)
        self.namespaces = []
        # The namespace took Katran's programs off their veths; the pins hold the rest.
        for k in self.katran.values():
            k.close()
        self.katran = {}
        subprocess.run(["rm", "-rf", self.katran_pins])
        subprocess.run(["rm", "-rf", self.workdir])

    # -- readings --------------------------------------------------------------
    def mac(self, ns: str, dev: str) -> str:
        return run("ip", "netns", "exec", ns, "cat", f"/sys/class/net/{dev}/address").stdout.strip()

    def prog_id(self, dev: str) -> int:
        info = json.loads(run("ip", "-n", self.lb, "-j", "-d", "link", "show", "dev", dev).stdout)[0]
        xdp = info.get("xdp", {})
        pid = xdp.get("prog", {}).get("id") or (xdp.get("attached") or [{}])[0].get("prog", {}).get("id")
        if not pid:
            raise Fail(f"no XDP program on {dev}: {xdp}")
        return int(pid)

    @staticmethod
    def prog_stats(prog_id: int) -> tuple[int, int]:
        info = json.loads(run("bpftool", "prog", "show", "id", str(prog_id), "--json").stdout)
        # bpftool leaves both out while they are 0.
        return int(info.get("run_time_ns", 0)), int(info.get("run_cnt", 0))

    def percpu(self, map_name: str) -> dict[int, dict[str, int]]:
        """A pinned per-CPU array summed over CPUs: index -> field -> value."""
        dump = json.loads(run("bpftool", "map", "dump", "pinned", os.path.join(self.jd.pin_dir, map_name),
                              "--json").stdout)
        out: dict[int, dict[str, int]] = {}
        for entry in dump:
            entry = entry.get("formatted", entry)
            key = int(entry["key"]) if not isinstance(entry["key"], list) else int.from_bytes(
                bytes(int(b, 16) for b in entry["key"]), "little")
            total: dict[str, int] = {}
            for per_cpu in entry["values"]:
                for field, value in per_cpu["value"].items():
                    total[field] = total.get(field, 0) + int(value)
            out[key] = total
        return out

    def counters(self) -> dict[str, object]:
        return {"reasons": self.percpu("jl_counters"), "services": self.percpu("jl_service_stats")}

    def xdp_tx(self, dev: str) -> int:
        """Frames the device's XDP program answered with XDP_TX. The generator side
        runs no XDP program, so the veth counts them as xdp_tx_errors and drops them
        (testbed trap 2), for the forwarder and the baseline alike."""
        out = run("ip", "netns", "exec", self.lb, "ethtool", "-S", dev).stdout
        return sum(int(line.split(":")[1]) for line in out.splitlines()
                   if line.strip().split(":")[0].endswith(("_xdp_tx", "_xdp_tx_errors")))

    # -- traffic ---------------------------------------------------------------
    def send(self, dev: str, config: str, packets: int, poll=None) -> None:
        """trafgen sends `packets` frames; `poll()`, when given, runs every 5 ms
        meanwhile and once after."""
        path = os.path.join(self.workdir, "traffic.cfg")
        with open(path, "w") as f:
            f.write(config)
        cmd = ["ip", "netns", "exec", self.gen, "trafgen", "--dev", dev, "--in", path, "--num", str(packets),
               "--cpus", "1", "--no-sock-mem", "--notouch-irq", "--no-cpu-stats"]
        if poll is None:
            run(*cmd)
        else:
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            while proc.poll() is None:
                poll()
                time.sleep(0.005)
            if proc.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.read().strip()}")
        time.sleep(0.05)  # the receiving veth's NAPI run finishes after trafgen returns
        if poll is not None:
            poll()

    # -- the benchmark ---------------------------------------------------------
    def measure(self) -> dict[str, float]:
        rounds = 3 if self.quick else 9
        packets = 40_000 if self.quick else 400_000
        lb_prog, trivial_prog = self.prog_id("eth0"), self.prog_id("eth1")
        devs = ["eth0", "eth1", *(k.dev for k in self.katran.values())]
        macs = {dev: (self.mac(self.lb, dev), self.mac(self.gen, dev)) for dev in devs}
        configs = {p: trafgen_config(*macs["eth0"], p) for p in PATHS}
        trivial_config = trafgen_config(*macs["eth1"], "v4_tcp_l2_est")
        katran_paths = KATRAN_PATHS if self.katran else {}
        for p, (instance, new, _) in katran_paths.items():
            configs[p] = trafgen_frame(*macs[self.katran[instance].dev], KATRAN_VIP, KATRAN_PORT, "tcp", 4, new)
        reasons = self.counter_ids()
        service_ids = self.service_ids()

        # Make the established flows: every source port once (and again, to be sure
        # the second pass finds them), then the timed rounds must make none.
        n_est = EST_PORTS[1] - EST_PORTS[0] + 1
        for p, (service, *_rest) in PATHS.items():
            if PATHS[p][6]:
                continue
            before = flows_made(self.counters()["services"].get(service_ids[service], {}))
            self.send("eth0", configs[p], 2 * n_est)
            after = flows_made(self.counters()["services"].get(service_ids[service], {}))
            if after - before != n_est:
                raise Fail(f"{p}: {2 * n_est} packets over {n_est} flows made {after - before} new flows, "
                           f"expected {n_est}")
        for p, (instance, new, _) in katran_paths.items():
            if new:
                continue
            k = self.katran[instance]
            before = k.stats()
            self.send(k.dev, configs[p], 2 * n_est)
            misses = self.katran_grew(k, before, k.stats(), "LRU_CNTRS", "v2")
            if misses != n_est:
                raise Fail(f"{p}: {2 * n_est} packets over {n_est} flows missed Katran's LRU {misses} times, "
                           f"expected {n_est}")

        ns = {p: [] for p in ["trivial_xdp_tx", *PATHS, *katran_paths]}
        ratios = {p: [] for p in [*PATHS, *katran_paths]}
        to_katran = {p: [] for p in katran_paths}
        skipped: list[float] = []
        over_limit = FloodForcer(self.katran["shipped"].flood_window(), self.katran["shipped"].flood_limit()) \
            if katran_paths else None
        for r in range(rounds):
            t0, c0 = self.prog_stats(trivial_prog)
            x0 = self.xdp_tx("eth1")
            self.send("eth1", trivial_config, packets)
            t1, c1 = self.prog_stats(trivial_prog)
            x1 = self.xdp_tx("eth1")
            runs = c1 - c0
            if runs < packets // 2:
                raise Fail(f"trivial_xdp_tx: {runs} runs for {packets} packets sent")
            if x1 - x0 != runs:
                raise Fail(f"trivial_xdp_tx: {runs} runs but {x1 - x0} XDP_TX verdicts on eth1")
            ns["trivial_xdp_tx"].append((t1 - t0) / runs)
            for p, (service, *_rest, new) in PATHS.items():
                sid = service_ids[service]
                before, (rt0, rc0) = self.counters(), self.prog_stats(lb_prog)
                self.send("eth0", configs[p], packets)
                after, (rt1, rc1) = self.counters(), self.prog_stats(lb_prog)
                runs = rc1 - rc0
                self.prove(p, runs, packets, new, before, after, sid, reasons)
                ns[p].append((rt1 - rt0) / runs)
            for p, (instance, new, _) in katran_paths.items():
                k = self.katran[instance]
                forced = p == "katran_ipip_new_over_limit"
                before, (rt0, rc0) = k.stats(), self.prog_stats(k.prog_id)
                if forced:
                    over_limit.start()
                self.send(k.dev, configs[p], packets, poll=over_limit.sample if forced else None)
                after, (rt1, rc1) = k.stats(), self.prog_stats(k.prog_id)
                runs = rc1 - rc0
                self.prove_katran(p, k, runs, packets, new, before, after)
                if forced:
                    skipped.append(over_limit.finish() / runs)
                    if skipped[-1] < 0.95:
                        raise Fail(f"{p}: the flood limit skipped the LRU write for {100 * skipped[-1]:.1f} % "
                                   f"of the packets, not >= 95 %")
                ns[p].append((rt1 - rt0) / runs)
            for p in ratios:
                ratios[p].append(ns[p][-1] / ns["trivial_xdp_tx"][-1])
            for p, (*_, julier_path) in katran_paths.items():
                to_katran[p].append(ns[julier_path][-1] / ns[p][-1])
            print(f"round {r + 1}/{rounds}: " +
                  ", ".join(f"{p} {v[-1]:.1f}" for p, v in ns.items()) + " ns/packet", flush=True)

        if self.profile:
            self.profile_paths(PROFILE_PACKETS, configs, katran_paths)
        out = {f"e2e.{p}.ns_per_pkt": statistics.median(v) for p, v in ns.items()}
        # Program sizes after verification (8 bytes per BPF instruction) and after JIT.
        progs = [("forwarder", lb_prog), ("trivial_xdp_tx", trivial_prog)]
        if self.katran:
            progs.append(("katran", self.katran["shipped"].prog_id))
        for name, prog in progs:
            info = json.loads(run("bpftool", "prog", "show", "id", str(prog), "--json").stdout)
            out[f"e2e.{name}.xlated_insns"] = int(info["bytes_xlated"]) // 8
            out[f"e2e.{name}.jited_bytes"] = int(info["bytes_jited"])
        for p, v in ratios.items():
            out[f"e2e.{p}.ratio_to_trivial"] = statistics.median(v)
        # julier's ns/packet over Katran's on the same kind of traffic, per round.
        names = {"katran_ipip_est": "e2e.v4_tcp_ipip_est.ratio_to_katran",
                 "katran_ipip_new": "e2e.v4_tcp_ipip_new.ratio_to_katran",
                 "katran_ipip_new_over_limit": "e2e.v4_tcp_ipip_new.ratio_to_katran_over_limit"}
        for p, v in to_katran.items():
            out[names[p]] = statistics.median(v)
        if over_limit is not None:
            over_limit.window.close()
            # Share of the over-limit rounds' packets whose LRU write was skipped (at
            # least), median over rounds.
            out["e2e.katran_ipip_new_over_limit.skipped_share"] = statistics.median(skipped)
        print(f"\nreal traffic (trafgen, {packets} packets per path "
              f"per round, {rounds} rounds), kernel BPF run-time statistics\n")
        print(f"{'path':<28} {'ns/packet':>10} {'ratio':>8}")
        for p in ns:
            ratio = out.get(f"e2e.{p}.ratio_to_trivial")
            print(f"{p:<28} {out[f'e2e.{p}.ns_per_pkt']:>10.1f} {ratio if ratio else 1.0:>8.2f}")
        print(f"\nforwarder: {out['e2e.forwarder.xlated_insns']} BPF instructions, "
              f"{out['e2e.forwarder.jited_bytes']} bytes of machine code; trivial program: "
              f"{out['e2e.trivial_xdp_tx.xlated_insns']} instructions")
        if not katran_paths:
            print("katran: skipped, no sources (set KATRAN_SRC, or put them in ../shared/peers/katran "
                  "next to the repository): no e2e.katran_* figures")
            return out
        limit = self.katran["shipped"].consts["MAX_CONN_RATE"]
        print(f"\njulier beside Katran (balancer_ingress, {out['e2e.katran.xlated_insns']} BPF instructions; "
              f"one VIP, {len(BACKENDS4)} reals, ring {self.katran['shipped'].consts['RING_SIZE']}, "
              f"{self.katran_lru} LRU entries per CPU):")
        print(f"{'julier path':<20} {'julier':>8} {'katran path':<30} {'katran':>8} {'julier/katran':>14}")
        for p, (_, _, jp) in katran_paths.items():
            print(f"{jp:<20} {out[f'e2e.{jp}.ns_per_pkt']:>8.1f} {p:<30} {out[f'e2e.{p}.ns_per_pkt']:>8.1f} "
                  f"{out[names[p]]:>14.2f}")
        print(f"flood limits: julier's off (new_flow_rate_per_cpu: 0); katran_ipip_new: Katran's limit compiled "
              f"out (every miss writes the LRU, as below {limit} new flows/s per CPU); katran_ipip_new_over_limit: "
              f"Katran as it ships, held over its limit, LRU write skipped for at least "
              f"{', '.join(f'{100 * v:.1f}' for v in skipped)} % of the packets per round")
        return out

    def profile_paths(self, packets: int, configs: dict[str, str], katran_paths: dict) -> None:
        """One batch per path under `perf record -a -g`; prints where the samples inside
        the path's program went (its own code and the kernel functions it called)."""
        os.makedirs(self.profile, exist_ok=True)
        batches = [(p, "eth0", configs[p], "julier_lb") for p in PATHS]
        batches += [(p, self.katran[instance].dev, configs[p], "balancer_ingres")
                    for p, (instance, *_rest) in katran_paths.items() if p != "katran_ipip_new_over_limit"]
        print(f"\nprofiles ({packets} packets per path, perf record -a -g; share of the samples taken "
              f"inside the path's program):")
        for path, dev, config, prog in batches:
            data = os.path.join(self.profile, f"{path}.perf.data")
            perf = subprocess.Popen(["perf", "record", "-a", "-g", "-F", "4999", "-o", data, "-q"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)  # perf's setup, so that the batch is all inside the record
            try:
                self.send(dev, config, packets)
            finally:
                perf.send_signal(signal.SIGINT)
                perf.wait()
            total, leaves = profile_leaves(data, prog)
            top = sorted(leaves.items(), key=lambda kv: -kv[1])[:10]
            print(f"  {path}: {total} samples in {prog}; " +
                  ", ".join(f"{sym} {100 * n / max(total, 1):.0f} %" for sym, n in top))

    def katran_grew(self, k: Katran, before, after, counter: str, field: str = "v1") -> int:
        i = k.consts["MAX_VIPS"] + k.consts[counter]
        return int(after[i][field]) - int(before[i][field])

    def prove_katran(self, path: str, k: Katran, runs: int, packets: int, new: bool, before, after) -> None:
        """Katran's own counters: every run ended in XDP_TX on the VIP's forwarding
        path through a per-CPU LRU; `_est` runs all hit the LRU, `_new` runs missed."""
        if runs < packets // 2:
            raise Fail(f"{path}: {runs} Katran runs for {packets} packets sent")
        grew = {c: self.katran_grew(k, before, after, c) for c in
                ("XDP_TOTAL_CNTR", "XDP_TX_CNTR", "XDP_DROP_CNTR", "XDP_PASS_CNTR", "FALLBACK_LRU_CNTR")}
        if grew["XDP_TX_CNTR"] != runs or grew["XDP_TOTAL_CNTR"] != runs:
            raise Fail(f"{path}: Katran's XDP_TX counter grew by {grew['XDP_TX_CNTR']} (total "
                       f"{grew['XDP_TOTAL_CNTR']}), the program ran {runs} times")
        if grew["XDP_DROP_CNTR"] or grew["XDP_PASS_CNTR"] or grew["FALLBACK_LRU_CNTR"]:
            raise Fail(f"{path}: other Katran verdicts or the fallback LRU during the round: {grew}")
        vip = int(after[0]["v1"]) - int(before[0]["v1"])  # vip_num 0
        if vip != runs:
            raise Fail(f"{path}: Katran's VIP counted {vip} packets of {runs}")
        misses = self.katran_grew(k, before, after, "LRU_CNTRS", "v2")
        if not new and misses != 0:
            raise Fail(f"{path}: {misses} LRU misses in a round of established traffic")
        if new and misses < 0.999 * runs:
            raise Fail(f"{path}: {misses} LRU misses for {runs} packets (< 99.9 %)")

    def service_ids(self) -> dict[str, int]:
        """Service id by service name, from the live side of the pinned jl_vips."""
        dump = json.loads(run("bpftool", "map", "dump", "pinned", os.path.join(self.jd.pin_dir, "jl_vips"),
                              "--json").stdout)
        by_vip = {}
        for entry in dump:
            entry = entry.get("formatted", entry)
            key, value = entry["key"], entry["value"]
            raw = struct.pack("<4I", *key["addr"])
            addr = ipaddress.ip_address(raw[:4] if key["family"] == 4 else raw)
            by_vip.setdefault((str(addr), socket.ntohs(key["port"])), set()).add(int(value["service_id"]))
        ids = {}
        for service, vip, port, *_ in PATHS.values():
            found = by_vip.get((str(ipaddress.ip_address(vip)), port), set())
            if len(found) != 1:
                raise Fail(f"service {service}: jl_vips holds service ids {found or 'none'} for {vip} port {port}")
            ids[service] = found.pop()
        return ids

    def counter_ids(self) -> dict[str, int]:
        """Counter index by reason name, from the ABI header the build used."""
        abi = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "xdp", "include", "julier",
                           "abi.h")
        names, inside = [], False
        with open(abi) as f:
            for line in f:
                if line.startswith("#define JL_COUNTERS(X)"):
                    inside = True
                    continue
                if inside:
                    s = line.strip()
                    if s.startswith("X("):
                        names.append(s[2:s.index(",")])
                    if not s.endswith("\\"):
                        break
        if "TX_FORWARD" not in names:
            raise Fail(f"cannot read the counter list of {abi}")
        return {n: i for i, n in enumerate(names)}

    @staticmethod
    def prove(path: str, runs: int, packets: int, new: bool, before, after, sid: int,
              reasons: dict[str, int]) -> None:
        def grew(kind: str, key: int, field: str) -> int:
            return after[kind].get(key, {}).get(field, 0) - before[kind].get(key, {}).get(field, 0)

        if runs < packets // 2:
            raise Fail(f"{path}: {runs} forwarder runs for {packets} packets sent")
        forward = grew("reasons", reasons["TX_FORWARD"], "packets")
        if forward != runs:
            raise Fail(f"{path}: TX_FORWARD grew by {forward}, the program ran {runs} times")
        others = {n: grew("reasons", i, "packets") for n, i in reasons.items() if n != "TX_FORWARD"}
        if any(others.values()):
            raise Fail(f"{path}: other verdicts during the round: {others}")
        if grew("services", sid, "packets") != runs:
            raise Fail(f"{path}: the service counted {grew('services', sid, 'packets')} packets of {runs}")
        # The TCP frames are ACKs: a flow first seen that way is a non-SYN miss.
        flows = grew("services", sid, "new_flows") + grew("services", sid, "nonsyn_miss")
        if not new and flows != 0:
            raise Fail(f"{path}: {flows} new flows in a round of established traffic")
        if new and flows < 0.999 * runs:
            raise Fail(f"{path}: {flows} new flows for {runs} packets (< 99.9 %)")


def profile_leaves(data: str, prog: str) -> tuple[int, dict[str, int]]:
    """Samples of a perf.data file whose call chain passes through the JIT-ed BPF
    program named `prog` (bpf_prog_TAG_NAME), by the function the sample was taken
    in; the program's own instructions count as "program"."""
    script = subprocess.run(["perf", "script", "-i", data, "-F", "ip,sym"], capture_output=True, text=True)
    total, leaves = 0, {}
    for sample in script.stdout.split("\n\n"):
        frames = [line.split(None, 1) for line in sample.strip().splitlines()]
        syms = [f[1].split("+")[0] if len(f) > 1 else "?" for f in frames]
        if not syms or not any(s.startswith("bpf_prog_") and prog in s for s in syms):
            continue
        total += 1
        leaf = "program" if syms[0].startswith("bpf_prog_") else syms[0]
        leaves[leaf] = leaves.get(leaf, 0) + 1
    return total, leaves


class FloodForcer:
    """Holds Katran over its flood limit during a round and counts, at least, the
    LRU writes the limit skipped. Katran keeps per CPU the number of new flows in the
    current one-second window (v1) and the window's start (v2); a new flow that finds
    v1 above the limit skips its LRU write. The round starts with every CPU's window
    at the limit (the state 125 000 new flows in the last second leave); the window
    is sampled every 5 ms while traffic runs, and one the program restarted (a second
    went by) is set to the limit again. A window's new flows above the limit are its
    skipped writes (short by the flows of the last 5 ms before a restart at most)."""

    def __init__(self, window, limit: int):
        self.window, self.limit = window, limit
        self.last: list[tuple[int, int]] = []
        self.skipped = 0

    def start(self) -> None:
        now = time.monotonic_ns()
        self.last = [(self.limit, now)] * self.window.cpus
        self.window.write(self.last)
        self.skipped = 0

    def sample(self) -> None:
        values = self.window.read()
        restarted = False
        for cpu, (v1, v2) in enumerate(values):
            if v2 != self.last[cpu][1]:
                self.skipped += max(0, self.last[cpu][0] - self.limit)
                values[cpu] = (self.limit, v2)
                restarted = True
        if restarted:
            self.window.write(values)
        self.last = values

    def finish(self) -> int:
        self.sample()
        return self.skipped + sum(max(0, v1 - self.limit) for v1, _ in self.last)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    ap.add_argument("--profile", metavar="DIR", help="profile one more batch per path with perf into DIR")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("error: needs root (namespaces, XDP, BPF statistics)", file=sys.stderr)
        return 1
    bench = Bench(os.path.abspath(args.build), args.quick, os.path.abspath(args.profile) if args.profile else None)

    def on_signal(signum, _frame):
        bench.close()
        sys.exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        bench.setup()
        out = bench.measure()
    except (Fail, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        bench.close()
    write_figures(args.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
