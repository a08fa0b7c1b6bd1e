// Frames for the packet fuzzer. Frame i of seed s is a pure function of (s, i): its
// own random stream, its category chosen round-robin, so one frame can be made again
// from its seed and index alone.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string_view>

#include "catalogue.h"
#include "packet.h"

namespace julier::fuzz {

#define JL_FUZZ_CATEGORIES(X)                                                            \
    X(random_bytes)      /* random bytes, half with an IP-ish ethertype */               \
    X(tiny)              /* 0..60 bytes: random, or a valid frame cut short */           \
    X(jumbo)             /* valid frames at and just over the largest test-run size */   \
    X(valid)             /* unmutated frames of every service, and of no service */      \
    X(truncate_boundary) /* cut at, before or after a header boundary */                 \
    X(truncate_random)   /* cut at a random point */                                     \
    X(ip_length)         /* IPv4 total length / IPv6 payload length too short or long */ \
    X(bad_ihl)           /* IHL 0..15, with and without options */                       \
    X(ipv4_fragment)     /* MF / offset / DF combinations, first and later fragments */  \
    X(ipv6_ext)          /* extension chains: long, looping, cut, unknown next header */ \
    X(vlan_stack)        /* 802.1Q / 802.1ad / 0x9100 tag stacks */                      \
    X(icmp_error)        /* ICMP errors quoting flows, garbage, cut or nested quotes */  \
    X(tcp_data_offset)   /* TCP data offset 0..15 */                                     \
    X(bit_flip)          /* random bit flips over valid frames */

enum class Category {
#define JL_FUZZ_CAT_ENUM(name) name,
    JL_FUZZ_CATEGORIES(JL_FUZZ_CAT_ENUM)
#undef JL_FUZZ_CAT_ENUM
        count
};

std::string_view category_name(Category c);
constexpr size_t kCategories = size_t(Category::count);

class Generator {
public:
    // linear_frame / max_frame: the largest frame the program sees whole / the kernel takes.
    Generator(const Catalogue& cat, size_t linear_frame, size_t max_frame)
        : cat_(cat), linear_frame_(linear_frame), max_frame_(max_frame) {}

    Category category(uint64_t index) const { return Category(index % kCategories); }
    test::Bytes frame(uint64_t seed, uint64_t index) const;

private:
    using Rng = std::mt19937_64;
    test::Bytes make(Category c, Rng& rng) const;
    // payload: its size, else a random one.
    test::Packet valid_packet(Rng& rng, bool allow_ext, std::optional<size_t> payload = std::nullopt) const;
    test::Bytes icmp_error(Rng& rng) const;
    test::Bytes quote(Rng& rng, int family, int depth) const;

    const Catalogue& cat_;
    size_t linear_frame_, max_frame_;
};

}  // namespace julier::fuzz
