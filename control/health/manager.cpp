#include "health/manager.h"

#include <algorithm>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "health/address.h"
#include "health/schedule.h"

namespace julier::health {

namespace asio = boost::asio;

namespace {

// Identity of a target across reloads: service name and backend address.
std::string target_key(std::string_view service, const common::IpAddress& address) {
    std::string key(service);
    key += '\0';
    key += static_cast<char>(address.family);
    key.append(reinterpret_cast<const char*>(address.bytes.data()), address.bytes.size());
    return key;
}

Thresholds thresholds_of(const config::HealthCheck& check) {
    return Thresholds{check.rise, check.fall, check.slow_start};
}

Clock::duration positive(std::chrono::milliseconds value) {
    // The catalogue validates these; a zero here would spin.
    return std::max<Clock::duration>(value, std::chrono::milliseconds(1));
}

constexpr const char* kNoCheck = "no health check configured";

struct Slot {
    TimePoint at;
    std::uint64_t id;
    bool operator>(const Slot& other) const { return at > other.at; }
};

}  // namespace

struct Manager::Impl : std::enable_shared_from_this<Manager::Impl> {
    struct Entry {
        Entry(std::uint64_t id, std::string key, const Target& target, bool ramp_first_up)
            : id(id),
              key(std::move(key)),
              target(target),
              probe_target{to_asio(target.address), target.port},
              health(thresholds_of(target.check), ramp_first_up) {}

        std::uint64_t id = 0;
        std::string key;
        Target target;
        ProbeTarget probe_target;
        BackendHealth health;
        Clock::duration offset{};  // phase within the interval
        TimePoint next_start{};
        bool in_flight = false;
        ProbeHandle handle;
        std::optional<Result> last;
        std::unique_ptr<asio::steady_timer> ramp_timer;
        std::uint64_t ramp_generation = 0;

        bool probed() const { return target.check.kind != config::HealthKind::none; }
    };

    Impl(asio::io_context& io, ManagerOptions options)
        : io(io), options(options), probes(io, std::move(options.probes)), timer(io), epoch(Clock::now()) {}

    asio::io_context& io;
    ManagerOptions options;
    ProbeSet probes;
    asio::steady_timer timer;
    TimePoint timer_at = TimePoint::max();
    TimePoint epoch;  // every phase counts from here
    bool first_set = true;
    bool stopped = false;
    // Entries live in a table indexed by the low half of their id; the high half
    // is a creation number, so the id of a removed entry never matches again.
    // (A plain index, not a hash lookup: this runs twice per probe.)
    std::vector<std::unique_ptr<Entry>> table;
    std::vector<std::uint32_t> free_slots;
    std::uint64_t created = 0;
    std::size_t live = 0;
    std::unordered_map<std::string, std::uint64_t> ids;
    std::priority_queue<Slot, std::vector<Slot>, std::greater<>> queue;
    TransitionHandler transition_handler;
    WeightHandler weight_handler;
    StartObserver start_observer;
    ResultObserver result_observer;

    Entry* lookup(std::uint64_t id) {
        auto index = static_cast<std::size_t>(id & 0xffffffffu);
        if (index >= table.size() || !table[index] || table[index]->id != id) return nullptr;
        return table[index].get();
    }
    const Entry* lookup(std::uint64_t id) const { return const_cast<Impl*>(this)->lookup(id); }
    Entry& create(const std::string& key, const Target& target);
    void remove(Entry& entry);
    template <class F>
    void for_each(F&& f) const {
        for (const auto& entry : table)
            if (entry) f(*entry);
    }

