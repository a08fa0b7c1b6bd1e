// The control socket against hostile local clients: who may connect (root and the
// socket's group only), and what a client that trickles, floods or never reads
// can hold (one connection slot, one line, until the idle timeout).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "daemon/control_server.h"

namespace fs = std::filesystem;
namespace protocol = julier::daemon::protocol;
using julier::daemon::ControlAccess;
using julier::daemon::ControlServer;
using julier::daemon::Peer;
using julier::daemon::Reply;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

// A server on its own io_context thread that answers every request with "ok".
struct Served {
    fs::path dir;
    std::string path;
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
    std::atomic<int> requests{0};
    ControlServer server;
    std::thread thread;

    explicit Served(ControlAccess access)
        : server(
              io,
              [this](const protocol::Request&, const Peer&) {
                  ++requests;
                  return Reply{protocol::success("ok"), {}};
              },
              std::move(access)) {
        auto pattern = (fs::temp_directory_path() / "julier-ctl-limits-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        dir = pattern;
        path = (dir / "run" / "julierd.sock").string();
        server.listen(path);
        thread = std::thread([this] { io.run(); });
    }

    ~Served() {
        boost::asio::post(io, [this] { server.close(); });
        guard.reset();
        io.stop();
        thread.join();
        fs::remove_all(dir);
    }
};

int connect_to(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        const int err = errno;
        ::close(fd);
        errno = err;
        return -1;
    }
    timeval timeout{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    return fd;
}

void send_all(int fd, const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
        const auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        REQUIRE(n > 0);
        sent += static_cast<std::size_t>(n);
    }
}

// One line from fd (without the newline); empty when the peer closed first.
std::string read_line(int fd) {
    std::string out;
    char c;
    while (::recv(fd, &c, 1, 0) == 1) {
        if (c == '\n') return out;
        out += c;
    }
    return {};
}

// A fresh connection's status request, answered within `within`.
bool answered_within(const std::string& path, std::chrono::milliseconds within) {
    const auto start = Clock::now();
    const int fd = connect_to(path);
    if (fd < 0) return false;
    const std::string request = "{\"command\":\"status\"}\n";
    // A refused connection may be closed before the request is written.
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
        ::close(fd);
        return false;
    }
    const auto line = read_line(fd);
    ::close(fd);
    if (line.empty()) return false;
    return nlohmann::json::parse(line)["ok"] == true && Clock::now() - start < within;
}

// Waits until the server closes fd (recv returns 0 or an error); how long it took.
std::chrono::milliseconds time_until_closed(int fd, Clock::time_point since) {
    char buf[4096];
    while (::recv(fd, buf, sizeof buf, 0) > 0) {
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since);
}

}  // namespace

TEST_CASE("control limits: a line never finished holds one slot until the idle timeout",
          "[daemon][control][security]") {
    // Timings leave room for a loaded machine: "at once" is well inside the timeout.
    Served s(ControlAccess{"julier", 1500ms});
    const int slow = connect_to(s.path);
    REQUIRE(slow >= 0);
    const auto start = Clock::now();
    send_all(slow, "{\"command\":\"sta");  // and nothing more

    // Others are served meanwhile, at once.
    CHECK(answered_within(s.path, 1000ms));
    CHECK(answered_within(s.path, 1000ms));

    // Trickling a byte now and then does not extend the deadline.
    for (int i = 0; i < 5; ++i) {
        std::this_thread::sleep_for(200ms);
        ::send(slow, "t", 1, MSG_NOSIGNAL);
    }
    const auto held = time_until_closed(slow, start);
    ::close(slow);
    CHECK(held >= 1400ms);
    CHECK(held < 4000ms);
    CHECK(s.requests == 2);
}

TEST_CASE("control limits: a client that never reads its answers is bounded and dropped",
          "[daemon][control][security]") {
    Served s(ControlAccess{"julier", 1500ms});
    const int flood = connect_to(s.path);
    REQUIRE(flood >= 0);
    const auto start = Clock::now();
    // Pipeline requests without reading until the socket will take no more: the
    // server stops reading while an answer is unread, so this ends.
    REQUIRE(::fcntl(flood, F_SETFL, O_NONBLOCK) == 0);
    const std::string request = "{\"command\":\"status\"}\n";
    std::size_t sent = 0;
    while (Clock::now() - start < 5s) {
        const auto n = ::send(flood, request.data(), request.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EAGAIN) break;
        REQUIRE(n > 0);
        sent += static_cast<std::size_t>(n);
    }
    const int stopped_at = s.requests;
    INFO("sent " << sent << " bytes, answered " << stopped_at);
    CHECK(sent < 16u << 20);  // the kernel's buffers, not julierd's memory
    CHECK(answered_within(s.path, 1000ms));

    REQUIRE(::fcntl(flood, F_SETFL, 0) == 0);
    const auto held = time_until_closed(flood, start);
    ::close(flood);
    CHECK(held < 7000ms);
    // The unread answers stopped the reading: far fewer answered than sent.
    CHECK(static_cast<std::size_t>(stopped_at) < sent / request.size());
}

TEST_CASE("control limits: the connection over the limit is refused, and slots come back",
          "[daemon][control][security]") {
    Served s(ControlAccess{"julier", 1000ms});
    std::vector<int> idle;
    for (std::size_t i = 0; i < ControlServer::kMaxConnections; ++i) {
        idle.push_back(connect_to(s.path));
        REQUIRE(idle.back() >= 0);
    }
    std::this_thread::sleep_for(100ms);  // every one accepted
    const int over = connect_to(s.path);
    REQUIRE(over >= 0);
    const auto refusal = read_line(over);
    ::close(over);
    REQUIRE_FALSE(refusal.empty());
    CHECK(nlohmann::json::parse(refusal)["error"] == "too many open control connections");

    // The idle ones are dropped after the timeout, and the socket answers again.
    const auto deadline = Clock::now() + 5s;
    bool answered = false;
    while (!answered && Clock::now() < deadline) {
        std::this_thread::sleep_for(100ms);
        answered = answered_within(s.path, 1000ms);
    }
    CHECK(answered);
    for (int fd : idle) ::close(fd);
}

