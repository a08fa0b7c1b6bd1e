#include "common/ip.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace julier::common {

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    // inet_pton needs a terminated string; longer text cannot be an address.
    char buf[INET6_ADDRSTRLEN + 1];
    if (text.empty() || text.size() >= sizeof(buf)) return std::nullopt;
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';

    IpAddress ip;
    if (inet_pton(AF_INET, buf, ip.bytes.data()) == 1) {
        ip.family = 4;
        return ip;
    }
    if (inet_pton(AF_INET6, buf, ip.bytes.data()) == 1) {
        ip.family = 6;
        return ip;
    }
    return std::nullopt;
}

IpAddress IpAddress::v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    IpAddress ip;
    ip.family = 4;
    ip.bytes[0] = a;
    ip.bytes[1] = b;
    ip.bytes[2] = c;
    ip.bytes[3] = d;
    return ip;
}

bool IpAddress::is_unicast() const {
    if (family == 4) {
        const bool unspecified = bytes[0] == 0 && bytes[1] == 0 && bytes[2] == 0 && bytes[3] == 0;
        const bool multicast = (bytes[0] & 0xf0) == 0xe0;
        const bool broadcast = bytes[0] == 255 && bytes[1] == 255 && bytes[2] == 255 && bytes[3] == 255;
        return !unspecified && !multicast && !broadcast;
    }
    if (family == 6) {
        const bool unspecified = std::all_of(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b == 0; });
        const bool multicast = bytes[0] == 0xff;
        return !unspecified && !multicast;
    }
    return false;
}

std::string IpAddress::to_string() const {
    char buf[INET6_ADDRSTRLEN];
    const int af = family == 4 ? AF_INET : family == 6 ? AF_INET6 : -1;
    if (af < 0 || inet_ntop(af, bytes.data(), buf, sizeof(buf)) == nullptr) return "<unset>";
    return buf;
}

}  // namespace julier::common
