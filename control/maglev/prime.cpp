#include "maglev/prime.h"

#include <array>

namespace julier::maglev {
namespace {

// a, b < m < 2^32: the product fits in 64 bits.
std::uint64_t mul_mod(std::uint64_t a, std::uint64_t b, std::uint64_t m) { return a * b % m; }

std::uint64_t pow_mod(std::uint64_t base, std::uint64_t exp, std::uint64_t m) {
    std::uint64_t result = 1;
    base %= m;
    while (exp != 0) {
        if (exp & 1) {
            result = mul_mod(result, base, m);
        }
        base = mul_mod(base, base, m);
        exp >>= 1;
    }
    return result;
}

// One strong-probable-prime round; n odd, n > a, n - 1 = d * 2^r with d odd.
bool passes_strong_test(std::uint64_t n, std::uint64_t d, int r, std::uint64_t a) {
    std::uint64_t x = pow_mod(a, d, n);
    if (x == 1 || x == n - 1) {
        return true;
    }
    for (int i = 1; i < r; ++i) {
        x = mul_mod(x, x, n);
        if (x == n - 1) {
            return true;
        }
    }
    return false;
}

// As trial divisors they settle small n; 2, 7 and 61 are the Miller-Rabin bases.
constexpr std::array<std::uint32_t, 12> kSmallPrimes{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};

}  // namespace

bool is_prime(std::uint32_t n) {
    if (n < 2) {
        return false;
    }
    for (std::uint32_t p : kSmallPrimes) {
        if (n % p == 0) {
            return n == p;
        }
    }
    if (n < 41 * 41) {
        return true;  // no factor up to 37, and any composite below 41^2 would have one
    }
    std::uint64_t d = n - 1;
    int r = 0;
    while ((d & 1) == 0) {
        d >>= 1;
        ++r;
    }
    // Bases 2, 7 and 61 are proven sufficient below 4 759 123 141 > 2^32 (Jaeschke 1993).
    for (std::uint64_t a : {2ULL, 7ULL, 61ULL}) {
        if (!passes_strong_test(n, d, r, a)) {
            return false;
        }
    }
    return true;
}

std::optional<std::uint32_t> next_prime(std::uint32_t n) {
    for (std::uint64_t candidate = n; candidate <= UINT32_MAX; ++candidate) {
        if (is_prime(static_cast<std::uint32_t>(candidate))) {
            return static_cast<std::uint32_t>(candidate);
        }
    }
    return std::nullopt;
}

}  // namespace julier::maglev
