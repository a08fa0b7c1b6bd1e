#include "daemon/operator_drains.h"

#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/enum_names.h"

namespace julier::daemon {
namespace {

const config::Service* find_service(const config::Catalogue& catalogue, const std::string& name) {
    for (const auto& service : catalogue.services) {
        if (service.name == name) return &service;
    }
    return nullptr;
}

const config::Backend* find_backend(const config::Service& service, const common::IpAddress& address) {
    for (const auto& backend : service.backends) {
        if (backend.address == address) return &backend;
    }
    return nullptr;
}

std::string service_names(const config::Catalogue& catalogue) {
    std::string out;
    for (const auto& service : catalogue.services) {
        if (!out.empty()) out += ", ";
        out += service.name;
    }
    return out.empty() ? "none" : out;
}

// A string member, or "" when missing or of another type.
std::string string_member(const nlohmann::json& object, const char* key) {
    auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

}  // namespace

DrainChange OperatorDrains::set(const config::Catalogue& catalogue, const std::string& service_name,
                                const std::string& address_text, config::BackendState desired) {
    DrainChange result;
    const auto* service = find_service(catalogue, service_name);
    if (service == nullptr) {
        result.error = fmt::format("no service '{}' (services: {})", service_name, service_names(catalogue));
        return result;
    }
    const auto address = common::IpAddress::parse(address_text);
    if (!address) {
        result.error = fmt::format("'{}' is not an IPv4 or IPv6 address", address_text);
        return result;
    }
    const auto* backend = find_backend(*service, *address);
    if (backend == nullptr) {
        result.error = fmt::format("service '{}' has no backend {}", service_name, address->to_string());
        return result;
    }

    const auto before = override_for(service_name, *address).value_or(backend->state);
    auto& per_service = overrides_[service_name];
    if (desired == backend->state) {
        per_service.erase(*address);  // the file already says so: nothing to override
    } else {
        per_service[*address] = DrainOverride{desired, backend->state};
    }
    if (per_service.empty()) overrides_.erase(service_name);

    result.changed = before != desired;
    result.effective = desired;
    return result;
}

std::vector<DroppedOverride> OperatorDrains::reconcile(const config::Catalogue& next) {
    std::vector<DroppedOverride> dropped;
    for (auto service_it = overrides_.begin(); service_it != overrides_.end();) {
        const auto* service = find_service(next, service_it->first);
        auto& per_service = service_it->second;
        for (auto it = per_service.begin(); it != per_service.end();) {
            const auto* backend = service == nullptr ? nullptr : find_backend(*service, it->first);
            std::string reason;
            if (backend == nullptr) {
                reason = "backend removed from the catalogue";
            } else if (backend->state != it->second.config_state) {
                reason = fmt::format("state changed in the catalogue to {}", config::to_string(backend->state));
            }
            if (reason.empty()) {
                ++it;
                continue;
            }
            dropped.push_back(DroppedOverride{service_it->first, it->first, it->second, std::move(reason)});
            it = per_service.erase(it);
        }
        service_it = per_service.empty() ? overrides_.erase(service_it) : std::next(service_it);
    }
    return dropped;
}

std::optional<config::BackendState> OperatorDrains::override_for(const std::string& service,
                                                                 const common::IpAddress& address) const {
    auto s = overrides_.find(service);
    if (s == overrides_.end()) return std::nullopt;
    auto b = s->second.find(address);
    if (b == s->second.end()) return std::nullopt;
    return b->second.state;
}

nlohmann::json OperatorDrains::to_json() const {
    auto entries = nlohmann::json::array();
    for (const auto& [service, per_service] : overrides_) {
        for (const auto& [address, o] : per_service) {
            entries.push_back({{"service", service},
                               {"backend", address.to_string()},
                               {"state", config::to_string(o.state)},
                               {"config_state", config::to_string(o.config_state)}});
        }
    }
    return {{"operator_overrides", std::move(entries)}};
}

OperatorDrains OperatorDrains::from_json(const nlohmann::json& document) {
    OperatorDrains drains;
    if (!document.is_object()) return drains;
    auto entries = document.find("operator_overrides");
    if (entries == document.end() || !entries->is_array()) return drains;
    for (const auto& e : *entries) {
        if (!e.is_object()) continue;
        const auto service = string_member(e, "service");
        const auto address = common::IpAddress::parse(string_member(e, "backend"));
        const auto state = config::enum_from_name<config::BackendState>(string_member(e, "state"));
        const auto config_state = config::enum_from_name<config::BackendState>(string_member(e, "config_state"));
        if (service.empty() || !address || !state || !config_state || *state == *config_state) continue;
        drains.overrides_[service][*address] = DrainOverride{*state, *config_state};
    }
    return drains;
}

}  // namespace julier::daemon
