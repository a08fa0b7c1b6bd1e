// Files julierd writes as root into directories another user can write to (BIRD's
// run directory): links planted there by that user are never followed.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/file_replace.h"
#include "fleet/bird_control.h"

namespace fs = std::filesystem;
using julier::common::FileReplaceError;
using julier::common::remove_file;
using julier::common::replace_file;

namespace {

constexpr uid_t nobody = 65534;

std::string read_all(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

mode_t mode_of(const fs::path& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_mode;
}

// A directory owned by `nobody` (as /run/bird is BIRD's), a file outside it that
// only root may read, and every link `nobody` could plant to reach it.
struct Planted {
    fs::path top;
    fs::path dir;
    fs::path target;

    Planted() {
        char tmpl[] = "/tmp/julier-replace-XXXXXX";
        REQUIRE(::mkdtemp(tmpl) != nullptr);
        top = tmpl;
        REQUIRE(::chmod(top.c_str(), 0711) == 0);  // `nobody` reaches dir/ through it
        dir = top / "bird";
        target = top / "secret";
        fs::create_directory(dir);
        REQUIRE(::chown(dir.c_str(), nobody, nobody) == 0);
        REQUIRE(::chmod(dir.c_str(), 0755) == 0);
        std::ofstream(target) << "root only\n";
        REQUIRE(::chmod(target.c_str(), 0600) == 0);
    }
    ~Planted() {
        std::error_code ec;
        fs::remove_all(top, ec);
    }

    // Creates the link as `nobody`, in a child process, as a compromised BIRD would.
    void plant(const std::string& name) const {
        const pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            const bool ok =
                ::setgid(nobody) == 0 && ::setuid(nobody) == 0 && ::symlink(target.c_str(), (dir / name).c_str()) == 0;
            ::_exit(ok ? 0 : 1);
        }
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
    }

    void require_target_untouched() const {
        CHECK(read_all(target) == "root only\n");
        CHECK((mode_of(target) & 07777) == 0600);
    }
};

bool running_as_root() { return ::geteuid() == 0; }

}  // namespace

TEST_CASE("replace_file: links planted by the directory's owner are never followed", "[file_replace]") {
    if (!running_as_root()) {
        WARN("needs root to plant links as another user; skipped");
        return;
    }
    Planted p;
    // The names the old code used, and the target name itself.
    p.plant("julier.conf.tmp");
    p.plant("julier.conf");
    replace_file(p.dir / "julier.conf", "protocol static {}\n", 0644);
    p.require_target_untouched();
    CHECK(fs::is_regular_file(fs::symlink_status(p.dir / "julier.conf")));
    CHECK(read_all(p.dir / "julier.conf") == "protocol static {}\n");
    CHECK((mode_of(p.dir / "julier.conf") & 07777) == 0644);
    // Only the file and the planted temp link are left: no temporary file.
    std::size_t entries = 0;
    for (const auto& e : fs::directory_iterator(p.dir)) {
        (void)e;
        ++entries;
    }
    CHECK(entries == 2);
}

TEST_CASE("BirdControl::write_include: a planted temp link leaves its target untouched", "[file_replace]") {
    if (!running_as_root()) {
        WARN("needs root to plant links as another user; skipped");
        return;
    }
    Planted p;
    p.plant("julier.conf.tmp");
    julier::fleet::BirdControl bird((p.dir / "julier.conf").string(), (p.dir / "bird.ctl").string());
    bird.write_include("# julier\n");
    p.require_target_untouched();
    CHECK(read_all(p.dir / "julier.conf") == "# julier\n");
}

TEST_CASE("remove_file: a link is removed, not followed", "[file_replace]") {
    if (!running_as_root()) {
        WARN("needs root to plant links as another user; skipped");
        return;
    }
    Planted p;
    p.plant("operator-drains.json");
    remove_file(p.dir / "operator-drains.json");
    p.require_target_untouched();
    CHECK_FALSE(fs::exists(fs::symlink_status(p.dir / "operator-drains.json")));
    remove_file(p.dir / "operator-drains.json");  // already gone: no error
}

TEST_CASE("replace_file: directories anyone could rename in are refused", "[file_replace]") {
    char tmpl[] = "/tmp/julier-replace-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const fs::path top = tmpl;
    const fs::path open_dir = top / "open";
    fs::create_directory(open_dir);
    REQUIRE(::chmod(open_dir.c_str(), 0777) == 0);
    CHECK_THROWS_WITH(replace_file(open_dir / "f", "x", 0644),
                      Catch::Contains("writable by every user and not sticky"));

    // A link in place of the directory itself.
    fs::create_directory(top / "real");
    fs::create_directory_symlink(top / "real", top / "link");
    CHECK_THROWS_WITH(replace_file(top / "link" / "f", "x", 0644), Catch::Contains("not a directory"));
    CHECK_FALSE(fs::exists(top / "real" / "f"));

    // A sticky world-writable directory (like /tmp) is fine.
    const fs::path sticky = top / "sticky";
    fs::create_directory(sticky);
    REQUIRE(::chmod(sticky.c_str(), 01777) == 0);
    replace_file(sticky / "f", "ok", 0600);
    CHECK(read_all(sticky / "f") == "ok");
    fs::remove_all(top);
}
