#include "fleet/announce.h"

#include <algorithm>

namespace julier::fleet {

std::string_view to_string(VipState s) {
    switch (s) {
        case VipState::withdrawn: return "withdrawn";
        case VipState::hold_down: return "hold-down";
        case VipState::announced: return "announced";
    }
    return "withdrawn";
}

std::vector<VipHealth> vip_health(const config::Catalogue& catalogue, const plan::Plan& plan) {
    std::map<common::IpAddress, VipHealth> by_vip;
    std::vector<common::IpAddress> order;
    for (const auto& service : catalogue.services) {
        std::uint32_t usable = 0;
        if (const auto* planned = plan.find(service.name); planned != nullptr && !planned->fail_open) {
            usable = static_cast<std::uint32_t>(
                std::count_if(planned->backends.begin(), planned->backends.end(),
                              [](const plan::PlannedBackend& b) { return b.role == plan::BackendRole::in_ring; }));
        }
        const std::uint32_t needed = service.bgp.min_healthy_backends;
        auto [it, fresh] = by_vip.try_emplace(service.vip);
        VipHealth& v = it->second;
        if (fresh) {
            order.push_back(service.vip);
            v.vip = service.vip;
            v.healthy = true;
            v.usable = usable;
            v.needed = needed;
            v.communities = service.bgp.communities;
            v.med = service.bgp.med;
        }
        v.services.push_back(service.name);
        // The service furthest from its minimum speaks for the VIP.
        const bool ok = usable >= needed;
        if (!ok && v.healthy) {
            v.usable = usable;
            v.needed = needed;
        }
        v.healthy = v.healthy && ok;
    }
    std::vector<VipHealth> out;
    for (const auto& vip : order) out.push_back(std::move(by_vip[vip]));
    return out;
}

bool Announcer::update(const std::vector<VipHealth>& vips, Clock::time_point now, Clock::duration hold_down) {
    const auto before = announced();
    std::map<common::IpAddress, Announcement> next;
    for (const auto& health : vips) {
        Announcement a;
        a.health = health;
        auto old = vips_.find(health.vip);
        if (old == vips_.end()) {
            // First sight: no flapping to guard against yet.
            a.state = health.healthy ? VipState::announced : VipState::withdrawn;
            a.since = now;
        } else {
            a.state = old->second.state;
            a.since = old->second.since;
            a.announce_at = old->second.announce_at;
            if (!health.healthy) {
                if (a.state != VipState::withdrawn) {
                    a.state = VipState::withdrawn;
                    a.since = now;
                }
            } else if (a.state == VipState::withdrawn) {
                a.state = hold_down.count() > 0 ? VipState::hold_down : VipState::announced;
                a.since = now;
                a.announce_at = now + hold_down;
            } else if (a.state == VipState::hold_down && now >= a.announce_at) {
                a.state = VipState::announced;
                a.since = now;
            }
        }
        next.emplace(health.vip, std::move(a));
    }
    vips_ = std::move(next);
    return announced() != before;
}

void Announcer::withdraw_all(Clock::time_point now) {
    for (auto& [vip, a] : vips_) {
        if (a.state == VipState::withdrawn) continue;
        a.state = VipState::withdrawn;
        a.since = now;
    }
}

std::vector<VipHealth> Announcer::announced() const {
    std::vector<VipHealth> out;
    for (const auto& [vip, a] : vips_) {
        if (a.state == VipState::announced) out.push_back(a.health);
    }
    // Attributes only: counts change without changing the route.
    for (auto& v : out) {
        v.usable = 0;
        v.needed = 0;
    }
    return out;
}

std::vector<common::IpAddress> announced_after(const Announcer& current, const std::optional<config::Bgp>& running,
                                               const config::Catalogue& next, const plan::Plan& next_plan,
                                               Clock::time_point now) {
    if (!next.bgp) return {};
    // As Daemon::update_announcements: another BIRD starts from nothing.
    const bool same_bird =
        running && running->bird_include == next.bgp->bird_include && running->bird_socket == next.bgp->bird_socket;
    Announcer after = same_bird ? current : Announcer{};
    after.update(vip_health(next, next_plan), now, next.bgp->hold_down);
    std::vector<common::IpAddress> out;
    for (const auto& v : after.announced()) out.push_back(v.vip);
    return out;
}

}  // namespace julier::fleet
