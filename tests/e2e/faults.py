"""Faults julierd must survive with a clear log line and no silent black hole, each
in its own topology (topo.py), with a real julierd (julier.py):

  incompatible_pins  pins of another build (other limits, other ABI version): refused,
                     the old forwarder keeps forwarding, the printed way out works
  no_bpffs           a pin_dir that is not on a BPF filesystem: refused, nothing attached
  interface_flap     the lb's interface deleted and created again under the same name:
                     julierd notices, re-attaches, says so in status and metrics
  mac_change         a backend's MAC changes (l2): forwarding follows the new MAC

  faults.py --build BUILD_DIR TEST
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time

import e2e
from e2e import World, addrs, catalogue, check, service, Fail
from topo import LB4, LB6, VIP4, run, run_named_test

TESTS = {}


def test(fn):
    TESTS[fn.__name__.removeprefix("test_")] = fn
    return fn


def web(be: list[str]) -> str:
    return catalogue(service("web", VIP4, 80, "tcp", [(a, 100) for a in be]))


def xdp_prog_id(ns: str, dev: str = "eth0") -> int | None:
    out = run("ip", "-n", ns, "-d", "link", "show", "dev", dev).stdout
    m = re.search(r"prog/xdp id (\d+)", out)
    return int(m.group(1)) if m else None


def start_fails(jd, what: str) -> str:
    """Starts julierd expecting it to refuse; returns the log of that attempt."""
    before = len(jd.log())
    try:
        jd.start()
    except RuntimeError:
        check(jd.proc.returncode == 1, f"{what}: julierd exited {jd.proc.returncode}, not 1")
        return jd.log()[before:]
    raise Fail(f"{what}: julierd started")


def serves(w: World, count: int = 200) -> dict:
    res = w.client("http", "--vip", VIP4, "--count", str(count))
    check(res["errors"] == 0, f"requests failed: {res}")
    return res


def metric(jd, name: str, labels: str) -> float | None:
    code = ("import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:9641/metrics',timeout=5)"
            ".read().decode())")
    out = jd.host.sh("/usr/bin/python3", "-c", code).stdout
    m = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", out, re.M)
    return float(m.group(1)) if m else None


@test
def test_incompatible_pins():
    with World(ARGS.build) as w:
        be = addrs(w)
        jd = w.start_julierd(web(be))
        w.wait_all_up("web", be)
        serves(w)
        jd.stop()
        prog = xdp_prog_id(w.t.lb().ns)
        check(prog is not None, "the forwarder is not attached after julierd stopped")

        # Other limits than the pinned forwarder was loaded with.
        jd.write_config(web(be).replace("max_flows: 65536", "max_flows: 32768"))
        log = start_fails(jd, "other limits")
        check("cannot be adopted" in log and "max_flows 65536" in log and "max_flows 32768" in log,
              f"the refusal does not name both limits:\n{log}")
        check(xdp_prog_id(w.t.lb().ns) == prog, "a refused start touched the running forwarder")
        serves(w)  # no black hole: the old forwarder forwards on

        # Another ABI version in jl_meta (as an older or newer build would have pinned).
        jd.write_config(web(be))
        meta = os.path.join(jd.pin_dir, "jl_meta")
        # struct jl_meta: abi_version and the limits of e2e.catalogue, little endian.
        fields = [42, 16, 256, 262144, 65536, 0]
        value = [b for f in fields for b in f.to_bytes(4, "little")]
        run("bpftool", "map", "update", "pinned", meta, "key", "0", "0", "0", "0", "value",
            *[str(b) for b in value])
        log = start_fails(jd, "other ABI version")
        check("ABI version 42" in log and "this julierd has ABI version" in log,
              f"the refusal does not name both ABI versions:\n{log}")
        serves(w)

        # The way out the message prints: run it, start again, forwarding resumes.
        m = re.search(r"To replace it, run: (.*?) and start julierd again", log)
        check(m is not None, f"no commands to clear the pins in:\n{log}")
        for command in m.group(1).split(";"):
            argv = command.split()
            if argv[:2] == ["ip", "link"]:
                run("ip", "-n", w.t.lb().ns, *argv[1:])
            elif argv[:2] == ["rm", "-r"]:
                check(argv[2] == jd.pin_dir, f"the advice removes {argv[2]}, not the pin_dir")
                run(*argv)
            elif argv:
                raise Fail(f"unexpected advice {command!r}")
        jd.start()
        check(not jd.ctl("status")["adopted"], "a fresh start after clearing says adopted")
        w.wait_all_up("web", be)
        serves(w)
        print("  incompatible pins refused twice with both sides named; advice works")


@test
def test_no_bpffs():
    with World(ARGS.build) as w:
        be = addrs(w)
        jd = e2e.Julierd(ARGS.build, w.t.lb(), web(be))
        w.jd = jd
        jd.pin_dir = os.path.join(jd.workdir, "pins")  # tmpfs or disk, never bpffs
        jd.write_config(web(be))
        log = start_fails(jd, "pin_dir not on bpffs")
        check("is not on a BPF filesystem" in log and jd.pin_dir in log and "mount -t bpf" in log,
              f"no clear message for a pin_dir off bpffs:\n{log}")
        check(xdp_prog_id(w.t.lb().ns) is None, "a refused start left a program attached")
        print("  a pin_dir off bpffs is refused; nothing attached")


def recreate_lb_link(w: World) -> None:
    lb, sw = w.t.lb(), w.t.sw
    run("ip", "-n", sw, "link", "add", lb.port, "type", "veth", "peer", "name", "eth0", "netns", lb.ns)
    run("ip", "-n", sw, "link", "set", lb.port, "master", "br0", "up")
    run("ip", "-n", lb.ns, "addr", "add", f"{LB4}/24", "dev", "eth0")
    run("ip", "-n", lb.ns, "-6", "addr", "add", f"{LB6}/64", "dev", "eth0", "nodad")
    run("ip", "netns", "exec", lb.ns, "ethtool", "-K", "eth0", "tx", "off")
    w.t.let_lb_transmit(os.path.join(ARGS.build, "xdp", "xdp_pass.bpf.o"))
    run("ip", "-n", lb.ns, "link", "set", "eth0", "up")


@test
def test_interface_flap():
    with World(ARGS.build) as w:
        be = addrs(w)
        lb = w.t.lb()
        # The new device announces its MAC when it comes up, as a replaced NIC should.
        lb.sh("sysctl", "-qw", "net.ipv4.conf.default.arp_notify=1")
        jd = w.start_julierd(web(be))
        w.wait_all_up("web", be)
        serves(w)
        check(metric(jd, "julier_interface_attached", 'interface="eth0"') == 1, "metric attached != 1 at start")

        run("ip", "-n", w.t.sw, "link", "del", lb.port)  # takes the lb's eth0 with it
        t0 = time.monotonic()
        jd.wait_for(lambda: not jd.ctl("status")["interface_states"][0]["attached"], 10, "interface seen gone")
        gone_s = time.monotonic() - t0
        check("interface gone interface=eth0" in jd.log(), "no log line for the vanished interface")
        check(metric(jd, "julier_interface_attached", 'interface="eth0"') == 0, "metric attached != 0 while gone")
        text = jd.ctl("status", json_out=False)
        check("NOT FORWARDING" in text, f"julierctl status does not show the missing interface:\n{text}")

        recreate_lb_link(w)
        t0 = time.monotonic()
        state = jd.wait_for(lambda: (s := jd.ctl("status")["interface_states"][0])["attached"] and s, 10,
                            "re-attach")
        back_s = time.monotonic() - t0
        check(state["reattached"] == 1, f"status counts {state['reattached']} re-attaches, not 1")
        check(xdp_prog_id(lb.ns) is not None, "no XDP program on the re-created eth0")
        check("interface reattached interface=eth0" in jd.log(), "no log line for the re-attach")
        check(metric(jd, "julier_interface_reattaches_total", 'interface="eth0"') == 1, "reattach metric != 1")
        # Traffic resumes through the forwarder (the clients learnt the new MAC from
        # the announcement; the health checks keep passing).
        before = {s["name"]: s for s in jd.ctl("services")}["web"]["packets"]
        t0 = time.monotonic()
        deadline = t0 + 20
        while True:
            res = w.client("http", "--vip", VIP4, "--count", "100")
            if res["errors"] == 0:
                break
            check(time.monotonic() < deadline, f"traffic did not resume after the re-attach: {res}")
            time.sleep(0.5)
        resume_s = time.monotonic() - t0
        fwd = {s["name"]: s for s in jd.ctl("services")}["web"]
        check(fwd["packets"] - before >= 100, f"the forwarder counted {fwd['packets'] - before} packets, not >= 100")
        print(f"  interface gone noticed in {gone_s:.2f}s, re-attached {back_s:.2f}s after it came back, "
              f"traffic ok {resume_s:.2f}s later: {res['by_backend']}")


@test
def test_mac_change():
    with World(ARGS.build) as w:
        be = addrs(w)
        jd = w.start_julierd(web(be))
        w.wait_all_up("web", be)
        check("be1" in serves(w, 300)["by_backend"], "be1 got no traffic before the change")
        be1 = w.t.backends()[0]
        new_mac = "02:00:00:be:01:99"
        # A replaced backend announces itself (arp_notify: gratuitous ARP on the change).
        be1.sh("sysctl", "-qw", "net.ipv4.conf.eth0.arp_notify=1")
        t0 = time.monotonic()
        be1.sh("ip", "link", "set", "dev", "eth0", "address", new_mac)
        line = jd.wait_for(lambda: re.search(rf"next hop changed backend={re.escape(be[0])} mac={new_mac}\S*",
                                             jd.log()), 15, "the new MAC in the log")
        follow_s = time.monotonic() - t0
        res = serves(w, 300)
        check(res["by_backend"].get("be1", 0) > 0, f"be1 gets nothing after its MAC changed: {res}")
        print(f"  forwarding followed the new MAC {follow_s:.2f}s after the change ({line.group(0)}); {res['by_backend']}")


def main() -> int:
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("test")
    ARGS = ap.parse_args()
    if os.geteuid() != 0:
        print("fault tests need root", file=sys.stderr)
        return 77
    ARGS.build = os.path.abspath(ARGS.build)
    e2e.ARGS = ARGS
    return run_named_test(TESTS, ARGS.test)


if __name__ == "__main__":
    sys.exit(main())
