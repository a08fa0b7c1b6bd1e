"""Load client for julier's end-to-end tests and demo; prints one JSON object.

  http --vip ADDR [--port 80] --count N [--parallel P]
      N requests, each on a new TCP connection; counts answers per backend.
  udp  --vip ADDR [--port 5353] --count N
      N datagrams, each from a new source port; counts answers per backend.
  hold --vip ADDR [--port 7000] --conns N --seconds S [--every 0.2] [--sources A,B]
      N long-lived TCP connections exchanging a line every --every seconds for S
      seconds; reports per connection the backend and whether it ever changed or broke,
      and its local address and port. --sources binds the connections to these local
      addresses in turn (so a router's ECMP hash spreads them).
"""
import argparse
import collections
import concurrent.futures
import json
import socket
import time


def family(addr: str) -> int:
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def http_once(vip: str, port: int, timeout: float) -> tuple[str, int]:
    """The backend's answer and the local port the connection used."""
    with socket.socket(family(vip), socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((vip, port))
        local_port = s.getsockname()[1]
        s.sendall(f"GET / HTTP/1.1\r\nHost: {vip}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"bad response {head[:40]!r}")
    return body.decode().strip(), local_port


def cmd_http(a) -> dict:
    counts, errors, samples, ports = collections.Counter(), 0, [], {}
    with concurrent.futures.ThreadPoolExecutor(a.parallel) as pool:
        futs = [pool.submit(http_once, a.vip, a.port, a.timeout) for _ in range(a.count)]
        for f in futs:
            try:
                backend, port = f.result()
                counts[backend] += 1
                ports.setdefault(port, backend)
            except Exception as e:  # noqa: BLE001 - every failure is counted and sampled
                errors += 1
                if len(samples) < 5:
                    samples.append(str(e))
    # The kernel may hand a closed connection's source port to a later one (the
    # server closes first, so the client keeps no TIME_WAIT): such a connection
    # reuses its tuple's connection-table entry and is not a new flow.
    # Connections on one tuple go where its first went, so the ring's spread shows
    # in the distinct tuples (by_flow), not in the connections.
    return {"by_backend": dict(counts), "by_flow": dict(collections.Counter(ports.values())), "errors": errors,
            "error_samples": samples, "source_ports": len(ports)}


def cmd_udp(a) -> dict:
    counts, errors, ports = collections.Counter(), 0, {}
    for _ in range(a.count):
        with socket.socket(family(a.vip), socket.SOCK_DGRAM) as s:
            s.settimeout(a.timeout)
            try:
                s.sendto(b"hello\n", (a.vip, a.port))
                backend = s.recv(2048).decode().strip()
                counts[backend] += 1
                ports.setdefault(s.getsockname()[1], backend)
            except OSError:
                errors += 1
    return {"by_backend": dict(counts), "by_flow": dict(collections.Counter(ports.values())), "errors": errors}


def exchange(f, entry: dict, text: str) -> None:
    """One line there and back; records the backend, a change of it, or a break."""
    try:
        f.write(f"{text}\n".encode())
        f.flush()
        line = f.readline().decode().strip()
        if not line:
            raise OSError("connection closed")
        name = line.split(" ", 1)[0]
        if entry["backend"] is None:
            entry["backend"] = name
        elif entry["backend"] != name:
            entry["changed"] = True
        entry["exchanges"] += 1
    except OSError as e:
        entry["broken"] = str(e)


def cmd_hold(a) -> dict:
    conns = []
    sources = [x for x in (a.sources or "").split(",") if x]
    for i in range(a.conns):
        s = socket.socket(family(a.vip), socket.SOCK_STREAM)
        s.settimeout(a.timeout)
        entry = {"backend": None, "changed": False, "broken": None, "exchanges": 0}
        try:
            if sources:
                s.bind((sources[i % len(sources)], 0))
            s.connect((a.vip, a.port))
            entry["local"] = list(s.getsockname()[:2])
            f = s.makefile("rwb")
        except OSError as e:
            entry["broken"] = f"connect: {e}"
            f = None
        conns.append((s, f, entry))
        if f is not None:
            exchange(f, entry, "hello")
    print(json.dumps({"connected": len(conns), "locals": [e.get("local") for _, _, e in conns]}), flush=True)
    end = time.monotonic() + a.seconds
    n = 0
    while True:
        for s, f, entry in conns:
            if f is None or entry["broken"]:
                continue
            exchange(f, entry, f"ping {n}")
        n += 1
        if time.monotonic() >= end:
            break
        time.sleep(a.every)
    for s, _, _ in conns:
        s.close()
    result = [e for _, _, e in conns]
    return {"connections": result,
            "broken": sum(1 for e in result if e["broken"]),
            "changed": sum(1 for e in result if e["changed"]),
            "by_backend": dict(collections.Counter(e["backend"] for e in result if e["backend"]))}


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, port in (("http", 80), ("udp", 5353), ("hold", 7000)):
        p = sub.add_parser(name)
        p.add_argument("--vip", required=True)
        p.add_argument("--port", type=int, default=port)
        p.add_argument("--timeout", type=float, default=5.0)
        if name in ("http", "udp"):
            p.add_argument("--count", type=int, default=100)
        if name == "http":
            p.add_argument("--parallel", type=int, default=8)
        if name == "hold":
            p.add_argument("--conns", type=int, default=20)
            p.add_argument("--seconds", type=float, default=5.0)
            p.add_argument("--every", type=float, default=0.2)
            p.add_argument("--sources", default="")
    a = ap.parse_args()
    print(json.dumps({"http": cmd_http, "udp": cmd_udp, "hold": cmd_hold}[a.cmd](a)))


if __name__ == "__main__":
    main()