    void set_targets(const std::vector<Target>& targets);
    void stop();
    void schedule(Entry& entry, TimePoint not_before);
    void arm_timer();
    void on_timer();
    void start_probe(Entry& entry, TimePoint scheduled, TimePoint now);
    void on_result(std::uint64_t id, Result result);
    void start_ramp(Entry& entry);
    void on_ramp_tick(std::uint64_t id, std::uint64_t generation);
    void post_unchecked_up(std::uint64_t id);
    BackendStatus status_of(const Entry& entry, TimePoint now) const;
    const Entry* find(std::string_view service, const common::IpAddress& address) const;
};

Manager::Impl::Entry& Manager::Impl::create(const std::string& key, const Target& target) {
    std::uint32_t index;
    if (!free_slots.empty()) {
        index = free_slots.back();
        free_slots.pop_back();
    } else {
        index = static_cast<std::uint32_t>(table.size());
        table.emplace_back();
    }
    std::uint64_t id = (++created << 32) | index;
    table[index] = std::make_unique<Entry>(id, key, target, !first_set);
    ids.emplace(key, id);
    ++live;
    return *table[index];
}

void Manager::Impl::remove(Entry& entry) {
    entry.handle.cancel();
    ids.erase(entry.key);
    auto index = static_cast<std::uint32_t>(entry.id & 0xffffffffu);
    table[index].reset();  // `entry` is gone from here on
    free_slots.push_back(index);
    --live;
}

void Manager::Impl::set_targets(const std::vector<Target>& targets) {
    if (stopped) return;
    TimePoint now = Clock::now();
    std::unordered_set<std::uint64_t> keep;

    for (const auto& target : targets) {
        std::string key = target_key(target.service, target.address);
        auto known = ids.find(key);
        if (known != ids.end()) {
            if (keep.count(known->second) != 0) continue;  // a repeated backend: the first one counts
            Entry& entry = *lookup(known->second);
            keep.insert(entry.id);
            bool was_probed = entry.probed();
            auto old_interval = entry.target.check.interval;
            entry.target = target;
            entry.probe_target = ProbeTarget{to_asio(target.address), target.port};
            entry.health.set_thresholds(thresholds_of(target.check));
            if (!entry.probed()) {
                entry.handle.cancel();
                entry.in_flight = false;
                if (entry.health.state() != State::up) post_unchecked_up(entry.id);
            } else if (!was_probed || old_interval != target.check.interval) {
                entry.offset = phase_offset(stable_hash(key), positive(target.check.interval));
                schedule(entry, now);
            }
            continue;
        }

        Entry& entry = create(key, target);
        keep.insert(entry.id);
        if (!entry.probed()) {
            post_unchecked_up(entry.id);
            continue;
        }
        entry.offset = phase_offset(stable_hash(key), positive(target.check.interval));
        schedule(entry, now);
    }

    for (auto& slot : table) {
        if (slot && keep.count(slot->id) == 0) remove(*slot);
    }
    first_set = false;
    arm_timer();
}

void Manager::Impl::stop() {
    stopped = true;
    timer.cancel();
    timer_at = TimePoint::max();
    queue = {};
    for (auto& entry : table) {
        if (!entry) continue;
        entry->handle.cancel();
        entry->in_flight = false;
        if (entry->ramp_timer) entry->ramp_timer->cancel();
    }
}

void Manager::Impl::schedule(Entry& entry, TimePoint not_before) {
    entry.next_start = next_slot(epoch, positive(entry.target.check.interval), entry.offset, not_before);
    queue.push(Slot{entry.next_start, entry.id});
}

void Manager::Impl::arm_timer() {
    if (stopped || queue.empty()) return;
    TimePoint first = queue.top().at;
    if (first == timer_at) return;
    timer_at = first;
    timer.expires_at(first);
    timer.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (!self || error) return;
        self->timer_at = TimePoint::max();
        self->on_timer();
    });
}

