#!/usr/bin/env bash
# The systemd unit: verifies, and its exposure score stays at or below 2.5.
set -euo pipefail
unit=$1
julierd=$2
julierctl=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Verify a copy that points at the built binary and drops the man: links (the pages
# are only installed by the package; the package test verifies the installed unit).
sed -e "s|/usr/sbin/julierd|$julierd|" -e "s|/usr/bin/julierctl|$julierctl|" -e '/^Documentation=/d' "$unit" > "$work/julierd.service"
systemd-analyze verify "$work/julierd.service"

score=$(systemd-analyze security --offline=true "$work/julierd.service" 2>/dev/null |
        sed -n 's/.*Overall exposure level for julierd.service: \([0-9.]*\).*/\1/p')
[ -n "$score" ] || { echo "no exposure score reported"; exit 1; }
echo "exposure score: $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }' || { echo "exposure $score is above 2.5"; exit 1; }

# The control socket's group: julierd runs with Group=julier so that it can give
# the socket that group without CAP_CHOWN (not in its bounding set), and the
# runtime directory holding the socket is root:julier and not open to others.
grep -qx 'Group=julier' "$unit" || { echo "unit lacks Group=julier: the julier group could not reach the control socket"; exit 1; }
grep -qx 'RuntimeDirectoryMode=0750' "$unit" || { echo "unit's RuntimeDirectoryMode is not 0750"; exit 1; }
if grep -q '^CapabilityBoundingSet=.*CAP_CHOWN' "$unit"; then echo "unit grants CAP_CHOWN"; exit 1; fi
echo "control socket group: Group=julier, runtime directory 0750"

# `systemctl reload` must wait for julierd's verdict, so a refused file fails it:
# through the control socket, not a bare signal.
grep -qx 'ExecReload=/usr/bin/julierctl reload' "$unit" || { echo "ExecReload does not wait for the reload's verdict"; exit 1; }
echo "reload: julierctl reload (a refused file fails systemctl reload)"
