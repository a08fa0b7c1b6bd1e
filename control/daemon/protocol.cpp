#include "daemon/protocol.h"

#include <array>
#include <cstdint>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "flows/flow_table.h"

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

// The request fields, as bits of a command's spec.
enum Arg : unsigned {
    kService = 1u << 0,
    kBackend = 1u << 1,
    kList = 1u << 2,
    kLimit = 1u << 3,
    kAfter = 1u << 4,
    kProtocol = 1u << 5,
    kClient = 1u << 6,
    kVip = 1u << 7,
    kGrace = 1u << 8,
    kDryRun = 1u << 9,
    kFile = 1u << 10,
    kWeight = 1u << 11,
};

struct CommandSpec {
    Command command;
    std::string_view name;
    unsigned takes;  // fields it accepts
    unsigned needs;  // of those, the ones it requires (non-empty)
};

constexpr std::array<CommandSpec, 13> kCommands{{
    {Command::status, "status", 0, 0},
    {Command::services, "services", 0, 0},
    {Command::backends, "backends", kService, 0},
    {Command::drain, "drain", kService | kBackend, kService | kBackend},
    {Command::undrain, "undrain", kService | kBackend, kService | kBackend},
    {Command::reload, "reload", kDryRun | kFile, 0},
    {Command::teardown, "teardown", kGrace, 0},
    {Command::flows, "flows", kService | kBackend | kList | kLimit | kAfter, 0},
    {Command::which, "which", kProtocol | kClient | kVip, kProtocol | kClient | kVip},
    {Command::purge, "purge", kService | kBackend, kService},
    {Command::weight, "weight", kService | kBackend | kWeight, kService | kBackend | kWeight},
    {Command::maint, "maint", kService | kBackend, kService | kBackend},
    {Command::ready, "ready", kService | kBackend, kService | kBackend},
}};

// The string fields: wire name, bit, member.
struct StringField {
    const char* name;
    Arg bit;
    std::string Request::*member;
};
constexpr std::array<StringField, 7> kStringFields{{
    {"service", kService, &Request::service},
    {"backend", kBackend, &Request::backend},
    {"after", kAfter, &Request::after},
    {"protocol", kProtocol, &Request::protocol},
    {"client", kClient, &Request::client},
    {"vip", kVip, &Request::vip},
    {"file", kFile, &Request::file},
}};

