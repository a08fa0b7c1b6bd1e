// julierctl: the operator's view of a running julierd, over its control socket.
//
// Exit status: 0 done; 1 julierd refused or failed the command; 2 julierd could not
// be reached or answered something unreadable (and CLI11's codes for a bad command
// line).
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/client.h"
#include "cli/render.h"
#include "cli/top.h"
#include "daemon/protocol.h"
#include "daemon/version.h"

namespace {

namespace protocol = julier::daemon::protocol;
using julier::cli::ClientError;

constexpr int kExitRefused = 1;
constexpr int kExitUnreachable = 2;

// The command line that shows the page after this one.
std::string more_command(const protocol::Request& request, const nlohmann::json& result) {
    const auto next = result.value("next", std::string{});
    if (next.empty()) return {};
    std::string out = "julierctl flows";
    if (!request.service.empty()) out += " " + request.service;
    if (!request.backend.empty()) out += " " + request.backend;
    out += " --list";
    if (request.limit != 0) out += fmt::format(" --limit {}", request.limit);
    return out + " --after " + next;
}

// `flows --list`: pages until `limit` entries are there or the table ended (a page
// is smaller than asked when its entries would not fit in one protocol line).
protocol::Response call_list(julier::cli::ControlClient& client, protocol::Request request) {
    const std::uint32_t want = request.limit != 0 ? request.limit : protocol::kDefaultFlowLimit;
    protocol::FlowList all;
    for (;;) {
        request.limit = static_cast<std::uint32_t>(want - all.flows.size());
        auto response = client.call(request);
        if (!response.ok) return response;
        auto page = response.result.get<protocol::FlowList>();
        all.flows.insert(all.flows.end(), page.flows.begin(), page.flows.end());
        all.scanned += page.scanned;
        all.next = page.next;
        if (page.next.empty() || all.flows.size() >= want) break;
        request.after = page.next;
    }
    return protocol::success(all);
}

std::string render(const protocol::Request& request, const nlohmann::json& result) {
    using julier::cli::render_backends;
    using julier::cli::render_services;
    switch (request.command) {
        case protocol::Command::status: return julier::cli::render_status(result.get<protocol::Status>());
        case protocol::Command::services: return render_services(result.get<std::vector<protocol::ServiceInfo>>());
        case protocol::Command::backends: return render_backends(result.get<std::vector<protocol::BackendInfo>>());
        case protocol::Command::drain:
        case protocol::Command::undrain:
        case protocol::Command::weight:
        case protocol::Command::maint:
        case protocol::Command::ready:
            return julier::cli::render_override(result.get<protocol::DrainResult>(), request.command);
        case protocol::Command::reload: return julier::cli::render_reload(result.get<protocol::ReloadResult>());
        case protocol::Command::teardown: return julier::cli::render_teardown(result.get<protocol::TeardownResult>());
        case protocol::Command::flows:
            if (request.list)
                return julier::cli::render_flow_list(result.get<protocol::FlowList>(), more_command(request, result));
            return julier::cli::render_flows(result.get<protocol::FlowsResult>());
        case protocol::Command::which: return julier::cli::render_which(result.get<protocol::WhichResult>());
        case protocol::Command::purge: return julier::cli::render_purge(result.get<protocol::PurgeResult>());
    }
    return result.dump(2) + "\n";
}

// Asks on the terminal; true only for "y" or "yes".
bool confirm_teardown(const std::string& socket) {
    fmt::print(stderr,
               "julierctl teardown: julierd at {} withdraws every VIP, waits its grace, detaches the forwarder from "
               "its interfaces, removes its pins and exits. Traffic to this box's VIPs is no longer balanced.\n"
               "Continue? [y/N] ",
               socket);
    std::string answer;
    if (!std::getline(std::cin, answer)) return false;
    return answer == "y" || answer == "Y" || answer == "yes";
}

int run(const std::string& socket, const protocol::Request& request, bool json) {
    protocol::Response response;
    try {
        julier::cli::ControlClient client(socket);
        if (request.command == protocol::Command::flows && request.list) {
            response = call_list(client, request);
        } else if (request.command == protocol::Command::teardown) {
            // The answer comes after the grace (the catalogue's, unless --grace).
            response = client.call(request,
                                   std::chrono::seconds(60) + std::chrono::milliseconds(protocol::kMaxTeardownGraceMs));
        } else {
            response = client.call(request);
        }
    } catch (const nlohmann::json::exception& e) {
        fmt::print(stderr, "julierctl: cannot read julierd's answer ({})\n", e.what());
        return kExitUnreachable;
    } catch (const ClientError& e) {
        fmt::print(stderr, "julierctl: {}\n", e.what());
        if (socket == julier::cli::kDefaultSocket) {
            fmt::print(stderr, "julierctl: (a julierd with another control_socket: julierctl --socket PATH)\n");
        }
        return kExitUnreachable;
    }

    if (!response.ok) {
        if (json) {
            fmt::print("{}\n", protocol::encode_response(response));
        } else {
            fmt::print(stderr, "julierctl: {}: {}\n", protocol::command_name(request.command), response.error);
            for (const auto& detail : response.details) fmt::print(stderr, "  {}\n", detail);
        }
        return kExitRefused;
    }
    if (json) {
        fmt::print("{}\n", response.result.dump(2));
        return 0;
    }
    try {
        fmt::print("{}", render(request, response.result));
    } catch (const nlohmann::json::exception& e) {
        fmt::print(stderr, "julierctl: cannot read julierd's answer ({}); try --json\n", e.what());
        return kExitUnreachable;
    }
    return 0;
}

// A DURATION option ("500ms", "10s", "2m"; a unit is required), from min_ms to
// max_ms (`range` says so to the operator); `set` gets milliseconds.
void add_duration(CLI::App* app, const std::string& name, double min_ms, double max_ms, const std::string& range,
                  std::function<void(double)> set, const std::string& help) {
    app->add_option_function<double>(name, std::move(set), help)
        ->transform(CLI::AsNumberWithUnit(std::map<std::string, double>{{"ms", 1}, {"s", 1000}, {"m", 60000}},
                                          CLI::AsNumberWithUnit::UNIT_REQUIRED)
                        .description(""))
        ->check(CLI::Validator(
            [min_ms, max_ms, range](std::string& ms) {
                const double v = std::stod(ms);
                return v >= min_ms && v <= max_ms ? std::string() : range;
            },
            ""))
        ->type_name("DURATION");
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"julierctl: inspect and steer a running julierd"};
    app.set_version_flag("--version", std::string("julierctl ") + julier::daemon::kVersion);
    app.require_subcommand(1);
    app.fallthrough();  // --socket and --json also after the subcommand

