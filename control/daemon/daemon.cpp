#include "daemon/daemon.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "config/parse.h"
#include "daemon/logging.h"
#include "daemon/version.h"
#include "health/targets.h"
#include "neigh/netlink_resolver.h"
#include "web/routes.h"

namespace julier::daemon {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// How often next hops are looked up again: MACs change when a backend is replaced,
// and the kernel only asks the network again for entries someone uses.
constexpr std::chrono::seconds kNeighbourRefresh{10};

dataplane::AttachMode attach_mode(config::XdpMode mode) {
    return mode == config::XdpMode::generic ? dataplane::AttachMode::generic : dataplane::AttachMode::native;
}

// Longest time any checked backend needs for its first verdict once its checks
// start: up to one interval until its first slot, `rise` or `fall` results, the
// last one's timeout, and a second of slack.
std::chrono::milliseconds first_verdict_bound(const config::Catalogue& catalogue) {
    std::chrono::milliseconds bound{0};
    for (const auto& s : catalogue.services) {
        if (s.health.kind == config::HealthKind::none) continue;
        const auto n = std::max(s.health.rise, s.health.fall) + 1;
        bound = std::max(bound, s.health.interval * n + s.health.timeout);
    }
    return bound + std::chrono::seconds(1);
}

std::string interface_names(const config::Catalogue& catalogue) {
    std::string out;
    for (const auto& i : catalogue.interfaces) out += (out.empty() ? "" : ",") + i.name;
    return out;
}

}  // namespace

Daemon::Daemon(Options options, std::function<void()> on_ready)
    : options_(std::move(options)),
      on_ready_(std::move(on_ready)),
      signals_(io_, SIGHUP, SIGTERM, SIGINT),
      watchdog_timer_(io_),
      neighbour_timer_(io_),
      presume_timer_(io_),
      fleet_timer_(io_),
      teardown_timer_(io_),
      interface_timer_(io_),
      census_timer_(io_),
      control_(io_, [this](const protocol::Request& r, const Peer& p) { return handle(r, p); }),
      reconciler_(io_, metrics_, [this](const std::string& reason) { update_announcements(reason); }) {}

Daemon::~Daemon() {
    if (parse_thread_.joinable()) parse_thread_.join();  // its result is not applied
    if (dry_run_thread_.joinable()) dry_run_thread_.join();
    stop_flow_walker();
    reconciler_.stop();
    if (health_) health_->stop();
    control_.close();
    stop_http();
}

int Daemon::run() {
    start();
    io_.run();
    return exit_code_;
}

void Daemon::start() {
    spdlog::info("starting version={} pid={} config={}", kVersion, getpid(), kv(options_.config_file));

    auto parsed = config::parse_catalogue_file(options_.config_file);
    if (parsed.catalogue && options_.pin_dir) parsed.catalogue->pin_dir = *options_.pin_dir;
    for (const auto& d : parsed.diagnostics) {
        if (d.severity == config::Severity::warning) spdlog::warn("config {}", d.to_string());
    }
    if (!parsed.ok()) {
        std::string message =
            fmt::format("{}: the catalogue is invalid ({} errors):", options_.config_file, parsed.errors());
        for (const auto& d : parsed.diagnostics) {
            if (d.severity == config::Severity::error) message += "\n  " + d.to_string();
        }
        throw StartupError(message);
    }
    DesiredState desired{std::move(*parsed.catalogue), {}};

    // The socket first: a second julierd must fail before it touches the forwarder.
    try {
        control_.listen(desired.catalogue.control_socket);
    } catch (const std::exception& e) {
        throw StartupError(e.what());
    }
    const auto overrides_path = overrides_file(desired.catalogue);
    desired.overrides = load_overrides(overrides_path);
    for (const auto& dropped : desired.overrides.reconcile(desired.catalogue)) {
        spdlog::info("operator override dropped service={} backend={} override={} reason={}", kv(dropped.service),
                     dropped.address.to_string(), kv(dropped.override_), kv(dropped.reason));
    }
    save_overrides(overrides_path, desired.overrides);
    reconciler_.set_desired(std::move(desired));

    open_dataplane();
    try {
        start_forwarding();
    } catch (...) {
        undo_fresh_load();
        throw;
    }
}

