#!/usr/bin/python3
"""julierctl weight, maint and ready against a running julierd (root only).

As an operator uses them: `weight` changes a backend's share of new flows (the
forwarder's own pick, asked with `julierctl which` over many flows), `maint` takes
a backend whose health check passes out of the ring and moves its established flows,
`ready` brings it back; the overrides survive a julierd restart; a reload that
changes the same backend's weight in the file drops the operator's weight, one
that changes anything else keeps it, and maint holds through both; a drains-only
file of the earlier version is still read at start.

Topology: test_julierd.py's World (namespace `lb` with julierd, namespace `peer` with
the client and backend 198.18.0.20), plus a second backend 198.18.0.22 listening in
`peer`. Everything is removed on exit, also on failure.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runner import run_test  # noqa: E402
from test_julierd import BACKEND_NEW, BACKEND_UP, CLIENT, VIP, Failure, World, check, run, step, wait_for  # noqa: E402

FLOWS = 300  # client ports asked with `which`; the shares below allow > 5 standard deviations


class OverridesWorld(World):
    def setup(self) -> None:
        super().setup()
        run("ip", "-n", self.peer, "addr", "add", f"{BACKEND_NEW}/24", "dev", "eth0")
        listener = ("import socket\n"
                    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                    f"s.bind(('{BACKEND_NEW}', 80)); s.listen(64)\n"
                    "while True:\n    c, _ = s.accept(); c.close()\n")
        self.procs.append(subprocess.Popen(["ip", "netns", "exec", self.peer, "/usr/bin/python3", "-c", listener],
                                           stdin=subprocess.DEVNULL))

    def which(self, port: int) -> dict:
        return self.ctl("which", "tcp", f"{CLIENT}:{port}", f"{VIP}:80")

    def ring_share(self, backend: str) -> float:
        """The share of FLOWS new flows the forwarder's ring gives `backend`."""
        picks = [self.which(40000 + i)["ring_backend"] for i in range(FLOWS)]
        return picks.count(backend) / len(picks)

    def overrides_file(self) -> str:
        return os.path.join(self.run_dir, "operator-overrides.json")

    def stop(self) -> None:
        self.daemon.send_signal(signal.SIGTERM)
        check(self.daemon.wait(timeout=15) == 0, f"julierd exited {self.daemon.returncode} on SIGTERM")


