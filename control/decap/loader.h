// The decapsulator on a backend's interface: load it with its configuration, attach
// it, pin it, update it in place, report it, remove it. Its maps and program are
// pinned under the configuration's pin_dir (one directory per interface), so that
// `status` and `detach` find them from another process.
//
// Errors throw dataplane::DataplaneError with what to do about them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ip.h"
#include "decap/config.h"
#include "julier/abi.h"

namespace julier::decap {

struct AttachResult {
    std::uint32_t prog_id = 0;
    bool loaded = false;                          // a new program was loaded (else the pinned one runs on)
    bool attached = false;                        // it was not running on the interface before
    std::vector<std::string> detached_elsewhere;  // earlier interfaces of this pin_dir
    std::size_t sources_added = 0, sources_removed = 0;
    std::size_t locals_added = 0, locals_removed = 0;
    std::size_t peers_added = 0, peers_removed = 0;
    // Things that keep second chance from working, for the operator to fix
    // (forwarding off on the interface: bpf_fib_lookup then finds no route).
    std::vector<std::string> warnings;
};

// Writes the configuration into the (pinned or new) maps, adding entries before
// removing stale ones, then attaches the program: a running decapsulator of this
// pin_dir keeps running throughout, and is replaced in place (one netlink call) when
// this build's program differs. Refuses an interface that runs another program.
AttachResult attach(const DecapConfig& config);

struct DetachResult {
    std::vector<std::string> detached;  // interfaces it ran on
    bool pins_removed = false;          // there were pins
};

// Detaches the decapsulator pinned under pin_dir from every interface it runs on and
// removes its pins (and the directory when that empties it).
DetachResult detach(const std::string& pin_dir);

struct Traffic {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
};

struct Status {
    std::string pin_dir;
    bool pinned = false;  // false: nothing else below is set
    std::uint32_t prog_id = 0;
    std::vector<std::string> interfaces;  // where the program runs
    std::vector<std::string> modes;       // per interface: native, generic, offload or dispatcher
    std::uint16_t gue_port = 0;           // host order, the effective port
    std::uint32_t cfg_sources = 0;        // jl_decap_cfg's counts (0: decapsulates nothing)
    std::uint32_t cfg_local_addrs = 0;
    std::uint32_t cfg_peers = 0;  // 0: second chance off
    std::vector<SourcePrefix> sources;
    std::vector<common::IpAddress> local_addresses;
    std::vector<SourcePrefix> second_chance_peers;
    std::array<Traffic, JL_DECAP_CNT_COUNT> counters{};  // summed over CPUs

    bool configured() const { return cfg_sources != 0 && cfg_local_addrs != 0; }
};

Status status(const std::string& pin_dir);

// The counter's label from abi.h ("source", "ipip", ...) and its verdict.
const char* counter_label(jl_decap_counter c);
const char* counter_verdict(jl_decap_counter c);

// Text for people and JSON for scripts.
std::string render_status(const Status& s);
std::string render_status_json(const Status& s);

}  // namespace julier::decap
