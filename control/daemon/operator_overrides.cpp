#include "daemon/operator_overrides.h"

#include <cstdint>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "config/enum_names.h"
#include "config/schema.h"

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

// A member that is a non-negative integer fitting 32 bits.
std::optional<std::uint32_t> u32_member(const nlohmann::json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end() || !it->is_number_unsigned() || it->get<std::uint64_t>() > UINT32_MAX) return std::nullopt;
    return static_cast<std::uint32_t>(it->get<std::uint64_t>());
}

constexpr const auto& kWeightField = config::schema::field(config::schema::Section::backend, "weight");

}  // namespace

std::string OperatorOverride::describe() const {
    std::vector<std::string> parts;
    if (wants.state) parts.push_back(*wants.state == config::BackendState::drain ? "drain" : "undrain");
    if (wants.weight) parts.push_back(fmt::format("weight {}", *wants.weight));
    if (wants.maint) parts.push_back("maint");
    return fmt::format("{}", fmt::join(parts, ", "));
}

OperatorOverrides::Target OperatorOverrides::find_target(const config::Catalogue& catalogue,
                                                         const std::string& service_name,
                                                         const std::string& address_text) {
    Target target;
    const auto* service = find_service(catalogue, service_name);
    if (service == nullptr) {
        target.error = fmt::format("no service '{}' (services: {})", service_name, service_names(catalogue));
        return target;
    }
    const auto address = common::IpAddress::parse(address_text);
    if (!address) {
        target.error = fmt::format("'{}' is not an IPv4 or IPv6 address", address_text);
        return target;
    }
    target.backend = find_backend(*service, *address);
    if (target.backend == nullptr) {
        target.error = fmt::format("service '{}' has no backend {}", service_name, address->to_string());
        return target;
    }
    target.service = service_name;
    target.address = *address;
    return target;
}

bool OperatorOverrides::store(const Target& target, const OperatorOverride& next) {
    const auto* before = find(target.service, target.address);
    const bool changed = before == nullptr ? !next.empty() : !(before->wants == next.wants);
    auto& per_service = overrides_[target.service];
    if (next.empty()) {
        per_service.erase(target.address);
    } else {
        per_service[target.address] = next;
    }
    if (per_service.empty()) overrides_.erase(target.service);
    return changed;
}

OverrideChange OperatorOverrides::set_state(const config::Catalogue& catalogue, const std::string& service,
                                            const std::string& address, config::BackendState desired) {
    const auto target = find_target(catalogue, service, address);
    if (!target.error.empty()) return OverrideChange{target.error, false};
    const auto* current = find(target.service, target.address);
    OperatorOverride next = current != nullptr ? *current : OperatorOverride{};
    if (desired == target.backend->state) {
        next.wants.state.reset();  // the file already says so: nothing to override
    } else {
        next.wants.state = desired;
        next.config_state = target.backend->state;
    }
    return OverrideChange{{}, store(target, next)};
}

OverrideChange OperatorOverrides::set_weight(const config::Catalogue& catalogue, const std::string& service,
                                             const std::string& address, std::uint32_t weight) {
    static_assert(kWeightField.min == 0);  // only the upper bound to check
    if (weight > kWeightField.max) {
        return OverrideChange{
            fmt::format("weight {} is out of range: {} to {}", weight, kWeightField.min, kWeightField.max), false};
    }
    const auto target = find_target(catalogue, service, address);
    if (!target.error.empty()) return OverrideChange{target.error, false};
    const auto* current = find(target.service, target.address);
    OperatorOverride next = current != nullptr ? *current : OperatorOverride{};
    if (weight == target.backend->weight) {
        next.wants.weight.reset();  // the file's weight: the override is lifted
    } else {
        next.wants.weight = weight;
        next.config_weight = target.backend->weight;
    }
    return OverrideChange{{}, store(target, next)};
}

OverrideChange OperatorOverrides::set_maint(const config::Catalogue& catalogue, const std::string& service,
                                            const std::string& address, bool maint) {
    const auto target = find_target(catalogue, service, address);
    if (!target.error.empty()) return OverrideChange{target.error, false};
    const auto* current = find(target.service, target.address);
    OperatorOverride next = current != nullptr ? *current : OperatorOverride{};
    next.wants.maint = maint;
    return OverrideChange{{}, store(target, next)};
}

