#include "config/suggest.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace julier::config {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    const std::size_t n = a.size(), m = b.size();
    // Three rows suffice for OSA: the current one and the two before it.
    std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
    for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
    for (std::size_t i = 1; i <= n; ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= m; ++j) {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                cur[j] = std::min(cur[j], prev2[j - 2] + 1);
        }
        prev2.swap(prev);
        prev.swap(cur);
    }
    return prev[m];
}

std::optional<std::string_view> closest_match(std::string_view word, const std::vector<std::string_view>& candidates) {
    std::string lower(word);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::optional<std::string_view> best;
    std::size_t best_distance = SIZE_MAX;
    for (std::string_view c : candidates) {
        const std::size_t d = edit_distance(lower, c);
        if (d < best_distance) {
            best = c;
            best_distance = d;
        }
    }
    // A third of the length (at least 1, at most 3) keeps "prot" -> "port" but not "x" -> "hash".
    const std::size_t allowed = std::clamp<std::size_t>(word.size() / 3, 1, 3);
    if (!best || best_distance > allowed || best_distance >= word.size()) return std::nullopt;
    return best;
}

}  // namespace julier::config
