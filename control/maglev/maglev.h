// Weighted Maglev lookup tables (Eisenbud et al., "Maglev: A Fast and Reliable
// Software Network Load Balancer", NSDI 2016, section 3.4). Pure: no I/O, no global
// state visible to callers. The algorithm, hash, seeds and weight scheme are
// specified in docs/maglev.md; changing any of them changes every table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "maglev/prime.h"
#include "maglev/siphash.h"

namespace julier::maglev {

struct Backend {
    // Stable name that seeds the backend's permutation, e.g. "198.18.0.20". Compared
    // and hashed as raw bytes; must be unique within one table.
    std::string_view identity;
    // Relative share of slots; 0 = no slots.
    std::uint32_t weight;
};

inline constexpr std::int32_t kEmptySlot = -1;

// Largest accepted weight: ample (a ratio of 10^6 between two backends is beyond
// the resolution of any ring) and no more than kWeightUnit, as the weight schedule
// requires.
inline constexpr std::uint32_t kMaxWeight = 1'000'000;

// The weight schedule's credit for one turn (docs/maglev.md): a backend of weight w
// takes w / kWeightUnit turns per round. A power of two, so that doubling every
// weight leaves the table unchanged.
inline constexpr std::uint32_t kWeightUnit = 1u << 20;
static_assert(kMaxWeight <= kWeightUnit);

// Largest accepted ring size: 2^31 - 1 (a prime), so that slot + skip < 2^32.
inline constexpr std::uint32_t kMaxRingSize = 2'147'483'647u;

// SipHash-2-4 keys of the two permutation hashes: the ASCII bytes of
// "julier maglev of" (offset) and "julier maglev sk" (skip).
inline constexpr SipKey kOffsetKey{'j', 'u', 'l', 'i', 'e', 'r', ' ', 'm', 'a', 'g', 'l', 'e', 'v', ' ', 'o', 'f'};
inline constexpr SipKey kSkipKey{'j', 'u', 'l', 'i', 'e', 'r', ' ', 'm', 'a', 'g', 'l', 'e', 'v', ' ', 's', 'k'};

// A backend's preference list in a ring of M slots: the j-th preferred slot is
// (offset + j * skip) mod M, which visits every slot once when M is prime.
struct Permutation {
    std::uint32_t offset;  // siphash24(kOffsetKey, identity) mod M
    std::uint32_t skip;    // siphash24(kSkipKey, identity) mod (M - 1) + 1
};

// Requires a valid ring size (see check_ring_size).
Permutation permutation(std::string_view identity, std::uint32_t ring_size);

// Throws std::invalid_argument unless ring_size is a prime <= kMaxRingSize.
void check_ring_size(std::uint64_t ring_size);

// table.size() == ring_size; table[i] is an index into `backends`, or kEmptySlot in
// every slot when the total weight is 0. The table depends only on the set of
// (identity, weight) pairs, not on their order in `backends`.
// Throws std::invalid_argument for an invalid ring size, a weight above kMaxWeight or
// an identity given twice, before writing anything.
std::vector<std::int32_t> build_table(std::span<const Backend> backends, std::uint32_t ring_size);

// Same, writing into caller storage whose size is the ring size. Uses a per-thread
// TableBuilder, so it does not allocate once that builder has grown to the size.
void build_table(std::span<const Backend> backends, std::span<std::int32_t> table);

namespace detail {
// Fill state of one backend with weight > 0, kept to 24 bytes for the hot loop.
struct Cursor {
    std::uint32_t credit;  // earned and not yet spent on turns; < kWeightUnit between visits
    std::uint32_t earn;    // credit per visit: weight << level, in (kWeightUnit / 2, kWeightUnit]
    std::uint32_t slot;    // next slot of its permutation not yet looked at
    std::uint32_t skip;
    std::uint32_t skip2;  // 2 * skip mod M, for looking at two slots per step
    std::int32_t index;   // position in the caller's span
};

// Sort key of a backend: the first 16 bytes of its identity, zero padded, as two
// big-endian words; most comparisons end here without touching the strings.
struct IdentityKey {
    std::uint64_t prefix[2];
    std::uint32_t index;  // position in the caller's span
};

// One byte per slot. An enum, not a character type, so that stores to it cannot
// alias anything else and the compiler keeps the fill state in registers.
enum class Occupancy : std::uint8_t { free = 0, taken = 1 };
}  // namespace detail

// Builds tables with reusable scratch memory: after the first call of a given
// size, further calls allocate nothing. One per thread (build() is not reentrant).
class TableBuilder {
public:
    void build(std::span<const Backend> backends, std::span<std::int32_t> table);

private:
    std::vector<detail::IdentityKey> order_;  // backends sorted by identity
    std::vector<detail::Cursor> cursors_;
    std::vector<detail::Occupancy> taken_;  // a byte per slot: fewer instructions than bits
    std::vector<std::uint32_t> free_;       // free slots, once few are left
    std::vector<std::uint32_t> inverse_;    // skip^-1 mod M per cursor, 0 = not yet computed
};

}  // namespace julier::maglev
