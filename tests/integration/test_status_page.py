#!/usr/bin/python3
"""julierd's HTTP server against a real forwarder, and its status page in a browser (root only).

julierd listens on an IPv6 `metrics.listen` (the address `julierd --check` accepts
is the one it serves), with a `bgp:` section whose BIRD is not there, one backend
up, one up and drained by the operator, one that never answers. Checked: /metrics has
julier's series; /api/status, /api/services and /api/backends are what `julierctl
--json` prints; the bounds (405 with Allow, 404, a request head over the limit, a
request body); then headless Chromium (Debian's `chromium`) loads the page and its
DOM shows the service, the backends with health and reason, the drain and the
announcement state, and a screenshot is taken. With JULIER_STATUS_SCREENSHOT=PATH
the screenshot is kept there (docs/status-page.png is made so).

Topology, namespaces and cleanup are test_julierd.py's World; the lb namespace also
gets 2001:db8::2 for the HTTP server. Chromium runs inside the lb namespace with
--no-sandbox (root) and a throwaway profile that is removed afterwards.
"""
from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from runner import run_test  # noqa: E402
from test_julierd import (BACKEND_GONE, BACKEND_NEW, BACKEND_UP, CLIENT, LB_ADDR, Failure, World, check, run,  # noqa: E402
                          step, wait_for)

LISTEN_HOST = "2001:db8::2"
LISTEN = f"[{LISTEN_HOST}]:9641"
BASE = f"http://{LISTEN}"

# Runs in the lb namespace: one raw HTTP exchange, printed as JSON. The request is
# sent as given, so malformed and oversized ones can be sent too.
EXCHANGE = r"""
import json, socket, sys, time
request = sys.stdin.buffer.read()
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
t0 = time.monotonic()
s.sendall(request)
raw = b""
while True:
    try:
        chunk = s.recv(65536)
    except (ConnectionResetError, socket.timeout):
        break
    if not chunk:
        break
    raw += chunk
elapsed = time.monotonic() - t0
head, _, body = raw.partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
status = int(lines[0].split(" ")[1]) if lines[0].startswith("HTTP/1.") else 0
headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
print(json.dumps({"status": status, "headers": headers, "body": body.decode("utf-8", "replace"), "seconds": elapsed}))
"""


def exchange(w: World, request: bytes) -> dict:
    res = subprocess.run(["ip", "netns", "exec", w.lb, "/usr/bin/python3", "-c", EXCHANGE, LISTEN_HOST, "9641"],
                         input=request, capture_output=True, timeout=30)
    if res.returncode != 0:
        raise Failure(f"HTTP exchange failed: {res.stderr.decode(errors='replace')}")
    return json.loads(res.stdout)


def request(w: World, method: str, path: str, extra: str = "", body: bytes = b"") -> dict:
    head = f"{method} {path} HTTP/1.1\r\nHost: {LISTEN}\r\nConnection: close\r\n{extra}\r\n"
    return exchange(w, head.encode() + body)


