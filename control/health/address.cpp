#include "health/address.h"

#include <algorithm>

namespace julier::health {

namespace ip = boost::asio::ip;

ip::address to_asio(const common::IpAddress& address) {
    if (address.is_v4()) {
        ip::address_v4::bytes_type bytes;
        std::copy_n(address.bytes.begin(), bytes.size(), bytes.begin());
        return ip::address_v4(bytes);
    }
    if (address.is_v6()) {
        ip::address_v6::bytes_type bytes;
        std::copy_n(address.bytes.begin(), bytes.size(), bytes.begin());
        return ip::address_v6(bytes);
    }
    return {};
}

common::IpAddress from_asio(const ip::address& address) {
    common::IpAddress result;
    if (address.is_v4()) {
        auto bytes = address.to_v4().to_bytes();
        result.family = 4;
        std::copy(bytes.begin(), bytes.end(), result.bytes.begin());
    } else {
        auto bytes = address.to_v6().to_bytes();
        result.family = 6;
        std::copy(bytes.begin(), bytes.end(), result.bytes.begin());
    }
    return result;
}

std::string address_text(const ip::address& address) { return address.to_string(); }

std::string authority(const ip::address& address, std::uint16_t port) {
    std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(port);
}

}  // namespace julier::health
