// Daemon: the connection table: `flows`, `which`, `purge` and the periodic census.
// Walks run on the FlowWalker's thread and answer on the loop; `which` is a handful
// of map lookups and answers at once.
#include <chrono>
#include <ctime>
#include <utility>
#include <variant>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "daemon/daemon.h"
#include "daemon/flow_views.h"
#include "daemon/flow_walker.h"
#include "daemon/logging.h"

namespace julier::daemon {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// How often the census for the metrics walks the table: the walk costs about a second
// of system calls per million entries, on a thread of its own, reading only.
constexpr std::chrono::seconds kFlowCensusInterval{15};
// The first census, soon after start-up.
constexpr std::chrono::seconds kFirstFlowCensus{1};

std::string peer_text(const Peer& peer) { return fmt::format("peer_pid={} peer_uid={}", peer.pid, peer.uid); }

double unix_now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

}  // namespace

void Daemon::start_flow_walker() {
    flow_walker_ = std::make_unique<FlowWalker>();
    arm_flow_census(kFirstFlowCensus);
}

void Daemon::stop_flow_walker() {
    census_timer_.cancel();
    if (flow_walker_) flow_walker_->stop();
}

void Daemon::arm_flow_census(std::chrono::seconds after) {
    census_timer_.expires_after(after);
    census_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_ || torn_down_) return;
        run_flow_census();
        arm_flow_census(kFlowCensusInterval);
    });
}

void Daemon::run_flow_census() {
    if (census_running_ || !flow_walker_) return;  // the last one still walks: skip a turn
    census_running_ = true;
    const auto* dataplane = dataplane_.get();
    const auto max_flows = dataplane_->limits().max_flows;
    const bool posted = flow_walker_->post([this, dataplane, max_flows](const std::atomic<bool>& stopping) {
        metrics::FlowCensusReading reading;
        reading.max_flows = max_flows;
        const auto t0 = Clock::now();
        try {
            const bool whole = walk_flows(*dataplane, std::nullopt, stopping,
                                          [&](auto, std::span<const flows::FlowEntry> batch, auto) {
                                              reading.census.add(batch);
                                              return true;
                                          });
            if (whole) {
                reading.duration_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
                reading.unix_time = unix_now();
                spdlog::debug("flow census entries={} duration_ms={:.1f}", reading.census.entries,
                              reading.duration_seconds * 1000);
                metrics_.flows().publish(std::move(reading));
            }
        } catch (const std::exception& e) {
            spdlog::warn("flow census failed error={}", kv(e.what()));
        }
        asio::post(io_, [this] { census_running_ = false; });
    });
    if (!posted) census_running_ = false;
}

Reply Daemon::flows(const protocol::Request& request) {
    auto chosen = flow_filter(reconciler_.plan(), request.service, request.backend);
    if (auto* error = std::get_if<std::string>(&chosen)) return Reply{protocol::failure(*error), {}};
    const auto filter = std::get<flows::Filter>(chosen);
    auto names = std::make_shared<const FlowNames>(FlowNames::of(reconciler_.plan()));
    const auto max_flows = dataplane_->limits().max_flows;
    const auto* dataplane = dataplane_.get();

    Reply reply;
    reply.later = [this, request, filter, names, max_flows, dataplane](Reply::Answer answer) {
        auto job = [this, request, filter, names, max_flows, dataplane, answer](const std::atomic<bool>& stopping) {
            Reply result{protocol::failure("julierd is stopping"), {}};
            try {
                if (request.list) {
                    const auto start = request.after.empty() ? flows::Cursor{} : *flows::Cursor::parse(request.after);
                    flows::Pager pager(start, filter, request.limit ? request.limit : protocol::kDefaultFlowLimit,
                                       kFlowPageBudget,
                                       [&names](const flows::FlowEntry& e) { return flow_info_bytes(e, *names); });
                    if (walk_flows(*dataplane, start.token, stopping,
                                   [&](auto token, auto batch, auto next) { return pager.add(token, batch, next); })) {
                        protocol::FlowList list;
                        for (const auto& e : pager.entries()) list.flows.push_back(flow_info(e, *names));
                        list.next = pager.next() ? pager.next()->to_string() : std::string{};
                        list.scanned = pager.scanned();
                        result = Reply{protocol::success(list), {}};
                    }
                } else {
                    metrics::FlowCensusReading reading;
                    reading.max_flows = max_flows;
                    const auto t0 = Clock::now();
                    if (walk_flows(*dataplane, std::nullopt, stopping, [&](auto, auto batch, auto) {
                            reading.census.add(batch);
                            return true;
                        })) {
                        result = Reply{protocol::success(flow_counts(*names, reading.census, max_flows, filter)), {}};
                        reading.duration_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
                        reading.unix_time = unix_now();
                        metrics_.flows().publish(std::move(reading));  // as fresh as a census
                    }
                }
            } catch (const std::exception& e) {
                result = Reply{protocol::failure(fmt::format("cannot read the connection table: {}", e.what())), {}};
            }
            asio::post(io_, [answer, result = std::move(result)]() mutable { answer(std::move(result)); });
        };
        if (!flow_walker_ || !flow_walker_->post(std::move(job))) {
            answer(Reply{protocol::failure("busy: too many connection-table walks waiting; try again"), {}});
        }
    };
    return reply;
}

