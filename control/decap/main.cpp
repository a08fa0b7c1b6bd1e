// julier-decap: loads, configures, attaches, reports and removes julier's
// decapsulator (julier_decap.bpf.c) on a backend's interface.
//
//   julier-decap check  [-c FILE]                 validate the configuration only
//   julier-decap attach [-c FILE]                 attach, or update in place
//   julier-decap status [-c FILE | --interface IF | --pin-dir DIR] [--json]
//   julier-decap detach [-c FILE | --interface IF | --pin-dir DIR]
//
// Exit status: 0 done; 1 the kernel or the pins refused (the message says why);
// 2 the configuration is invalid; 3 (status) not pinned, not attached or not
// configured; CLI11's codes for a bad command line.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "dataplane/dataplane.h"
#include "decap/config.h"
#include "decap/loader.h"

namespace {

using julier::decap::DecapConfig;

constexpr int kExitFailed = 1;
constexpr int kExitInvalid = 2;
constexpr int kExitNotRunning = 3;

// Prints every diagnostic; the configuration when there is no error.
std::optional<DecapConfig> load(const std::string& path) {
    julier::decap::ParseResult parsed = julier::decap::parse_config_file(path);
    for (const auto& d : parsed.diagnostics) fmt::print(stderr, "{}\n", d.to_string());
    if (!parsed.ok()) {
        fmt::print(stderr, "julier-decap: {}: {} error{}; nothing changed\n", path, parsed.errors(),
                   parsed.errors() == 1 ? "" : "s");
    }
    return parsed.config;
}

std::string join(const std::vector<std::string>& items) {
    std::string text;
    for (const auto& item : items) text += (text.empty() ? "" : ", ") + item;
    return text;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"julier-decap: julier's decapsulator on a backend (IPIP, IPv6-in-IPv6, IPv4-in-IPv6, GUE)"};
    app.set_version_flag("--version", std::string("julier-decap ") + JULIER_VERSION);
    app.require_subcommand(1);

    std::string config_path = julier::decap::kDefaultConfigPath;
    std::string interface;
    std::string pin_dir;
    bool json = false;
    bool verbose = false;
    app.add_flag("-v,--verbose", verbose, "Show libbpf's and libxdp's messages");

    auto* check = app.add_subcommand("check", "Validate the configuration file and print what it would attach");
    auto* attach = app.add_subcommand(
        "attach", "Attach the decapsulator with this configuration, or update the running one in place");
    auto* status = app.add_subcommand("status", "Attachment, configuration and every counter");
    auto* detach = app.add_subcommand("detach", "Detach the decapsulator and remove its pins");
    for (auto* sub : {check, attach}) {
        sub->add_option("-c,--config", config_path, "Configuration file")->default_str(config_path);
    }
    for (auto* sub : {status, detach}) {
        auto* c = sub->add_option("-c,--config", config_path, "Take interface and pin_dir from this file");
        auto* i = sub->add_option("--interface", interface, "The interface (pin directory " JL_DECAP_PIN_DIR "/IF)");
        auto* p = sub->add_option("--pin-dir", pin_dir, "The pin directory");
        c->excludes(i)->excludes(p);
        i->excludes(p);
    }
    status->add_flag("--json", json, "Print JSON");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    spdlog::set_default_logger(spdlog::stderr_logger_st("julier-decap"));
    spdlog::set_pattern("julier-decap: %v");
    spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::warn);

    try {
        if (check->parsed() || attach->parsed()) {
            auto config = load(config_path);
            if (!config) return kExitInvalid;
            if (check->parsed()) {
                std::string sources, locals, peers;
                for (const auto& p : config->allowed_sources) sources += (sources.empty() ? "" : ", ") + p.to_string();
                for (const auto& a : config->local_addresses) locals += (locals.empty() ? "" : ", ") + a.to_string();
                for (const auto& p : config->second_chance_peers) peers += (peers.empty() ? "" : ", ") + p.to_string();
                fmt::print(
                    "{}: valid: interface {} ({}), pin_dir {}, gue_port {}\n  allowed_sources: {}\n"
                    "  local_addresses: {}\n  second_chance peers: {}\n",
                    config_path, config->interface, julier::config::to_string(config->xdp_mode), config->pin_dir,
                    config->gue_port, sources, locals, peers.empty() ? "none (second chance off)" : peers);
                return 0;
            }
            julier::decap::AttachResult r = julier::decap::attach(*config);
            fmt::print(
                "{} decapsulator (program id {}) on {}; allowed sources +{} -{}, local addresses +{} -{}, "
                "second-chance peers +{} -{}\n",
                r.attached ? "attached" : (r.loaded ? "replaced in place the" : "updated in place the"), r.prog_id,
                config->interface, r.sources_added, r.sources_removed, r.locals_added, r.locals_removed, r.peers_added,
                r.peers_removed);
            for (const std::string& w : r.warnings) fmt::print(stderr, "julier-decap: warning: {}\n", w);
            if (!r.detached_elsewhere.empty()) {
                fmt::print("detached from {} (an earlier configuration of pin_dir {})\n", join(r.detached_elsewhere),
                           config->pin_dir);
            }
            return 0;
        }

        if (pin_dir.empty()) {
            if (!interface.empty()) {
                pin_dir = julier::decap::default_pin_dir(interface);
            } else {
                auto config = load(config_path);
                if (!config) return kExitInvalid;
                pin_dir = config->pin_dir;
            }
        }
        if (status->parsed()) {
            julier::decap::Status s = julier::decap::status(pin_dir);
            fmt::print("{}", json ? julier::decap::render_status_json(s) : julier::decap::render_status(s));
            return s.pinned && !s.interfaces.empty() && s.configured() ? 0 : kExitNotRunning;
        }
        julier::decap::DetachResult r = julier::decap::detach(pin_dir);
        if (!r.pins_removed && r.detached.empty()) {
            fmt::print("nothing pinned under {}; nothing to detach\n", pin_dir);
        } else {
            fmt::print("detached from {}; removed the pins under {}\n",
                       r.detached.empty() ? std::string("no interface") : join(r.detached), pin_dir);
        }
        return 0;
    } catch (const julier::dataplane::DataplaneError& e) {
        fmt::print(stderr, "julier-decap: {}\n", e.what());
        return kExitFailed;
    } catch (const std::exception& e) {
        fmt::print(stderr, "julier-decap: {}\n", e.what());
        return kExitFailed;
    }
}
