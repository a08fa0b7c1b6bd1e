#include "maglev/maglev.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>

namespace julier::maglev {
namespace {

using detail::Cursor;
using detail::IdentityKey;
using detail::Occupancy;

// x mod m for any 64-bit x without a division (Barrett reduction): q is
// floor(x / m) or one less, so one correction step suffices.
class Reducer {
public:
    explicit Reducer(std::uint32_t m) : m_(m), mu_(std::numeric_limits<std::uint64_t>::max() / m) {}
    std::uint64_t mod(std::uint64_t x) const {
        const auto q = static_cast<std::uint64_t>((static_cast<unsigned __int128>(x) * mu_) >> 64);
        const std::uint64_t r = x - q * m_;
        return r >= m_ ? r - m_ : r;
    }

private:
    std::uint64_t m_;
    std::uint64_t mu_;
};

// Inverse of a modulo the prime m (extended Euclid); a in [1, m-1].
std::uint32_t inverse_mod(std::uint32_t a, std::uint32_t m) {
    std::int64_t t = 0, new_t = 1;
    std::int64_t r = m, new_r = a;
    while (new_r != 0) {
        const std::int64_t q = r / new_r;
        t = std::exchange(new_t, t - q * new_t);
        r = std::exchange(new_r, r - q * new_r);
    }
    return static_cast<std::uint32_t>(t < 0 ? t + m : t);
}

// Big-endian words compare like the bytes they hold.
std::uint64_t load_be64(const unsigned char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::little) {
        v = __builtin_bswap64(v);
    }
    return v;
}

IdentityKey identity_key(std::string_view identity, std::uint32_t index) {
    unsigned char bytes[16] = {};
    std::memcpy(bytes, identity.data(), std::min(identity.size(), sizeof bytes));
    return IdentityKey{{load_be64(bytes), load_be64(bytes + 8)}, index};
}

// Levels of the weight schedule: a backend of level L is visited every 2^L rounds
// and earns weight << L per visit, between half a turn and one turn.
constexpr int kLevels = std::countr_zero(kWeightUnit) + 1;

// The largest L with weight << L <= kWeightUnit; weight in [1, kWeightUnit].
// Shifting by kLevels - bit_width puts the weight's top bit on kWeightUnit's bit,
// which overshoots unless the weight is a power of two.
int level_of(std::uint32_t weight) {
    const int level = kLevels - static_cast<int>(std::bit_width(weight));
    return (weight & (weight - 1)) == 0 ? level : level - 1;
}

// The schedule of turns: cursors sorted by (level, identity); ends[L] = the number
// of cursors of level <= L. Round r visits the levels L with r mod 2^L == 0, which
// are always a prefix of the cursors. Rounds where no cursor is due are skipped
// (only multiples of 2^lowest_level are visited).
struct Schedule {
    std::span<Cursor> cursors;
    std::array<std::size_t, kLevels> ends;
    int lowest_level;
    bool equal_weights;  // every cursor takes one turn per visited round
};

// Where the sequence of turns stands, so that a phase can stop after any turn and
// the next phase carries on with exactly the turn that comes next.
struct TurnPosition {
    std::uint64_t round = 0;  // unused with equal weights
    std::size_t next = 0;     // the cursor to visit next in that round
};

// Gives the turns in schedule order and calls claim(cursor) for each; stops right
// after a claim that returns true.
template <bool kEqualWeights, typename Claim>
void run_turns(const Schedule& schedule, TurnPosition& at, Claim& claim) {
    Cursor* const first = schedule.cursors.data();
    if constexpr (kEqualWeights) {
        // Same level, same earnings: the rounds where they take turns are rounds
        // where all of them do, so the credit arithmetic can be left out.
        Cursor* const last = first + schedule.cursors.size();
        for (Cursor* c = first + at.next;; c = first) {
            for (; c != last; ++c) {
                if (claim(*c)) {
                    at.next = static_cast<std::size_t>(c - first) + 1;
                    return;
                }
            }
        }
    } else {
        const std::uint64_t step = std::uint64_t{1} << schedule.lowest_level;
        std::uint64_t round = at.round;
        for (Cursor* c = first + at.next;; c = first, round += step) {
            const int due = round == 0 ? kLevels - 1 : std::min(std::countr_zero(round), kLevels - 1);
            Cursor* const end = first + schedule.ends[static_cast<std::size_t>(due)];
            for (; c < end; ++c) {
                c->credit += c->earn;  // < 2 * kWeightUnit: at most one turn per visit
                if (c->credit >= kWeightUnit) {
                    c->credit -= kWeightUnit;
                    if (claim(*c)) {
                        at = TurnPosition{round, static_cast<std::size_t>(c - first) + 1};
                        return;
                    }
                }
            }
        }
    }
}

template <typename Claim>
void run_turns(const Schedule& schedule, TurnPosition& at, Claim& claim) {
    if (schedule.equal_weights) {
        run_turns<true>(schedule, at, claim);
    } else {
        run_turns<false>(schedule, at, claim);
    }
}

// Phase 1: each turn walks its permutation to the first free slot, looking at
// kWidth (2 or 4) slots per step: independent loads and one branch per step, the
// first free one chosen without branching. Two suit a sparse table, where most
// walks end at once; four a fuller one, where fewer steps mean fewer mispredicted
// loop exits. Add-and-wrap replaces the modulo (slot + skip < 2M <= 2^32).
// Walks until `stop` slots are left (at least one turn) and returns the slots left.
// Not inlined: on its own, the hot loop keeps all of its state in registers.
template <int kWidth>
[[gnu::noinline]] std::uint32_t walk_phase(const Schedule& schedule, TurnPosition& at, std::span<Occupancy> taken_map,
                                           std::span<std::int32_t> table, std::uint32_t remaining, std::uint32_t stop) {
    static_assert(kWidth == 2 || kWidth == 4);
    Occupancy* const taken = taken_map.data();
    std::int32_t* const out = table.data();
    const auto m = static_cast<std::uint32_t>(table.size());
    // One countdown instead of remaining and stop: the hot loop is short of registers.
    std::uint32_t budget = remaining > stop ? remaining - stop : 1;
    const std::uint32_t turns = budget;
    // s mod M for s < 2M: s - M wraps above s exactly when s < M. Written as a min
    // so that the compiler emits a conditional move, not an unpredictable branch.
    const auto wrap = [m](std::uint32_t s) { return std::min(s, s - m); };
    const auto busy = [taken](std::uint32_t s) { return static_cast<unsigned>(taken[s]); };
    // a if it is free, else b; no branch.
    const auto first_free = [](std::uint32_t a, unsigned a_busy, std::uint32_t b) {
        return a ^ ((a ^ b) & (0u - a_busy));
    };
    auto claim = [&](Cursor& c) {
        const std::uint32_t skip = c.skip;
        const std::uint32_t skip2 = c.skip2;
        std::uint32_t p0 = c.slot;
        std::uint32_t slot;
        if constexpr (kWidth == 2) {
            for (;;) {
                const std::uint32_t p1 = wrap(p0 + skip);
                const unsigned b0 = busy(p0);
                if ((b0 & busy(p1)) == 0) {
                    slot = first_free(p0, b0, p1);
                    break;
                }
                p0 = wrap(p0 + skip2);
            }
        } else {
            const std::uint32_t skip3 = wrap(skip2 + skip);
            const std::uint32_t skip4 = wrap(skip2 + skip2);
            for (;;) {
                const std::uint32_t p1 = wrap(p0 + skip);
                const std::uint32_t p2 = wrap(p0 + skip2);
                const std::uint32_t p3 = wrap(p0 + skip3);
                const unsigned b0 = busy(p0), b1 = busy(p1), b2 = busy(p2);
                if ((b0 & b1 & b2 & busy(p3)) == 0) {
                    slot = first_free(p0, b0, first_free(p1, b1, first_free(p2, b2, p3)));
                    break;
                }
                p0 = wrap(p0 + skip4);
            }
        }
        taken[slot] = Occupancy::taken;
        out[slot] = c.index;
        c.slot = wrap(slot + skip);
        return --budget == 0;
    };
    run_turns(schedule, at, claim);
    return remaining - turns;
}

// Phase 2, for the last few free slots, where walks would be long: a turn takes the
// free slot that comes first in the cursor's permutation. Slot f comes at position
// (f - start) * skip^-1 mod M after the cursor's start slot; every free slot lies
// ahead of c.slot, because every slot a walk passed over was already taken.
[[gnu::noinline]] void pick_phase(const Schedule& schedule, TurnPosition& at, std::vector<std::uint32_t>& free_slots,
                                  std::span<std::uint32_t> inverses, std::span<std::int32_t> table) {
    const auto m = static_cast<std::uint32_t>(table.size());
    const Reducer reduce(m);
    std::fill(inverses.begin(), inverses.end(), 0);  // 0 = not computed yet
    auto claim = [&](Cursor& c) {
        std::uint32_t& inverse = inverses[static_cast<std::size_t>(&c - schedule.cursors.data())];
        if (inverse == 0) {
            inverse = inverse_mod(c.skip, m);
        }
        const std::uint64_t shift = m - c.slot;  // (f - c.slot) mod M == (f + shift) mod M
        std::uint64_t best = std::numeric_limits<std::uint64_t>::max();
        for (std::size_t k = 0; k < free_slots.size(); ++k) {
            const std::uint64_t position = reduce.mod((free_slots[k] + shift) * inverse);
            best = std::min(best, position << 32 | k);  // positions are distinct
        }
        const auto k = static_cast<std::size_t>(best & 0xffffffffu);
        const std::uint32_t slot = free_slots[k];
        free_slots[k] = free_slots.back();
        free_slots.pop_back();
        table[slot] = c.index;
        c.slot = slot;
        return free_slots.empty();
    };
    run_turns(schedule, at, claim);
}

void fill_table(const Schedule& schedule, std::span<Occupancy> taken, std::vector<std::uint32_t>& free_slots,
                std::span<std::uint32_t> inverses, std::span<std::int32_t> table) {
    // The switch at about sqrt(M) free slots balances a walk's expected length,
    // M / free, against the cost of looking at every free slot.
    const auto m = static_cast<std::uint32_t>(table.size());
    std::uint32_t switch_at = 1;
    while (std::uint64_t{switch_at} * switch_at < m) {
        ++switch_at;
    }
    TurnPosition at;
    std::fill(taken.begin(), taken.end(), Occupancy::free);
    std::uint32_t left = walk_phase<2>(schedule, at, taken, table, m, std::max(m / 2, switch_at));
    if (left > switch_at) {
        left = walk_phase<4>(schedule, at, taken, table, left, switch_at);
    }
    if (left == 0) {
        return;
    }
    free_slots.clear();
    std::uint32_t s = 0;
    for (; s + 8 <= m; s += 8) {  // eight slots at a time: nearly all are taken
        std::uint64_t eight;
        std::memcpy(&eight, &taken[s], sizeof eight);
        if (eight != 0x0101010101010101ULL) {
            for (std::uint32_t k = s; k < s + 8; ++k) {
                if (taken[k] == Occupancy::free) {
                    free_slots.push_back(k);
                }
            }
        }
    }
    for (; s < m; ++s) {
        if (taken[s] == Occupancy::free) {
            free_slots.push_back(s);
        }
    }
    pick_phase(schedule, at, free_slots, inverses, table);
}

}  // namespace

