// A service's Maglev ring as the plan holds it: the backend id of each slot, in
// storage shared between plans. make_plan hands a service whose ring inputs did not
// change the previous plan's ring, so "the same ring" is a pointer compare for the
// writer; == still compares contents, so a Plan stays a plain value.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace julier::plan {

class Ring {
public:
    Ring() = default;
    Ring(std::vector<std::uint32_t> slots);  // NOLINT: a ring is its slots

    std::size_t size() const { return slots_ ? slots_->size() : 0; }
    bool empty() const { return size() == 0; }
    std::uint32_t operator[](std::size_t slot) const { return (*slots_)[slot]; }
    const std::uint32_t* data() const { return slots_ ? slots_->data() : nullptr; }
    const std::uint32_t* begin() const { return data(); }
    const std::uint32_t* end() const { return data() + size(); }
    const std::vector<std::uint32_t>& slots() const;

    // True when both hold the very same storage (then they are equal).
    bool shares(const Ring& other) const { return slots_ == other.slots_; }

    friend bool operator==(const Ring& a, const Ring& b) {
        return a.shares(b) || (a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()));
    }
    friend bool operator==(const Ring& a, const std::vector<std::uint32_t>& b) {
        return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
    }

private:
    std::shared_ptr<const std::vector<std::uint32_t>> slots_;  // null when empty
};

}  // namespace julier::plan