class Cells(html.parser.HTMLParser):
    """The text of every table row of a document, cell by cell, with the id of the
    section it is in."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self.section = ""
        self.cell: list[str] | None = None
        self.row: list[str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.section = dict(attrs).get("id", "")
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.rows.append((self.section, self.row))
            self.row = None

    def handle_data(self, data):
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)


def chromium(w: World, profile: str, *args: str) -> str:
    cmd = ["ip", "netns", "exec", w.lb, "chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
           f"--user-data-dir={profile}", "--no-first-run", "--disable-extensions", "--disable-sync",
           "--disable-background-networking", "--window-size=1280,900", *args, f"{BASE}/"]
    return run(*cmd, timeout=90).stdout


def without(value, keys: set[str]):
    """`value` with the named keys removed at every depth (fields that move with time)."""
    if isinstance(value, dict):
        return {k: without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [without(v, keys) for v in value]
    return value


def test(w: World) -> None:
    if shutil.which("chromium") is None:
        raise Failure("chromium is missing: run scripts/install-deps")
    run("ip", "-n", w.lb, "addr", "add", f"{LISTEN_HOST}/64", "dev", "eth0", "nodad")
    # A second backend that answers, to be drained.
    run("ip", "-n", w.peer, "addr", "add", f"{BACKEND_NEW}/24", "dev", "eth0")
    listener = ("import socket\n"
                "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                f"s.bind(('{BACKEND_NEW}', 80)); s.listen(64)\n"
                "while True:\n    c, _ = s.accept(); c.close()\n")
    w.procs.append(subprocess.Popen(["ip", "netns", "exec", w.peer, "/usr/bin/python3", "-c", listener],
                                    stdin=subprocess.DEVNULL))
    catalogue = w.catalogue([(BACKEND_UP, 100, "active"), (BACKEND_NEW, 100, "active"), (BACKEND_GONE, 50, "active")])
    catalogue = catalogue.replace('metrics: {listen: "127.0.0.1:9641"}', f'metrics: {{listen: "{LISTEN}"}}')
    # The default map sizes: a scrape reads every counter of them, and its time is measured.
    catalogue = "\n".join(line for line in catalogue.splitlines() if not line.startswith("limits:")) + "\n"
    catalogue += f"""bgp:
  bird_include: {os.path.join(w.work, "bird-julier.conf")}
  bird_socket: {os.path.join(w.work, "no-bird.ctl")}
  local_as: 65001
  router_id: {LB_ADDR}
  neighbours:
    - {{address: {CLIENT}, as: 65000}}
