#!/usr/bin/env bash
# long.sh BUILD_DIR SECONDS: the long libFuzzer campaign over the HTTP response parser
# (`make fuzz`); the corpus grows in BUILD_DIR/tests/fuzz/http_response/long/corpus.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
cmake --build "$build" --target fuzz_http_response >/dev/null
exec bash "$here/../run.sh" "$build/tests/fuzz/http_response/bin/fuzz_http_response" \
  "$build/tests/fuzz/http_response/long" "$2" "$here/seeds" "$here/http.dict"
