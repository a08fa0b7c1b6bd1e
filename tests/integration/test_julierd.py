#!/usr/bin/python3
"""julierd and julierctl against a real forwarder in network namespaces (root only).

One run walks a daemon through its life: --check, start (sd_notify READY, watchdog),
status/services/backends, traffic into the pinned connection table, good and bad
reloads (SIGHUP and `julierctl reload`), a reloaded flood rate, operator drains and
the drain rule, kill -9 and restart (adoption: flows, counters and the generation carry on),
SIGTERM (forwarding stays), start-up refusals, control-socket abuse, background
mode, journal log format and teardown (detached, unpinned).

Topology: namespace `lb` holds julierd and veth eth0 (198.18.0.2/24); namespace
`peer` holds the other end with the client 198.18.0.10 and the backend 198.18.0.20
(a TCP listener). Backend 198.18.0.21 does not exist: it never answers ARP and its
health check fails. julierd runs in the lb namespace via `nsenter --net`, so it
keeps this mount namespace and its pins live in a bpffs this test mounts in its
own temporary directory. Everything is removed on exit, also on failure.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from julier import control_exchange  # noqa: E402

from runner import run_test  # noqa: E402


class StuckBird:
    """A stand-in for BIRD's control socket that stopped working: its backlog full and
    never accepting, or accepting and never saying a word."""

    def __init__(self, work: str, accept: bool):
        self.path = os.path.join(work, f"bird-{'silent' if accept else 'stuck'}.ctl")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(0 if not accept else 16)
        self.held: list[socket.socket] = []
        self.stopped = False
        self.thread = None
        if accept:
            self.thread = threading.Thread(target=self._accept, daemon=True)
            self.thread.start()
        else:
            for _ in range(4):  # fill the backlog
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.setblocking(False)
                try:
                    c.connect(self.path)
                except OSError:
                    c.close()
                    break
                self.held.append(c)

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
                self.held.append(conn)
            except OSError:
                continue

    def close(self) -> None:
        self.stopped = True
        if self.thread:
            self.thread.join()
        for c in self.held:
            c.close()
        self.sock.close()
        os.unlink(self.path)

VIP = "198.19.0.1"
LB_ADDR = "198.18.0.2"
CLIENT = "198.18.0.10"
BACKEND_UP = "198.18.0.20"
BACKEND_GONE = "198.18.0.21"
BACKEND_NEW = "198.18.0.22"
IPPROTO_TCP = 6
BPFTOOL = "/usr/sbin/bpftool"


class Failure(Exception):
    pass


def check(condition, message: str) -> None:
    if not condition:
        raise Failure(message)


def run(*cmd: str, check_rc: bool = True, timeout: float = 60, env=None) -> subprocess.CompletedProcess:
    res = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, env=env)
    if check_rc and res.returncode != 0:
        raise Failure(f"{' '.join(cmd)} exited {res.returncode}: {res.stderr.strip() or res.stdout.strip()}")
    return res


def wait_for(predicate, what: str, timeout: float = 15.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class NotifyListener:
    """Plays the service manager's side of sd_notify: a datagram socket read by a
    thread all the time, as systemd does (a full queue would block the sender)."""

    def __init__(self, path: str):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.1)
        self.messages: list[str] = []
        self.watchdog_times: list[float] = []  # when each WATCHDOG=1 arrived
        self.cond = threading.Condition()
        self.stopped = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self.stopped:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.cond:
                self.messages.append(data.decode())
                if "WATCHDOG=1" in self.messages[-1]:
                    self.watchdog_times.append(time.monotonic())
                self.cond.notify_all()

    def next(self, timeout: float) -> str | None:
        with self.cond:
            if not self.messages:
                self.cond.wait(timeout)
            return self.messages.pop(0) if self.messages else None

    def take(self) -> list[str]:
        with self.cond:
            out, self.messages = self.messages, []
            return out

    def close(self) -> None:
        self.stopped = True
        self.thread.join()
        self.sock.close()


class World:
    """Namespaces, bpffs, backend listener, julierd processes; all undone by close()."""

    def __init__(self, build: str):
        self.build = build
        self.tag = f"jlit{os.getpid()}"
        self.lb = f"{self.tag}-lb"
        self.peer = f"{self.tag}-peer"
        self.work = tempfile.mkdtemp(prefix="julier-it-")
        self.bpffs = os.path.join(self.work, "bpf")
        self.pin_dir = os.path.join(self.bpffs, "julier")
        self.run_dir = os.path.join(self.work, "run")
        self.socket = os.path.join(self.run_dir, "julierd.sock")
        self.config = os.path.join(self.work, "julier.yaml")
        self.notify_path = os.path.join(self.work, "notify.sock")
        self.notify: NotifyListener | None = None
        self.procs: list[subprocess.Popen] = []
        self.daemon: subprocess.Popen | None = None
        self.log_path = ""
        self.mounted = False
        self.netns = False

    # -- setup / cleanup -------------------------------------------------------
    def setup(self) -> None:
        self.netns = True
        run("ip", "netns", "add", self.lb)
        run("ip", "netns", "add", self.peer)
        run("ip", "-n", self.lb, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", self.peer)
        run("ip", "-n", self.lb, "addr", "add", f"{LB_ADDR}/24", "dev", "eth0")
        run("ip", "-n", self.peer, "addr", "add", f"{BACKEND_UP}/24", "dev", "eth0")
        run("ip", "-n", self.peer, "addr", "add", f"{CLIENT}/24", "dev", "eth0")
        for ns in (self.lb, self.peer):
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
        run("ip", "-n", self.peer, "route", "add", f"{VIP}/32", "via", LB_ADDR)
        os.makedirs(self.bpffs)
        run("mount", "-t", "bpf", "bpf", self.bpffs)
        self.mounted = True
        # The backend: accepts TCP on port 80 and closes at once (health check target).
        listener = ("import socket\n"
                    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                    f"s.bind(('{BACKEND_UP}', 80)); s.listen(64)\n"
                    "while True:\n    c, _ = s.accept(); c.close()\n")
        self.procs.append(subprocess.Popen(["ip", "netns", "exec", self.peer, "/usr/bin/python3", "-c", listener],
                                           stdin=subprocess.DEVNULL))
        self.notify = NotifyListener(self.notify_path)

    def close(self) -> None:
        for p in ([self.daemon] if self.daemon else []) + self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if self.netns:
            subprocess.run(["ip", "-n", self.lb, "link", "set", "dev", "eth0", "xdp", "off"], capture_output=True)
            subprocess.run(["ip", "netns", "del", self.lb], capture_output=True)
            subprocess.run(["ip", "netns", "del", self.peer], capture_output=True)
        if self.mounted:
            subprocess.run(["umount", self.bpffs], capture_output=True)
        if self.notify:
            self.notify.close()
        subprocess.run(["rm", "-rf", "--one-file-system", self.work], capture_output=True)

    # -- files -----------------------------------------------------------------
    def catalogue(self, backends: list[tuple[str, int, str]], extra_service: str = "") -> str:
        lines = [
            "interfaces: [eth0]",
            f"pin_dir: {self.pin_dir}",
            f"control_socket: {self.socket}",
            'metrics: {listen: "127.0.0.1:9641"}',  # inside the lb namespace
            "limits: {max_services: 16, max_backends: 256, ring_capacity: 65536, max_flows: 4096}",
            "defaults:",
            "  ring_size: 1009",
            "  health: {kind: tcp, interval: 200ms, timeout: 100ms, rise: 2, fall: 2}",
            "services:",
            "  - name: web",
            f"    vip: {VIP}",
            "    port: 80",
            "    protocol: tcp",
            "    backends:",
        ]
        lines += [f"      - {{address: {a}, weight: {w}, state: {s}}}" for a, w, s in backends]
        return "\n".join(lines) + "\n" + extra_service

    def write_config(self, text: str, path: str | None = None) -> None:
        path = path or self.config
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)

    # -- binaries --------------------------------------------------------------
    def julierd_cmd(self, *args: str) -> list[str]:
        return ["nsenter", f"--net=/var/run/netns/{self.lb}",
                os.path.join(self.build, "control/daemon/julierd"), *args]

    def ctl(self, *args: str, json_out: bool = True, rc: int | None = 0):
        cmd = [os.path.join(self.build, "control/cli/julierctl"), "--socket", self.socket]
        # A refusal is read from stderr, as a human would see it.
        json_out = json_out and rc == 0
        res = subprocess.run(cmd + (["--json"] if json_out else []) + list(args), capture_output=True, text=True,
                             timeout=60)
        if rc is not None and res.returncode != rc:
            raise Failure(f"julierctl {' '.join(args)}: exit {res.returncode}, expected {rc}: "
                          f"{res.stderr.strip() or res.stdout.strip()}")
        if not json_out:
            return res
        return json.loads(res.stdout)

    def start(self, name: str, env_extra: dict[str, str] | None = None, wait_ready: bool = True,
              stderr_file: str | None = None) -> subprocess.Popen:
        self.log_path = stderr_file or os.path.join(self.work, f"{name}.log")
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM")}
        env["NOTIFY_SOCKET"] = self.notify_path
        env.update(env_extra or {})
        self.drain_notify()
        log = open(self.log_path, "ab")
        self.daemon = subprocess.Popen(self.julierd_cmd("-c", self.config, "--log-level", "debug"),
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env)
        log.close()
        if wait_ready:
            self.wait_notify("READY=1", timeout=20)
        return self.daemon

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # -- sd_notify -------------------------------------------------------------
    def drain_notify(self) -> list[str]:
        """Every message received since the last call (or start)."""
        return self.notify.take()

    def wait_notify(self, needle: str, timeout: float = 10.0) -> list[str]:
        """Messages received until one contains `needle` (that one included); they
        are consumed."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.daemon and self.daemon.poll() is not None:
                raise Failure(f"julierd exited with {self.daemon.returncode}:\n{self.log()[-4000:]}")
            message = self.notify.next(0.2)
            if message is None:
                continue
            seen.append(message)
            if needle in message:
                return seen
        raise Failure(f"no sd_notify message with {needle!r} within {timeout}s (got {seen}):\n{self.log()[-4000:]}")

    # -- forwarder state, read with bpftool (independent of julierd) ----------
    def scrape(self) -> str:
        script = ("import urllib.request\n"
                  "print(urllib.request.urlopen('http://127.0.0.1:9641/metrics', timeout=5).read().decode())\n")
        return run("ip", "netns", "exec", self.lb, "/usr/bin/python3", "-c", script).stdout

    def flows(self) -> list[dict]:
        res = run(BPFTOOL, "-j", "map", "dump", "pinned", os.path.join(self.pin_dir, "jl_flows"))
        return [e["formatted"]["key"] for e in json.loads(res.stdout)]

    def xdp_attached(self) -> bool:
        res = run("ip", "-n", self.lb, "-d", "link", "show", "dev", "eth0")
        return re.search(r"\bxdp(drv|generic)?\b|prog/xdp", res.stdout) is not None

    def backends(self, service: str = "web") -> dict[str, dict]:
        return {b["address"]: b for b in self.ctl("backends", service)}

    def send_syns(self, count: int) -> list[int]:
        """Opens `count` TCP connections to the VIP from the client; returns their
        source ports. The forwarder records each flow; the SYNs need not arrive."""
        script = ("import socket, sys\nports = []\n"
                  f"for _ in range({count}):\n"
                  "    s = socket.socket(); s.settimeout(0.2)\n"
                  f"    s.bind(('{CLIENT}', 0)); ports.append(s.getsockname()[1])\n"
                  f"    try: s.connect(('{VIP}', 80))\n"
                  "    except OSError: pass\n"
                  "    s.close()\n"
                  "print(' '.join(map(str, ports)))\n")
        res = run("ip", "netns", "exec", self.peer, "/usr/bin/python3", "-c", script)
        return [int(p) for p in res.stdout.split()]


