// julierd's wiring: signals, the control socket, the HTTP server (metrics and the
// status page), timers and notifications, on one Boost.Asio io_context. What to forward and the last applied plan
// belong to the Reconciler (reconciler.h), whose worker thread is the only other thread; the daemon tells it what
// changed and asks it to reconcile.
//
//   start:   parse -> control socket -> open dataplane (adopt pins) -> attach ->
//            resolve next hops -> plan -> apply -> health checks -> READY=1
//   SIGHUP / `reload`: re-read, validate, plan, apply as one diff; an invalid file
//            changes nothing and is reported in `status`
//   health transition, slow-start step, operator override, next-hop change:
//            a reconcile (plan, compare, apply) at once
//   link and neighbour notifications (rtnetlink), and a periodic check: re-attach
//            the forwarder to an interface that came back, follow a changed MAC
//   SIGTERM / SIGINT: exit and leave the last applied state forwarding (no detach,
//            no unpin); `teardown`: detach, unpin, exit
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/catalogue.h"
#include "config/parse.h"
#include "daemon/control_server.h"
#include "daemon/flow_walker.h"
#include "daemon/netlink_watch.h"
#include "daemon/notifier.h"
#include "daemon/operator_overrides.h"
#include "daemon/options.h"
#include "daemon/protocol.h"
#include "daemon/reconciler.h"
#include "daemon/views.h"
#include "dataplane/dataplane.h"
#include "fleet/announce.h"
#include "fleet/bird_client.h"
#include "fleet/bird_control.h"
#include "fleet/bird_reply.h"
#include "health/manager.h"
#include "metrics/metrics.h"
#include "neigh/resolver.h"
#include "plan/diff.h"
#include "plan/plan.h"
#include "web/http_server.h"
#include "web/site.h"

namespace julier::daemon {

// Start-up failed; the message is complete (diagnostics, file:line:col).
class StartupError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Daemon {
public:
    // `on_ready` runs once forwarding is up (e.g. to let a waiting parent exit).
    Daemon(Options options, std::function<void()> on_ready);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    // Starts (throws StartupError) and runs the loop until asked to stop.
    // Returns the process exit code.
    int run();

private:
    struct ReloadReport {
        bool ok = false;
        std::vector<std::string> errors;
        std::vector<std::string> warnings;
        std::vector<plan::Change> changes;  // running -> new (a dry run: what would change)
    };

    // start-up (daemon.cpp)
    void start();
    void open_dataplane();
    // Everything of start() after the dataplane is open, up to ready.
    void start_forwarding();
    // On a failed start: unload and unpin a forwarder this start loaded itself.
    void undo_fresh_load() noexcept;
    void attach(const config::Interface& interface);
    void detach_unlisted_interfaces();
    void start_metrics();
    void stop_http();

    // the loop (daemon.cpp)
    void wait_for_signals();
    void arm_watchdog();
    void arm_neighbour_refresh();
    void arm_presume_expiry(std::chrono::steady_clock::time_point until);
    // The periodic next-hop refresh, a slice of addresses per turn of the loop.
    void refresh_next_hops(std::shared_ptr<const std::vector<common::IpAddress>> addresses, std::size_t from,
                           bool changed);
    void on_health_transition(const health::HealthEvent& event);

    // interfaces and neighbours (link_events.cpp)
    void start_netlink_watch();
    void arm_interface_check();
    void request_interface_check(std::string reason);
    // Re-attaches the forwarder where an interface of the catalogue lost it (deleted
    // and created again), records each interface's state for status and metrics.
    void check_interfaces(const std::string& reason);
    void on_netlink(const neigh::NetlinkEvents& events, bool lost);
    void record_interface(const std::string& name, bool attached, std::string note, bool reattached);
    void shutdown(std::string why);

    const config::Catalogue& catalogue() const { return reconciler_.desired().catalogue; }

    // BGP announcements through BIRD (announce_run.cpp)
    // Re-evaluates which VIPs to announce; rewrites BIRD's include file and asks
    // BIRD to reconfigure when that changed (or the last attempt failed).
    void update_announcements(const std::string& reason);
    void note_bird_failure(const std::string& error);
    void arm_fleet_timer();
    // Withdraws every VIP (teardown; a clean stop with withdraw_on_stop).
    void withdraw_announcements(const std::string& why);
    void read_bgp_sessions();
    void publish_fleet_metrics();
    void fill_fleet_status(protocol::Status& s) const;

    // reload (reload_run.cpp)
    using ReloadDone = std::function<void(ReloadReport)>;
    // Reads and checks the file on a thread of its own, so the loop (health
    // checks, the control socket, the watchdog) runs on meanwhile; then applies it
    // on the loop and calls `done` with the verdict. A request during a reload
    // waits for one more run after it, which reads the file again.
    void reload(const std::string& trigger, ReloadDone done);
    void start_reload();
    void finish_reload(config::ParseResult parsed);
    ReloadReport apply_reload(config::ParseResult parsed, const std::string& trigger);
    // `reload` with dry_run: reads `file` on a thread of its own, plans it against
    // the running state on the loop and calls `done` with what would change;
    // applies, writes and counts nothing. One at a time.
    void dry_run(const std::string& file, ReloadDone done);
    ReloadReport plan_dry_run(config::ParseResult parsed, const std::string& file);
    // The VIPs in BIRD's table now (none without bgp).
    std::vector<common::IpAddress> announced_vips() const;

