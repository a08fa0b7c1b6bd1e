#include "config/field_index.h"

namespace julier::config {

std::string parent_path(const std::string& field) {
    const auto cut = field.find_last_of(".[");
    return cut == std::string::npos ? std::string{} : field.substr(0, cut);
}

std::string join_path(const std::string& parent, std::string_view key) {
    return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

std::string index_path(const std::string& parent, std::size_t index) {
    return parent + "[" + std::to_string(index) + "]";
}

void FieldIndex::record(const std::string& field, common::SourceLocation location, std::string origin) {
    origins_[field] = FieldOrigin{std::move(location), std::move(origin)};
}

void FieldIndex::mark_invalid(const std::string& field) { invalid_.insert(field); }

bool FieldIndex::valid(const std::string& field) const {
    for (std::string p = field; !p.empty(); p = parent_path(p))
        if (invalid_.count(p)) return false;
    // Anything inside: the invalid paths sorting right after `field` that extend it.
    for (auto it = invalid_.lower_bound(field); it != invalid_.end() && it->starts_with(field); ++it) {
        const char next = it->size() > field.size() ? (*it)[field.size()] : '\0';
        if (next == '.' || next == '[') return false;
    }
    return true;
}

FieldOrigin FieldIndex::find(const std::string& field, const common::SourceLocation& fallback) const {
    for (std::string p = field; !p.empty(); p = parent_path(p)) {
        auto it = origins_.find(p);
        if (it == origins_.end()) continue;
        if (p == field) return it->second;
        return FieldOrigin{it->second.location, it->second.path + field.substr(p.size())};
    }
    return FieldOrigin{fallback, field};
}

bool FieldIndex::written_in_service(const std::string& field) const {
    auto it = origins_.find(field);
    return it != origins_.end() && it->second.path.starts_with("services[");
}

}  // namespace julier::config
