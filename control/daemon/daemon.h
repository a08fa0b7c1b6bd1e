// julierd's core: wires the catalogue, health results and operator commands to
// plan + apply, on one Boost.Asio io_context. The only other thread is the
// background apply (background_apply.cpp), which works on copies.
//
//   start:   parse -> control socket -> open dataplane (adopt pins) -> attach ->
//            resolve next hops -> plan -> apply -> health checks -> READY=1
//   SIGHUP / `reload`: re-read, validate, plan, apply as one diff; an invalid file
//            changes nothing and is reported in `status`
//   health transition, slow-start step, operator drain, next-hop change:
//            re-plan and apply at once
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
#include "daemon/control_server.h"
#include "daemon/health_link.h"
#include "daemon/netlink_watch.h"
#include "daemon/notifier.h"
#include "daemon/operator_drains.h"
#include "daemon/options.h"
#include "daemon/protocol.h"
#include "daemon/views.h"
#include "dataplane/dataplane.h"
#include "fleet/announce.h"
#include "fleet/bird_control.h"
#include "fleet/bird_reply.h"
#include "metrics/http_endpoint.h"
#include "metrics/metrics.h"
#include "neigh/resolver.h"
#include "plan/plan.h"

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

    // the loop (daemon.cpp)
    void wait_for_signals();
    void arm_watchdog();
    void arm_neighbour_refresh();
    void arm_presume_expiry();
    void request_replan(std::string reason);

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

    // plan + apply (apply.cpp)
    struct ApplyTiming {
        std::chrono::steady_clock::duration plan{};   // make_plan
        std::chrono::steady_clock::duration write{};  // Dataplane::apply
    };
    plan::RuntimeState runtime_for(const config::Catalogue& catalogue, const OperatorDrains& drains) const;
    // Plans `catalogue` and applies it when the plan differs from the live one.
    // Throws plan::PlanError / dataplane::DataplaneError; nothing is committed then.
    plan::Plan plan_and_apply(const config::Catalogue& catalogue, const OperatorDrains& drains,
                              const std::string& reason);
    // Publishes the metrics' labels and logs what changed from `previous` to `next`;
    // touches no daemon state but the (thread-safe) metrics, so the background
    // apply calls it from its thread.
    void report_applied(const config::Catalogue& catalogue, const plan::RuntimeState& runtime,
                        const plan::Plan& previous, const plan::Plan& next,
                        const std::optional<dataplane::ApplyResult>& applied, const std::string& reason,
                        const ApplyTiming& timing);
    // Plans and applies the running catalogue on a worker thread, so the loop keeps
    // answering the control socket and the health checks while a large plan is built
    // and written (background_apply.cpp). A request while one runs is folded into
    // one more run after it.
    void replan(const std::string& reason);
    void finish_background_apply(std::uint64_t job);
    // Blocks until a running background apply is done and commits it; the
    // synchronous paths (start, reload, drain, teardown, attach) call it first.
    void wait_for_background_apply();
    // Updates next_hops_ for every backend address of `catalogue` (others are kept).
    // Both return whether a next hop changed.
    bool resolve_next_hops(const config::Catalogue& catalogue, bool wait);
    bool resolve_next_hops(const std::vector<common::IpAddress>& addresses, bool wait);
    // The periodic refresh, a slice of addresses per turn of the loop.
    void refresh_next_hops(std::shared_ptr<const std::vector<common::IpAddress>> addresses, std::size_t from,
                           bool changed);
    void forget_next_hops_outside(const config::Catalogue& catalogue);
    void on_health_transition(const HealthTransition& transition);

    // BGP announcements through BIRD (announce_run.cpp)
    // Re-evaluates which VIPs to announce; rewrites BIRD's include file and asks
    // BIRD to reconfigure when that changed (or the last attempt failed).
    void update_announcements(const std::string& reason);
    void arm_fleet_timer();
    // Withdraws every VIP (teardown; a clean stop with withdraw_on_stop).
    void withdraw_announcements(const std::string& why);
    void read_bgp_sessions();
    void publish_fleet_metrics();
    void fill_fleet_status(protocol::Status& s) const;

    // reload (reload_run.cpp)
    ReloadReport reload(const std::string& trigger);

    // control socket commands (commands.cpp)
    Reply handle(const protocol::Request& request, const Peer& peer);
    protocol::Status status() const;
    Reply drain(const protocol::Request& request, config::BackendState desired, const Peer& peer);
    Reply teardown(const Peer& peer);

    // operator drains on disk (commands.cpp)
    std::string drains_file() const;
    void load_drains();
    void save_drains() const;

    Options options_;
    std::function<void()> on_ready_;
    boost::asio::io_context io_;
    boost::asio::signal_set signals_;
    boost::asio::steady_timer watchdog_timer_;
    boost::asio::steady_timer neighbour_timer_;
    boost::asio::steady_timer presume_timer_;
    boost::asio::steady_timer fleet_timer_;
    boost::asio::steady_timer interface_timer_;
    Notifier notifier_;
    ControlServer control_;
    std::unique_ptr<HealthLink> health_;
    std::unique_ptr<neigh::Resolver> resolver_;
    std::unique_ptr<NetlinkWatch> netlink_;
    std::unique_ptr<dataplane::Dataplane> dataplane_;
    // After dataplane_: destroyed first, so no scrape reads a closed forwarder.
    metrics::Metrics metrics_;
    std::unique_ptr<metrics::HttpEndpoint> metrics_http_;

    config::Catalogue catalogue_;  // running
    plan::Plan plan_;              // last applied
    bool applied_ = false;         // plan_ is live
    OperatorDrains drains_;
    std::map<common::IpAddress, neigh::Resolution> next_hops_;
    // After adopting pins: backends in the live forwarder's rings, presumed up
    // until their first health verdict or `presume_until_`, so a restart does not
    // empty the rings while the checks gather their first `rise` results.
    std::set<std::pair<std::string, common::IpAddress>> presumed_up_;
    std::chrono::steady_clock::time_point presume_until_{};

    fleet::Announcer announcer_;
    std::unique_ptr<fleet::BirdControl> bird_;
    std::optional<config::Bgp> bird_bgp_;  // the bgp section bird_ last wrote for
    std::string bird_written_;  // the include text BIRD last accepted; empty: must write
    std::string bird_error_;    // the last failure talking to BIRD
    std::vector<fleet::ProtocolRow> bird_protocols_;

    std::uint64_t config_generation_ = 0;
    std::uint64_t reload_failures_ = 0;
    protocol::LastReload last_reload_{"none", 0, {}};
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    bool replan_pending_ = false;
    struct ApplyJob {
        std::uint64_t id = 0;
        std::string reason;
        // Inputs, copied from the loop's state when the job starts.
        config::Catalogue catalogue;
        plan::RuntimeState runtime;
        plan::IdAllocator ids;
        std::optional<plan::Plan> current;  // the live plan, when one was applied
        // Outputs, read by the loop once the thread is joined.
        std::optional<plan::Plan> next;
        std::optional<dataplane::ApplyResult> result;  // unset: plan unchanged, nothing written
        std::string error;
    };
    std::unique_ptr<ApplyJob> job_;   // the background apply running now
    std::thread job_thread_;
    std::uint64_t jobs_started_ = 0;
    std::optional<std::string> replan_again_;  // reason of a replan asked for while one ran
    std::map<std::string, protocol::InterfaceState> interface_states_;  // by name
    bool interface_check_pending_ = false;
    std::set<common::IpAddress> neighbours_changed_;  // backends or gateways to look up again
    bool stopping_ = false;
    bool torn_down_ = false;  // teardown ran: no forwarder left to apply to
    int exit_code_ = 0;
};

}  // namespace julier::daemon
