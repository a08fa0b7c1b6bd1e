#include "config/field_index.h"

#include <functional>

namespace julier::config {

std::string parent_path(const std::string& field) {
    const auto cut = field.find_last_of(".[");
    return cut == std::string::npos ? std::string{} : field.substr(0, cut);
}

std::string join_path(const std::string& parent, std::string_view key) {
    if (parent.empty()) return std::string(key);
    std::string out;
    out.reserve(parent.size() + 1 + key.size());
    out.append(parent).append(1, '.').append(key);
    return out;
}

std::string index_path(const std::string& parent, std::size_t index) {
    return parent + "[" + std::to_string(index) + "]";
}

std::size_t FieldIndex::slot_of(std::string_view field) const {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = std::hash<std::string_view>{}(field)&mask;; i = (i + 1) & mask)
        if (slots_[i] == 0 || field_of(entries_[slots_[i] - 1]) == field) return i;
}

const FieldIndex::Entry* FieldIndex::lookup(std::string_view field) const {
    if (slots_.empty()) return nullptr;
    const std::uint32_t slot = slots_[slot_of(field)];
    return slot ? &entries_[slot - 1] : nullptr;
}

void FieldIndex::record(std::string_view field, const common::SourceLocation& location, std::string_view origin) {
    if (files_.empty() || files_.back() != location.file) files_.push_back(location.file);
    // Recorded again (a service re-reading what it inherits): the last record wins.
    const std::size_t slot = slots_.empty() ? 0 : slot_of(field);
    const bool known = !slots_.empty() && slots_[slot] != 0;
    Entry e{};
    if (known) {
        e = entries_[slots_[slot] - 1];
    } else {
        e.field = static_cast<std::uint32_t>(names_.size());
        e.field_size = static_cast<std::uint32_t>(field.size());
        names_.append(field);
    }
    e.file = static_cast<std::uint32_t>(files_.size() - 1);
    e.line = location.line;
    e.column = location.column;
    e.origin = e.field;
    e.origin_size = static_cast<std::uint32_t>(origin.size());
    if (origin != field) {
        e.origin = static_cast<std::uint32_t>(names_.size());
        names_.append(origin);
    }
    if (known) {
        entries_[slots_[slot] - 1] = e;
        return;
    }
    entries_.push_back(e);
    if (entries_.size() * 2 > slots_.size()) {
        slots_.assign(slots_.empty() ? 64 : slots_.size() * 2, 0);
        for (std::size_t i = 0; i < entries_.size(); ++i)
            slots_[slot_of(field_of(entries_[i]))] = static_cast<std::uint32_t>(i + 1);
    } else {
        slots_[slot_of(field)] = static_cast<std::uint32_t>(entries_.size());
    }
}

void FieldIndex::mark_invalid(const std::string& field) { invalid_.insert(field); }

bool FieldIndex::valid(const std::string& field) const {
    if (invalid_.empty()) return true;
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
    for (std::string_view p = field; !p.empty();) {
        if (const Entry* e = lookup(p)) {
            std::string path(origin_of(*e));
            path.append(field, p.size());
            return FieldOrigin{{files_[e->file], e->line, e->column}, std::move(path)};
        }
        const auto cut = p.find_last_of(".[");
        p = cut == std::string_view::npos ? std::string_view{} : p.substr(0, cut);
    }
    return FieldOrigin{fallback, field};
}

bool FieldIndex::written_in_service(const std::string& field) const {
    const Entry* e = lookup(field);
    return e && origin_of(*e).starts_with("services[");
}

}  // namespace julier::config
