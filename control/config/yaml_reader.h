// Typed, located reads from a YAML tree. Every read that fails adds one
// diagnostic naming the field, the value and what is allowed, and returns nothing,
// so the caller carries on and the file yields all its errors in one pass.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/ip.h"
#include "common/source_location.h"
#include "config/catalogue.h"
#include "config/diagnostic.h"
#include "config/enum_names.h"
#include "config/field_index.h"
#include "config/schema.h"
#include "config/yaml_tree.h"

namespace julier::config {

// A node with the path that names it in messages and the place it was written.
struct Located {
    YamlNode node;
    std::string path;
    common::SourceLocation location;
};

// A stack of mappings searched in order: a service's own mapping, then defaults.
// Looking up a key yields the first mapping that has it, so a value written in the
// service overrides the one in defaults, key by key, at every nesting level.
class Layers {
public:
    Layers() = default;
    explicit Layers(std::vector<Located> maps) : maps_(std::move(maps)) {}

    // The value of `key` in the first mapping that has it.
    std::optional<Located> get(std::string_view key) const;

    // The mappings under `key` in every layer that has one (a non-mapping value is
    // reported by whoever reads that layer's keys, not here).
    Layers child(std::string_view key) const;

    const std::vector<Located>& maps() const { return maps_; }

private:
    std::vector<Located> maps_;
};

class Reader {
public:
    Reader(std::string file, std::vector<Diagnostic>& out, FieldIndex& index)
        : file_(std::move(file)), out_(out), index_(index) {}

    const std::string& file() const { return file_; }
    FieldIndex& index() { return index_; }

    // 1-based position of a node; `fallback` where it has none (no node).
    common::SourceLocation where(const YamlNode& node, const common::SourceLocation& fallback = {}) const;
    common::SourceLocation file_location() const { return {file_, 0, 0}; }

    void error(const common::SourceLocation& at, const std::string& field, std::string message);
    void warning(const common::SourceLocation& at, const std::string& field, std::string message);

    // True if `v` is a mapping, else an error. Also reports duplicate keys and keys
    // not in `allowed` (with a "did you mean" when one is close); keys listed in
    // `misplaced` get `misplaced_hint` instead (e.g. "vip" inside defaults). With
    // `extensions`, keys starting with "x-" are ignored (they hold YAML anchors).
    bool mapping(const Located& v, const std::vector<std::string_view>& allowed,
                 const std::vector<std::string_view>& misplaced = {}, std::string_view misplaced_hint = {},
                 bool extensions = false);
    bool sequence(const Located& v);

    // `field` is the resolved path recorded in the index (services[1].mtu); `v.path`
    // names where the value was written and is what messages show.
    std::optional<std::uint64_t> integer(const Located& v, const std::string& field, std::uint64_t min,
                                         std::uint64_t max);
    // A string of at most `max_bytes`.
    std::optional<std::string> string(const Located& v, const std::string& field,
                                      std::size_t max_bytes = schema::max_string_bytes);
    std::optional<bool> boolean(const Located& v, const std::string& field);
    std::optional<Duration> duration(const Located& v, const std::string& field, Duration min, Duration max);
    // family 4 or 6 restricts the family; 0 takes either. Only unicast addresses.
    std::optional<common::IpAddress> address(const Located& v, const std::string& field, int family = 0);

    template <typename E>
    std::optional<E> enumeration(const Located& v, const std::string& field) {
        auto text = scalar(v, field, "one of: " + enum_name_list<E>());
        if (!text) return std::nullopt;
        if (auto value = enum_from_name<E>(*text)) {
            recorded(v, field);
            return value;
        }
        std::vector<std::string_view> names;
        for (const auto& entry : EnumNames<E>::table) names.push_back(entry.first);
        invalid(v, field, quote(*text) + " is not one of: " + enum_name_list<E>() + did_you_mean(*text, names));
        return std::nullopt;
    }

    // The scalar text of `v`, or an error saying `expected` was wanted instead.
    // Every read counts against kMaxTextRead: defaults are read once per service
    // and aliases once per use, so this is the catalogue's text once expanded.
    // Past it, one error and every later read fails.
    std::optional<std::string> scalar(const Located& v, const std::string& field, const std::string& expected);
    static constexpr std::uint64_t kMaxTextRead = std::uint64_t{64} << 20;
    // True once kMaxTextRead is passed: the rest of the catalogue is not read.
    bool exhausted() const { return text_read_ > kMaxTextRead; }

    // Records where a successfully read value came from.
    void recorded(const Located& v, const std::string& field);
    // Reports an unusable value and marks the field invalid.
    void invalid(const Located& v, const std::string& field, std::string message);

    static std::string quote(std::string_view text);
    static std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

private:
    std::string file_;
    std::vector<Diagnostic>& out_;
    FieldIndex& index_;
    std::uint64_t text_read_ = 0;
};

}  // namespace julier::config
