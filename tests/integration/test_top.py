#!/usr/bin/python3
"""julierctl top in a real terminal (tmux) and piped, against julierd with traffic (root only).

The end-to-end topology (tests/e2e: a client, the lb with julierd, two backends)
carries held TCP connections to one service. julierctl top runs in a tmux pane
of a tmux server of this test's own: the screen shows the service and both
backends, packets per second become non-zero and change from refresh to refresh
in place, active flows count the held connections; julierd stopping is shown and
top carries on when it is back; `q` and Ctrl-C end it with the terminal as it
was. Piped, it prints plain blocks and ends after -n refreshes, or with an error
when julierd goes away.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from e2e import World as E2eWorld, catalogue, service  # noqa: E402
from topo import VIP4, Fail, wait_until  # noqa: E402

from runner import run_test  # noqa: E402

CONNS = 6


# The e2e helpers' failure: run_test reports it, and wait_until raises it.
Failure = Fail


def check(condition, message: str) -> None:
    if not condition:
        raise Failure(message)


def wait_for(predicate, what: str, timeout: float = 10.0):
    return wait_until(predicate, timeout, what)


def rate(text: str) -> float | None:
    """A rate as top shows it ("0", "0.5", "12", "1.2k", "3.4M") as a number; None
    for "-" (no rate yet)."""
    if text == "-":
        return None
    m = re.fullmatch(r"([0-9.]+)([kMGTPE]?)", text)
    check(m is not None, f"not a rate: {text!r}")
    return float(m.group(1)) * 1000 ** " kMGTPE".index(m.group(2) or " ")


class Screen:
    """The rows of one capture of top's screen."""

    def __init__(self, text: str, backends: list[str]):
        self.text = text
        self.lines = text.splitlines()
        self.service: list[str] | None = None
        self.backends: dict[str, list[str]] = {}
        for line in self.lines:
            words = line.split()
            if line.startswith("web "):
                # web VIP PACKETS/S BYTES/S NEW/S FLOWS 2/2 up WEIGHT(empty) 2/2 in ring
                self.service = words
            elif line.startswith("  ") and words and words[0] in backends:
                # ADDRESS PACKETS/S BYTES/S NEW/S FLOWS HEALTH WEIGHT STATE
                self.backends[words[0]] = words

    def complete(self) -> bool:
        return self.service is not None and len(self.backends) == 2

    def packets(self) -> float:
        """web's packets per second, 0 before there is a rate."""
        return rate(self.service[2]) or 0

    def flows(self) -> str:
        return self.service[5]


class World:
    """The e2e world (topology, backend servers, julierd) and a tmux server of this
    test's own; close() undoes both."""

    def __init__(self, build: str):
        self.build = build
        self.e2e = E2eWorld(build, n_backends=2)
        self.tmux_dir = tempfile.mkdtemp(prefix="julier-top-")
        self.tmux_socket = os.path.join(self.tmux_dir, "tmux.sock")
        self.tmux_started = False
        self.holds: list[subprocess.Popen] = []

    def setup(self) -> None:
        self.e2e.__enter__()

    def close(self) -> None:
        if self.tmux_started:
            subprocess.run(self.tmux_cmd("kill-server"), capture_output=True)
        shutil.rmtree(self.tmux_dir, ignore_errors=True)
        for p in self.holds:
            if p.poll() is None:
                p.terminate()
        self.e2e.__exit__(None, None, None)

    def julierctl(self) -> str:
        return os.path.join(self.build, "control", "cli", "julierctl")

    def tmux_cmd(self, *args: str) -> list[str]:
        return ["tmux", "-S", self.tmux_socket, "-f", "/dev/null", *args]

    def tmux(self, *args: str) -> str:
        res = subprocess.run(self.tmux_cmd(*args), capture_output=True, text=True, timeout=10)
        check(res.returncode == 0, f"tmux {' '.join(args)}: {res.stderr.strip()}")
        return res.stdout

    def start_in_tmux(self, window: str, top_args: str) -> None:
        """`julierctl top` in a 160x40 pane; the shell around it prints whether the
        terminal's settings are as before and julierctl's exit status, then waits."""
        # The shell goes on after a Ctrl-C that ends julierctl (its trap).
        script = (f"trap : INT; before=$(stty -g); {self.julierctl()} --socket {self.e2e.jd.socket} top {top_args}; rc=$?; "
                  'if [ "$(stty -g)" = "$before" ]; then echo terminal-restored; else echo terminal-changed; fi; '
                  "echo julierctl-exit=$rc; sleep 60")
        if not self.tmux_started:
            self.tmux("new-session", "-d", "-x", "160", "-y", "40", "-s", "top", "-n", window, "sh", "-c", script)
            self.tmux_started = True
        else:
            self.tmux("new-window", "-d", "-t", "top", "-n", window, "sh", "-c", script)
        self.tmux("resize-window", "-t", f"top:{window}", "-x", "160", "-y", "40")

    def capture(self, window: str, backends: list[str]) -> Screen:
        return Screen(self.tmux("capture-pane", "-p", "-t", f"top:{window}"), backends)

    def hold(self, seconds: float) -> subprocess.Popen:
        p = self.e2e.client_bg("hold", "--vip", VIP4, "--conns", str(CONNS), "--seconds", str(seconds),
                               "--every", "0.05")
        self.holds.append(p)
        first = p.stdout.readline()
        check('"connected": %d' % CONNS in first, f"hold client did not connect: {first!r}")
        return p


