// `julierd --check FILE`: validate a catalogue without touching anything live
// (like `nginx -t`). Prints every diagnostic (file:line:col) to `err`, the summary
// to `out` when the file is valid, and a verdict line.
#pragma once

#include <iosfwd>
#include <string>

namespace julier::daemon {

// 0 when the catalogue is valid (warnings allowed), 1 otherwise.
int run_check(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace julier::daemon
