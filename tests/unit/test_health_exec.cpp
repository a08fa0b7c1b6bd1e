// The exec check: real commands, real processes.
#include <catch2/catch.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "health/exec_probe.h"
#include "health_test_servers.h"

using namespace julier::health;
using namespace julier::health::testing;

namespace {

julier::config::HealthCheck exec_check(std::vector<std::string> command) {
    julier::config::HealthCheck check;
    check.kind = julier::config::HealthKind::exec;
    check.exec.command = std::move(command);
    return check;
}

const ProbeTarget kTarget{kLoopback4, 8080};

// No longer running: gone, or at worst a zombie not yet reaped by its new parent.
bool process_gone(pid_t pid) {
    for (int i = 0; i < 200; ++i) {
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string id, comm, state;
        if (!(stat >> id >> comm >> state) || state == "Z") return true;
        usleep(10000);
    }
    return false;
}

pid_t read_pid(const std::filesystem::path& file) {
    pid_t pid = 0;
    std::ifstream(file) >> pid;
    return pid;
}

// Removes CAP_KILL from this process's effective, permitted and inheritable sets,
// as julierd has it under the shipped unit (CAP_KILL not in its bounding set).
bool drop_cap_kill() {
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3]{};
    if (syscall(SYS_capget, &header, data) != 0) return false;
    std::uint32_t bit = 1u << (CAP_KILL % 32);
    auto& word = data[CAP_KILL / 32];
    word.effective &= ~bit;
    word.permitted &= ~bit;
    word.inheritable &= ~bit;
    return syscall(SYS_capset, &header, data) == 0;
}

}  // namespace

TEST_CASE("health exec: exit status 0 passes, anything else fails", "[health]") {
    asio::io_context io;
    ExecProbe probe(io);
    Result pass = probe_once(io, probe, kTarget, exec_check({"/bin/true"}), 2000ms);
    CHECK(pass.ok);
    CHECK(pass.reason == "exit status 0");

    Result fail = probe_once(io, probe, kTarget, exec_check({"false"}), 2000ms);  // found in the fixed PATH
    CHECK(fail.failure == Failure::exit_status);
    CHECK(fail.reason == "exit status 1");

    Result noisy =
        probe_once(io, probe, kTarget,
                   exec_check({"/bin/sh", "-c", "echo; echo 'db unreachable' >&2; echo more; exit 3"}), 2000ms);
    CHECK(noisy.reason == "exit status 3: \"db unreachable\"");

    Result killed = probe_once(io, probe, kTarget, exec_check({"/bin/sh", "-c", "kill -TERM $$"}), 2000ms);
    CHECK(killed.reason ==
          std::string("killed by signal ") + std::to_string(SIGTERM) + " (" + sigdescr_np(SIGTERM) + ")");
}

TEST_CASE("health exec: {address} and {port} are replaced, no shell involved", "[health]") {
    CHECK(substitute_arguments({"check", "--to={address}:{port}", "{port}{port}", "{addr}"}, "198.18.0.5", 443) ==
          std::vector<std::string>{"check", "--to=198.18.0.5:443", "443443", "{addr}"});

    asio::io_context io;
    ExecProbe probe(io);
    auto check = exec_check({"/bin/sh", "-c", "test \"$1\" = 127.0.0.1 && test \"$2\" = 8080 && test \"$3\" = '$(id)'",
                             "sh", "{address}", "{port}", "$(id)"});
    CHECK(probe_once(io, probe, kTarget, check, 2000ms).ok);

    auto env = exec_check({"/bin/sh", "-c",
                           "test \"$JULIER_BACKEND_ADDRESS:$JULIER_BACKEND_PORT\" = 127.0.0.1:8080 && "
                           "test \"$(pwd)\" = / && test -z \"$JULIER_SECRET\""});
    setenv("JULIER_SECRET", "inherited", 1);
    CHECK(probe_once(io, probe, kTarget, env, 2000ms).ok);
    unsetenv("JULIER_SECRET");
}

