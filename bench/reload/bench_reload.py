#!/usr/bin/python3
"""Time from SIGHUP to an applied catalogue of 1000 services x 10 backends (M = 65537),
YAML parse included, with the real julierd.

julierd runs in a namespace of this run's own with one veth (the forwarder attached
to it) and permanent neighbour entries for the 10 backend addresses that every
service shares; health `none`. Each round changes one backend's weight in the file,
sends SIGHUP and polls the control socket until the configuration generation has
moved on; the time is from the signal to the status answer that shows the new
generation. Proof: the generation moved by exactly one, the reload result is "ok",
and the changed backend reports its new weight.

  bench_reload.py --build BUILD_DIR [--quick] [--json FILE]
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import time

from julier import Julierd, control_request
from topo import Fail, Host, catalogue_header, fresh_namespace, run, write_figures

SERVICES, BACKENDS, RING = 1000, 10, 65537
LB4 = "198.18.0.2"
WEIGHTS = (60, 30, 100)  # a cycle of three: every reload changes the plan


def catalogue(changed: dict[int, int]) -> str:
    """`changed`: service index -> weight of its backend 3 (all others 100)."""
    header = catalogue_header(f"max_services: {SERVICES}, max_backends: {SERVICES * BACKENDS + 16}, "
                              f"ring_capacity: {SERVICES * RING}, max_flows: 65536")
    lines = [
        header.rstrip("\n"),
        "defaults:",
        "  forwarding: l2",
        f"  ring_size: {RING}",
        "  health: {kind: none}",
        "services:",
    ]
    for s in range(SERVICES):
        lines += [f"  - name: s{s}", f"    vip: 198.19.{s // 250}.{s % 250 + 1}", "    port: 80",
                  "    protocol: tcp", "    backends:"]
        for b in range(BACKENDS):
            weight = changed.get(s, 100) if b == 3 else 100
            lines.append(f"      - {{address: 198.18.0.{21 + b}, weight: {weight}}}")
    return "\n".join(lines) + "\n"


def status(sock_path: str) -> dict:
    reply = control_request(sock_path, {"command": "status"}, timeout=60)
    if not reply.get("ok"):
        raise Fail(f"status failed: {reply}")
    return reply["result"]


def measure(build: str, quick: bool) -> dict[str, float]:
    rounds = 2 if quick else 9
    ns = f"jlr{os.getpid() % 100000}-lb"
    jd = None
    try:
        fresh_namespace(ns)
        run("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0")
        run("ip", "-n", ns, "addr", "add", f"{LB4}/24", "dev", "eth0")
        for dev in ("eth0", "peer0"):
            run("ip", "-n", ns, "link", "set", dev, "up")
        for b in range(BACKENDS):
            run("ip", "-n", ns, "neigh", "replace", f"198.18.0.{21 + b}", "lladdr", f"02:00:00:00:00:{0x21 + b:02x}",
                "dev", "eth0", "nud", "permanent")
        host = Host(topo=None, role="lb", ns=ns, addr4=LB4, addr6="", port="")  # type: ignore[arg-type]
        changed: dict[int, int] = {}
        jd = Julierd(build, host, catalogue(changed), name="julier-bench-reload")
        jd.start(wait=300)
        first = status(jd.socket)
        if first["services"] != SERVICES or first["backends"] != SERVICES * BACKENDS:
            raise Fail(f"julierd runs {first['services']} services, {first['backends']} backends")

        times = []
        # Round 0 is not counted: the first apply after the start writes the other
        # side of the double-buffered maps whole.
        for r in range(rounds + 1):
            s = (r * 7) % SERVICES
            changed[s] = WEIGHTS[r % len(WEIGHTS)]
            jd.write_config(catalogue(changed))
            before = status(jd.socket)
            t0 = time.monotonic()
            jd.reload()
            while True:
                now = status(jd.socket)
                if now["config_generation"] != before["config_generation"] or now["reload_failures"] != \
                        before["reload_failures"]:
                    break
                time.sleep(0.0005)
            elapsed_ms = (time.monotonic() - t0) * 1000
            if now["config_generation"] != before["config_generation"] + 1 or now["last_reload"]["result"] != "ok":
                raise Fail(f"round {r}: reload did not apply: {now['last_reload']}\n{jd.log()[-2000:]}")
            weight = {b["address"]: b["weight"] for b in jd.ctl("backends", f"s{s}")}.get("198.18.0.24")
            if weight != changed[s]:
                raise Fail(f"round {r}: backend 198.18.0.24 of s{s} has weight {weight}, expected {changed[s]}")
            if r == 0:
                print(f"first reload (writes the other side whole, not counted): {elapsed_ms:.1f} ms", flush=True)
                continue
            times.append(elapsed_ms)
            print(f"round {r}/{rounds}: {elapsed_ms:.1f} ms", flush=True)
    finally:
        if jd is not None:
            jd.teardown()
        run("ip", "netns", "del", ns, check=False, quiet=True)
    ms = statistics.median(times)
    print(f"\nSIGHUP to applied, {SERVICES} services x {BACKENDS} backends, M = {RING}: "
          f"median {ms:.1f} ms over {rounds} rounds")
    return {"reload.sighup_1000_services.ms": ms, "reload.services": SERVICES}


def main() -> int:
    global SERVICES
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    # The smoke test of the sanitizer build sets JULIER_BENCH_SERVICES (a 1000-service
    # reload takes minutes there); the figure's name still says 1000, reload.services
    # says how many there were.
    ap.add_argument("--services", type=int, default=int(os.environ.get("JULIER_BENCH_SERVICES", SERVICES)),
                    help="services in the catalogue (for smoke tests only)")
    args = ap.parse_args()
    SERVICES = args.services
    if os.geteuid() != 0:
        print("error: needs root (namespaces, XDP)", file=sys.stderr)
        return 1

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)  # unwinds through measure()'s cleanup

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        out = measure(os.path.abspath(args.build), args.quick)
    except (Fail, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    write_figures(args.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
