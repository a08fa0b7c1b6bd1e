// BirdControl against a stand-in for BIRD's control socket (a thread speaking its
// line protocol), and the include file written whole.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "fleet/bird_client.h"
#include "fleet/bird_control.h"

using namespace julier::fleet;
namespace fs = std::filesystem;

namespace {

// Accepts one connection, greets, reads one command line and answers `reply`
// (or nothing, when `reply` is empty: a BIRD that hangs).
class FakeBird {
public:
    FakeBird(const std::string& path, std::string reply) : reply_(std::move(reply)) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd_, 1) == 0);
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeBird() {
        thread_.join();
        ::close(fd_);
    }
    std::string command() {
        thread_.join();
        thread_ = std::thread([] {});
        return command_;
    }

private:
    void serve() {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        const std::string hello = "0001 BIRD 2.0.12 ready.\n";
        (void)!::write(c, hello.data(), hello.size());
        char ch;
        while (::read(c, &ch, 1) == 1 && ch != '\n') command_ += ch;
        if (!reply_.empty()) {
            (void)!::write(c, reply_.data(), reply_.size());
        } else {
            ::usleep(400 * 1000);  // longer than the client's timeout
        }
        ::close(c);
    }

    int fd_ = -1;
    std::string reply_;
    std::string command_;
    std::thread thread_;
};

// A BIRD that stopped accepting: listening, its backlog already full.
class StuckBird {
public:
    explicit StuckBird(const std::string& path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd_, 0) == 0);
        // Fill the backlog: further connects would block (or fail with EAGAIN).
        for (int i = 0; i < 4; ++i) {
            const int c = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            if (::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
                ::close(c);
                break;
            }
            fillers_.push_back(c);
        }
    }
    ~StuckBird() {
        for (int c : fillers_) ::close(c);
        ::close(fd_);
    }

private:
    int fd_ = -1;
    std::vector<int> fillers_;
};

// Runs `client.command` on `io` while a 10 ms timer ticks on the same loop; returns
// the error and the longest gap between ticks (how long the loop was stalled).
struct Outcome {
    std::string error;
    std::vector<ReplyLine> lines;
    std::chrono::milliseconds took{};
    std::chrono::milliseconds worst_gap{};
};

Outcome run_command(const std::string& socket, const std::string& command, std::chrono::milliseconds timeout) {
    boost::asio::io_context io;
    BirdClient client(io, socket, timeout);
    Outcome out;
    bool done = false;
    const auto start = std::chrono::steady_clock::now();
    client.command(command, [&](std::vector<ReplyLine> lines, std::string error) {
        out.lines = std::move(lines);
        out.error = std::move(error);
        out.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
        done = true;
    });
    boost::asio::steady_timer tick(io);
    auto last = std::chrono::steady_clock::now();
    std::function<void()> arm = [&] {
        tick.expires_after(std::chrono::milliseconds(10));
        tick.async_wait([&](const boost::system::error_code&) {
            const auto now = std::chrono::steady_clock::now();
            out.worst_gap = std::max(out.worst_gap, std::chrono::duration_cast<std::chrono::milliseconds>(now - last));
            last = now;
            if (!done) arm();
        });
    };
    arm();
    io.run_for(timeout * 4);
    REQUIRE(done);
    CHECK(client.in_flight() == 0);
    return out;
}

struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "julier-bird-XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~TempDir() { fs::remove_all(path); }
};

std::string read_file(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

}  // namespace

TEST_CASE("bird control: a command gets BIRD's reply", "[fleet]") {
    TempDir dir;
    const auto sock = (dir.path / "bird.ctl").string();
    FakeBird bird(
        sock, "2002-Name Proto Table State Since Info\n1002-julier_n1 BGP --- up 10:00:00.000 Established\n0000 \n");
    BirdControl control((dir.path / "inc.conf").string(), sock);
    const auto rows = parse_protocols(control.command("show protocols"));
    CHECK(bird.command() == "show protocols");
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].info == "Established");
}

TEST_CASE("bird control: a refused configure is an error naming BIRD's message", "[fleet]") {
    TempDir dir;
    const auto sock = (dir.path / "bird.ctl").string();
    FakeBird bird(sock, "0002-Reading configuration from bird.conf\n8002 inc.conf:3:7 syntax error\n");
    BirdControl control((dir.path / "inc.conf").string(), sock);
    CHECK_THROWS_WITH(control.reconfigure(), Catch::Contains("inc.conf:3:7 syntax error"));
    CHECK(bird.command() == "configure");
}

