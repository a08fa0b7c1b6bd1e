// Where each resolved catalogue field came from, so that checks made after
// parsing (validate) can point at the exact line and column.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>

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
    void record(const std::string& field, common::SourceLocation location, std::string origin);

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
    std::map<std::string, FieldOrigin> origins_;
    std::set<std::string> invalid_;
};

// "services[2].backends[0].weight" -> "services[2].backends[0]" -> "services[2]" -> "services" -> "".
std::string parent_path(const std::string& field);
// "a" + "b" -> "a.b"; "" + "b" -> "b".
std::string join_path(const std::string& parent, std::string_view key);
// "services" + 2 -> "services[2]".
std::string index_path(const std::string& parent, std::size_t index);

}  // namespace julier::config
