// libFuzzer harness: any bytes as one control-socket line, both ways.
//  - as a request: decode_request never throws; an accepted request survives
//    encode -> decode unchanged, and is dispatched (drain, undrain, weight, maint,
//    ready) against a fixed catalogue whose operator overrides then say what the
//    command asked for and survive their on-disk JSON form;
//  - as a daemon answer (julierctl's side): decode_response never throws, and the
//    typed payloads either read or fail with a json exception julierctl reports;
//  - as the operator-overrides file julierd reads at start.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/catalogue.h"
#include "daemon/operator_overrides.h"
#include "daemon/protocol.h"

namespace protocol = julier::daemon::protocol;
using julier::common::IpAddress;
using julier::config::BackendState;

namespace {

void require(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "invariant broken: %s\n", what);
        std::abort();
    }
}

const julier::config::Catalogue& catalogue() {
    static const julier::config::Catalogue c = [] {
        julier::config::Catalogue out;
        julier::config::Service web;
        web.name = "web";
        web.vip = IpAddress::v4(198, 19, 0, 1);
        web.port = 80;
        web.backends = {{IpAddress::v4(198, 18, 0, 20), 100, BackendState::active, {}},
                        {IpAddress::v4(198, 18, 0, 21), 100, BackendState::drain, {}}};
        julier::config::Service dns = web;
        dns.name = "dns";
        dns.port = 53;
        dns.protocol = julier::config::Protocol::udp;
        dns.backends = {{*IpAddress::parse("2001:db8::20"), 1, BackendState::active, {}}};
        out.services = {web, dns};
        return out;
    }();
    return c;
}

template <typename T>
void read_payload(const nlohmann::json& result) {
    try {
        (void)result.get<T>();
    } catch (const nlohmann::json::exception&) {
        // julierctl reports these as "unexpected answer"
    }
}

void as_request(std::string_view line) {
    const auto decoded = protocol::decode_request(line);
    if (!decoded.request) {
        require(!decoded.error.empty(), "a refused request without a reason");
        return;
    }
    const auto& request = *decoded.request;
    const auto again = protocol::decode_request(protocol::encode_request(request));
    require(again.request.has_value(), "an accepted request does not survive encoding");
    require(again.request->command == request.command && again.request->service == request.service &&
                again.request->backend == request.backend && again.request->weight == request.weight,
            "an accepted request changes through encoding");

    using protocol::Command;
    julier::daemon::OperatorOverrides overrides;
    julier::daemon::OverrideChange change;
    switch (request.command) {
        case Command::drain:
        case Command::undrain:
            change =
                overrides.set_state(catalogue(), request.service, request.backend,
                                    request.command == Command::drain ? BackendState::drain : BackendState::active);
            break;
        case Command::weight:
            change = overrides.set_weight(catalogue(), request.service, request.backend, request.weight.value_or(0));
            break;
        case Command::maint:
        case Command::ready:
            change =
                overrides.set_maint(catalogue(), request.service, request.backend, request.command == Command::maint);
            break;
        default: return;
    }
    if (!change.error.empty()) {
        require(overrides.empty(), "a refused override changed the overrides");
        // The answer carries the client's own bytes back: it must still encode.
        require(!protocol::encode_response(protocol::failure(change.error)).empty(), "unencodable failure");
        return;
    }
    const auto address = IpAddress::parse(request.backend);
    require(address.has_value(), "an override accepted for something that is not an address");
    const julier::config::Backend* backend = nullptr;
    for (const auto& service : catalogue().services)
        for (const auto& b : service.backends)
            if (service.name == request.service && b.address == *address) backend = &b;
    require(backend != nullptr, "an override accepted for a backend not in the catalogue");
    const auto* o = overrides.find(request.service, *address);
    const julier::plan::BackendOverride wants = o != nullptr ? o->wants : julier::plan::BackendOverride{};
    switch (request.command) {
        case Command::drain:
        case Command::undrain:
            require(wants.state.value_or(backend->state) ==
                        (request.command == Command::drain ? BackendState::drain : BackendState::active),
                    "the backend is not in the state the command asked for");
            break;
        case Command::weight:
            require(wants.weight.value_or(backend->weight) == *request.weight,
                    "the backend does not have the weight the command asked for");
            break;
        default: require(wants.maint == (request.command == Command::maint), "maint is not what the command asked for");
    }
    const auto reread = julier::daemon::OperatorOverrides::from_json(overrides.to_json());
    require(reread == overrides, "operator overrides change through their file form");
}

void as_response(std::string_view line) {
    const auto response = protocol::decode_response(line);
    if (!response.ok) {
        require(!response.error.empty(), "a failure without an error");
    } else {
        read_payload<protocol::Status>(response.result);
        read_payload<std::vector<protocol::ServiceInfo>>(response.result);
        read_payload<std::vector<protocol::BackendInfo>>(response.result);
        read_payload<protocol::DrainResult>(response.result);
        read_payload<protocol::ReloadResult>(response.result);
        read_payload<protocol::TeardownResult>(response.result);
    }
    const auto again = protocol::decode_response(protocol::encode_response(response));
    require(again.ok == response.ok, "a response changes its verdict through encoding");
}

void as_overrides_file(std::string_view text) {
    const auto document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded()) return;
    const auto overrides = julier::daemon::OperatorOverrides::from_json(document);
    require(julier::daemon::OperatorOverrides::from_json(overrides.to_json()) == overrides,
            "operator overrides change through their file form");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view line(reinterpret_cast<const char*>(data), size);
    as_request(line);
    as_response(line);
    as_overrides_file(line);
    return 0;
}
