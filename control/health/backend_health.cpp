#include "health/backend_health.h"

#include <algorithm>
#include <utility>

namespace julier::health {

BackendHealth::BackendHealth(Thresholds thresholds, bool ramp_first_up)
    : thresholds_(thresholds), ramp_first_up_(ramp_first_up) {}

std::uint32_t BackendHealth::passes_to_rise() const {
    std::uint32_t rise = std::max<std::uint32_t>(thresholds_.rise, 1);
    // rise = fall = 1 would follow every single result; demand one more pass.
    if (rise == 1 && failures_to_fall() == 1) return 2;
    return rise;
}

std::uint32_t BackendHealth::failures_to_fall() const { return std::max<std::uint32_t>(thresholds_.fall, 1); }

std::optional<Transition> BackendHealth::record(bool ok, std::string_view reason, TimePoint now) {
    if (ok) {
        failures_ = 0;
        if (passes_ < UINT32_MAX) ++passes_;
    } else {
        passes_ = 0;
        if (failures_ < UINT32_MAX) ++failures_;
    }

    State next = state_;
    if (ok && state_ != State::up && passes_ >= passes_to_rise()) next = State::up;
    if (!ok && state_ != State::down && failures_ >= failures_to_fall()) next = State::down;
    if (next == state_) return std::nullopt;

    Transition transition;
    transition.from = state_;
    transition.to = next;
    transition.at = now;
    if (next == State::up) {
        transition.reason = std::to_string(passes_) + (passes_ == 1 ? " check passed" : " consecutive checks passed");
        bool ramp = thresholds_.slow_start.count() > 0 && (state_ == State::down || ramp_first_up_);
        ramp_start_ = ramp ? std::optional<TimePoint>(now) : std::nullopt;
    } else {
        transition.reason = std::string(reason.empty() ? std::string_view("check failed") : reason);
        if (failures_ > 1) transition.reason += " (" + std::to_string(failures_) + " consecutive failures)";
        ramp_start_.reset();
    }

    state_ = next;
    reason_ = transition.reason;
    since_ = now;
    return transition;
}

void BackendHealth::assume_up(std::string reason, TimePoint now) {
    passes_ = 0;
    failures_ = 0;
    state_ = State::up;
    reason_ = std::move(reason);
    since_ = now;
    ramp_start_.reset();
}

double BackendHealth::weight_factor(TimePoint now) const {
    if (state_ != State::up) return 0.0;
    if (!ramp_start_ || thresholds_.slow_start.count() <= 0) return 1.0;
    auto elapsed = now - *ramp_start_;
    if (elapsed <= Clock::duration::zero()) return 0.0;
    auto total = std::chrono::duration_cast<Clock::duration>(thresholds_.slow_start);
    if (elapsed >= total) return 1.0;
    return std::chrono::duration<double>(elapsed).count() / std::chrono::duration<double>(total).count();
}

std::optional<TimePoint> BackendHealth::ramp_end() const {
    if (state_ != State::up || !ramp_start_ || thresholds_.slow_start.count() <= 0) return std::nullopt;
    return *ramp_start_ + std::chrono::duration_cast<Clock::duration>(thresholds_.slow_start);
}

}  // namespace julier::health