void Daemon::undo_fresh_load() noexcept {
    // A start that loaded a new forwarder and failed before its first apply leaves
    // nothing behind; an adopted forwarder keeps forwarding, as on any exit.
    if (!dataplane_ || dataplane_->adopted() || reconciler_.applied()) return;
    stop_http();
    metrics_.set_forwarder_reader({});
    const std::string pin_dir = dataplane_->pin_dir();
    try {
        dataplane_->teardown();
        spdlog::info("start failed: removed the forwarder this start loaded pin_dir={}", kv(pin_dir));
    } catch (const std::exception& e) {
        spdlog::warn("start failed: could not remove the forwarder this start loaded error={}", kv(e.what()));
    }
    reconciler_.set_writer({});
    dataplane_.reset();
}

void Daemon::start_forwarding() {
    for (const auto& interface : catalogue().interfaces) attach(interface);
    detach_unlisted_interfaces();
    start_metrics();

    reconciler_.set_resolver(std::make_unique<neigh::NetlinkResolver>());
    reconciler_.resolve_next_hops(plan::backend_addresses(catalogue()), /*wait=*/true);

    try {
        health_ = std::make_unique<health::Manager>(io_);
    } catch (const std::exception& e) {
        throw StartupError(fmt::format("cannot start the health checker: {}", e.what()));
    }
    health_->on_probe_result([&probes = metrics_.probes()](const health::Target& t, const health::Result& r) {
        probes.record_probe({t.service, t.address.to_string(), config::to_string(t.check.kind), r.duration,
                             r.ok ? std::string_view{} : health::to_string(r.failure)});
    });
    health_->on_transition([this](const health::HealthEvent& e) { on_health_transition(e); });
    health_->on_weight(
        [this](const std::string&, const common::IpAddress&, double) { reconciler_.request("slow start"); });
    reconciler_.set_health(health_.get());
    // Before the first plan: it is the one that must keep adopted backends in their rings.
    const auto presume_until = Clock::now() + first_verdict_bound(catalogue());
    reconciler_.presume_until(presume_until);
    try {
        reconciler_.reconcile_now("start");
    } catch (const std::exception& e) {
        throw StartupError(fmt::format("cannot apply the catalogue: {}", e.what()));
    }
    config_generation_ = 1;
    metrics_.lifecycle().config_loaded(config_generation_);
    health_->set_targets(health::health_targets(catalogue()));

    wait_for_signals();
    arm_watchdog();
    arm_neighbour_refresh();
    arm_presume_expiry(presume_until);
    arm_fleet_timer();
    start_netlink_watch();
    arm_interface_check();
    start_flow_walker();

    const auto status =
        fmt::format("forwarding: {} services on {}, dataplane generation {}", catalogue().services.size(),
                    interface_names(catalogue()), dataplane_->generation());
    spdlog::info("ready services={} interfaces={} generation={} adopted={} control_socket={}",
                 catalogue().services.size(), kv(interface_names(catalogue())), dataplane_->generation(),
                 dataplane_->adopted(), kv(control_.path()));
    notifier_.ready(status);
    if (on_ready_) on_ready_();
}

