// The control socket end to end on a temporary Unix socket (no root needed):
// julierctl's client against the daemon's server, framing, limits and lifetime.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "cli/client.h"
#include "daemon/control_server.h"

namespace fs = std::filesystem;
namespace protocol = julier::daemon::protocol;
using julier::cli::ClientError;
using julier::cli::ControlClient;
using julier::daemon::ControlServer;
using julier::daemon::Peer;
using julier::daemon::Reply;

namespace {

fs::path make_temp_dir() {
    auto pattern = (fs::temp_directory_path() / "julier-ctl-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    return pattern;
}

// A server on its own io_context thread, answering status with a counter.
struct Served {
    fs::path dir;
    std::string path;
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
    std::atomic<int> requests{0};
    std::atomic<bool> after_sent_ran{false};
    Peer last_peer;
    Reply::Answer held;  // on the io thread only
    ControlServer server{
        io, [this](const protocol::Request& r, const Peer& peer) {
            last_peer = peer;
            ++requests;
            if (r.command == protocol::Command::teardown) {
                return Reply{protocol::success("bye"), [this] { after_sent_ran = true; }};
            }
            if (r.command == protocol::Command::reload) throw std::runtime_error("boom");
            if (r.command == protocol::Command::drain) {  // answered when the test says so
                Reply later;
                later.later = [this](Reply::Answer answer) { held = std::move(answer); };
                return later;
            }
            return Reply{protocol::success(nlohmann::json{{"n", requests.load()}, {"service", r.service}}), {}};
        }};
    std::thread thread;

    Served() {
        dir = make_temp_dir();
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

std::string raw_exchange(const std::string& path, const std::string& data) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    std::size_t sent = 0;
    while (sent < data.size()) {
        auto n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;  // the server may close once it has refused
        sent += static_cast<std::size_t>(n);
    }
    std::string out;
    char buf[4096];
    while (out.find('\n') == std::string::npos) {
        auto n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

}  // namespace

TEST_CASE("control socket: requests and responses through the client", "[daemon][control]") {
    Served s;
    ControlClient client(s.path);
    auto r = client.call({protocol::Command::status, "", ""});
    REQUIRE(r.ok);
    CHECK(r.result["n"] == 1);
    // Several requests on one connection, in order.
    r = client.call({protocol::Command::backends, "web", ""});
    REQUIRE(r.ok);
    CHECK(r.result["n"] == 2);
    CHECK(r.result["service"] == "web");
    CHECK(s.last_peer.pid == getpid());
    CHECK(s.last_peer.uid == getuid());
}

TEST_CASE("control socket: a handler exception becomes an error answer", "[daemon][control]") {
    Served s;
    ControlClient client(s.path);
    auto r = client.call({protocol::Command::reload, "", ""});
    CHECK_FALSE(r.ok);
    CHECK(r.error == "internal error: boom");
    CHECK(client.call({protocol::Command::status, "", ""}).ok);  // still serving
}

TEST_CASE("control socket: after_sent runs once the answer is out", "[daemon][control]") {
    Served s;
    ControlClient client(s.path);
    auto r = client.call({protocol::Command::teardown, "", ""});
    CHECK(r.ok);
    CHECK(r.result == "bye");
    for (int i = 0; i < 200 && !s.after_sent_ran; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(s.after_sent_ran);
}

TEST_CASE("control socket: an answer that comes later holds only its own connection", "[daemon][control]") {
    Served s;
    std::optional<protocol::Response> late;
    ControlClient waiting(s.path);
    std::thread caller([&] { late = waiting.call({protocol::Command::drain, "web", "198.18.0.1"}); });
    // The server has the request and has not answered it.
    for (int i = 0; i < 400 && s.requests < 1; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    REQUIRE(s.requests == 1);
    // Everyone else is served meanwhile.
    ControlClient other(s.path);
    auto r = other.call({protocol::Command::status, "", ""});
    REQUIRE(r.ok);
    CHECK(r.result["n"] == 2);
    CHECK_FALSE(late.has_value());

    boost::asio::post(s.io, [&] { s.held(Reply{protocol::success("applied")}); });
    caller.join();
    REQUIRE(late.has_value());
    CHECK(late->ok);
    CHECK(late->result == "applied");
    // The connection goes on as before.
    r = waiting.call({protocol::Command::status, "", ""});
    REQUIRE(r.ok);
    CHECK(r.result["n"] == 3);
}

TEST_CASE("control socket: bad and oversized requests", "[daemon][control]") {
    Served s;
    auto j = nlohmann::json::parse(raw_exchange(s.path, "{\"command\":\"fly\"}\n"));
    CHECK(j["ok"] == false);
    CHECK(j["error"].get<std::string>().rfind("unknown command 'fly'", 0) == 0);

    // Blank lines and CRLF are tolerated.
    j = nlohmann::json::parse(raw_exchange(s.path, "\n\r\n{\"command\":\"status\"}\r\n"));
    CHECK(j["ok"] == true);

    j = nlohmann::json::parse(raw_exchange(s.path, std::string(protocol::kMaxLineBytes + 10, 'x')));
    CHECK(j["ok"] == false);
    CHECK(j["error"] == "request longer than 65536 bytes");
}

TEST_CASE("control socket: file permissions", "[daemon][control]") {
    Served s;
    struct stat st {};
    REQUIRE(::stat(s.path.c_str(), &st) == 0);
    CHECK(S_ISSOCK(st.st_mode));
    const bool has_group = std::system("getent group julier >/dev/null 2>&1") == 0;
    CHECK((st.st_mode & 0777) == (has_group ? 0660u : 0600u));
    REQUIRE(::stat((s.dir / "run").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0750u);
}

TEST_CASE("control socket: a live socket is refused, a stale one replaced", "[daemon][control]") {
    Served s;
    boost::asio::io_context io;
    ControlServer second(io, [](const protocol::Request&, const Peer&) { return Reply{protocol::success({}), {}}; });
    try {
        second.listen(s.path);
        FAIL("a second server took a live socket");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).find("another julierd is running") != std::string::npos);
    }

    // A socket file nobody listens on (a killed daemon) is replaced.
    const auto stale = (s.dir / "stale.sock").string();
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    stale.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    ::close(fd);
    REQUIRE(fs::exists(stale));
    CHECK_NOTHROW(second.listen(stale));
    second.close();
    CHECK_FALSE(fs::exists(stale));  // close() removes it

    // A regular file in the way is not removed.
    const auto file = (s.dir / "file.sock").string();
    {
        std::FILE* f = std::fopen(file.c_str(), "w");
        std::fclose(f);
    }
    ControlServer third(io, [](const protocol::Request&, const Peer&) { return Reply{protocol::success({}), {}}; });
    CHECK_THROWS_WITH(third.listen(file), Catch::Contains("exists and is not a socket"));
    CHECK(fs::exists(file));
}

TEST_CASE("control socket client: clear errors when the daemon is not there", "[daemon][control]") {
    const fs::path dir = make_temp_dir();
    const auto missing = (dir / "none.sock").string();
    CHECK_THROWS_WITH(ControlClient(missing), Catch::StartsWith("julierd is not running: no control socket at"));

    const auto stale = (dir / "stale.sock").string();
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    stale.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    ::close(fd);
    CHECK_THROWS_WITH(ControlClient(stale), Catch::Contains("nothing listens on") && Catch::Contains("stale"));

    CHECK_THROWS_AS(ControlClient(std::string(200, 'x')), ClientError);
    fs::remove_all(dir);
}
