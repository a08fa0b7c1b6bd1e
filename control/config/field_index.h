// Where each resolved catalogue field came from, so that checks made after
// parsing (validate) can point at the exact line and column.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/source_location.h"

namespace julier::config {

struct FieldOrigin {
    common::SourceLocation location;
    // The path as written: "services[2].mtu", or "defaults.mtu" when inherited.
    std::string path;
};

class FieldIndex {
public:
    // `field` is the resolved path (services[2].mtu); `origin` where its value was
    // found (defaults.mtu), or the field itself.
    void record(std::string_view field, const common::SourceLocation& location, std::string_view origin);

    // A field whose value could not be read; checks that depend on it stay quiet,
    // so that one mistake gives one message.
    void mark_invalid(const std::string& field);

    // False if the field, anything inside it or anything enclosing it is invalid.
    bool valid(const std::string& field) const;

    // The origin of `field`, else the place of the nearest enclosing recorded field
    // with the rest of the path appended (a built-in default points at its
    // service, or at the inherited mapping it would sit in), else `fallback`.
    FieldOrigin find(const std::string& field, const common::SourceLocation& fallback = {}) const;

    // True if the value of `field` was written in a service's own mapping (not
    // inherited from defaults, not built in).
    bool written_in_service(const std::string& field) const;

private:
    // Flat: one entry per field, names in one buffer, found through an
    // open-addressing hash table (tens of thousands of fields in a large catalogue).
    struct Entry {
        std::uint32_t field;  // offset of the field's name in names_
        std::uint32_t field_size;
        std::uint32_t origin;  // offset of the origin's path in names_ (may be the field's)
        std::uint32_t origin_size;
        std::uint32_t file;  // index in files_
        int line;
        int column;
    };

    std::string_view field_of(const Entry& e) const { return std::string_view(names_).substr(e.field, e.field_size); }
    std::string_view origin_of(const Entry& e) const {
        return std::string_view(names_).substr(e.origin, e.origin_size);
    }
    const Entry* lookup(std::string_view field) const;
    // The slot of `field` in slots_: its entry, or the empty slot where it would go.
    std::size_t slot_of(std::string_view field) const;

    std::vector<Entry> entries_;
    std::string names_;
    std::vector<std::string> files_;    // nearly always one
    std::vector<std::uint32_t> slots_;  // entry index + 1; 0 = empty; size a power of two
    std::set<std::string> invalid_;     // few: one per mistake
};

// "services[2].backends[0].weight" -> "services[2].backends[0]" -> "services[2]" -> "services" -> "".
std::string parent_path(const std::string& field);
// "a" + "b" -> "a.b"; "" + "b" -> "b".
std::string join_path(const std::string& parent, std::string_view key);
// "services" + 2 -> "services[2]".
std::string index_path(const std::string& parent, std::size_t index);

}  // namespace julier::config
