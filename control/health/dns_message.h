// The little of RFC 1035 a DNS health check needs: encode one query, decode the
// header and question section of a reply (compressed names included). Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace julier::health {

inline constexpr std::uint16_t kDnsClassIn = 1;

struct DnsHeader {
    std::uint16_t id = 0;
    bool response = false;  // QR
    std::uint8_t opcode = 0;
    bool authoritative = false;        // AA
    bool truncated = false;            // TC
    bool recursion_desired = false;    // RD
    bool recursion_available = false;  // RA
    std::uint8_t rcode = 0;
    std::uint16_t questions = 0;
    std::uint16_t answers = 0;
    std::uint16_t authorities = 0;
    std::uint16_t additionals = 0;
};

struct DnsQuestion {
    std::string name;  // lower case, dot-separated, with the final dot: "example.com.", "."
    std::uint16_t type = 0;
    std::uint16_t qclass = kDnsClassIn;

    bool operator==(const DnsQuestion&) const = default;
};

struct DnsMessage {
    DnsHeader header;
    std::vector<DnsQuestion> questions;
};

// A standard query (opcode 0, RD set) for one name, type and class IN. The name is
// dot-separated text, the final dot optional, "." or "" for the root; labels of
// 1-63 bytes, at most 255 bytes in wire form. Returns the error on a bad name.
struct DnsQuery {
    std::vector<std::uint8_t> bytes;
    std::string error;
};
DnsQuery encode_dns_query(std::uint16_t id, std::string_view name, std::uint16_t type);

// Header and questions of a message; answers are not parsed. nullopt on a
// malformed message, with the reason in *error when given.
std::optional<DnsMessage> decode_dns_message(std::span<const std::uint8_t> bytes, std::string* error = nullptr);

// The name as decode_dns_message() spells it ("Example.COM" -> "example.com.").
std::string canonical_dns_name(std::string_view name);

// "NOERROR", "NXDOMAIN", ...; "RCODE12" for unnamed ones.
std::string dns_rcode_name(std::uint8_t rcode);
// "A", "AAAA", ...; "TYPE65" for unnamed ones.
std::string dns_type_name(std::uint16_t type);

}  // namespace julier::health
