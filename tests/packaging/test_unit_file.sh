#!/usr/bin/env bash
# The systemd unit: verifies, and its exposure score stays at or below 2.5.
set -euo pipefail
unit=$1
julierd=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Verify a copy that points at the built binary and drops the man: links (the pages
# are only installed by the package; the package test verifies the installed unit).
sed -e "s|/usr/sbin/julierd|$julierd|" -e '/^Documentation=/d' "$unit" > "$work/julierd.service"
systemd-analyze verify "$work/julierd.service"

score=$(systemd-analyze security --offline=true "$work/julierd.service" 2>/dev/null |
        sed -n 's/.*Overall exposure level for julierd.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || { echo "no exposure score reported"; exit 1; }
echo "exposure score: $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || { echo "exposure $score is above 2.5"; exit 1; }
