#include "config/schema.h"

#include "config/duration.h"

namespace julier::config::schema {

namespace {

// A mapping that the reference shows inside its parent's table, its keys
// prefixed (health.http.path is `http.path` in the health table).
struct Inlined {
    Section parent;
    std::string_view key;
    Section child;
    std::string_view prefix;
};
constexpr Inlined inlined[] = {
    {Section::top, "interfaces", Section::interface, "interfaces[]."},
    {Section::top, "metrics", Section::metrics, "metrics."},
    {Section::service, "encap_source", Section::encap_source, "encap_source."},
    {Section::service, "bgp", Section::service_bgp, "bgp."},
    {Section::health, "http", Section::http, "http."},
    {Section::health, "udp", Section::udp, "udp."},
    {Section::health, "dns", Section::dns, "dns."},
    {Section::health, "exec", Section::exec, "exec."},
    {Section::bgp, "neighbours", Section::neighbour, "neighbours[]."},
};

struct TableSpec {
    std::string_view name;
    Section root;
};
constexpr TableSpec tables[] = {
    {"top", Section::top},
    {"limits", Section::limits},
    {"flood_protection", Section::flood_protection},
    {"icmp_answers", Section::icmp_answers},
    {"services", Section::service},
    {"health", Section::health},
    {"backends", Section::backend},
    {"bgp", Section::bgp},
};

std::string milliseconds(std::uint64_t ms) { return format_duration(std::chrono::milliseconds(ms)); }

// `inherited`: flags of the mapping a nested row sits in (encap_source.ipv4 is
// defaultable because encap_source is).
std::string type_cell(const Field& f, unsigned inherited) {
    std::string out(f.type_text);
    if (f.flags & required) out += ", required";
    if ((f.flags | inherited) & defaultable) out += ", defaultable";
    return out;
}

std::string default_cell(const Field& f) {
    if (!f.numeric_fallback) return std::string(f.default_text);
    switch (f.type) {
        case Type::integer: return std::to_string(f.fallback);
        case Type::duration: return "`" + milliseconds(f.fallback) + "`";
        case Type::enumeration: return "`" + std::string(f.spelling(f.fallback)) + "`";
        case Type::other: break;
    }
    return std::string(f.default_text);
}

std::string allowed_cell(const Field& f) {
    std::string out;
    const auto add = [&out](const std::string& part) {
        if (part.empty()) return;
        out += (out.empty() ? "" : ", ") + part;
    };
    if (f.type == Type::integer) add(std::to_string(f.min) + "-" + std::to_string(f.max));
    if (f.type == Type::duration) add(milliseconds(f.min) + "-" + milliseconds(f.max));
    if (f.choices) add(f.choices());
    add(std::string(f.allowed));
    return out;
}

void rows(Section section, std::string_view prefix, unsigned inherited, std::string& out) {
    for (const Field& f : fields) {
        if (f.section != section) continue;
        out += "| `" + std::string(prefix) + std::string(f.key) + "` | " + type_cell(f, inherited) + " | " +
               default_cell(f) + " | " + allowed_cell(f) + " | " + std::string(f.doc) + " |\n";
        for (const Inlined& i : inlined)
            if (i.parent == section && i.key == f.key)
                rows(i.child, std::string(prefix) + std::string(i.prefix), (f.flags | inherited) & defaultable, out);
    }
}

}  // namespace

std::vector<std::string_view> keys(Section section, unsigned flags) {
    std::vector<std::string_view> out;
    for (const Field& f : fields)
        if (f.section == section && (f.flags & flags) == flags) out.push_back(f.key);
    return out;
}

std::vector<std::string_view> keys_without(Section section, unsigned flags) {
    std::vector<std::string_view> out;
    for (const Field& f : fields)
        if (f.section == section && (f.flags & flags) == 0) out.push_back(f.key);
    return out;
}

std::string dns_type_list() {
    std::string out;
    for (const DnsType& t : dns_types) out += (out.empty() ? "`" : ", `") + std::string(t.name) + "`";
    return out;
}

std::vector<ReferenceTable> reference_tables() {
    std::vector<ReferenceTable> out;
    for (const TableSpec& t : tables) {
        std::string text = "| Key | Type | Default | Allowed | Meaning |\n|---|---|---|---|---|\n";
        rows(t.root, "", none, text);
        out.push_back({std::string(t.name), std::move(text)});
    }
    return out;
}

std::string refresh_reference(const std::string& readme) {
    std::string out = readme;
    for (const ReferenceTable& t : reference_tables()) {
        const std::string open = "<!-- reference:" + t.name + " -->\n";
        const std::string close = "<!-- /reference:" + t.name + " -->";
        const auto begin = out.find(open);
        if (begin == std::string::npos) continue;
        const auto end = out.find(close, begin);
        if (end == std::string::npos) continue;
        out.replace(begin + open.size(), end - begin - open.size(), t.text);
    }
    return out;
}

}  // namespace julier::config::schema