void Manager::Impl::on_timer() {
    TimePoint now = Clock::now();
    TimePoint horizon = now + options.timer_slack;
    // A bounded batch per turn: when thousands are due at once (a loop that fell
    // behind), the rest continue after whatever else is ready (control socket,
    // probe results) instead of holding the loop.
    constexpr int kMaxStartsPerTurn = 64;
    int started = 0;
    while (!queue.empty() && queue.top().at <= horizon) {
        if (started == kMaxStartsPerTurn) {
            boost::asio::post(timer.get_executor(), [weak = weak_from_this()] {
                if (auto self = weak.lock(); self && !self->stopped) self->on_timer();
            });
            return;
        }
        Slot slot = queue.top();
        queue.pop();
        Entry* found = lookup(slot.id);
        // Stale: the target is gone, or was rescheduled by a reload.
        if (!found || found->next_start != slot.at || !found->probed()) continue;
        Entry& entry = *found;
        entry.next_start = slot.at + positive(entry.target.check.interval);
        queue.push(Slot{entry.next_start, entry.id});
        start_probe(entry, slot.at, now);
        ++started;
    }
    arm_timer();
}

void Manager::Impl::start_probe(Entry& entry, TimePoint scheduled, TimePoint now) {
    if (entry.in_flight) return;  // the slot is skipped
    Probe* probe = probes.find(entry.target.check.kind);
    if (!probe) return;
    if (start_observer) start_observer(scheduled, now);
    entry.in_flight = true;
    TimePoint deadline = now + positive(entry.target.check.timeout);
    // A plain pointer keeps the callback within std::function's inline storage (no
    // allocation per probe). Safe: every probe in flight is cancelled before this
    // Impl goes (stop() in ~Manager, remove()), and a cancelled probe never calls back.
    entry.handle =
        probe->async_probe(entry.probe_target, entry.target.check, deadline,
                           [self = this, id = entry.id](Result result) { self->on_result(id, std::move(result)); });
}

void Manager::Impl::on_result(std::uint64_t id, Result result) {
    Entry* found = lookup(id);
    if (!found) return;
    Entry& entry = *found;
    entry.in_flight = false;
    entry.handle = ProbeHandle();

    if (result_observer) result_observer(entry.target, result);

    TimePoint now = Clock::now();
    auto transition = entry.health.record(result.ok, result.reason, now);
    entry.last = std::move(result);
    if (!transition) return;

    if (transition->to == State::up) {
        start_ramp(entry);
    } else {
        ++entry.ramp_generation;
        if (entry.ramp_timer) entry.ramp_timer->cancel();
    }
    if (!transition_handler) return;
    // Copied out: the handler may call set_targets(), which can drop `entry`.
    HealthEvent event{entry.target.service, entry.target.address,          transition->from,
                      transition->to,       std::move(transition->reason), transition->at};
    auto handler = transition_handler;
    handler(event);
}

void Manager::Impl::start_ramp(Entry& entry) {
    ++entry.ramp_generation;
    auto end = entry.health.ramp_end();
    if (!end) return;
    if (!entry.ramp_timer) entry.ramp_timer = std::make_unique<asio::steady_timer>(io);
    auto step = std::max<Clock::duration>(
        entry.health.thresholds().slow_start / std::max<std::size_t>(options.ramp_steps, 1), options.min_ramp_step);
    entry.ramp_timer->expires_at(std::min(Clock::now() + step, *end));
    entry.ramp_timer->async_wait([weak = weak_from_this(), id = entry.id,
                                  generation = entry.ramp_generation](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (!self || error) return;
        self->on_ramp_tick(id, generation);
    });
}

void Manager::Impl::on_ramp_tick(std::uint64_t id, std::uint64_t generation) {
    Entry* found = lookup(id);
    if (!found || found->ramp_generation != generation || stopped) return;
    Entry& entry = *found;
    TimePoint now = Clock::now();
    double factor = entry.health.weight_factor(now);
    auto end = entry.health.ramp_end();
    if (end && now < *end) {
        auto step = std::max<Clock::duration>(
            entry.health.thresholds().slow_start / std::max<std::size_t>(options.ramp_steps, 1), options.min_ramp_step);
        entry.ramp_timer->expires_at(std::min(now + step, *end));
        entry.ramp_timer->async_wait([weak = weak_from_this(), id, generation](const boost::system::error_code& error) {
            auto self = weak.lock();
            if (!self || error) return;
            self->on_ramp_tick(id, generation);
        });
    }
    if (weight_handler) {
        std::string service = entry.target.service;
        common::IpAddress address = entry.target.address;
        auto handler = weight_handler;
        handler(service, address, factor);
    }
}

