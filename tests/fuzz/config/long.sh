#!/usr/bin/env bash
# long.sh BUILD_DIR SECONDS: the long libFuzzer campaign over the catalogue parser
# (`make fuzz`). The corpus grows in BUILD_DIR/tests/fuzz/config/long/corpus across runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
build=$(cd "$1" && pwd)
cmake --build "$build" --target fuzz_config >/dev/null
exec bash "$here/../run.sh" "$build/tests/fuzz/config/bin/fuzz_config" "$build/tests/fuzz/config/long" "$2" \
  "$top/config/julier.yaml" "$top/config/demo.yaml" "$top/config/examples" "$here/seeds" "$here/yaml.dict"
