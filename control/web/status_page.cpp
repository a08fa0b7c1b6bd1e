#include "web/status_page.h"

#include <ctime>
#include <iterator>
#include <string_view>

#include <fmt/format.h>

#include "web/html.h"

namespace julier::web {
namespace {

namespace protocol = daemon::protocol;
using Out = std::back_insert_iterator<std::string>;

// Inline, so the page needs nothing but itself.
constexpr std::string_view kStyle = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#1d232a;background:#f6f7f9}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem}
h3{font-size:1rem;margin:1rem 0 .4rem}h3 small{font-weight:normal;color:#5b6570}
.meta{color:#4a5561;margin:.2rem 0}.meta b{color:#1d232a}
table{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.08);margin-bottom:.3rem}
th,td{padding:.3rem .7rem;border-bottom:1px solid #e3e6ea;text-align:left;vertical-align:top}
th{background:#eef1f4;font-weight:600;font-size:.85rem}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.tag{display:inline-block;padding:0 .45rem;border-radius:.6rem;font-size:.85rem;font-weight:600}
.good{background:#d7f2dd;color:#145a26}.bad{background:#fbdada;color:#8a1616}
.warn{background:#fdf0c8;color:#6b4d00}.idle{background:#e6e8eb;color:#4a5561}
.note{color:#5b6570;font-size:.85rem}.problem{color:#8a1616}
footer{margin-top:2rem;color:#5b6570;font-size:.85rem}a{color:#1f5fa8}
)";

std::string tag(std::string_view text, std::string_view kind) {
    return fmt::format(R"(<span class="tag {}">{}</span>)", kind, escape(text));
}

std::string_view health_kind(health::State s) {
    switch (s) {
        case health::State::up: return "good";
        case health::State::down: return "bad";
        case health::State::unknown: return "idle";
    }
    return "idle";
}

std::string_view role_kind(plan::BackendRole r) {
    switch (r) {
        case plan::BackendRole::in_ring: return "good";
        case plan::BackendRole::down: return "bad";
        default: return "warn";
    }
}

std::string_view announcement_kind(std::string_view state) {
    if (state == "announced") return "good";
    if (state == "withdrawn") return "bad";
    return "warn";
}

std::string utc(std::int64_t unix_time) {
    const std::time_t t = unix_time;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S UTC", &tm);
    return text;
}

std::string vip_port(const std::string& vip, std::uint16_t port) {
    return vip.find(':') != std::string::npos ? fmt::format("[{}]:{}", vip, port) : fmt::format("{}:{}", vip, port);
}

void header(Out out, const PageData& d) {
    const auto& s = d.status;
    fmt::format_to(out, "<header><h1>julierd</h1>\n");
    fmt::format_to(out,
                   "<p class=\"meta\" id=\"summary\">version <b>{}</b> · pid <b>{}</b> · up <b>{}</b> · "
                   "{} services, {} backends{}</p>\n",
                   escape(s.version), s.pid, format_duration(s.uptime_seconds), s.services, s.backends,
                   s.adopted ? " · forwarder adopted at start" : "");
    std::string reload = "none yet";
    if (s.last_reload.result != "none") {
        reload = fmt::format("{} at {}", tag(s.last_reload.result, s.last_reload.result == "ok" ? "good" : "bad"),
                             utc(s.last_reload.unix_time));
        if (!s.last_reload.error.empty())
            reload += " <span class=\"problem\">" + escape(s.last_reload.error) + "</span>";
    }
    fmt::format_to(out,
                   "<p class=\"meta\" id=\"config\">config <b>{}</b> · generation <b>{}</b> · dataplane generation "
                   "<b>{}</b> · last reload {} · {} failed reloads</p>\n</header>\n",
                   escape(s.config_file), s.config_generation, s.dataplane_generation, reload, s.reload_failures);
}

void interfaces(Out out, const protocol::Status& s) {
    fmt::format_to(out,
                   "<section id=\"interfaces\"><h2>Interfaces</h2>\n<table><tr><th>Interface</th><th>Forwarder</th>"
                   "<th class=\"n\">Re-attached</th><th>Note</th></tr>\n");
    for (const auto& i : s.interface_states) {
        fmt::format_to(out, "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"note\">{}</td></tr>\n",
                       escape(i.name), i.attached ? tag("attached", "good") : tag("not attached", "bad"), i.reattached,
                       escape(i.note));
    }
    fmt::format_to(out, "</table></section>\n");
}

void services(Out out, const PageData& d) {
    fmt::format_to(out,
                   "<section id=\"services\"><h2>Services</h2>\n<table><tr><th>Service</th><th>Address</th>"
                   "<th>Forwarding</th><th class=\"n\">Backends in ring</th><th class=\"n\">Packets</th>"
                   "<th class=\"n\">Bytes</th><th class=\"n\">New flows</th><th class=\"n\">Packets/s</th>"
                   "<th class=\"n\">Bytes/s</th><th class=\"n\">New flows/s</th></tr>\n");
    for (const auto& s : d.services) {
        const auto rate = d.rates.services.find(s.name);
        const bool rated = rate != d.rates.services.end();
        fmt::format_to(out,
                       "<tr><td>{}</td><td>{} {}</td><td>{}{}</td><td class=\"n\">{} of {}</td><td class=\"n\">{}</td>"
                       "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
                       "<td class=\"n\">{}</td></tr>\n",
                       escape(s.name), escape(vip_port(s.vip, s.port)), escape(s.protocol), escape(s.forwarding),
                       s.when_all_down == "keep" ? " <span class=\"note\">(fail open)</span>" : "", s.backends_in_ring,
                       s.backends, s.packets, format_bytes(static_cast<double>(s.bytes)), s.new_flows,
                       rated ? format_rate(rate->second.packets) : "—", rated ? format_bytes(rate->second.bytes) : "—",
                       rated ? format_rate(rate->second.new_flows) : "—");
    }
    fmt::format_to(out, "</table>\n<p class=\"note\" id=\"rates\">{}</p></section>\n",
                   d.rates.seconds > 0 ? fmt::format("Rates over the last {:.0f} s.", d.rates.seconds)
                                       : std::string("Rates need two views of the page: they appear with the next "
                                                     "refresh."));
}

void backends(Out out, const PageData& d) {
    fmt::format_to(out, "<section id=\"backends\"><h2>Backends</h2>\n");
    for (const auto& s : d.services) {
        fmt::format_to(
            out,
            "<h3>{} <small>{} {}</small></h3>\n<table class=\"backends\" data-service=\"{}\"><tr>"
            "<th>Backend</th><th>Health</th><th>Reason</th><th class=\"n\">Weight</th><th>State</th>"
            "<th>Drained by</th><th>Problem</th><th class=\"n\">Packets</th><th class=\"n\">Bytes</th></tr>\n",
            escape(s.name), escape(vip_port(s.vip, s.port)), escape(s.protocol), escape(s.name));
        for (const auto& b : d.backends) {
            if (b.service != s.name) continue;
            const auto health = nlohmann::json(b.health).get<std::string>();
            const auto state = nlohmann::json(b.state).get<std::string>();
            fmt::format_to(out,
                           "<tr><td>{}</td><td>{}</td><td class=\"note\">{}</td><td class=\"n\">{} of {}</td>"
                           "<td>{}</td><td>{}</td><td class=\"problem\">{}</td><td class=\"n\">{}</td>"
                           "<td class=\"n\">{}</td></tr>\n",
                           escape(b.address), tag(health, health_kind(b.health)), escape(b.health_reason), b.weight_now,
                           b.weight, tag(state, role_kind(b.state)), escape(b.drain_source), escape(b.problem),
                           b.packets, format_bytes(static_cast<double>(b.bytes)));
        }
        fmt::format_to(out, "</table>\n");
    }
    fmt::format_to(out, "</section>\n");
}

void bgp(Out out, const protocol::Status& s) {
    fmt::format_to(out, "<section id=\"bgp\"><h2>BGP announcements</h2>\n");
    if (!s.bgp) {
        fmt::format_to(out,
                       "<p class=\"note\">No <code>bgp</code> section: julierd announces nothing.</p></section>\n");
        return;
    }
    if (!s.bird_error.empty()) fmt::format_to(out, "<p class=\"problem\">BIRD: {}</p>\n", escape(s.bird_error));
    fmt::format_to(out,
                   "<table id=\"announcements\"><tr><th>VIP</th><th>State</th><th class=\"n\">Usable</th>"
                   "<th class=\"n\">Needed</th><th>Since</th><th>Services</th></tr>\n");
    for (const auto& a : s.announcements) {
        std::string services;
        for (const auto& name : a.services) services += (services.empty() ? "" : ", ") + escape(name);
        std::string since = format_duration(a.seconds_in_state);
        if (a.state == "hold-down") since += fmt::format(" (announced in {})", format_duration(a.announce_in_seconds));
        fmt::format_to(out,
                       "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td>"
                       "<td>{}</td></tr>\n",
                       escape(a.vip), tag(a.state, announcement_kind(a.state)), a.usable, a.needed, since, services);
    }
    fmt::format_to(out,
                   "</table>\n<table id=\"sessions\"><tr><th>BGP session</th><th>Neighbour</th><th>State</th></tr>\n");
    for (const auto& b : s.bgp_sessions) {
        fmt::format_to(out, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", escape(b.protocol), escape(b.neighbour),
                       tag(b.state, b.state.starts_with("Established") ? "good" : "warn"));
    }
    fmt::format_to(out, "</table></section>\n");
}

}  // namespace

std::string format_duration(std::int64_t seconds) {
    if (seconds < 0) seconds = 0;
    const auto d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
    if (d > 0) return fmt::format("{}d {}h {}m", d, h, m);
    if (h > 0) return fmt::format("{}h {}m {}s", h, m, s);
    if (m > 0) return fmt::format("{}m {}s", m, s);
    return fmt::format("{}s", s);
}

std::string format_bytes(double bytes) {
    static constexpr std::string_view units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    std::size_t unit = 0;
    while (bytes >= 1024 && unit + 1 < std::size(units)) {
        bytes /= 1024;
        ++unit;
    }
    return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[unit]);
}

std::string format_rate(double per_second) {
    return per_second >= 100 || per_second == 0 ? fmt::format("{:.0f}", per_second) : fmt::format("{:.1f}", per_second);
}

std::string render_page(const PageData& d) {
    std::string html;
    auto out = std::back_inserter(html);
    fmt::format_to(out,
                   "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<meta http-equiv=\"refresh\" content=\"{}\">\n<title>julierd status</title>\n<style>{}</style>"
                   "</head><body>\n",
                   kRefreshSeconds, kStyle);
    header(out, d);
    services(out, d);
    backends(out, d);
    bgp(out, d.status);
    interfaces(out, d.status);
    fmt::format_to(out,
                   "<footer>Made at {} · refreshes every {} s · JSON: <a href=\"/api/status\">status</a>, "
                   "<a href=\"/api/services\">services</a>, <a href=\"/api/backends\">backends</a> (as "
                   "<code>julierctl --json</code>) · <a href=\"/metrics\">metrics</a></footer>\n</body></html>\n",
                   utc(d.now_unix), kRefreshSeconds);
    return html;
}

}  // namespace julier::web
