// The invariants every BPF_PROG_TEST_RUN result of the fuzzer must hold. The
// expected counter comes from docs/forwarder.md through frame.h's reading of the
// input; the output frame is checked field by field (addresses, lengths,
// checksums) with arithmetic written here, not taken from xdp/.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>

#include "catalogue.h"
#include "frame.h"
#include "julier/abi.h"
#include "packet.h"

namespace julier::fuzz {

struct Outcome {
    int verdict = -1;
    test::Bytes out;                               // the frame as the program left it
    std::array<jl_traffic, JL_CNT_COUNT> delta{};  // counters after minus before
    // The connection table entry of the expectation's flow, before and after the run
    // (read only when the expectation names a flow).
    std::optional<jl_flow> flow_before, flow_after;
    // CLOCK_MONOTONIC_COARSE just before and CLOCK_MONOTONIC just after the run: the
    // program's own reading of the clock (bpf_ktime_get_coarse_ns) lies between.
    uint64_t t_before = 0, t_after = 0;
};

// What a packet asks of the connection table (docs/forwarder.md, "Flows").
enum class FlowClass {
    none,    // a fragment, a drop before the table, no flow
    syn,     // TCP SYN without ACK, FIN or RST: the ring places it, its entry is overwritten
    fin,     // TCP FIN without RST: follows a usable entry and starts its linger; no new entry
    rst,     // TCP RST: the same with the shorter linger
    other,   // any other TCP packet: follows a usable entry; a miss is a nonsyn_miss, remembered
    udp,     // UDP: follows a fresh entry (refreshing it), else picked and remembered
    lookup,  // an ICMP error: follows a usable entry, writes nothing
};

// What the documentation says must happen to a frame.
struct Expectation {
    jl_counter counter = JL_CNT_PASS_UNPARSED;
    const Service* service = nullptr;  // the service that takes it, if any
    bool icmp_error = false;           // an ICMP error sent to its flow's backend
    int overhead = 0;                  // bytes a tunnel adds
    // The client's flow of a TCP/UDP packet (not a fragment) to a service, or of the
    // flow an ICMP error quotes: its connection table entry is checked too.
    std::optional<jl_flow_key> flow;
    bool fragment = false;  // a fragment: backend and outer fields from the address pair hash
    FlowClass cls = FlowClass::none;
};

class Checker {
public:
    // linear_frame: bytes of a frame the program sees (the rest is in fragments).
    Checker(const Catalogue& cat, size_t linear_frame) : cat_(cat), linear_(linear_frame) {}

    // From the bytes the program sees.
    Expectation expect(std::span<const uint8_t> in) const;
    // A frame sent to a backend, as jl_service_stats / jl_backend_stats must count it.
    struct Delivery {
        int backend = -1;  // -1: not sent to a backend
        uint32_t service_id = 0;
        bool new_flow = false;     // a connection table write counted in new_flows
        bool nonsyn_miss = false;  // a TCP packet that opens nothing found no entry
        // One of new_flow and nonsyn_miss, the counters tell which (an entry's end fell
        // between the clock readings around the run).
        bool either_count = false;
    };
    // "" when every invariant holds, otherwise one line per violation.
    std::string check(std::span<const uint8_t> in, const Outcome& o, Delivery* delivery = nullptr) const;

private:
    Expectation deliver(const Frame& p, const Service* s, bool icmp) const;
    // Returns the backend id the frame went to, or -1.
    int check_delivery(std::span<const uint8_t> in, const Frame& p, const Expectation& e, uint32_t hash,
                       std::span<const uint8_t> out, std::string& err) const;
    // Does the packet follow its entry? `follows` is the model's answer; with a time
    // right at an entry's end both answers are checked and either may hold.
    void check_pick(const Frame& p, const Expectation& e, int backend, bool follows, std::string& err) const;
    void check_flow(const Expectation& e, const Outcome& o, int backend, bool follows, std::string& err) const;
    void check_too_big(std::span<const uint8_t> in, const Frame& p, const Expectation& e, std::span<const uint8_t> out,
                       std::string& err) const;
    void check_echo_reply(std::span<const uint8_t> in, const Frame& p, std::span<const uint8_t> out,
                          std::string& err) const;

    const Catalogue& cat_;
    size_t linear_;
};

const char* counter_label(jl_counter c);
// XDP_PASS, XDP_DROP, XDP_TX or XDP_REDIRECT: the verdict a counter stands for (abi.h).
int counter_verdict(jl_counter c);

}  // namespace julier::fuzz
