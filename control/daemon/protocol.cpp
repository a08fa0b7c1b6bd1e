#include "daemon/protocol.h"

#include <array>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

namespace {

// A field sent as a word: one the reader does not know is a json::type_error.
template <typename E>
E from_word(const nlohmann::json& j, std::optional<E> (*parse)(std::string_view), const char* what) {
    const auto value = j.is_string() ? parse(j.get<std::string>()) : std::nullopt;
    if (!value) throw nlohmann::json::type_error::create(302, fmt::format("{} is not {}", j.dump(), what), nullptr);
    return *value;
}

}  // namespace

namespace julier::health {
void to_json(nlohmann::json& j, State v) { j = std::string(to_string(v)); }
void from_json(const nlohmann::json& j, State& v) { v = from_word(j, state_from_string, "a health verdict"); }
}  // namespace julier::health

namespace julier::plan {
void to_json(nlohmann::json& j, BackendRole v) { j = std::string(state_word(v)); }
void from_json(const nlohmann::json& j, BackendRole& v) { v = from_word(j, role_from_state_word, "a backend state"); }
}  // namespace julier::plan

namespace julier::daemon::protocol {
namespace {

struct CommandSpec {
    Command command;
    std::string_view name;
    bool takes_service;
    bool needs_service;
    bool needs_backend;
};

constexpr std::array<CommandSpec, 7> kCommands{{
    {Command::status, "status", false, false, false},
    {Command::services, "services", false, false, false},
    {Command::backends, "backends", true, false, false},
    {Command::drain, "drain", true, true, true},
    {Command::undrain, "undrain", true, true, true},
    {Command::reload, "reload", false, false, false},
    {Command::teardown, "teardown", false, false, false},
}};

const CommandSpec& spec_of(Command command) {
    for (const auto& spec : kCommands) {
        if (spec.command == command) return spec;
    }
    return kCommands.front();  // unreachable: every enumerator is listed
}

std::string command_list() {
    std::string out;
    for (const auto& spec : kCommands) {
        if (!out.empty()) out += ", ";
        out += spec.name;
    }
    return out;
}

DecodedRequest reject(std::string message) { return DecodedRequest{std::nullopt, std::move(message)}; }

// Reads an optional string argument; an error message when present but not a string.
std::string read_string(const nlohmann::json& object, const char* key, std::string& error) {
    auto it = object.find(key);
    if (it == object.end()) return {};
    if (!it->is_string()) {
        error = fmt::format("field '{}' must be a string", key);
        return {};
    }
    return it->get<std::string>();
}

template <typename T>
void read(const nlohmann::json& j, const char* key, T& out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        // nlohmann converts a float or an out-of-range integer with a plain cast
        // (undefined for 1e107 into a uint32_t): only integers that fit are read.
        bool fits = false;
        if (it->is_number_unsigned()) {
            fits = it->get<std::uint64_t>() <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
        } else if (it->is_number_integer()) {
            const auto v = it->get<std::int64_t>();
            if constexpr (std::is_signed_v<T>)
                fits = v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max();
            else
                fits = v >= 0 && static_cast<std::uint64_t>(v) <= std::numeric_limits<T>::max();
        }
        if (!fits) {
            throw nlohmann::json::type_error::create(
                302, fmt::format("field '{}' is {}, not an integer that fits", key, it->dump()), nullptr);
        }
    }
    it->get_to(out);
}

}  // namespace

std::string_view command_name(Command command) { return spec_of(command).name; }

std::optional<Command> command_from_name(std::string_view name) {
    for (const auto& spec : kCommands) {
        if (spec.name == name) return spec.command;
    }
    return std::nullopt;
}

std::string encode_request(const Request& request) {
    const auto& spec = spec_of(request.command);
    nlohmann::json j{{"command", spec.name}};
    if (spec.takes_service && !request.service.empty()) j["service"] = request.service;
    if (spec.needs_backend) j["backend"] = request.backend;
    return j.dump();
}

