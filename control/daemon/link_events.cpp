// Daemon: interfaces that vanish and come back, next hops whose MAC changed.
//
// rtnetlink notifications make both immediate; a periodic check of the interfaces
// covers notifications the kernel dropped. A deleted interface takes the XDP
// program with it, and one created again under the same name starts without it:
// julierd attaches the forwarder again (its maps and connection table are the
// pinned ones, so nothing else changes) and looks up the next hops afresh, since
// the neighbour entries went with the old device.
#include <net/if.h>

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "daemon/daemon.h"
#include "daemon/logging.h"

namespace julier::daemon {
namespace {

// Fallback for lost notifications; the notifications themselves act at once.
constexpr std::chrono::seconds kInterfaceCheck{5};

dataplane::AttachMode attach_mode(config::XdpMode mode) {
    return mode == config::XdpMode::generic ? dataplane::AttachMode::generic : dataplane::AttachMode::native;
}

}  // namespace

void Daemon::start_netlink_watch() {
    try {
        netlink_ = std::make_unique<NetlinkWatch>(
            io_, [this](const neigh::NetlinkEvents& events, bool lost) { on_netlink(events, lost); });
    } catch (const std::exception& e) {
        // Not fatal: the periodic checks still find both kinds of change, only later.
        spdlog::warn("link and neighbour notifications unavailable error={} note={}", kv(e.what()),
                     kv("interfaces are checked every 5 s and next hops every 10 s"));
    }
}

void Daemon::arm_interface_check() {
    interface_timer_.expires_after(kInterfaceCheck);
    interface_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_ || torn_down_) return;
        check_interfaces("periodic check");
        arm_interface_check();
    });
}

void Daemon::request_interface_check(std::string reason) {
    if (interface_check_pending_) return;
    interface_check_pending_ = true;
    boost::asio::post(io_, [this, reason = std::move(reason)] {
        interface_check_pending_ = false;
        if (!stopping_ && !torn_down_) check_interfaces(reason);
    });
}

void Daemon::record_interface(const std::string& name, bool attached, std::string note, bool reattached) {
    auto& state = interface_states_[name];
    state.name = name;
    state.attached = attached;
    state.note = std::move(note);
    if (reattached) ++state.reattached;
    metrics_.lifecycle().interface_state(name, attached, state.reattached);
}

void Daemon::check_interfaces(const std::string& reason) {
    if (stopping_ || torn_down_ || !dataplane_) return;
    std::set<std::string> running;
    try {
        const auto names = dataplane_->attached_interfaces();
        running.insert(names.begin(), names.end());
    } catch (const std::exception& e) {
        spdlog::warn("interface check failed reason={} error={}", kv(reason), kv(e.what()));
        return;
    }
    std::vector<std::string> listed;
    bool reattached_any = false;
    for (const auto& interface : catalogue().interfaces) {
        const auto& name = interface.name;
        listed.push_back(name);
        const auto known = interface_states_.find(name);
        const bool was_attached = known == interface_states_.end() || known->second.attached;
        if (running.count(name) != 0) {
            if (!was_attached) record_interface(name, true, "attached", false);
            continue;
        }
        if (::if_nametoindex(name.c_str()) == 0) {
            if (was_attached) {
                spdlog::error("interface gone interface={} reason={} note={}", kv(name), kv(reason),
                              kv("no forwarding on it until it comes back; julierd attaches again then"));
                record_interface(name, false, "the interface does not exist", false);
            }
            continue;
        }
        reconciler_.wait();  // the dataplane takes one writer at a time
        try {
            dataplane_->attach(name, attach_mode(interface.xdp_mode));
        } catch (const std::exception& e) {
            const std::string note = fmt::format("cannot attach: {}", e.what());
            if (known == interface_states_.end() || known->second.note != note) {
                spdlog::error("interface reattach failed interface={} reason={} error={}", kv(name), kv(reason),
                              kv(e.what()));
            }
            record_interface(name, false, note, false);
            continue;
        }
        spdlog::warn("interface reattached interface={} ifindex={} mode={} reason={} note={}", kv(name),
                     ::if_nametoindex(name.c_str()), config::to_string(interface.xdp_mode), kv(reason),
                     kv(was_attached ? "the forwarder was gone from it" : "it came back"));
        record_interface(name, true, "re-attached", true);
        reattached_any = true;
    }
    std::erase_if(interface_states_, [&](const auto& entry) {
        return std::find(listed.begin(), listed.end(), entry.first) == listed.end();
    });
    metrics_.lifecycle().forget_interfaces_except(listed);
    if (reattached_any) {
        // The neighbour entries went with the old device, and our MAC may be new.
        if (reconciler_.resolve_next_hops(plan::backend_addresses(catalogue()), /*wait=*/false)) {
            reconciler_.request("interface re-attached");
        }
    }
}

void Daemon::on_netlink(const neigh::NetlinkEvents& events, bool lost) {
    if (stopping_ || torn_down_) return;
    bool links = lost;
    for (const auto& link : events.links) {
        for (const auto& interface : catalogue().interfaces) links = links || link.name == interface.name;
    }
    if (links) request_interface_check(lost ? "notifications lost" : "link notification");

    // A neighbour that learnt a MAC we do not use yet: a backend (l2) or the gateway
    // of some backends. Entries that did not change are ignored, so the lookups this
    // causes (which touch the same entries) do not feed back.
    for (const auto& n : events.neighbours) {
        if (!n.usable()) continue;
        for (const auto& [address, resolution] : reconciler_.next_hops()) {
            const bool via =
                resolution.ok() ? resolution.next_hop->gateway.value_or(address) == n.address : address == n.address;
            if (!via) continue;
            if (resolution.ok() && resolution.next_hop->dst_mac == *n.mac) continue;
            neighbours_changed_.insert(address);
        }
    }
    if (lost) {
        for (const auto& [address, resolution] : reconciler_.next_hops()) neighbours_changed_.insert(address);
    }
    if (neighbours_changed_.empty()) return;
    boost::asio::post(io_, [this] {
        if (neighbours_changed_.empty() || stopping_ || torn_down_) return;
        const std::vector<common::IpAddress> addresses(neighbours_changed_.begin(), neighbours_changed_.end());
        neighbours_changed_.clear();
        if (reconciler_.resolve_next_hops(addresses, /*wait=*/false)) reconciler_.request("neighbour changed");
    });
}

}  // namespace julier::daemon
