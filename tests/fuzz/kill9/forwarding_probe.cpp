// Which catalogue does the pinned forwarder answer for, as a whole?
//
//   julier_forwarding_probe PIN_DIR SALT CATALOGUE...
//
// Plans every catalogue with the project's planner (every backend usable; the
// catalogues use `health.kind: none`), then runs fresh TCP SYNs (sources derived
// from SALT, so no connection-table entry answers for them) for every service of
// every catalogue through the pinned program with BPF_PROG_TEST_RUN. Each answer
// is compared with each plan: a service the plan has must be encapsulated (ipip)
// toward the backend its Maglev ring holds at the flow hash's slot; a service it
// lacks must not be forwarded. Prints one JSON line:
//   {"generation":N,"probes":P,"matches":[indexes of catalogues every answer agrees with],
//    "mismatches":[first disagreements per catalogue]}
// Exit 0 when at least one catalogue matches every answer, 1 for a mix, 2 on error.
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/parse.h"
#include "flow_hash_ref.h"
#include "harness.h"
#include "packet.h"
#include "plan/plan.h"

namespace {

using julier::test::Bytes;
using julier::test::Packet;
namespace lbfix = julier::test::lbfix;

struct Expectation {
    bool forwarded = false;
    std::string backend;  // outer destination when forwarded
};

struct Probe {
    std::string service;
    std::string src, vip;
    uint16_t sport = 0, port = 0;
    Bytes frame;
};

julier::plan::Plan plan_of(const std::string& path) {
    auto parsed = julier::config::parse_catalogue_file(path);
    if (!parsed.ok()) throw std::runtime_error(path + ": invalid catalogue");
    const auto& catalogue = *parsed.catalogue;
    julier::plan::RuntimeState runtime;
    for (const auto& address : julier::plan::backend_addresses(catalogue)) {
        julier::neigh::NextHop hop;
        hop.ifindex = 1;
        hop.ifname = "eth0";
        hop.dst_mac = {2, 0, 0, 0, 0, 1};
        runtime.next_hops[address] = julier::neigh::Resolution{hop, ""};
    }
    for (const auto& s : catalogue.services) {
        for (const auto& b : s.backends) runtime.health[s.name][b.address].state = julier::health::State::up;
    }
    return julier::plan::make_plan(catalogue, runtime);
}

// Service identity across catalogues: VIP, port, protocol (names may differ).
std::string key_of(const julier::plan::PlannedService& s) {
    return s.key.vip.to_string() + ":" + std::to_string(s.key.port) + "/" + std::to_string(s.key.protocol);
}

Expectation expect(const julier::plan::Plan& plan, const Probe& p) {
    for (const auto& s : plan.services) {
        if (s.key.vip.to_string() != p.vip || s.key.port != p.port) continue;
        if (s.ring.empty()) return {};
        const uint32_t hash = lbfix::ref_flow_hash(p.src, p.vip, p.sport, p.port, IPPROTO_TCP);
        const uint32_t id = s.ring[hash % s.ring.size()];
        for (const auto& b : s.backends) {
            if (b.id == id) return {true, b.address.to_string()};
        }
        throw std::runtime_error("ring names an unknown backend id");
    }
    return {};
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::cerr << "usage: julier_forwarding_probe PIN_DIR SALT CATALOGUE...\n";
        return 2;
    }
    try {
        const std::string pin_dir = argv[1];
        const uint32_t salt = static_cast<uint32_t>(std::stoul(argv[2]));
        std::vector<julier::plan::Plan> plans;
        for (int i = 3; i < argc; ++i) plans.push_back(plan_of(argv[i]));

        // Every service of every catalogue, probed with the same frames against each plan.
        std::map<std::string, std::pair<std::string, uint16_t>> services;
        for (const auto& plan : plans) {
            for (const auto& s : plan.services) services[key_of(s)] = {s.key.vip.to_string(), s.key.port};
        }
        std::vector<Probe> probes;
        uint32_t n = 0;
        for (const auto& [key, vip_port] : services) {
            for (int k = 0; k < 3; ++k, ++n) {
                Probe p;
                p.service = key;
                const uint32_t x = lbfix::lookup3_hashword(std::vector<uint32_t>{salt, n}, 7);
                p.src = "198.18." + std::to_string(128 + (x >> 24) % 127) + "." + std::to_string(1 + (x >> 16) % 250);
                p.sport = static_cast<uint16_t>(1024 + (x & 0xffff) % 60000);
                p.vip = vip_port.first;
                p.port = vip_port.second;
                p.frame = Packet()
                              .eth(julier::test::mac("02:00:00:00:00:01"), julier::test::mac("02:00:00:00:00:0a"))
                              .ipv4(p.src, p.vip)
                              .tcp(p.sport, p.port)
                              .flags(julier::test::kTcpSyn)
                              .build();
                probes.push_back(std::move(p));
            }
        }

        const std::string prog_pin = pin_dir + "/prog";
        int prog = bpf_obj_get(prog_pin.c_str());
        if (prog < 0) throw std::runtime_error("cannot open " + prog_pin + ": " + std::strerror(errno));
        int active = bpf_obj_get((pin_dir + "/jl_active").c_str());
        uint32_t generation = 0, zero = 0;
        if (active >= 0) bpf_map_lookup_elem(active, &zero, &generation);

        std::vector<bool> agrees(plans.size(), true);
        std::vector<nlohmann::json> mismatches(plans.size(), nlohmann::json::array());
        for (const auto& p : probes) {
            auto r = julier::test::run_xdp(prog, p.frame);
            Expectation got;
            if (r.verdict == XDP_TX || r.verdict == XDP_REDIRECT) {
                got.forwarded = true;
                if (r.data.size() >= 34 && r.data[12] == 0x08 && r.data[13] == 0x00) {
                    char text[INET_ADDRSTRLEN];
                    inet_ntop(AF_INET, r.data.data() + 30, text, sizeof(text));
                    got.backend = text;
                }
            }
            for (size_t i = 0; i < plans.size(); ++i) {
                const Expectation want = expect(plans[i], p);
                if (want.forwarded == got.forwarded && want.backend == got.backend) continue;
                agrees[i] = false;
                if (mismatches[i].size() < 3) {
                    mismatches[i].push_back({{"service", p.service},
                                             {"src", p.src},
                                             {"sport", p.sport},
                                             {"want", want.forwarded ? want.backend : "not forwarded"},
                                             {"got", got.forwarded ? got.backend : "not forwarded"},
                                             {"verdict", r.verdict}});
                }
            }
        }
        nlohmann::json out{{"generation", generation},
                           {"probes", probes.size()},
                           {"matches", nlohmann::json::array()},
                           {"mismatches", mismatches}};
        for (size_t i = 0; i < plans.size(); ++i) {
            if (agrees[i]) out["matches"].push_back(i);
        }
        std::cout << out.dump() << std::endl;
        return out["matches"].empty() ? 1 : 0;
    } catch (const std::exception& e) {
        std::cerr << "julier_forwarding_probe: " << e.what() << "\n";
        return 2;
    }
}
