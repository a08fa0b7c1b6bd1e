#include "cli/top.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "cli/client.h"
#include "cli/top_terminal.h"

namespace julier::cli::top {
namespace {

namespace protocol = daemon::protocol;
using Clock = std::chrono::steady_clock;

constexpr int kExitRefused = 1;
constexpr int kExitUnreachable = 2;

// A `flows` count walks the whole connection table (about a second per million
// entries): after one that took T, the next waits at least 10 T, so the walks take
// at most a tenth of julierd's walker thread.
constexpr int kFlowsSpacing = 10;
constexpr auto kCallTimeout = std::chrono::seconds(10);
constexpr auto kFlowsTimeout = std::chrono::seconds(60);

// A reading that failed, with the exit status it would end julierctl with.
struct ReadError : std::runtime_error {
    ReadError(const std::string& what, int status) : std::runtime_error(what), exit_status(status) {}
    int exit_status;
};

double seconds_of(Clock::time_point t) { return std::chrono::duration<double>(t.time_since_epoch()).count(); }

std::string wall_clock(bool with_date) {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    return with_date ? fmt::format("{:%Y-%m-%d %H:%M:%S}", tm) : fmt::format("{:%H:%M:%S}", tm);
}

// One connection to julierd, opened again after a failure.
class Reader {
public:
    Reader(const Options& options, bool with_date) : options_(options), with_date_(with_date) {}

    Sample read(const Sample* previous) {
        // A connection kept from the last reading may have been closed by a julierd
        // that restarted since: one more try on a new one says whether it is there.
        if (client_) {
            try {
                return read_once(previous);
            } catch (const ReadError& e) {
                if (e.exit_status != kExitUnreachable) throw;
            }
        }
        return read_once(previous);
    }

private:
    Sample read_once(const Sample* previous) {
        try {
            if (!client_) client_.emplace(options_.socket);
            Sample s;
            s.status = ask<protocol::Status>(protocol::Command::status, kCallTimeout);
            s.services = ask<std::vector<protocol::ServiceInfo>>(protocol::Command::services, kCallTimeout);
            s.backends = ask<std::vector<protocol::BackendInfo>>(protocol::Command::backends, kCallTimeout);
            if (!options_.service.empty() &&
                std::none_of(s.services.begin(), s.services.end(),
                             [&](const auto& service) { return service.name == options_.service; })) {
                throw ReadError(fmt::format("no service '{}'", options_.service), kExitRefused);
            }
            const auto now = Clock::now();
            if (previous && previous->flows && now < next_flows_) {
                s.flows = previous->flows;
                s.flows_seconds = previous->flows_seconds;
            } else {
                try {
                    s.flows = ask<protocol::FlowsResult>(protocol::Command::flows, kFlowsTimeout);
                    s.flows_seconds = seconds_of(Clock::now());
                } catch (const ReadError& e) {
                    // julierd refused the walk ("busy: too many connection-table walks
                    // waiting"): the last count stays, and its age shows.
                    if (e.exit_status != kExitRefused) throw;
                    if (previous && previous->flows) {
                        s.flows = previous->flows;
                        s.flows_seconds = previous->flows_seconds;
                    }
                }
                const auto done = Clock::now();
                next_flows_ = done + std::max<Clock::duration>(options_.interval, kFlowsSpacing * (done - now)) -
                              options_.interval / 2;  // the next refresh, not the one after, when they are due
            }
            const auto taken = Clock::now();
            s.seconds = seconds_of(taken);
            s.clock = wall_clock(with_date_);
            return s;
        } catch (const ReadError&) {
            client_.reset();
            throw;
        } catch (const ClientError& e) {
            client_.reset();
            throw ReadError(e.what(), kExitUnreachable);
        } catch (const nlohmann::json::exception& e) {
            client_.reset();
            throw ReadError(fmt::format("cannot read julierd's answer ({})", e.what()), kExitUnreachable);
        }
    }

    template <typename T>
    T ask(protocol::Command command, std::chrono::milliseconds timeout) {
        protocol::Request request;
        request.command = command;
        if (command == protocol::Command::backends || command == protocol::Command::flows) {
            request.service = options_.service;
        }
        const auto response = client_->call(request, timeout);
        if (!response.ok) {
            throw ReadError(fmt::format("{}: {}", protocol::command_name(command), response.error), kExitRefused);
        }
        return response.result.get<T>();
    }

    const Options& options_;
    bool with_date_;
    std::optional<ControlClient> client_;
    Clock::time_point next_flows_{};
};

// Without a terminal: a block per refresh, with its date and time, nothing else.
int run_plain(const Options& options) {
    Reader reader(options, true);
    std::optional<Sample> previous;
    auto next = Clock::now();
    for (std::uint64_t shown = 0; options.iterations == 0 || shown < options.iterations;) {
        std::this_thread::sleep_until(next);
        next += options.interval;
        Sample current;
        try {
            current = reader.read(previous ? &*previous : nullptr);
        } catch (const ReadError& e) {
            fmt::print(stderr, "julierctl: {}\n", e.what());
            return e.exit_status;
        }
        if (previous) {
            std::string block;
            for (const auto& line : render(make_view(&*previous, current, options.sort, options.service))) {
                block += line + '\n';
            }
            fmt::print("{}\n", block);
            std::fflush(stdout);
            ++shown;
        }
        previous = std::move(current);
    }
    return 0;
}

int run_terminal(const Options& options) {
    Reader reader(options, false);
    std::optional<Sample> previous;
    try {
        previous = reader.read(nullptr);
    } catch (const ReadError& e) {
        fmt::print(stderr, "julierctl: {}\n", e.what());
        return e.exit_status;
    }
    Terminal terminal;
    View view = make_view(nullptr, *previous, options.sort, options.service);
    std::string error;
    const auto draw = [&] {
        const auto size = terminal.size();
        std::vector<std::string> lines;
        if (!error.empty()) {
            lines.push_back(fmt::format("julierctl: {}", error));
            lines.push_back(
                fmt::format("trying again every {}; q quits", options.interval.count() % 1000 == 0
                                                                  ? fmt::format("{}s", options.interval.count() / 1000)
                                                                  : fmt::format("{}ms", options.interval.count())));
        }
        const auto height = size.rows > lines.size() ? size.rows - lines.size() : 1;
        for (auto& line : render(view, size.columns, height)) lines.push_back(std::move(line));
        for (auto& line : lines) {
            if (line.size() > size.columns) line.resize(size.columns);
        }
        terminal.draw(lines);
    };
    draw();
    auto next = Clock::now() + options.interval;
    for (std::uint64_t shown = 0; options.iterations == 0 || shown < options.iterations;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now());
        const auto event = terminal.wait(std::max(left, std::chrono::milliseconds(0)));
        if (event == Terminal::Event::quit) break;
        if (event == Terminal::Event::resized) {
            draw();
            continue;
        }
        next += options.interval;
        if (next < Clock::now()) next = Clock::now() + options.interval;  // a slow reading: no burst after it
        try {
            Sample current = reader.read(previous ? &*previous : nullptr);
            view = make_view(previous ? &*previous : nullptr, current, options.sort, options.service);
            previous = std::move(current);
            error.clear();
            ++shown;
        } catch (const ReadError& e) {
            // The rates start again from the next reading that works.
            error = e.what();
            previous.reset();
        }
        draw();
    }
    return 0;
}

}  // namespace

int run(const Options& options) { return ::isatty(STDOUT_FILENO) ? run_terminal(options) : run_plain(options); }

}  // namespace julier::cli::top
