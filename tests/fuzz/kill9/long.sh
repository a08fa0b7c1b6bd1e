#!/usr/bin/env bash
# Long campaign: kill -9 during reloads and start-ups for SECONDS, with a catalogue
# large enough (240 services, rings of 16381) that a reload takes seconds.
set -euo pipefail
build=${1:?usage: long.sh BUILD_DIR SECONDS}
seconds=${2:-600}
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/kill9.py" --build "$build" --kills 30 --seconds "$seconds" --services 240 --ring 16381
