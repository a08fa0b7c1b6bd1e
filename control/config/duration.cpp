#include "config/duration.h"

#include <charconv>
#include <cstdint>

namespace julier::config {

namespace {
// Longer than any sane interval and far from overflowing int64 milliseconds.
constexpr std::int64_t max_ms = 7LL * 24 * 3600 * 1000;
}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    if (text == "0") return std::chrono::milliseconds{0};
    if (text.empty()) return std::nullopt;
    std::int64_t total = 0;
    const char* p = text.data();
    const char* end = text.data() + text.size();
    while (p != end) {
        std::uint64_t value = 0;
        auto [next, ec] = std::from_chars(p, end, value);
        if (ec != std::errc{} || next == p) return std::nullopt;
        p = next;
        std::int64_t unit = 0;
        const std::string_view rest(p, static_cast<std::size_t>(end - p));
        if (rest.starts_with("ms")) {
            unit = 1;
            p += 2;
        } else if (rest.starts_with("s")) {
            unit = 1000;
            p += 1;
        } else if (rest.starts_with("m")) {
            unit = 60 * 1000;
            p += 1;
        } else if (rest.starts_with("h")) {
            unit = 3600 * 1000;
            p += 1;
        } else {
            return std::nullopt;
        }
        if (value > static_cast<std::uint64_t>(max_ms / unit)) return std::nullopt;
        total += static_cast<std::int64_t>(value) * unit;
        if (total > max_ms) return std::nullopt;
    }
    return std::chrono::milliseconds{total};
}

std::string format_duration(std::chrono::milliseconds d) {
    std::int64_t ms = d.count();
    if (ms == 0) return "0s";
    if (ms % 1000 != 0) return std::to_string(ms) + "ms";
    std::string out;
    const std::pair<std::int64_t, const char*> units[] = {{3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (const auto& [size, name] : units) {
        if (ms >= size) {
            out += std::to_string(ms / size) + name;
            ms %= size;
        }
    }
    return out;
}

}  // namespace julier::config
