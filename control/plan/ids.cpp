#include "plan/ids.h"

#include <algorithm>
#include <set>
#include <string>

#include "plan/plan.h"

namespace julier::plan {

std::optional<std::uint32_t> IdPool::take(std::uint32_t capacity) {
    if (next_ < capacity) {
        return next_++;
    }
    // Oldest release first; ids at or above a lowered capacity stay parked.
    auto it = std::find_if(freed_.begin(), freed_.end(), [capacity](std::uint32_t id) { return id < capacity; });
    if (it == freed_.end()) {
        return std::nullopt;
    }
    std::uint32_t id = *it;
    freed_.erase(it);
    return id;
}

void IdPool::release(std::uint32_t id) {
    if (id < next_ && std::find(freed_.begin(), freed_.end(), id) == freed_.end()) {
        freed_.push_back(id);
    }
}

void IdPool::reserve(std::uint32_t id) {
    if (id >= next_) {
        // The gap below id was never seen in use: free, lowest first.
        for (std::uint32_t gap = next_; gap < id; ++gap) {
            freed_.push_back(gap);
        }
        next_ = id + 1;
        return;
    }
    auto it = std::find(freed_.begin(), freed_.end(), id);
    if (it != freed_.end()) {
        freed_.erase(it);
    }
}

std::optional<std::uint32_t> IdAllocator::service_id(const ServiceKey& key) const {
    auto it = services().find(key);
    if (it == services().end()) {
        return std::nullopt;
    }
    return it->second;
}

std::optional<std::uint32_t> IdAllocator::backend_id(const BackendKey& key) const {
    auto it = backends().find(key);
    if (it == backends().end()) {
        return std::nullopt;
    }
    return it->second;
}

namespace {

// True when `ids` holds exactly the keys of `wanted`, each once, all below
// capacity: then an update changes nothing (the common case of a replan).
template <typename Key>
bool unchanged(const std::map<Key, std::uint32_t>& ids, const std::vector<Key>& wanted, std::uint32_t capacity) {
    if (ids.size() != wanted.size()) {
        return false;
    }
    // One sort and one walk of the map in order, instead of a tree search per key.
    std::vector<const Key*> sorted;
    sorted.reserve(wanted.size());
    for (const Key& key : wanted) {
        sorted.push_back(&key);
    }
    std::sort(sorted.begin(), sorted.end(), [](const Key* a, const Key* b) { return *a < *b; });
    auto it = ids.begin();
    for (const Key* key : sorted) {  // a key given twice meets the next map key: no match
        if (it == ids.end() || !(it->first == *key) || it->second >= capacity) {
            return false;
        }
        ++it;
    }
    return true;
}

// The same for backend keys without sorting them all: make_plan lists a service's
// backends together, and the map holds them together too (ordered by service, then
// address), so each run of one service is checked against its range in the map.
// Any other shape of `wanted` is answered false (the full update then decides).
bool unchanged(const std::map<BackendKey, std::uint32_t>& ids, const std::vector<BackendKey>& wanted,
               std::uint32_t capacity) {
    if (ids.size() != wanted.size()) {
        return false;
    }
    std::set<ServiceKey> seen;  // a service in two runs is not the common case
    std::vector<const common::IpAddress*> run;
    for (std::size_t first = 0; first < wanted.size();) {
        const ServiceKey& service = wanted[first].service;
        if (!seen.insert(service).second) {
            return false;
        }
        run.clear();
        std::size_t end = first;
        for (; end < wanted.size() && wanted[end].service == service; ++end) {
            run.push_back(&wanted[end].address);
        }
        std::sort(run.begin(), run.end(), [](const auto* a, const auto* b) { return *a < *b; });
        auto it = ids.lower_bound(BackendKey{service, common::IpAddress{}});
        for (const common::IpAddress* address : run) {  // a duplicate meets the next key: no match
            if (it == ids.end() || !(it->first.service == service) || !(it->first.address == *address) ||
                it->second >= capacity) {
                return false;
            }
            ++it;
        }
        if (it != ids.end() && it->first.service == service) {
            return false;  // the map holds more backends of this service
        }
        first = end;
    }
    return true;
}

// Shared by both id kinds: keep, release, then assign.
template <typename Key>
void reassign(std::map<Key, std::uint32_t>& ids, IdPool& pool, const std::vector<Key>& wanted, std::uint32_t capacity,
              const char* what, const char* limit_name) {
    std::set<Key> keep(wanted.begin(), wanted.end());
    for (auto it = ids.begin(); it != ids.end();) {
        if (!keep.contains(it->first) || it->second >= capacity) {
            pool.release(it->second);
            it = ids.erase(it);
        } else {
            ++it;
        }
    }
    for (const Key& key : wanted) {
        if (ids.contains(key)) {
            continue;
        }
        std::optional<std::uint32_t> id = pool.take(capacity);
        if (!id) {
            throw PlanError("the catalogue needs " + std::to_string(keep.size()) + " " + what + " ids but " +
                            limit_name + " is " + std::to_string(capacity));
        }
        ids.emplace(key, *id);
    }
}

}  // namespace

void IdAllocator::update(const std::vector<ServiceKey>& services, std::uint32_t max_services,
                         const std::vector<BackendKey>& backends, std::uint32_t max_backends) {
    if (unchanged(state().services, services, max_services) && unchanged(state().backends, backends, max_backends)) {
        return;
    }
    State next = state();  // all or nothing
    reassign(next.services, next.service_pool, services, max_services, "service", "limits.max_services");
    reassign(next.backends, next.backend_pool, backends, max_backends, "backend", "limits.max_backends");
    state_ = std::make_shared<const State>(std::move(next));
}

const IdAllocator::State& IdAllocator::state() const {
    static const State kEmpty;
    return state_ ? *state_ : kEmpty;
}

IdAllocator IdAllocator::restore(const std::map<ServiceKey, std::uint32_t>& services,
                                 const std::map<BackendKey, std::uint32_t>& backends) {
    State state;
    state.services = services;
    state.backends = backends;
    // Reserve in id order so that the gaps enter the free queue lowest first.
    std::vector<std::uint32_t> service_ids;
    for (const auto& [key, id] : services) {
        service_ids.push_back(id);
    }
    std::vector<std::uint32_t> backend_ids;
    for (const auto& [key, id] : backends) {
        backend_ids.push_back(id);
    }
    std::sort(service_ids.begin(), service_ids.end());
    std::sort(backend_ids.begin(), backend_ids.end());
    for (std::uint32_t id : service_ids) {
        state.service_pool.reserve(id);
    }
    for (std::uint32_t id : backend_ids) {
        state.backend_pool.reserve(id);
    }
    IdAllocator result;
    result.state_ = std::make_shared<const State>(std::move(state));
    return result;
}

}  // namespace julier::plan
