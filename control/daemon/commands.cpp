// Daemon: the control-socket commands, and the operator overrides kept on disk.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "common/file_replace.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "daemon/version.h"

namespace julier::daemon {
namespace {

using Clock = std::chrono::steady_clock;

std::string peer_text(const Peer& peer) { return fmt::format("peer_pid={} peer_uid={}", peer.pid, peer.uid); }

// A dry run of another file: julierd (root) reads it for the peer, so only a file
// the peer could read itself by owner, group or other bits (any file for root):
// the diagnostics would show a group member parts of a file it cannot read.
std::string peer_may_read(const std::string& file, const Peer& peer) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return fmt::format("cannot read {}: {}", file, std::strerror(errno));
    if (peer.uid == 0) return {};
    const bool readable = (st.st_uid == peer.uid && (st.st_mode & S_IRUSR)) ||
                          (st.st_gid == peer.gid && (st.st_mode & S_IRGRP)) || (st.st_mode & S_IROTH);
    if (S_ISREG(st.st_mode) && readable) return {};
    return fmt::format("{} is not a file uid {} may read (its owner, group or other bits)", file, peer.uid);
}

}  // namespace

Reply Daemon::handle(const protocol::Request& request, const Peer& peer) {
    using protocol::Command;
    if (stopping_ || torn_down_) return Reply{protocol::failure("julierd is stopping"), {}};
    if (tearing_down_ && request.command != protocol::Command::status)
        return Reply{protocol::failure("julierd is tearing down: the VIPs are withdrawn and the forwarder is "
                                       "detached when the grace ends"),
                     {}};

    switch (request.command) {
        case Command::status: return Reply{protocol::success(status()), {}};

        case Command::services: return Reply{protocol::success(service_views()), {}};

        case Command::backends: {
            std::optional<std::string> only;
            if (!request.service.empty()) {
                if (reconciler_.plan().find(request.service) == nullptr) {
                    return Reply{protocol::failure(fmt::format("no service '{}'", request.service)), {}};
                }
                only = request.service;
            }
            return Reply{protocol::success(backend_views(only)), {}};
        }

        case Command::drain:
        case Command::undrain:
        case Command::weight:
        case Command::maint:
        case Command::ready: return override_backend(request, peer);

        case Command::reload: {
            if (request.dry_run) {
                const auto file = request.file.empty() ? options_.config_file : request.file;
                spdlog::info("control command=reload dry_run=true config={} {}", kv(file), peer_text(peer));
                if (!request.file.empty()) {
                    if (auto refused = peer_may_read(request.file, peer); !refused.empty())
                        return Reply{protocol::failure("dry run: " + refused), {}};
                }
                Reply reply;
                reply.later = [this, file](Reply::Answer answer) {
                    dry_run(file, [this, answer = std::move(answer)](ReloadReport report) {
                        if (!report.ok) {
                            answer(Reply{protocol::failure("dry run: the reload would fail; nothing changed",
                                                           std::move(report.errors)),
                                         {}});
                            return;
                        }
                        protocol::ReloadResult result{config_generation_, dataplane_->generation(),
                                                      std::move(report.warnings), true, change_infos(report.changes)};
                        answer(Reply{protocol::success(result), {}});
                    });
                };
                return reply;
            }
            spdlog::info("control command=reload {}", peer_text(peer));
            Reply reply;
            reply.later = [this](Reply::Answer answer) {
                reload("control socket", [this, answer = std::move(answer)](ReloadReport report) {
                    if (!report.ok) {
                        answer(
                            Reply{protocol::failure("reload failed; nothing changed", std::move(report.errors)), {}});
                        return;
                    }
                    protocol::ReloadResult result{config_generation_, dataplane_->generation(),
                                                  std::move(report.warnings), false, change_infos(report.changes)};
                    answer(Reply{protocol::success(result), {}});
                });
            };
            return reply;
        }

        case Command::teardown: return teardown(request, peer);
        case Command::flows: return flows(request);
        case Command::which: return which(request);
        case Command::purge: return purge(request, peer);
    }
    return Reply{protocol::failure("unknown command"), {}};
}

