#include "metrics/fleet_metrics.h"

#include <utility>

#include "metrics/family.h"
#include "metrics/metric_specs.h"

namespace julier::metrics {

void FleetMetrics::set_announcements(std::vector<VipAnnouncement> vips) {
    std::lock_guard lock(mutex_);
    vips_ = std::move(vips);
}

void FleetMetrics::set_sessions(std::vector<BgpSession> sessions) {
    std::lock_guard lock(mutex_);
    sessions_ = std::move(sessions);
}

std::vector<prometheus::MetricFamily> FleetMetrics::Collect() const {
    auto announced = make_family(spec::vip_announced);
    auto session = make_family(spec::bgp_session_up);
    {
        std::lock_guard lock(mutex_);
        for (const auto& v : vips_) add_sample(announced, {{"vip", v.vip}}, v.announced ? 1 : 0);
        for (const auto& s : sessions_)
            add_sample(session, {{"neighbour", s.neighbour}, {"protocol", s.protocol}}, s.established ? 1 : 0);
    }
    std::vector<prometheus::MetricFamily> out;
    out.push_back(std::move(announced));
    out.push_back(std::move(session));
    return out;
}

}  // namespace julier::metrics