void Daemon::open_dataplane() {
    const config::Catalogue& running = catalogue();
    dataplane::Options options;
    options.pin_dir = running.pin_dir;
    options.limits = dataplane::Limits{running.limits.max_services, running.limits.max_backends,
                                       running.limits.ring_capacity, running.limits.max_flows};
    try {
        dataplane_ = dataplane::Dataplane::open(options);
    } catch (const std::exception& e) {
        throw StartupError(fmt::format("cannot open the forwarder under {}: {}", running.pin_dir, e.what()));
    }
    reconciler_.set_writer([dataplane = dataplane_.get()](const plan::Plan& plan) { return dataplane->apply(plan); });
    if (!dataplane_->adopted()) {
        spdlog::info("dataplane loaded pin_dir={}", kv(running.pin_dir));
        return;
    }

    // Keep the ids the connection table refers to, and note the backends that
    // were in a ring (getting new flows), so the first apply after a restart
    // changes nothing needlessly.
    const auto live = dataplane_->live_state();
    std::set<std::uint32_t> in_ring;
    try {
        for (const auto& service : live.services) {
            for (auto id : dataplane_->read_ring(live.side, service.vip.ring_offset, service.vip.ring_size)) {
                in_ring.insert(id);
            }
        }
    } catch (const std::exception& e) {
        // Only an optimisation is lost: backends then wait for their verdicts.
        spdlog::warn("live rings unreadable error={}", kv(e.what()));
        in_ring.clear();
    }
    std::map<plan::ServiceKey, std::string> checked;  // services with a health check, by key
    for (const auto& s : running.services) {
        if (s.health.kind == config::HealthKind::none) continue;  // usable without a verdict anyway
        checked[plan::ServiceKey{s.vip, s.port, config::ip_protocol_number(s.protocol)}] = s.name;
    }
    auto ids = dataplane_->live_ids();
    std::set<std::pair<std::string, common::IpAddress>> presumed_up;
    for (const auto& [key, id] : ids.backends()) {
        auto name = checked.find(key.service);
        if (name != checked.end() && in_ring.count(id) != 0) presumed_up.emplace(name->second, key.address);
    }
    spdlog::info("dataplane adopted pin_dir={} generation={} services={} backends_presumed_up={}", kv(running.pin_dir),
                 live.generation, live.services.size(), presumed_up.size());
    reconciler_.adopt(std::move(ids), std::move(presumed_up));
}

void Daemon::attach(const config::Interface& interface) {
    try {
        dataplane_->attach(interface.name, attach_mode(interface.xdp_mode));
    } catch (const std::exception& e) {
        throw StartupError(fmt::format("{}: cannot attach to interface {}: {}", interface.location.to_string(),
                                       interface.name, e.what()));
    }
    spdlog::info("attached interface={} mode={}", kv(interface.name), config::to_string(interface.xdp_mode));
    record_interface(interface.name, true, "attached at start", false);
}

void Daemon::detach_unlisted_interfaces() {
    // An adopted forwarder may still run where an earlier catalogue put it.
    for (const auto& name : dataplane_->attached_interfaces()) {
        const bool listed = std::any_of(catalogue().interfaces.begin(), catalogue().interfaces.end(),
                                        [&](const config::Interface& i) { return i.name == name; });
        if (listed) continue;
        try {
            dataplane_->detach(name);
            spdlog::info("detached interface={} reason={}", kv(name), kv("not in the catalogue"));
        } catch (const std::exception& e) {
            spdlog::error("detach failed interface={} error={}", kv(name), kv(e.what()));
        }
    }
}

void Daemon::start_metrics() {
    // Scrapes, the status page and its JSON run on the loop, as the control socket's
    // commands do: each reads the forwarder's counters once (see docs/metrics.md
    // for what that costs).
    metrics_.set_forwarder_reader([dp = dataplane_.get()] {
        return metrics::ForwarderReading{dp->read_counters(), dp->generation()};
    });
    const auto& settings = catalogue().metrics;
    if (!settings.enabled) return;
    site_ = std::make_unique<web::Site>(web::Sources{
        [this] { return metrics_.render(); },
        [this] { return status(); },
        [this] { return service_views(); },
        [this] { return backend_views(); },
    });
    try {
        // A scrape reads and formats every series (seconds for tens of thousands of
        // backends): it runs on the server's worker, not on the loop; Metrics is
        // thread-safe. The page and the JSON read the daemon's state: on the loop.
        http_ = std::make_unique<web::HttpServer>(
            io_, settings.listen(), [site = site_.get()](const web::Request& r) { return site->answer(r); },
            web::Limits{},
            [](const std::string& target) { return web::route("GET", target).route == web::Route::metrics; });
    } catch (const std::exception& e) {
        site_.reset();
        throw StartupError(fmt::format("{}: metrics: {}", settings.location.to_string(), e.what()));
    }
    spdlog::info("metrics listen={} status_page={}", kv(http_->listen()),
                 kv(fmt::format("http://{}/", http_->listen())));
}

void Daemon::stop_http() {
    http_.reset();
    site_.reset();
}

