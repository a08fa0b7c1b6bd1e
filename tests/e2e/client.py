"""Load client for julier's end-to-end tests and demo; prints one JSON object.

  http --vip ADDR [--port 80] --count N [--parallel P]
      N requests, each on a new TCP connection; counts answers per backend.
  udp  --vip ADDR [--port 5353] --count N
      N datagrams, each from a new source port; counts answers per backend.
  hold --vip ADDR [--port 7000] --conns N --seconds S [--every 0.2] [--sources A,B]
      N long-lived TCP connections exchanging a line every --every seconds for S
      seconds; reports per connection the backend and whether it ever changed or broke,
      and its local address and port. --sources binds the connections to these local
      addresses in turn (so a router's ECMP hash spreads them). With --until-eof the
      connections are held until standard input closes (S seconds at most), and each
      line read there prints a snapshot of the connections so far.
  reuse --vip ADDR [--port 80] --ports FIRST-LAST --rounds R
      R rounds of one short HTTP connection from each local port FIRST..LAST (bound
      with SO_REUSEADDR: the same few tuples again and again, as a busy client or a
      NAT does); reports per port the backend of every connection, in order.
"""
import argparse
import collections
import concurrent.futures
import errno
import json
import select
import socket
import sys
import time


def family(addr: str) -> int:
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def http_get(s: socket.socket, vip: str) -> str:
    """One request on a connected socket; the backend's answer (the server closes)."""
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
    return body.decode().strip()


def http_once(vip: str, port: int, timeout: float) -> tuple[str, int]:
    """The backend's answer and the local port the connection used."""
    with socket.socket(family(vip), socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect((vip, port))
        return http_get(s, vip), s.getsockname()[1]


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


def reused_once(vip: str, port: int, local_port: int, timeout: float) -> str:
    """One HTTP request on a connection from `local_port`; the backend's answer.

    The server closes first (Connection: close), so the TIME_WAIT of the tuple is
    the backend's and the client's socket is gone once the server acknowledges its
    FIN: the port can be bound again at once (SO_REUSEADDR). Until that last ACK is
    in, connect() says EADDRNOTAVAIL (the tuple is still in use): try again. The
    client closes normally (its FIN starts the entry's 60 s linger, so within a test
    the previous connection's entry is always still usable: a forwarder that looked
    it up for a SYN would follow it). Closing with an RST instead (SO_LINGER 0)
    would leave no TIME_WAIT either, but its 2 s linger could let a table-following
    forwarder pass a test that pauses longer than that between connections."""
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(family(vip), socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.settimeout(timeout)
            s.bind(("::" if family(vip) == socket.AF_INET6 else "0.0.0.0", local_port))
            s.connect((vip, port))
            break
        except OSError as e:
            s.close()
            if e.errno not in (errno.EADDRNOTAVAIL, errno.EADDRINUSE) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
    with s:
        return http_get(s, vip)


def cmd_reuse(a) -> dict:
    first, _, last = a.ports.partition("-")
    ports = list(range(int(first), int(last or first) + 1))

    def one_port(local_port: int) -> tuple[list, list]:
        answers, failures = [], []
        for _ in range(a.rounds):
            try:
                answers.append(reused_once(a.vip, a.port, local_port, a.timeout))
            except Exception as e:  # noqa: BLE001 - every failure is counted and sampled
                failures.append(f"port {local_port}: {e}")
        return answers, failures

    by_port, failures = {}, []
    with concurrent.futures.ThreadPoolExecutor(len(ports)) as pool:
        for local_port, (answers, failed) in zip(ports, pool.map(one_port, ports)):
            by_port[str(local_port)] = answers
            failures += failed
    counts = collections.Counter(b for answers in by_port.values() for b in answers)
    return {"by_port": by_port, "by_backend": dict(counts), "errors": len(failures), "error_samples": failures[:5]}


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

    def exchange_all():
        nonlocal n
        for s, f, entry in conns:
            if f is None or entry["broken"]:
                continue
            exchange(f, entry, f"ping {n}")
        n += 1

    while True:
        exchange_all()
        if time.monotonic() >= end:
            break
        if not a.until_eof:
            time.sleep(a.every)
            continue
        if select.select([sys.stdin], [], [], a.every)[0]:
            if not sys.stdin.readline():
                break
            exchange_all()  # a snapshot shows an exchange made after the request for it
            print(json.dumps(hold_summary(conns)), flush=True)
    for s, _, _ in conns:
        s.close()
    return hold_summary(conns)


def hold_summary(conns: list) -> dict:
    result = [dict(e) for _, _, e in conns]
    return {"connections": result,
            "broken": sum(1 for e in result if e["broken"]),
            "changed": sum(1 for e in result if e["changed"]),
            "by_backend": dict(collections.Counter(e["backend"] for e in result if e["backend"]))}


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, port in (("http", 80), ("udp", 5353), ("hold", 7000), ("reuse", 80)):
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
            p.add_argument("--until-eof", action="store_true")
        if name == "reuse":
            p.add_argument("--ports", required=True)
            p.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    print(json.dumps({"http": cmd_http, "udp": cmd_udp, "hold": cmd_hold, "reuse": cmd_reuse}[a.cmd](a)))


if __name__ == "__main__":
    main()
