#include "web/rates.h"

namespace julier::web {

Rates RateSampler::observe(Clock::time_point now, const std::vector<daemon::protocol::ServiceInfo>& services) {
    Sample current{now, {}};
    for (const auto& s : services) current.counters[s.name] = {s.packets, s.bytes, s.new_flows};

    const Sample* reference = nullptr;
    if (latest_ && now - latest_->at >= kMinInterval) {
        earlier_ = std::move(latest_);
        latest_ = current;
        reference = &*earlier_;
    } else if (latest_) {
        if (earlier_) reference = &*earlier_;
    } else {
        latest_ = current;
    }

    Rates rates;
    if (reference == nullptr) return rates;
    rates.seconds = std::chrono::duration<double>(now - reference->at).count();
    if (rates.seconds <= 0) return Rates{};
    for (const auto& [name, counters] : current.counters) {
        const auto before = reference->counters.find(name);
        if (before == reference->counters.end()) continue;
        bool went_down = false;
        for (std::size_t i = 0; i < counters.size(); ++i) went_down = went_down || counters[i] < before->second[i];
        if (went_down) continue;
        const auto per_second = [&](std::size_t i) {
            return static_cast<double>(counters[i] - before->second[i]) / rates.seconds;
        };
        rates.services[name] = ServiceRates{per_second(0), per_second(1), per_second(2)};
    }
    return rates;
}

}  // namespace julier::web
