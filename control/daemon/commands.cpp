// Daemon: the control-socket commands, and the operator drains kept on disk.
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

}  // namespace

Reply Daemon::handle(const protocol::Request& request, const Peer& peer) {
    using protocol::Command;
    if (stopping_ || torn_down_) return Reply{protocol::failure("julierd is stopping"), {}};

    switch (request.command) {
        case Command::status: return Reply{protocol::success(status()), {}};

        case Command::services: {
            const auto counters = dataplane_->read_counters();
            return Reply{protocol::success(service_infos(catalogue_, plan_, &counters)), {}};
        }

        case Command::backends: {
            std::optional<std::string> only;
            if (!request.service.empty()) {
                if (plan_.find(request.service) == nullptr) {
                    return Reply{protocol::failure(fmt::format("no service '{}'", request.service)), {}};
                }
                only = request.service;
            }
            const auto counters = dataplane_->read_counters();
            HealthReasons reasons;
            for (const auto& service : catalogue_.services) {
                for (const auto& backend : service.backends) {
                    auto reason = health_->view(service.name, backend.address).reason;
                    if (!reason.empty()) reasons[service.name][backend.address] = std::move(reason);
                }
            }
            return Reply{protocol::success(backend_infos(plan_, runtime_for(catalogue_, drains_), reasons,
                                                         &counters, only)),
                         {}};
        }

        case Command::drain: return drain(request, config::BackendState::drain, peer);
        case Command::undrain: return drain(request, config::BackendState::active, peer);

        case Command::reload: {
            spdlog::info("control command=reload {}", peer_text(peer));
            auto report = reload("control socket");
            if (!report.ok) {
                return Reply{protocol::failure("reload failed; nothing changed", std::move(report.errors)),
                             {}};
            }
            protocol::ReloadResult result{config_generation_, dataplane_->generation(),
                                          std::move(report.warnings)};
            return Reply{protocol::success(result), {}};
        }

        case Command::teardown: return teardown(peer);
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
    s.pin_dir = catalogue_.pin_dir;
    for (const auto& i : catalogue_.interfaces) {
        s.interfaces.push_back(i.name);
        auto state = interface_states_.find(i.name);
        s.interface_states.push_back(state != interface_states_.end() ? state->second
                                                                       : protocol::InterfaceState{i.name, true, 0, ""});
    }
    s.services = catalogue_.services.size();
    for (const auto& service : catalogue_.services) s.backends += service.backends.size();
    s.adopted = dataplane_->adopted();
    fill_fleet_status(s);
    return s;
}

Reply Daemon::drain(const protocol::Request& request, config::BackendState desired, const Peer& peer) {
    const char* verb = desired == config::BackendState::drain ? "drain" : "undrain";
    const OperatorDrains before = drains_;
    const auto change = drains_.set(catalogue_, request.service, request.backend, desired);
    if (!change.error.empty()) return Reply{protocol::failure(change.error), {}};

    if (drains_ != before) {
        try {
            plan_ = plan_and_apply(catalogue_, drains_, verb);
            applied_ = true;
            update_announcements(verb);
        } catch (const std::exception& e) {
            drains_ = before;
            spdlog::error("control command={} service={} backend={} error={}", verb, kv(request.service),
                          kv(request.backend), kv(e.what()));
            return Reply{protocol::failure(fmt::format("{} not applied: {}", verb, e.what())), {}};
        }
        save_drains();
    }
    spdlog::info("control command={} service={} backend={} changed={} {}", verb, kv(request.service),
                 kv(request.backend), change.changed, peer_text(peer));

    protocol::DrainResult result;
    result.changed = change.changed;
    const auto address = common::IpAddress::parse(request.backend);
    const auto counters = dataplane_->read_counters();
    for (auto& info :
         backend_infos(plan_, runtime_for(catalogue_, drains_), {}, &counters, request.service)) {
        if (address && info.address == address->to_string()) result.backend = std::move(info);
    }
    return Reply{protocol::success(result), {}};
}

Reply Daemon::teardown(const Peer& peer) {
    wait_for_background_apply();
    spdlog::warn("control command=teardown {} note={}", peer_text(peer),
                 kv("detaching the forwarder and removing its pins"));
    // The routes go first: routers stop sending here before the forwarder goes.
    withdraw_announcements("teardown");
    // From here on nothing may plan, apply or read the forwarder: no health
    // checks, no scrapes, no commands; the daemon exits after answering.
    torn_down_ = true;
    if (health_) health_->stop();
    metrics_http_.reset();
    metrics_.set_forwarder_reader({});

    protocol::TeardownResult result;
    result.pin_dir = catalogue_.pin_dir;
    try {
        result.detached = dataplane_->attached_interfaces();
        dataplane_->teardown();
    } catch (const std::exception& e) {
        // The forwarder may be half torn down; exit anyway, saying what is left.
        spdlog::error("teardown failed error={}", kv(e.what()));
        return Reply{protocol::failure(
                         fmt::format("teardown failed: {}", e.what()),
                         {fmt::format("check `ip link` for XDP programs and {} for pins", result.pin_dir)}),
                     [this] {
                         exit_code_ = 1;
                         shutdown("teardown failed");
                     }};
    }
    dataplane_.reset();
    std::error_code ignored;
    std::filesystem::remove(drains_file(), ignored);  // nothing left to drain
    spdlog::info("teardown done detached={} pin_dir={}", result.detached.size(), kv(result.pin_dir));
    return Reply{protocol::success(result), [this] { shutdown("teardown"); }};
}

std::string Daemon::drains_file() const {
    // Next to the control socket, in /run by default: it lives exactly as long as
    // the pinned forwarder can (until reboot), and survives a daemon restart.
    const auto dir = std::filesystem::path(catalogue_.control_socket).parent_path();
    return (dir / "operator-drains.json").string();
}

void Daemon::load_drains() {
    std::ifstream in(drains_file());
    if (!in) return;
    std::stringstream text;
    text << in.rdbuf();
    const auto document = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) {
        spdlog::warn("operator drains unreadable file={} note={}", kv(drains_file()),
                     kv("starting without them"));
        return;
    }
    drains_ = OperatorDrains::from_json(document);
    for (const auto& [service, per_service] : drains_.all()) {
        for (const auto& [address, o] : per_service) {
            spdlog::info("operator override restored service={} backend={} state={}", kv(service),
                         address.to_string(), config::to_string(o.state));
        }
    }
}

void Daemon::save_drains() const {
    const auto path = drains_file();
    try {
        // A crash leaves the old file or the new one, never half; a link planted in
        // the directory is never followed.
        if (drains_.empty()) {
            common::remove_file(path);
        } else {
            common::replace_file(path, drains_.to_json().dump(2) + "\n", 0640);
        }
    } catch (const common::FileReplaceError& e) {
        spdlog::warn("operator drains not saved file={} error={} note={}", kv(path), kv(e.what()),
                     kv("they hold until julierd restarts"));
    }
}

}  // namespace julier::daemon
