// Replacing a file as root in a directory that someone else may write to (BIRD's
// run directory, the state directory). The new content goes to a temporary file of
// an unpredictable name, created exclusively and without following links, relative
// to a directory fd whose type, owner and mode were checked; then it is renamed over
// the target. A link planted at any name in that directory is never followed, so no
// other file is truncated, filled or made readable.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <stdexcept>
#include <string_view>

namespace julier::common {

// The message names the path and what was wrong with it.
class FileReplaceError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Refused directories: not a directory (or a link to one), writable by others
// without the sticky bit, or owned by a user other than root or this process's
// while writable by others. Only the directory is created when missing (mode 0755);
// its parents must exist.
void replace_file(const std::filesystem::path& path, std::string_view content, mode_t mode);

// Removes `path` if it is there (a missing file is not an error); a link there is
// removed, never followed. Same directory checks.
void remove_file(const std::filesystem::path& path);

}  // namespace julier::common
