#!/usr/bin/env bash
# The shell completions of julierctl and julierd (packaging/completion) against the
# programs themselves:
# - bash: the completion is sourced and asked as bash asks it (COMP_WORDS,
#   COMP_CWORD, COMPREPLY): command names, global options, every command's options
#   and julierd's options equal what `--help` lists, so they cannot drift apart;
#   `fl` gives `flows`; service and backend names come from a stand-in julierd,
#   nothing (and quickly) when no julierd answers or one never does.
# - zsh: both files parse (zsh -n), and zsh's completion system, run in a
#   pseudo-terminal, offers the same commands and options, and the names.
# Arguments: the completion directory, julierctl, julierd.
set -euo pipefail
here=$(dirname "$(realpath "$0")")
dir=$(realpath "$1") julierctl=$(realpath "$2") julierd=$(realpath "$3")
work=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# COMPREPLY for a command line; the word under the cursor is the last one (an
# empty one after a trailing blank). Words sorted, one per line.
complete_line() {
  local function=$1 line=$2
  bash -c '
    source "$1"
    read -r -a COMP_WORDS <<<"$3"
    [[ $3 == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE=$3 COMP_POINT=${#3}
    "$2"
    printf "%s\n" "${COMPREPLY[@]}"
  ' _ "$dir/$(basename "${line%% *}").bash" "$function" "$line" | sort | sed '/^$/d'
}
words() { tr ' ' '\n' <<<"$*" | sed '/^$/d' | sort; }
expect() {  # expect WHAT GOT WANT
  [ "$2" = "$3" ] || fail "$1: completion gives [$(echo $2)], want [$(echo $3)]"
}

# What --help lists: subcommand names, and options (short and long).
help_commands() { "$@" --help | sed -n '/^Subcommands:/,$p' | sed -n 's/^  \([a-z]\+\) .*/\1/p' | sort; }
help_options() {
  "$@" --help | sed -n '/^Options:/,/^$/p' | grep -oE '^  -[^ ]+' | tr ',' '\n' | sed 's/^ *//' | sort
}

# Run the completion with julierctl from the build (COMP_WORDS[0] is what it runs).
ctl=$julierctl
commands=$(help_commands "$julierctl")
[ -n "$commands" ] || fail "no subcommands parsed from julierctl --help"
expect "julierctl <TAB>" "$(complete_line _julierctl "$ctl ")" "$commands"
expect "julierctl fl<TAB>" "$(complete_line _julierctl "$ctl fl")" "flows"
expect "julierctl --<TAB>" "$(complete_line _julierctl "$ctl --")" "$(help_options "$julierctl" | grep '^--')"
expect "julierctl -<TAB>" "$(complete_line _julierctl "$ctl -")" "$(help_options "$julierctl")"
for c in $commands; do
  want=$( (help_options "$julierctl" "$c"; words --socket --json) | sort -u)
  expect "julierctl $c -<TAB>" "$(complete_line _julierctl "$ctl $c -")" "$want"
done
expect "julierctl which <TAB>" "$(complete_line _julierctl "$ctl which ")" "$(words tcp udp)"
expect "julierctl --json which u<TAB>" "$(complete_line _julierctl "$ctl --json which u")" "udp"

# julierd.
expect "julierd -<TAB>" "$(complete_line _julierd "$julierd -")" "$(help_options "$julierd")"
expect "julierd --log-level <TAB>" "$(complete_line _julierd "$julierd --log-level ")" \
  "$(words trace debug info warning error critical off)"
mkdir "$work/etc" && touch "$work/etc/julier.yaml" "$work/etc/notes.txt"
expect "julierd --check etc/<TAB>" "$(cd "$work" && complete_line _julierd "$julierd --check etc/")" "etc/julier.yaml"

# Names from a stand-in julierd that answers services and backends.
cat >"$work/fake.py" <<'PY'
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
open(sys.argv[1] + ".ready", "w").close()
while True:
    c, _ = s.accept()
    data = b""
    while not data.endswith(b"\n"):
        chunk = c.recv(4096)
        if not chunk: break
        data += chunk
    r = json.loads(data)
    if sys.argv[2] == "mute": continue  # keeps the connection open, never answers
    if r["command"] == "services":
        result = [{"name": "web", "vip": "198.19.0.1"}, {"name": "dns", "vip": "198.19.0.53"}]
    else:
        result = [{"service": r.get("service", ""), "address": a} for a in ("198.18.0.20", "2001:db8::21")]
    c.sendall(json.dumps({"ok": True, "result": result}, indent=2).replace("\n", " ").encode() + b"\n")
    c.close()
PY
python3 "$work/fake.py" "$work/sock" answer &
server=$!
for _ in $(seq 50); do [ -e "$work/sock.ready" ] && break; sleep 0.1; done
expect "julierctl drain <TAB>" "$(complete_line _julierctl "$ctl --socket $work/sock drain ")" "$(words dns web)"
expect "julierctl backends w<TAB>" "$(complete_line _julierctl "$ctl --socket $work/sock backends w")" "web"
expect "julierctl purge web <TAB>" "$(complete_line _julierctl "$ctl --socket $work/sock purge web ")" \
  "$(words 198.18.0.20 2001:db8::21)"
expect "julierctl flows web 198<TAB>" "$(complete_line _julierctl "$ctl --socket $work/sock flows web 198")" \
  "198.18.0.20"
expect "julierctl maint <TAB>" "$(complete_line _julierctl "$ctl --socket $work/sock maint ")" "$(words dns web)"
expect "julierctl weight web <TAB>" "$(complete_line _julierctl "$ctl --socket $work/sock weight web ")" \
  "$(words 198.18.0.20 2001:db8::21)"
expect "julierctl ready web <TAB>" "$(complete_line _julierctl "$ctl --socket $work/sock ready web ")" \
  "$(words 198.18.0.20 2001:db8::21)"
expect "julierctl weight web 198.18.0.20 <TAB>" \
  "$(complete_line _julierctl "$ctl --socket $work/sock weight web 198.18.0.20 ")" ""
expect "julierctl status <TAB>" "$(complete_line _julierctl "$ctl --socket $work/sock status ")" ""
kill "$server"; wait "$server" 2>/dev/null || true; server=""

# No julierd, and one that never answers: no names, and no hang.
expect "julierctl drain <TAB> (no julierd)" "$(complete_line _julierctl "$ctl --socket $work/none drain ")" ""
rm -f "$work/sock" "$work/sock.ready"
python3 "$work/fake.py" "$work/sock" mute &
server=$!
for _ in $(seq 50); do [ -e "$work/sock.ready" ] && break; sleep 0.1; done
start=$(date +%s%N)
expect "julierctl drain <TAB> (mute julierd)" "$(complete_line _julierctl "$ctl --socket $work/sock drain ")" ""
ms=$((($(date +%s%N) - start) / 1000000))
[ $ms -lt 3000 ] || fail "completion waited ${ms} ms for a julierd that does not answer"
kill "$server"; wait "$server" 2>/dev/null || true; server=""

# zsh: syntax, and the completion system's answers (zsh_complete.zsh).
if command -v zsh >/dev/null; then
  zsh -n "$dir/_julierctl" || fail "_julierctl does not parse"
  zsh -n "$dir/_julierd" || fail "_julierd does not parse"
  zc() { zsh "$here/zsh_complete.zsh" "$dir" "$1"; }
  expect "zsh: julierctl <TAB>" "$(zc "$ctl ")" "$commands"
  expect "zsh: julierctl fl<TAB>" "$(zc "$ctl fl")" "flows"
  expect "zsh: julierctl --<TAB>" "$(zc "$ctl --")" "$(help_options "$julierctl" | grep '^--')"
  for c in $commands; do
    want=$( (help_options "$julierctl" "$c" | grep '^--'; words --socket --json) | sort -u)
    expect "zsh: julierctl $c --<TAB>" "$(zc "$ctl $c --")" "$want"
  done
  expect "zsh: julierctl which <TAB>" "$(zc "$ctl which ")" "$(words tcp udp)"
  expect "zsh: julierd --<TAB>" "$(zc "$julierd --")" "$(help_options "$julierd" | grep '^--')"
  expect "zsh: julierd --log-level <TAB>" "$(zc "$julierd --log-level ")" \
    "$(words trace debug info warning error critical off)"
  python3 "$work/fake.py" "$work/zsock" answer &
  server=$!
  for _ in $(seq 50); do [ -e "$work/zsock.ready" ] && break; sleep 0.1; done
  expect "zsh: julierctl drain <TAB>" "$(zc "$ctl --socket $work/zsock drain ")" "$(words dns web)"
  expect "zsh: julierctl purge web <TAB>" "$(zc "$ctl --socket=$work/zsock purge web ")" \
    "$(words 198.18.0.20 2001:db8::21)"
  expect "zsh: julierctl weight web <TAB>" "$(zc "$ctl --socket=$work/zsock weight web ")" \
    "$(words 198.18.0.20 2001:db8::21)"
  expect "zsh: julierctl maint <TAB>" "$(zc "$ctl --socket $work/zsock maint ")" "$(words dns web)"
  # Without julierd no names (zsh may offer options instead).
  got=$(zc "$ctl --socket $work/none drain ")
  [ -z "$(grep -v '^-' <<<"$got")" ] || fail "zsh: julierctl drain <TAB> (no julierd) gives [$(echo $got)]"
else
  fail "zsh is not installed (scripts/install-deps installs it)"
fi

[ $failures -eq 0 ] || exit 1
echo "completion ok"
