#include "config/catalogue.h"

#include <netinet/in.h>

#include "config/enum_names.h"

namespace julier::config {

std::string_view to_string(XdpMode v) { return enum_name(v); }
std::string_view to_string(Forwarding v) { return enum_name(v); }
std::string_view to_string(Protocol v) { return enum_name(v); }
std::string_view to_string(HashMode v) { return enum_name(v); }
std::string_view to_string(WhenAllDown v) { return enum_name(v); }
std::string_view to_string(HealthKind v) { return enum_name(v); }
std::string_view to_string(BackendState v) { return enum_name(v); }

std::uint8_t ip_protocol_number(Protocol p) { return p == Protocol::udp ? IPPROTO_UDP : IPPROTO_TCP; }

std::string Metrics::listen() const {
    if (!enabled) return {};
    const std::string host = address.is_v6() ? '[' + address.to_string() + ']' : address.to_string();
    return host + ':' + std::to_string(port);
}

LimitUse limit_use(const Catalogue& catalogue) {
    LimitUse use;
    use.services = catalogue.services.size();
    for (const Service& s : catalogue.services) {
        use.backends += s.backends.size();
        use.ring_slots += s.ring_size;
    }
    return use;
}

}  // namespace julier::config
