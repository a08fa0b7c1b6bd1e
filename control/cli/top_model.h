// `julierctl top`: rates from two readings of julierd's counters and the screen
// they make. Pure; the loop and the terminal are in top.cpp and top_terminal.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/protocol.h"

namespace julier::cli::top {

// One reading of julierd: what `status`, `services` and `backends` answered at
// once, and the last `flows` count (taken less often: it walks the whole table).
struct Sample {
    double seconds = 0;  // when it was read, on a monotonic clock
    std::string clock;   // the wall-clock time shown, "12:04:05"
    daemon::protocol::Status status;
    std::vector<daemon::protocol::ServiceInfo> services;
    std::vector<daemon::protocol::BackendInfo> backends;
    std::optional<daemon::protocol::FlowsResult> flows;
    double flows_seconds = 0;  // when `flows` was counted, on the same clock
};

// Per second between two readings of a counter `seconds` apart; nothing when no
// time passed or the counter went back (julierd restarted or the counters were made
// anew): a rate is never made up.
std::optional<double> rate(std::uint64_t before, std::uint64_t after, double seconds);

// "-" for no rate; "0", "0.5", "12", "999", "1.2k", "12.3k", "123k", "3.4M", "1.0G", ...
std::string format_rate(std::optional<double> per_second);

// How rows are ordered: services by packets per second, the busiest first, and
// each one's backends likewise (ties by name); or as the catalogue has them.
enum class Sort { rate, catalogue };

struct Row {
    bool backend = false;                             // else a service
    std::string name;                                 // the service's name, or the backend's address
    std::string vip;                                  // a service's "198.19.0.1:80/tcp"; empty for a backend
    std::optional<double> packets, bytes, new_flows;  // per second
    std::optional<std::uint64_t> flows;               // connection-table entries
    std::string health;                               // backend: "up", "down", "unknown"; service: "2/3 up"
    std::string weight;                               // backend: "in the ring now/configured"
    std::string state;  // backend: "active", "drain", ...; service: "2/3 in ring" or "drop"
};

struct View {
    std::vector<std::string> header;  // lines above the table
    std::vector<Row> rows;            // each service followed by its backends
};

// The view of `current`, with rates against `previous` (none on the first reading).
// `service` keeps only that service (empty: all).
View make_view(const Sample* previous, const Sample& current, Sort sort, const std::string& service = {});

// The screen: header, a blank line, the table; every line at most `width`
// characters and at most `height` lines (0: no limit), the last one then saying
// how many rows did not fit.
std::vector<std::string> render(const View& view, std::size_t width = 0, std::size_t height = 0);

}  // namespace julier::cli::top
