// Conversions between the catalogue's address type and Asio's.
#pragma once

#include <cstdint>
#include <string>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include "common/ip.h"

namespace julier::health {

boost::asio::ip::address to_asio(const common::IpAddress& address);
common::IpAddress from_asio(const boost::asio::ip::address& address);

// "192.0.2.1" or "2001:db8::1": for {address} in exec commands and for messages.
std::string address_text(const boost::asio::ip::address& address);
// "192.0.2.1:80" or "[2001:db8::1]:80": a URL authority / Host header value.
std::string authority(const boost::asio::ip::address& address, std::uint16_t port);

}  // namespace julier::health
