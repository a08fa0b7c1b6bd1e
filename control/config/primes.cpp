#include "config/primes.h"

namespace julier::config {

bool is_prime(std::uint32_t n) {
    if (n < 2) return false;
    if (n % 2 == 0) return n == 2;
    if (n % 3 == 0) return n == 3;
    // Trial division by 6k +- 1 up to sqrt(n) < 65536: at most ~22000 steps.
    for (std::uint64_t d = 5; d * d <= n; d += 6)
        if (n % d == 0 || n % (d + 2) == 0) return false;
    return true;
}

std::optional<std::uint32_t> next_prime(std::uint32_t n) {
    for (std::uint64_t c = n; c <= UINT32_MAX; ++c)
        if (is_prime(static_cast<std::uint32_t>(c))) return static_cast<std::uint32_t>(c);
    return std::nullopt;
}

}  // namespace julier::config