unsigned field_bit(std::string_view key) {
    for (const auto& f : kStringFields) {
        if (key == f.name) return f.bit;
    }
    if (key == "list") return kList;
    if (key == "limit") return kLimit;
    if (key == "grace_ms") return kGrace;
    if (key == "dry_run") return kDryRun;
    if (key == "weight") return kWeight;
    return 0;
}

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
    for (const auto& f : kStringFields) {
        if ((spec.takes & f.bit) && ((spec.needs & f.bit) || !(request.*f.member).empty()))
            j[f.name] = request.*f.member;
    }
    if ((spec.takes & kList) && request.list) j["list"] = true;
    if ((spec.takes & kLimit) && request.limit != 0) j["limit"] = request.limit;
    if ((spec.takes & kGrace) && request.grace_ms) j["grace_ms"] = *request.grace_ms;
    if ((spec.takes & kDryRun) && request.dry_run) j["dry_run"] = true;
    if ((spec.takes & kWeight) && request.weight) j["weight"] = *request.weight;
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
        const bool allowed = key == "command" || (spec.takes & field_bit(key)) != 0;
        if (!allowed) return reject(fmt::format("command '{}' takes no field '{}'", spec.name, key));
    }

    std::string error;
    Request request;
    request.command = *command;
    for (const auto& f : kStringFields) request.*f.member = read_string(j, f.name, error);
    if (!error.empty()) return reject(std::move(error));
    if (auto it = j.find("list"); it != j.end()) {
        if (!it->is_boolean()) return reject("field 'list' must be true or false");
        request.list = it->get<bool>();
    }
    if (auto it = j.find("limit"); it != j.end()) {
        if (!it->is_number_unsigned() || it->get<std::uint64_t>() < 1 || it->get<std::uint64_t>() > kMaxFlowLimit)
            return reject(fmt::format("field 'limit' must be an integer from 1 to {}", kMaxFlowLimit));
        request.limit = static_cast<std::uint32_t>(it->get<std::uint64_t>());
    }
    if (auto it = j.find("grace_ms"); it != j.end()) {
        if (!it->is_number_unsigned() || it->get<std::uint64_t>() > kMaxTeardownGraceMs)
            return reject(fmt::format("field 'grace_ms' must be an integer from 0 to {}", kMaxTeardownGraceMs));
        request.grace_ms = static_cast<std::uint32_t>(it->get<std::uint64_t>());
    }
    if (auto it = j.find("dry_run"); it != j.end()) {
        if (!it->is_boolean()) return reject("field 'dry_run' must be true or false");
        request.dry_run = it->get<bool>();
    }
    if (auto it = j.find("weight"); it != j.end()) {
        if (!it->is_number_unsigned() || it->get<std::uint64_t>() > std::numeric_limits<std::uint32_t>::max())
            return reject("field 'weight' must be a non-negative integer");
        request.weight = static_cast<std::uint32_t>(it->get<std::uint64_t>());
    }
    for (const auto& f : kStringFields) {
        if ((spec.needs & f.bit) && (request.*f.member).empty())
            return reject(fmt::format("command '{}' needs a non-empty '{}'", spec.name, f.name));
    }
    if ((spec.needs & kWeight) && !request.weight)
        return reject(fmt::format("command '{}' needs a 'weight'", spec.name));
    if (*command == Command::flows) {
        if (!request.backend.empty() && request.service.empty())
            return reject("command 'flows' needs a 'service' with a 'backend'");
        if (!request.list && (request.limit != 0 || !request.after.empty()))
            return reject("fields 'limit' and 'after' of command 'flows' need 'list'");
        if (!request.after.empty() && !flows::Cursor::parse(request.after))
            return reject(fmt::format("field 'after' is not a cursor julierd gave out: '{}'", request.after));
    }
    if (*command == Command::reload && !request.file.empty()) {
        if (!request.dry_run) return reject("field 'file' of command 'reload' needs 'dry_run'");
        if (request.file.front() != '/')
            return reject(fmt::format("field 'file' must be an absolute path, not '{}'", request.file));
    }
    if (*command == Command::which) {
        if (!flows::parse_protocol(request.protocol))
            return reject(fmt::format("field 'protocol' must be 'tcp' or 'udp', not '{}'", request.protocol));
        const auto client = common::Endpoint::parse(request.client);
        const auto vip = common::Endpoint::parse(request.vip);
        if (!client) return reject(fmt::format("field 'client' is not ADDRESS:PORT: '{}'", request.client));
        if (!vip) return reject(fmt::format("field 'vip' is not ADDRESS:PORT: '{}'", request.vip));
        if (client->address.family != vip->address.family)
            return reject("fields 'client' and 'vip' must be of one address family");
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
    if (j.is_discarded() || !j.is_object()) return failure("the daemon sent a response that is not a JSON object");
    auto ok = j.find("ok");
    if (ok == j.end() || !ok->is_boolean()) return failure("the daemon sent a response without a boolean 'ok'");
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

// ---- typed payloads: one field list each, read by both to_json and from_json ----
namespace {

template <typename Message, typename Member>
struct Field {
    const char* name;  // on the wire
    Member Message::*member;
};

template <typename Message, typename Member>
constexpr Field<Message, Member> field(const char* name, Member Message::*member) {
    return {name, member};
}

// The tag that picks a payload's list among the overloads of fields() below (found by ADL).
template <typename Message>
struct Of {};

template <typename Message>
void write_fields(nlohmann::json& j, const Message& v) {
    j = nlohmann::json::object();
    std::apply([&](const auto&... f) { ((j[f.name] = v.*(f.member)), ...); }, fields(Of<Message>{}));
}

template <typename Message>
void read_fields(const nlohmann::json& j, Message& v) {
    std::apply([&](const auto&... f) { (read(j, f.name, v.*(f.member)), ...); }, fields(Of<Message>{}));
}

auto fields(Of<LastReload>) {
    using M = LastReload;
    return std::tuple{field("result", &M::result), field("unix_time", &M::unix_time), field("error", &M::error)};
}
auto fields(Of<AnnouncementInfo>) {
    using M = AnnouncementInfo;
    return std::tuple{field("vip", &M::vip),
                      field("state", &M::state),
                      field("usable", &M::usable),
                      field("needed", &M::needed),
                      field("seconds_in_state", &M::seconds_in_state),
                      field("announce_in_seconds", &M::announce_in_seconds),
                      field("services", &M::services)};
}
auto fields(Of<BgpSessionInfo>) {
    using M = BgpSessionInfo;
    return std::tuple{field("protocol", &M::protocol), field("neighbour", &M::neighbour), field("state", &M::state)};
}
auto fields(Of<InterfaceState>) {
    using M = InterfaceState;
    return std::tuple{field("name", &M::name), field("attached", &M::attached), field("reattached", &M::reattached),
                      field("note", &M::note)};
}
auto fields(Of<Status>) {
    using M = Status;
    return std::tuple{field("version", &M::version),
                      field("pid", &M::pid),
                      field("uptime_seconds", &M::uptime_seconds),
                      field("config_file", &M::config_file),
                      field("config_generation", &M::config_generation),
                      field("dataplane_generation", &M::dataplane_generation),
                      field("last_reload", &M::last_reload),
                      field("reload_failures", &M::reload_failures),
                      field("pin_dir", &M::pin_dir),
                      field("interfaces", &M::interfaces),
                      field("interface_states", &M::interface_states),
                      field("services", &M::services),
                      field("backends", &M::backends),
                      field("adopted", &M::adopted),
                      field("bgp", &M::bgp),
                      field("bird_error", &M::bird_error),
                      field("announcements", &M::announcements),
                      field("bgp_sessions", &M::bgp_sessions),
                      field("operator_overrides", &M::operator_overrides)};
}
auto fields(Of<ServiceInfo>) {
    using M = ServiceInfo;
    return std::tuple{field("name", &M::name),
                      field("vip", &M::vip),
                      field("port", &M::port),
                      field("protocol", &M::protocol),
                      field("forwarding", &M::forwarding),
                      field("ring_size", &M::ring_size),
                      field("backends", &M::backends),
                      field("backends_in_ring", &M::backends_in_ring),
                      field("packets", &M::packets),
                      field("bytes", &M::bytes),
                      field("new_flows", &M::new_flows),
                      field("nonsyn_miss", &M::nonsyn_miss),
                      field("when_all_down", &M::when_all_down)};
}
auto fields(Of<BackendInfo>) {
    using M = BackendInfo;
    return std::tuple{field("service", &M::service),
                      field("address", &M::address),
                      field("weight", &M::weight),
                      field("weight_now", &M::weight_now),
                      field("health", &M::health),
                      field("health_reason", &M::health_reason),
                      field("state", &M::state),
                      field("drain_source", &M::drain_source),
                      field("problem", &M::problem),
                      field("packets", &M::packets),
                      field("bytes", &M::bytes),
                      field("new_flows", &M::new_flows),
                      field("config_weight", &M::config_weight),
                      field("weight_source", &M::weight_source),
                      field("state_source", &M::state_source)};
}
auto fields(Of<ChangeInfo>) {
    using M = ChangeInfo;
    return std::tuple{field("kind", &M::kind),   field("service", &M::service),   field("backend", &M::backend),
                      field("field", &M::field), field("from", &M::from),         field("to", &M::to),
                      field("moved", &M::moved), field("old_size", &M::old_size), field("new_size", &M::new_size)};
}
auto fields(Of<ReloadResult>) {
    using M = ReloadResult;
    return std::tuple{field("config_generation", &M::config_generation),
                      field("dataplane_generation", &M::dataplane_generation), field("warnings", &M::warnings),
                      field("dry_run", &M::dry_run), field("changes", &M::changes)};
}
auto fields(Of<DrainResult>) {
    using M = DrainResult;
    return std::tuple{field("changed", &M::changed), field("backend", &M::backend)};
}
auto fields(Of<ServiceFlows>) {
    using M = ServiceFlows;
    return std::tuple{field("service", &M::service), field("vip", &M::vip), field("port", &M::port),
                      field("protocol", &M::protocol), field("flows", &M::flows)};
}
auto fields(Of<BackendFlows>) {
    using M = BackendFlows;
    return std::tuple{field("service", &M::service), field("backend", &M::backend), field("state", &M::state),
                      field("flows", &M::flows)};
}
auto fields(Of<FlowsResult>) {
    using M = FlowsResult;
    return std::tuple{field("services", &M::services), field("backends", &M::backends), field("entries", &M::entries),
                      field("unplanned", &M::unplanned), field("max_flows", &M::max_flows)};
}
auto fields(Of<FlowInfo>) {
    using M = FlowInfo;
    return std::tuple{field("protocol", &M::protocol), field("client", &M::client),
                      field("vip", &M::vip),           field("service", &M::service),
                      field("backend", &M::backend),   field("idle_seconds", &M::idle_seconds),
                      field("state", &M::state)};
}
auto fields(Of<FlowList>) {
    using M = FlowList;
    return std::tuple{field("flows", &M::flows), field("next", &M::next), field("scanned", &M::scanned)};
}
auto fields(Of<WhichResult>) {
    using M = WhichResult;
    return std::tuple{field("service", &M::service),
                      field("backend", &M::backend),
                      field("chosen_by", &M::chosen_by),
                      field("entry_backend", &M::entry_backend),
                      field("entry_kept", &M::entry_kept),
                      field("ring_backend", &M::ring_backend),
                      field("hash", &M::hash),
                      field("hash_input", &M::hash_input),
                      field("dataplane_generation", &M::dataplane_generation)};
}
auto fields(Of<PurgeResult>) {
    using M = PurgeResult;
    return std::tuple{field("service", &M::service), field("backend", &M::backend), field("removed", &M::removed)};
}
auto fields(Of<TeardownResult>) {
    using M = TeardownResult;
    return std::tuple{field("detached", &M::detached), field("pin_dir", &M::pin_dir)};
}

}  // namespace

void to_json(nlohmann::json& j, const LastReload& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, LastReload& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const AnnouncementInfo& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, AnnouncementInfo& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const BgpSessionInfo& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, BgpSessionInfo& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const InterfaceState& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, InterfaceState& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const Status& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, Status& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const ServiceInfo& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, ServiceInfo& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const BackendInfo& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, BackendInfo& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const ChangeInfo& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, ChangeInfo& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const ReloadResult& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, ReloadResult& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const DrainResult& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, DrainResult& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const ServiceFlows& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, ServiceFlows& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const BackendFlows& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, BackendFlows& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const FlowsResult& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, FlowsResult& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const FlowInfo& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, FlowInfo& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const FlowList& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, FlowList& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const WhichResult& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, WhichResult& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const PurgeResult& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, PurgeResult& v) { read_fields(j, v); }
void to_json(nlohmann::json& j, const TeardownResult& v) { write_fields(j, v); }
void from_json(const nlohmann::json& j, TeardownResult& v) { read_fields(j, v); }

}  // namespace julier::daemon::protocol
