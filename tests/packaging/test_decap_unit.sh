#!/usr/bin/env bash
# The decapsulator's systemd unit: verifies, is sandboxed (exposure at most 2.5),
# applies an edited file in place on reload, and does not detach on stop.
set -euo pipefail
unit=$1
decap=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sed -e "s|/usr/sbin/julier-decap|$decap|" -e '/^Documentation=/d' "$unit" > "$work/julier-decap.service"
systemd-analyze verify "$work/julier-decap.service"

score=$(systemd-analyze security --offline=true "$work/julier-decap.service" 2>/dev/null |
        sed -n 's/.*Overall exposure level for julier-decap.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || { echo "no exposure score reported"; exit 1; }
echo "exposure score: $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || { echo "exposure $score is above 2.5"; exit 1; }

grep -qx 'ExecStart=/usr/sbin/julier-decap attach -c /etc/julier/decap.yaml' "$unit" ||
  { echo "ExecStart does not attach from /etc/julier/decap.yaml"; exit 1; }
grep -qx 'ExecReload=/usr/sbin/julier-decap attach -c /etc/julier/decap.yaml' "$unit" ||
  { echo "ExecReload does not update in place"; exit 1; }
if grep -q '^ExecStop' "$unit"; then echo "stopping the unit would detach the decapsulator"; exit 1; fi
# The binary the unit runs takes the unit's command line.
"$decap" attach --help >/dev/null
echo "start and reload: julier-decap attach; stop leaves it attached"
