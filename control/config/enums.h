// The catalogue's enumerations, apart from catalogue.h so that the schema table
// (config/schema.h) can name their spellings and catalogue.h can take its
// defaults from that table.
#pragma once

#include <string_view>

namespace julier::config {

// Each enumerator is spelt in YAML as its name (HashMode::five_tuple as "5tuple");
// to_string() returns exactly that spelling. config/README.md says what each means.
enum class XdpMode { native, generic };
enum class Forwarding { l2, ipip, ip6ip6, ip4in6, gue };  // see jl_mode in abi.h
enum class Protocol { tcp, udp };
// What the ring is indexed with for a new flow (docs/forwarder.md, "Flow hash").
enum class HashMode {
    five_tuple,        // addresses, ports, protocol
    source,            // the client address: every flow of a client to one backend
    no_source_port,    // the 5-tuple with source port 0: a client's connections to one port share a backend
    destination_port,  // destination port and protocol: every flow to one port to one backend
};
enum class WhenAllDown { drop, keep };  // keep: use every non-draining backend (fail open)
enum class HealthKind { tcp, http, https, udp, dns, exec, none };
enum class BackendState { active, drain };  // drain: keeps its flows, gets no new ones

std::string_view to_string(XdpMode);
std::string_view to_string(Forwarding);
std::string_view to_string(Protocol);
std::string_view to_string(HashMode);
std::string_view to_string(WhenAllDown);
std::string_view to_string(HealthKind);
std::string_view to_string(BackendState);

}  // namespace julier::config
