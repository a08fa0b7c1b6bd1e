// Primality for Maglev ring sizes (a ring must have a prime number of slots so
// that every backend's permutation visits every slot).
#pragma once

#include <cstdint>
#include <optional>

namespace julier::config {

bool is_prime(std::uint32_t n);

// The smallest prime >= n, or nothing if it does not fit in 32 bits.
std::optional<std::uint32_t> next_prime(std::uint32_t n);

}  // namespace julier::config