DecodedRequest decode_request(std::string_view line) {
    if (line.size() > kMaxLineBytes) {
        return reject(fmt::format("request is {} bytes, over the limit of {}", line.size(), kMaxLineBytes));
    }
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return reject("request is not valid JSON");
    if (!j.is_object()) return reject("request must be a JSON object");

    auto cmd = j.find("command");
    if (cmd == j.end()) return reject("request has no 'command' field");
    if (!cmd->is_string()) return reject("field 'command' must be a string");
    const auto name = cmd->get<std::string>();
    const auto command = command_from_name(name);
    if (!command) return reject(fmt::format("unknown command '{}' (allowed: {})", name, command_list()));
    const auto& spec = spec_of(*command);

    for (const auto& [key, value] : j.items()) {
        const bool allowed = key == "command" || (key == "service" && spec.takes_service) ||
                             (key == "backend" && spec.needs_backend);
        if (!allowed) return reject(fmt::format("command '{}' takes no field '{}'", spec.name, key));
    }

    std::string error;
    Request request{*command, read_string(j, "service", error), read_string(j, "backend", error)};
    if (!error.empty()) return reject(std::move(error));
    if (spec.needs_service && request.service.empty()) {
        return reject(fmt::format("command '{}' needs a non-empty 'service'", spec.name));
    }
    if (spec.needs_backend && request.backend.empty()) {
        return reject(fmt::format("command '{}' needs a non-empty 'backend'", spec.name));
    }
    return DecodedRequest{std::move(request), {}};
}

Response success(nlohmann::json result) { return Response{true, std::move(result), {}, {}}; }

Response failure(std::string error, std::vector<std::string> details) {
    return Response{false, nullptr, std::move(error), std::move(details)};
}

