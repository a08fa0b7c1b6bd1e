#!/usr/bin/python3
"""kill -9 of julierd at random moments while it reloads between two catalogues
that differ widely, repeated; after each kill the pinned forwarder must answer for
one whole catalogue (never a mix), and a restarted julierd must adopt the pins and
converge to the file on disk.

Catalogue A and B: many ipip services with large Maglev rings, so one reload's plan
and write take long enough for kills to land inside them. B drops a third of A's
services, adds as many new ones, and gives the rest other backends and weights.
Every answer is checked with julier_forwarding_probe, which plans A and B with the
project's planner and runs fresh SYNs for every service through the pinned program.

Runs inside one network namespace of its own (a veth pair, a gateway with a
permanent neighbour entry: every backend is routed via it). Exit 77 when not root.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e"))
from julier import Julierd  # noqa: E402


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(list(args), capture_output=True, text=True)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {res.stderr.strip()}")
    return res


class Namespace:
    """One namespace: eth0 (198.18.0.2/24) with its veth peer, a gateway
    198.18.0.1 with a permanent neighbour entry, backends 198.18.64.0/18 via it."""

    def __init__(self, tag: str):
        self.ns = f"jlk9-{tag}-{os.getpid() % 100000}"

    def netns_path(self) -> str:
        return f"/run/netns/{self.ns}"

    def __enter__(self) -> "Namespace":
        run("ip", "netns", "del", self.ns, check=False)
        run("ip", "netns", "add", self.ns)
        try:
            n = ("ip", "-n", self.ns)
            run(*n, "link", "set", "lo", "up")
            run(*n, "link", "add", "eth0", "type", "veth", "peer", "name", "peer0")
            run(*n, "addr", "add", "198.18.0.2/24", "dev", "eth0")
            run(*n, "link", "set", "eth0", "up")
            run(*n, "link", "set", "peer0", "up")
            run(*n, "neigh", "replace", "198.18.0.1", "lladdr", "02:00:00:00:00:fe", "nud", "permanent",
                "dev", "eth0")
            run(*n, "route", "add", "198.18.64.0/18", "via", "198.18.0.1")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        run("ip", "netns", "del", self.ns, check=False)


def backend(i: int) -> str:
    return f"198.18.{64 + i // 250}.{1 + i % 250}"


def catalogue(services: list[tuple[int, list[tuple[int, int]]]], ring: int, n_ids: int) -> str:
    """services: (index, [(backend index, weight)]); index i is VIP 198.19.(i/200).(i%200+1):80."""
    out = [f"""interfaces: [eth0]
pin_dir: "@PIN_DIR@"
control_socket: "@SOCKET@"
metrics: {{listen: ""}}
limits: {{max_services: 512, max_backends: {n_ids}, ring_capacity: {ring * 260}, max_flows: 65536}}
defaults:
  forwarding: ipip
  ring_size: {ring}
  encap_source: {{ipv4: 198.18.0.2}}
  health: {{kind: none}}
