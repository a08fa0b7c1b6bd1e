#include "neigh/resolver.h"

#include <cstdio>
#include <utility>

namespace julier::neigh {

std::string to_string(const MacAddress& mac) {
    char text[18];
    std::snprintf(text, sizeof(text), "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return text;
}

StaticResolver::StaticResolver(std::map<common::IpAddress, NextHop> table) : table_(std::move(table)) {}

void StaticResolver::set(const common::IpAddress& destination, NextHop next_hop) {
    table_[destination] = std::move(next_hop);
}

void StaticResolver::remove(const common::IpAddress& destination) { table_.erase(destination); }

std::map<common::IpAddress, Resolution> StaticResolver::resolve(const std::vector<common::IpAddress>& destinations) {
    std::map<common::IpAddress, Resolution> result;
    for (const common::IpAddress& destination : destinations) {
        auto it = table_.find(destination);
        if (it == table_.end()) {
            result[destination] = Resolution{std::nullopt, "no next hop known for " + destination.to_string()};
        } else {
            result[destination] = Resolution{it->second, ""};
        }
    }
    return result;
}

}  // namespace julier::neigh
