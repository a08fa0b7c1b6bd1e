// The YAML spelling of every catalogue enum, in one table per enum: the parser
// reads with it, to_string() writes with it, and messages list it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config/enums.h"

namespace julier::config {

template <typename E>
struct EnumNames;

#define JULIER_ENUM_NAMES(Enum, ...)                                                \
    template <>                                                                     \
    struct EnumNames<Enum> {                                                        \
        static constexpr std::pair<std::string_view, Enum> table[] = {__VA_ARGS__}; \
    }

JULIER_ENUM_NAMES(XdpMode, {"native", XdpMode::native}, {"generic", XdpMode::generic});
JULIER_ENUM_NAMES(Forwarding, {"l2", Forwarding::l2}, {"ipip", Forwarding::ipip}, {"ip6ip6", Forwarding::ip6ip6},
                  {"ip4in6", Forwarding::ip4in6}, {"gue", Forwarding::gue});
JULIER_ENUM_NAMES(Protocol, {"tcp", Protocol::tcp}, {"udp", Protocol::udp});
JULIER_ENUM_NAMES(HashMode, {"5tuple", HashMode::five_tuple}, {"source", HashMode::source},
                  {"no_source_port", HashMode::no_source_port}, {"destination_port", HashMode::destination_port});
JULIER_ENUM_NAMES(WhenAllDown, {"drop", WhenAllDown::drop}, {"keep", WhenAllDown::keep});
JULIER_ENUM_NAMES(HealthKind, {"tcp", HealthKind::tcp}, {"http", HealthKind::http}, {"https", HealthKind::https},
                  {"udp", HealthKind::udp}, {"dns", HealthKind::dns}, {"exec", HealthKind::exec},
                  {"none", HealthKind::none});
JULIER_ENUM_NAMES(BackendState, {"active", BackendState::active}, {"drain", BackendState::drain});

#undef JULIER_ENUM_NAMES

template <typename E>
std::optional<E> enum_from_name(std::string_view name) {
    for (const auto& [n, v] : EnumNames<E>::table)
        if (n == name) return v;
    return std::nullopt;
}

template <typename E>
std::string_view enum_name(E value) {
    for (const auto& [n, v] : EnumNames<E>::table)
        if (v == value) return n;
    return "?";
}

// "l2, ipip, ip6ip6, ip4in6, gue"
template <typename E>
std::string enum_name_list() {
    std::string out;
    for (const auto& [n, v] : EnumNames<E>::table) {
        if (!out.empty()) out += ", ";
        out += n;
    }
    return out;
}

}  // namespace julier::config
