// Daemon: which VIPs BIRD announces. The decision is fleet::Announcer's (pure);
// this file moves it to BIRD's include file and control socket, and reads the BGP
// sessions back for status and metrics.
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "fleet/bird_config.h"

namespace julier::daemon {
namespace {

using Clock = std::chrono::steady_clock;
// Hold-downs end and BGP sessions change between health events: look every second.
constexpr std::chrono::seconds kFleetTick{1};

}  // namespace

void Daemon::update_announcements(const std::string& reason) {
    if (tearing_down_) return;  // withdrawn for good: the forwarder goes when the grace ends
    if (!catalogue().bgp) {
        if (bird_) withdraw_announcements("bgp section removed");
        bird_client_.reset();
        bird_.reset();
        bird_bgp_.reset();
        announcer_ = fleet::Announcer{};
        publish_fleet_metrics();
        return;
    }
    const auto& bgp = *catalogue().bgp;
    if (!bird_ || bird_->include_path() != bgp.bird_include || bird_->socket_path() != bgp.bird_socket) {
        // The old file would keep announcing through the old BIRD: empty it first.
        if (bird_) withdraw_announcements("bird_include or bird_socket changed");
        announcer_ = fleet::Announcer{};  // the new BIRD announces what is healthy now, without hold-down
        bird_client_.reset();             // answers of the old BIRD are dropped
        bird_configuring_ = bird_reading_ = false;
        bird_ = std::make_unique<fleet::BirdControl>(bgp.bird_include, bgp.bird_socket);
        bird_client_ = std::make_unique<fleet::BirdClient>(io_, bgp.bird_socket);
        bird_written_.clear();
    }
    bird_bgp_ = bgp;
    const auto before = announcer_.all();
    announcer_.update(fleet::vip_health(catalogue(), reconciler_.plan()), Clock::now(), bgp.hold_down);
    for (const auto& [vip, a] : announcer_.all()) {
        auto old = before.find(vip);
        const auto from = old == before.end() ? std::string_view("none") : fleet::to_string(old->second.state);
        if (old != before.end() && old->second.state == a.state) continue;
        const auto level = a.state == fleet::VipState::withdrawn ? spdlog::level::warn : spdlog::level::info;
        spdlog::log(level, "announcement vip={} from={} to={} usable={} needed={} reason={}", vip.to_string(), from,
                    fleet::to_string(a.state), a.health.usable, a.health.needed, kv(reason));
    }
    publish_fleet_metrics();

    const auto text = fleet::render_bird_include(bgp, announcer_.announced());
    // One configure at a time: a change made meanwhile is written by the next tick.
    if (text == bird_written_ || bird_configuring_) return;
    try {
        bird_->write_include(text);
    } catch (const std::exception& e) {
        note_bird_failure(e.what());
        return;
    }
    bird_configuring_ = true;
    const auto announced = announcer_.announced().size();
    bird_client_->command("configure",
                          [this, text, announced, reason](std::vector<fleet::ReplyLine>, std::string error) {
                              bird_configuring_ = false;
                              if (!error.empty()) return note_bird_failure(error);
                              bird_written_ = text;
                              if (!bird_error_.empty())
                                  spdlog::info("bird reachable again socket={}", kv(bird_client_->socket_path()));
                              bird_error_.clear();
                              spdlog::info("bird reconfigured announced={} include={} reason={}", announced,
                                           kv(bird_->include_path()), kv(reason));
                          });
}

void Daemon::note_bird_failure(const std::string& error) {
    // Retried every tick; logged when the failure changes.
    if (bird_error_ != error)
        spdlog::error("bird update failed error={} note={}", kv(error), kv("retrying every second"));
    bird_error_ = error;
}

void Daemon::withdraw_announcements(const std::string& why) {
    if (!bird_ || !bird_bgp_) return;
    announcer_.withdraw_all(Clock::now());
    publish_fleet_metrics();
    try {
        // The sessions stay (as last configured): only the routes go.
        bird_->write_include(fleet::render_bird_include(*bird_bgp_, {}));
        bird_->reconfigure();
        bird_written_.clear();
        spdlog::info("announcements withdrawn reason={}", kv(why));
    } catch (const std::exception& e) {
        spdlog::error("withdrawing announcements failed reason={} error={} note={}", kv(why), kv(e.what()),
                      kv("the BGP hold timer withdraws them once BIRD stops"));
    }
}

void Daemon::arm_fleet_timer() {
    fleet_timer_.expires_after(kFleetTick);
    fleet_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_ || torn_down_) return;
        update_announcements("tick");
        read_bgp_sessions();
        arm_fleet_timer();
    });
}

void Daemon::read_bgp_sessions() {
    if (!bird_client_ || bird_reading_) return;
    bird_reading_ = true;
    bird_client_->command("show protocols", [this](std::vector<fleet::ReplyLine> lines, std::string error) {
        bird_reading_ = false;
        if (error.empty()) {
            bird_protocols_ = fleet::parse_protocols(lines);
        } else {
            bird_protocols_.clear();
            if (bird_error_ != error) spdlog::error("bird unreadable error={}", kv(error));
            bird_error_ = error;
            bird_written_.clear();  // BIRD may have restarted without our routes: write again
        }
        publish_fleet_metrics();
    });
}

void Daemon::publish_fleet_metrics() {
    std::vector<metrics::VipAnnouncement> vips;
    for (const auto& [vip, a] : announcer_.all())
        vips.push_back({vip.to_string(), a.state == fleet::VipState::announced});
    metrics_.fleet().set_announcements(std::move(vips));
    std::vector<metrics::BgpSession> sessions;
    protocol::Status s;
    fill_fleet_status(s);
    for (const auto& b : s.bgp_sessions)
        sessions.push_back({b.neighbour, b.protocol, b.state.starts_with("Established")});
    metrics_.fleet().set_sessions(std::move(sessions));
}

void Daemon::fill_fleet_status(protocol::Status& s) const {
    if (!catalogue().bgp) return;
    s.bgp = true;
    s.bird_error = bird_error_;
    const auto now = Clock::now();
    for (const auto& [vip, a] : announcer_.all()) {
        protocol::AnnouncementInfo info;
        info.vip = vip.to_string();
        info.state = std::string(fleet::to_string(a.state));
        info.usable = a.health.usable;
        info.needed = a.health.needed;
        info.services = a.health.services;
        info.seconds_in_state = std::chrono::duration_cast<std::chrono::seconds>(now - a.since).count();
        if (a.state == fleet::VipState::hold_down)
            info.announce_in_seconds = std::max<std::int64_t>(
                0, std::chrono::duration_cast<std::chrono::seconds>(a.announce_at - now).count());
        s.announcements.push_back(std::move(info));
    }
    const auto& neighbours = catalogue().bgp->neighbours;
    for (std::size_t i = 0; i < neighbours.size(); ++i) {
        protocol::BgpSessionInfo info;
        info.protocol = fleet::neighbour_protocol(i);
        info.neighbour = neighbours[i].address.to_string();
        info.state = "unknown";
        for (const auto& row : bird_protocols_) {
            if (row.name == info.protocol) info.state = row.info.empty() ? row.state : row.info;
        }
        s.bgp_sessions.push_back(std::move(info));
    }
}

}  // namespace julier::daemon
