// An IPv4 or IPv6 address as a plain, ordered value.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace julier::common {

struct IpAddress {
    // 4 or 6; 0 only in a default-constructed (unset) value.
    std::uint8_t family = 0;
    // Network byte order. IPv4 uses bytes[0..3] and leaves the rest zero, the same
    // layout as the addr[4] words of the BPF map keys.
    std::array<std::uint8_t, 16> bytes{};

    // Accepts dotted-quad IPv4 or RFC 4291 IPv6 text; no zone ids, no prefixes,
    // no surrounding blanks.
    static std::optional<IpAddress> parse(std::string_view text);
    static IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);

    bool is_v4() const { return family == 4; }
    bool is_v6() const { return family == 6; }
    // Neither unset, nor unspecified (0.0.0.0, ::), multicast or 255.255.255.255.
    bool is_unicast() const;

    // Canonical text: dotted quad, or RFC 5952 IPv6.
    std::string to_string() const;

    // Family, then the bytes in order (as a defaulted <=> would), compared as two
    // big-endian words: maps keyed by addresses do this a lot, and memcmp is slower.
    std::strong_ordering operator<=>(const IpAddress& other) const {
        if (auto c = family <=> other.family; c != 0) {
            return c;
        }
        auto words = [](const std::array<std::uint8_t, 16>& b) {
            std::uint64_t hi = 0;
            std::uint64_t lo = 0;
            for (int i = 0; i < 8; ++i) {
                hi = (hi << 8) | b[i];
                lo = (lo << 8) | b[8 + i];
            }
            return std::pair{hi, lo};
        };
        return words(bytes) <=> words(other.bytes);
    }
    bool operator==(const IpAddress& other) const { return family == other.family && bytes == other.bytes; }
};

// An address and a port: "198.18.0.1:9641" or "[2001:db8::1]:9641".
struct Endpoint {
    IpAddress address;
    std::uint16_t port = 0;

    // The text form above; IPv6 only in brackets, ports 0-65535 in decimal.
    static std::optional<Endpoint> parse(std::string_view text);
    std::string to_string() const;
};

}  // namespace julier::common
