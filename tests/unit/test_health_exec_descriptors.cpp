// What a check command inherits: only stdin, stdout and stderr, even where
// close_range is missing or filtered, and julierd's sockets are close-on-exec.
#include <catch2/catch.hpp>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <filesystem>
#include <string>

#include <boost/asio/io_context.hpp>

#include "common/descriptors.h"
#include "daemon/control_server.h"
#include "health/child_process.h"

namespace fs = std::filesystem;
using julier::health::spawn_child;
using julier::health::SpawnRequest;

namespace {

// A seccomp filter under which close_range fails with EPERM, as some container
// runtimes' default profiles had it before they knew the call.
bool deny_close_range() {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_close_range, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

// Runs `sh -c script` as a check would and returns its output.
std::string run_check(const std::string& script) {
    SpawnRequest request;
    request.program = "/bin/sh";
    request.argv = {"sh", "-c", script};
    std::string error;
    auto child = spawn_child(request, &error);
    if (!child) return "spawn failed: " + error;
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = ::read(child->output, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
    int status = 0;
    ::waitpid(child->pid, &status, 0);
    ::close(child->output);
    ::close(child->setup_error);
    if (child->pidfd >= 0) ::close(child->pidfd);
    return out;
}

// In a child process (the filter cannot be removed again): a descriptor opened
// without close-on-exec, then a check command that looks for it.
int leaked_with_close_range_denied() {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);  // as Asio opens sockets
        if (fd < 0 || !deny_close_range()) ::_exit(2);
        if (::syscall(SYS_close_range, 100u, 101u, 0u) == 0 || errno != EPERM) ::_exit(3);
        const auto out = run_check("test -e /proc/self/fd/" + std::to_string(fd) + " && echo leaked || echo closed");
        ::_exit(out == "closed\n" ? 0 : out == "leaked\n" ? 1 : 4);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("exec checks inherit no descriptor when close_range is denied", "[health][security]") {
    CHECK(leaked_with_close_range_denied() == 0);
}

TEST_CASE("close_from closes by /proc/self/fd when close_range fails", "[health][security]") {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const int a = ::dup(0);
        const int b = ::dup2(0, 700);
        if (a < 0 || b != 700 || !deny_close_range()) ::_exit(2);
        julier::common::close_from(static_cast<unsigned>(a));
        const bool closed = ::fcntl(a, F_GETFD) < 0 && ::fcntl(700, F_GETFD) < 0 && ::fcntl(0, F_GETFD) >= 0;
        ::_exit(closed ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("the control socket's descriptors are close-on-exec", "[daemon][control][security]") {
    boost::asio::io_context io;
    julier::daemon::ControlServer server(io, [](const auto&, const auto&) {
        return julier::daemon::Reply{julier::daemon::protocol::success("ok"), {}};
    });
    auto pattern = (fs::temp_directory_path() / "julier-cloexec-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    const fs::path dir = pattern;
    const std::string path = (dir / "julierd.sock").string();
    server.listen(path);
    // A client connects and the server accepts it (one turn of the loop).
    const int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    io.run_for(std::chrono::milliseconds(200));

    std::size_t sockets = 0;
    for (const auto& entry : fs::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        const auto target = fs::read_symlink(entry.path(), ec).string();
        if (ec || !target.starts_with("socket:")) continue;
        const int fd = std::stoi(entry.path().filename().string());
        INFO("descriptor " << fd << " -> " << target);
        CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
        ++sockets;
    }
    CHECK(sockets >= 3);  // the listener, the accepted connection, the client
    ::close(client);
    server.close();
    fs::remove_all(dir);
}
