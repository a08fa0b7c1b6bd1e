#include "daemon/reload.h"

#include <fmt/format.h>

namespace julier::daemon {
namespace {

std::string limits_text(const config::Limits& l) {
    return fmt::format("max_services={} max_backends={} ring_capacity={} max_flows={}", l.max_services, l.max_backends,
                       l.ring_capacity, l.max_flows);
}

bool same_limits(const config::Limits& a, const config::Limits& b) {
    return a.max_services == b.max_services && a.max_backends == b.max_backends && a.ring_capacity == b.ring_capacity &&
           a.max_flows == b.max_flows;
}

bool same_metrics(const config::Metrics& a, const config::Metrics& b) {
    return a.enabled == b.enabled && a.listen() == b.listen();
}

const config::Interface* find(const std::vector<config::Interface>& list, const std::string& name) {
    for (const auto& i : list) {
        if (i.name == name) return &i;
    }
    return nullptr;
}

}  // namespace

ReloadDecision decide_reload(const config::Catalogue& running, const config::ParseResult& next) {
    ReloadDecision decision;
    for (const auto& d : next.diagnostics) {
        (d.severity == config::Severity::error ? decision.errors : decision.warnings).push_back(d.to_string());
    }
    if (!next.catalogue || !decision.errors.empty()) {
        if (decision.errors.empty()) decision.errors.push_back("the catalogue was not accepted");
        return decision;
    }

    config::Catalogue catalogue = *next.catalogue;
    const auto keep = [&](const char* field, const std::string& now, const std::string& wanted) {
        decision.warnings.push_back(fmt::format(
            "{}: {} changed from {} to {}; it takes effect when julierd restarts (the running value is kept)",
            catalogue.location.to_string(), field, now, wanted));
    };
    if (!same_limits(catalogue.limits, running.limits)) {
        keep("limits", limits_text(running.limits), limits_text(catalogue.limits));
        catalogue.limits = running.limits;
    }
    if (catalogue.pin_dir != running.pin_dir) {
        keep("pin_dir", running.pin_dir, catalogue.pin_dir);
        catalogue.pin_dir = running.pin_dir;
    }
    if (catalogue.control_socket != running.control_socket) {
        keep("control_socket", running.control_socket, catalogue.control_socket);
        catalogue.control_socket = running.control_socket;
    }
    if (!same_metrics(catalogue.metrics, running.metrics)) {
        const auto show = [](const config::Metrics& m) { return m.enabled ? m.listen() : std::string("off"); };
        keep("metrics.listen", show(running.metrics), show(catalogue.metrics));
        catalogue.metrics = running.metrics;
    }
    decision.catalogue = std::move(catalogue);
    return decision;
}

InterfaceChanges interface_changes(const std::vector<config::Interface>& running,
                                   const std::vector<config::Interface>& next) {
    InterfaceChanges changes;
    for (const auto& now : running) {
        const auto* wanted = find(next, now.name);
        if (wanted == nullptr || wanted->xdp_mode != now.xdp_mode) changes.detach.push_back(now);
    }
    for (const auto& wanted : next) {
        const auto* now = find(running, wanted.name);
        if (now == nullptr || now->xdp_mode != wanted.xdp_mode) changes.attach.push_back(wanted);
    }
    return changes;
}

}  // namespace julier::daemon
