#!/usr/bin/env bash
# run.sh FUZZER WORKDIR SECONDS SEED...: one libFuzzer run of SECONDS over a corpus
# in WORKDIR/corpus, seeded from SEED files and folders (kept between runs, so a long
# campaign resumes). A SEED ending in .dict is a libFuzzer dictionary instead.
# Crashes, leaks, timeouts and out-of-memory inputs are written to WORKDIR/artifacts
# and fail the run.
set -euo pipefail
fuzzer=$1 work=$2 seconds=$3
shift 3
mkdir -p "$work/corpus" "$work/artifacts"
dict=()
for seed in "$@"; do
  if [[ $seed == *.dict ]]; then
    dict=(-dict="$seed")
  elif [ -d "$seed" ]; then
    find "$seed" -maxdepth 1 -type f -exec cp -f {} "$work/corpus/" \;
  else
    cp -f "$seed" "$work/corpus/"
  fi
done
# Per input: 10 s and 2 GiB at most (a hang or a blow-up is a finding, not a wait).
# Inputs up to 8 KiB: twice the largest example catalogue.
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
  -print_final_stats=1 -print_funcs=0 "${dict[@]}" -artifact_prefix="$work/artifacts/" "$work/corpus"