    std::string socket = julier::cli::kDefaultSocket;
    bool json = false;
    app.add_option("--socket", socket, "julierd's control socket")->default_str(julier::cli::kDefaultSocket);
    app.add_flag("--json", json, "Print julierd's answer as JSON");

    protocol::Request request;
    const auto command = [&](protocol::Command c, const std::string& help) {
        auto* sub = app.add_subcommand(std::string(protocol::command_name(c)), help);
        sub->callback([&request, c] { request.command = c; });
        return sub;
    };
    command(protocol::Command::status, "Daemon, configuration and dataplane generation, last reload");
    command(protocol::Command::services, "Services with their rings and traffic");
    command(protocol::Command::backends, "Backends with weight, health, state and traffic")
        ->add_option("service", request.service, "Only this service");
    auto* drain = command(protocol::Command::drain, "Stop new flows to a backend; established flows stay");
    drain->add_option("service", request.service, "Service name")->required();
    drain->add_option("backend", request.backend, "Backend address")->required();
    auto* undrain = command(protocol::Command::undrain, "Lift an operator drain (or a drain from the file)");
    undrain->add_option("service", request.service, "Service name")->required();
    undrain->add_option("backend", request.backend, "Backend address")->required();
    auto* weight =
        command(protocol::Command::weight, "Set a backend's ring weight until the file changes it (0: no new flows)");
    weight->add_option("service", request.service, "Service name")->required();
    weight->add_option("backend", request.backend, "Backend address")->required();
    weight
        ->add_option_function<std::uint32_t>(
            "weight", [&request](std::uint32_t w) { request.weight = w; }, "Ring weight")
        ->required()
        ->type_name("N");
    auto* maint = command(protocol::Command::maint,
                          "Force a backend down whatever its health: out of the ring, its flows move; until `ready`");
    maint->add_option("service", request.service, "Service name")->required();
    maint->add_option("backend", request.backend, "Backend address")->required();
    auto* ready = command(protocol::Command::ready, "Lift maint: the backend's health and state decide again");
    ready->add_option("service", request.service, "Service name")->required();
    ready->add_option("backend", request.backend, "Backend address")->required();
    command(protocol::Command::reload,
            "Re-read the catalogue and apply it (like SIGHUP), report the result and what changed")
        ->add_flag("--dry-run", request.dry_run,
                   "Only show what a reload would change (services, backends, rings, VIPs); apply nothing");
    auto* teardown = command(protocol::Command::teardown,
                             "Withdraw every VIP, wait the grace, detach the forwarder, remove its pins, stop julierd");
    bool yes = false;
    teardown->add_flag("--yes,-y", yes, "Do not ask for confirmation (needed when standard input is no terminal)");
    add_duration(
        teardown, "--grace", 0, protocol::kMaxTeardownGraceMs, "from 0s to 10m",
        [&request](double ms) { request.grace_ms = static_cast<std::uint32_t>(ms); },
        "Time between withdrawing the VIPs and detaching, e.g. 10s (default: the catalogue's "
        "bgp.teardown_grace; nothing to wait for without bgp)");
    auto* flows = command(protocol::Command::flows, "Connection-table entries per service and backend, or --list them");
    flows->add_option("service", request.service, "Only this service");
    flows->add_option("backend", request.backend, "Only this backend of the service");
    flows->add_flag("--list", request.list, "List the entries instead of counting them");
    flows->add_option("--limit", request.limit, "Entries to list at most")
        ->check(CLI::Range(1u, protocol::kMaxFlowLimit))
        ->default_str(std::to_string(protocol::kDefaultFlowLimit));
    flows->add_option("--after", request.after, "Go on after the last page (the cursor `more:` printed)");
    auto* which = command(protocol::Command::which, "The backend a flow uses (its entry) or would get (the ring)");
    which->add_option("protocol", request.protocol, "tcp or udp")->required()->check(CLI::IsMember({"tcp", "udp"}));
    which->add_option("client", request.client, "CLIENT:PORT ([IPv6]:PORT)")->required();
    which->add_option("vip", request.vip, "VIP:PORT ([IPv6]:PORT)")->required();
    auto* purge = command(protocol::Command::purge, "Remove the connection-table entries of a service or one backend");
    purge->add_option("service", request.service, "Service name")->required();
    purge->add_option("backend", request.backend, "Only the entries of this backend");