def flow_key_matches(key: dict, sport: int) -> bool:
    """A jl_flows key as bpftool formats it: addresses and ports in network order
    read as host-order integers (little-endian machine)."""
    def v4_word(addr: str) -> int:
        return int.from_bytes(socket.inet_aton(addr), "little")
    return (key["family"] == 4 and key["proto"] == IPPROTO_TCP and key["src"][0] == v4_word(CLIENT)
            and key["dst"][0] == v4_word(VIP) and key["sport"] == socket.htons(sport)
            and key["dport"] == socket.htons(80))


def exited(pid: int) -> bool:
    """Gone, or a zombie nobody reaps (it is not this process's child)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def step(name: str) -> None:
    print(f"-- {name}", flush=True)


def test_dry_run(w: World) -> None:
    """`julierctl reload --dry-run` and `julierd --check FILE --against-running`: what a
    reload would change, with nothing applied; then the real reload prints the same."""
    up, gone = BACKEND_UP, BACKEND_GONE
    running = [(up, 100, "active"), (gone, 50, "active"), (BACKEND_NEW, 10, "active")]
    # A new backend that answers ARP (and has no health verdict yet): pending.
    extra = "198.18.0.23"
    run("ip", "-n", w.peer, "addr", "add", f"{extra}/24", "dev", "eth0")
    try:
        step("reload --dry-run: a weight change, a removed and a new backend; nothing applied")
        before = w.ctl("status")
        backends_before = w.backends()
        reloads_before = w.log().count("reload done")
        w.write_config(w.catalogue([(up, 300, "active"), (BACKEND_NEW, 10, "active"), (extra, 5, "active")]))
        res = w.ctl("reload", "--dry-run", json_out=False)
        lines = res.stdout.splitlines()
        want = [f"~ backend web {up} weight 100 -> 300", f"+ backend web {extra} weight 5 (pending)",
                f"- backend web {gone}"]
        check(lines[0].startswith(f"dry run, nothing applied: running config generation {before['config_generation']}"),
              f"dry run header: {res.stdout}")
        for line in want:
            check(line in lines, f"dry run does not print {line!r}:\n{res.stdout}")
        # One usable backend before and after (the others are down or pending): no slot moves.
        check(not any(line.startswith("ring web") for line in lines), f"a ring line without a move:\n{res.stdout}")
        after = w.ctl("status")
        for key in ("config_generation", "dataplane_generation", "last_reload", "reload_failures"):
            check(after[key] == before[key], f"a dry run changed {key}: {before[key]} -> {after[key]}")
        backends_after = w.backends()
        check(set(backends_after) == set(backends_before) and backends_after[up]["weight"] == 100,
              f"a dry run changed the backends: {backends_after}")
        check(w.log().count("reload done") == reloads_before, "a dry run logged a reload")
        dry = w.ctl("reload", "--dry-run")
        check(dry["dry_run"] is True and dry["config_generation"] == before["config_generation"], f"--json: {dry}")
        check({"kind": "backend_changed", "service": "web", "backend": up, "field": "weight", "from": "100",
               "to": "300"}.items() <= next((c for c in dry["changes"] if c["kind"] == "backend_changed"), {}).items(),
              f"--json changes: {dry['changes']}")

        step("julierd --check FILE --against-running asks the running julierd")
        julierd = os.path.join(w.build, "control/daemon/julierd")
        res = run(julierd, "--check", w.config, "--against-running", check_rc=False)
        check(res.returncode == 0, f"--against-running exited {res.returncode}: {res.stderr}")
        out = res.stdout.splitlines()
        check(f"against the running julierd at {w.socket} (config generation {before['config_generation']}, "
              f"dataplane generation {before['dataplane_generation']}):" in out, f"--against-running:\n{res.stdout}")
        for line in want:
            check(line in out, f"--against-running does not print {line!r}:\n{res.stdout}")
        check(out[-1] == f"{w.config}: valid (0 warnings)", f"--against-running verdict:\n{res.stdout}")
        check(w.ctl("status")["config_generation"] == before["config_generation"], "--against-running applied")
        nobody = os.path.join(w.work, "nobody.sock")
        res = run(julierd, "--check", w.config, "--against-running", "--socket", nobody, check_rc=False)
        check(res.returncode == 2 and f"cannot compare with the running julierd at {nobody}" in res.stderr
              and "not compared (no running julierd answered)" in res.stderr,
              f"--against-running without julierd: exit {res.returncode}: {res.stderr}")

        step("reload --dry-run: a drain empties the ring")
        w.write_config(w.catalogue([(up, 100, "drain"), (gone, 50, "active"), (BACKEND_NEW, 10, "active")]))
        res = w.ctl("reload", "--dry-run", json_out=False)
        lines = res.stdout.splitlines()
        for line in (f"~ backend web {up} state active -> drain", "ring web: now empty, new flows are dropped"):
            check(line in lines, f"dry run of a drain does not print {line!r}:\n{res.stdout}")
        check(w.backends()[up]["state"] == "active", "a dry run drained")

        step("reload: the answer says what changed")
        w.write_config(w.catalogue([(up, 300, "active"), (BACKEND_NEW, 10, "active"), (extra, 5, "active")]))
        res = w.ctl("reload", json_out=False)
        lines = res.stdout.splitlines()
        check(lines[0].startswith(f"reloaded: config generation {before['config_generation'] + 1}"),
              f"reload header: {res.stdout}")
        for line in want:
            check(line in lines, f"reload does not print {line!r}:\n{res.stdout}")
        check(w.backends()[up]["weight"] == 300 and gone not in w.backends(), "the reload did not apply")

        step("reload back: the reverse changes, then a dry run finds none")
        w.write_config(w.catalogue(running))
        res = w.ctl("reload", json_out=False)
        lines = res.stdout.splitlines()
        for line in (f"~ backend web {up} weight 300 -> 100", f"- backend web {extra}", f"+ backend web {gone} weight 50"):
            check(any(l.startswith(line) for l in lines), f"reload back does not print {line!r}:\n{res.stdout}")
        # Settled: the re-added backend's first verdict is applied, so the plans agree.
        wait_for(lambda: w.backends()[gone]["state"] == "down", f"{gone} down again")
        w.ctl("status")
        res = w.ctl("reload", "--dry-run", json_out=False)
        check(res.stdout.splitlines()[1:] == ["no changes"], f"a dry run of the running file:\n{res.stdout}")
    finally:
        run("ip", "-n", w.peer, "addr", "del", f"{extra}/24", "dev", "eth0", check_rc=False)


def test(w: World) -> None:
    up, gone = BACKEND_UP, BACKEND_GONE
    w.write_config(w.catalogue([(up, 100, "active"), (gone, 50, "active")]))

    step("--check: valid and invalid files, nothing live touched")
    julierd = os.path.join(w.build, "control/daemon/julierd")
    res = run(julierd, "--check", w.config)
    check("1 services" in res.stdout and "valid" in res.stdout, f"--check summary: {res.stdout}")
    bad = os.path.join(w.work, "bad.yaml")
    w.write_config(w.catalogue([(up, 100, "active")]).replace("port: 80", "port: 70000"), bad)
    res = run(julierd, "--check", bad, check_rc=False)
    check(res.returncode == 1, f"--check of an invalid file exited {res.returncode}")
    check(re.search(r"bad\.yaml:\d+:\d+: error: services\[0\]\.port", res.stderr),
          f"--check names no file:line:col: {res.stderr}")
    check(not os.path.exists(w.pin_dir) and not os.path.exists(w.socket), "--check touched pins or the socket")

    step("start-up refuses an invalid catalogue with every diagnostic")
    res = run(*w.julierd_cmd("-c", bad, "--foreground"), check_rc=False, timeout=30)
    check(res.returncode != 0, "julierd started with an invalid catalogue")
    check("bad.yaml:" in res.stderr and "70000" in res.stderr, f"start-up error lacks the diagnostic: {res.stderr}")
    check(not os.path.exists(w.pin_dir), "a refused start left pins")

    step("a start that fails after loading (no such interface) removes what it loaded")
    noif = os.path.join(w.work, "noif.yaml")
    w.write_config(w.catalogue([(up, 100, "active")]).replace("interfaces: [eth0]", "interfaces: [eth9]"), noif)
    res = run(*w.julierd_cmd("-c", noif, "--foreground"), check_rc=False, timeout=30)
    check(res.returncode != 0 and "eth9" in res.stderr, f"a start on a missing interface: {res.returncode} {res.stderr}")
    check(not os.path.exists(w.pin_dir) or not os.listdir(w.pin_dir), "a failed start left its pins")

    step("start: READY=1 with STATUS=, watchdog pings")
    w.start("julierd-1", {"WATCHDOG_USEC": "300000"})
    pings = w.wait_notify("WATCHDOG=1", timeout=3)
    check(any("WATCHDOG=1" in m for m in pings), "no watchdog ping")
    w.wait_notify("WATCHDOG=1", timeout=3)
    status = w.ctl("status")
    check(status["config_generation"] == 1, f"config generation at start: {status}")
    check(status["dataplane_generation"] >= 1 and not status["adopted"], f"fresh start: {status}")
    check(status["pid"] == w.daemon.pid, f"status pid {status['pid']} is not julierd's {w.daemon.pid}")
    check(status["last_reload"]["result"] == "none" and status["reload_failures"] == 0, f"{status}")
    check(w.xdp_attached(), "the forwarder is not attached to eth0")

    step("control socket and directory permissions")
    mode = stat.S_IMODE(os.stat(w.socket).st_mode)
    dmode = stat.S_IMODE(os.stat(w.run_dir).st_mode)
    try:
        import grp
        grp.getgrnam("julier")
        want = 0o660
    except KeyError:
        want = 0o600
    check(mode == want, f"socket mode {oct(mode)}, expected {oct(want)}")
    check(dmode == 0o750, f"socket directory mode {oct(dmode)}, expected 0o750")

    step("health: the listening backend goes up, the missing one down")
    wait_for(lambda: w.backends()[up]["health"] == "up" and w.backends()[gone]["health"] == "down",
             "health verdicts")
    b = w.backends()
    check(b[up]["state"] == "active" and b[up]["weight_now"] == 100, f"up backend: {b[up]}")
    check(b[gone]["state"] == "down" and b[gone]["weight_now"] == 0, f"down backend: {b[gone]}")
    check(b[gone]["weight"] == 50, f"configured weight: {b[gone]}")
    services = w.ctl("services")
    check(len(services) == 1 and services[0]["name"] == "web" and services[0]["vip"] == VIP
          and services[0]["port"] == 80 and services[0]["ring_size"] == 1009
          and services[0]["backends"] == 2 and services[0]["backends_in_ring"] == 1, f"services: {services}")
    human = w.ctl("services", json_out=False).stdout
    check(re.search(r"^web\s+198\.19\.0\.1\s+80\s+tcp\s+l2\s+1009\s+1/2\b", human, re.M), f"table:\n{human}")
    human = w.ctl("backends", "web", json_out=False).stdout
    check(re.search(r"^web\s+198\.18\.0\.20\s+100\s+100\s+up\s+active\b", human, re.M), f"table:\n{human}")
    res = w.ctl("backends", "nope", rc=1)
    check("no service 'nope'" in res.stderr, f"backends of an unknown service: {res.stderr}")

    step("metrics: served in the lb namespace, with the plan's labels")
    text = w.scrape()
    check(re.search(r"^julier_config_generation 1$", text, re.M), "julier_config_generation is not 1")
    check(re.search(r'^julier_backend_up\{[^}]*backend="198\.18\.0\.20"[^}]*\} 1$', text, re.M),
          "julier_backend_up of the healthy backend is not 1")
    check(re.search(r'^julier_backend_up\{[^}]*backend="198\.18\.0\.21"[^}]*\} 0$', text, re.M),
          "julier_backend_up of the missing backend is not 0")
    # Every probe is recorded: durations by service and kind, failures by class.
    count = re.search(r'^julier_health_check_duration_seconds_count\{[^}]*service="web"[^}]*\} (\d+)$', text, re.M)
    check(count and int(count.group(1)) > 0, "no health-check durations recorded for web")
    check(re.search(r'^julier_health_check_failures_total\{[^}]*backend="198\.18\.0\.21"[^}]*\} [1-9]', text, re.M),
          "the missing backend's failed checks are not counted")

    step("traffic: new flows land in the pinned connection table")
    ports = w.send_syns(3)
    flows = w.flows()
    for p in ports:
        check(any(flow_key_matches(k, p) for k in flows), f"no flow for client port {p} in jl_flows: {flows}")
    web = w.ctl("services")[0]
    check(web["new_flows"] >= 3 and web["packets"] >= 3, f"service counters after 3 SYNs: {web}")
    check(w.backends()[up]["packets"] >= 3, "backend packet counter did not count the SYNs")

    step("reload (SIGHUP): a new backend, RELOADING=1 then READY=1")
    gen = w.ctl("status")["dataplane_generation"]
    w.write_config(w.catalogue([(up, 100, "active"), (gone, 50, "active"), (BACKEND_NEW, 10, "active")]))
    w.drain_notify()
    w.daemon.send_signal(signal.SIGHUP)
    messages = w.wait_notify("READY=1")
    check(any("RELOADING=1" in m and re.search(r"MONOTONIC_USEC=\d+", m) for m in messages),
          f"no RELOADING=1 with MONOTONIC_USEC before READY=1: {messages}")
    status = w.ctl("status")
    check(status["config_generation"] == 2 and status["last_reload"]["result"] == "ok", f"after reload: {status}")
    check(status["dataplane_generation"] > gen, "a reload that added a backend did not apply")
    check(BACKEND_NEW in w.backends(), "the new backend is missing")

    test_dry_run(w)

    step("reload of an invalid file: nothing changes, the error is in status")
    before = w.ctl("status")
    w.write_config(w.catalogue([(up, 100, "active")]).replace("weight: 100", "weight: 2000000"))
    res = w.ctl("reload", "--dry-run", rc=1)
    check("dry run: the reload would fail; nothing changed" in res.stderr and
          re.search(r"julier\.yaml:\d+:\d+: error: services\[0\]\.backends\[0\]\.weight", res.stderr),
          f"julierctl reload --dry-run of an invalid file: {res.stderr}")
    check(w.ctl("status")["reload_failures"] == before["reload_failures"], "a refused dry run counted as a reload")
    res = w.ctl("reload", rc=1)
    check(re.search(r"julier\.yaml:\d+:\d+: error: services\[0\]\.backends\[0\]\.weight", res.stderr),
          f"julierctl reload shows no file:line:col error: {res.stderr}")
    w.daemon.send_signal(signal.SIGHUP)
    wait_for(lambda: w.ctl("status")["reload_failures"] == before["reload_failures"] + 2, "two failed reloads")
    after = w.ctl("status")
    check(after["dataplane_generation"] == before["dataplane_generation"], "an invalid file changed the dataplane")
    check(after["config_generation"] == before["config_generation"], "an invalid file bumped the config generation")
    check(after["last_reload"]["result"] == "failed" and re.match(r".*julier\.yaml:\d+:\d+: error:",
                                                                  after["last_reload"]["error"]), f"{after}")
    check(len(w.backends()) == 3, "an invalid file changed the backends")
    human = w.ctl("status", json_out=False).stdout
    check("FAILED" in human and "failed reloads: 2" in human, f"status table:\n{human}")

    step("systemctl reload runs the unit's ExecReload: a refused file fails it, with the diagnostics")
    unit = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../packaging/systemd/julierd.service")
    exec_reload = next(line.split("=", 1)[1] for line in open(unit) if line.startswith("ExecReload="))
    julierctl = os.path.join(w.build, "control/cli/julierctl")
    argv = exec_reload.replace("/usr/bin/julierctl", f"{julierctl} --socket {w.socket}").split()
    res = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    check(res.returncode != 0, f"ExecReload {exec_reload!r} succeeded on a refused file")
    check(re.search(r"julier\.yaml:\d+:\d+: error:", res.stderr), f"ExecReload shows no diagnostics: {res.stderr}")
    wait_for(lambda: w.ctl("status")["reload_failures"] == before["reload_failures"] + 3, "three failed reloads")

    step("a slow file on reload: status answers and watchdog pings go on while it is read")
    slow = os.path.join(w.work, "slow.yaml")
    services = 50
    while True:  # large enough that reading it takes this build a second or more
        lines = ["interfaces: [eth0]", "limits: {max_services: 4096, max_backends: 4000000}", "services:"]
        for i in range(services):
            lines += [f"  - name: s{i}", f"    vip: 198.19.{i // 250 + 1}.{i % 250 + 1}", "    port: 80",
                      "    ring_size: 1009", "    backends:"]
            lines += [f"      - 198.18.{8 + b // 250}.{b % 250 + 1}" for b in range(1000)]
        lines.append("  - {name: last, vip: 198.19.0.9, port: 70000, backends: [198.18.0.20]}")  # refused at the end
        w.write_config("\n".join(lines) + "\n", slow)
        t0 = time.monotonic()
        run(julierd, "--check", slow, check_rc=False, timeout=300)
        took = time.monotonic() - t0
        if took >= 1.0 or services >= 1600:
            break
        services *= 2
    check(took >= 1.0, f"a {services}-service file took only {took:.2f}s to read: nothing to show")
    os.replace(slow, w.config)
    failures = w.ctl("status")["reload_failures"]
    reloaded = w.notify.watchdog_times[-1]
    t0 = time.monotonic()
    w.daemon.send_signal(signal.SIGHUP)
    latencies = []
    while True:
        t1 = time.monotonic()
        done = control_exchange(w.socket, b'{"command":"status"}\n', timeout=60)["result"]["reload_failures"]
        latencies.append(time.monotonic() - t1)
        if done != failures:
            break
        check(time.monotonic() - t0 < 120, "the slow reload never ended")
        time.sleep(0.05)
    took_reload = time.monotonic() - t0
    pings = [t for t in list(w.notify.watchdog_times) if t >= reloaded]
    gaps = [b - a for a, b in zip(pings, pings[1:])] or [took_reload]
    print(f"slow reload: {services} services, --check {took:.2f}s, reload {took_reload:.2f}s, "
          f"{len(latencies)} status answers (longest {max(latencies) * 1000:.0f} ms), "
          f"{len(pings)} watchdog pings (longest gap {max(gaps) * 1000:.0f} ms)")
    check(len(latencies) >= 5, f"only {len(latencies)} status answers during a {took_reload:.2f}s reload")
    check(max(latencies) < 0.25, f"status took {max(latencies):.3f}s during the reload")
    check(max(gaps) < 0.6, f"a {max(gaps):.3f}s gap between watchdog pings (every 0.15s) during the reload")
    last = w.ctl("status")["last_reload"]
    check(last["result"] == "failed" and "70000" in last["error"], f"the slow file's verdict: {last}")
    check(len(w.backends()) == 3, "the refused slow file changed the backends")

    step("reload: a flood rate applies at once; new flows over it are forwarded, not remembered")
    three = [(up, 100, "active"), (gone, 50, "active"), (BACKEND_NEW, 10, "active")]
    w.write_config(w.catalogue(three) + "flood_protection: {new_flow_rate_per_cpu: 1}\n")
    w.ctl("reload")
    check("flood protection changed new_flow_rate_per_cpu=1 from=125000" in w.log(), "the new flood rate was not logged")
    flood_ports = w.send_syns(10)  # within ~2 s: at most 1 per CPU and second remembered
    flows = w.flows()
    remembered = sum(any(flow_key_matches(k, p) for k in flows) for p in flood_ports)
    check(remembered < len(flood_ports), f"all {len(flood_ports)} flows were remembered at a rate of 1")
    counted = sum(float(v) for v in re.findall(
        r'^julier_forwarder_packets_total\{[^}]*reason="forward_flood"[^}]*\} (\S+)$', w.scrape(), re.M))
    check(counted >= len(flood_ports) - remembered, f"forward_flood counted {counted}, expected at least "
          f"{len(flood_ports) - remembered}")
    w.write_config(w.catalogue(three))  # back to the default rate
    w.ctl("reload")
    check("flood protection changed new_flow_rate_per_cpu=125000 from=1" in w.log(), "the default rate did not return")

    step("drain / undrain and the drain rule across reloads")
    w.write_config(w.catalogue(three))
    w.ctl("reload")
    gen = w.ctl("status")["dataplane_generation"]
    r = w.ctl("drain", "web", up)
    check(r["changed"] and r["backend"]["state"] == "drain" and r["backend"]["weight_now"] == 0, f"drain: {r}")
    check(w.ctl("status")["dataplane_generation"] > gen, "drain was not applied")
    check(w.ctl("services")[0]["backends_in_ring"] == 0, "a drained backend is still in the ring")
    r = w.ctl("drain", "web", up)
    check(not r["changed"], "a second drain reported a change")
    res = w.ctl("drain", "web", "198.18.0.99", rc=1)
    check("has no backend 198.18.0.99" in res.stderr, f"drain of an unknown backend: {res.stderr}")
    res = w.ctl("drain", "web", "not-an-ip", rc=1)
    check("not an IPv4 or IPv6 address" in res.stderr, f"drain of a bad address: {res.stderr}")
    # A reload that leaves this backend's state alone keeps the operator's drain.
    w.write_config(w.catalogue([(up, 100, "active"), (gone, 60, "active"), (BACKEND_NEW, 10, "active")]))
    w.ctl("reload")
    b = w.backends()[up]
    check(b["state"] == "drain" and b["drain_source"] == "operator", f"operator drain lost on reload: {b}")
    # The file changing this backend's state wins over the operator...
    w.write_config(w.catalogue([(up, 100, "drain"), (gone, 60, "active"), (BACKEND_NEW, 10, "active")]))
    w.ctl("reload")
    check(w.backends()[up]["drain_source"] == "config", "the file's drain did not take over")
    w.write_config(w.catalogue([(up, 100, "active"), (gone, 60, "active"), (BACKEND_NEW, 10, "active")]))
    w.ctl("reload")
    b = w.backends()[up]
    check(b["state"] == "active" and b["weight_now"] == 100, f"the operator drain outlived a file change: {b}")
    # ...and undrain lifts a drain the operator set.
    w.ctl("drain", "web", up)
    r = w.ctl("undrain", "web", up)
    check(r["changed"] and r["backend"]["state"] == "active", f"undrain: {r}")
    w.ctl("drain", "web", up)  # kept for the restart below

    step("a BIRD that never accepts, or never answers, does not stall the control socket")
    bgp_base = w.catalogue([(up, 100, "active"), (gone, 60, "active"), (BACKEND_NEW, 10, "active")])
    for kind, bird in (("never accepts", StuckBird(w.work, accept=False)), ("never answers", StuckBird(w.work, accept=True))):
        try:
            w.write_config(bgp_base + f"""bgp:
  bird_include: {os.path.join(w.work, "bird-julier.conf")}
  bird_socket: {bird.path}
  local_as: 65001
  router_id: {LB_ADDR}
  neighbours:
    - {{address: {CLIENT}, as: 65000}}
