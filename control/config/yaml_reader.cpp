#include "config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <unordered_map>

#include "config/duration.h"
#include "config/suggest.h"

namespace julier::config {

namespace {

std::string kind_of(const YamlNode& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map: return "a mapping";
        case YAML::NodeType::Sequence: return "a list";
        case YAML::NodeType::Scalar: return "'" + std::string(node.Scalar()) + "'";
        default: return "nothing";
    }
}

std::string range_text(std::uint64_t min, std::uint64_t max) {
    return "(allowed: " + std::to_string(min) + "-" + std::to_string(max) + ")";
}

}  // namespace

namespace {

// The value of `key` in one mapping (none if `layer` is not a mapping).
std::optional<Located> value_of(const Located& layer, std::string_view key) {
    const std::size_t pairs = layer.node.size();  // 0 unless a mapping
    for (std::size_t i = 0; i < pairs; ++i) {
        const YamlNode k = layer.node.key(i);
        if (!k.IsScalar() || k.Scalar() != key) continue;
        const YamlNode value = layer.node.value(i);
        // An empty value ("port:") has no place of its own: point at the key.
        const YAML::Mark mark = value.IsNull() ? k.Mark() : value.Mark();
        return Located{value, join_path(layer.path, key), {layer.location.file, mark.line + 1, mark.column + 1}};
    }
    return std::nullopt;
}

}  // namespace

std::optional<Located> Layers::get(std::string_view key) const {
    for (const Located& layer : maps_)
        if (auto v = value_of(layer, key)) return v;
    return std::nullopt;
}

Layers Layers::child(std::string_view key) const {
    std::vector<Located> children;
    for (const Located& layer : maps_)
        if (auto v = value_of(layer, key); v && v->node.IsMap()) children.push_back(std::move(*v));
    return Layers(std::move(children));
}

common::SourceLocation Reader::where(const YamlNode& node, const common::SourceLocation& fallback) const {
    const YAML::Mark mark = node.Mark();
    if (mark.line < 0) return fallback;
    return {file_, mark.line + 1, mark.column + 1};
}

void Reader::error(const common::SourceLocation& at, const std::string& field, std::string message) {
    out_.push_back(Diagnostic{Severity::error, at, field, std::move(message)});
}

void Reader::warning(const common::SourceLocation& at, const std::string& field, std::string message) {
    out_.push_back(Diagnostic{Severity::warning, at, field, std::move(message)});
}

void Reader::recorded(const Located& v, const std::string& field) { index_.record(field, v.location, v.path); }

void Reader::invalid(const Located& v, const std::string& field, std::string message) {
    index_.mark_invalid(field);
    error(v.location, v.path, std::move(message));
}

std::string Reader::quote(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string Reader::did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
    auto match = closest_match(word, candidates);
    return match ? " (did you mean '" + std::string(*match) + "'?)" : std::string{};
}

