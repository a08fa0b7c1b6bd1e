"""Health-check storm: 10 000 backends that fail at once (half refuse connections,
half drop them silently) while 40 more flap, and julierd must stay responsive: the
control socket (`status`) and /metrics are timed throughout and their p99 must stay
within 100 ms.

Two namespaces joined by a veth: lb (julierd, 198.18.0.2) and gw (198.18.0.1). Every
backend lives in 198.18.64.0/18, routed by the lb via gw, so the lb resolves one
neighbour only (ipip forwarding). gw owns the whole /18 as a local route: a listener
on 0.0.0.0 accepts for every backend; stopping it makes them refuse, and blackhole
routes in gw's local table make a part of them drop silently.

  storm.py --build BUILD_DIR [--backends N] [--seconds S]
  storm.py --sample SOCKET METRICS_URL SECONDS     (runs inside the lb namespace)
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from julier import Julierd, control_request  # noqa: E402
from topo import fresh_namespace, run  # noqa: E402

STORM_PORT = 8080
FLAP_PORT = 8081
FLAP_NET = "198.18.120.0/26"
# Backends 5000.. of backend() below: 198.18.84.1 - 198.18.103.250, dropped silently.
DROP_NETS = ["198.18.84.0/22", "198.18.88.0/21", "198.18.96.0/21"]


def backend(i: int) -> str:
    return f"198.18.{64 + i // 250}.{1 + i % 250}"


def prime_at_least(n: int) -> int:
    def is_prime(x: int) -> bool:
        if x < 2:
            return False
        d = 2
        while d * d <= x:
            if x % d == 0:
                return False
            d += 1
        return True
    while not is_prime(n):
        n += 1
    return n


# -- the sampler (inside the lb namespace) ---------------------------------------------
def sample(sock_path: str, url: str, seconds: float) -> None:
    """Times `status` on the control socket (every 20 ms) and GET /metrics (back to
    back) from two threads; prints {"status": [[t, ms, ok]...], "metrics": [[t, ms, bytes]...]}."""
    out = {"status": [], "metrics": []}
    end = time.monotonic() + seconds

    def status():
        while time.monotonic() < end:
            t0 = time.monotonic()
            ok = control_request(sock_path, {"command": "status"}, timeout=10).get("ok", False)
            out["status"].append([round(t0, 3), round((time.monotonic() - t0) * 1000, 2), ok])
            time.sleep(0.02)

    def metrics():
        while time.monotonic() < end:
            t0 = time.monotonic()
            body = urllib.request.urlopen(url, timeout=10).read()
            out["metrics"].append([round(t0, 3), round((time.monotonic() - t0) * 1000, 2), len(body)])
            time.sleep(0.02)

    threads = [threading.Thread(target=status), threading.Thread(target=metrics)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(out))


# -- the gateway's listeners --------------------------------------------------------------
LISTENER = r"""
import socket, select, sys
ls = []
for port in map(int, sys.argv[1:]):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(4096); s.setblocking(False); ls.append(s)
print("listening", flush=True)
while True:
    for s in select.select(ls, [], [])[0]:
        try:
            for _ in range(256):
                c, _a = s.accept(); c.close()
        except BlockingIOError:
            pass
"""


class Storm:
    def __init__(self, build: str, n: int, slots_per_backend: int):
        self.build = build
        self.n = n
        self.slots_per_backend = slots_per_backend
        tag = os.getpid() % 100000
        self.lb_ns, self.gw_ns = f"jls{tag}-lb", f"jls{tag}-gw"
        self.procs: list[subprocess.Popen] = []

    # host for Julierd
    @property
    def ns(self) -> str:
        return self.lb_ns

    def netns_path(self) -> str:
        return f"/run/netns/{self.lb_ns}"

    def sh(self, *args: str, check: bool = True):
        return run("ip", "netns", "exec", self.lb_ns, *args, check=check)

    def __enter__(self) -> "Storm":
        try:
            for ns in (self.lb_ns, self.gw_ns):
                fresh_namespace(ns)
            run("ip", "-n", self.lb_ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
                "netns", self.gw_ns)
            for ns, addr in ((self.lb_ns, "198.18.0.2/24"), (self.gw_ns, "198.18.0.1/24")):
                run("ip", "-n", ns, "addr", "add", addr, "dev", "eth0")
                run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "-n", self.lb_ns, "route", "add", "198.18.64.0/18", "via", "198.18.0.1")
            run("ip", "-n", self.gw_ns, "route", "add", "local", "198.18.64.0/18", "dev", "lo")
            run("ip", "netns", "exec", self.gw_ns, "sysctl", "-qw", "net.core.somaxconn=8192")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for ns in (self.lb_ns, self.gw_ns):
            run("ip", "netns", "del", ns, check=False, quiet=True)

    def listen(self, *ports: int) -> subprocess.Popen:
        p = subprocess.Popen(["ip", "netns", "exec", self.gw_ns, "/usr/bin/python3", "-c", LISTENER,
                              *map(str, ports)], stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        if p.stdout.readline().strip() != "listening":
            raise RuntimeError("gateway listener did not start")
        return p

    def gw_route(self, verb: str, net: str) -> None:
        run("ip", "-n", self.gw_ns, "route", verb, "blackhole", net, "table", "local")

    def catalogue(self, services: int) -> str:
        per = self.n // services
        ring = prime_at_least(per * self.slots_per_backend)
        lines = [f"""interfaces: [eth0]
pin_dir: "@PIN_DIR@"
control_socket: "@SOCKET@"
metrics: {{listen: "127.0.0.1:9641"}}
limits: {{max_services: 64, max_backends: {self.n + 1024}, ring_capacity: {ring * services + 8192}, max_flows: 65536}}
defaults:
  forwarding: ipip
  encap_source: {{ipv4: 198.18.0.2}}
