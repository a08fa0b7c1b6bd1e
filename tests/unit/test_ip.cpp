// IpAddress: parsing, canonical text, ordering, unicast.
#include <catch2/catch.hpp>

#include <array>

#include "common/ip.h"
#include "common/source_location.h"

using julier::common::IpAddress;
using julier::common::SourceLocation;

TEST_CASE("IPv4 addresses parse into the first four bytes, network order", "[ip]") {
    auto a = IpAddress::parse("198.18.0.20");
    REQUIRE(a);
    CHECK(a->family == 4);
    CHECK(a->is_v4());
    const std::array<std::uint8_t, 16> expected{198, 18, 0, 20};
    CHECK(a->bytes == expected);
    CHECK(a->to_string() == "198.18.0.20");
    CHECK(*a == IpAddress::v4(198, 18, 0, 20));
}

TEST_CASE("IPv6 addresses parse and print in RFC 5952 form", "[ip]") {
    auto a = IpAddress::parse("2001:0DB8:0000:0000:0000:0000:0000:0001");
    REQUIRE(a);
    CHECK(a->family == 6);
    CHECK(a->bytes[0] == 0x20);
    CHECK(a->bytes[1] == 0x01);
    CHECK(a->bytes[2] == 0x0d);
    CHECK(a->bytes[3] == 0xb8);
    CHECK(a->bytes[15] == 0x01);
    CHECK(a->to_string() == "2001:db8::1");
    CHECK(IpAddress::parse("2001:db8:0:0:1:0:0:1")->to_string() == "2001:db8::1:0:0:1");
}

TEST_CASE("malformed addresses are refused", "[ip]") {
    for (const char* bad :
         {"", "198.18.0", "198.18.0.256", "198.18.0.1/32", " 198.18.0.1", "198.18.0.1 ", "2001:db8::1::2",
          "fe80::1%eth0", "[2001:db8::1]", "host.example", "0x1.2.3.4", "2001:db8:0:0:0:0:0:0:1"}) {
        INFO(bad);
        CHECK_FALSE(IpAddress::parse(bad));
    }
    CHECK_FALSE(IpAddress::parse(std::string(100, '1')));
}

TEST_CASE("unicast excludes unspecified, multicast and broadcast", "[ip]") {
    CHECK(IpAddress::parse("198.18.0.1")->is_unicast());
    CHECK(IpAddress::parse("2001:db8::1")->is_unicast());
    CHECK_FALSE(IpAddress::parse("0.0.0.0")->is_unicast());
    CHECK_FALSE(IpAddress::parse("224.0.0.5")->is_unicast());
    CHECK_FALSE(IpAddress::parse("239.255.255.255")->is_unicast());
    CHECK_FALSE(IpAddress::parse("255.255.255.255")->is_unicast());
    CHECK_FALSE(IpAddress::parse("::")->is_unicast());
    CHECK_FALSE(IpAddress::parse("ff02::1")->is_unicast());
    CHECK_FALSE(IpAddress{}.is_unicast());
}

TEST_CASE("ordering: IPv4 before IPv6, then by bytes", "[ip]") {
    const auto a = *IpAddress::parse("198.18.0.2");
    const auto b = *IpAddress::parse("198.18.0.10");
    const auto c = *IpAddress::parse("2001:db8::1");
    CHECK(a < b);
    CHECK(b < c);
    CHECK(a != b);
    CHECK(a == *IpAddress::parse("198.18.0.2"));
}

TEST_CASE("source locations print as file:line:column", "[ip]") {
    CHECK(SourceLocation{"a.yaml", 3, 7}.to_string() == "a.yaml:3:7");
    CHECK(SourceLocation{"a.yaml", 3, 0}.to_string() == "a.yaml:3");
    CHECK(SourceLocation{"a.yaml", 0, 0}.to_string() == "a.yaml");
}
