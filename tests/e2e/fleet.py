"""julier fleet end to end: two julier boxes announce VIPs over BGP (each running
BIRD + julierd) to a router namespace running BIRD with ECMP; three backends answer
clients directly (DSR) through the router.

  fleet.py --build BUILD_DIR

  cl (198.18.1.10-14) --- rt (198.18.1.1 | 198.18.0.1) --- bridge --- lb1 198.18.0.2
                                                                  +-- lb2 198.18.0.3
                                                                  +-- be1..3 198.18.0.21-23
Shows: healthy VIPs are routed with two next hops; a service whose backends all fail
is withdrawn by both boxes and comes back after the hold-down; and, the headline,
long-lived TCP connections spread over both boxes survive losing one box.
Everything (namespaces, pins, XDP programs, processes) is removed on any exit.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from julier import Julierd
from topo import Fail, Host, Topology, catalogue_header, check, run, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
VIP_HOLD = "198.19.0.1"   # service "hold": port 7000, stays healthy
VIP_WEB = "198.19.0.2"    # service "web": its health port is switched off and on
CLIENTS = [f"198.18.1.{10 + i}" for i in range(5)]
BOXES = {"lb1": "198.18.0.2", "lb2": "198.18.0.3"}
ROUTER = "198.18.0.1"
HOLD_DOWN = 3.0
CONNS = 200


def xdp_attached(ns: str, dev: str = "eth0") -> bool:
    return "prog/xdp" in run("ip", "-n", ns, "-d", "link", "show", "dev", dev).stdout


class Fleet(Topology):
    """The topology above, built with topo.py's namespace and cleanup discipline."""

    def __init__(self):
        super().__init__(backends=3, clients=0)
        self.birds: dict[str, int] = {}  # role -> pid of its BIRD (it daemonises itself)

    def close(self) -> None:
        for pid in self.birds.values():
            self.kill_bird_pid(pid)
        self.birds.clear()
        super().close()

    @staticmethod
    def kill_bird_pid(pid: int) -> None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def kill_bird(self, role: str) -> None:
        self.kill_bird_pid(self.birds.pop(role))

    def _build(self) -> None:
        self.sw = self._add_ns("sw")
        run("ip", "-n", self.sw, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.sw, "link", "set", "br0", "up")
        self.rt = self._host("rt", ROUTER, "2001:db8::1")
        for role, addr in BOXES.items():
            self._host(role, addr, f"2001:db8::{addr.rsplit('.', 1)[1]}")
            # Frames for a box whose port is gone are not flooded to the other box:
            # survival must come from the router's convergence alone.
            run("ip", "netns", "exec", self.sw, "bridge", "link", "set", "dev", f"p-{role}", "flood", "off")
        for i in range(1, 4):
            self._host(f"be{i}", f"198.18.0.{20 + i}", f"2001:db8::{20 + i}")
        # Client link: a veth pair straight between router and client.
        cl = self._add_ns("cl")
        run("ip", "-n", self.rt.ns, "link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", cl)
        run("ip", "-n", self.rt.ns, "addr", "add", "198.18.1.1/24", "dev", "eth1")
        run("ip", "-n", self.rt.ns, "link", "set", "eth1", "up")
        for a in CLIENTS:
            run("ip", "-n", cl, "addr", "add", f"{a}/24", "dev", "eth0")
        run("ip", "-n", cl, "link", "set", "eth0", "up")
        run("ip", "-n", cl, "route", "add", "default", "via", "198.18.1.1")
        run("ip", "netns", "exec", cl, "ethtool", "-K", "eth0", "tx", "off", quiet=True)
        self.cl = Host(self, "cl", cl, CLIENTS[0], "", "")
        self.hosts["cl"] = self.cl
        for key, val in (("net.ipv4.ip_forward", "1"), ("net.ipv4.fib_multipath_hash_policy", "1")):
            self.rt.sh("sysctl", "-qw", f"{key}={val}")
        for h in self.backends():
            h.sh("ip", "addr", "add", f"{VIP_HOLD}/32", "dev", "lo")
            h.sh("ip", "addr", "add", f"{VIP_WEB}/32", "dev", "lo")
            h.sh("ip", "route", "add", "198.18.1.0/24", "via", ROUTER)
            for key, val in (("net.ipv4.conf.all.arp_ignore", "1"), ("net.ipv4.conf.all.arp_announce", "2"),
                             ("net.ipv4.conf.all.rp_filter", "0"), ("net.ipv4.conf.eth0.rp_filter", "0")):
                h.sh("sysctl", "-qw", f"{key}={val}")
        for h in [self.hosts[r] for r in BOXES] + list(self.backends()):
            while run("ip", "netns", "exec", self.rt.ns, "ping", "-c1", "-W1", h.addr4, check=False).returncode:
                time.sleep(0.2)

    def box(self, role: str) -> Host:
        return self.hosts[role]

    def start_bird(self, host: Host, workdir: str, conf: str) -> str:
        path = os.path.join(workdir, "bird.conf")
        with open(path, "w") as f:
            f.write(conf)
        sock = os.path.join(workdir, "bird.ctl")
        pidfile = os.path.join(workdir, "bird.pid")
        host.sh("bird", "-c", path, "-s", sock, "-P", pidfile)
        deadline = time.monotonic() + 5
        while True:
            try:
                with open(pidfile) as f:
                    self.birds[host.role] = int(f.read().strip())
                break
            except (OSError, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        return sock


def router_bird() -> str:
    peers = "".join(f"""
protocol bgp {role} {{
  local as 65000;
  neighbor {addr} as 65001;
  hold time 3; keepalive time 1; connect retry time 1; error wait time 1, 2;
  ipv4 {{ import all; export none; }};
}}
""" for role, addr in BOXES.items())
    return f"""router id {ROUTER};
protocol device {{ scan time 1; }}
protocol kernel {{ merge paths on; ipv4 {{ import none; export all; }}; }}
{peers}"""


def box_bird(include: str) -> str:
    return f"""protocol device {{ scan time 1; }}
include "{include}";
"""


def julier_config(role: str, include: str, bird_sock: str) -> str:
    # lb2 withdraws on a clean stop (step 5); lb1 keeps the default.
    backends = "\n".join(f'      - "198.18.0.{20 + i}"' for i in range(1, 4))
    limits = "max_services: 8, max_backends: 64, ring_capacity: 65536, max_flows: 65536"
    return catalogue_header(limits) + f"""bgp:
  bird_include: "{include}"
  bird_socket: "{bird_sock}"
  local_as: 65001
  router_id: {BOXES[role]}
  hold_down: {HOLD_DOWN:g}s
  withdraw_on_stop: {"true" if role == "lb2" else "false"}
  neighbours:
    - {{address: {ROUTER}, as: 65000, hold_time: 3s}}
defaults:
  forwarding: l2
  ring_size: 4099
  health: {{kind: tcp, interval: 300ms, timeout: 200ms, rise: 2, fall: 2}}
services:
  - name: hold
    vip: {VIP_HOLD}
    port: 7000
    bgp: {{communities: ["65000:100"], med: 10}}
    backends:
{backends}
  - name: web
    vip: {VIP_WEB}
    port: 80
    health: {{port: 8081}}
    bgp: {{min_healthy_backends: 2}}
    backends:
{backends}
"""


def next_hops(t: Fleet, vip: str) -> set[str]:
    out = t.rt.sh("ip", "-4", "route", "show", f"{vip}/32").stdout
    return {w[i + 1] for line in out.splitlines() for w in [line.split()] for i, x in enumerate(w) if x == "via"}


def states(jd: Julierd) -> dict[str, str]:
    return {a["vip"]: a["state"] for a in jd.ctl("status")["announcements"]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    a = ap.parse_args()
    started = time.monotonic()
    workdirs: list[str] = []
    jds: dict[str, Julierd] = {}
    with Fleet() as t:
        try:
            pass_obj = os.path.join(a.build, "xdp", "xdp_pass.bpf.o")
            for role in BOXES:
                t.attach_xdp(t.sw, f"p-{role}", pass_obj)
            for b in t.backends():
                b.popen("/usr/bin/python3", os.path.join(HERE, "backend_server.py"), "--name", b.role,
                        stdout=subprocess.DEVNULL)
            health_web = {b.role: b.popen("/usr/bin/python3", os.path.join(HERE, "backend_server.py"),
                                          "--name", b.role, "--http-port", "8081", "--udp-port", "5354",
                                          "--hold-port", "7001", stdout=subprocess.DEVNULL)
                          for b in t.backends()}
            rt_dir = tempfile.mkdtemp(prefix="fleet-rt-")
            workdirs.append(rt_dir)
            t.start_bird(t.rt, rt_dir, router_bird())
            for role in BOXES:
                d = tempfile.mkdtemp(prefix=f"fleet-{role}-")
                workdirs.append(d)
                include = os.path.join(d, "bird-julier.conf")
                sock = os.path.join(d, "bird.ctl")
                jd = Julierd(a.build, t.box(role), julier_config(role, include, sock), name=f"fleet-{role}")
                jds[role] = jd
                jd.start()  # before BIRD: julierd writes the include file, then retries BIRD
                wait_until(lambda: os.path.exists(include), 10, f"{role} include file")
                t.start_bird(t.box(role), d, box_bird(include))

            # 1. Healthy VIPs: two next hops on the router.
            both = set(BOXES.values())
            t0 = time.monotonic()
            wait_until(lambda: next_hops(t, VIP_HOLD) == both and next_hops(t, VIP_WEB) == both, 30,
                 "both VIPs with two next hops on the router")
            print(f"routes: {VIP_HOLD} and {VIP_WEB} via {sorted(both)} after {time.monotonic() - t0:.1f}s")
            for role, jd in jds.items():
                # julierd reads BIRD's sessions once a second: the router may have the
                # routes a moment before the box's status says Established.
                def sessions(jd=jd):
                    return {s["neighbour"]: s["state"] for s in jd.ctl("status")["bgp_sessions"]}
                try:
                    wait_until(lambda: sessions().get(ROUTER, "").startswith("Established"), 5, f"{role} session")
                except Exception:
                    check(False, f"{role} session: {sessions()}")
                check(states(jd) == {VIP_HOLD: "announced", VIP_WEB: "announced"}, f"{role}: {states(jd)}")
                metrics = t.box(role).sh("curl", "-s", "http://127.0.0.1:9641/metrics").stdout
                check(f'julier_vip_announced{{vip="{VIP_WEB}"}} 1' in metrics, f"{role} metrics:\n{metrics[-800:]}")
                check(f'julier_bgp_session_up{{neighbour="{ROUTER}",protocol="julier_n1"}} 1' in metrics,
                      f"{role} session metric missing")

            # 2. Two of three backends fail "web"'s check: below min_healthy_backends 2,
            #    both boxes withdraw its VIP; "hold" stays.
            for role in ("be1", "be2"):
                p = health_web.pop(role)
                p.terminate()
                p.wait()
            t0 = time.monotonic()
            wait_until(lambda: not next_hops(t, VIP_WEB), 15, f"{VIP_WEB} withdrawn from the router")
            print(f"withdraw: {VIP_WEB} gone from the router {time.monotonic() - t0:.1f}s after its backends failed")
            check(next_hops(t, VIP_HOLD) == both, f"{VIP_HOLD} must stay: {next_hops(t, VIP_HOLD)}")
            for role, jd in jds.items():
                check(states(jd)[VIP_WEB] == "withdrawn", f"{role}: {states(jd)}")

            # 3. Restored: announced again, but only after the hold-down.
            for role in ("be1", "be2"):
                health_web[role] = t.hosts[role].popen(
                    "/usr/bin/python3", os.path.join(HERE, "backend_server.py"), "--name", role,
                    "--http-port", "8081", "--udp-port", "5354", "--hold-port", "7001", stdout=subprocess.DEVNULL)
            healthy_at = wait_until(lambda: any(states(jd)[VIP_WEB] == "hold-down" for jd in jds.values())
                              and time.monotonic(), 15, "hold-down")
            wait_until(lambda: next_hops(t, VIP_WEB) == both, 20, f"{VIP_WEB} back with two next hops")
            back = time.monotonic() - healthy_at
            print(f"restore: {VIP_WEB} back on the router {back:.1f}s after it was healthy (hold-down {HOLD_DOWN}s)")
            check(back >= HOLD_DOWN - 0.5, f"announced {back:.1f}s after recovery, before the hold-down")

            # 3b. A reload without the bgp section withdraws that box's VIPs; putting it
            #     back announces them again.
            lb2_config = open(jds["lb2"].config).read()
            start, end = lb2_config.index("bgp:\n"), lb2_config.index("defaults:")
            jds["lb2"].write_config(lb2_config[:start] + lb2_config[end:])
            jds["lb2"].ctl("reload")
            wait_until(lambda: next_hops(t, VIP_HOLD) == {BOXES["lb1"]} and next_hops(t, VIP_WEB) == {BOXES["lb1"]}, 10,
                 "lb2's VIPs withdrawn after a reload without bgp")
            check(not jds["lb2"].ctl("status")["bgp"], "status still says bgp after the reload")
            jds["lb2"].write_config(lb2_config)
            jds["lb2"].ctl("reload")
            wait_until(lambda: next_hops(t, VIP_HOLD) == both and next_hops(t, VIP_WEB) == both, 10,
                 "lb2's VIPs back after a reload with bgp")
            print("reload: removing the bgp section withdrew lb2's VIPs; restoring it announced them again")

            # 4. Headline: connections through both boxes survive losing one.
            hold = subprocess.Popen(
                ["ip", "netns", "exec", t.cl.ns, "/usr/bin/python3", os.path.join(HERE, "client.py"), "hold",
                 "--vip", VIP_HOLD, "--conns", str(CONNS), "--seconds", "22", "--every", "0.5",
                 "--timeout", "20", "--sources", ",".join(CLIENTS)],
                stdout=subprocess.PIPE, text=True)
            t.cl.procs.append(hold)
            first = json.loads(hold.stdout.readline())
            check(first["connected"] == CONNS and all(first["locals"]), f"connected {first['connected']}")
            # The box each connection goes through: the router's own multipath choice
            # for its 5-tuple (fib_multipath_hash_policy=1 hashes the ports too).
            box_of = {}
            for src, sport in first["locals"]:
                r = t.rt.sh("ip", "route", "get", VIP_HOLD, "from", src, "iif", "eth1", "ipproto", "tcp",
                            "sport", str(sport), "dport", "7000").stdout.split()
                box_of[(src, sport)] = r[r.index("via") + 1]
            via_lost = sum(1 for b in box_of.values() if b == BOXES["lb1"])
            check(0 < via_lost < CONNS, f"ECMP did not spread the connections: {via_lost} of {CONNS} via lb1")
            time.sleep(2)
            t0 = time.monotonic()
            # The box vanishes: its link goes down (power loss), then its processes die.
            run("ip", "-n", t.box("lb1").ns, "link", "set", "eth0", "down")
            jds["lb1"].kill9()
            t.kill_bird("lb1")
            wait_until(lambda: next_hops(t, VIP_HOLD) == {BOXES["lb2"]}, 15, "router converged on lb2")
            converged = time.monotonic() - t0
            out, _ = hold.communicate(timeout=90)
            result = json.loads(out)
            moved = [c for c in result["connections"] if box_of[tuple(c["local"])] == BOXES["lb1"]]
            stayed = [c for c in result["connections"] if box_of[tuple(c["local"])] != BOXES["lb1"]]
            ok = lambda c: not c["broken"] and not c["changed"]  # noqa: E731
            survived = sum(1 for c in result["connections"] if ok(c))
            moved_ok = sum(1 for c in moved if ok(c))
            print(f"box loss: router converged on lb2 {converged:.1f}s after lb1's link went down")
            print(f"box loss: {len(moved)} connections went via lb1, {len(stayed)} via lb2; "
                  f"{moved_ok}/{len(moved)} of lb1's continued via lb2 to the same backend; "
                  f"survived {survived}/{CONNS} ({100.0 * survived / CONNS:.1f}%), "
                  f"broken {result['broken']}, changed backend {result['changed']}")
            samples = [c["broken"] for c in result["connections"] if c["broken"]][:5]
            check(survived >= 0.99 * CONNS, f"only {survived}/{CONNS} survived; e.g. {samples}")
            check(all(c["exchanges"] > 10 for c in moved if ok(c)), "moved connections stopped exchanging")

            # 5. A clean stop with withdraw_on_stop withdraws; a restart (adopting the
            #    pinned forwarder) announces again at once; teardown withdraws.
            lb2 = jds["lb2"]
            lb2.signal(signal.SIGTERM)
            lb2.proc.wait(timeout=10)
            wait_until(lambda: not next_hops(t, VIP_HOLD), 10, "SIGTERM with withdraw_on_stop withdrawing lb2's VIPs")
            lb2.start()
            t0 = time.monotonic()
            wait_until(lambda: next_hops(t, VIP_HOLD) == {BOXES["lb2"]} and next_hops(t, VIP_WEB) == {BOXES["lb2"]}, 10,
                 "restarted lb2 announcing again")
            again = time.monotonic() - t0
            print(f"stop/restart: withdraw_on_stop withdrew lb2's VIPs; the restarted julierd (adopting its "
                  f"forwarder) announced them again {again:.1f}s after it was ready")
            # Adopted backends count as up until their first verdicts: no hold-down.
            check(again < HOLD_DOWN - 1, f"a restart went through the hold-down ({again:.1f}s)")
            print("status of lb2 before teardown:\n" + lb2.ctl("status", json_out=False), end="")
            # 6. Teardown withdraws first and detaches only after its grace: the router
            #    has moved the VIPs away while lb2's forwarder still forwards.
            grace = 3.0
            ctl = [lb2.binary("julierctl"), "--socket", lb2.socket, "--json", "teardown", "--yes",
                   "--grace", f"{int(grace * 1000)}ms"]
            t0 = time.monotonic()
            teardown = subprocess.Popen(ctl, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            wait_until(lambda: not next_hops(t, VIP_HOLD) and not next_hops(t, VIP_WEB), 10,
                 "teardown of lb2 withdrawing both VIPs from the router")
            withdrawn = time.monotonic() - t0
            check(withdrawn < grace - 0.5, f"the router lost lb2's VIPs only {withdrawn:.1f}s into a {grace}s grace")
            check(teardown.poll() is None, "teardown answered before its grace ended")
            check(xdp_attached(lb2.host.ns), "lb2's forwarder was detached during the grace")
            refused = subprocess.run([lb2.binary("julierctl"), "--socket", lb2.socket, "reload"],
                                     capture_output=True, text=True, timeout=10)
            check(refused.returncode != 0 and "tearing down" in refused.stderr,
                  f"a reload during the grace was not refused: {refused.returncode} {refused.stderr.strip()}")
            out, err = teardown.communicate(timeout=grace + 30)
            took = time.monotonic() - t0
            check(teardown.returncode == 0, f"teardown failed: {err.strip()}")
            check(took >= grace, f"teardown answered after {took:.1f}s, before its {grace}s grace")
            check(json.loads(out)["detached"] == ["eth0"], f"teardown answer: {out.strip()}")
            check(not xdp_attached(lb2.host.ns), "lb2's forwarder is still attached after teardown")
            print(f"teardown: lb2 withdrew both VIPs {withdrawn:.1f}s in, kept forwarding through its "
                  f"{grace:.0f}s grace and detached after {took:.1f}s")
            return 0
        except BaseException:
            for role, jd in jds.items():
                print(f"---- {role} julierd log ----\n" + jd.log()[-4000:], file=sys.stderr)
            raise
        finally:
            for jd in jds.values():
                jd.teardown()
            for d in workdirs:
                shutil.rmtree(d, ignore_errors=True)
            print(f"fleet test took {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Fail as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