void Manager::Impl::post_unchecked_up(std::uint64_t id) {
    asio::post(io, [weak = weak_from_this(), id] {
        auto self = weak.lock();
        if (!self || self->stopped) return;
        Entry* found = self->lookup(id);
        if (!found || found->probed()) return;
        Entry& entry = *found;
        State from = entry.health.state();
        if (from == State::up) return;
        entry.health.assume_up(kNoCheck, Clock::now());
        ++entry.ramp_generation;
        if (!self->transition_handler) return;
        HealthEvent event{entry.target.service, entry.target.address, from, State::up, kNoCheck, entry.health.since()};
        auto handler = self->transition_handler;
        handler(event);
    });
}

BackendStatus Manager::Impl::status_of(const Entry& entry, TimePoint now) const {
    BackendStatus status;
    status.service = entry.target.service;
    status.address = entry.target.address;
    status.port = entry.target.port;
    status.kind = entry.target.check.kind;
    status.state = entry.health.state();
    status.reason = entry.health.reason();
    status.since = entry.health.since();
    status.weight_factor = entry.health.weight_factor(now);
    status.consecutive_passes = entry.health.consecutive_passes();
    status.consecutive_failures = entry.health.consecutive_failures();
    status.last = entry.last;
    return status;
}

const Manager::Impl::Entry* Manager::Impl::find(std::string_view service, const common::IpAddress& address) const {
    auto id = ids.find(target_key(service, address));
    if (id == ids.end()) return nullptr;
    return lookup(id->second);
}

Manager::Manager(asio::io_context& io, ManagerOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

Manager::~Manager() { impl_->stop(); }

void Manager::on_transition(TransitionHandler handler) { impl_->transition_handler = std::move(handler); }

void Manager::on_weight(WeightHandler handler) { impl_->weight_handler = std::move(handler); }

void Manager::on_probe_start(StartObserver observer) { impl_->start_observer = std::move(observer); }

void Manager::on_probe_result(ResultObserver observer) { impl_->result_observer = std::move(observer); }

void Manager::set_targets(const std::vector<Target>& targets) { impl_->set_targets(targets); }

void Manager::stop() { impl_->stop(); }

std::optional<BackendStatus> Manager::status(std::string_view service, const common::IpAddress& address) const {
    const auto* entry = impl_->find(service, address);
    if (!entry) return std::nullopt;
    return impl_->status_of(*entry, Clock::now());
}

std::vector<BackendStatus> Manager::statuses() const {
    TimePoint now = Clock::now();
    std::vector<BackendStatus> all;
    all.reserve(impl_->live);
    impl_->for_each([&](const Impl::Entry& entry) { all.push_back(impl_->status_of(entry, now)); });
    std::sort(all.begin(), all.end(), [](const BackendStatus& a, const BackendStatus& b) {
        return std::tie(a.service, a.address) < std::tie(b.service, b.address);
    });
    return all;
}

double Manager::weight_factor(std::string_view service, const common::IpAddress& address) const {
    const auto* entry = impl_->find(service, address);
    return entry ? entry->health.weight_factor(Clock::now()) : 0.0;
}

std::size_t Manager::size() const { return impl_->live; }

Snapshot Manager::snapshot() const {
    TimePoint now = Clock::now();
    Snapshot all;
    impl_->for_each([&](const Impl::Entry& entry) {
        all[entry.target.service][entry.target.address] =
            Verdict{entry.health.state(), entry.health.weight_factor(now), entry.health.reason()};
    });
    return all;
}

}  // namespace julier::health
