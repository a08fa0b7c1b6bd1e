// julier-decap's configuration: which interface runs the decapsulator, which outer
// sources may send it tunnel packets (the balancers' encapsulation sources, as
// prefixes), which outer destinations are this host's, and to which peer backends
// it may send on a second chance. YAML in, every problem
// out at once as located diagnostics (the catalogue's reader and messages).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip.h"
#include "config/diagnostic.h"
#include "config/enums.h"

namespace julier::decap {

// The default configuration file of julier-decap.
inline constexpr const char* kDefaultConfigPath = "/etc/julier/decap.yaml";

// An address and how many of its leading bits count; no host bits set.
struct SourcePrefix {
    common::IpAddress address;
    std::uint8_t length = 0;  // 1-32 (IPv4), 1-128 (IPv6)

    // "198.18.0.0/28", "2001:db8::2/128".
    std::string to_string() const;
    // "198.18.0.0/28" or a bare address (its whole length); nothing for anything
    // else. Host bits may be set: see has_host_bits.
    static std::optional<SourcePrefix> parse(std::string_view text);
    // Bits set after `length`.
    bool has_host_bits() const;
    // The prefix with its host bits cleared.
    SourcePrefix network() const;
    bool contains(const common::IpAddress& a) const;

    auto operator<=>(const SourcePrefix&) const = default;
};

struct DecapConfig {
    std::string interface;
    config::XdpMode xdp_mode = config::XdpMode::native;
    std::string pin_dir;  // default: JL_DECAP_PIN_DIR/<interface>
    std::uint16_t gue_port = 0;
    std::vector<SourcePrefix> allowed_sources;       // never empty, sorted
    std::vector<common::IpAddress> local_addresses;  // never empty, sorted
    // second_chance.peers: the backend prefixes a second chance may be sent on to
    // (and may arrive from); empty: second chance off. Sorted.
    std::vector<SourcePrefix> second_chance_peers;
};

// The pin directory of an interface when the configuration names none.
std::string default_pin_dir(std::string_view interface);

struct ParseResult {
    std::optional<DecapConfig> config;  // present when there is no error
    std::vector<config::Diagnostic> diagnostics;

    bool ok() const { return config.has_value(); }
    std::size_t errors() const { return config::count(diagnostics, config::Severity::error); }
};

// Never throws for bad input: an unreadable or empty file is a diagnostic too.
ParseResult parse_config_file(const std::string& path);
ParseResult parse_config_text(std::string_view text, const std::string& name);

}  // namespace julier::decap
