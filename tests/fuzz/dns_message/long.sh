#!/usr/bin/env bash
# long.sh BUILD_DIR SECONDS: the long libFuzzer campaign over the DNS message codec
# (`make fuzz`); the corpus grows in BUILD_DIR/tests/fuzz/dns_message/long/corpus.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
cmake --build "$build" --target fuzz_dns_message >/dev/null
exec bash "$here/../run.sh" "$build/tests/fuzz/dns_message/bin/fuzz_dns_message" \
  "$build/tests/fuzz/dns_message/long" "$2" "$here/seeds"