void Daemon::wait_for_signals() {
    signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        if (signo == SIGHUP) {
            reload("SIGHUP", {});
            wait_for_signals();
            return;
        }
        shutdown(signo == SIGTERM ? "SIGTERM" : "SIGINT");
    });
}

void Daemon::arm_watchdog() {
    const auto interval = notifier_.watchdog_interval();
    if (!interval) return;
    notifier_.watchdog();
    watchdog_timer_.expires_after(*interval);
    watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) arm_watchdog();
    });
}

void Daemon::arm_neighbour_refresh() {
    neighbour_timer_.expires_after(kNeighbourRefresh);
    neighbour_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_ || torn_down_) return;
        refresh_next_hops(std::make_shared<const std::vector<common::IpAddress>>(plan::backend_addresses(catalogue())),
                          0, false);
    });
}

void Daemon::refresh_next_hops(std::shared_ptr<const std::vector<common::IpAddress>> addresses, std::size_t from,
                               bool changed) {
    // A few hundred lookups per turn: with thousands of backends one pass would
    // hold the loop (control socket, probes) for a noticeable time.
    constexpr std::size_t kSlice = 256;
    if (stopping_ || torn_down_) return;
    const std::size_t to = std::min(addresses->size(), from + kSlice);
    const std::vector<common::IpAddress> slice(addresses->begin() + static_cast<std::ptrdiff_t>(from),
                                               addresses->begin() + static_cast<std::ptrdiff_t>(to));
    changed = reconciler_.resolve_next_hops(slice, /*wait=*/false) || changed;
    if (to < addresses->size()) {
        asio::post(io_, [this, addresses, to, changed] { refresh_next_hops(addresses, to, changed); });
        return;
    }
    if (changed) reconciler_.request("next hop changed");
    arm_neighbour_refresh();
}

void Daemon::arm_presume_expiry(Clock::time_point until) {
    if (reconciler_.presumed_up() == 0) return;
    presume_timer_.expires_at(until);
    presume_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_ || reconciler_.presumed_up() == 0) return;
        spdlog::warn("health verdicts overdue backends={} note={}", reconciler_.presumed_up(),
                     kv("backends presumed up since the restart now count as their checks say"));
        reconciler_.end_presumption();
        reconciler_.request("first health verdicts overdue");
    });
}

void Daemon::on_health_transition(const health::HealthEvent& t) {
    const auto log = t.to == health::State::down ? spdlog::level::warn : spdlog::level::info;
    spdlog::log(log, "health service={} backend={} from={} to={} reason={}", kv(t.service), t.address.to_string(),
                health::to_string(t.from), health::to_string(t.to), kv(t.reason));
    reconciler_.verdict_arrived(t.service, t.address);
    if (t.to == health::State::up) {
        // The probe's own traffic made the kernel learn the backend's MAC.
        const auto& hops = reconciler_.next_hops();
        auto hop = hops.find(t.address);
        if (hop != hops.end() && !hop->second.ok()) reconciler_.resolve_next_hops({t.address}, /*wait=*/false);
    }
    reconciler_.request(fmt::format("health {} {} {}", t.service, t.address.to_string(), health::to_string(t.to)));
}

void Daemon::shutdown(std::string why) {
    if (stopping_) return;
    stopping_ = true;
    if (torn_down_) {
        spdlog::info("stopping reason={}", kv(why));
        notifier_.stopping("stopping after teardown");
    } else {
        spdlog::info("stopping reason={} generation={} note={}", kv(why), dataplane_ ? dataplane_->generation() : 0,
                     kv("the forwarder keeps forwarding with the last applied state"));
        notifier_.stopping("stopping; the forwarder keeps the last applied state");
    }
    reconciler_.stop();
    if (health_) health_->stop();
    if (!torn_down_ && catalogue().bgp && catalogue().bgp->withdraw_on_stop) withdraw_announcements(why);
    control_.close();
    stop_http();
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    watchdog_timer_.cancel();
    neighbour_timer_.cancel();
    presume_timer_.cancel();
    fleet_timer_.cancel();
    teardown_timer_.cancel();
    interface_timer_.cancel();
    stop_flow_walker();
    if (netlink_) netlink_->stop();
    io_.stop();
}

}  // namespace julier::daemon
