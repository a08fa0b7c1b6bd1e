// VIP announcement and BGP session state (docs/fleet.md): set by the daemon after
// each announcement update and each read of BIRD's protocols.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace julier::metrics {

struct VipAnnouncement {
    std::string vip;
    bool announced = false;
};

struct BgpSession {
    std::string neighbour;  // address
    std::string protocol;   // BIRD protocol name
    bool established = false;
};

class FleetMetrics final : public prometheus::Collectable {
public:
    void set_announcements(std::vector<VipAnnouncement> vips);
    void set_sessions(std::vector<BgpSession> sessions);

    std::vector<prometheus::MetricFamily> Collect() const override;

private:
    mutable std::mutex mutex_;
    std::vector<VipAnnouncement> vips_;
    std::vector<BgpSession> sessions_;
};

}  // namespace julier::metrics