"""
    w.write_config(catalogue)

    step("--check accepts the IPv6 listen address, and julierd serves it")
    res = run(os.path.join(w.build, "control/daemon/julierd"), "--check", w.config)
    check(LISTEN in res.stdout, f"--check summary does not name {LISTEN}: {res.stdout}")
    w.start("julierd")
    check(f"metrics listen={LISTEN}" in w.log(), "julierd did not say where it listens")
    wait_for(lambda: [w.backends()[b]["health"] for b in (BACKEND_UP, BACKEND_NEW, BACKEND_GONE)] == ["up", "up", "down"],
             "two backends up and one down")
    w.ctl("drain", "web", BACKEND_NEW)
    w.send_syns(5)

    step("/metrics: julier's series, off the loop")
    scrape = request(w, "GET", "/metrics")
    check(scrape["status"] == 200, f"/metrics: {scrape['status']}")
    check(scrape["headers"].get("content-type", "").startswith("text/plain; version=0.0.4"), f"{scrape['headers']}")
    check(any(line.startswith("julier_backend_up{") and f'backend="{BACKEND_UP}"' in line and line.endswith(" 1")
              for line in scrape["body"].splitlines()), "no julier_backend_up series of 1 for the backend that is up")
    check("julier_config_generation 1" in scrape["body"], "no julier_config_generation 1")
    times = sorted(request(w, "GET", "/metrics")["seconds"] for _ in range(5))
    print(f"  scrape: median {times[2] * 1000:.1f} ms, worst {times[-1] * 1000:.1f} ms (client side, one connection each)")
    held = sorted(float(m) for m in re.findall(r'http request method="GET" target="/metrics" status=200 worker_ms=([0-9.]+)',
                                                 w.log()))
    check(len(held) >= 6, "julierd logged no time for its scrapes")

    step("/api/*: what julierctl --json prints")
    moving = {"uptime_seconds", "seconds_in_state", "announce_in_seconds"}
    for name in ("status", "services", "backends"):
        # Health checks and BIRD attempts go on: take both answers until a pair agrees.
        def same():
            api = request(w, "GET", f"/api/{name}")
            check(api["status"] == 200 and api["headers"].get("content-type") == "application/json", f"/api/{name}: {api}")
            return without(json.loads(api["body"]), moving) == without(w.ctl(name), moving)
        wait_for(same, f"/api/{name} to equal julierctl --json {name}", timeout=5)
    status = json.loads(request(w, "GET", "/api/status")["body"])
    check(status["bgp"] and status["announcements"] and status["bird_error"], f"status without BGP state: {status}")

    step("bounds: methods, paths, sizes")
    for method in ("POST", "PUT", "DELETE"):
        r = request(w, method, "/api/status")
        check(r["status"] == 405 and r["headers"].get("allow") == "GET, HEAD", f"{method}: {r['status']} {r['headers']}")
    check(request(w, "GET", "/admin")["status"] == 404, "an unknown path was not 404")
    head = request(w, "HEAD", "/")
    check(head["status"] == 200 and head["body"] == "" and int(head["headers"]["content-length"]) > 0, f"HEAD /: {head}")
    big = request(w, "GET", "/metrics", extra=f"X-Big: {'a' * 20000}\r\n")
    check(big["status"] == 431, f"a 20 kB request head: {big['status']}")
    posted = request(w, "GET", "/api/status", extra="Content-Length: 5\r\n", body=b"hello")
    check(posted["status"] == 413, f"a request with a body: {posted['status']}")
    check(w.daemon.poll() is None, "julierd exited")

    step("the page in headless Chromium")
    request(w, "GET", "/")  # the first sample of the rates
    w.send_syns(20)
    time.sleep(1.2)
    profile = tempfile.mkdtemp(prefix="julier-chromium-")
    try:
        dom = chromium(w, profile, "--dump-dom")
        cells = Cells()
        cells.feed(dom)
        rows = cells.rows
        text = " ".join(" ".join(cells.text).split())
        service = [r for s, r in rows if s == "services" and r and r[0] == "web"]
        check(len(service) == 1 and "198.19.0.1:80 tcp" in service[0], f"services row: {service}")
        backends = {r[0]: r for s, r in rows if s == "backends" and r and r[0] in (BACKEND_UP, BACKEND_NEW, BACKEND_GONE)}
        check(set(backends) == {BACKEND_UP, BACKEND_NEW, BACKEND_GONE}, f"backend rows: {backends}")
        api = {b["address"]: b for b in w.ctl("backends")}
        for address, row in backends.items():
            # Backend, Health, Reason, Weight, State, Drained by, Problem, ...
            want = api[address]
            check(row[1] == want["health"] and row[2] == want["health_reason"] and row[4] == want["state"],
                  f"{address}: page {row}, julierctl {want}")
        check(backends[BACKEND_UP][1] == "up" and backends[BACKEND_GONE][1] == "down", f"{backends}")
        check(backends[BACKEND_GONE][2] != "" and backends[BACKEND_GONE][6] != "", "the down backend shows no reason")
        check(backends[BACKEND_NEW][4] == "drain" and backends[BACKEND_NEW][5] == "operator", f"{backends}")
        announcement = [r for s, r in rows if s == "bgp" and r and r[0] == "198.19.0.1"]
        check(len(announcement) == 1 and announcement[0][1] == status["announcements"][0]["state"],
              f"announcement row: {announcement}, status {status['announcements']}")
        # Services: name, address, forwarding, in ring, packets, bytes, new flows, packets/s, ...
        check("Rates over the last" in text and float(service[0][7]) > 0,
              f"the page shows no packet rate after two views with traffic between: {service}")

        w.send_syns(20)  # so the screenshot shows rates too
        time.sleep(1.2)
        shot = os.path.join(w.work, "status-page.png")
        chromium(w, profile, f"--screenshot={shot}")
        with open(shot, "rb") as f:
            png = f.read()
        check(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10000, f"screenshot: {len(png)} bytes")
        keep = os.environ.get("JULIER_STATUS_SCREENSHOT")
        if keep:
            shutil.copyfile(shot, keep)
            print(f"  screenshot kept at {keep}")
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    for target in ("/metrics", "/api/services", "/api/backends", "/"):
        held = sorted(float(m) for m in re.findall(
            rf'http request method="GET" target="{re.escape(target)}" status=200 loop_ms=([0-9.]+)', w.log()))
        if held:
            print(f"  GET {target} on julierd's loop: median {held[len(held) // 2]:.2f} ms, worst {held[-1]:.2f} ms"
                  f" over {len(held)}")


def main() -> int:
    def print_log(world: World) -> None:
        print(f"---- julierd log ({world.log_path}) ----\n{world.log()[-6000:]}", file=sys.stderr)

    return run_test(__doc__, ("control/daemon/julierd", "control/cli/julierctl"), World, test, Failure, print_log)


if __name__ == "__main__":
    sys.exit(main())