TEST_CASE("health exec: a command past the timeout is killed with its children", "[health]") {
    asio::io_context io;
    ExecProbe probe(io);
    // The command starts a background child and says where it is; both must die.
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("julier-exec-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    chmod(dir.c_str(), 0777);  // the command may run as nobody
    std::filesystem::path pid_file = dir / "child.pid";
    auto check = exec_check({"/bin/sh", "-c", "sleep 30 & echo $! > " + pid_file.string() + "; wait"});

    Result result = probe_once(io, probe, kTarget, check, 300ms);
    CHECK(result.failure == Failure::timeout);
    CHECK(timed_out(result.reason, 300, ", /bin/sh killed"));
    CHECK(result.duration < 1000ms);

    run_until(
        io, [&] { return probe.running() == 0; }, 2000ms);
    CHECK(probe.running() == 0);
    pid_t child = 0;
    std::ifstream(pid_file) >> child;
    REQUIRE(child > 0);
    // Reparented and reaped, or at worst a zombie: either way no longer running.
    bool gone = false;
    for (int i = 0; i < 200 && !gone; ++i) {
        std::ifstream stat("/proc/" + std::to_string(child) + "/stat");
        std::string pid, comm, state;
        gone = !(stat >> pid >> comm >> state) || state == "Z";
        if (!gone) usleep(10000);
    }
    CHECK(gone);
    std::filesystem::remove_all(dir);
}

TEST_CASE("health exec: commands run unprivileged and cannot regain privileges", "[health]") {
    asio::io_context io;
    ExecProbe probe(io);
    auto no_new_privs = exec_check({"/bin/sh", "-c", "grep -q '^NoNewPrivs:[[:space:]]*1$' /proc/self/status"});
    CHECK(probe_once(io, probe, kTarget, no_new_privs, 2000ms).ok);

    if (geteuid() != 0) {
        CHECK(probe.run_as().empty());  // not root: runs as itself
        return;
    }
    passwd* nobody = getpwnam("nobody");
    REQUIRE(nobody != nullptr);
    CHECK(probe.run_as() == "nobody");
    auto ids = exec_check({"/bin/sh", "-c", "test \"$(id -u):$(id -g):$(id -G)\" = \"$1:$2:$2\"", "sh",
                           std::to_string(nobody->pw_uid), std::to_string(nobody->pw_gid)});
    CHECK(probe_once(io, probe, kTarget, ids, 2000ms).ok);
}

TEST_CASE("health exec: an unknown user is reported on every check", "[health]") {
    asio::io_context io;
    ExecProbe probe(io, ExecOptions{std::string("no-such-user-julier"), 4, 512});
    Result result = probe_once(io, probe, kTarget, exec_check({"/bin/true"}), 2000ms);
    CHECK(result.failure == Failure::config);
    CHECK(result.reason == "cannot run exec checks: user \"no-such-user-julier\" does not exist");
}

TEST_CASE("health exec: commands that cannot start say why", "[health]") {
    asio::io_context io;
    ExecProbe probe(io);
    Result missing = probe_once(io, probe, kTarget, exec_check({"no-such-program-julier"}), 2000ms);
    CHECK(missing.failure == Failure::config);
    CHECK(missing.reason.rfind("command \"no-such-program-julier\" not found in ", 0) == 0);

    Result relative = probe_once(io, probe, kTarget, exec_check({"bin/true"}), 2000ms);
    CHECK(relative.failure == Failure::config);

    TempFile script("#!/bin/sh\nexit 0\n");  // mode 0600: not executable
    Result not_executable = probe_once(io, probe, kTarget, exec_check({script.path()}), 2000ms);
    CHECK(not_executable.failure == Failure::exec_error);
    CHECK(not_executable.reason == "cannot run " + script.path() + ": execve: " + std::strerror(EACCES));

    Result empty = probe_once(io, probe, kTarget, exec_check({}), 2000ms);
    CHECK(empty.failure == Failure::config);
}

TEST_CASE("health exec: concurrency is bounded and waiting counts against the deadline", "[health]") {
    asio::io_context io;
    ExecProbe probe(io, ExecOptions{std::nullopt, 1, 512});
    std::vector<Result> results;
    auto in = [](std::chrono::milliseconds span) { return std::chrono::steady_clock::now() + span; };
    auto collect = [&](Result result) { results.push_back(std::move(result)); };
    probe.async_probe(kTarget, exec_check({"/bin/sleep", "0.3"}), in(2000ms), collect);
    probe.async_probe(kTarget, exec_check({"/bin/true"}), in(100ms), collect);   // cannot get the slot in time
    probe.async_probe(kTarget, exec_check({"/bin/true"}), in(2000ms), collect);  // gets it after the sleep
    REQUIRE(run_until(
        io, [&] { return results.size() == 3; }, 4000ms));
    CHECK(results[0].failure == Failure::timeout);
    CHECK(timed_out(results[0].reason, 100, " while waiting for a free exec slot (1 in use)"));
    CHECK(results[1].ok);  // the sleep
    CHECK(results[2].ok);
    CHECK(results[2].duration >= 250ms);
}

TEST_CASE("health exec: a command past the timeout is killed even when julierd lacks CAP_KILL", "[health]") {
    if (geteuid() != 0) {
        WARN("skipped: needs root (commands then run as nobody)");
        return;
    }
    std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("julier-exec-nokill-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    chmod(dir.c_str(), 0777);  // the command runs as nobody
    std::filesystem::path command_pid = dir / "command.pid";
    std::filesystem::path background_pid = dir / "background.pid";

    // What the probing process saw, passed back to this (privileged) one.
    struct Outcome {
        bool dropped = false;
        int signal_error = 0;  // errno of kill(command, 0) while it ran
        int failure = -1;
        std::size_t running = 1;
        char reason[160] = {};
    };
    int channel[2];
    REQUIRE(pipe(channel) == 0);
    pid_t prober = fork();
    REQUIRE(prober >= 0);
    if (prober == 0) {
        // The probing process: julierd as the unit runs it. No Catch2 in here.
        close(channel[0]);
        Outcome outcome;
        outcome.dropped = drop_cap_kill();
        if (outcome.dropped) {
            asio::io_context io;
            ExecProbe probe(io);
            std::optional<Result> result;
            auto check = exec_check(
                {"/bin/sh", "-c",
                 "sleep 30 & echo $! > " + background_pid.string() + "; echo $$ > " + command_pid.string() + "; wait"});
            probe.async_probe(kTarget, check, std::chrono::steady_clock::now() + 300ms,
                              [&](Result r) { result = std::move(r); });
            // While it runs, this process may not signal it: the premise of the test.
            if (run_until(
                    io, [&] { return result || read_pid(command_pid) > 0; }, 2000ms) &&
                !result)
                outcome.signal_error = kill(read_pid(command_pid), 0) == 0 ? 0 : errno;
            run_until(
                io, [&] { return result && probe.running() == 0; }, 3000ms);
            if (result) {
                outcome.failure = static_cast<int>(result->failure);
                std::snprintf(outcome.reason, sizeof outcome.reason, "%s", result->reason.c_str());
            }
            outcome.running = probe.running();
        }
        ssize_t written = write(channel[1], &outcome, sizeof outcome);
        _exit(written == static_cast<ssize_t>(sizeof outcome) ? 0 : 1);
    }
    close(channel[1]);
    Outcome outcome;
    ssize_t got = read(channel[0], &outcome, sizeof outcome);
    close(channel[0]);
    int status = 0;
    waitpid(prober, &status, 0);
    REQUIRE(got == static_cast<ssize_t>(sizeof outcome));
    REQUIRE(outcome.dropped);
    CHECK(outcome.signal_error == EPERM);
    CHECK(outcome.failure == static_cast<int>(Failure::timeout));
    CHECK(timed_out(std::string(outcome.reason), 300, ", /bin/sh killed"));
    CHECK(outcome.running == 0);

    pid_t command = read_pid(command_pid);
    pid_t background = read_pid(background_pid);
    REQUIRE(command > 0);
    REQUIRE(background > 0);
    for (pid_t pid : {command, background}) {
        bool gone = process_gone(pid);
        CHECK(gone);
        if (!gone) kill(pid, SIGKILL);  // leave nothing behind; this process has CAP_KILL
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("health exec: a command printing without end is bounded by the timeout and the excerpt",
          "[health][security]") {
    asio::io_context io;
    ExecProbe probe(io);
    // Output as fast as the pipe takes it, for ever: read and dropped past 512 bytes,
    // the command killed at the deadline.
    Result endless = probe_once(io, probe, kTarget, exec_check({"/usr/bin/yes", "all good"}), 400ms);
    CHECK(endless.failure == Failure::timeout);
    CHECK(timed_out(endless.reason, 400, ", /usr/bin/yes killed"));
    CHECK(endless.duration < 1500ms);

    // 64 MiB of one line, then a failure: the reason quotes a bounded excerpt.
    Result flood = probe_once(
        io, probe, kTarget, exec_check({"/bin/sh", "-c", "head -c 67108864 /dev/zero | tr '\\0' x; exit 3"}), 10000ms);
    CHECK(flood.failure == Failure::exit_status);
    CHECK_THAT(flood.reason, Catch::StartsWith("exit status 3: \"xxxx"));
    CHECK(flood.reason.size() < 600);
    run_until(
        io, [&] { return probe.running() == 0; }, 2000ms);
    CHECK(probe.running() == 0);
}