protocol::Status Daemon::status() const {
    protocol::Status s;
    s.version = kVersion;
    s.pid = getpid();
    s.uptime_seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started_).count();
    s.config_file = options_.config_file;
    s.config_generation = config_generation_;
    s.dataplane_generation = dataplane_->generation();
    s.last_reload = last_reload_;
    s.reload_failures = reload_failures_;
    s.pin_dir = catalogue().pin_dir;
    for (const auto& i : catalogue().interfaces) {
        s.interfaces.push_back(i.name);
        auto state = interface_states_.find(i.name);
        s.interface_states.push_back(state != interface_states_.end() ? state->second
                                                                      : protocol::InterfaceState{i.name, true, 0, ""});
    }
    s.services = catalogue().services.size();
    for (const auto& service : catalogue().services) s.backends += service.backends.size();
    for (const auto& [service, per_service] : reconciler_.desired().overrides.all()) {
        for (const auto& [address, o] : per_service) {
            s.operator_overrides.push_back(fmt::format("{} {}: {}", service, address.to_string(), o.describe()));
        }
    }
    s.adopted = dataplane_->adopted();
    fill_fleet_status(s);
    return s;
}

std::vector<protocol::ServiceInfo> Daemon::service_views() const {
    const auto counters = dataplane_->read_counters();
    return service_infos(catalogue(), reconciler_.plan(), &counters);
}

std::vector<protocol::BackendInfo> Daemon::backend_views(const std::optional<std::string>& only) const {
    const auto counters = dataplane_->read_counters();
    return backend_infos(reconciler_.plan(), health_ ? health_->snapshot() : health::Snapshot{}, &counters, only);
}

Reply Daemon::override_backend(const protocol::Request& request, const Peer& peer) {
    using protocol::Command;
    const auto verb = std::string(protocol::command_name(request.command));
    DesiredState next = reconciler_.desired();
    OverrideChange change;
    switch (request.command) {
        case Command::drain:
        case Command::undrain:
            change = next.overrides.set_state(
                catalogue(), request.service, request.backend,
                request.command == Command::drain ? config::BackendState::drain : config::BackendState::active);
            break;
        case Command::weight:
            change =
                next.overrides.set_weight(catalogue(), request.service, request.backend, request.weight.value_or(0));
            break;
        case Command::maint:
        case Command::ready:
            change = next.overrides.set_maint(catalogue(), request.service, request.backend,
                                              request.command == Command::maint);
            break;
        default: return Reply{protocol::failure("not an override command"), {}};
    }
    if (!change.error.empty()) return Reply{protocol::failure(change.error), {}};

    if (next.overrides != reconciler_.desired().overrides) {
        try {
            reconciler_.reconcile_now(std::move(next), verb);
        } catch (const std::exception& e) {
            spdlog::error("control command={} service={} backend={} error={}", verb, kv(request.service),
                          kv(request.backend), kv(e.what()));
            return Reply{protocol::failure(fmt::format("{} not applied: {}", verb, e.what())), {}};
        }
        save_overrides(overrides_file(catalogue()), reconciler_.desired().overrides);
    }
    const auto weight = request.command == Command::weight ? fmt::format(" weight={}", *request.weight) : "";
    spdlog::info("control command={} service={} backend={}{} changed={} {}", verb, kv(request.service),
                 kv(request.backend), weight, change.changed, peer_text(peer));

    protocol::DrainResult result;
    result.changed = change.changed;
    const auto address = common::IpAddress::parse(request.backend);
    const auto counters = dataplane_->read_counters();
    for (auto& info : backend_infos(reconciler_.plan(), {}, &counters, request.service)) {
        if (address && info.address == address->to_string()) result.backend = std::move(info);
    }
    return Reply{protocol::success(result), {}};
}

