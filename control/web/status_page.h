// The status page: one self-contained HTML document (inline CSS, no script, no
// external resource), rendered on the server from the same values the control
// socket answers with. It refreshes itself every kRefreshSeconds. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "daemon/protocol.h"
#include "web/rates.h"

namespace julier::web {

inline constexpr int kRefreshSeconds = 10;

struct PageData {
    daemon::protocol::Status status;
    std::vector<daemon::protocol::ServiceInfo> services;
    std::vector<daemon::protocol::BackendInfo> backends;
    Rates rates;
    std::int64_t now_unix = 0;  // when the page was made
};

std::string render_page(const PageData& data);

// For the page and its tests: "1h 2m 3s", "1.5 KiB", "12.3".
std::string format_duration(std::int64_t seconds);
std::string format_bytes(double bytes);
std::string format_rate(double per_second);

}  // namespace julier::web
