// Primality for Maglev ring sizes: every skip in [1, M-1] must be coprime to M,
// which holds for every skip exactly when M is prime.
#pragma once

#include <cstdint>

namespace julier::maglev {

// Largest prime below 2^64 (2^64 - 59); next_prime() of anything above it throws.
inline constexpr std::uint64_t kLargestPrime64 = 18446744073709551557ULL;

// Exact for every 64-bit n (deterministic Miller-Rabin).
bool is_prime(std::uint64_t n);

// Smallest prime >= n. Throws std::overflow_error when n > kLargestPrime64.
std::uint64_t next_prime(std::uint64_t n);

}  // namespace julier::maglev
