// julierctl's human output: aligned tables and short summaries. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "daemon/protocol.h"

namespace julier::cli {

// Columns separated by two spaces; numbers right-aligned, text left-aligned.
class Table {
public:
    enum class Align { left, right };
    struct Column {
        std::string title;
        Align align = Align::left;
    };

    explicit Table(std::vector<Column> columns);
    // Missing cells are empty; extra cells are an error (std::invalid_argument).
    void add_row(std::vector<std::string> cells);
    std::string render() const;

private:
    std::vector<Column> columns_;
    std::vector<std::vector<std::string>> rows_;
};

// "0 B", "512 B", "1.5 KiB", "20.0 MiB", ...
std::string format_bytes(std::uint64_t bytes);
// "45s", "12m05s", "3h07m", "2d04h"
std::string format_duration(std::int64_t seconds);

std::string render_status(const daemon::protocol::Status& status);
std::string render_services(const std::vector<daemon::protocol::ServiceInfo>& services);
std::string render_backends(const std::vector<daemon::protocol::BackendInfo>& backends);
// The header, the warnings, then one line per change ("no changes" when none).
std::string render_reload(const daemon::protocol::ReloadResult& result);
// One line per change of a reload, "no changes" when none: "+ service api
// 198.18.0.100:443/tcp", "~ backend web 198.18.1.2 weight 1 -> 3", "ring web: 12.4%
// of slots move", "announce 198.18.0.101".
std::string render_changes(const std::vector<daemon::protocol::ChangeInfo>& changes);
// The answer of drain, undrain, weight, maint or ready (`command`).
std::string render_override(const daemon::protocol::DrainResult& result, daemon::protocol::Command command);
std::string render_teardown(const daemon::protocol::TeardownResult& result);
std::string render_flows(const daemon::protocol::FlowsResult& result);
// `more` is the command line that shows the next page (empty when the table ended).
std::string render_flow_list(const daemon::protocol::FlowList& list, const std::string& more);
std::string render_which(const daemon::protocol::WhichResult& result);
std::string render_purge(const daemon::protocol::PurgeResult& result);

}  // namespace julier::cli