TEST_CASE("bird control: no BIRD, or a silent one, fails within the timeout", "[fleet]") {
    TempDir dir;
    const auto sock = (dir.path / "bird.ctl").string();
    BirdControl absent((dir.path / "inc.conf").string(), sock, std::chrono::milliseconds(100));
    CHECK_THROWS_WITH(absent.reconfigure(), Catch::Contains("cannot connect to BIRD"));

    FakeBird silent(sock, "");
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(absent.command("show protocols"), Catch::Contains("did not answer"));
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(350));
}

TEST_CASE("bird control: the include file is replaced whole, its directory created", "[fleet]") {
    TempDir dir;
    const auto inc = dir.path / "sub" / "inc.conf";
    BirdControl control(inc.string(), (dir.path / "bird.ctl").string());
    control.write_include("first\n");
    CHECK(read_file(inc) == "first\n");
    control.write_include("second\n");
    CHECK(read_file(inc) == "second\n");
    CHECK_FALSE(fs::exists(inc.string() + ".tmp"));
    const auto other_read = fs::perms::others_read | fs::perms::group_read | fs::perms::owner_read;
    const ::mode_t old_umask = ::umask(0077);  // as under the systemd unit
    control.write_include("third\n");
    ::umask(old_umask);
    CHECK((fs::status(inc).permissions() & other_read) == other_read);

    BirdControl nowhere((dir.path / "sub" / "inc.conf" / "x").string(), "/nonexistent");
    CHECK_THROWS_AS(nowhere.write_include("x\n"), BirdError);
}

TEST_CASE("bird client: a command gets BIRD's reply without blocking the loop", "[fleet]") {
    TempDir dir;
    const auto sock = (dir.path / "bird.ctl").string();
    FakeBird bird(
        sock, "2002-Name Proto Table State Since Info\n1002-julier_n1 BGP --- up 10:00:00.000 Established\n0000 \n");
    const auto out = run_command(sock, "show protocols", std::chrono::milliseconds(1000));
    CHECK(out.error.empty());
    CHECK(bird.command() == "show protocols");
    const auto rows = parse_protocols(out.lines);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].info == "Established");
}

TEST_CASE("bird client: a refused configure names BIRD's message", "[fleet]") {
    TempDir dir;
    const auto sock = (dir.path / "bird.ctl").string();
    FakeBird bird(sock, "0002-Reading configuration from bird.conf\n8002 inc.conf:3:7 syntax error\n");
    const auto out = run_command(sock, "configure", std::chrono::milliseconds(1000));
    CHECK_THAT(out.error, Catch::Contains("BIRD refused 'configure'") && Catch::Contains("inc.conf:3:7 syntax error"));
}

TEST_CASE("bird client: a BIRD that never accepts or never answers fails in time, the loop keeps running",
          "[fleet][security]") {
    TempDir dir;
    const auto sock = (dir.path / "bird.ctl").string();
    const auto timeout = std::chrono::milliseconds(300);
    {
        StuckBird stuck(sock);
        const auto out = run_command(sock, "configure", timeout);
        CHECK_FALSE(out.error.empty());
        CHECK(out.took < std::chrono::milliseconds(800));
        CHECK(out.worst_gap < std::chrono::milliseconds(100));
        ::unlink(sock.c_str());
    }
    {
        FakeBird silent(sock, "");  // greets, reads the command, never answers
        const auto out = run_command(sock, "configure", timeout);
        CHECK_THAT(out.error, Catch::Contains("did not answer 'configure' in time"));
        CHECK(out.took >= std::chrono::milliseconds(250));
        CHECK(out.took < std::chrono::milliseconds(800));
        CHECK(out.worst_gap < std::chrono::milliseconds(100));
    }
    {
        const auto out = run_command((dir.path / "absent.ctl").string(), "configure", timeout);
        CHECK_THAT(out.error, Catch::Contains("cannot connect to BIRD"));
    }
}

TEST_CASE("bird control: a BIRD that stopped accepting fails in time instead of blocking", "[fleet][security]") {
    TempDir dir;
    const auto sock = (dir.path / "bird.ctl").string();
    StuckBird stuck(sock);
    BirdControl control((dir.path / "inc.conf").string(), sock, std::chrono::milliseconds(200));
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(control.reconfigure(), BirdError);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1000));
}