Reply Daemon::which(const protocol::Request& request) {
    // decode_request checked all three.
    const auto proto = flows::parse_protocol(request.protocol);
    const auto client = common::Endpoint::parse(request.client);
    const auto vip = common::Endpoint::parse(request.vip);
    if (!proto || !client || !vip || client->address.family != vip->address.family) {
        return Reply{protocol::failure("which needs PROTOCOL CLIENT:PORT VIP:PORT of one address family"), {}};
    }
    const auto pick = dataplane_->pick_flow(flows::make_key(*proto, *client, *vip));
    return Reply{protocol::success(which_result(pick, FlowNames::of(reconciler_.plan()))), {}};
}

Reply Daemon::purge(const protocol::Request& request, const Peer& peer) {
    auto chosen = flow_filter(reconciler_.plan(), request.service, request.backend);
    if (auto* error = std::get_if<std::string>(&chosen)) return Reply{protocol::failure(*error), {}};
    const auto filter = std::get<flows::Filter>(chosen);
    protocol::PurgeResult base;
    base.service = request.service;
    if (!request.backend.empty()) base.backend = common::IpAddress::parse(request.backend)->to_string();
    auto* dataplane = dataplane_.get();

    Reply reply;
    reply.later = [this, base, filter, dataplane, peer](Reply::Answer answer) {
        auto job = [this, base, filter, dataplane, peer, answer](const std::atomic<bool>& stopping) {
            Reply result{protocol::failure("julierd is stopping"), {}};
            protocol::PurgeResult done = base;
            try {
                // Each batch's entries go as the walk passes them: removing entries of
                // buckets already read does not move the walk.
                std::vector<jl_flow_key> keys;
                const bool whole = walk_flows(*dataplane, std::nullopt, stopping, [&](auto, auto batch, auto) {
                    keys.clear();
                    for (const auto& e : batch) {
                        if (filter.matches(e.value)) keys.push_back(e.key);
                    }
                    dataplane->delete_flows(keys);
                    done.removed += keys.size();
                    return true;
                });
                spdlog::info("control command=purge service={} backend={} removed={} complete={} {}", kv(done.service),
                             kv(done.backend), done.removed, whole, peer_text(peer));
                if (whole) result = Reply{protocol::success(done), {}};
            } catch (const std::exception& e) {
                spdlog::error("control command=purge service={} backend={} removed={} error={}", kv(done.service),
                              kv(done.backend), done.removed, kv(e.what()));
                result = Reply{protocol::failure(
                                   fmt::format("purge failed after removing {} entries: {}", done.removed, e.what())),
                               {}};
            }
            asio::post(io_, [answer, result = std::move(result)]() mutable { answer(std::move(result)); });
        };
        if (!flow_walker_ || !flow_walker_->post(std::move(job))) {
            answer(Reply{protocol::failure("busy: too many connection-table walks waiting; try again"), {}});
        }
    };
    return reply;
}

}  // namespace julier::daemon
