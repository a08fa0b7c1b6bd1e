#include "maglev/prime.h"

#include <array>
#include <stdexcept>
#include <string>

namespace julier::maglev {
namespace {

using u128 = unsigned __int128;

std::uint64_t mul_mod(std::uint64_t a, std::uint64_t b, std::uint64_t m) {
    if (m <= 0xffffffffULL) {
        return a * b % m;  // a, b < m < 2^32: no 128-bit division needed
    }
    return static_cast<std::uint64_t>(static_cast<u128>(a) * b % m);
}

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

// The first twelve primes: as trial divisors they settle small n, and as
// Miller-Rabin bases they are proven sufficient for every n < 3.3e24 > 2^64.
constexpr std::array<std::uint64_t, 12> kSmallPrimes{2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};

}  // namespace

bool is_prime(std::uint64_t n) {
    if (n < 2) {
        return false;
    }
    for (std::uint64_t p : kSmallPrimes) {
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
    if (n < 4'759'123'141ULL) {
        // Bases 2, 7 and 61 are proven sufficient below this bound (Jaeschke 1993),
        // which covers every ring size: ring sizes are checked on every build.
        for (std::uint64_t a : {2ULL, 7ULL, 61ULL}) {
            if (!passes_strong_test(n, d, r, a)) {
                return false;
            }
        }
        return true;
    }
    for (std::uint64_t a : kSmallPrimes) {
        if (!passes_strong_test(n, d, r, a)) {
            return false;
        }
    }
    return true;
}

std::uint64_t next_prime(std::uint64_t n) {
    if (n > kLargestPrime64) {
        throw std::overflow_error("next_prime: no 64-bit prime is >= " + std::to_string(n));
    }
    if (n <= 2) {
        return 2;
    }
    std::uint64_t candidate = n | 1;  // even numbers above 2 are never prime
    while (!is_prime(candidate)) {
        candidate += 2;  // cannot pass kLargestPrime64, which is prime
    }
    return candidate;
}

}  // namespace julier::maglev
