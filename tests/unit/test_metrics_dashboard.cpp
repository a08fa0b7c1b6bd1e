// The Grafana dashboard shipped in packaging/grafana: well-formed, and every query
// asks only for metrics julierd exports (metric_specs.h is the list), filtered by
// the dashboard's instance variable, in PromQL that promtool accepts.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "metrics/metric_specs.h"

using nlohmann::json;

namespace {

const std::string datasource_uid = "${DS_PROMETHEUS}";

json load_dashboard() {
    const auto path = std::filesystem::path(JULIER_SOURCE_DIR) / "packaging" / "grafana" / "julier.json";
    std::ifstream in(path);
    INFO(path.string());
    REQUIRE(in.good());
    return json::parse(in);  // throws on malformed JSON
}

// Panels at top level and inside rows.
std::vector<const json*> all_panels(const json& dashboard) {
    std::vector<const json*> out;
    for (const auto& panel : dashboard.at("panels")) {
        out.push_back(&panel);
        if (panel.contains("panels"))
            for (const auto& inner : panel.at("panels")) out.push_back(&inner);
    }
    return out;
}

struct MetricUse {
    std::string name;
    std::string selector;  // the text between { and } right after the name, if any
};

// The julier_* metric names a PromQL expression refers to, skipping quoted strings.
std::vector<MetricUse> metric_uses(const std::string& expr) {
    std::vector<MetricUse> uses;
    const auto ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':'; };
    std::size_t i = 0;
    while (i < expr.size()) {
        const char c = expr[i];
        if (c == '"' || c == '\'') {
            const auto close = expr.find(c, i + 1);
            REQUIRE(close != std::string::npos);
            i = close + 1;
        } else if (ident(c)) {
            std::size_t j = i;
            while (j < expr.size() && ident(expr[j])) ++j;
            const std::string word = expr.substr(i, j - i);
            if (word.rfind("julier_", 0) == 0) {
                MetricUse use{word, {}};
                std::size_t k = j;
                while (k < expr.size() && expr[k] == ' ') ++k;
                if (k < expr.size() && expr[k] == '{') {
                    const auto close = expr.find('}', k);
                    REQUIRE(close != std::string::npos);
                    use.selector = expr.substr(k + 1, close - k - 1);
                }
                uses.push_back(use);
            }
            i = j;
        } else {
            ++i;
        }
    }
    return uses;
}

// Whether `name` is an exported series name: a listed metric, or a histogram's
// _bucket, _sum or _count series.
bool exported(const std::string& name) {
    for (const auto* spec : julier::metrics::all_metrics) {
        if (name == spec->name) return spec->type != prometheus::MetricType::Histogram;
        if (spec->type == prometheus::MetricType::Histogram)
            for (const char* suffix : {"_bucket", "_sum", "_count"})
                if (name == std::string(spec->name) + suffix) return true;
    }
    return false;
}

// Grafana's variables replaced by values PromQL accepts.
std::string as_promql(std::string expr) {
    const std::map<std::string, std::string> values{
        {"$__rate_interval", "5m"}, {"$instance", ".*"}, {"$service", ".*"}};
    for (const auto& [variable, value] : values)
        for (auto at = expr.find(variable); at != std::string::npos; at = expr.find(variable))
            expr.replace(at, variable.size(), value);
    return expr;
}

struct Expression {
    std::string where;  // for messages
    std::string expr;
    bool needs_instance_filter = true;
};

std::vector<Expression> expressions(const json& dashboard) {
    std::vector<Expression> out;
    for (const auto* panel : all_panels(dashboard))
        if (panel->contains("targets"))
            for (const auto& target : panel->at("targets"))
                out.push_back({"panel " + panel->at("title").get<std::string>() + " target " +
                                   target.at("refId").get<std::string>(),
                               target.at("expr").get<std::string>()});
    for (const auto& annotation : dashboard.at("annotations").at("list"))
        if (annotation.contains("expr"))
            out.push_back(
                {"annotation " + annotation.at("name").get<std::string>(), annotation.at("expr").get<std::string>()});
    // Variable queries list label values; the instance variable itself cannot filter by instance.
    for (const auto& variable : dashboard.at("templating").at("list"))
        if (variable.at("type") == "query")
            out.push_back({"variable " + variable.at("name").get<std::string>(),
                           variable.at("definition").get<std::string>(), false});
    return out;
}

}  // namespace

TEST_CASE("dashboard: a Grafana dashboard with a templated data source", "[metrics][dashboard]") {
    const auto dashboard = load_dashboard();
    CHECK(dashboard.at("schemaVersion").get<int>() >= 39);
    CHECK_FALSE(dashboard.at("title").get<std::string>().empty());
    CHECK_FALSE(dashboard.at("uid").get<std::string>().empty());

    std::map<std::string, json> variables;
    for (const auto& variable : dashboard.at("templating").at("list"))
        variables[variable.at("name").get<std::string>()] = variable;
    REQUIRE(variables.count("DS_PROMETHEUS"));
    CHECK(variables["DS_PROMETHEUS"].at("type") == "datasource");
    CHECK(variables["DS_PROMETHEUS"].at("query") == "prometheus");
    REQUIRE(variables.count("instance"));
    CHECK(variables["instance"].at("type") == "query");
    CHECK(variables["instance"].at("datasource").at("uid") == datasource_uid);
}

