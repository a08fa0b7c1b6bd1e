// DNS query encoding and reply decoding, against bytes written out by hand.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "health/dns_message.h"

using namespace julier::health;

namespace {

std::vector<std::uint8_t> bytes(std::initializer_list<int> values) {
    std::vector<std::uint8_t> out;
    for (int v : values) out.push_back(static_cast<std::uint8_t>(v));
    return out;
}

}  // namespace

TEST_CASE("health: encodes a recursive query for one name", "[health]") {
    auto query = encode_dns_query(0x1234, "Example.com", 28);
    REQUIRE(query.error.empty());
    CHECK(query.bytes == bytes({0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,     //
                                7,    'E',  'x',  'a',  'm',  'p',  'l',  'e',  3,    'c',  'o',  'm',  0,  //
                                0x00, 0x1c, 0x00, 0x01}));
    // The final dot changes nothing.
    CHECK(encode_dns_query(0x1234, "Example.com.", 28).bytes == query.bytes);
}

TEST_CASE("health: encodes the root name", "[health]") {
    auto expected = bytes({0, 7, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x02, 0x00, 0x01});
    CHECK(encode_dns_query(7, ".", 2).bytes == expected);
    CHECK(encode_dns_query(7, "", 2).bytes == expected);
}

TEST_CASE("health: refuses names DNS cannot carry", "[health]") {
    CHECK(encode_dns_query(1, "a..b", 1).error == "empty label in DNS name");
    CHECK(encode_dns_query(1, ".a", 1).error == "empty label in DNS name");
    CHECK(encode_dns_query(1, std::string(64, 'x') + ".com", 1).error == "DNS label longer than 63 bytes");
    std::string long_name;
    for (int i = 0; i < 5; ++i) long_name += std::string(60, 'x') + ".";
    CHECK(encode_dns_query(1, long_name, 1).error == "DNS name longer than 255 bytes");
    CHECK(encode_dns_query(1, std::string(63, 'x') + ".com", 1).error.empty());
}

TEST_CASE("health: decodes a reply header and a compressed question", "[health]") {
    // id 0xbeef, QR AA RD RA, rcode 3; one question whose name ends in a pointer to
    // "example.com" written after it (a forward pointer is refused, so the name
    // sits in a first question and the second one points back).
    auto reply = bytes({0xbe, 0xef, 0x85, 0x83, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,  //
                        7,    'e',  'x',  'a',  'm',  'p',  'l',  'e',  3,    'C',  'O',  'M',  0,   0x00,
                        0x01, 0x00, 0x01, 3,    'w',  'w',  'w',  0xc0, 12,   0x00, 0x1c, 0x00, 0x01});
    std::string error;
    auto message = decode_dns_message(reply, &error);
    REQUIRE(message);
    const auto& h = message->header;
    CHECK(h.id == 0xbeef);
    CHECK(h.response);
    CHECK(h.opcode == 0);
    CHECK(h.authoritative);
    CHECK_FALSE(h.truncated);
    CHECK(h.recursion_desired);
    CHECK(h.recursion_available);
    CHECK(h.rcode == 3);
    CHECK(h.answers == 1);
    REQUIRE(message->questions.size() == 2);
    CHECK(message->questions[0] == DnsQuestion{"example.com.", 1, 1});
    CHECK(message->questions[1] == DnsQuestion{"www.example.com.", 28, 1});
}

TEST_CASE("health: refuses malformed replies", "[health]") {
    std::string error;
    CHECK_FALSE(decode_dns_message(bytes({0, 1, 0x80, 0}), &error));
    CHECK(error == "message shorter than a DNS header");

    auto loop = bytes({0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1});
    CHECK_FALSE(decode_dns_message(loop, &error));
    CHECK(error == "question 1: bad compression pointer");

    auto cut = bytes({0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7, 'e', 'x', 'a'});
    CHECK_FALSE(decode_dns_message(cut, &error));
    CHECK(error == "question 1: label runs past the end of the message");

    auto no_type = bytes({0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0});
    CHECK_FALSE(decode_dns_message(no_type, &error));
    CHECK(error == "question 1 is truncated");
}

TEST_CASE("health: names of rcodes and types", "[health]") {
    CHECK(dns_rcode_name(0) == "NOERROR");
    CHECK(dns_rcode_name(2) == "SERVFAIL");
    CHECK(dns_rcode_name(3) == "NXDOMAIN");
    CHECK(dns_rcode_name(5) == "REFUSED");
    CHECK(dns_rcode_name(12) == "RCODE12");
    CHECK(dns_type_name(1) == "A");
    CHECK(dns_type_name(28) == "AAAA");
    CHECK(dns_type_name(99) == "TYPE99");
    CHECK(canonical_dns_name("WWW.Example.ORG") == "www.example.org.");
    CHECK(canonical_dns_name(".") == ".");
}