    // control socket commands (commands.cpp)
    Reply handle(const protocol::Request& request, const Peer& peer);
    // The answers of status, services and backends, for the control socket and the
    // HTTP server alike.
    protocol::Status status() const;
    std::vector<protocol::ServiceInfo> service_views() const;
    std::vector<protocol::BackendInfo> backend_views(const std::optional<std::string>& only = std::nullopt) const;
    // drain, undrain, weight, maint and ready: one operator override each
    Reply override_backend(const protocol::Request& request, const Peer& peer);
    // Withdraws every VIP, waits the grace (forwarding as before), then detaches.
    Reply teardown(const protocol::Request& request, const Peer& peer);
    Reply finish_teardown();

    // the connection table: flows, which, purge, the census (flows_run.cpp)
    void start_flow_walker();
    void stop_flow_walker();
    void arm_flow_census(std::chrono::seconds after);
    void run_flow_census();
    Reply flows(const protocol::Request& request);
    Reply which(const protocol::Request& request);
    Reply purge(const protocol::Request& request, const Peer& peer);

    // operator overrides on disk, next to the control socket (commands.cpp)
    static std::string overrides_file(const config::Catalogue& catalogue);
    static OperatorOverrides load_overrides(const std::string& file);
    static void save_overrides(const std::string& file, const OperatorOverrides& overrides);

    Options options_;
    std::function<void()> on_ready_;
    boost::asio::io_context io_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer watchdog_timer_;
    boost::asio::steady_timer neighbour_timer_;
    boost::asio::steady_timer presume_timer_;
    boost::asio::steady_timer fleet_timer_;
    boost::asio::steady_timer teardown_timer_;  // the grace between withdrawal and detaching
    boost::asio::steady_timer interface_timer_;
    boost::asio::steady_timer census_timer_;
    Notifier notifier_;
    ControlServer control_;
    std::unique_ptr<health::Manager> health_;
    std::unique_ptr<NetlinkWatch> netlink_;
    std::unique_ptr<dataplane::Dataplane> dataplane_;
    // After dataplane_: destroyed first, so no scrape reads a closed forwarder.
    metrics::Metrics metrics_;
    // /metrics (on the server's worker) and the status page (web/, on the loop);
    // after metrics_: closed, and its worker joined, first.
    std::unique_ptr<web::Site> site_;
    std::unique_ptr<web::HttpServer> http_;
    // After dataplane_ and metrics_: its worker is joined before they go.
    Reconciler reconciler_;
    // After dataplane_ and metrics_: its walk is stopped and joined before they go.
    std::unique_ptr<FlowWalker> flow_walker_;
    bool census_running_ = false;  // a census is queued or walking

    fleet::Announcer announcer_;
    // The include file, and the withdrawal at teardown or stop (bounded, blocking).
    std::unique_ptr<fleet::BirdControl> bird_;
    // configure and show protocols on the loop, never blocking it; one of each at a time.
    std::unique_ptr<fleet::BirdClient> bird_client_;
    bool bird_configuring_ = false;
    bool bird_reading_ = false;
    std::optional<config::Bgp> bird_bgp_;  // the bgp section bird_ last wrote for
    std::string bird_written_;             // the include text BIRD last accepted; empty: must write
    std::string bird_error_;               // the last failure talking to BIRD
    std::vector<fleet::ProtocolRow> bird_protocols_;

    // Reloads: the one running (its trigger and who waits for it), the next one.
    struct PendingReload {
        std::string trigger;
        std::vector<ReloadDone> waiting;
    };
    std::optional<PendingReload> reload_running_;
    std::optional<PendingReload> reload_next_;
    std::thread parse_thread_;    // joined on the loop when its result arrives, or at the end
    std::thread dry_run_thread_;  // the same, for a dry run
    bool dry_run_running_ = false;

    std::uint64_t config_generation_ = 0;
    std::uint64_t reload_failures_ = 0;
    protocol::LastReload last_reload_{"none", 0, {}};
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::map<std::string, protocol::InterfaceState> interface_states_;  // by name
    bool interface_check_pending_ = false;
    std::set<common::IpAddress> neighbours_changed_;  // backends or gateways to look up again
    bool stopping_ = false;
    bool torn_down_ = false;  // teardown ran: no forwarder left to apply to
    // Teardown withdrew the VIPs and waits out its grace: nothing is announced,
    // reloaded or steered any more; status still answers.
    bool tearing_down_ = false;
    int exit_code_ = 0;
};

}  // namespace julier::daemon
