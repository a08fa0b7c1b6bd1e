"""Broken catalogues on reload, under traffic: julierd runs a good catalogue with
real TCP through it, then each broken file in turn is installed and SIGHUP sent.
For every one: the reload fails and `status` says why, both generations stay, the
forwarder's maps are byte for byte what they were, julierd keeps answering, and
no request fails (long-lived connections keep their backend; new ones get served).

  broken_reload.py --build BUILD_DIR
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import e2e
from e2e import VIP4, World, addrs, catalogue, check, service
from topo import run_named_test

# Maps that move with traffic (flows, counters, the flood-rate window); every other pinned map holds
# configuration and must not change on a failed reload.
MOVING = ("conntrack", "flows", "stats", "counter", "flood_window")


def config_maps(pin_dir: str) -> dict[str, str]:
    out = {}
    for name in sorted(os.listdir(pin_dir)):
        path = os.path.join(pin_dir, name)
        if any(m in name for m in MOVING) or not os.path.isfile(path):
            continue
        res = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", path], capture_output=True, text=True)
        if res.returncode == 0:  # programs and links are pinned here too
            out[name] = res.stdout
    return out


def nested(depth: int, open_: str, close: str) -> bytes:
    return ("interfaces: " + open_ * depth + close * depth + "\n").encode()


def broken_files(good: str) -> list[tuple[str, object, str]]:
    """(name, content, what the error must say): content is bytes for a file, or a
    callable that puts something else at the path."""
    many = good.replace("    backends:\n", "    backends:\n" + "".join(
        f'      - "198.18.{i // 256 % 256}.{i % 256}"\n' for i in range(100000)), 1)
    return [
        ("YAML syntax error", good.replace("interfaces: [eth0]", "interfaces: [eth0").encode(), "YAML syntax"),
        ("wrong type", good.replace("port: 80", "port: [80]").encode(), "port"),
        ("2^64", good.replace("weight: 100", "weight: 18446744073709551616", 1).encode(), "18446744073709551616"),
        ("negative", good.replace("port: 80", "port: -1").encode(), "-1"),
        ("1e309", good.replace("max_flows: 65536", "max_flows: 1e309").encode(), "1e309"),
        ("100k backends", many.encode(), "max_backends"),
        ("100k levels of nesting", nested(100000, "[", "]"), "YAML syntax"),
        ("binary garbage", bytes(range(256)) * 64, "julier.yaml"),
        ("NUL bytes", good.encode().replace(b"services:", b"serv\0ices:"), "julier.yaml"),
        ("empty file", b"", "empty"),
        ("missing file", lambda p: os.remove(p), "No such file"),
        ("a directory", lambda p: (os.remove(p), os.mkdir(p)), "is a directory"),
        ("a FIFO without a writer", lambda p: (os.remove(p), os.mkfifo(p)), "not a regular file"),
        ("a symlink loop", lambda p: (os.remove(p), os.symlink(p, p)), "symbolic links"),
    ]


def install(path: str, content) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)
    with open(path, "w"):
        pass  # every case starts from a regular file
    if callable(content):
        content(path)
    else:
        with open(path, "wb") as f:
            f.write(content)


def run(build: str) -> None:
    with World(build, n_backends=2) as w:
        be = addrs(w)
        good = catalogue(service("web", VIP4, 80, "tcp", [(a, 100) for a in be]) +
                         service("hold", VIP4, 7000, "tcp", [(a, 100) for a in be]))
        jd = w.start_julierd(good)
        w.wait_all_up("web", be)
        w.wait_all_up("hold", be)
        good = good.replace("@PIN_DIR@", jd.pin_dir).replace("@SOCKET@", jd.socket)
        before = jd.ctl("status")
        maps = config_maps(jd.pin_dir)
        check(len(maps) >= 3, f"expected the forwarder's configuration maps in {jd.pin_dir}, found {list(maps)}")
        print(f"  configuration maps compared after each reload: {', '.join(maps)}")

        cases = broken_files(good)
        hold = w.hold(VIP4, conns=8, seconds=len(cases) * 2.5 + 10)
        failures = before["reload_failures"]
        new_requests = 0
        for name, content, says in cases:
            start = time.monotonic()
            install(jd.config, content)
            jd.reload()
            failures += 1
            jd.wait_for(lambda: jd.ctl("status")["reload_failures"] >= failures, timeout=20, what=f"{name}: failed reload")
            took = time.monotonic() - start
            status = jd.ctl("status")
            error = status["last_reload"]["error"]
            check(status["last_reload"]["result"] == "failed", f"{name}: last reload {status['last_reload']}")
            check(says in error, f"{name}: reload error {error!r} does not say {says!r}")
            check(status["config_generation"] == before["config_generation"], f"{name}: config generation moved")
            check(status["dataplane_generation"] == before["dataplane_generation"], f"{name}: dataplane generation moved")
            check(config_maps(jd.pin_dir) == maps, f"{name}: the forwarder's configuration maps changed")
            res = w.client("http", "--vip", VIP4, "--count", "20", "--parallel", "4")
            check(res["errors"] == 0, f"{name}: {res['errors']} new requests failed: {res['error_samples']}")
            new_requests += sum(res["by_backend"].values())
            print(f"  {name}: refused in {took:.2f}s: {error[:110]}")

        held = w.hold_result(hold)
        check(held.get("broken", 1) == 0 and held.get("changed", 1) == 0,
              f"long-lived connections disturbed: {json.dumps(held)[:400]}")
        # And a good file still applies.
        install(jd.config, good.encode())
        jd.reload()
        jd.wait_for(lambda: jd.ctl("status")["config_generation"] > before["config_generation"], what="good reload")
        print(f"  {len(cases)} broken reloads refused; {new_requests} new requests and "
              f"{len(held['connections'])} held connections, none failed; a good file applies after")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root", file=sys.stderr)
        return 1
    e2e.ARGS = a
    return run_named_test({"broken_reload": lambda: run(os.path.abspath(a.build))}, "broken_reload")


if __name__ == "__main__":
    sys.exit(main())
