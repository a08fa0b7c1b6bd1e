// Daemon: SIGHUP / `julierctl reload`. The file is read and checked on a thread
// of its own (a large or slow file never stalls the loop, its watchdog pings or
// the control socket); the result is applied on the loop. Either the whole new
// catalogue is live afterwards, or nothing changed and the failure is recorded
// for `status`.
#include <ctime>
#include <thread>
#include <utility>

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config/parse.h"
#include "daemon/daemon.h"
#include "daemon/logging.h"
#include "daemon/reload.h"
#include "health/targets.h"

namespace julier::daemon {
namespace {

dataplane::AttachMode attach_mode(config::XdpMode mode) {
    return mode == config::XdpMode::generic ? dataplane::AttachMode::generic : dataplane::AttachMode::native;
}

// Off the loop: a file that cannot be read is one error diagnostic.
config::ParseResult read_catalogue(const std::string& file) {
    config::ParseResult parsed;
    try {
        parsed = config::parse_catalogue_file(file);
    } catch (const std::exception& e) {  // out of memory, say: the running catalogue stays
        parsed = {};
        parsed.diagnostics.push_back(
            config::Diagnostic{config::Severity::error, {file, 0, 0}, {}, fmt::format("cannot read: {}", e.what())});
    }
    return parsed;
}

}  // namespace

void Daemon::reload(const std::string& trigger, ReloadDone done) {
    if (stopping_ || torn_down_ || tearing_down_) {
        ReloadReport report;
        report.errors.push_back(tearing_down_ ? "julierd is tearing down" : "julierd is stopping");
        if (done) done(std::move(report));
        return;
    }
    if (!reload_running_) {
        reload_running_ = PendingReload{trigger, {}};
        if (done) reload_running_->waiting.push_back(std::move(done));
        start_reload();
        return;
    }
    // The running reload may have read the file before it changed: one more run.
    if (!reload_next_) reload_next_ = PendingReload{trigger, {}};
    if (done) reload_next_->waiting.push_back(std::move(done));
    spdlog::info("reload queued trigger={} running_trigger={}", trigger, kv(reload_running_->trigger));
}

void Daemon::start_reload() {
    notifier_.reloading();
    spdlog::info("reload started trigger={} config={}", reload_running_->trigger, kv(options_.config_file));
    if (parse_thread_.joinable()) parse_thread_.join();
    parse_thread_ = std::thread([this, file = options_.config_file] {
        config::ParseResult parsed = read_catalogue(file);
        boost::asio::post(io_, [this, parsed = std::move(parsed)]() mutable { finish_reload(std::move(parsed)); });
    });
}

void Daemon::finish_reload(config::ParseResult parsed) {
    if (parse_thread_.joinable()) parse_thread_.join();  // it has posted this and is ending
    PendingReload done = std::move(*reload_running_);
    reload_running_.reset();
    ReloadReport report;
    if (stopping_ || torn_down_ || tearing_down_) {
        report.errors.push_back(tearing_down_ ? "julierd is tearing down" : "julierd is stopping");
    } else {
        report = apply_reload(std::move(parsed), done.trigger);
    }
    for (auto& waiting : done.waiting) waiting(report);
    if (reload_next_ && !stopping_ && !torn_down_) {
        reload_running_ = std::move(reload_next_);
        reload_next_.reset();
        start_reload();
    } else if (reload_next_) {
        ReloadReport stopped;
        stopped.errors.push_back("julierd is stopping");
        for (auto& waiting : reload_next_->waiting) waiting(stopped);
        reload_next_.reset();
    }
}

Daemon::ReloadReport Daemon::apply_reload(config::ParseResult parsed, const std::string& trigger) {
    ReloadReport report;
    reconciler_.wait();  // the reload attaches and applies: one writer at a time

    if (parsed.catalogue && options_.pin_dir) parsed.catalogue->pin_dir = *options_.pin_dir;
    auto decision = decide_reload(catalogue(), parsed);
    report.warnings = decision.warnings;
    for (const auto& w : decision.warnings) spdlog::warn("reload warning={}", kv(w));

    // Everything that can fail happens before anything is committed; attachments
    // made for this reload are undone when a later step fails.
    struct Attached {
        std::string name;
        std::optional<config::Interface> replaced;  // attached before in another mode
    };
    std::vector<Attached> attached_now;
    const auto fail = [&](std::vector<std::string> errors) {
        for (const auto& a : attached_now) {
            try {
                dataplane_->detach(a.name);
                if (a.replaced) dataplane_->attach(a.name, attach_mode(a.replaced->xdp_mode));
            } catch (const std::exception& e) {
                spdlog::error("reload rollback failed interface={} error={}", kv(a.name), kv(e.what()));
            }
        }
        report.ok = false;
        report.errors = std::move(errors);
        ++reload_failures_;
        metrics_.lifecycle().reload_failed();
        last_reload_ = protocol::LastReload{"failed", std::time(nullptr), report.errors.front()};
        for (const auto& e : report.errors) spdlog::error("reload failed trigger={} error={}", trigger, kv(e));
        spdlog::error("reload rejected failures={} generation={} note={}", reload_failures_, dataplane_->generation(),
                      kv("nothing changed; the running catalogue stays"));
        notifier_.ready(fmt::format("reload failed, running generation {} unchanged: {}", dataplane_->generation(),
                                    report.errors.front()));
        return report;
    };

    if (!decision.catalogue) return fail(decision.errors);
    DesiredState next{std::move(*decision.catalogue), reconciler_.desired().overrides};
    // The running state, to report what the reload changed.
    const config::Catalogue catalogue_before = catalogue();
    const plan::Plan plan_before = reconciler_.plan();
    const auto announced_before = announced_vips();

    const auto interfaces = interface_changes(catalogue().interfaces, next.catalogue.interfaces);
    for (const auto& interface : interfaces.attach) {
        std::optional<config::Interface> replaced;
        for (const auto& gone : interfaces.detach) {
            if (gone.name == interface.name) replaced = gone;
        }
        try {
            if (replaced) dataplane_->detach(interface.name);  // xdp_mode changed
            attached_now.push_back(Attached{interface.name, replaced});
            dataplane_->attach(interface.name, attach_mode(interface.xdp_mode));
            spdlog::info("attached interface={} mode={} reason=reload", kv(interface.name),
                         config::to_string(interface.xdp_mode));
        } catch (const std::exception& e) {
            return fail({fmt::format("{}: cannot attach to interface {}: {}", interface.location.to_string(),
                                     interface.name, e.what())});
        }
    }

    const auto dropped = next.overrides.reconcile(next.catalogue);
    reconciler_.resolve_next_hops(plan::backend_addresses(next.catalogue), /*wait=*/true);
    try {
        reconciler_.reconcile_now(std::move(next), "reload");
    } catch (const std::exception& e) {
        return fail({fmt::format("cannot apply {}: {}", options_.config_file, e.what())});
    }

    // Committed: the new catalogue is live (and announced).
    for (const auto& interface : interfaces.detach) {
        bool reattached = false;
        for (const auto& again : interfaces.attach) reattached = reattached || again.name == interface.name;
        if (reattached) continue;
        try {
            dataplane_->detach(interface.name);
            spdlog::info("detached interface={} reason=reload", kv(interface.name));
        } catch (const std::exception& e) {
            spdlog::error("detach failed interface={} error={}", kv(interface.name), kv(e.what()));
        }
    }
    check_interfaces("reload");
    for (const auto& d : dropped) {
        spdlog::info("operator override dropped service={} backend={} override={} reason={}", kv(d.service),
                     d.address.to_string(), kv(d.override_), kv(d.reason));
    }
    save_overrides(overrides_file(catalogue()), reconciler_.desired().overrides);
    health_->set_targets(health::health_targets(catalogue()));
    ++config_generation_;
    metrics_.lifecycle().reload_succeeded(config_generation_);
    last_reload_ = protocol::LastReload{"ok", std::time(nullptr), {}};
    report.ok = true;
    report.changes = plan::changes({catalogue_before, plan_before, announced_before},
                                   {catalogue(), reconciler_.plan(), announced_vips()});

    spdlog::info("reload done trigger={} config_generation={} generation={} services={} warnings={} changes={}",
                 trigger, config_generation_, dataplane_->generation(), catalogue().services.size(),
                 report.warnings.size(), report.changes.size());
    notifier_.ready(fmt::format("forwarding: {} services, config generation {}, dataplane generation {}",
                                catalogue().services.size(), config_generation_, dataplane_->generation()));
    return report;
}

void Daemon::dry_run(const std::string& file, ReloadDone done) {
    ReloadReport report;
    if (stopping_ || torn_down_ || tearing_down_) {
        report.errors.push_back(tearing_down_ ? "julierd is tearing down" : "julierd is stopping");
        return done(std::move(report));
    }
    if (dry_run_running_) {
        report.errors.push_back("another dry run is running; ask again when it has answered");
        return done(std::move(report));
    }
    dry_run_running_ = true;
    spdlog::info("dry run started config={}", kv(file));
    if (dry_run_thread_.joinable()) dry_run_thread_.join();
    dry_run_thread_ = std::thread([this, file, done = std::move(done)]() mutable {
        config::ParseResult parsed = read_catalogue(file);
        boost::asio::post(io_, [this, file, parsed = std::move(parsed), done = std::move(done)]() mutable {
            if (dry_run_thread_.joinable()) dry_run_thread_.join();  // it has posted this and is ending
            dry_run_running_ = false;
            ReloadReport report;
            if (stopping_ || torn_down_ || tearing_down_) {
                report.errors.push_back(tearing_down_ ? "julierd is tearing down" : "julierd is stopping");
            } else {
                report = plan_dry_run(std::move(parsed), file);
            }
            done(std::move(report));
        });
    });
}

Daemon::ReloadReport Daemon::plan_dry_run(config::ParseResult parsed, const std::string& file) {
    ReloadReport report;
    if (parsed.catalogue && options_.pin_dir) parsed.catalogue->pin_dir = *options_.pin_dir;
    auto decision = decide_reload(catalogue(), parsed);
    report.warnings = decision.warnings;
    if (!decision.catalogue) {
        report.errors = decision.errors;
        spdlog::info("dry run done config={} result={} errors={}", kv(file), "refused", report.errors.size());
        return report;
    }
    DesiredState next{std::move(*decision.catalogue), reconciler_.desired().overrides};
    next.overrides.reconcile(next.catalogue);  // on the copy: the running overrides stay
    try {
        const plan::Plan candidate = reconciler_.preview(next);
        const auto announced =
            fleet::announced_after(announcer_, bird_bgp_, next.catalogue, candidate, std::chrono::steady_clock::now());
        report.changes =
            plan::changes({catalogue(), reconciler_.plan(), announced_vips()}, {next.catalogue, candidate, announced});
    } catch (const std::exception& e) {
        report.errors.push_back(fmt::format("cannot plan {}: {}", file, e.what()));
        spdlog::info("dry run done config={} result={} error={}", kv(file), "refused", kv(e.what()));
        return report;
    }
    report.ok = true;
    spdlog::info("dry run done config={} result={} changes={} note={}", kv(file), "ok", report.changes.size(),
                 kv("nothing applied"));
    return report;
}

std::vector<common::IpAddress> Daemon::announced_vips() const {
    std::vector<common::IpAddress> out;
    for (const auto& v : announcer_.announced()) out.push_back(v.vip);
    return out;
}

}  // namespace julier::daemon