def test(w: OverridesWorld) -> None:
    a, b = BACKEND_UP, BACKEND_NEW
    w.write_config(w.catalogue([(a, 100, "active"), (b, 100, "active")]))
    w.start("julierd-1")
    wait_for(lambda: all(x["health"] == "up" and x["state"] == "active" for x in w.backends().values()),
             "both backends up")

    step("the file's weights: new flows split about evenly")
    share = w.ring_share(b)
    check(0.35 < share < 0.65, f"{b} gets {share:.2f} of new flows at weights 100:100")
    x = w.backends()[b]
    check(x["weight_source"] == "config" and x["state_source"] == "config" and x["config_weight"] == 100, f"{x}")

    step("weight: the operator's weight sets the share of new flows")
    res = w.ctl("weight", "web", b, "300", json_out=False)
    check(res.stdout == f"web {b}: weight 300 (operator; the file says 100) (state active, weight now 300)\n",
          f"julierctl weight says: {res.stdout!r}")
    x = w.backends()[b]
    check(x["weight"] == 300 and x["weight_now"] == 300 and x["weight_source"] == "operator"
          and x["config_weight"] == 100, f"after weight 300: {x}")
    share = w.ring_share(b)
    check(0.62 < share < 0.88, f"{b} gets {share:.2f} of new flows at weights 100:300")
    human = w.ctl("backends", "web", json_out=False).stdout
    check(re.search(rf"^web\s+{re.escape(b)}\s+300\s+300\s+up\s+active\b.*weight 300 by operator \(file: 100\)$",
                    human, re.M), f"backends table:\n{human}")
    check(not w.ctl("weight", "web", b, "300")["changed"], "the same weight again reported a change")
    res = w.ctl("weight", "web", b, "1000001", rc=1)
    check("weight 1000001 is out of range: 0 to 1000000" in res.stderr, f"a weight over the bound: {res.stderr}")
    res = w.ctl("weight", "web", "198.18.0.99", "5", rc=1)
    check("has no backend 198.18.0.99" in res.stderr, f"weight of an unknown backend: {res.stderr}")
    res = w.ctl("weight", "web", b, "many", rc=None)
    check(res.returncode > 100, f"a weight that is no number: exit {res.returncode}")
    check(w.backends()[b]["weight"] == 300, "a refused weight changed the weight")

    step("maint: out of the ring while its check passes; its established flows move")
    ports = w.send_syns(40)
    on_b = [p for p in ports if w.which(p)["entry_backend"] == b]
    check(on_b, f"none of {len(ports)} flows has an entry on {b}")
    res = w.ctl("maint", "web", b, json_out=False)
    check(res.stdout == f"web {b}: maint: forced down, its flows go to other backends (state maint)\n",
          f"julierctl maint says: {res.stdout!r}")
    x = w.backends()[b]
    check(x["state"] == "maint" and x["health"] == "up" and x["weight_now"] == 0 and x["state_source"] == "operator",
          f"in maint: {x}")
    check(w.ring_share(b) == 0, f"{b} in maint still gets new flows")
    for p in on_b:
        r = w.which(p)
        check(r["entry_backend"] == b and not r["entry_kept"] and r["backend"] == a,
              f"an established flow of a backend in maint stays on it: {r}")
    human = w.ctl("backends", "web", json_out=False).stdout
    check(re.search(rf"^web\s+{re.escape(b)}\s+300\s+0\s+up\s+maint\b.*maint by operator", human, re.M),
          f"backends table:\n{human}")
    check(w.ctl("services")[0]["backends_in_ring"] == 1, "the backend in maint is counted in the ring")
    metrics = w.scrape()
    check(re.search(rf'^julier_backend_maint\{{[^}}]*backend="{re.escape(b)}"[^}}]*\}} 1$', metrics, re.M),
          "julier_backend_maint of the backend in maint is not 1")
    check(re.search(rf'^julier_backend_maint\{{[^}}]*backend="{re.escape(a)}"[^}}]*\}} 0$', metrics, re.M),
          "julier_backend_maint of the other backend is not 0")
    check(re.search(rf'^julier_backend_up\{{[^}}]*backend="{re.escape(b)}"[^}}]*\}} 1$', metrics, re.M),
          "julier_backend_up no longer shows the health check of the backend in maint")
    check(not w.ctl("maint", "web", b)["changed"], "a second maint reported a change")
    check(w.ctl("status")["operator_overrides"] == [f"web {b}: weight 300, maint"], "status lacks the overrides")
    human = w.ctl("status", json_out=False).stdout
    check(f"operator     web {b}: weight 300, maint\n" in human, f"status:\n{human}")

    step("restart: the weight and maint survive")
    w.stop()
    with open(w.overrides_file()) as f:
        saved = json.load(f)
    check(saved == {"operator_overrides": [{"service": "web", "backend": b, "weight": 300, "config_weight": 100,
                                            "maint": True}]}, f"the overrides file: {saved}")
    w.start("julierd-2")
    x = w.backends()[b]
    check(x["state"] == "maint" and x["weight"] == 300 and x["weight_source"] == "operator",
          f"overrides after a restart: {x}")
    check(re.search(rf'operator override restored service=web backend={re.escape(b)} override="weight 300, maint"',
                    w.log()), "the restored overrides were not logged")
    check(w.ring_share(b) == 0, f"{b} gets new flows after a restart in maint")

    step("ready: back in the ring with the operator's weight")
    res = w.ctl("ready", "web", b, json_out=False)
    check(res.stdout == f"web {b}: ready: maint lifted (state active, weight now 300)\n",
          f"julierctl ready says: {res.stdout!r}")
    x = w.backends()[b]
    check(x["weight_now"] == 300 and x["state_source"] == "config", f"after ready: {x}")
    share = w.ring_share(b)
    check(0.62 < share < 0.88, f"{b} gets {share:.2f} of new flows after ready at weights 100:300")
    check(not w.ctl("ready", "web", b)["changed"], "ready of a backend not in maint reported a change")

    step("reload: another backend's weight changes, the operator's weight stays")
    w.write_config(w.catalogue([(a, 150, "active"), (b, 100, "active")]))
    w.ctl("reload")
    x = w.backends()[b]
    check(x["weight"] == 300 and x["weight_source"] == "operator", f"the operator's weight lost on reload: {x}")

    step("maint holds through a reload that changes the backend's weight; that weight drops the operator's")
    w.ctl("maint", "web", b)
    w.write_config(w.catalogue([(a, 150, "active"), (b, 50, "active")]))
    w.ctl("reload")
    x = w.backends()[b]
    check(x["weight"] == 50 and x["weight_source"] == "config" and x["config_weight"] == 50,
          f"the file's new weight did not replace the operator's: {x}")
    check(x["state"] == "maint", f"a reload changing the backend's weight lifted maint: {x}")
    check(re.search(rf'operator override dropped service=web backend={re.escape(b)} override="weight 300" '
                    r'reason="weight changed in the catalogue to 50"', w.log()), "the dropped weight was not logged")
    w.ctl("ready", "web", b)
    wait_for(lambda: w.backends()[b]["state"] == "active", "the backend to be active after ready")
    check(w.backends()[b]["weight_now"] == 50, "the file's weight does not hold after ready")
    check(not os.path.exists(w.overrides_file()), "an overrides file is left with no override")

    step("a drains-only file of the earlier version is read at start, then replaced")
    w.stop()
    old = os.path.join(w.run_dir, "operator-drains.json")
    with open(old, "w") as f:
        json.dump({"operator_overrides": [{"service": "web", "backend": a, "state": "drain",
                                           "config_state": "active"}]}, f)
    w.start("julierd-3")
    x = w.backends()[a]
    check(x["state"] == "drain" and x["drain_source"] == "operator", f"the earlier file's drain was not read: {x}")
    check(not os.path.exists(old), "the earlier file is left beside the new one")
    with open(w.overrides_file()) as f:
        check(json.load(f)["operator_overrides"][0]["state"] == "drain", "the drain was not saved in the new file")
    w.stop()


def main() -> int:
    def print_log(world: World) -> None:
        print(f"---- julierd log ({world.log_path}) ----\n{world.log()[-6000:]}", file=sys.stderr)

    return run_test(__doc__, ("control/daemon/julierd", "control/cli/julierctl"), OverridesWorld, test, Failure,
                    print_log)


if __name__ == "__main__":
    sys.exit(main())
