#include "common/file_replace.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace julier::common {
namespace {

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }
    // Closes now and reports close's own error (a delayed write error shows here).
    bool close() {
        const int fd = fd_;
        fd_ = -1;
        return ::close(fd) == 0;
    }

private:
    int fd_;
};

[[noreturn]] void fail(const std::filesystem::path& path, std::string_view what, int error) {
    throw FileReplaceError(fmt::format("cannot write {}: {}: {}", path.string(), what, std::strerror(error)));
}

[[noreturn]] void refuse(const std::filesystem::path& dir, std::string_view why) {
    throw FileReplaceError(fmt::format("refusing to write in {}: {}", dir.string(), why));
}

// Opens the directory of `path` without following a link in its last component and
// checks that nobody but its owner (root, or this process's user) can swap names in it.
Fd open_checked_directory(const std::filesystem::path& path, bool create) {
    auto dir = path.parent_path();
    if (dir.empty()) dir = ".";
    if (create && ::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) fail(path, "creating its directory", errno);
    Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOTDIR || errno == ELOOP) refuse(dir, "not a directory (or a symbolic link to one)");
        fail(path, "opening its directory", errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) fail(path, "reading its directory's mode", errno);
    const bool others_write = (st.st_mode & S_IWOTH) != 0;
    const bool sticky = (st.st_mode & S_ISVTX) != 0;
    if (others_write && !sticky) refuse(dir, "writable by every user and not sticky (chmod o-w or +t)");
    const bool trusted_owner = st.st_uid == 0 || st.st_uid == ::geteuid();
    if (others_write && !trusted_owner) refuse(dir, "writable by every user and owned by another user");
    return fd;
}

std::string random_suffix(const std::filesystem::path& path) {
    unsigned char bytes[12];
    std::size_t got = 0;
    while (got < sizeof bytes) {
        const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail(path, "getrandom", errno);
        got += static_cast<std::size_t>(n);
    }
    std::string hex;
    for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
    return hex;
}

}  // namespace

void replace_file(const std::filesystem::path& path, std::string_view content, mode_t mode) {
    const Fd dir = open_checked_directory(path, true);
    const std::string name = path.filename().string();
    if (name.empty() || name == "." || name == "..") fail(path, "not a file name", EINVAL);

    std::string tmp;
    int raw = -1;
    for (int attempt = 0; attempt < 8 && raw < 0; ++attempt) {
        tmp = "." + name + "." + random_suffix(path) + ".tmp";
        // Exclusive and no link followed: a name planted in advance makes this fail,
        // never write through it. 0600 until the content is complete.
        raw = ::openat(dir.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (raw < 0 && errno != EEXIST) fail(path, "creating a temporary file", errno);
    }
    if (raw < 0) fail(path, "creating a temporary file", EEXIST);
    Fd file(raw);

    int error = 0;
    const char* what = "";
    std::size_t written = 0;
    while (error == 0 && written < content.size()) {
        const ssize_t n = ::write(file.get(), content.data() + written, content.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = errno;
            what = "writing";
        } else {
            written += static_cast<std::size_t>(n);
        }
    }
    if (error == 0 && ::fchmod(file.get(), mode) != 0) error = errno, what = "setting its mode";
    if (error == 0 && ::fsync(file.get()) != 0) error = errno, what = "syncing";
    if (!file.close() && error == 0) error = errno, what = "closing";
    // rename replaces whatever has the target name, a link included, without following it.
    if (error == 0 && ::renameat(dir.get(), tmp.c_str(), dir.get(), name.c_str()) != 0)
        error = errno, what = "renaming it into place";
    if (error != 0) {
        ::unlinkat(dir.get(), tmp.c_str(), 0);
        fail(path, what, error);
    }
    ::fsync(dir.get());  // the rename itself survives a crash
}

void remove_file(const std::filesystem::path& path) {
    if (!std::filesystem::exists(path.parent_path().empty() ? "." : path.parent_path())) return;
    const Fd dir = open_checked_directory(path, false);
    const std::string name = path.filename().string();
    if (::unlinkat(dir.get(), name.c_str(), 0) != 0 && errno != ENOENT) fail(path, "removing it", errno);
}

}  // namespace julier::common