std::vector<DroppedOverride> OperatorOverrides::reconcile(const config::Catalogue& next) {
    std::vector<DroppedOverride> dropped;
    for (auto service_it = overrides_.begin(); service_it != overrides_.end();) {
        const auto* service = find_service(next, service_it->first);
        auto& per_service = service_it->second;
        for (auto it = per_service.begin(); it != per_service.end();) {
            const auto* backend = service == nullptr ? nullptr : find_backend(*service, it->first);
            auto& o = it->second;
            auto drop = [&](OperatorOverride part, std::string reason) {
                dropped.push_back(DroppedOverride{service_it->first, it->first, part.describe(), std::move(reason)});
            };
            if (backend == nullptr) {
                drop(o, "backend removed from the catalogue");
                it = per_service.erase(it);
                continue;
            }
            if (o.wants.state && backend->state != o.config_state) {
                drop(OperatorOverride{plan::BackendOverride{o.wants.state, {}, false}, o.config_state, 0},
                     fmt::format("state changed in the catalogue to {}", config::to_string(backend->state)));
                o.wants.state.reset();
            }
            if (o.wants.weight && backend->weight != o.config_weight) {
                drop(OperatorOverride{plan::BackendOverride{{}, o.wants.weight, false}, {}, o.config_weight},
                     fmt::format("weight changed in the catalogue to {}", backend->weight));
                o.wants.weight.reset();
            }
            it = o.empty() ? per_service.erase(it) : std::next(it);
        }
        service_it = per_service.empty() ? overrides_.erase(service_it) : std::next(service_it);
    }
    return dropped;
}

const OperatorOverride* OperatorOverrides::find(const std::string& service, const common::IpAddress& address) const {
    auto s = overrides_.find(service);
    if (s == overrides_.end()) return nullptr;
    auto b = s->second.find(address);
    return b == s->second.end() ? nullptr : &b->second;
}

std::map<std::string, std::map<common::IpAddress, plan::BackendOverride>> OperatorOverrides::for_plan() const {
    std::map<std::string, std::map<common::IpAddress, plan::BackendOverride>> out;
    for (const auto& [service, per_service] : overrides_) {
        for (const auto& [address, o] : per_service) out[service][address] = o.wants;
    }
    return out;
}

// One entry per backend; each part present only when set. The drain part has the
// fields (and meaning) of the drains-only files of earlier versions.
nlohmann::json OperatorOverrides::to_json() const {
    auto entries = nlohmann::json::array();
    for (const auto& [service, per_service] : overrides_) {
        for (const auto& [address, o] : per_service) {
            nlohmann::json e{{"service", service}, {"backend", address.to_string()}};
            if (o.wants.state) {
                e["state"] = config::to_string(*o.wants.state);
                e["config_state"] = config::to_string(o.config_state);
            }
            if (o.wants.weight) {
                e["weight"] = *o.wants.weight;
                e["config_weight"] = o.config_weight;
            }
            if (o.wants.maint) e["maint"] = true;
            entries.push_back(std::move(e));
        }
    }
    return {{"operator_overrides", std::move(entries)}};
}

OperatorOverrides OperatorOverrides::from_json(const nlohmann::json& document) {
    OperatorOverrides overrides;
    if (!document.is_object()) return overrides;
    auto entries = document.find("operator_overrides");
    if (entries == document.end() || !entries->is_array()) return overrides;
    for (const auto& e : *entries) {
        if (!e.is_object()) continue;
        const auto service = string_member(e, "service");
        const auto address = common::IpAddress::parse(string_member(e, "backend"));
        if (service.empty() || !address) continue;
        OperatorOverride o;
        const auto state = config::enum_from_name<config::BackendState>(string_member(e, "state"));
        const auto config_state = config::enum_from_name<config::BackendState>(string_member(e, "config_state"));
        if (state && config_state && *state != *config_state) {
            o.wants.state = *state;
            o.config_state = *config_state;
        }
        const auto weight = u32_member(e, "weight");
        const auto config_weight = u32_member(e, "config_weight");
        if (weight && config_weight && *weight != *config_weight && *weight <= kWeightField.max) {
            o.wants.weight = *weight;
            o.config_weight = *config_weight;
        }
        auto maint = e.find("maint");
        o.wants.maint = maint != e.end() && maint->is_boolean() && maint->get<bool>();
        if (!o.empty()) overrides.overrides_[service][*address] = o;
    }
    return overrides;
}

}  // namespace julier::daemon
