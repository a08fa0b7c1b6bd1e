#include "dataplane/pins.h"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "dataplane/dataplane.h"

namespace julier::dataplane {

namespace {

constexpr const char* kBpffsRoot = "/sys/fs/bpf";

bool on_bpffs(const std::string& path) {
    struct statfs fs {};
    return ::statfs(path.c_str(), &fs) == 0 && fs.f_type == static_cast<decltype(fs.f_type)>(BPF_FS_MAGIC);
}

bool below(const std::string& path, const std::string& root) {
    return path == root ||
           (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/');
}

}  // namespace

void prepare_pin_dir(const std::string& pin_dir) {
    namespace fs = std::filesystem;
    if (pin_dir.empty() || pin_dir.front() != '/') {
        throw DataplaneError("pin_dir must be an absolute path, not \"" + pin_dir + "\"");
    }
    if (below(pin_dir, kBpffsRoot) && !on_bpffs(kBpffsRoot)) {
        if (::mount("bpf", kBpffsRoot, "bpf", 0, "mode=0700") != 0) {
            throw DataplaneError(std::string("no bpffs is mounted at /sys/fs/bpf and mounting one failed: ") +
                                 std::strerror(errno) + " (mount it: mount -t bpf bpf /sys/fs/bpf)");
        }
    }
    std::error_code ec;
    fs::create_directories(pin_dir, ec);
    if (ec) {
        throw DataplaneError("cannot create pin directory " + pin_dir + ": " + ec.message());
    }
    ::chmod(pin_dir.c_str(), 0700);  // pins give full control of the forwarder
    if (!on_bpffs(pin_dir)) {
        throw DataplaneError("pin directory " + pin_dir +
                             " is not on a BPF filesystem; choose one below /sys/fs/bpf or mount "
                             "bpffs there (mount -t bpf bpf DIR)");
    }
}

std::string pin_path(const std::string& pin_dir, const std::string& name) { return pin_dir + "/" + name; }

bool pin_exists(const std::string& pin_dir, const std::string& name) {
    struct stat st {};
    return ::stat(pin_path(pin_dir, name).c_str(), &st) == 0;
}

void remove_pins(const std::string& pin_dir, const std::vector<std::string>& names) {
    for (const std::string& name : names) {
        std::string path = pin_path(pin_dir, name);
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
            throw DataplaneError("cannot remove pin " + path + ": " + std::strerror(errno));
        }
    }
    if (::rmdir(pin_dir.c_str()) != 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST) {
        throw DataplaneError("cannot remove pin directory " + pin_dir + ": " + std::strerror(errno));
    }
}

}  // namespace julier::dataplane