TEST_CASE("dashboard: panels have unique ids, a place and queries", "[metrics][dashboard]") {
    const auto dashboard = load_dashboard();
    const std::set<std::string> known_types{"row",   "timeseries", "stat",  "state-timeline",
                                            "table", "bargauge",   "gauge", "text"};
    std::set<int> ids;
    for (const auto* panel : all_panels(dashboard)) {
        const auto title = panel->at("title").get<std::string>();
        INFO("panel " << title);
        const int id = panel->at("id").get<int>();
        CHECK(id > 0);
        CHECK(ids.insert(id).second);
        const auto type = panel->at("type").get<std::string>();
        CHECK(known_types.count(type) == 1);

        const auto& grid = panel->at("gridPos");
        const int x = grid.at("x").get<int>();
        const int w = grid.at("w").get<int>();
        CHECK(x >= 0);
        CHECK(w >= 1);
        CHECK(x + w <= 24);
        CHECK(grid.at("h").get<int>() >= 1);
        CHECK(grid.at("y").get<int>() >= 0);

        if (type == "row") continue;
        CHECK(panel->at("datasource").at("uid") == datasource_uid);
        REQUIRE(panel->contains("targets"));
        CHECK_FALSE(panel->at("targets").empty());
        std::set<std::string> refs;
        for (const auto& target : panel->at("targets")) {
            CHECK(refs.insert(target.at("refId").get<std::string>()).second);
            CHECK(target.at("datasource").at("uid") == datasource_uid);
            CHECK_FALSE(target.at("expr").get<std::string>().empty());
        }
    }
    CHECK(ids.size() >= 10);
}

TEST_CASE("dashboard: queries use exported metrics only, filtered by instance", "[metrics][dashboard]") {
    const auto dashboard = load_dashboard();
    std::set<std::string> used;
    for (const auto& e : expressions(dashboard)) {
        INFO(e.where << ": " << e.expr);
        const auto uses = metric_uses(e.expr);
        CHECK_FALSE(uses.empty());
        for (const auto& use : uses) {
            INFO(use.name);
            CHECK(exported(use.name));
            used.insert(use.name);
            if (e.needs_instance_filter) CHECK(use.selector.find("instance=~\"$instance\"") != std::string::npos);
        }
    }

    // What the dashboard is for: traffic per VIP, backend share vs weight, health,
    // drops, reloads and generations, and the connection table (its census, its fill
    // and the packets that found no entry).
    for (const char* needed :
         {"julier_service_packets_total", "julier_service_bytes_total", "julier_service_new_flows_total",
          "julier_backend_packets_total", "julier_backend_weight", "julier_backend_up",
          "julier_forwarder_packets_total", "julier_config_reloads_total", "julier_config_generation",
          "julier_dataplane_generation", "julier_service_flows", "julier_backend_flows",
          "julier_service_nonsyn_miss_total", "julier_flow_table_entries", "julier_flow_table_max_entries",
          "julier_flow_table_fill_ratio", "julier_flow_census_duration_seconds",
          "julier_flow_census_timestamp_seconds"}) {
        INFO(needed);
        CHECK(used.count(needed) == 1);
    }
    bool health_timeline = false;
    for (const auto* panel : all_panels(dashboard))
        if (panel->at("type") == "state-timeline")
            for (const auto& target : panel->at("targets"))
                health_timeline |= target.at("expr").get<std::string>().find("julier_backend_up") != std::string::npos;
    CHECK(health_timeline);
}

TEST_CASE("dashboard: every query is valid PromQL", "[metrics][dashboard]") {
    const auto dashboard = load_dashboard();
    // promtool parses a rule file's expressions; JSON is YAML, so the file is JSON.
    json rules = json::array();
    std::size_t n = 0;
    for (const auto& e : expressions(dashboard)) {
        if (e.where.rfind("variable ", 0) == 0) continue;  // label_values() is Grafana's, not PromQL
        const auto expr = as_promql(e.expr);
        INFO(e.where << ": " << expr);
        CHECK(expr.find('$') == std::string::npos);  // a variable as_promql does not know
        rules.push_back({{"record", "dashboard:query_" + std::to_string(++n)}, {"expr", expr}});
    }
    const json file = {{"groups", json::array({{{"name", "dashboard"}, {"rules", rules}}})}};

    char path[] = "/tmp/julier-dashboard-XXXXXX";
    const int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    const std::string text = file.dump(2);
    REQUIRE(write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    close(fd);
    const std::string command = std::string("promtool check rules ") + path + " 2>&1";
    std::string output;
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[512];
    while (fgets(buffer, sizeof(buffer), pipe)) output += buffer;
    const int status = pclose(pipe);
    unlink(path);
    INFO("promtool check rules said:\n" << output);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(output.find("SUCCESS: " + std::to_string(n) + " rules found") != std::string::npos);
}