def test(w: World) -> None:
    be = [b.addr4 for b in w.e2e.t.backends()]
    jd = w.e2e.start_julierd(catalogue(service("web", VIP4, 7000, "tcp", [(a, 100) for a in be])))
    w.e2e.wait_all_up("web", be)
    w.hold(60)

    print("terminal: rows, rates that move, active flows")
    w.start_in_tmux("q", "--interval 500ms")
    first = wait_for(lambda: (s := w.capture("q", be)).complete() and s.packets() > 0 and s,
                     "the service and both backends with packets/s above 0 on the screen")
    check("\x1b" not in first.text, f"escape codes shown as text:\n{first.text}")
    check(first.lines[0].startswith("julierd ") and "dataplane generation" in first.lines[0],
          f"header: {first.lines[0]!r}")
    check(sum(1 for line in first.lines if line.startswith("SERVICE/BACKEND")) == 1,
          f"the table is drawn once, in place:\n{first.text}")
    for addr, words in first.backends.items():
        check(words[5] == "up" and words[6] == "100/100" and words[7] == "active", f"backend row {words}")
        check(rate(words[3]) is not None, f"backend row without new flows/s: {words}")
    # Refreshed in place: the header's clock and the rates change, on the same screen.
    changed = wait_for(lambda: (s := w.capture("q", be)).complete() and s.lines[0] != first.lines[0]
                       and s.service[2:4] != first.service[2:4] and s, "the rates of web to change")
    check(changed.packets() > 0, f"packets/s while traffic flows: {changed.service}")
    check(sum(1 for line in changed.lines if line.startswith("SERVICE/BACKEND")) == 1,
          f"the table is drawn once, in place:\n{changed.text}")
    wait_for(lambda: (s := w.capture("q", be)).complete() and s.flows() == str(CONNS),
             f"{CONNS} active flows of web (the held connections)")

    print("terminal: q quits, the terminal as before")
    w.tmux("send-keys", "-t", "top:q", "q")
    done = wait_for(lambda: "julierctl-exit=" in (t := w.tmux("capture-pane", "-p", "-t", "top:q")) and t,
                    "julierctl to exit after q")
    check("julierctl-exit=0" in done, f"exit status after q:\n{done}")
    check("terminal-restored" in done, f"terminal settings after q:\n{done}")
    check("SERVICE/BACKEND" not in done, f"the normal screen is not back after q:\n{done}")

    print("terminal: julierd stops and comes back; piped top ends with an error")
    w.start_in_tmux("c", "--interval 500ms --sort catalogue")
    wait_for(lambda: w.capture("c", be).complete(), "top's rows in the second window")
    plain = subprocess.Popen([w.julierctl(), "--socket", jd.socket, "top", "--interval", "500ms"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: plain.stdout.readline().startswith("web "), "a row of web from the piped top")
    jd.stop()  # SIGTERM: forwarding stays, the control socket goes
    out, err = plain.communicate(timeout=10)
    check(plain.returncode == 2 and "julierd is not running" in err,
          f"piped top when julierd stopped: exit {plain.returncode}, {err.strip()!r}")
    gone = wait_for(lambda: "trying again" in (t := w.tmux("capture-pane", "-p", "-t", "top:c")) and t,
                    "top to show that julierd is gone")
    check("julierd is not running" in gone, f"the error on the screen:\n{gone}")
    jd.start()  # adopts the pins: the counters carry on
    wait_for(lambda: (s := w.capture("c", be)).complete() and "trying again" not in s.text and s.packets() > 0,
             "top to show rates again after julierd came back")

    print("terminal: a smaller terminal, the screen fits it")
    w.tmux("resize-window", "-t", "top:c", "-x", "60", "-y", "6")

    def fits():
        text = w.tmux("capture-pane", "-p", "-t", "top:c")
        lines = text.rstrip("\n").splitlines()
        return "more rows" in text and text.startswith("julierd ") and len(lines) <= 6 and lines

    lines = wait_for(fits, "top to redraw for 60x6")
    check(all(len(line) <= 60 for line in lines), f"lines wider than the terminal: {lines}")
    check(lines[-1].startswith("... 2 more rows"), f"the last line of a 6-line screen: {lines[-1]!r}")

    print("terminal: Ctrl-C ends it, the terminal as before")
    w.tmux("send-keys", "-t", "top:c", "C-c")
    done = wait_for(lambda: "julierctl-exit=" in (t := w.tmux("capture-pane", "-p", "-t", "top:c")) and t,
                    "julierctl to exit after Ctrl-C")
    check("julierctl-exit=130" in done, f"exit status after Ctrl-C (killed by SIGINT):\n{done}")
    check("terminal-restored" in done and "SERVICE/BACKEND" not in done, f"terminal after Ctrl-C:\n{done}")

    print("piped: plain blocks, -n refreshes")
    res = subprocess.run([w.julierctl(), "--socket", jd.socket, "top", "-n", "2", "--interval", "500ms"],
                         capture_output=True, text=True, timeout=20)
    check(res.returncode == 0, f"piped top -n 2 exited {res.returncode}: {res.stderr}")
    check("\x1b" not in res.stdout, f"escape codes in the piped output:\n{res.stdout!r}")
    blocks = [b for b in res.stdout.split("\n\n") if b.strip()]
    headers = [line for line in res.stdout.splitlines() if line.startswith("julierd ")]
    check(len(headers) == 2, f"two refreshes, {len(headers)} headers:\n{res.stdout}")
    for header in headers:
        check(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", header), f"a block's date and time: {header!r}")
    rows = [Screen(b, be) for b in res.stdout.split("julierd ")[1:]]
    check(all(s.complete() and s.packets() > 0 for s in rows), f"rows with traffic in each block:\n{res.stdout}")
    check(len(blocks) >= 2, f"blocks apart: {blocks}")

    res = subprocess.run([w.julierctl(), "--socket", jd.socket, "top", "-n", "1", "--service", "nope"],
                         capture_output=True, text=True, timeout=20)
    check(res.returncode == 1 and "no service 'nope'" in res.stderr,
          f"top --service nope: exit {res.returncode}, {res.stderr.strip()!r}")


def main() -> int:
    def print_log(world: World) -> None:
        if world.e2e.jd:
            print(f"---- julierd log ----\n{world.e2e.jd.log()[-6000:]}", file=sys.stderr)

    if subprocess.run(["sh", "-c", "command -v tmux"], capture_output=True).returncode != 0:
        print("skipped: needs tmux (scripts/install-deps)")
        return 77
    return run_test(__doc__, ("control/daemon/julierd", "control/cli/julierctl", "xdp/xdp_pass.bpf.o"), World, test, Failure, print_log)


if __name__ == "__main__":
    sys.exit(main())
