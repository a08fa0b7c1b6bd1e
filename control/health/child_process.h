// Starting a check command as a separate, unprivileged process, and collecting
// it. Everything is prepared before fork(); the child runs only async-signal-safe
// calls until execve():
//   - its own session and process group (so a timeout kills its descendants too),
//     default signal dispositions and an empty signal mask;
//   - stdin from /dev/null, stdout and stderr into one pipe to julierd, every
//     other descriptor closed;
//   - supplementary groups, gid and uid set to the check user (when one is given),
//     then no_new_privs (set-user-id programs cannot regain privileges), and
//     SIGKILL when julierd dies;
//   - working directory /, a fixed minimal environment, execve() of an absolute
//     path (no shell, no PATH lookup in the child).
// With a check user, the child stays as a supervisor of that user: it forks the
// command into a process group of its own, kills that group with SIGKILL at the
// deadline, and exits with the command's wait status. julierd needs no CAP_KILL
// for that, which signalling a process of another user would take.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace julier::health {

struct RunAs {
    std::string user;
    uid_t uid = 0;
    gid_t gid = 0;
};

// The uid and primary gid of a user name; nullopt (and *error) when unknown.
std::optional<RunAs> lookup_user(const std::string& name, std::string* error);

// An absolute path for argv[0]: kept when it starts with '/', else searched in
// the fixed PATH the child gets. nullopt (and *error) when not found.
std::optional<std::string> resolve_program(const std::string& name, std::string* error);

// The PATH a check command runs with.
extern const char* const kCheckPath;

struct SpawnRequest {
    std::string program;            // absolute path
    std::vector<std::string> argv;  // argv[0] included
    std::vector<std::string> env;   // "NAME=value"
    std::optional<RunAs> run_as;    // nullopt: keep julierd's identity
    // With run_as: when the supervisor kills the command (steady_clock, which is
    // CLOCK_MONOTONIC). Without run_as the caller kills it.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// A started child. The caller owns the descriptors and must reap the pid.
struct Child {
    pid_t pid = -1;
    int pidfd = -1;        // becomes readable when the child exits
    int output = -1;       // read end of the child's stdout + stderr
    int setup_error = -1;  // read end: a failure record if the child failed before running the command
};

// nullopt (and *error) when the child could not be created at all.
std::optional<Child> spawn_child(const SpawnRequest& request, std::string* error);

// After the child has exited: what made it fail before running the command
// ("setuid: Operation not permitted"), or empty when the command ran.
std::string read_setup_error(int fd);

// "exit status 1", "killed by signal 9 (Killed)".
std::string describe_wait_status(int status);

}  // namespace julier::health
