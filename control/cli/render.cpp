#include "cli/render.h"

#include <algorithm>
#include <array>
#include <ctime>
#include <stdexcept>

#include <fmt/chrono.h>
#include <fmt/format.h>

namespace julier::cli {
namespace {

using daemon::protocol::BackendInfo;

std::string join(const std::vector<std::string>& items, std::string_view separator) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += separator;
        out += item;
    }
    return out;
}

std::string local_time(std::int64_t unix_time) {
    const auto t = static_cast<std::time_t>(unix_time);
    std::tm tm{};
    localtime_r(&t, &tm);
    return fmt::format("{:%Y-%m-%d %H:%M:%S}", tm);
}

// The last column of `backends`: why the backend is in the state it is in.
std::string backend_note(const BackendInfo& b) {
    std::vector<std::string> notes;
    if (b.state == plan::BackendRole::maint) notes.push_back("maint by operator");
    if (!b.drain_source.empty()) notes.push_back(fmt::format("drained by {}", b.drain_source));
    if (b.state_source == "operator" && b.state != plan::BackendRole::maint && b.drain_source.empty())
        notes.push_back("undrained by operator");
    if (b.weight_source == "operator")
        notes.push_back(fmt::format("weight {} by operator (file: {})", b.weight, b.config_weight));
    if (!b.problem.empty()) notes.push_back(b.problem);
    if (b.health == health::State::down && !b.health_reason.empty()) notes.push_back(b.health_reason);
    return join(notes, "; ");
}

}  // namespace

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::add_row(std::vector<std::string> cells) {
    if (cells.size() > columns_.size()) {
        throw std::invalid_argument(
            fmt::format("table row has {} cells for {} columns", cells.size(), columns_.size()));
    }
    cells.resize(columns_.size());
    rows_.push_back(std::move(cells));
}

std::string Table::render() const {
    std::vector<std::size_t> width(columns_.size());
    for (std::size_t c = 0; c < columns_.size(); ++c) {
        width[c] = columns_[c].title.size();
        for (const auto& row : rows_) width[c] = std::max(width[c], row[c].size());
    }
    const auto line = [&](const auto& cell_of) {
        std::string out;
        for (std::size_t c = 0; c < columns_.size(); ++c) {
            const std::string& cell = cell_of(c);
            const bool last = c + 1 == columns_.size();
            if (c > 0) out += "  ";
            if (columns_[c].align == Align::right) {
                out += fmt::format("{:>{}}", cell, width[c]);
            } else if (last) {
                out += cell;  // no trailing blanks
            } else {
                out += fmt::format("{:<{}}", cell, width[c]);
            }
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();  // an empty last cell
        out += '\n';
        return out;
    };
    std::string out = line([&](std::size_t c) -> const std::string& { return columns_[c].title; });
    for (const auto& row : rows_) out += line([&](std::size_t c) -> const std::string& { return row[c]; });
    return out;
}

std::string format_bytes(std::uint64_t bytes) {
    constexpr std::array<const char*, 6> units{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) return fmt::format("{} B", bytes);
    double value = static_cast<double>(bytes) / 1024.0;
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < units.size()) {
        value /= 1024.0;
        ++unit;
    }
    return fmt::format("{:.1f} {}", value, units[unit]);
}

std::string format_duration(std::int64_t seconds) {
    if (seconds < 0) seconds = 0;
    const auto d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
    if (d > 0) return fmt::format("{}d{:02}h", d, h);
    if (h > 0) return fmt::format("{}h{:02}m", h, m);
    if (m > 0) return fmt::format("{}m{:02}s", m, s);
    return fmt::format("{}s", s);
}