Reply Daemon::teardown(const protocol::Request& request, const Peer& peer) {
    reconciler_.wait();
    // The routes go first: routers stop sending here before the forwarder goes. With
    // VIPs announced, the forwarder forwards on for the grace while the routers move
    // the traffic away; without, there is nothing to wait for.
    const bool announced = bird_ && bird_bgp_;
    const auto grace = !announced         ? std::chrono::milliseconds{0}
                       : request.grace_ms ? std::chrono::milliseconds{*request.grace_ms}
                                          : bird_bgp_->teardown_grace;
    spdlog::warn("control command=teardown {} grace_ms={} note={}", peer_text(peer), grace.count(),
                 kv("withdrawing every VIP, then detaching the forwarder and removing its pins"));
    withdraw_announcements("teardown");
    tearing_down_ = true;
    if (grace.count() == 0) return finish_teardown();
    Reply reply;
    reply.later = [this, grace](Reply::Answer answer) {
        teardown_timer_.expires_after(grace);
        teardown_timer_.async_wait([this, answer = std::move(answer)](const boost::system::error_code& ec) {
            if (ec || stopping_) return;  // stopped meanwhile: the forwarder stays, as after any stop
            answer(finish_teardown());    // exits once the answer is written
            // A client that has gone gets no answer, and nothing would end julierd:
            // it exits a moment later all the same.
            teardown_timer_.expires_after(std::chrono::seconds(2));
            teardown_timer_.async_wait([this](const boost::system::error_code& again) {
                if (!again && !stopping_) shutdown("teardown");
            });
        });
    };
    return reply;
}

Reply Daemon::finish_teardown() {
    // From here on nothing may plan, apply or read the forwarder: no health
    // checks, no scrapes, no commands; the daemon exits after answering.
    torn_down_ = true;
    stop_flow_walker();
    reconciler_.stop();
    if (health_) health_->stop();
    stop_http();
    metrics_.set_forwarder_reader({});

    protocol::TeardownResult result;
    result.pin_dir = catalogue().pin_dir;
    try {
        result.detached = dataplane_->attached_interfaces();
        dataplane_->teardown();
    } catch (const std::exception& e) {
        // The forwarder may be half torn down; exit anyway, saying what is left.
        spdlog::error("teardown failed error={}", kv(e.what()));
        return Reply{
            protocol::failure(fmt::format("teardown failed: {}", e.what()),
                              {fmt::format("check `ip link` for XDP programs and {} for pins", result.pin_dir)}),
            [this] {
                exit_code_ = 1;
                shutdown("teardown failed");
            }};
    }
    reconciler_.set_writer({});
    dataplane_.reset();
    std::error_code ignored;
    std::filesystem::remove(overrides_file(catalogue()), ignored);  // nothing left to override
    spdlog::info("teardown done detached={} pin_dir={}", result.detached.size(), kv(result.pin_dir));
    return Reply{protocol::success(result), [this] { shutdown("teardown"); }};
}

std::string Daemon::overrides_file(const config::Catalogue& catalogue) {
    // Next to the control socket, in /run by default: it lives exactly as long as
    // the pinned forwarder can (until reboot), and survives a daemon restart.
    const auto dir = std::filesystem::path(catalogue.control_socket).parent_path();
    return (dir / "operator-overrides.json").string();
}

namespace {

// Where versions that knew only drains kept them, next to the overrides file: read
// when there is no overrides file yet, removed once the overrides are saved.
std::filesystem::path drains_file_of_before(const std::string& overrides_file) {
    return std::filesystem::path(overrides_file).parent_path() / "operator-drains.json";
}

}  // namespace

OperatorOverrides Daemon::load_overrides(const std::string& path) {
    std::string file = path;
    std::ifstream in(file);
    if (!in) {
        file = drains_file_of_before(path).string();
        in.open(file);
    }
    if (!in) return {};
    std::stringstream text;
    text << in.rdbuf();
    const auto document = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) {
        spdlog::warn("operator overrides unreadable file={} note={}", kv(file), kv("starting without them"));
        return {};
    }
    auto overrides = OperatorOverrides::from_json(document);
    for (const auto& [service, per_service] : overrides.all()) {
        for (const auto& [address, o] : per_service) {
            spdlog::info("operator override restored service={} backend={} override={}", kv(service),
                         address.to_string(), kv(o.describe()));
        }
    }
    return overrides;
}

void Daemon::save_overrides(const std::string& path, const OperatorOverrides& overrides) {
    try {
        // A crash leaves the old file or the new one, never half; a link planted in
        // the directory is never followed.
        if (overrides.empty()) {
            common::remove_file(path);
        } else {
            common::replace_file(path, overrides.to_json().dump(2) + "\n", 0640);
        }
        common::remove_file(drains_file_of_before(path).string());  // read at start; the file above replaces it
    } catch (const common::FileReplaceError& e) {
        spdlog::warn("operator overrides not saved file={} error={} note={}", kv(path), kv(e.what()),
                     kv("they hold until julierd restarts"));
    }
}

}  // namespace julier::daemon
