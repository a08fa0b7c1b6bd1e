// Primality for Maglev ring sizes: every skip in [1, M-1] must be coprime to M,
// which holds for every skip exactly when M is prime. The one implementation:
// the catalogue checks ring sizes with it, the table builder asserts with it.
#pragma once

#include <cstdint>
#include <optional>

namespace julier::maglev {

// Exact for every 32-bit n (deterministic Miller-Rabin).
bool is_prime(std::uint32_t n);

// The smallest prime >= n, or nothing when none fits in 32 bits (n > 4294967291).
std::optional<std::uint32_t> next_prime(std::uint32_t n);

}  // namespace julier::maglev