services:"""]
        for s in range(services):
            lines.append(f"""  - name: storm{s}
    vip: 198.19.0.{s + 1}
    port: {STORM_PORT}
    ring_size: {ring}
    health: {{kind: tcp, interval: 2s, timeout: 1s, rise: 2, fall: 2}}
    backends:""")
            lines += [f"      - {backend(i)}" for i in range(s * per, (s + 1) * per)]
        lines.append(f"""  - name: flap
    vip: 198.19.1.1
    port: {FLAP_PORT}
    ring_size: 4001
    health: {{kind: tcp, interval: 300ms, timeout: 200ms, rise: 1, fall: 1}}
    backends:""")
        lines += [f"      - 198.18.120.{i}" for i in range(1, 41)]
        return "\n".join(lines) + "\n"


def in_ring(jd: Julierd) -> dict[str, int]:
    return {s["name"]: s["backends_in_ring"] for s in jd.ctl("services")}


def percentile(values: list[float], p: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))] if v else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build")
    ap.add_argument("--backends", type=int, default=10000)
    ap.add_argument("--services", type=int, default=20)
    ap.add_argument("--slots-per-backend", type=int, default=100, help="Maglev ring size per backend")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--limit-ms", type=float, default=100,
                    help="p99 budget of status, and of /metrics over its quiet median")
    ap.add_argument("--sample", nargs=3, metavar=("SOCKET", "URL", "SECONDS"))
    args = ap.parse_args()
    if args.sample:
        sample(args.sample[0], args.sample[1], float(args.sample[2]))
        return 0
    if os.geteuid() != 0:
        print("skipped: needs root")
        return 77
    build = os.path.abspath(args.build)
    with Storm(build, args.backends, args.slots_per_backend) as st:
        jd = Julierd(build, st, st.catalogue(args.services), name="julier-storm")
        try:
            st.listen(STORM_PORT, FLAP_PORT)
            t0 = time.monotonic()
            jd.start(wait=120)
            jd.wait_for(lambda: sum(v for k, v in in_ring(jd).items() if k != "flap") == args.backends,
                        timeout=120, what=f"all {args.backends} backends up")
            print(f"{args.backends} backends up {time.monotonic() - t0:.1f}s after start", flush=True)

            stop = threading.Event()
            flaps = [0]

            def flap():
                down = False
                while not stop.wait(1.0):
                    st.gw_route("del" if down else "add", FLAP_NET)
                    down = not down
                    flaps[0] += 1
            flapper = threading.Thread(target=flap, daemon=True)
            sampler = subprocess.Popen(["ip", "netns", "exec", st.lb_ns, "/usr/bin/python3", __file__, "--sample",
                                        jd.socket, "http://127.0.0.1:9641/metrics", str(args.seconds)],
                                       stdout=subprocess.PIPE, text=True)
            st.procs.append(sampler)
            flapper.start()
            time.sleep(2.0)  # a baseline with flapping only
            storm_at = time.monotonic()
            st.procs[0].kill()  # the storm listener: every backend now refuses ...
            st.procs[0].wait()
            for net in DROP_NETS:  # ... and half of them drop silently instead
                st.gw_route("add", net)
            st.listen(FLAP_PORT)  # the flapping service keeps its listener
            all_down_s = None
            while time.monotonic() - storm_at < args.seconds - 2.5 and all_down_s is None:
                if all_down_s is None and sum(v for k, v in in_ring(jd).items() if k != "flap") == 0:
                    all_down_s = time.monotonic() - storm_at
                time.sleep(0.5)
            samples = json.loads(sampler.communicate(timeout=120)[0])
            left = sum(v for k, v in in_ring(jd).items() if k != "flap")
            stop.set()
            flapper.join()
        except BaseException:
            print(jd.log()[-4000:], file=sys.stderr)
            raise
        finally:
            log = jd.log()
            jd.teardown()

    failures = []
    result = {"backends": args.backends, "flapping": 40, "flap_toggles": flaps[0],
              "all_down_s": round(all_down_s, 1) if all_down_s else None, "in_ring_at_end": left,
              "transitions_logged": log.count("to=down"), "applies_logged": log.count("applied generation=")}
    limits = {}
    for kind in ("status", "metrics"):
        before = [s[1] for s in samples[kind] if s[0] < storm_at]
        during = [s[1] for s in samples[kind] if s[0] >= storm_at]
        result[kind] = {"n": len(during), "p50_ms": percentile(during, 50), "p99_ms": percentile(during, 99),
                        "max_ms": max(during) if during else None, "quiet_p50_ms": percentile(before, 50)}
        # /metrics renders every backend's series (megabytes for 10 000 backends), which
        # takes as long without a storm: its limit is the quiet median plus the budget.
        limits[kind] = args.limit_ms if kind == "status" else percentile(before, 50) + args.limit_ms
        if kind == "metrics":
            result[kind]["bytes"] = samples[kind][-1][2] if samples[kind] else 0
        if not during or percentile(during, 99) > limits[kind]:
            failures.append(f"{kind}: p99 {percentile(during, 99)} ms > {limits[kind]:.0f} ms during the storm")
    if left >= args.backends:
        failures.append("no storm backend left the rings: the storm was not applied")
    if not all(s[2] for s in samples["status"]):
        failures.append("a status request failed")
    print("storm " + json.dumps(result))
    if failures:
        print("\n".join(failures))
        print("\n".join(l for l in log.splitlines() if "applied generation=" in l or "failed" in l)[-3000:])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
