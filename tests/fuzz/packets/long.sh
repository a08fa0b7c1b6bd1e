#!/usr/bin/env bash
# Long packet-fuzzing campaign (`make fuzz`): julier_pktfuzz for SECONDS in rounds
# of at most 60 s, each round with a new seed from the clock and a freshly loaded
# forwarder. Prints every round's summary and the totals per category.
# Usage: long.sh BUILD_DIR SECONDS
set -euo pipefail
build=${1:?usage: long.sh BUILD_DIR SECONDS}
seconds=${2:?usage: long.sh BUILD_DIR SECONDS}
bin=$build/tests/fuzz/packets/julier_pktfuzz
[ -x "$bin" ] || { echo "long.sh: $bin not built" >&2; exit 1; }
failures_dir=$build/tests/fuzz/packets/failures
mkdir -p "$failures_dir"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

status=0
start=$(date +%s)
while :; do
  left=$(( start + seconds - $(date +%s) ))
  [ "$left" -gt 0 ] || break
  round=$(( left < 60 ? left : 60 ))
  if ! "$bin" --seed time --seconds "$round" --quiet --save-dir "$failures_dir" | tee -a "$log"; then
    status=1
  fi
done

# Sum the per-category rows of every round's table.
awk -v secs="$(( $(date +%s) - start ))" '
  /^category / { table = 1; next }
  table && /^total / { table = 0; next }
  table { order[$1] = order[$1] ? order[$1] : ++n; name[order[$1]] = $1
          for (i = 2; i <= 8; i++) sum[$1, i] += $i }
  /^pktfuzz: seed .* frames in/ { rounds++ }
  END {
    printf "\n== packet fuzzing: %d rounds in %d s\n", rounds, secs
    printf "%-18s %12s %10s %10s %10s %10s %9s %8s\n", "category", "frames", "pass", "drop", "tx", "redirect", "refused", "failed"
    for (k = 1; k <= n; k++) {
      c = name[k]
      printf "%-18s %12d %10d %10d %10d %10d %9d %8d\n", c, sum[c,2], sum[c,3], sum[c,4], sum[c,5], sum[c,6], sum[c,7], sum[c,8]
      for (i = 2; i <= 8; i++) tot[i] += sum[c, i]
    }
    printf "%-18s %12d %10d %10d %10d %10d %9d %8d\n", "total", tot[2], tot[3], tot[4], tot[5], tot[6], tot[7], tot[8]
    printf "frames/s: %.0f\n", (secs > 0 ? tot[2] / secs : 0)
  }' "$log"
[ "$status" -eq 0 ] || echo "long.sh: failing frames saved in $failures_dir" >&2
exit $status