std::string render_status(const daemon::protocol::Status& s) {
    std::string out = fmt::format("julierd {}, pid {}, up {}\n", s.version, s.pid, format_duration(s.uptime_seconds));
    out += fmt::format("config       {} (generation {})\n", s.config_file, s.config_generation);
    out += fmt::format("dataplane    generation {}{}, pinned under {}\n", s.dataplane_generation,
                       s.adopted ? ", adopted at start" : "", s.pin_dir);
    std::vector<std::string> interfaces;
    for (const auto& i : s.interface_states) {
        std::string text = i.name;
        if (!i.attached) {
            text += " (NOT FORWARDING: " + i.note + ")";
        } else if (i.reattached > 0) {
            text += fmt::format(" (re-attached {} time{})", i.reattached, i.reattached == 1 ? "" : "s");
        }
        interfaces.push_back(std::move(text));
    }
    if (s.interface_states.empty()) interfaces = s.interfaces;  // an older julierd
    out += fmt::format("interfaces   {}\n", interfaces.empty() ? "none" : join(interfaces, ", "));
    out += fmt::format("services     {} with {} backends\n", s.services, s.backends);
    for (const auto& o : s.operator_overrides) out += fmt::format("operator     {}\n", o);
    const auto& r = s.last_reload;
    if (r.result == "ok") {
        out += fmt::format("last reload  ok at {}", local_time(r.unix_time));
    } else if (r.result == "failed") {
        out += fmt::format("last reload  FAILED at {}: {}", local_time(r.unix_time), r.error);
    } else {
        out += "last reload  none since start";
    }
    out += fmt::format(" (failed reloads: {})\n", s.reload_failures);
    if (!s.bgp) return out;
    for (const auto& b : s.bgp_sessions) {
        out += fmt::format("bgp          {} {} {}\n", b.protocol, b.neighbour, b.state);
    }
    if (!s.bird_error.empty()) out += fmt::format("bird         ERROR: {}\n", s.bird_error);
    for (const auto& a : s.announcements) {
        std::string detail = fmt::format("{}/{} healthy backends", a.usable, a.needed);
        if (a.state == "hold-down") detail += fmt::format(", announced in {}", format_duration(a.announce_in_seconds));
        out += fmt::format("vip          {} {} for {} ({}; {})\n", a.vip, a.state, format_duration(a.seconds_in_state),
                           detail, join(a.services, ", "));
    }
    return out;
}

std::string render_services(const std::vector<daemon::protocol::ServiceInfo>& services) {
    using A = Table::Align;
    Table table({{"SERVICE"},
                 {"VIP"},
                 {"PORT", A::right},
                 {"PROTO"},
                 {"FORWARDING"},
                 {"RING", A::right},
                 {"IN RING", A::right},
                 {"ALL DOWN"},
                 {"PACKETS", A::right},
                 {"BYTES", A::right},
                 {"NEW FLOWS", A::right},
                 {"NONSYN MISS", A::right}});
    for (const auto& s : services) {
        table.add_row({s.name, s.vip, s.port == 0 ? std::string("*") : std::to_string(s.port), s.protocol, s.forwarding,
                       s.ring_size == 0 ? std::string("drop") : std::to_string(s.ring_size),
                       fmt::format("{}/{}", s.backends_in_ring, s.backends), s.when_all_down, std::to_string(s.packets),
                       format_bytes(s.bytes), std::to_string(s.new_flows), std::to_string(s.nonsyn_miss)});
    }
    return table.render();
}

std::string render_backends(const std::vector<BackendInfo>& backends) {
    using A = Table::Align;
    Table table({{"SERVICE"},
                 {"BACKEND"},
                 {"WEIGHT", A::right},
                 {"NOW", A::right},
                 {"HEALTH"},
                 {"STATE"},
                 {"PACKETS", A::right},
                 {"BYTES", A::right},
                 {"NOTE"}});
    for (const auto& b : backends) {
        table.add_row({b.service, b.address, std::to_string(b.weight), std::to_string(b.weight_now),
                       std::string(health::to_string(b.health)), std::string(plan::state_word(b.state)),
                       std::to_string(b.packets), format_bytes(b.bytes), backend_note(b)});
    }
    return table.render();
}

std::string render_reload(const daemon::protocol::ReloadResult& r) {
    std::string out =
        r.dry_run ? fmt::format("dry run, nothing applied: running config generation {}, dataplane generation {}\n",
                                r.config_generation, r.dataplane_generation)
                  : fmt::format("reloaded: config generation {}, dataplane generation {}\n", r.config_generation,
                                r.dataplane_generation);
    for (const auto& w : r.warnings) out += w + '\n';
    return out + render_changes(r.changes);
}