""")
            if kind == "never accepts":
                # A dry run tells which VIPs the bgp section would announce: none while
                # web has no usable backend (drained, down, unresolved), its VIP once
                # the drained one is back.
                lines = w.ctl("reload", "--dry-run", json_out=False).stdout.splitlines()
                check("~ bgp off -> on" in lines and not any(l.startswith("announce") for l in lines),
                      f"dry run of a bgp section with no usable backend: {lines}")
                w.ctl("undrain", "web", up)
                lines = w.ctl("reload", "--dry-run", json_out=False).stdout.splitlines()
                w.ctl("drain", "web", up)
                check("~ bgp off -> on" in lines and f"announce {VIP}" in lines,
                      f"dry run of a bgp section with a usable backend: {lines}")
            w.ctl("reload")
            times = []
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline:
                t0 = time.monotonic()
                control_exchange(w.socket, b'{"command":"status"}\n', timeout=10)
                times.append(time.monotonic() - t0)
                time.sleep(0.05)
            times.sort()
            median, worst = times[len(times) // 2], times[-1]
            print(f"  bird {kind}: status median {median * 1000:.1f} ms, worst {worst * 1000:.1f} ms over {len(times)}")
            # The old blocking client held the loop for its whole 2 s timeout each tick.
            check(median < 0.1 and worst < 1.0, f"status stalled while BIRD {kind}: median {median}, worst {worst}")
            check(w.ctl("status").get("bird_error"), f"no bird_error while BIRD {kind}")
        finally:
            w.write_config(bgp_base)
            w.ctl("reload")
            bird.close()

    step("kill -9 and restart: adoption keeps flows, counters, generation and the drain")
    status = w.ctl("status")
    flows_before = w.flows()
    packets_before = w.ctl("services")[0]["packets"]
    w.daemon.kill()
    w.daemon.wait()
    check(w.xdp_attached(), "the forwarder left eth0 when julierd was killed")
    w.start("julierd-2")
    after = w.ctl("status")
    check(after["adopted"], "the restarted julierd did not adopt the pinned forwarder")
    check(after["dataplane_generation"] >= status["dataplane_generation"],
          f"generation went back: {status['dataplane_generation']} -> {after['dataplane_generation']}")
    flows_after = w.flows()
    for p in ports:
        check(any(flow_key_matches(k, p) for k in flows_after), f"flow of client port {p} lost on restart")
    check(len(flows_after) >= len(flows_before), "connection table entries were lost on restart")
    check(w.ctl("services")[0]["packets"] >= packets_before, "service counters were reset on restart")
    b = w.backends()[up]
    check(b["state"] == "drain" and b["drain_source"] == "operator", f"operator drain lost on restart: {b}")
    w.ctl("undrain", "web", up)
    wait_for(lambda: w.backends()[up]["health"] == "up", "health after restart")
    gen = w.ctl("status")["dataplane_generation"]
    check(gen > status["dataplane_generation"], "the generation did not continue after the restart")

    step("a second julierd on the same socket refuses to start")
    res = run(*w.julierd_cmd("-c", w.config, "--foreground"), check_rc=False, timeout=30)
    check(res.returncode != 0 and "another julierd" in res.stderr, f"second julierd: {res.returncode} {res.stderr}")
    check(w.ctl("status")["dataplane_generation"] == gen, "the refused julierd touched the forwarder")

    step("control socket: bad requests get clear errors")
    def raw(data: bytes) -> dict:
        return control_exchange(w.socket, data, timeout=5)
    check("not valid JSON" in raw(b"{nope\n")["error"], "malformed JSON accepted")
    check("unknown command 'fly'" in raw(b'{"command":"fly"}\n')["error"], "unknown command accepted")
    check("needs a non-empty 'backend'" in raw(b'{"command":"drain","service":"web"}\n')["error"], "drain w/o backend")
    check("takes no field 'x'" in raw(b'{"command":"status","x":1}\n')["error"], "unknown field accepted")
    r = raw(b"x" * (70 * 1024))
    check(not r["ok"] and "longer than 65536" in r["error"], f"oversized request: {r}")
    check(w.ctl("status")["pid"] == w.daemon.pid, "julierd did not survive bad requests")

    step("SIGTERM: exits 0, the forwarder keeps forwarding")
    gen = w.ctl("status")["dataplane_generation"]
    w.drain_notify()
    w.daemon.send_signal(signal.SIGTERM)
    check(w.daemon.wait(timeout=15) == 0, f"julierd exited {w.daemon.returncode} on SIGTERM")
    check(any("STOPPING=1" in m for m in w.drain_notify()), "no STOPPING=1 on SIGTERM")
    check(w.xdp_attached() and os.path.exists(os.path.join(w.pin_dir, "jl_flows")), "SIGTERM removed the forwarder")
    check(not os.path.exists(w.socket), "the control socket was left behind")
    res = w.ctl("status", rc=2)
    check("julierd is not running" in res.stderr, f"julierctl without a daemon: {res.stderr}")

    step("journal format: <N> priority prefixes, no timestamps")
    journal_log = os.path.join(w.work, "journal.log")
    with open(journal_log, "w"):
        pass
    st = os.stat(journal_log)
    w.start("julierd-3", {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, stderr_file=journal_log)
    check(w.ctl("status")["dataplane_generation"] > gen, "restart after SIGTERM did not apply")
    lines = [line for line in w.log().splitlines() if line]
    check(lines and all(re.match(r"<[0-7]>", line) for line in lines), f"journal lines:\n{lines[:5]}")
    check(any(line.startswith("<6>ready ") for line in lines), f"no <6>ready line:\n{lines}")
    # The healthy backend was in the ring when julierd stopped: presumed up until
    # its first verdict, so the restart does not empty the ring meanwhile.
    check(any("dataplane adopted" in line and "backends_presumed_up=1" in line for line in lines),
          "the restarted julierd did not presume the in-ring backend up")
    check(not any(re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", line) for line in lines), "journal lines carry timestamps")
    w.daemon.send_signal(signal.SIGTERM)
    check(w.daemon.wait(timeout=15) == 0, f"julierd exited {w.daemon.returncode} on SIGTERM")

    step("background mode: the command returns once forwarding is up")
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")}
    res = run(*w.julierd_cmd("-c", w.config), timeout=30, env=env)
    check(res.returncode == 0, f"background start exited {res.returncode}")
    status = w.ctl("status")  # answers at once: ready before the parent exited
    pid = status["pid"]
    check(status["adopted"], "background julierd did not adopt")

    step("teardown: detached, unpinned, exited")
    # No terminal to confirm on and no --yes: refused before julierd hears of it.
    julierctl = os.path.join(w.build, "control/cli/julierctl")
    res = subprocess.run([julierctl, "--socket", w.socket, "teardown"], capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    check(res.returncode != 0 and "add --yes" in res.stderr, f"teardown without --yes: {res.returncode} {res.stderr}")
    check(w.xdp_attached() and w.ctl("status")["pid"] == pid, "a refused teardown touched julierd")
    r = w.ctl("teardown", "--yes")
    check(r["detached"] == ["eth0"] and r["pin_dir"] == w.pin_dir, f"teardown answer: {r}")
    wait_for(lambda: exited(pid), "julierd to exit after teardown", timeout=10)
    check(not w.xdp_attached(), "eth0 still has an XDP program after teardown")
    check(not os.path.exists(w.pin_dir), "pins left after teardown")
    check(not os.path.exists(w.socket), "the control socket was left after teardown")


def main() -> int:
    def print_log(world: World) -> None:
        print(f"---- julierd log ({world.log_path}) ----\n{world.log()[-6000:]}", file=sys.stderr)

    return run_test(__doc__, ("control/daemon/julierd", "control/cli/julierctl"), World, test, Failure, print_log)

if __name__ == "__main__":
    sys.exit(main())
