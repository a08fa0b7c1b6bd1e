"""Drive a real julierd inside a topology's lb namespace, for e2e tests and the demo.

julierd is started with `nsenter --net`, not `ip netns exec`: it then keeps the root
mount namespace, so its pins live in the host's bpffs and survive a restart (an
`ip netns exec` gets a private /sys without bpffs).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from topo import Host, wait_until


def control_exchange(sock_path: str, data: bytes, timeout: float = 30.0) -> dict:
    """Send `data` as it is on julierd's control socket and read one JSON line back
    (tests of malformed requests send bytes no client would)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(sock_path)
        s.sendall(data)
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


def control_request(sock_path: str, request: dict, timeout: float = 30.0) -> dict:
    """One request on julierd's control socket (a JSON line out, a JSON line back),
    without julierctl: for callers that time the exchange or poll it quickly."""
    return control_exchange(sock_path, json.dumps(request).encode() + b"\n", timeout)


class Julierd:
    def __init__(self, build_dir: str, host: Host, config_text: str, name: str = "julier",
                 pin_dir: str | None = None, socket: str | None = None):
        """`config_text` may say @PIN_DIR@ and @SOCKET@; they are replaced by a pin
        directory and control socket of this instance's own."""
        self.build_dir = build_dir
        self.host = host
        self.workdir = tempfile.mkdtemp(prefix=f"{name}-")
        self.pin_dir = pin_dir or f"/sys/fs/bpf/{name}-{os.getpid()}"
        self.socket = socket or os.path.join(self.workdir, "julierd.sock")
        self.config = os.path.join(self.workdir, "julier.yaml")
        self.log_path = os.path.join(self.workdir, "julierd.log")
        self.proc: subprocess.Popen | None = None
        self.write_config(config_text)

    # -- files -----------------------------------------------------------------
    def write_config(self, text: str) -> None:
        text = text.replace("@PIN_DIR@", self.pin_dir).replace("@SOCKET@", self.socket)
        with open(self.config + ".tmp", "w") as f:
            f.write(text)
        os.replace(self.config + ".tmp", self.config)

    def binary(self, name: str) -> str:
        sub = {"julierd": "control/daemon", "julierctl": "control/cli"}[name]
        return os.path.join(self.build_dir, sub, name)

    # -- process ---------------------------------------------------------------
    def spawn(self) -> None:
        """Starts julierd without waiting for it to be ready."""
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            ["nsenter", f"--net={self.host.netns_path()}", self.binary("julierd"),
             "-c", self.config, "--pin-dir", self.pin_dir, "--log-level", "info", "--foreground"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()

    def start(self, wait: float = 15.0) -> None:
        self.spawn()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"julierd exited with {self.proc.returncode}:\n{self.log()}")
            try:
                # A large catalogue keeps the daemon busy with its first apply.
                self.ctl("status", timeout=max(1.0, deadline - time.monotonic()))
                return
            except (RuntimeError, subprocess.TimeoutExpired):
                # Not answering yet: the socket is bound before start-up ends.
                time.sleep(0.1)
        raise RuntimeError(f"julierd not ready after {wait}s:\n{self.log()}")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def reload(self) -> None:
        self.signal(signal.SIGHUP)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    # -- julierctl -------------------------------------------------------------
    def ctl(self, *args: str, json_out: bool = True, check: bool = True, timeout: float = 30.0):
        cmd = [self.binary("julierctl"), "--socket", self.socket]
        if json_out:
            cmd.append("--json")
        res = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise RuntimeError(f"julierctl {' '.join(args)}: {res.stderr.strip() or res.stdout.strip()}")
        if not json_out:
            return res.stdout
        return json.loads(res.stdout) if res.stdout.strip() else None

    def wait_for(self, predicate, timeout: float = 15.0, what: str = "condition"):
        return wait_until(predicate, timeout, what, lambda: self.log()[-3000:])

    def backend_health(self, service: str) -> dict[str, str]:
        return {b["address"]: b["health"] for b in self.ctl("backends", service)}

    # -- cleanup ---------------------------------------------------------------
    def teardown(self) -> None:
        """Stop the daemon and remove everything it attached and pinned."""
        if self.proc and self.proc.poll() is None:
            try:
                self.ctl("teardown", "--yes", "--grace", "0s", check=False)
                self.proc.wait(timeout=10)
            except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError):
                pass
        self.stop()
        # Whatever the daemon could not remove (it may have crashed).
        subprocess.run(["ip", "-n", self.host.ns, "link", "set", "dev", "eth0", "xdp", "off"],
                       capture_output=True)
        shutil.rmtree(self.pin_dir, ignore_errors=True)
        shutil.rmtree(self.workdir, ignore_errors=True)
