// BIRD's control-socket replies: lines "CCCC-text" (more follow), "CCCC text"
// (last line), " text" (continues the previous code). Pure parsing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace julier::fleet {

struct ReplyLine {
    int code = 0;
    std::string text;
};

// Accumulates received text; `done` once a final line ("CCCC " ) arrived.
class ReplyReader {
public:
    void feed(std::string_view bytes);
    bool done() const { return done_; }
    const std::vector<ReplyLine>& lines() const { return lines_; }
    // Codes 8000-9999 are errors; the text of the first one.
    std::optional<std::string> error() const;

private:
    std::string partial_;
    std::vector<ReplyLine> lines_;
    bool done_ = false;
};

// One row of `show protocols`.
struct ProtocolRow {
    std::string name;
    std::string proto;  // "BGP", "Static", ...
    std::string state;  // "up", "start", "down", ...
    std::string info;   // BGP: "Established", "Active", "Connect", "Idle", ...

    bool operator==(const ProtocolRow&) const = default;
};

std::vector<ProtocolRow> parse_protocols(const std::vector<ReplyLine>& lines);

}  // namespace julier::fleet
