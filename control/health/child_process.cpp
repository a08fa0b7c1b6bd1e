#include "health/child_process.h"

#include "common/descriptors.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string_view>
#include <vector>

namespace julier::health {

const char* const kCheckPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

namespace {

// What the child reports through the setup-error pipe before it exits.
enum class Stage : int {
    setsid = 1,
    descriptors,
    setgroups,
    setgid,
    setuid,
    no_new_privs,
    parent_death,
    chdir,
    exec,
    fork,
    process_group
};

struct SetupRecord {
    int stage;
    int error;
};

const char* stage_name(int stage) {
    switch (static_cast<Stage>(stage)) {
        case Stage::setsid: return "setsid";
        case Stage::descriptors: return "redirecting descriptors";
        case Stage::setgroups: return "setgroups";
        case Stage::setgid: return "setgid";
        case Stage::setuid: return "setuid";
        case Stage::no_new_privs: return "no_new_privs";
        case Stage::parent_death: return "parent death signal";
        case Stage::chdir: return "chdir /";
        case Stage::exec: return "execve";
        case Stage::fork: return "fork";
        case Stage::process_group: return "setpgid";
    }
    return "setup";
}

[[noreturn]] void child_fail(int fd, Stage stage) {
    SetupRecord record{static_cast<int>(stage), errno};
    ssize_t ignored = write(fd, &record, sizeof record);
    (void)ignored;
    _exit(127);
}

// `to - from`, clamped at zero.
timespec until(const timespec& from, const timespec& to) {
    timespec left{to.tv_sec - from.tv_sec, to.tv_nsec - from.tv_nsec};
    if (left.tv_nsec < 0) {
        left.tv_nsec += 1000000000L;
        --left.tv_sec;
    }
    if (left.tv_sec < 0) return timespec{0, 0};
    return left;
}

// The child after dropping privileges, as that same user: runs the command as its
// own child in its own process group and kills that group at the deadline.
// julierd may lack CAP_KILL (the shipped unit does) and then cannot signal a
// process of another user; this supervisor can. Its wait status is the command's:
// the same exit status, or death by the same signal (a kill at the deadline shows
// as SIGKILL). Async-signal-safe calls only: it runs in a fork of a threaded process.
[[noreturn]] void supervise(const char* program, char* const* argv, char* const* envp, int setup_write,
                            const timespec& deadline) {
    // SIGCHLD stays pending while blocked, for sigtimedwait() below.
    sigset_t child_exit;
    sigemptyset(&child_exit);
    sigaddset(&child_exit, SIGCHLD);
    sigprocmask(SIG_BLOCK, &child_exit, nullptr);
    pid_t supervisor = getpid();

    pid_t command = fork();
    if (command < 0) child_fail(setup_write, Stage::fork);
    if (command == 0) {
        if (setpgid(0, 0) != 0) child_fail(setup_write, Stage::process_group);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        // fork() cleared it; the command dies with its supervisor.
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail(setup_write, Stage::parent_death);
        if (getppid() != supervisor) _exit(127);
        execve(program, argv, envp);
        child_fail(setup_write, Stage::exec);
    }
    // Also here, so the group exists before any kill below (whichever runs first).
    setpgid(command, command);
    // julierd sees the output end when the command's side closes it, and exec
    // failures only from the command.
    common::close_from(0);

    siginfo_t info{};
    for (;;) {
        // WNOWAIT: the exited command stays a zombie, so its group id cannot be
        // reused before the kill below.
        info.si_pid = 0;
        if (waitid(P_PID, static_cast<id_t>(command), &info, WEXITED | WNOHANG | WNOWAIT) != 0 && errno != EINTR) break;
        if (info.si_pid == command) break;
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        timespec left = until(now, deadline);
        if (left.tv_sec == 0 && left.tv_nsec == 0) break;
        sigtimedwait(&child_exit, nullptr, &left);
    }
    // At the deadline, or after the command exited: whatever is left of its group goes.
    kill(-command, SIGKILL);
    kill(command, SIGKILL);
    int status = 0;
    while (waitpid(command, &status, 0) < 0)
        if (errno != EINTR) _exit(127);
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        kill(supervisor, WTERMSIG(status));  // default disposition: ends here
    }
    _exit(127);
}

int pidfd_open(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// Moves a descriptor to 3 or above, close-on-exec, so that it cannot collide with
// the 0-2 the child sets up (julierd may run with a closed stdin).
int above_stdio(int fd) {
    if (fd < 0 || fd > 2) return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    close(fd);
    return moved;
}

std::string system_error(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

std::optional<RunAs> lookup_user(const std::string& name, std::string* error) {
    long size = sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(size > 0 ? static_cast<std::size_t>(size) : 16384);
    passwd entry{};
    passwd* found = nullptr;
    int rc = getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
    if (rc != 0 || found == nullptr) {
        if (error)
            *error = "user \"" + name + "\" " +
                     (rc != 0 ? std::string("cannot be looked up: ") + std::strerror(rc) : "does not exist");
        return std::nullopt;
    }
    return RunAs{name, found->pw_uid, found->pw_gid};
}

std::optional<std::string> resolve_program(const std::string& name, std::string* error) {
    if (name.empty()) {
        if (error) *error = "empty command";
        return std::nullopt;
    }
    if (name.front() == '/') return name;
    if (name.find('/') != std::string::npos) {
        if (error) *error = "command \"" + name + "\" must be an absolute path or a bare program name";
        return std::nullopt;
    }
    std::string_view path = kCheckPath;
    while (!path.empty()) {
        auto colon = path.find(':');
        std::string candidate = std::string(path.substr(0, colon)) + "/" + name;
        if (access(candidate.c_str(), X_OK) == 0) return candidate;
        path.remove_prefix(colon == std::string_view::npos ? path.size() : colon + 1);
    }
    if (error) *error = "command \"" + name + "\" not found in " + kCheckPath;
    return std::nullopt;
}

std::optional<Child> spawn_child(const SpawnRequest& request, std::string* error) {
    auto fail = [&](std::string message) -> std::optional<Child> {
        if (error) *error = std::move(message);
        return std::nullopt;
    };

    // Everything the child needs, built before fork(): it may not allocate.
    std::vector<char*> argv;
    for (const auto& arg : request.argv) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (const auto& var : request.env) envp.push_back(const_cast<char*>(var.c_str()));
    envp.push_back(nullptr);
    const char* program = request.program.c_str();
    bool drop = request.run_as.has_value();
    uid_t uid = drop ? request.run_as->uid : 0;
    gid_t gid = drop ? request.run_as->gid : 0;
    pid_t parent = getpid();
    auto since_boot = std::chrono::duration_cast<std::chrono::nanoseconds>(request.deadline.time_since_epoch()).count();
    timespec deadline{static_cast<time_t>(since_boot / 1000000000), static_cast<long>(since_boot % 1000000000)};

    int output[2];
    int setup[2];
    if (pipe2(output, O_CLOEXEC) != 0) return fail(system_error("pipe"));
    if (pipe2(setup, O_CLOEXEC) != 0) {
        int saved = errno;
        close(output[0]);
        close(output[1]);
        errno = saved;
        return fail(system_error("pipe"));
    }
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int out_write = above_stdio(output[1]);
    int setup_write = above_stdio(setup[1]);
    devnull = above_stdio(devnull);
    auto close_all = [&] {
        for (int fd : {output[0], out_write, setup[0], setup_write, devnull})
            if (fd >= 0) close(fd);
    };
    if (devnull < 0 || out_write < 0 || setup_write < 0) {
        int saved = errno;
        close_all();
        errno = saved;
        return fail(system_error("preparing descriptors"));
    }

    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close_all();
        errno = saved;
        return fail(system_error("fork"));
    }

    if (pid == 0) {
        // The child: async-signal-safe calls only from here to execve().
        if (setsid() < 0) child_fail(setup_write, Stage::setsid);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        struct sigaction default_action {};
        default_action.sa_handler = SIG_DFL;
        for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &default_action, nullptr);

        if (dup2(devnull, 0) < 0 || dup2(out_write, 1) < 0 || dup2(out_write, 2) < 0)
            child_fail(setup_write, Stage::descriptors);
        // Keep only 0-2 and the setup pipe (moved to 3, closed by a successful exec).
        if (setup_write != 3) {
            if (dup3(setup_write, 3, O_CLOEXEC) < 0) child_fail(setup_write, Stage::descriptors);
            setup_write = 3;
        }
        common::close_from(4);

        if (drop) {
            if (setgroups(1, &gid) != 0) child_fail(setup_write, Stage::setgroups);
            if (setresgid(gid, gid, gid) != 0) child_fail(setup_write, Stage::setgid);
            if (setresuid(uid, uid, uid) != 0) child_fail(setup_write, Stage::setuid);
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) child_fail(setup_write, Stage::no_new_privs);
        // After the uid change: changing credentials clears the parent-death signal.
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) child_fail(setup_write, Stage::parent_death);
        if (getppid() != parent) _exit(127);  // julierd died before the line above
        if (chdir("/") != 0) child_fail(setup_write, Stage::chdir);
        if (drop) supervise(program, argv.data(), envp.data(), setup_write, deadline);
        execve(program, argv.data(), envp.data());
        child_fail(setup_write, Stage::exec);
    }

    close(devnull);
    close(out_write);
    close(setup_write);

    Child child;
    child.pid = pid;
    child.output = output[0];
    child.setup_error = setup[0];
    child.pidfd = pidfd_open(pid);
    if (child.pidfd < 0) {
        // Cannot watch it: stop it at once rather than leave it unsupervised.
        std::string message = system_error("pidfd_open");
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        close(child.output);
        close(child.setup_error);
        return fail(message);
    }
    return child;
}

std::string read_setup_error(int fd) {
    SetupRecord record{};
    ssize_t got;
    do {
        got = read(fd, &record, sizeof record);
    } while (got < 0 && errno == EINTR);
    if (got != static_cast<ssize_t>(sizeof record)) return {};
    return std::string(stage_name(record.stage)) + ": " + std::strerror(record.error);
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char* name = sigdescr_np(sig);
        return "killed by signal " + std::to_string(sig) + (name ? std::string(" (") + name + ")" : std::string());
    }
    return "ended with wait status " + std::to_string(status);
}

}  // namespace julier::health
