#!/usr/bin/python3
"""Smoke test of `make bench`: run the quick mode of every benchmark against one build
and check that results.json holds every figure the benchmarks promise, each a finite
positive number (shares that may be exactly 0 only need to be finite and >= 0). It
asserts nothing about speed. The Katran figures beside julier's (bench/e2e) are all
there or all absent; run against a build, they must be there when the e2e benchmark
finds Katran's sources (KATRAN_SRC, or ../shared/peers/katran next to the repository).

  check_results.py --build BUILD_DIR [--services N]
                                          run scripts/bench --quick, then check
  check_results.py --results FILE         only check an existing results.json
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "e2e"))
sys.path.insert(0, os.path.join(TOP, "bench", "e2e"))
from katran import katran_source  # noqa: E402  (the e2e benchmark's own rule)

E2E_PATHS = ["v4_tcp_l2_est", "v4_tcp_ipip_est", "v6_tcp_ip6ip6_est", "v4_udp_gue_est", "v4_tcp_ipip_new"]
DATAPLANE_PATHS = ["v4_tcp_l2_established", "v6_tcp_l2_established", "non_vip_pass"]

# Every name the benchmark issue lists.
REQUIRED = (
    ["dataplane.trivial_xdp_tx.ns_per_pkt"]
    + [f"dataplane.{p}.{k}" for p in DATAPLANE_PATHS for k in ("ns_per_pkt", "ratio_to_trivial")]
    + ["e2e.trivial_xdp_tx.ns_per_pkt"]
    + [f"e2e.{p}.{k}" for p in E2E_PATHS for k in ("ns_per_pkt", "ratio_to_trivial")]
    + [f"maglev.m65537_n{n}.ms" for n in (10, 100, 1000, 5000)]
    + ["maglev.m655373_n1000.ms", "maglev.m65537_n1000.max_over_mean", "maglev.m65537_n1000.churn_remove_one"]
    + ["apply.one_service_of_1000.ms", "apply.cold_1000_services.ms", "reload.sighup_1000_services.ms"]
    + ["health.tcp_10000_backends.cpu_share"]
)
# Katran's forwarder timed beside julier's ipip path (skipped without its sources).
KATRAN = (
    [f"e2e.{p}.{k}" for p in ("katran_ipip_est", "katran_ipip_new", "katran_ipip_new_over_limit")
     for k in ("ns_per_pkt", "ratio_to_trivial")]
    + ["e2e.v4_tcp_ipip_est.ratio_to_katran", "e2e.v4_tcp_ipip_new.ratio_to_katran",
       "e2e.v4_tcp_ipip_new.ratio_to_katran_over_limit", "e2e.katran_ipip_new_over_limit.skipped_share",
       "e2e.katran.xlated_insns", "e2e.katran.jited_bytes"]
)
# Shares of moved slots: a perfect result is 0.
MAY_BE_ZERO = {"maglev.m65537_n1000.churn_remove_one"}
# Benchmarks whose non-zero exit may be about speed alone: the health benchmark writes
# its figures, then fails a run whose probes fell behind the schedule (a loaded
# machine, a sanitizer build). Every other benchmark fails only before writing, so a
# failed proof shows up here as missing names.
SPEED_VERDICTS = {"julier_bench_health"}


def check(results: dict, katran_expected: bool = False) -> list[str]:
    errors = []
    katran = [n for n in KATRAN if n in results]
    required = REQUIRED + (KATRAN if katran or katran_expected else [])
    for name in required:
        if name not in results:
            errors.append(f"missing: {name}")
    for name, value in sorted(results.items()):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            errors.append(f"not a finite number: {name} = {value!r}")
        elif value < 0 or (value == 0 and name in required and name not in MAY_BE_ZERO):
            # Counts beside the figures (failed probes, ...) may be 0.
            errors.append(f"not positive: {name} = {value!r}")
    return errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--build")
    group.add_argument("--results")
    ap.add_argument("--services", type=int,
                    help="catalogue size of the apply and reload benchmarks (a sanitizer build is too slow for 1000)")
    args = ap.parse_args()
    path = args.results
    katran_expected = False
    if args.build:
        katran_expected = katran_source() is not None
        build = os.path.abspath(args.build)
        path = os.path.join(build, "bench", "results.json")
        if os.path.exists(path):
            os.remove(path)  # a result of an earlier run must not pass for this one
        env = {**os.environ, "BUILD": build}
        if args.services:
            env["JULIER_BENCH_SERVICES"] = str(args.services)
        res = subprocess.run([os.path.join(TOP, "scripts", "bench"), "--quick"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(res.stdout, end="")
        failed = {line.split()[1] for line in res.stdout.splitlines()
                  if line.startswith("bench: ") and line.endswith(" failed")}
        if res.returncode != 0 and (not failed or failed - SPEED_VERDICTS):
            print(f"error: scripts/bench --quick failed ({res.returncode}): {sorted(failed) or 'see above'}",
                  file=sys.stderr)
            return 1
        for name in sorted(failed):
            print(f"note: {name} says this run could not keep its schedule (a speed verdict, not checked here)")
    with open(path) as f:
        results = json.load(f)
    if not isinstance(results, dict):
        print(f"error: {path} is not a JSON object", file=sys.stderr)
        return 1
    errors = check(results, katran_expected)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    katran = "with" if any(n in results for n in KATRAN) else "without"
    print(f"{len(results)} figures ({katran} Katran's), {len(REQUIRED)} required, {len(errors)} problems")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
