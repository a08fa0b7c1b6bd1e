// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash with a fixed,
// published definition, so every host derives the same Maglev permutations.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace julier::maglev {

// The 128-bit key as 16 bytes, read little-endian as (k0, k1) exactly as the
// reference implementation does.
using SipKey = std::array<std::uint8_t, 16>;

std::uint64_t siphash24(const SipKey& key, std::span<const std::uint8_t> message);
std::uint64_t siphash24(const SipKey& key, std::string_view message);

}  // namespace julier::maglev