TEST_CASE("control access: root and the socket's group connect, other users do not", "[daemon][control][security]") {
    if (::geteuid() != 0) {
        WARN("needs root to act as other users; skipped");
        return;
    }
    // Any existing group stands in for `julier` (creating one would change the host).
    // getgrnam's answer lives in static storage: copy each id before the next call.
    const auto gid_of = [](const char* name) {
        const group* g = ::getgrnam(name);
        REQUIRE(g != nullptr);
        return g->gr_gid;
    };
    const gid_t member_gid = gid_of("nogroup");
    const gid_t other_gid = gid_of("daemon");
    const passwd* nobody = ::getpwnam("nobody");
    REQUIRE(nobody != nullptr);
    const uid_t nobody_uid = nobody->pw_uid;

    Served s(ControlAccess{"nogroup", 30000ms});
    struct stat st {};
    REQUIRE(::stat(s.path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0660u);
    CHECK(st.st_gid == member_gid);
    REQUIRE(::stat((s.dir / "run").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0750u);
    CHECK(st.st_gid == member_gid);
    // The test's own directory must let others reach run/ (julierd's is /run).
    fs::permissions(s.dir, fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);

    // Connects as `nobody` with only `gid`; the child's exit code says what happened.
    const auto connect_as = [&](gid_t gid) {
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(nobody_uid) != 0) ::_exit(10);
            const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            s.path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
            if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
                ::_exit(errno == EACCES ? 20 : 21);
            const char request[] = "{\"command\":\"status\"}\n";
            if (::write(fd, request, sizeof request - 1) != static_cast<ssize_t>(sizeof request - 1)) ::_exit(30);
            char answer[64] = {};
            const auto n = ::read(fd, answer, sizeof answer - 1);
            ::_exit(n > 0 && std::string_view(answer).starts_with("{\"ok\":true") ? 0 : 31);
        }
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        REQUIRE(WIFEXITED(status));
        return WEXITSTATUS(status);
    };
    CHECK(connect_as(member_gid) == 0);
    CHECK(connect_as(other_gid) == 20);  // EACCES
    CHECK(s.requests == 1);
}

TEST_CASE("control limits: blank lines do not keep a connection past the idle timeout", "[daemon][control][security]") {
    Served s(ControlAccess{"julier", 1000ms});
    const int chatty = connect_to(s.path);
    REQUIRE(chatty >= 0);
    const auto start = Clock::now();
    // A newline every 100 ms for up to 4 s: each was once taken as activity.
    std::thread feeder([chatty, start] {
        while (Clock::now() - start < 4s) {
            if (::send(chatty, "\n", 1, MSG_NOSIGNAL) != 1) return;
            std::this_thread::sleep_for(100ms);
        }
    });
    const auto held = time_until_closed(chatty, start);
    feeder.join();
    ::close(chatty);
    CHECK(held >= 900ms);
    CHECK(held < 3000ms);
    CHECK(s.requests == 0);
}

TEST_CASE("control limits: the group's clients cannot take root's reserved slots", "[daemon][control][security]") {
    if (::geteuid() != 0) {
        WARN("needs root to act as other users; skipped");
        return;
    }
    const group* g = ::getgrnam("nogroup");
    REQUIRE(g != nullptr);
    const gid_t member_gid = g->gr_gid;
    const passwd* nobody = ::getpwnam("nobody");
    REQUIRE(nobody != nullptr);
    const uid_t nobody_uid = nobody->pw_uid;

    Served s(ControlAccess{"nogroup", 30000ms});
    fs::permissions(s.dir, fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);

    // A group member opens every slot it can and keeps each busy with blank lines;
    // it reports how many connections were refused, and holds them until told.
    int report[2];
    int release[2];
    REQUIRE(::pipe(report) == 0);
    REQUIRE(::pipe(release) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setgid(member_gid) != 0 || ::setuid(nobody_uid) != 0) ::_exit(10);
        // Only system calls here: the parent has other threads (no malloc after fork).
        int held[ControlServer::kMaxConnections];
        unsigned char refused = 0;
        for (int& fd : held) {
            fd = connect_to(s.path);
            if (fd < 0) ::_exit(11);
            ::send(fd, "\n", 1, MSG_NOSIGNAL);
        }
        // A refused connection gets its answer at once; a held one stays silent.
        pollfd polled[ControlServer::kMaxConnections];
        for (std::size_t i = 0; i < ControlServer::kMaxConnections; ++i) polled[i] = pollfd{held[i], POLLIN, 0};
        ::usleep(500000);
        if (::poll(polled, ControlServer::kMaxConnections, 0) < 0) ::_exit(13);
        for (const auto& p : polled)
            if (p.revents & POLLIN) ++refused;
        if (::write(report[1], &refused, 1) != 1) ::_exit(12);
        char go;
        (void)::read(release[0], &go, 1);
        ::_exit(0);
    }
    unsigned char refused = 0;
    REQUIRE(::read(report[0], &refused, 1) == 1);
    CHECK(refused == ControlServer::kReservedForRoot);
    // Root is still served, on a reserved slot.
    CHECK(answered_within(s.path, 1000ms));
    CHECK(answered_within(s.path, 1000ms));
    REQUIRE(::write(release[1], "x", 1) == 1);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    for (int fd : {report[0], report[1], release[0], release[1]}) ::close(fd);
}
