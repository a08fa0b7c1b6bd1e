"""The julier demo: three backends behind one VIP, in network namespaces.

Shows requests spread by Maglev, a backend failing and traffic moving, the backend
coming back, a SIGHUP reload that changes weights, and a few lines of /metrics.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import time

from julier import Julierd
from topo import VIP4, VIP6, Topology, run

PREFIX = "jldemo"


def title(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def requests(t: Topology, kind: str, vip: str, count: int) -> dict:
    cl = t.clients()[0]
    out = cl.sh("/usr/bin/python3", os.path.join(E2E, "client.py"), kind, "--vip", vip,
                "--count", str(count)).stdout
    return json.loads(out)


def table(result: dict, backends: list, label: str, v6: bool = False) -> None:
    names = {b.role: b for b in backends}
    total = sum(result["by_backend"].values()) or 1
    print(f"  {label}: {sum(result['by_backend'].values())} answered, {result['errors']} failed")
    print(f"  {'backend':<8} {'address':<14} {'answers':>8}  share")
    for role in sorted(names):
        n = result["by_backend"].get(role, 0)
        bar = "#" * round(40 * n / total)
        addr = names[role].addr6 if v6 else names[role].addr4
        print(f"  {role:<8} {addr:<14} {n:>8}  {100 * n / total:5.1f}% {bar}")


def show_backends(jd: Julierd, service: str) -> None:
    print(jd.ctl("backends", service, json_out=False), end="")


def clean() -> None:
    """Remove a demo network left up by --keep."""
    pidfile = "/run/julier-demo/demo.pid"
    if os.path.exists(pidfile):
        with open(pidfile) as f:
            pid = int(f.read().strip() or 0)
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass
        os.unlink(pidfile)
    for line in run("ip", "netns", "list").stdout.splitlines():
        ns = line.split()[0]
        if ns.startswith(PREFIX + "-"):
            run("ip", "netns", "del", ns, check=False)
    run("rm", "-rf", "/sys/fs/bpf/julier-demo", "/run/julier-demo", check=False)
    print("demo network removed")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--top", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--keep", action="store_true", help="leave the network up afterwards")
    ap.add_argument("--clean", action="store_true", help="remove a network left by --keep")
    a = ap.parse_args()
    if a.clean:
        clean()
        return 0
    global E2E
    E2E = os.path.join(a.top, "tests", "e2e")
    config_text = open(os.path.join(a.top, "config", "demo.yaml")).read()
    os.makedirs("/run/julier-demo", exist_ok=True)

    t = Topology(backends=3, clients=1, prefix=PREFIX)
    t.__enter__()
    jd = None
    try:
        title("Demo network (network namespaces; nothing leaves this machine)")
        print(f"  client   {t.clients()[0].addr4:<14} {t.clients()[0].addr6}")
        print(f"  julier   {t.lb().addr4:<14} {t.lb().addr6}   (XDP on eth0)")
        for b in t.backends():
            print(f"  {b.role:<8} {b.addr4:<14} {b.addr6}   (holds the VIPs on lo)")
        print(f"  VIPs     {VIP4}:80/tcp  {VIP4}:5353/udp  [{VIP6}]:80/tcp")

        servers = {}
        for b in t.backends():
            servers[b.role] = b.popen("/usr/bin/python3", os.path.join(E2E, "backend_server.py"),
                                      "--name", b.role, stdout=subprocess.DEVNULL)
        t.let_lb_transmit(os.path.join(a.build, "xdp", "xdp_pass.bpf.o"))

        title("Start julierd on config/demo.yaml")
        jd = Julierd(a.build, t.lb(), config_text, name="julier-demo",
                     pin_dir="/sys/fs/bpf/julier-demo", socket="/run/julier-demo/julierd.sock")
        jd.start()
        jd.wait_for(lambda: all(h == "up" for h in jd.backend_health("web").values()),
                    what="backends up")
        print(jd.ctl("services", json_out=False), end="")

        title("300 HTTP requests to the VIP, each a new connection")
        table(requests(t, "http", VIP4, 300), t.backends(), f"http://{VIP4}/")
        table(requests(t, "http", VIP6, 150), t.backends(), f"http://[{VIP6}]/", v6=True)
        title("100 UDP datagrams to the VIP, each from a new port")
        table(requests(t, "udp", VIP4, 100), t.backends(), f"udp {VIP4}:5353")

        title("be2's server dies: health checks take it out of the ring")
        servers["be2"].terminate()
        servers["be2"].wait()
        start = time.monotonic()
        jd.wait_for(lambda: jd.backend_health("web").get(t.hosts["be2"].addr4) == "down",
                    what="be2 down")
        print(f"  be2 marked down after {time.monotonic() - start:.1f}s (fall 2 x interval 500ms)")
        show_backends(jd, "web")
        table(requests(t, "http", VIP4, 300), t.backends(), "after the failure")

        title("be2 comes back")
        servers["be2"] = t.hosts["be2"].popen("/usr/bin/python3", os.path.join(E2E, "backend_server.py"),
                                              "--name", "be2", stdout=subprocess.DEVNULL)
        jd.wait_for(lambda: jd.backend_health("web").get(t.hosts["be2"].addr4) == "up", what="be2 up")
        table(requests(t, "http", VIP4, 300), t.backends(), "after recovery")

        title("Reload (SIGHUP): be3's weight 100 -> 300")
        before = jd.ctl("status")["config_generation"]
        jd.write_config(config_text.replace("{address: 198.18.0.23, weight: 100}",
                                            "{address: 198.18.0.23, weight: 300}"))
        jd.reload()
        jd.wait_for(lambda: jd.ctl("status")["config_generation"] > before, what="reload")
        table(requests(t, "http", VIP4, 500), t.backends(), "weights 100/100/300")

        title("A few lines of /metrics")
        out = t.lb().sh("curl", "-s", "http://127.0.0.1:9641/metrics", check=False).stdout
        lines = [l for l in out.splitlines()
                 if l.startswith(("julier_service_packets_total", "julier_backend_weight{service=\"web\""))
                 or (l.startswith("julier_forwarder_packets_total") and not l.endswith(" 0"))]
        print("\n".join("  " + l for l in lines[:12]) or "  (metrics endpoint not available)")

        if a.keep:
            with open("/run/julier-demo/demo.pid", "w") as f:
                f.write(str(jd.proc.pid))
            title("The demo network stays up")
            print(f"  ip netns exec {PREFIX}-cl1 curl http://{VIP4}/")
            print(f"  {jd.binary('julierctl')} --socket {jd.socket} backends web")
            print(f"  ip netns exec {PREFIX}-lb curl -s http://127.0.0.1:9641/metrics")
            print("  remove it with: scripts/demo --clean")
            t._closed = True  # leave namespaces and processes running
            return 0
        title("Clean up")
        return 0
    finally:
        if not a.keep:
            if jd:
                jd.teardown()
            t.close()
            print("  namespaces, XDP programs and pins removed")


if __name__ == "__main__":
    sys.exit(main())