std::string encode_response(const Response& response) {
    nlohmann::json j{{"ok", response.ok}};
    if (response.ok) {
        j["result"] = response.result;
    } else {
        j["error"] = response.error;
        if (!response.details.empty()) j["details"] = response.details;
    }
    // Replace invalid UTF-8 (e.g. from a file name) rather than throwing mid-reply.
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response decode_response(std::string_view line) {
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
        return failure("the daemon sent a response that is not a JSON object");
    auto ok = j.find("ok");
    if (ok == j.end() || !ok->is_boolean())
        return failure("the daemon sent a response without a boolean 'ok'");
    if (ok->get<bool>()) return success(j.value("result", nlohmann::json{}));

    // Not j.value(): it throws on an "error" that is not a string.
    auto error = j.find("error");
    Response response = failure(error != j.end() && error->is_string() && !error->get<std::string>().empty()
                                    ? error->get<std::string>()
                                    : std::string{"unspecified error"});
    if (auto details = j.find("details"); details != j.end() && details->is_array()) {
        for (const auto& d : *details) {
            if (d.is_string()) response.details.push_back(d.get<std::string>());
        }
    }
    return response;
}

void to_json(nlohmann::json& j, const LastReload& v) {
    j = {{"result", v.result}, {"unix_time", v.unix_time}, {"error", v.error}};
}
void from_json(const nlohmann::json& j, LastReload& v) {
    read(j, "result", v.result);
    read(j, "unix_time", v.unix_time);
    read(j, "error", v.error);
}

void to_json(nlohmann::json& j, const AnnouncementInfo& v) {
    j = {{"vip", v.vip},         {"state", v.state},
         {"usable", v.usable},   {"needed", v.needed},
         {"seconds_in_state", v.seconds_in_state}, {"announce_in_seconds", v.announce_in_seconds},
         {"services", v.services}};
}
void from_json(const nlohmann::json& j, AnnouncementInfo& v) {
    read(j, "vip", v.vip);
    read(j, "state", v.state);
    read(j, "usable", v.usable);
    read(j, "needed", v.needed);
    read(j, "seconds_in_state", v.seconds_in_state);
    read(j, "announce_in_seconds", v.announce_in_seconds);
    read(j, "services", v.services);
}

void to_json(nlohmann::json& j, const BgpSessionInfo& v) {
    j = {{"protocol", v.protocol}, {"neighbour", v.neighbour}, {"state", v.state}};
}
void from_json(const nlohmann::json& j, BgpSessionInfo& v) {
    read(j, "protocol", v.protocol);
    read(j, "neighbour", v.neighbour);
    read(j, "state", v.state);
}

void to_json(nlohmann::json& j, const InterfaceState& v) {
    j = {{"name", v.name}, {"attached", v.attached}, {"reattached", v.reattached}, {"note", v.note}};
}
void from_json(const nlohmann::json& j, InterfaceState& v) {
    read(j, "name", v.name);
    read(j, "attached", v.attached);
    read(j, "reattached", v.reattached);
    read(j, "note", v.note);
}

void to_json(nlohmann::json& j, const Status& v) {
    j = {{"version", v.version},
         {"pid", v.pid},
         {"uptime_seconds", v.uptime_seconds},
         {"config_file", v.config_file},
         {"config_generation", v.config_generation},
         {"dataplane_generation", v.dataplane_generation},
         {"last_reload", v.last_reload},
         {"reload_failures", v.reload_failures},
         {"pin_dir", v.pin_dir},
         {"interfaces", v.interfaces},
         {"interface_states", v.interface_states},
         {"services", v.services},
         {"backends", v.backends},
         {"adopted", v.adopted},
         {"bgp", v.bgp},
         {"bird_error", v.bird_error},
         {"announcements", v.announcements},
         {"bgp_sessions", v.bgp_sessions}};
}
void from_json(const nlohmann::json& j, Status& v) {
    read(j, "version", v.version);
    read(j, "pid", v.pid);
    read(j, "uptime_seconds", v.uptime_seconds);
    read(j, "config_file", v.config_file);
    read(j, "config_generation", v.config_generation);
    read(j, "dataplane_generation", v.dataplane_generation);
    read(j, "last_reload", v.last_reload);
    read(j, "reload_failures", v.reload_failures);
    read(j, "pin_dir", v.pin_dir);
    read(j, "interfaces", v.interfaces);
    read(j, "interface_states", v.interface_states);
    read(j, "services", v.services);
    read(j, "backends", v.backends);
    read(j, "adopted", v.adopted);
    read(j, "bgp", v.bgp);
    read(j, "bird_error", v.bird_error);
    read(j, "announcements", v.announcements);
    read(j, "bgp_sessions", v.bgp_sessions);
}

void to_json(nlohmann::json& j, const ServiceInfo& v) {
    j = {{"name", v.name},
         {"vip", v.vip},
         {"port", v.port},
         {"protocol", v.protocol},
         {"forwarding", v.forwarding},
         {"ring_size", v.ring_size},
         {"backends", v.backends},
         {"backends_in_ring", v.backends_in_ring},
         {"packets", v.packets},
         {"bytes", v.bytes},
         {"new_flows", v.new_flows},
         {"when_all_down", v.when_all_down}};
}
void from_json(const nlohmann::json& j, ServiceInfo& v) {
    read(j, "name", v.name);
    read(j, "vip", v.vip);
    read(j, "port", v.port);
    read(j, "protocol", v.protocol);
    read(j, "forwarding", v.forwarding);
    read(j, "ring_size", v.ring_size);
    read(j, "backends", v.backends);
    read(j, "backends_in_ring", v.backends_in_ring);
    read(j, "packets", v.packets);
    read(j, "bytes", v.bytes);
    read(j, "new_flows", v.new_flows);
    read(j, "when_all_down", v.when_all_down);
}

void to_json(nlohmann::json& j, const BackendInfo& v) {
    j = {{"service", v.service}, {"address", v.address},
         {"weight", v.weight},   {"weight_now", v.weight_now},
         {"health", v.health},   {"health_reason", v.health_reason},
         {"state", v.state},     {"drain_source", v.drain_source},
         {"problem", v.problem}, {"packets", v.packets},
         {"bytes", v.bytes}};
}
void from_json(const nlohmann::json& j, BackendInfo& v) {
    read(j, "service", v.service);
    read(j, "address", v.address);
    read(j, "weight", v.weight);
    read(j, "weight_now", v.weight_now);
    read(j, "health", v.health);
    read(j, "health_reason", v.health_reason);
    read(j, "state", v.state);
    read(j, "drain_source", v.drain_source);
    read(j, "problem", v.problem);
    read(j, "packets", v.packets);
    read(j, "bytes", v.bytes);
}

void to_json(nlohmann::json& j, const ReloadResult& v) {
    j = {{"config_generation", v.config_generation},
         {"dataplane_generation", v.dataplane_generation},
         {"warnings", v.warnings}};
}
void from_json(const nlohmann::json& j, ReloadResult& v) {
    read(j, "config_generation", v.config_generation);
    read(j, "dataplane_generation", v.dataplane_generation);
    read(j, "warnings", v.warnings);
}

void to_json(nlohmann::json& j, const DrainResult& v) {
    j = {{"changed", v.changed}, {"backend", v.backend}};
}
void from_json(const nlohmann::json& j, DrainResult& v) {
    read(j, "changed", v.changed);
    read(j, "backend", v.backend);
}

void to_json(nlohmann::json& j, const TeardownResult& v) {
    j = {{"detached", v.detached}, {"pin_dir", v.pin_dir}};
}
void from_json(const nlohmann::json& j, TeardownResult& v) {
    read(j, "detached", v.detached);
    read(j, "pin_dir", v.pin_dir);
}

}  // namespace julier::daemon::protocol