services:"""]
    for i, backends in services:
        out.append(f"  - name: s{i}\n    vip: 198.19.{i // 200}.{i % 200 + 1}\n    port: 80\n    protocol: tcp\n"
                   "    backends:")
        out += [f"      - {{address: {backend(b)}, weight: {w}}}" for b, w in backends]
    return "\n".join(out) + "\n"


def make_catalogues(n: int, ring: int, rnd: random.Random) -> tuple[str, str]:
    pool = 400
    a, b = [], []
    for i in range(n):
        a.append((i, [(x, rnd.choice([50, 100, 200])) for x in rnd.sample(range(pool), 8)]))
    third = n // 3
    for i in range(third, n + third):
        # Kept services get other backends (half replaced) and other weights.
        old = dict(a[i][1]) if i < n else {}
        keep = list(old)[:4]
        fresh = [x for x in rnd.sample(range(pool), 12) if x not in old][:8 - len(keep)]
        b.append((i, [(x, rnd.choice([30, 100, 150])) for x in keep + fresh]))
    ids = 8 * (n + third) * 2 + 64
    return catalogue(a, ring, ids), catalogue(b, ring, ids)


class Probe:
    def __init__(self, build: str, pin_dir: str, files: list[str]):
        self.exe = os.path.join(build, "tests", "fuzz", "kill9", "julier_forwarding_probe")
        self.pin_dir = pin_dir
        self.files = files
        self.salt = random.randrange(1 << 30)

    def __call__(self) -> dict:
        self.salt += 1
        res = subprocess.run([self.exe, self.pin_dir, str(self.salt), *self.files], capture_output=True, text=True)
        if res.returncode == 2:
            raise RuntimeError(f"probe failed: {res.stderr.strip()}")
        return json.loads(res.stdout)


def log_phase(log: str, reloads_before: int) -> str:
    """Where the kill landed, from the log of the killed daemon: 'idle' (no reload
    running), 'mid-reload' (reload started, not applied) or 'after-apply'."""
    tail = log.split("\n")
    started = [i for i, l in enumerate(tail) if "reload started" in l]
    if len(started) <= reloads_before:
        return "idle"
    last = started[-1]
    if any(re.search(r"\bapplied generation=", l) for l in tail[last:]):
        return "after-apply"
    return "mid-reload"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--kills", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=0, help="run kills until this much time passed (long mode)")
    ap.add_argument("--services", type=int, default=40)
    ap.add_argument("--ring", type=int, default=2053)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("skipped: needs root (network namespaces, BPF)")
        return 77
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    rnd = random.Random(seed)
    print(f"seed {seed}: {args.services} services, ring {args.ring}", flush=True)
    text = dict(zip("AB", make_catalogues(args.services, args.ring, rnd)))
    work = tempfile.mkdtemp(prefix="julier-kill9-")
    files = {k: os.path.join(work, f"{k}.yaml") for k in "AB"}

    with Namespace("lb") as host:
        jd = Julierd(args.build, host, text["A"], name="julier-kill9")
        for k in "AB":
            with open(files[k], "w") as f:
                f.write(text[k].replace("@PIN_DIR@", jd.pin_dir).replace("@SOCKET@", jd.socket))
        probe = Probe(args.build, jd.pin_dir, [files["A"], files["B"]])
        stats = {"kills": 0, "idle": 0, "mid-reload": 0, "after-apply": 0, "before-start": 0, "mid-start": 0,
                 "after-start": 0, "mixes": 0,
                 "converge_s": [], "reload_s": [], "answered_old": 0, "answered_new": 0}
        failures: list[str] = []

        def check_whole(what: str, old: str, new: str) -> None:
            """The forwarder answers for A or for B as a whole."""
            seen = probe()
            label = ["AB"[m] for m in seen["matches"]]
            if not label:
                stats["mixes"] += 1
                failures.append(f"{what}: a mix: {seen}")
            elif label == [old]:
                stats["answered_old"] += 1
            elif label == [new]:
                stats["answered_new"] += 1
            print(f"{what}: forwarder answered {'+'.join(label) or 'MIX'} (gen {seen['generation']})", flush=True)
        try:
            # Reference: how long one reload takes, so kills can be spread over it.
            t0 = time.monotonic()
            jd.start(wait=120)
            start_s = time.monotonic() - t0
            first = probe()
            if first["matches"] != [0]:
                raise RuntimeError(f"after start with A the forwarder does not answer for A alone: {first}")
            for target in "BA":
                gen = jd.ctl("status")["config_generation"]
                jd.write_config(text[target])
                t0 = time.monotonic()
                jd.reload()
                jd.wait_for(lambda: jd.ctl("status")["config_generation"] > gen, timeout=120, what="reload")
                stats["reload_s"].append(time.monotonic() - t0)
            window = max(stats["reload_s"])
            start_window = start_s
            print(f"start {start_s:.2f}s, reload A<->B {', '.join(f'{x:.2f}' for x in stats['reload_s'])}s",
                  flush=True)

            on_disk = "A"
            deadline = time.monotonic() + args.seconds
            i = 0
            while stats["kills"] < args.kills or time.monotonic() < deadline:
                i += 1
                target = "B" if on_disk == "A" else "A"
                old = on_disk
                jd.write_config(text[target])
                on_disk = target
                reloads_before = jd.log().count("reload started")
                delay = rnd.uniform(0, window * 1.1)
                jd.reload()
                time.sleep(delay)
                jd.kill9()
                stats["kills"] += 1
                phase = log_phase(jd.log(), reloads_before)
                stats[phase] += 1

                check_whole(f"kill {i} ({phase}, {delay * 1000:.0f} ms after SIGHUP)", old, target)

                # Every other time, also kill the restarted julierd during its start-up
                # (adopt, attach, first apply of the file on disk).
                if rnd.random() < 0.5:
                    starts_before = jd.log().count("starting version=")
                    delay = rnd.uniform(0, start_window * 1.1)
                    jd.spawn()
                    time.sleep(delay)
                    jd.kill9()
                    stats["kills"] += 1
                    tail = jd.log().split("starting version=")
                    if len(tail) - 1 <= starts_before:
                        stats["before-start"] += 1
                        phase = "before-start"
                    elif "ready services=" in tail[-1]:
                        stats["after-start"] += 1
                        phase = "after-start"
                    else:
                        stats["mid-start"] += 1
                        phase = "mid-start"
                    check_whole(f"kill {i}b ({phase}, {delay * 1000:.0f} ms after exec)", old, target)

                t0 = time.monotonic()
                jd.start(wait=120)
                if "dataplane adopted" not in jd.log().split("starting version=")[-1]:
                    failures.append(f"kill {i}: the restarted julierd did not adopt the pins")
                while True:
                    now = probe()
                    if "AB".index(on_disk) in now["matches"]:
                        break
                    if not now["matches"]:
                        stats["mixes"] += 1
                        failures.append(f"kill {i}: after restart a mix: {now}")
                        break
                    if time.monotonic() - t0 > 60:
                        failures.append(f"kill {i}: no convergence to {on_disk} within 60 s: {now}")
                        break
                    time.sleep(0.05)
                stats["converge_s"].append(time.monotonic() - t0)
                print(f"restart {i}: converged to {on_disk} in {stats['converge_s'][-1]:.2f}s", flush=True)
                if len(failures) > 5:
                    break
        finally:
            log = jd.log()
            jd.teardown()
            shutil.rmtree(work, ignore_errors=True)

    conv = sorted(stats["converge_s"])
    summary = {k: v for k, v in stats.items() if k not in ("converge_s", "reload_s")}
    if conv:
        summary["converge_s_median"] = round(conv[len(conv) // 2], 2)
        summary["converge_s_max"] = round(conv[-1], 2)
    summary["reload_s"] = [round(x, 2) for x in stats["reload_s"]]
    print("summary " + json.dumps(summary), flush=True)
    if stats["mid-reload"] + stats["mid-start"] == 0:
        failures.append("no kill landed while a reload or start-up ran: the test proved nothing")
    if failures:
        print("\n".join(failures))
        print(log[-4000:])
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