bool Reader::mapping(const Located& v, const std::vector<std::string_view>& allowed,
                     const std::vector<std::string_view>& misplaced, std::string_view misplaced_hint, bool extensions) {
    if (!v.node.IsMap()) {
        index_.mark_invalid(v.path);
        error(v.location, v.path, "expected a mapping (key: value), got " + kind_of(v.node));
        return false;
    }
    const std::size_t pairs = v.node.size();
    // The pair where `key` first appears. Mappings are small and searched in
    // place; a large one (a hostile file) gets a hash table to stay linear.
    std::unordered_map<std::string_view, std::size_t> seen;
    const auto first_with = [&](std::string_view key, std::size_t i) {
        if (pairs > 16) return seen.emplace(key, i).first->second;
        std::size_t first = 0;
        while (first < i && !(v.node.key(first).IsScalar() && v.node.key(first).Scalar() == key)) ++first;
        return first;
    };
    for (std::size_t i = 0; i < pairs; ++i) {
        const YamlNode k = v.node.key(i);
        if (!k.IsScalar()) {
            error(where(k, v.location), v.path, "a key must be a plain name, got " + kind_of(k));
            continue;
        }
        const std::string_view key = k.Scalar();
        const std::size_t first = first_with(key, i);
        if (first == i && std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
        const common::SourceLocation at = where(k, v.location);
        const std::string path = join_path(v.path, key);
        if (first < i) {
            error(at, path, "duplicate key (first at " + where(v.node.key(first), v.location).to_string() + ")");
            continue;
        }
        if (extensions && key.starts_with("x-")) continue;
        if (key == "<<") {
            error(at, path, "YAML merge keys are not supported; use defaults, or an alias (*name) for a whole value");
            continue;
        }
        if (std::find(misplaced.begin(), misplaced.end(), key) != misplaced.end()) {
            error(at, path, std::string(misplaced_hint));
            continue;
        }
        std::string message = "unknown key " + quote(key) + did_you_mean(key, allowed);
        if (message.back() != ')') {
            std::string list;
            for (std::string_view k : allowed) list += (list.empty() ? "" : ", ") + std::string(k);
            message += " (allowed: " + list + ")";
        }
        error(at, path, std::move(message));
    }
    return true;
}

bool Reader::sequence(const Located& v) {
    if (v.node.IsSequence()) return true;
    index_.mark_invalid(v.path);
    error(v.location, v.path, "expected a list, got " + kind_of(v.node));
    return false;
}

std::optional<std::string> Reader::scalar(const Located& v, const std::string& field, const std::string& expected) {
    if (v.node.IsScalar()) {
        const std::string_view text = v.node.Scalar();
        if (text_read_ > kMaxTextRead) return std::nullopt;  // reported once, below
        text_read_ += text.size();
        if (text_read_ > kMaxTextRead) {
            invalid(v, field,
                    "the catalogue holds more than " + std::to_string(kMaxTextRead >> 20) +
                        " MiB of text once defaults and YAML aliases are filled in (each service reads the defaults "
                        "it inherits, each alias the value it names); not read further");
            return std::nullopt;
        }
        return std::string(text);
    }
    invalid(v, field, "expected " + expected + ", got " + kind_of(v.node));
    return std::nullopt;
}

std::optional<std::uint64_t> Reader::integer(const Located& v, const std::string& field, std::uint64_t min,
                                             std::uint64_t max) {
    auto text = scalar(v, field, "an integer " + range_text(min, max));
    if (!text) return std::nullopt;
    const std::string& s = *text;
    const bool negative = !s.empty() && s[0] == '-';
    // A leading '-' is read so that "-1" is "out of range", not "not an integer".
    const char* begin = s.data() + (negative ? 1 : 0);
    const char* end = s.data() + s.size();
    std::uint64_t value = 0;
    auto [next, ec] = std::from_chars(begin, end, value);
    const bool all_digits = next == end && begin != end && ec != std::errc::invalid_argument;
    if (!all_digits) {
        invalid(v, field, "expected an integer " + range_text(min, max) + ", got " + quote(s));
        return std::nullopt;
    }
    if (negative || ec == std::errc::result_out_of_range || value < min || value > max) {
        invalid(v, field, s + " is out of range " + range_text(min, max));
        return std::nullopt;
    }
    recorded(v, field);
    return value;
}

std::optional<std::string> Reader::string(const Located& v, const std::string& field, std::size_t max_bytes) {
    auto text = scalar(v, field, "a string");
    if (!text) return std::nullopt;
    if (text->size() > max_bytes) {
        invalid(v, field,
                std::to_string(text->size()) + " bytes, more than the " + std::to_string(max_bytes) + " allowed");
        return std::nullopt;
    }
    recorded(v, field);
    return text;
}

std::optional<bool> Reader::boolean(const Located& v, const std::string& field) {
    auto text = scalar(v, field, "true or false");
    if (!text) return std::nullopt;
    if (*text == "true") {
        recorded(v, field);
        return true;
    }
    if (*text == "false") {
        recorded(v, field);
        return false;
    }
    invalid(v, field, "expected true or false, got " + quote(*text));
    return std::nullopt;
}

std::optional<Duration> Reader::duration(const Located& v, const std::string& field, Duration min, Duration max) {
    const std::string allowed = "(allowed: " + format_duration(min) + " to " + format_duration(max) + ")";
    auto text = scalar(v, field, "a duration like 500ms, 2s or 1m " + allowed);
    if (!text) return std::nullopt;
    auto d = parse_duration(*text);
    if (!d) {
        invalid(v, field,
                quote(*text) + " is not a duration (an integer with a unit ms, s, m or h, e.g. 500ms, 2s, 1m30s)");
        return std::nullopt;
    }
    if (*d < min || *d > max) {
        invalid(v, field, *text + " is out of range " + allowed);
        return std::nullopt;
    }
    recorded(v, field);
    return d;
}

std::optional<common::IpAddress> Reader::address(const Located& v, const std::string& field, int family) {
    const std::string want = family == 4 ? "an IPv4 address" : family == 6 ? "an IPv6 address" : "an IP address";
    auto text = scalar(v, field, want);
    if (!text) return std::nullopt;
    auto ip = common::IpAddress::parse(*text);
    if (!ip) {
        std::string hint;
        if (text->find('/') != std::string::npos) hint = " (a single address, without a prefix length)";
        invalid(v, field, quote(*text) + " is not " + want + hint);
        return std::nullopt;
    }
    if (family != 0 && ip->family != family) {
        invalid(v, field, "expected " + want + ", got " + quote(*text));
        return std::nullopt;
    }
    if (!ip->is_unicast()) {
        invalid(v, field, quote(*text) + " is not a unicast address");
        return std::nullopt;
    }
    recorded(v, field);
    return ip;
}

}  // namespace julier::config