namespace {

std::string value_text(const std::string& v) { return v.empty() ? std::string("\"\"") : v; }

// "12.4%", "<0.1%" for a share above 0 that rounds to 0.
std::string percent(double share) {
    if (share > 0 && share < 0.0005) return "<0.1%";
    return fmt::format("{:.1f}%", share * 100);
}

std::string ring_text(const daemon::protocol::ChangeInfo& c) {
    if (c.old_size == 0 && c.new_size == 0) return fmt::format("ring {}: empty, new flows are dropped", c.service);
    if (c.old_size == 0) return fmt::format("ring {}: was empty (dropping), now {} slots", c.service, c.new_size);
    if (c.new_size == 0) return fmt::format("ring {}: now empty, new flows are dropped", c.service);
    if (c.old_size != c.new_size) {
        return fmt::format("ring {}: size {} -> {}, every slot re-mapped: about {} of new flows move", c.service,
                           c.old_size, c.new_size, percent(c.moved));
    }
    return fmt::format("ring {}: {} of slots move", c.service, percent(c.moved));
}

std::string change_text(const daemon::protocol::ChangeInfo& c) {
    const auto& k = c.kind;
    if (k == "service_added") return fmt::format("+ service {} {}", c.service, c.to);
    if (k == "service_removed") return fmt::format("- service {} {}", c.service, c.from);
    if (k == "service_changed")
        return fmt::format("~ service {} {} {} -> {}", c.service, c.field, value_text(c.from), value_text(c.to));
    if (k == "backend_added") return fmt::format("+ backend {} {} {}", c.service, c.backend, c.to);
    if (k == "backend_removed") return fmt::format("- backend {} {}", c.service, c.backend);
    if (k == "backend_changed") {
        return fmt::format("~ backend {} {} {} {} -> {}", c.service, c.backend, c.field, value_text(c.from),
                           value_text(c.to));
    }
    if (k == "ring_moved") return ring_text(c);
    if (k == "vip_announced") return fmt::format("announce {}", c.to);
    if (k == "vip_withdrawn") return fmt::format("withdraw {}", c.from);
    if (k == "interface_added") return fmt::format("+ interface {}", c.field);
    if (k == "interface_removed") return fmt::format("- interface {}", c.field);
    if (k == "setting_changed") return fmt::format("~ {} {} -> {}", c.field, value_text(c.from), value_text(c.to));
    // A kind of a newer julierd: what it carries, plainly.
    return fmt::format("? {} {} {} {} {} -> {}", k, c.service, c.backend, c.field, c.from, c.to);
}

}  // namespace

std::string render_changes(const std::vector<daemon::protocol::ChangeInfo>& changes) {
    if (changes.empty()) return "no changes\n";
    std::string out;
    for (const auto& c : changes) out += change_text(c) + '\n';
    return out;
}

std::string render_override(const daemon::protocol::DrainResult& r, daemon::protocol::Command command) {
    using daemon::protocol::Command;
    const auto& b = r.backend;
    const auto head = fmt::format("{} {}: ", b.service, b.address);
    const auto state = plan::state_word(b.state);
    switch (command) {
        case Command::drain:
            if (!r.changed) return fmt::format("{}already drained (state {})\n", head, state);
            return fmt::format("{}drained: keeps established flows, gets no new ones (state {}, weight now {})\n", head,
                               state, b.weight_now);
        case Command::undrain:
            if (!r.changed) return fmt::format("{}already undrained (state {})\n", head, state);
            return fmt::format("{}undrained (state {}, weight now {})\n", head, state, b.weight_now);
        case Command::weight: {
            const auto weight = b.weight_source == "operator"
                                    ? fmt::format("weight {} (operator; the file says {})", b.weight, b.config_weight)
                                    : fmt::format("weight {} (the file's; no operator weight)", b.weight);
            return fmt::format("{}{}{} (state {}, weight now {})\n", head, r.changed ? "" : "already ", weight, state,
                               b.weight_now);
        }
        case Command::maint:
            if (!r.changed) return fmt::format("{}already in maint (state {})\n", head, state);
            return fmt::format("{}maint: forced down, its flows go to other backends (state {})\n", head, state);
        case Command::ready:
            if (!r.changed) return fmt::format("{}already ready: not in maint (state {})\n", head, state);
            return fmt::format("{}ready: maint lifted (state {}, weight now {})\n", head, state, b.weight_now);
        default: break;
    }
    return fmt::format("{}state {}, weight now {}\n", head, state, b.weight_now);
}

std::string render_teardown(const daemon::protocol::TeardownResult& r) {
    return fmt::format("julierd tore down: detached from {}, removed the pins under {}; the daemon exits\n",
                       r.detached.empty() ? std::string("no interface") : join(r.detached, ", "), r.pin_dir);
}

