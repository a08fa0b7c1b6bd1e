// `julierd --check FILE`: validate a catalogue without touching anything live
// (like `nginx -t`). Prints every diagnostic (file:line:col) to `err`, the summary
// to `out` when the file is valid, and a verdict line.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>

namespace julier::daemon {

// 0 when the catalogue is valid (warnings allowed), 1 otherwise.
int run_check(const std::string& path, std::ostream& out, std::ostream& err);

// --check FILE --against-running: the same, then asks the running julierd over its
// control socket (`socket`, or the file's control_socket) for a dry run of FILE
// (`reload` with dry_run and the file's absolute path: julierd reads and plans it
// against its running state, health verdicts and announcements, and applies
// nothing) and prints what would change. 0 when the file is valid and julierd
// would accept it, 1 when either refuses it, 2 when no julierd answers.
int run_check_against_running(const std::string& path, const std::optional<std::string>& socket, std::ostream& out,
                              std::ostream& err);

}  // namespace julier::daemon
