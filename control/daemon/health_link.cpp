#include "daemon/health_link.h"

#include "health/manager.h"
#include "health/targets.h"

namespace julier::daemon {
namespace {

plan::Health to_plan(health::State state) {
    switch (state) {
        case health::State::up: return plan::Health::up;
        case health::State::down: return plan::Health::down;
        case health::State::unknown: return plan::Health::unknown;
    }
    return plan::Health::unknown;
}

}  // namespace

HealthLink::HealthLink(boost::asio::io_context& io, OnTransition on_transition, OnWeight on_weight,
                       metrics::ProbeRecorder& probes)
    : manager_(std::make_unique<health::Manager>(io)) {
    manager_->on_probe_result([&probes](const health::Target& t, const health::Result& r) {
        const std::string backend = t.address.to_string();
        probes.record_probe({t.service, backend, config::to_string(t.check.kind), r.duration,
                             r.ok ? std::string_view{} : health::to_string(r.failure)});
    });
    manager_->on_transition([cb = std::move(on_transition)](const health::HealthEvent& e) {
        cb(HealthTransition{e.service, e.address, to_plan(e.from), to_plan(e.to), e.reason});
    });
    manager_->on_weight(
        [cb = std::move(on_weight)](const std::string&, const common::IpAddress&, double) { cb(); });
}

HealthLink::~HealthLink() = default;

void HealthLink::set_targets(const config::Catalogue& catalogue) {
    manager_->set_targets(health::health_targets(catalogue));
}

HealthView HealthLink::view(const std::string& service, const common::IpAddress& address) const {
    const auto status = manager_->status(service, address);
    if (!status) return {};
    return HealthView{to_plan(status->state), status->weight_factor, status->reason};
}

void HealthLink::stop() { manager_->stop(); }

}  // namespace julier::daemon
