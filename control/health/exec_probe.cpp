#include "health/exec_probe.h"

#include <array>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <functional>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include "health/http_check.h"
#include "health/probe_operation.h"

namespace julier::health {

namespace asio = boost::asio;

struct ExecProbe::Slots {
    std::size_t limit = 1;
    std::size_t running = 0;
    // Checks waiting for a slot, oldest first. Each entry starts its check and
    // returns true, or returns false when that check has ended meanwhile.
    std::deque<std::function<bool()>> waiting;

    void release() {
        if (running > 0) --running;
        while (running < limit && !waiting.empty()) {
            auto next = std::move(waiting.front());
            waiting.pop_front();
            next();
        }
    }
};

namespace {

class ExecOperation final : public ProbeOperation {
public:
    ExecOperation(asio::io_context& io, TimePoint deadline, ProbeCallback done, std::shared_ptr<ExecProbe::Slots> slots,
                  std::optional<RunAs> run_as, std::size_t max_output)
        : ProbeOperation(io, deadline, std::move(done)),
          slots_(std::move(slots)),
          run_as_(std::move(run_as)),
          max_output_(max_output),
          exit_(io),
          output_(io) {}

    void start(const ProbeTarget& target, const config::ExecCheck& check, const std::string& user_error) {
        arm_deadline();
        if (!user_error.empty()) return finish_later(Result::fail(Failure::config, user_error));
        if (check.command.empty()) return finish_later(Result::fail(Failure::config, "health.exec.command is empty"));

        std::string address = target.address.to_string();
        request_.argv = substitute_arguments(check.command, address, target.port);
        std::string error;
        auto program = resolve_program(request_.argv.front(), &error);
        if (!program) return finish_later(Result::fail(Failure::config, error));
        request_.program = *program;
        request_.run_as = run_as_;
        request_.deadline = deadline_;
        request_.env = {std::string("PATH=") + kCheckPath, "HOME=/", "JULIER_BACKEND_ADDRESS=" + address,
                        "JULIER_BACKEND_PORT=" + std::to_string(target.port)};

        if (slots_->running < slots_->limit) return launch();
        waiting_ = true;
        slots_->waiting.push_back([weak = std::weak_ptr<ExecOperation>(self<ExecOperation>())] {
            auto self = weak.lock();
            if (!self || self->finished()) return false;
            self->launch();
            return true;
        });
    }

private:
    void launch() {
        waiting_ = false;
        ++slots_->running;
        holds_slot_ = true;

        std::string error;
        auto child = spawn_child(request_, &error);
        // Failures are delivered from a fresh handler: launch() may run inside async_probe().
        if (!child) {
            release_slot();
            return finish_later(Result::fail(Failure::exec_error, "cannot start " + request_.program + ": " + error));
        }
        child_ = *child;
        running_ = true;
        fcntl(child_.output, F_SETFL, fcntl(child_.output, F_GETFL) | O_NONBLOCK);
        boost::system::error_code error_code;
        exit_.assign(child_.pidfd, error_code);
        if (error_code) {
            // Unwatchable: stop it and collect it right here.
            close(child_.pidfd);
            close(child_.output);
            kill(-child_.pid, SIGKILL);
            kill(child_.pid, SIGKILL);
            waitpid(child_.pid, nullptr, 0);
            close(child_.setup_error);
            running_ = false;
            release_slot();
            return finish_later(
                Result::fail(Failure::exec_error, "cannot watch " + request_.program + ": " + error_code.message()));
        }
        output_.assign(child_.output, error_code);
        if (error_code)
            close(child_.output);  // output is then simply not read
        else
            read_output();
        exit_.async_wait(asio::posix::descriptor_base::wait_read,
                         [self = self<ExecOperation>()](const boost::system::error_code&) {
                             // Reap even after a timeout or cancel: the child must not stay a zombie.
                             self->collect();
                         });
    }

    void read_output() {
        output_.async_read_some(asio::buffer(chunk_), [self = self<ExecOperation>()](
                                                          const boost::system::error_code& error, std::size_t size) {
            self->keep_output(size);
            if (!error) self->read_output();
        });
    }

    void keep_output(std::size_t size) {
        std::size_t room = max_output_ - std::min(max_output_, output_text_.size());
        output_text_.append(chunk_.data(), std::min(room, size));
    }

