// exec: run a fixed command (argv, no shell) with "{address}" and "{port}" replaced
// in its arguments; the backend passes when the command exits with status 0 before
// the check's timeout. On timeout the command's whole process group is killed with
// SIGKILL, by the command's supervisor when it runs as another user (see
// child_process.h; julierd may lack CAP_KILL). At most `max_concurrent` commands run at once; further checks wait for a
// free slot (within their own deadline). Output is read and dropped except for its
// first bytes, which a failure reason quotes.
//
// Security model: julierd usually runs as root. A check command runs as `user`
// ("nobody" unless configured; as julierd's own user when julierd is not root),
// with no supplementary groups but that user's group, no_new_privs, no inherited
// descriptors, no controlling terminal, a fixed environment (PATH, HOME=/,
// JULIER_BACKEND_ADDRESS, JULIER_BACKEND_PORT) and working directory /. Arguments
// are passed as they are written: a substituted address or port can never become
// shell syntax. What the command may do is then what that user may do: keep check
// scripts root-owned and not writable by it. See child_process.h for the steps.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "health/child_process.h"
#include "health/probe.h"

namespace julier::health {

struct ExecOptions {
    // The user commands run as. nullopt: "nobody" when julierd is root, else
    // julierd's own user. "root" (or any user) may be named explicitly.
    std::optional<std::string> user;
    std::size_t max_concurrent = 8;
    std::size_t max_output_bytes = 512;  // of stdout + stderr kept for the reason
};

// "{address}" and "{port}" replaced in every argument.
std::vector<std::string> substitute_arguments(const std::vector<std::string>& command, const std::string& address,
                                              std::uint16_t port);

class ExecProbe final : public Probe {
public:
    ExecProbe(boost::asio::io_context& io, ExecOptions options = {});

    config::HealthKind kind() const override { return config::HealthKind::exec; }
    ProbeHandle async_probe(const ProbeTarget& target, const config::HealthCheck& check, TimePoint deadline,
                            ProbeCallback done) override;

    // Commands running now (a killed one counts until it has been reaped).
    std::size_t running() const;
    // Who commands run as: the user name, or empty for julierd's own identity.
    std::string run_as() const { return run_as_ ? run_as_->user : std::string(); }

    struct Slots;  // the concurrency bound shared with running checks

private:
    boost::asio::io_context& io_;
    ExecOptions options_;
    std::optional<RunAs> run_as_;
    std::string user_error_;  // why commands cannot run as the configured user
    std::shared_ptr<Slots> slots_;
};

}  // namespace julier::health