    // Not a command of julierd's: julierctl asks status, services, backends and flows
    // again and again.
    auto* top = app.add_subcommand("top",
                                   "Packets, bytes and new flows per second and active flows, per service and "
                                   "backend, refreshed in place (q quits)");
    julier::cli::top::Options top_options;
    add_duration(
        top, "--interval", 100, 3600000, "from 100ms to 60m",
        [&top_options](double ms) { top_options.interval = std::chrono::milliseconds(static_cast<long>(ms)); },
        "Time between refreshes, e.g. 500ms or 2s (default 1s)");
    top->add_option("--service", top_options.service, "Only this service")->type_name("NAME");
    top->add_option("-n,--iterations", top_options.iterations, "Stop after N refreshes (default: until q)")
        ->check(CLI::Validator(
            [](std::string& n) {
                try {
                    if (std::stoll(n) >= 1) return std::string();
                } catch (const std::exception&) {
                }
                return std::string("a number of refreshes, at least 1");
            },
            ""))
        ->type_name("N");
    std::string top_sort = "rate";
    top->add_option("--sort", top_sort, "rate: the busiest first (default); catalogue: as the catalogue has them")
        ->check(CLI::IsMember({"rate", "catalogue"}).description(""))
        ->type_name("ORDER");

    try {
        app.parse(argc, argv);
        if (request.command == protocol::Command::flows && !request.list &&
            (request.limit != 0 || !request.after.empty())) {
            throw CLI::ValidationError("--limit and --after", "need --list");
        }
        if (top->parsed() && json) throw CLI::ValidationError("top", "has no --json: use services and backends");
        if (request.command == protocol::Command::teardown && !yes && !isatty(STDIN_FILENO)) {
            throw CLI::ValidationError("teardown", "standard input is no terminal to confirm on: add --yes");
        }
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    if (top->parsed()) {
        top_options.socket = socket;
        top_options.sort = top_sort == "catalogue" ? julier::cli::top::Sort::catalogue : julier::cli::top::Sort::rate;
        return julier::cli::top::run(top_options);
    }
    if (request.command == protocol::Command::teardown && !yes && !confirm_teardown(socket)) {
        fmt::print(stderr, "julierctl: teardown cancelled\n");
        return kExitRefused;
    }
    return run(socket, request, json);
}
