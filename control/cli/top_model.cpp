#include "cli/top_model.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <utility>

#include <fmt/format.h>

#include "cli/render.h"

namespace julier::cli::top {
namespace {

using daemon::protocol::BackendInfo;
using daemon::protocol::ServiceInfo;

template <typename T>
const T* find(const std::vector<T>& items, auto&& matches) {
    const auto it = std::find_if(items.begin(), items.end(), matches);
    return it == items.end() ? nullptr : &*it;
}

std::optional<double> sum(std::optional<double> a, std::optional<double> b) {
    if (!a) return b;
    if (!b) return a;
    return *a + *b;
}

// Busiest first; no rate counts as none; ties by name.
bool busier(const Row& a, const Row& b) {
    const double pa = a.packets.value_or(0), pb = b.packets.value_or(0);
    if (pa != pb) return pa > pb;
    return a.name < b.name;
}

Row service_row(const ServiceInfo& s, const ServiceInfo* before, double seconds, const std::vector<BackendInfo>& all) {
    Row row;
    row.name = s.name;
    row.vip = fmt::format("{}:{}/{}", s.vip, s.port == 0 ? std::string("*") : std::to_string(s.port), s.protocol);
    if (before) {
        row.packets = rate(before->packets, s.packets, seconds);
        row.bytes = rate(before->bytes, s.bytes, seconds);
        row.new_flows = rate(before->new_flows, s.new_flows, seconds);
    }
    std::size_t backends = 0, up = 0;
    for (const auto& b : all) {
        if (b.service != s.name) continue;
        ++backends;
        if (b.health == health::State::up) ++up;
    }
    row.health = fmt::format("{}/{} up", up, backends);
    row.state = s.ring_size == 0 ? std::string("drop") : fmt::format("{}/{} in ring", s.backends_in_ring, s.backends);
    return row;
}

Row backend_row(const BackendInfo& b, const BackendInfo* before, double seconds) {
    Row row;
    row.backend = true;
    row.name = b.address;
    if (before) {
        row.packets = rate(before->packets, b.packets, seconds);
        row.bytes = rate(before->bytes, b.bytes, seconds);
        row.new_flows = rate(before->new_flows, b.new_flows, seconds);
    }
    row.health = std::string(health::to_string(b.health));
    row.weight = fmt::format("{}/{}", b.weight_now, b.weight);
    row.state = std::string(plan::state_word(b.state));
    return row;
}

}  // namespace

std::optional<double> rate(std::uint64_t before, std::uint64_t after, double seconds) {
    if (!(seconds > 0) || after < before) return std::nullopt;
    return static_cast<double>(after - before) / seconds;
}

std::string format_rate(std::optional<double> per_second) {
    if (!per_second) return "-";
    const double v = *per_second;
    if (v <= 0) return "0";
    if (v < 9.95) return fmt::format("{:.1f}", v);
    if (v < 999.5) return fmt::format("{:.0f}", v);
    constexpr std::array<const char*, 6> units{"k", "M", "G", "T", "P", "E"};
    double scaled = v;
    for (std::size_t unit = 0; unit < units.size(); ++unit) {
        scaled /= 1000.0;
        // One decimal below 100 of the unit; a value that would round up to 1000
        // takes the next unit.
        if (scaled < 99.95) return fmt::format("{:.1f}{}", scaled, units[unit]);
        if (scaled < 999.5 || unit + 1 == units.size()) return fmt::format("{:.0f}{}", scaled, units[unit]);
    }
    return "-";  // not reached
}

View make_view(const Sample* previous, const Sample& current, Sort sort, const std::string& service) {
    const double seconds = previous ? current.seconds - previous->seconds : 0;
    View view;
    const auto& st = current.status;
    view.header.push_back(fmt::format("julierd {}, up {}, config generation {}, dataplane generation {}  {}",
                                      st.version, format_duration(st.uptime_seconds), st.config_generation,
                                      st.dataplane_generation, current.clock));

    // Flows per service and per backend from the last count.
    std::map<std::string, std::uint64_t> service_flows;
    std::map<std::pair<std::string, std::string>, std::uint64_t> backend_flows;
    if (current.flows) {
        for (const auto& f : current.flows->services) service_flows[f.service] += f.flows;
        for (const auto& f : current.flows->backends) backend_flows[{f.service, f.backend}] += f.flows;
    }
    const auto flows_of = [&](const auto& map, const auto& key) -> std::optional<std::uint64_t> {
        if (!current.flows) return std::nullopt;
        const auto it = map.find(key);
        return it == map.end() ? 0 : it->second;
    };

    Row total;
    std::uint64_t total_flows = 0;
    std::vector<std::pair<Row, std::vector<Row>>> groups;
    for (const auto& s : current.services) {
        if (!service.empty() && s.name != service) continue;
        const ServiceInfo* before =
            previous ? find(previous->services, [&](const ServiceInfo& p) { return p.name == s.name; }) : nullptr;
        Row row = service_row(s, before, seconds, current.backends);
        row.flows = flows_of(service_flows, s.name);
        std::vector<Row> backends;
        for (const auto& b : current.backends) {
            if (b.service != s.name) continue;
            const BackendInfo* was =
                previous ? find(previous->backends,
                                [&](const BackendInfo& p) { return p.service == b.service && p.address == b.address; })
                         : nullptr;
            Row br = backend_row(b, was, seconds);
            br.flows = flows_of(backend_flows, std::pair{b.service, b.address});
            backends.push_back(std::move(br));
        }
        if (sort == Sort::rate) std::stable_sort(backends.begin(), backends.end(), busier);
        total.packets = sum(total.packets, row.packets);
        total.bytes = sum(total.bytes, row.bytes);
        total.new_flows = sum(total.new_flows, row.new_flows);
        total_flows += row.flows.value_or(0);
        groups.emplace_back(std::move(row), std::move(backends));
    }
    if (sort == Sort::rate) {
        std::stable_sort(groups.begin(), groups.end(),
                         [](const auto& a, const auto& b) { return busier(a.first, b.first); });
    }

    std::string flows = "- active flows";
    if (current.flows) {
        flows = fmt::format("{} active flows", total_flows);
        const auto age = static_cast<std::int64_t>(current.seconds - current.flows_seconds);
        if (age >= 2) flows += fmt::format(" (counted {} ago)", format_duration(age));
    }
    view.header.push_back(fmt::format("{}: {} packets/s, {} bytes/s, {} new flows/s, {}",
                                      service.empty() ? "total" : service, format_rate(total.packets),
                                      format_rate(total.bytes), format_rate(total.new_flows), flows));
    for (auto& [row, backends] : groups) {
        view.rows.push_back(std::move(row));
        for (auto& b : backends) view.rows.push_back(std::move(b));
    }
    return view;
}

std::vector<std::string> render(const View& view, std::size_t width, std::size_t height) {
    using A = Table::Align;
    Table table({{"SERVICE/BACKEND"},
                 {"VIP"},
                 {"PACKETS/S", A::right},
                 {"BYTES/S", A::right},
                 {"NEW/S", A::right},
                 {"FLOWS", A::right},
                 {"HEALTH"},
                 {"WEIGHT", A::right},
                 {"STATE"}});
    for (const auto& r : view.rows) {
        table.add_row({r.backend ? "  " + r.name : r.name, r.vip, format_rate(r.packets), format_rate(r.bytes),
                       format_rate(r.new_flows), r.flows ? std::to_string(*r.flows) : std::string("-"), r.health,
                       r.weight, r.state});
    }
    std::vector<std::string> lines = view.header;
    lines.emplace_back();
    const std::string text = table.render();
    for (std::size_t start = 0; start < text.size();) {
        const auto end = text.find('\n', start);
        lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    if (height > 0 && lines.size() > height) {
        const std::size_t keep = height > 1 ? height - 1 : 0;
        const std::size_t hidden = lines.size() - keep;
        lines.resize(keep);
        lines.push_back(fmt::format("... {} more row{} (a taller terminal or --service shows them)", hidden,
                                    hidden == 1 ? "" : "s"));
        if (lines.size() > height) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(height));
    }
    if (width > 0) {
        for (auto& line : lines) {
            if (line.size() > width) line.resize(width);
        }
    }
    return lines;
}

}  // namespace julier::cli::top
