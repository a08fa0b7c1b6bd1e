// Which VIPs this box announces, from the plan's health and a hold-down against
// flapping. Pure: time is passed in, no I/O (see docs/fleet.md).
//
//   withdrawn --healthy--> hold_down --healthy for hold_down--> announced
//   announced / hold_down --unhealthy--> withdrawn (at once)
// A VIP healthy at its first evaluation (start, new VIP) is announced at once: the
// hold-down guards against flapping, not against a start.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip.h"
#include "config/catalogue.h"
#include "plan/plan.h"

namespace julier::fleet {

using Clock = std::chrono::steady_clock;

// Health of one VIP: every service on it must have its min_healthy_backends
// backends getting new flows (a route carries every port of the VIP).
struct VipHealth {
    common::IpAddress vip;
    bool healthy = false;
    std::uint32_t usable = 0;  // smallest count of usable backends over its services
    std::uint32_t needed = 0;  // min_healthy_backends of that service
    std::vector<std::string> services;
    std::vector<config::Community> communities;
    std::optional<std::uint32_t> med;

    bool operator==(const VipHealth&) const = default;
};

// Backends getting new flows per service; a service failing open
// (when_all_down: keep) counts as having none.
std::vector<VipHealth> vip_health(const config::Catalogue& catalogue, const plan::Plan& plan);

enum class VipState { withdrawn, hold_down, announced };
std::string_view to_string(VipState);

struct Announcement {
    VipHealth health;
    VipState state = VipState::withdrawn;
    Clock::time_point since{};        // when `state` was entered
    Clock::time_point announce_at{};  // hold_down: when it will be announced
};

class Announcer {
public:
    // Re-evaluates every VIP; VIPs no longer in `vips` are forgotten (withdrawn).
    // Returns true if the set of announced VIPs or their attributes changed.
    bool update(const std::vector<VipHealth>& vips, Clock::time_point now, Clock::duration hold_down);

    // Forces every VIP out (teardown, stop): until the next update.
    void withdraw_all(Clock::time_point now);

    // What should be in BIRD's table now.
    std::vector<VipHealth> announced() const;
    const std::map<common::IpAddress, Announcement>& all() const { return vips_; }

private:
    std::map<common::IpAddress, Announcement> vips_;
};

// The VIPs announced once `next` and its plan `next_plan` are applied at `now`,
// starting from the running announcer `current` of the running `bgp:` section
// `running`: what a reload leaves in BIRD's table (a VIP that was withdrawn and
// becomes healthy waits out its hold-down; a new VIP, and every VIP when the
// section or its BIRD is new, is announced at once when healthy). Nothing
// without `next.bgp`.
std::vector<common::IpAddress> announced_after(const Announcer& current, const std::optional<config::Bgp>& running,
                                               const config::Catalogue& next, const plan::Plan& next_plan,
                                               Clock::time_point now);

}  // namespace julier::fleet
