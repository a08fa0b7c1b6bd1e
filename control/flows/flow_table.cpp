#include "flows/flow_table.h"

#include <netinet/in.h>

#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace julier::flows {

FlowValue flow_value(const jl_flow_key& key, const jl_flow& value, std::uint64_t now_ns) {
    FlowValue out;
    out.backend_id = value.backend_id;
    out.service_id = value.service_id;
    const auto since = [&](std::uint64_t t) { return now_ns > t ? now_ns - t : 0; };
    if (key.proto == IPPROTO_UDP) {
        out.idle_ns = since(value.time_ns);  // the last-seen time, refreshed while the flow lives
        out.state = "udp";
    } else if (value.flags & JL_FLOW_F_RST) {
        out.state = "reset";  // time_ns ends the linger
    } else if (value.flags & JL_FLOW_F_FIN) {
        out.state = "closing";
    } else {
        out.state = "established";
    }
    return out;
}

void Census::add(const FlowValue& value) {
    ++per_backend[{value.service_id, value.backend_id}];
    ++entries;
}

void Census::add(std::span<const FlowEntry> batch) {
    for (const auto& e : batch) add(e.value);
}

std::uint64_t Census::of_service(std::uint32_t service_id) const {
    std::uint64_t n = 0;
    for (auto it = per_backend.lower_bound({service_id, 0}); it != per_backend.end() && it->first.first == service_id;
         ++it)
        n += it->second;
    return n;
}

std::uint64_t Census::of_backend(std::uint32_t service_id, std::uint32_t backend_id) const {
    auto it = per_backend.find({service_id, backend_id});
    return it == per_backend.end() ? 0 : it->second;
}

namespace {

template <typename T>
std::optional<T> number(std::string_view text) {
    T value{};
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return value;
}

}  // namespace

std::string Cursor::to_string() const {
    return token ? fmt::format("b{}.{}", *token, skip) : fmt::format("start.{}", skip);
}

std::optional<Cursor> Cursor::parse(std::string_view text) {
    const auto dot = text.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    const auto head = text.substr(0, dot);
    const auto skip = number<std::uint64_t>(text.substr(dot + 1));
    if (!skip) return std::nullopt;
    if (head == "start") return Cursor{std::nullopt, *skip};
    if (head.size() < 2 || head.front() != 'b') return std::nullopt;
    const auto token = number<std::uint32_t>(head.substr(1));
    if (!token) return std::nullopt;
    return Cursor{*token, *skip};
}

Pager::Pager(Cursor start, Filter filter, std::size_t limit, std::size_t budget,
             std::function<std::size_t(const FlowEntry&)> cost)
    : at_(start), filter_(filter), limit_(limit), budget_(budget), cost_(std::move(cost)) {}

bool Pager::add(std::optional<std::uint32_t> token, std::span<const FlowEntry> batch,
                std::optional<std::uint32_t> next) {
    if (done_) return false;
    at_.token = token;
    std::size_t i = std::min<std::uint64_t>(at_.skip, batch.size());
    for (; i < batch.size(); ++i) {
        const auto& e = batch[i];
        if (filter_.matches(e.value)) {
            const std::size_t cost = cost_ ? cost_(e) : 0;
            if (entries_.size() >= limit_ || used_ + cost > budget_) {
                next_ = Cursor{token, i};  // resume at this entry
                done_ = true;
                return false;
            }
            used_ += cost;
            entries_.push_back(e);
        }
        ++scanned_;
    }
    if (at_.skip > batch.size()) {
        at_.skip -= batch.size();  // a resumed page skips past this whole batch
    } else {
        at_.skip = 0;
    }
    if (!next) {
        next_.reset();  // the end of the table
        done_ = true;
        return false;
    }
    at_.token = next;
    next_ = at_;  // where the walk stands, should the caller stop here
    return true;
}

std::optional<std::uint8_t> parse_protocol(std::string_view text) {
    if (text == "tcp") return IPPROTO_TCP;
    if (text == "udp") return IPPROTO_UDP;
    return std::nullopt;
}

std::string protocol_text(std::uint8_t proto) {
    if (proto == IPPROTO_TCP) return "tcp";
    if (proto == IPPROTO_UDP) return "udp";
    return std::to_string(proto);
}

namespace {

void put(__u32 (&words)[4], const common::IpAddress& a) {
    std::memset(words, 0, sizeof(words));
    std::memcpy(words, a.bytes.data(), a.is_v4() ? 4 : 16);
}

common::IpAddress get(const __u32 (&words)[4], std::uint8_t family) {
    common::IpAddress a;
    a.family = family == JL_FAMILY_V6 ? 6 : 4;
    std::memcpy(a.bytes.data(), words, a.is_v4() ? 4 : 16);
    return a;
}

}  // namespace

jl_flow_key make_key(std::uint8_t proto, const Endpoint& client, const Endpoint& vip) {
    jl_flow_key k{};
    put(k.src, client.address);
    put(k.dst, vip.address);
    k.sport = htons(client.port);
    k.dport = htons(vip.port);
    k.proto = proto;
    k.family = client.address.is_v6() ? JL_FAMILY_V6 : JL_FAMILY_V4;
    return k;
}

common::IpAddress key_source(const jl_flow_key& key) { return get(key.src, key.family); }
common::IpAddress key_destination(const jl_flow_key& key) { return get(key.dst, key.family); }

}  // namespace julier::flows