std::string render_flows(const daemon::protocol::FlowsResult& r) {
    using A = Table::Align;
    Table services({{"SERVICE"}, {"VIP"}, {"PORT", A::right}, {"PROTO"}, {"FLOWS", A::right}});
    for (const auto& s : r.services) {
        services.add_row({s.service, s.vip, s.port == 0 ? std::string("*") : std::to_string(s.port), s.protocol,
                          std::to_string(s.flows)});
    }
    Table backends({{"SERVICE"}, {"BACKEND"}, {"STATE"}, {"FLOWS", A::right}});
    for (const auto& b : r.backends) {
        backends.add_row({b.service, b.backend, std::string(plan::state_word(b.state)), std::to_string(b.flows)});
    }
    std::string out = services.render() + "\n" + backends.render() + "\n";
    const double fill = r.max_flows == 0 ? 0.0 : 100.0 * static_cast<double>(r.entries) / r.max_flows;
    out += fmt::format("connection table: {} entries of {} ({:.1f}% full)", r.entries, r.max_flows, fill);
    if (r.unplanned > 0) out += fmt::format(", {} of services or backends no longer configured", r.unplanned);
    return out + "\n";
}

std::string render_flow_list(const daemon::protocol::FlowList& list, const std::string& more) {
    using A = Table::Align;
    // Idle time and state only when the forwarder's entries carry them.
    const bool idle =
        std::any_of(list.flows.begin(), list.flows.end(), [](const auto& f) { return f.idle_seconds >= 0; });
    const bool state =
        std::any_of(list.flows.begin(), list.flows.end(), [](const auto& f) { return !f.state.empty(); });
    std::vector<Table::Column> columns{{"PROTO"}, {"CLIENT"}, {"VIP"}, {"SERVICE"}, {"BACKEND"}};
    if (idle) columns.push_back({"IDLE", A::right});
    if (state) columns.push_back({"STATE"});
    Table table(std::move(columns));
    for (const auto& f : list.flows) {
        std::vector<std::string> row{f.protocol, f.client, f.vip, f.service.empty() ? "-" : f.service,
                                     f.backend.empty() ? "-" : f.backend};
        if (idle) row.push_back(f.idle_seconds < 0 ? "-" : format_duration(f.idle_seconds));
        if (state) row.push_back(f.state.empty() ? "-" : f.state);
        table.add_row(std::move(row));
    }
    std::string out = table.render();
    if (!list.next.empty() && !more.empty()) out += fmt::format("more: {}\n", more);
    return out;
}

std::string render_which(const daemon::protocol::WhichResult& r) {
    if (r.service.empty() && r.chosen_by == "none" && r.ring_backend.empty() && r.entry_backend.empty()) {
        return "no service takes this flow: the forwarder passes it to the kernel\n";
    }
    const auto input = [&]() -> std::string_view {
        if (r.hash_input == "source") return "source address (source affinity)";
        if (r.hash_input == "no_source_port") return "flow without its source port";
        if (r.hash_input == "destination_port") return "destination port";
        return "5-tuple";
    };
    const std::string hash = fmt::format("hash {:#010x} of the {}", r.hash, input());
    std::string out;
    if (r.chosen_by == "entry") {
        out = fmt::format("{}: backend {} (its connection-table entry)\n", r.service, r.backend);
        out += fmt::format("a new flow would get {} ({})\n", r.ring_backend.empty() ? "-" : r.ring_backend, hash);
    } else if (r.chosen_by == "ring") {
        out = fmt::format("{}: backend {} (the ring's pick, {})\n", r.service, r.backend, hash);
        out += r.entry_backend.empty()
                   ? std::string("no connection-table entry: its next packet makes one\n")
                   : fmt::format("its entry names {}, which no longer takes the flow: the next packet re-picks\n",
                                 r.entry_backend);
    } else {
        out = fmt::format("{}: dropped: the service has no usable backend\n", r.service);
    }
    return out;
}

std::string render_purge(const daemon::protocol::PurgeResult& r) {
    return fmt::format("{}{}: removed {} connection-table entr{}\n", r.service,
                       r.backend.empty() ? "" : " " + r.backend, r.removed, r.removed == 1 ? "y" : "ies");
}

}  // namespace julier::cli
