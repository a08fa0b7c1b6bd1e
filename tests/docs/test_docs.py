#!/usr/bin/python3
"""The documentation says what the code does: catalogue snippets, `julierd --check`
output and julierctl table headings, checked against the build's binaries.

What is checked:

- Every ```yaml block of docs/*.md, README.md and config/README.md, every
  catalogue in config/ and config/examples/, and every catalogue a man page shows
  between .nf and .fi, passes `julierd --check` (exit 0; warnings are allowed) -- unless a marker, an HTML comment on the line right
  before the fence (invisible in the rendered Markdown), says otherwise:

    <!-- fragment -->         a part of a catalogue. It is checked after wrapping
                              it into a minimal catalogue: a list becomes
                              `services:`, a mapping without catalogue top-level
                              keys is taken as one service, and `interfaces: [eth0]`
                              is added when missing. So a `bgp:`, `defaults:`,
                              `limits:` or `services:` excerpt is still checked.
    <!-- not a catalogue -->  YAML of another program (prometheus.yml, ...): only
                              that it is YAML at all.

- A fenced block right after the marker `<!-- check-output -->` is what
  `julierd --check` prints for the ```yaml block before it. The catalogue is
  checked as `julier.yaml` in an empty directory; the block's optional first line
  `$ julierd --check PATH` names it PATH instead. The block's lines must appear
  in julierd's output in that order (a block may leave out summary lines), and
  every error and warning julierd prints must be in the block. Any other fenced
  block that quotes a diagnostic (`FILE:LINE:COL: error: ...`) fails the test: it
  must be such a pair, so that no quoted message can drift from the code.

- The column headings of quoted `julierctl services`, `backends`, `flows`,
  `flows --list` and `top` tables are the ones julierctl prints (asked of a
  stand-in for julierd that answers empty lists on a socket of its own; `top`
  piped, as it prints without a terminal).

config/examples/decap.yaml is julier-decap's file: `julier-decap check -c` checks it.
Needs no root and no running daemon.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading

import yaml

MARKER = re.compile(r"^\s*<!--\s*(fragment|not a catalogue|check-output)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
DIAGNOSTIC = re.compile(r"^\S+:\d+:\d+: (error|warning): ")
HEADING = re.compile(r"^[A-Z][A-Z /]+$")  # a table's column headings
TOP_KEYS = {
    "interfaces", "xdp_mode", "pin_dir", "control_socket", "metrics", "limits", "bgp", "defaults",
    "services", "flood_protection", "icmp_answers",
}


class Block:
    def __init__(self, path: str, line: int, lang: str, marker: str | None, text: str):
        self.path, self.line, self.lang, self.marker, self.text = path, line, lang, marker, text

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def blocks(path: str, text: str) -> list[Block]:
    """Fenced blocks with their language and the marker on the line before them."""
    lines = text.split("\n")
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent = len(m.group(1))
        end = i + 1
        while end < len(lines) and not re.match(r"^\s*```\s*$", lines[end]):
            end += 1
        previous = lines[i - 1] if i > 0 else ""
        mm = MARKER.match(previous)
        body = "\n".join(line[indent:] if line[:indent].isspace() else line for line in lines[i + 1:end])
        out.append(Block(path, i + 1, m.group(2), mm.group(1) if mm else None, body + "\n"))
        i = end + 1
    return out


def run_check(julierd: str, catalogue: str, name: str = "julier.yaml") -> tuple[int, list[str]]:
    """julierd --check on `catalogue` written to `name` in an empty directory: exit
    code and the lines of stderr, then stdout (julierd prints its diagnostics
    before the summary)."""
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "julier.yaml"), "w") as f:
            f.write(catalogue)
        r = subprocess.run([julierd, "--check", "julier.yaml"], cwd=tmp, capture_output=True, text=True,
                           timeout=60)
    lines = (r.stderr + r.stdout).splitlines()
    if name != "julier.yaml":
        lines = [name + line[len("julier.yaml"):] if line.startswith("julier.yaml:") else line for line in lines]
    return r.returncode, lines


def wrap_fragment(text: str) -> str:
    """A catalogue around a fragment (see the module's doc)."""
    data = yaml.safe_load(text)
    if isinstance(data, list):
        return "interfaces: [eth0]\nservices:\n" + "".join("  " + line + "\n" for line in text.splitlines())
    if not isinstance(data, dict):
        raise ValueError("a fragment must be a mapping or a list")
    keys = {k for k in data if not str(k).startswith("x-")}
    if keys and not keys & TOP_KEYS:  # one service
        return "interfaces: [eth0]\nservices:\n  -\n" + "".join("    " + line + "\n" for line in text.splitlines())
    return text if "interfaces" in data else "interfaces: [eth0]\n" + text


# `key: value` and `a.b.c: value` in running text.
INLINE = re.compile(r"`([a-z_]+(?:\.[a-z_]+)*): ([^`]+)`")


def nest(path: list[str], value: str, indent: int) -> str:
    out = ""
    for depth, key in enumerate(path[:-1]):
        out += " " * (indent + 2 * depth) + key + ":\n"
    return out + " " * (indent + 2 * (len(path) - 1)) + f"{path[-1]}: {value}\n"


def inline_placements(path: list[str], value: str) -> list[str]:
    """Catalogues that hold the setting `path: value` at each place it could mean:
    top level, `bgp`, a service, a backend, a service's health check."""
    if path[0] in TOP_KEYS:
        top = nest(path, value, 0)
        return [top if path[0] == "interfaces" else "interfaces: [eth0]\n" + top]
    service = {"name": "web", "vip": "198.19.0.1", "port": "80", "health": "{kind: none}",
               "backends": "[198.18.0.20]"}

    def catalogue(drop: set[str], extra: str) -> str:
        text = "interfaces: [eth0]\nservices:\n  -\n"
        return text + "".join(f"    {k}: {v}\n" for k, v in service.items() if k not in drop) + extra

    out = ["interfaces: [eth0]\nbgp:\n" + nest(path, value, 2),
           catalogue({path[0]}, nest(path, value, 4)),
           catalogue({"backends"}, "    backends:\n      - address: 198.18.0.20\n" + nest(path, value, 8))]
    for kind in ("tcp", "https"):
        out.append(catalogue({"health"}, f"    health:\n      kind: {kind}\n" + nest(path, value, 6)))
    return out


class FakeDaemon:
    """Answers every julierctl request with an empty result of the right shape."""

    EMPTY = {
        "services": [],
        "backends": [],
        "flows": {"services": [], "backends": [], "entries": 0, "max_flows": 0, "unplanned": 0},
    }

    def __init__(self, path: str):
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(path)
        self.server.listen(8)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                # One request after another on a connection, as julierd answers them.
                data = b""
                while True:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                    while b"\n" in data:
                        line, data = data.split(b"\n", 1)
                        request = json.loads(line)
                        if request.get("list"):
                            result = {"flows": [], "scanned": 0, "next": ""}
                        else:
                            result = self.EMPTY.get(request["command"], {})
                        conn.sendall(json.dumps({"ok": True, "result": result}).encode() + b"\n")


def julierctl_headings(julierctl: str) -> dict[str, list[str]]:
    """The heading lines julierctl prints for each table command."""
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "julierd.sock")
        fake = FakeDaemon(sock)
        out = {}
        # top's block when its output is no terminal, after one refresh.
        top = ["top", "-n", "1", "--interval", "100ms"]
        for command in (["services"], ["backends"], ["flows"], ["flows", "--list"], top):
            r = subprocess.run([julierctl, "--socket", sock, *command], capture_output=True, text=True, timeout=30)
            if r.returncode != 0:
                raise RuntimeError(f"julierctl {' '.join(command)}: {r.stderr}")
            name = "top" if command == top else " ".join(command)
            out[name] = [line for line in r.stdout.splitlines() if HEADING.match(line)]
        fake.server.close()
    return out