void check_ring_size(std::uint64_t ring_size) {
    if (ring_size > kMaxRingSize) {
        throw std::invalid_argument(
            fmt::format("maglev: ring size {} is above the maximum {}", ring_size, kMaxRingSize));
    }
    // At most kMaxRingSize, itself prime, so a next prime exists.
    const auto size = static_cast<std::uint32_t>(ring_size);
    if (!is_prime(size)) {
        throw std::invalid_argument(
            fmt::format("maglev: ring size {} is not prime (next prime: {})", ring_size, *next_prime(size)));
    }
}

Permutation permutation(std::string_view identity, std::uint32_t ring_size) {
    return Permutation{
        static_cast<std::uint32_t>(siphash24(kOffsetKey, identity) % ring_size),
        static_cast<std::uint32_t>(siphash24(kSkipKey, identity) % (ring_size - 1) + 1),
    };
}

// The weight schedule (docs/maglev.md). A backend of weight w and level L (the
// largest L with w << L <= kWeightUnit) is visited in every round r with
// r mod 2^L == 0, earns w << L credit per visit, and takes a turn whenever its
// credit reaches kWeightUnit: w / kWeightUnit turns per round on average. Within a
// round, visits go by level, then identity. A turn claims the backend's next free
// preferred slot; the table is full after M turns.
//
// A backend's turns depend on its own weight and identity only, so removing or
// reweighting one backend leaves the order of everyone else's turns as it was; that
// keeps the churn at that of unweighted Maglev. With equal weights every backend
// takes its turns in the same rounds, in identity order: exactly the paper's table.
void TableBuilder::build(std::span<const Backend> backends, std::span<std::int32_t> table) {
    check_ring_size(table.size());
    if (backends.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
        throw std::invalid_argument(fmt::format("maglev: {} backends exceed the maximum {}", backends.size(),
                                                std::numeric_limits<std::int32_t>::max()));
    }

    std::size_t active = 0;
    std::uint32_t first_weight = 0;
    bool equal_weights = true;
    for (const Backend& b : backends) {
        if (b.weight > kMaxWeight) {
            throw std::invalid_argument(fmt::format("maglev: backend \"{}\" has weight {}, above the maximum {}",
                                                    b.identity, b.weight, kMaxWeight));
        }
        if (b.weight != 0) {
            first_weight = first_weight == 0 ? b.weight : first_weight;
            equal_weights = equal_weights && b.weight == first_weight;
            ++active;
        }
    }

    // Identity order makes the table independent of the caller's order; it also
    // puts duplicates next to each other.
    order_.clear();
    for (std::size_t i = 0; i < backends.size(); ++i) {
        order_.push_back(identity_key(backends[i].identity, static_cast<std::uint32_t>(i)));
    }
    std::sort(order_.begin(), order_.end(), [&](const IdentityKey& a, const IdentityKey& b) {
        if (a.prefix[0] != b.prefix[0]) {
            return a.prefix[0] < b.prefix[0];
        }
        if (a.prefix[1] != b.prefix[1]) {
            return a.prefix[1] < b.prefix[1];
        }
        return backends[a.index].identity < backends[b.index].identity;
    });
    for (std::size_t i = 1; i < order_.size(); ++i) {
        const std::string_view identity = backends[order_[i].index].identity;
        if (backends[order_[i - 1].index].identity == identity) {
            throw std::invalid_argument(fmt::format("maglev: backend identity \"{}\" is given twice", identity));
        }
    }

    if (active == 0) {
        std::fill(table.begin(), table.end(), kEmptySlot);
        return;
    }

    // Cursors in (level, identity) order: a stable counting sort by level.
    Schedule schedule{};
    schedule.equal_weights = equal_weights;
    std::array<std::size_t, kLevels> per_level{};
    for (const Backend& b : backends) {
        if (b.weight != 0) {
            ++per_level[static_cast<std::size_t>(level_of(b.weight))];
        }
    }
    std::array<std::size_t, kLevels> next{};
    std::size_t sum = 0;
    schedule.lowest_level = kLevels;
    for (int level = 0; level < kLevels; ++level) {
        const auto l = static_cast<std::size_t>(level);
        if (per_level[l] != 0 && schedule.lowest_level == kLevels) {
            schedule.lowest_level = level;
        }
        next[l] = sum;
        sum += per_level[l];
        schedule.ends[l] = sum;
    }

    const auto m = static_cast<std::uint32_t>(table.size());
    const Reducer mod_m(m);
    const Reducer mod_m_minus_1(m - 1);
    cursors_.resize(active);
    for (const IdentityKey& key : order_) {
        const Backend& b = backends[key.index];
        if (b.weight == 0) {
            continue;
        }
        const int level = level_of(b.weight);
        // Same values as permutation(), without two divisions per backend.
        const auto offset = static_cast<std::uint32_t>(mod_m.mod(siphash24(kOffsetKey, b.identity)));
        const auto skip = static_cast<std::uint32_t>(mod_m_minus_1.mod(siphash24(kSkipKey, b.identity)) + 1);
        cursors_[next[static_cast<std::size_t>(level)]++] = Cursor{
            .credit = 0,
            .earn = b.weight << level,
            .slot = offset,
            .skip = skip,
            .skip2 = skip >= m - skip ? skip - (m - skip) : skip + skip,
            .index = static_cast<std::int32_t>(key.index),
        };
    }
    if (active == 1) {
        std::fill(table.begin(), table.end(), cursors_.front().index);  // it takes every turn
        return;
    }
    schedule.cursors = cursors_;

    // Phases with identical results: walk_phase while many slots are free,
    // pick_phase for the last few.
    taken_.resize(m);
    inverse_.resize(cursors_.size());
    fill_table(schedule, taken_, free_, inverse_, table);
}

std::vector<std::int32_t> build_table(std::span<const Backend> backends, std::uint32_t ring_size) {
    check_ring_size(ring_size);
    std::vector<std::int32_t> table(ring_size);
    build_table(backends, table);
    return table;
}

void build_table(std::span<const Backend> backends, std::span<std::int32_t> table) {
    thread_local TableBuilder builder;
    builder.build(backends, table);
}

}  // namespace julier::maglev