    void collect() {
        if (!running_) return;
        running_ = false;
        // The leader is still a zombie, so its group id cannot have been reused:
        // this reaches exactly what the command left behind.
        kill(-child_.pid, SIGKILL);
        int status = 0;
        pid_t reaped;
        do {
            reaped = waitpid(child_.pid, &status, 0);
        } while (reaped < 0 && errno == EINTR);

        // The writers are gone: read what is still in the pipe.
        while (output_.is_open()) {
            ssize_t got = ::read(output_.native_handle(), chunk_.data(), chunk_.size());
            if (got <= 0) break;
            keep_output(static_cast<std::size_t>(got));
        }
        std::string setup_error = read_setup_error(child_.setup_error);
        close(child_.setup_error);
        boost::system::error_code ignored;
        output_.close(ignored);
        exit_.close(ignored);
        release_slot();

        if (finished()) return;
        if (!setup_error.empty())
            return finish(Result::fail(Failure::exec_error, "cannot run " + request_.program + ": " + setup_error));
        if (reaped != child_.pid)
            return finish(Result::fail(Failure::exec_error, "exit status of " + request_.program +
                                                                " unknown (reaped elsewhere; is SIGCHLD ignored?)"));
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return finish(Result::pass("exit status 0"));
        // The supervisor's kill at the deadline, seen before our own timer fired.
        if (run_as_ && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && Clock::now() >= deadline_)
            return finish(timeout_result());
        finish(Result::fail(Failure::exit_status, describe_wait_status(status) + output_excerpt()));
    }

    // ": \"first line of output\"", or nothing when there was none.
    std::string output_excerpt() const {
        std::string_view text = output_text_;
        while (!text.empty() && (text.front() == '\n' || text.front() == '\r' || text.front() == ' '))
            text.remove_prefix(1);
        text = text.substr(0, text.find('\n'));
        while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
        if (text.empty()) return {};
        return ": " + quoted(text, 120);
    }

    void release_slot() {
        if (!holds_slot_) return;
        holds_slot_ = false;
        // Posted: starting the next check forks, which should not nest inside
        // whatever handler released this slot.
        asio::post(io_, [slots = slots_] { slots->release(); });
    }

    void stop_io() override {
        // The exit handler reaps the child and closes the descriptors. A supervised
        // command is ended by its supervisor at the deadline: killing the supervisor
        // (when julierd may at all) would leave the command's group running.
        if (running_ && !run_as_) {
            kill(-child_.pid, SIGKILL);
            kill(child_.pid, SIGKILL);  // in case it has not reached setsid() yet
        }
    }

    Result timeout_result() override {
        std::string after = "timeout after " + describe(deadline_ - started_);
        if (waiting_)
            return Result::fail(Failure::timeout, after + " while waiting for a free exec slot (" +
                                                      std::to_string(slots_->limit) + " in use)");
        return Result::fail(Failure::timeout, after + ", " + request_.program + " killed");
    }

    std::shared_ptr<ExecProbe::Slots> slots_;
    std::optional<RunAs> run_as_;
    std::size_t max_output_;
    SpawnRequest request_;
    Child child_;
    bool waiting_ = false;
    bool holds_slot_ = false;
    bool running_ = false;
    asio::posix::stream_descriptor exit_;
    asio::posix::stream_descriptor output_;
    std::array<char, 1024> chunk_{};
    std::string output_text_;
};

}  // namespace

std::vector<std::string> substitute_arguments(const std::vector<std::string>& command, const std::string& address,
                                              std::uint16_t port) {
    std::vector<std::string> argv;
    std::string port_text = std::to_string(port);
    for (std::string arg : command) {
        for (auto [token, value] : {std::pair<std::string_view, const std::string*>{"{address}", &address},
                                    std::pair<std::string_view, const std::string*>{"{port}", &port_text}}) {
            std::size_t at = 0;
            while ((at = arg.find(token, at)) != std::string::npos) {
                arg.replace(at, token.size(), *value);
                at += value->size();
            }
        }
        argv.push_back(std::move(arg));
    }
    return argv;
}

ExecProbe::ExecProbe(asio::io_context& io, ExecOptions options)
    : io_(io), options_(std::move(options)), slots_(std::make_shared<Slots>()) {
    slots_->limit = std::max<std::size_t>(options_.max_concurrent, 1);
    bool root = geteuid() == 0;
    if (!root && !options_.user) return;  // run as ourselves
    std::string name = options_.user.value_or("nobody");
    std::string error;
    auto user = lookup_user(name, &error);
    if (!user) {
        user_error_ = "cannot run exec checks: " + error;
        return;
    }
    if (user->uid == geteuid()) return;  // already that user
    if (!root) {
        user_error_ = "cannot run exec checks as \"" + name + "\": julierd is not running as root";
        return;
    }
    run_as_ = std::move(user);
}

std::size_t ExecProbe::running() const { return slots_->running; }

ProbeHandle ExecProbe::async_probe(const ProbeTarget& target, const config::HealthCheck& check, TimePoint deadline,
                                   ProbeCallback done) {
    auto operation =
        std::make_shared<ExecOperation>(io_, deadline, std::move(done), slots_, run_as_, options_.max_output_bytes);
    operation->start(target, check.exec, user_error_);
    return ProbeHandle(operation);
}

}  // namespace julier::health