def columns(heading: str) -> list[str]:
    return re.split(r"\s{2,}", heading.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("--julierd", required=True)
    parser.add_argument("--julierctl", required=True)
    parser.add_argument("--decap", help="julier-decap, to check config/examples/decap.yaml")
    args = parser.parse_args()
    for name in ("julierd", "julierctl", "decap"):
        if getattr(args, name):
            setattr(args, name, os.path.abspath(getattr(args, name)))
    os.chdir(args.source)

    failures: list[str] = []
    counts = {"catalogue": 0, "fragment": 0, "other": 0, "output": 0, "table": 0, "inline": 0}

    def fail(where: str, message: str, lines: list[str] | None = None) -> None:
        failures.append(f"{where}: {message}" + "".join("\n    | " + line for line in lines or []))

    markdown = sorted(glob.glob("docs/*.md")) + ["README.md", "config/README.md"]
    headings = julierctl_headings(args.julierctl)
    # The catalogue's keys, from the field reference (generated from the schema).
    with open("config/README.md") as f:
        keys = {re.sub(r"\[\]", "", k).split(".")[0] for k in re.findall(r"^\| `([^`]+)`", f.read(), re.M)}
    verified: set[str] = set()  # diagnostics a check-output pair showed to be julierd's
    elsewhere: list[tuple[str, str]] = []
    man = sorted(glob.glob("packaging/man/*.[0-9]"))
    for path in markdown + man:
        with open(path) as f:
            text = f.read()
        # Settings quoted in running text.
        for number, line in enumerate(text.split("\n"), 1):
            for m in INLINE.finditer(line.replace("\\-", "-").replace("\\&", "")):
                setting, value = m.group(1).split("."), m.group(2)
                if setting[0] not in keys:
                    continue
                counts["inline"] += 1
                results = [run_check(args.julierd, c) for c in inline_placements(setting, value)]
                if all(rc != 0 for rc, _ in results):
                    fail(f"{path}:{number}", f"{m.group(0)} is valid nowhere in a catalogue", results[0][1])
        if path in man:
            # Catalogues shown between .nf and .fi (no-fill) lines.
            for m in re.finditer(r"^\.nf\n(.*?)^\.fi$", text, re.M | re.S):
                example = re.sub(r"\\\(dq", '"', m.group(1)).replace("\\-", "-").replace("\\&", "")
                try:
                    data = yaml.safe_load(example)
                except yaml.YAMLError:
                    continue
                if isinstance(data, dict) and set(data) & TOP_KEYS:
                    counts["catalogue"] += 1
                    rc, out = run_check(args.julierd, example)
                    if rc != 0:
                        fail(f"{path}:{text[:m.start()].count(chr(10)) + 2}", "catalogue fails julierd --check", out)
            continue
        all_blocks = blocks(path, text)
        previous_yaml: Block | None = None
        for index, b in enumerate(all_blocks):
            followed = all_blocks[index + 1] if index + 1 < len(all_blocks) else None
            if b.lang == "yaml" and followed is not None and followed.marker == "check-output":
                previous_yaml = b  # its check-output block says what julierd makes of it
                if b.marker == "fragment":
                    counts["fragment"] += 1
                elif b.marker is None:
                    counts["catalogue"] += 1
                continue
            if b.lang == "yaml":
                previous_yaml = b
                if b.marker == "not a catalogue":
                    counts["other"] += 1
                    try:
                        yaml.safe_load(b.text)
                    except yaml.YAMLError as e:
                        fail(b.where(), f"not YAML: {e}")
                    continue
                text = b.text
                if b.marker == "fragment":
                    counts["fragment"] += 1
                    try:
                        text = wrap_fragment(b.text)
                    except (ValueError, yaml.YAMLError) as e:
                        fail(b.where(), f"fragment cannot be wrapped into a catalogue: {e}")
                        continue
                elif b.marker is not None:
                    fail(b.where(), f"<!-- {b.marker} --> does not go before a yaml block")
                    continue
                else:
                    counts["catalogue"] += 1
                rc, out = run_check(args.julierd, text)
                if rc != 0:
                    what = "fragment (wrapped)" if b.marker == "fragment" else "catalogue"
                    hint = "" if b.marker else " (mark a part of a catalogue <!-- fragment -->)"
                    fail(b.where(), f"{what} fails julierd --check{hint}", out)
                continue

            if b.marker == "check-output":
                counts["output"] += 1
                if previous_yaml is None:
                    fail(b.where(), "<!-- check-output --> without a yaml block before it")
                    continue
                quoted = b.text.rstrip("\n").splitlines()
                name = "julier.yaml"
                if quoted and quoted[0].startswith("$ "):
                    command = quoted.pop(0)[2:].split()
                    if command[:2] != ["julierd", "--check"] or len(command) != 3:
                        fail(b.where(), f"the command line of a check-output block is `julierd --check PATH`")
                        continue
                    name = command[2]
                text = previous_yaml.text
                if previous_yaml.marker == "fragment":
                    text = wrap_fragment(text)
                _, real = run_check(args.julierd, text, name)
                at = 0
                for line in quoted:
                    while at < len(real) and real[at] != line:
                        at += 1
                    if at == len(real):
                        fail(b.where(), f"julierd --check does not print (or not in this order): {line}",
                             ["julierd --check prints:"] + real)
                        break
                    at += 1
                verified.update(line for line in quoted if DIAGNOSTIC.match(line))
                for line in real:
                    if DIAGNOSTIC.match(line) and line not in quoted:
                        fail(b.where(), f"julierd --check also prints: {line}")
                continue
            if b.marker is not None:
                fail(b.where(), f"<!-- {b.marker} --> before a block that is not yaml")
                continue

            # Quoted diagnostics outside a check-output pair (julierctl reload shows them).
            for line in b.text.splitlines():
                if DIAGNOSTIC.match(line.strip()):
                    elsewhere.append((b.where(), line.strip()))

            # julierctl tables: the heading after `$ julierctl services|backends|flows|top [...]`.
            lines = b.text.splitlines()
            for i, line in enumerate(lines):
                m = re.match(r"^\$ julierctl (?:--\S+ )*(services|backends|flows|top)\b(.*)$", line)
                if not m or "--json" in line:
                    continue
                command = m.group(1) + (" --list" if "--list" in m.group(2) else "")
                want = [columns(h) for h in headings[command]]
                got = []
                for following in lines[i + 1:]:
                    if following.startswith("$ "):
                        break
                    if HEADING.match(following):
                        got.append(columns(following))
                counts["table"] += 1
                if got != want:
                    fail(b.where(), f"`julierctl {command}` prints the columns {want}, the docs show {got}")

    for where, line in elsewhere:
        if line not in verified:
            fail(where, "a quoted diagnostic that no <!-- check-output --> block (after the yaml that "
                        "makes it) shows", [line])

    # Catalogue files.
    for path in sorted(glob.glob("config/*.yaml") + glob.glob("config/examples/*.yaml")):
        counts["catalogue"] += 1
        if os.path.basename(path) == "decap.yaml":
            if args.decap:
                r = subprocess.run([args.decap, "check", "-c", path], capture_output=True, text=True, timeout=60)
                if r.returncode != 0:
                    fail(path, "julier-decap check fails", (r.stderr + r.stdout).splitlines())
            continue
        with open(path) as f:
            rc, out = run_check(args.julierd, f.read())
        if rc != 0:
            fail(path, "fails julierd --check", out)

    print(", ".join(f"{v} {k}" for k, v in counts.items()))
    for f in failures:
        print("FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
