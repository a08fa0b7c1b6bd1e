#include "daemon/flow_walker.h"

#include <spdlog/spdlog.h>

namespace julier::daemon {

FlowWalker::FlowWalker() : thread_([this] { run(); }) {}

FlowWalker::~FlowWalker() { stop(); }

bool FlowWalker::post(Job job) {
    std::lock_guard lock(mutex_);
    if (stopping_ || jobs_.size() >= kMaxQueued) return false;
    jobs_.push_back(std::move(job));
    wake_.notify_one();
    return true;
}

void FlowWalker::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        jobs_.clear();
        wake_.notify_one();
    }
    if (thread_.joinable()) thread_.join();
}

void FlowWalker::run() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (stopping_) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        try {
            job(stopping_);
        } catch (const std::exception& e) {
            spdlog::error("connection table walk failed error=\"{}\"", e.what());
        }
    }
}

bool walk_flows(const dataplane::Dataplane& dataplane, std::optional<std::uint32_t> token,
                const std::atomic<bool>& stopping, const FlowVisit& visit) {
    std::vector<flows::FlowEntry> batch;
    for (;;) {
        if (stopping) return false;
        const auto next = dataplane.read_flows(token, kFlowWalkBatch, batch);
        if (!visit(token, batch, next) || !next) return true;
        token = next;
    }
}

}  // namespace julier::daemon
