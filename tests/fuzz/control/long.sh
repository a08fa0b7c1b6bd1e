#!/usr/bin/env bash
# long.sh BUILD_DIR SECONDS: the long libFuzzer campaign over the control protocol
# (`make fuzz`). The corpus grows in BUILD_DIR/tests/fuzz/control/long/corpus across runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
build=$(cd "$1" && pwd)
cmake --build "$build" --target fuzz_control >/dev/null
exec bash "$here/../run.sh" "$build/tests/fuzz/control/bin/fuzz_control" "$build/tests/fuzz/control/long" "$2" \
  "$here/seeds" "$here/json.dict"
