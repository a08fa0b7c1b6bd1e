#include "checker.h"

#include <arpa/inet.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <sstream>

namespace julier::fuzz {

using test::Bytes;

namespace {

// RFC 1812 4.3.2.7 / RFC 4443 2.4 (e): no ICMP error to an unspecified, loopback,
// multicast or broadcast (or class E) source.
bool answerable_source(const Frame& p) {
    const Addr& a = p.src;
    if (p.family == 4) return a[0] != 0 && a[0] != 127 && a[0] < 224;
    bool zero_to_14 = true;
    for (int i = 0; i < 15; ++i) zero_to_14 = zero_to_14 && a[i] == 0;
    if (zero_to_14 && (a[15] == 0 || a[15] == 1)) return false;
    return a[0] != 0xff;
}

constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmp6 = 58;

// docs/forwarder.md "Tunnels": bytes each mode adds, -1 where it cannot carry the family.
int tunnel_overhead(uint8_t mode, int inner, int outer) {
    switch (mode) {
        case JL_MODE_IPIP: return inner == 4 && outer == 4 ? 20 : -1;
        case JL_MODE_IP6IP6: return inner == 6 && outer == 6 ? 40 : -1;
        case JL_MODE_IP4IN6: return inner == 4 && outer == 6 ? 40 : -1;
        case JL_MODE_GUE: return outer == 4 ? 32 : 52;
        default: return -1;
    }
}

jl_counter egress(const Service& s, bool icmp) {
    if (s.spec.ifindex == 0) return icmp ? JL_CNT_TX_ICMP_ERROR : JL_CNT_TX_FORWARD;
    return icmp ? JL_CNT_REDIRECT_ICMP_ERROR : JL_CNT_REDIRECT_FORWARD;
}

uint32_t sum(std::span<const uint8_t> b, uint32_t partial = 0) { return test::ones_sum(b, partial); }
bool sums_to_ones(uint32_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return s == 0xffff;
}

// Pseudo-header sum (RFC 768/793, RFC 8200 8.1) for an IP packet at ip.
uint32_t pseudo(int family, std::span<const uint8_t> ip, uint8_t proto, size_t len) {
    uint32_t s = family == 4 ? sum(ip.subspan(12, 8)) : sum(ip.subspan(8, 32));
    return s + proto + uint32_t(len >> 16) + uint32_t(len & 0xffff);
}

// Is the transport checksum of an unfragmented IP packet right? nullopt when there is
// none to judge (fragment, other protocol, header cut).
std::optional<bool> l4_valid(int family, std::span<const uint8_t> ip, size_t hdr_len, uint8_t proto, bool frag) {
    if (frag || hdr_len > ip.size()) return std::nullopt;
    auto seg = ip.subspan(hdr_len);
    if (proto == kTcp && seg.size() >= 20) return sums_to_ones(sum(seg, pseudo(family, ip, proto, seg.size())));
    if (proto == kUdp && seg.size() >= 8) {
        if (family == 4 && get16(seg, 6) == 0) return true;  // no checksum
        return sums_to_ones(sum(seg, pseudo(family, ip, proto, seg.size())));
    }
    if (family == 4 && proto == kIcmp && seg.size() >= 8) return sums_to_ones(sum(seg));
    if (family == 6 && proto == kIcmp6 && seg.size() >= 8)
        return sums_to_ones(sum(seg, pseudo(6, ip, proto, seg.size())));
    return std::nullopt;
}

std::string hex(std::span<const uint8_t> b) { return test::to_hex(b); }

#define FAIL_IF(cond, msg)           \
    do {                             \
        if (cond) {                  \
            std::ostringstream os_;  \
            os_ << msg;              \
            err += os_.str() + "\n"; \
        }                            \
    } while (0)

bool eq(std::span<const uint8_t> a, std::span<const uint8_t> b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

jl_flow_key flow_key(int family, const Addr& src, const Addr& dst, uint16_t sport, uint16_t dport, uint8_t proto) {
    jl_flow_key k{};
    std::memcpy(k.src, src.data(), 16);
    std::memcpy(k.dst, dst.data(), 16);
    k.sport = htons(sport);
    k.dport = htons(dport);
    k.proto = proto;
    k.family = uint8_t(family);
    return k;
}

// docs/forwarder.md "Flow hash": lookup3 hashword over the host-order values of the
// wire fields (the reference implementation of lb_fixture.h).
void push_words(std::vector<uint32_t>& w, int family, const uint8_t* a) {
    for (int i = 0; i < (family == 4 ? 1 : 4); i++)
        w.push_back(uint32_t(a[4 * i]) << 24 | uint32_t(a[4 * i + 1]) << 16 | uint32_t(a[4 * i + 2]) << 8 |
                    a[4 * i + 3]);
}
uint32_t hash_of(const std::vector<uint32_t>& w) { return test::lbfix::lookup3_hashword(w, JL_HASH_SEED); }
uint32_t flow_hash(const jl_flow_key& k) {
    std::vector<uint32_t> w;
    push_words(w, k.family, reinterpret_cast<const uint8_t*>(k.src));
    push_words(w, k.family, reinterpret_cast<const uint8_t*>(k.dst));
    w.push_back(uint32_t(ntohs(k.sport)) << 16 | ntohs(k.dport));
    w.push_back(k.proto);
    return hash_of(w);
}
uint32_t source_hash(const jl_flow_key& k) {
    std::vector<uint32_t> w;
    push_words(w, k.family, reinterpret_cast<const uint8_t*>(k.src));
    return hash_of(w);
}
// The ring hash a service's `hash` names (jl_vip.flags).
uint32_t ring_hash(const jl_flow_key& k, uint16_t flags) {
    if (flags & JL_VIP_F_SOURCE_AFFINITY) return source_hash(k);
    if (flags & JL_VIP_F_HASH_NO_SOURCE_PORT) {
        jl_flow_key without = k;
        without.sport = 0;
        return flow_hash(without);
    }
    if (flags & JL_VIP_F_HASH_DESTINATION_PORT) return hash_of({ntohs(k.dport), k.proto});
    return flow_hash(k);
}
uint32_t pair_hash(int family, const Addr& src, const Addr& dst) {
    std::vector<uint32_t> w;
    push_words(w, family, src.data());
    push_words(w, family, dst.data());
    return hash_of(w);
}

bool mac_zero(const test::Mac& m) {
    return std::all_of(m.begin(), m.end(), [](uint8_t b) { return b == 0; });
}

// docs/forwarder.md "Flows": RST wins over FIN, FIN over SYN; a SYN with ACK opens nothing.
FlowClass class_of(uint8_t proto, uint8_t flags) {
    constexpr uint8_t fin = 0x01, syn = 0x02, rst = 0x04, ack = 0x10;
    if (proto == kUdp) return FlowClass::udp;
    if (flags & rst) return FlowClass::rst;
    if (flags & fin) return FlowClass::fin;
    if ((flags & (syn | ack)) == syn) return FlowClass::syn;
    return FlowClass::other;
}

int64_t since(uint64_t later, uint64_t earlier) { return int64_t(later - earlier); }

// Is the entry usable for this service at the time of the run (between t0 and t1)?
// "either" when its end falls between the two readings of the clock.
enum class Live { no, yes, either };
Live entry_live(const Service& s, const jl_flow_key& k, const std::optional<jl_flow>& f, uint64_t t0, uint64_t t1) {
    if (!f || f->service_id != s.spec.service_id) return Live::no;
    if (k.proto == kUdp) {
        const int64_t timeout = int64_t(s.spec.udp_idle_timeout_ms) * 1000000;
        if (timeout == 0 || since(t1, f->time_ns) <= timeout) return Live::yes;
        return since(t0, f->time_ns) > timeout ? Live::no : Live::either;
    }
    if (!(f->flags & (JL_FLOW_F_FIN | JL_FLOW_F_RST))) return Live::yes;
    if (since(t0, f->time_ns) >= 0) return Live::no;  // the linger is over
    return since(t1, f->time_ns) < 0 ? Live::yes : Live::either;
}

bool same_entry(const jl_flow& a, const jl_flow& b) {
    return a.backend_id == b.backend_id && a.service_id == b.service_id && a.time_ns == b.time_ns && a.flags == b.flags;
}

std::string entry_text(const std::optional<jl_flow>& f) {
    if (!f) return "none";
    std::ostringstream os;
    os << "(service " << f->service_id << ", backend " << f->backend_id << ", time " << f->time_ns << ", flags "
       << f->flags << ")";
    return os.str();
}

}  // namespace

const char* counter_label(jl_counter c) { return test::counter_name(c); }

int counter_verdict(jl_counter c) {
    static const int verdicts[] = {
#define JL_FUZZ_VERDICT(name, verdict, label) JL_FUZZ_##verdict,
#define JL_FUZZ_pass XDP_PASS
#define JL_FUZZ_drop XDP_DROP
#define JL_FUZZ_tx XDP_TX
#define JL_FUZZ_redirect XDP_REDIRECT
        JL_COUNTERS(JL_FUZZ_VERDICT)
#undef JL_FUZZ_VERDICT
    };
    return c < JL_CNT_COUNT ? verdicts[c] : -1;
}

Expectation Checker::deliver(const Frame& p, const Service* s, bool icmp) const {
    Expectation e;
    e.service = s;
    e.icmp_error = icmp;
    if (s->spec.slots == 0) {
        e.counter = JL_CNT_DROP_NO_BACKEND;
        return e;
    }
    if (s->spec.mode == JL_MODE_L2) {
        e.counter = egress(*s, icmp);
        return e;
    }
    e.overhead = tunnel_overhead(s->spec.mode, p.family, s->backend_family);
    if (e.overhead < 0)
        e.counter = JL_CNT_DROP_BAD_BACKEND;
    else if (p.ttl <= 1)
        e.counter = JL_CNT_DROP_TTL_EXPIRED;
    else if (p.ip_len + size_t(e.overhead) > s->spec.mtu)
        e.counter =
            (icmp || (p.family == 4 && !p.df) || !answerable_source(p)) ? JL_CNT_DROP_TOO_BIG : JL_CNT_TX_ICMP_TOO_BIG;
    else
        e.counter = egress(*s, icmp);
    return e;
}

Expectation Checker::expect(std::span<const uint8_t> in) const {
    Frame p = parse_frame(in);
    Expectation e;
    switch (p.status) {
        case ParseStatus::kNotIp: e.counter = JL_CNT_PASS_NOT_IP; return e;
        case ParseStatus::kUnreadable: e.counter = JL_CNT_PASS_UNPARSED; return e;
        case ParseStatus::kMalformed:
            e.counter = cat_.fragment_service(p.family, p.dst, p.proto) ? JL_CNT_DROP_MALFORMED : JL_CNT_PASS_UNPARSED;
            return e;
        case ParseStatus::kMalformedV6:
            e.counter = cat_.vip_address(6, p.dst) ? JL_CNT_DROP_MALFORMED : JL_CNT_PASS_UNPARSED;
            return e;
        case ParseStatus::kOk: break;
    }
    e.counter = JL_CNT_PASS_NOT_VIP;
    if (p.fragment) {
        const Service* s = cat_.fragment_service(p.family, p.dst, p.proto);
        if (!s) return e;
        e = deliver(p, s, false);
        e.fragment = true;
        return e;
    }
    if (p.proto != kTcp && p.proto != kUdp) {
        if (p.proto != (p.family == 4 ? kIcmp : kIcmp6)) return e;
        size_t l4 = p.l3 + p.hdr_len;
        // docs/forwarder.md "Ping".
        if (in[l4] == (p.family == 4 ? 8 : 128)) {
            if (!cat_.answers_ping(p.family, p.dst)) return e;
            auto valid = l4_valid(p.family, in.subspan(p.l3, p.ip_len), p.hdr_len, p.proto, false);
            e.counter = answerable_source(p) && valid == true ? JL_CNT_TX_ECHO_REPLY : JL_CNT_DROP_ECHO_INVALID;
            return e;
        }
        if (!icmp_is_error(p.family, in[l4]) || !cat_.vip_address(p.family, p.dst)) return e;
        QuotedFlow q;
        const Service* s = nullptr;
        if (parse_quote(in, l4 + 8, p.family, q)) s = cat_.service(p.family, q.vip, q.vip_port, q.proto);
        if (!s) {
            e.counter = JL_CNT_PASS_ICMP_NOT_FLOW;
            return e;
        }
        e = deliver(p, s, true);
        e.flow = flow_key(p.family, q.client, q.vip, q.client_port, q.vip_port, q.proto);
        e.cls = FlowClass::lookup;
        return e;
    }
    const Service* s = cat_.service(p.family, p.dst, p.dport, p.proto);
    if (!s) return e;
    e = deliver(p, s, false);
    e.flow = flow_key(p.family, p.src, p.dst, p.sport, p.dport, p.proto);
    e.cls = class_of(p.proto, p.tcp_flags);
    return e;
}

std::string Checker::check(std::span<const uint8_t> in, const Outcome& o, Delivery* delivery) const {
    std::string err;
    // A frame longer than one buffer: the program sees and counts the first part only.
    auto view = in.first(std::min(in.size(), linear_));
    // Exactly one counter moved, by one packet of the input's length.
    int moved = -1;
    uint64_t packets = 0;
    for (uint32_t c = 0; c < JL_CNT_COUNT; c++) {
        packets += o.delta[c].packets;
        if (o.delta[c].packets) {
            FAIL_IF(moved >= 0, "counters " << counter_label(jl_counter(moved)) << " and "
                                            << counter_label(jl_counter(c)) << " both moved");
            moved = int(c);
        }
        uint64_t want_bytes = o.delta[c].packets ? view.size() * o.delta[c].packets : 0;
        FAIL_IF(o.delta[c].bytes != want_bytes, "counter " << counter_label(jl_counter(c)) << " grew by "
                                                           << o.delta[c].bytes << " bytes, want " << want_bytes);
    }
    FAIL_IF(packets != 1, "counters grew by " << packets << " packets in total, want 1");
    FAIL_IF(o.verdict == XDP_ABORTED, "XDP_ABORTED");
    FAIL_IF(o.verdict < XDP_ABORTED || o.verdict > XDP_REDIRECT, "unknown verdict " << o.verdict);
    if (moved >= 0)
        FAIL_IF(counter_verdict(jl_counter(moved)) != o.verdict,
                "verdict " << test::verdict_name(o.verdict) << " counted as " << counter_label(jl_counter(moved)));

    Expectation e = expect(view);
    FAIL_IF(moved != int(e.counter), "counted as " << (moved >= 0 ? counter_label(jl_counter(moved)) : "nothing")
                                                   << ", docs/forwarder.md says " << counter_label(e.counter));
    FAIL_IF(o.verdict != counter_verdict(e.counter),
            "verdict " << test::verdict_name(o.verdict) << ", want " << test::verdict_name(counter_verdict(e.counter)));
    if (!err.empty()) return err;

    Frame p = parse_frame(view);
    int backend = -1;
    switch (o.verdict) {
        case XDP_PASS: FAIL_IF(!eq(in, o.out), "XDP_PASS changed the frame: " << hex(o.out)); break;
        case XDP_TX:
        case XDP_REDIRECT:
            if (e.counter == JL_CNT_TX_ICMP_TOO_BIG)
                check_too_big(in, p, e, o.out, err);
            else if (e.counter == JL_CNT_TX_ECHO_REPLY)
                check_echo_reply(in, p, o.out, err);
            else {
                uint32_t hash = e.fragment ? pair_hash(p.family, p.src, p.dst) : flow_hash(*e.flow);
                backend = check_delivery(in, p, e, hash, o.out, err);
            }
            break;
        default: break;
    }
    // Whether the flow's entry was usable at the time of the run; at its very end
    // either reading is allowed, and the one the outcome bears out is taken.
    Live live = e.flow && e.service ? entry_live(*e.service, *e.flow, o.flow_before, o.t_before, o.t_after) : Live::no;
    std::vector<bool> readings =
        live == Live::either ? std::vector<bool>{true, false} : std::vector<bool>{live == Live::yes};
    std::string first_err;
    bool taken = readings.front();
    for (size_t i = 0; i < readings.size(); i++) {
        const bool usable = readings[i];
        const bool follows = usable && e.cls != FlowClass::syn && o.flow_before && e.service->keeps(*o.flow_before);
        std::string reading_err;
        if (backend >= 0 && e.counter != JL_CNT_TX_ICMP_TOO_BIG) check_pick(p, e, backend, follows, reading_err);
        if (e.flow) check_flow(e, o, backend, follows, reading_err);
        if (i == 0) first_err = reading_err;
        if (reading_err.empty()) {
            taken = usable;
            first_err.clear();
            break;
        }
    }
    err += first_err;
    if (delivery && backend >= 0) {
        const Service& s = *e.service;
        const bool follows = taken && e.cls != FlowClass::syn && o.flow_before && s.keeps(*o.flow_before);
        Delivery d{backend, s.spec.service_id};
        if (!follows) switch (e.cls) {
                case FlowClass::syn:
                case FlowClass::udp: d.new_flow = true; break;
                case FlowClass::other:  // a re-pick if the entry was usable, else a miss
                    (taken ? d.new_flow : d.nonsyn_miss) = true;
                    break;
                default: break;
            }
        // At an entry's very end with both readings borne out by the frame, the
        // counters say which one the program took.
        d.either_count = live == Live::either && e.cls == FlowClass::other && !follows;
        *delivery = d;
    }
    return err;
}

// docs/forwarder.md "Ring": without a connection table entry that keeps it, the
// backend is ring slot hash % ring_size; the fixture rings hold first_backend + slot.
void Checker::check_pick(const Frame& p, const Expectation& e, int backend, bool follows, std::string& err) const {
    const Service& s = *e.service;
    if (backend < 0) return;
    if (!e.fragment && follows) return;  // kept by its entry (check_flow)
    uint32_t h = e.fragment ? pair_hash(p.family, p.src, p.dst) : ring_hash(*e.flow, s.spec.flags);
    uint32_t want = s.spec.first_backend + h % s.spec.slots;
    FAIL_IF(uint32_t(backend) != want,
            "picked backend " << backend << ", the ring gives " << want << " (hash " << h << ")");
}

// docs/forwarder.md "Flows". A packet follows its entry when the entry is usable
// (this service's, not past a TCP linger or a UDP idle timeout), its backend takes
// flows, and the packet is no SYN. After a flow packet went to a backend: a SYN,
// UDP or other TCP packet that did not follow leaves a fresh entry naming the
// backend it went to (no flood limit here); FIN and RST that did not follow leave
// the table as it was; FIN and RST that followed start (never lengthen) the linger;
// UDP that followed refreshes last-seen when it was older than JL_UDP_REFRESH_NS;
// anything else leaves the entry as it was, as do ICMP errors, drops and too-big replies.
void Checker::check_flow(const Expectation& e, const Outcome& o, int backend, bool follows, std::string& err) const {
    const Service& s = *e.service;
    const auto& before = o.flow_before;
    const auto& after = o.flow_after;
    const bool delivered = backend >= 0;
    const uint64_t t0 = o.t_before, t1 = o.t_after;
    auto unchanged = [&] {
        return before.has_value() == after.has_value() && (!before || same_entry(*before, *after));
    };
    if (delivered && follows)
        FAIL_IF(uint32_t(backend) != before->backend_id,
                "flow of backend " << before->backend_id << " sent to backend " << backend);
    if (!delivered || e.icmp_error) {
        FAIL_IF(!unchanged(), "the connection table entry changed on " << counter_label(e.counter) << ": "
                                                                       << entry_text(before) << " -> "
                                                                       << entry_text(after));
        return;
    }
    const bool fin_rst = e.cls == FlowClass::fin || e.cls == FlowClass::rst;
    if (!follows) {
        if (fin_rst) {
            FAIL_IF(!unchanged(), "a FIN or RST that followed no entry changed it: " << entry_text(before) << " -> "
                                                                                     << entry_text(after));
            return;
        }
        FAIL_IF(!after, "flow sent to backend " << backend << " left no connection table entry");
        if (!after) return;
        const bool udp = e.cls == FlowClass::udp;
        FAIL_IF(after->backend_id != uint32_t(backend) || after->service_id != s.spec.service_id || after->flags != 0 ||
                    (udp ? (after->time_ns < t0 || after->time_ns > t1) : after->time_ns != 0),
                "connection table entry " << entry_text(after) << " for a flow sent to backend " << backend
                                          << " of service " << s.spec.service_id << " (run between " << t0 << " and "
                                          << t1 << ")");
        return;
    }
    FAIL_IF(!after, "the entry the flow followed vanished");
    if (!after) return;
    FAIL_IF(after->backend_id != before->backend_id || after->service_id != before->service_id,
            "the entry the flow followed changed: " << entry_text(before) << " -> " << entry_text(after));
    if (fin_rst) {
        const bool rst = e.cls == FlowClass::rst;
        const uint64_t linger = rst ? JL_TCP_RST_LINGER_NS : JL_TCP_FIN_LINGER_NS;
        const uint32_t flag = rst ? JL_FLOW_F_RST : JL_FLOW_F_FIN;
        const uint64_t lo = t0 + linger, hi = t1 + linger;  // the deadline the program set
        const bool lingering = before->flags & (JL_FLOW_F_FIN | JL_FLOW_F_RST);
        bool ok = after->flags == (before->flags | flag);
        if (lingering)  // the earlier of the two ends
            ok = ok && (after->time_ns == before->time_ns ? since(before->time_ns, hi) <= 0
                                                          : after->time_ns >= lo && after->time_ns <= hi &&
                                                                since(after->time_ns, before->time_ns) < 0);
        else
            ok = ok && after->time_ns >= lo && after->time_ns <= hi;
        FAIL_IF(!ok, (rst ? "an RST" : "a FIN") << " on " << entry_text(before) << " left " << entry_text(after)
                                                << " (run between " << t0 << " and " << t1 << ")");
        return;
    }
    if (e.cls == FlowClass::udp && s.spec.udp_idle_timeout_ms) {
        const bool kept = same_entry(*before, *after);
        const bool refreshed = after->flags == before->flags && after->time_ns >= t0 && after->time_ns <= t1;
        const int64_t refresh = int64_t(JL_UDP_REFRESH_NS);
        bool ok = since(t0, before->time_ns) > refresh    ? refreshed
                  : since(t1, before->time_ns) <= refresh ? kept
                                                          : kept || refreshed;
        FAIL_IF(!ok, "a UDP packet on " << entry_text(before) << " left " << entry_text(after) << " (run between " << t0
                                        << " and " << t1 << ")");
        return;
    }
    FAIL_IF(!unchanged(), "a packet that followed " << entry_text(before) << " left " << entry_text(after));
}

// A frame sent on to a backend: the right addresses, consistent lengths, valid
// checksums, and the inner packet as received (TTL / hop limit one less in tunnels).
int Checker::check_delivery(std::span<const uint8_t> in, const Frame& p, const Expectation& e, uint32_t hash,
                            std::span<const uint8_t> out, std::string& err) const {
    const Service& s = *e.service;
    if (out.size() < p.l3) {
        FAIL_IF(true, "output of " << out.size() << " bytes has no room for Ethernet");
        return -1;
    }
    test::Mac dst;
    std::copy_n(out.begin(), 6, dst.begin());
    FAIL_IF(std::find(s.backend_macs.begin(), s.backend_macs.end(), dst) == s.backend_macs.end(),
            "destination MAC " << hex(out.subspan(0, 6)) << " is no backend (or next hop) of service "
                               << s.spec.service_id);
    auto src_mac = mac_zero(s.spec.src_mac) ? in.subspan(0, 6) : std::span<const uint8_t>(s.spec.src_mac);
    FAIL_IF(!eq(out.subspan(6, 6), src_mac), "source MAC " << hex(out.subspan(6, 6)) << ", want " << hex(src_mac));

    if (s.spec.mode == JL_MODE_L2) {
        FAIL_IF(!eq(out.subspan(12), in.subspan(12)), "l2 mode changed bytes after the MAC addresses");
        auto it = std::find(s.backend_macs.begin(), s.backend_macs.end(), dst);
        return it == s.backend_macs.end() ? -1 : int(s.backend_ids[size_t(it - s.backend_macs.begin())]);
    }
    // Tunnel: [Ethernet (+ tag)] [outer IP] [UDP + GUE] [inner IP packet, padding cut]
    const size_t l3 = p.l3, ovh = size_t(e.overhead);
    // A frame in several buffers keeps the bytes of the later ones (Ethernet padding
    // here) after the new packet: the program cuts only what it sees (docs/forwarder.md, "Limits").
    if (in.size() > linear_ && out.size() > l3 + ovh + p.ip_len &&
        out.size() - (l3 + ovh + p.ip_len) <= in.size() - linear_)
        out = out.first(l3 + ovh + p.ip_len);
    if (out.size() != l3 + ovh + p.ip_len) {
        FAIL_IF(true, "tunnel frame is " << out.size() << " bytes, want " << l3 + ovh + p.ip_len);
        return -1;
    }
    const uint16_t outer_type = s.backend_family == 4 ? 0x0800 : 0x86dd;
    if (p.tagged) {
        FAIL_IF(get16(out, 12) != 0x8100 || get16(out, 14) != get16(in, 14) || get16(out, 16) != outer_type,
                "802.1Q tag / ethertype " << hex(out.subspan(12, 6)) << " do not keep the tag of "
                                          << hex(in.subspan(12, 6)));
    } else {
        FAIL_IF(get16(out, 12) != outer_type, "ethertype " << get16(out, 12) << ", want " << outer_type);
    }
    const bool gue = s.spec.mode == JL_MODE_GUE;
    const uint8_t inner_proto = p.family == 4 ? 4 : 41;
    const uint8_t outer_proto = gue ? kUdp : inner_proto;
    auto outer = out.subspan(l3);
    Addr outer_dst{}, outer_src{};
    size_t outer_hlen;
    if (s.backend_family == 4) {
        outer_hlen = 20;
        FAIL_IF(outer[0] != 0x45, "outer IPv4 version/IHL " << int(outer[0]));
        FAIL_IF(outer[1] != p.tos, "outer TOS " << int(outer[1]) << ", inner " << int(p.tos));
        FAIL_IF(get16(outer, 2) != outer.size(),
                "outer total length " << get16(outer, 2) << ", packet is " << outer.size());
        FAIL_IF(get16(outer, 6) != 0x4000, "outer flags/offset " << get16(outer, 6) << ", want DF");
        FAIL_IF(outer[8] != s.spec.outer_ttl, "outer TTL " << int(outer[8]));
        FAIL_IF(outer[9] != outer_proto, "outer protocol " << int(outer[9]) << ", want " << int(outer_proto));
        FAIL_IF(!sums_to_ones(sum(outer.subspan(0, 20))), "outer IPv4 header checksum wrong");
        std::copy_n(outer.begin() + 12, 4, outer_src.begin());
        std::copy_n(outer.begin() + 16, 4, outer_dst.begin());
    } else {
        outer_hlen = 40;
        FAIL_IF((outer[0] >> 4) != 6, "outer IPv6 version " << int(outer[0] >> 4));
        FAIL_IF(uint8_t(get16(outer, 0) >> 4) != p.tos, "outer traffic class differs from the inner TOS");
        FAIL_IF(get16(outer, 4) != outer.size() - 40,
                "outer payload length " << get16(outer, 4) << ", want " << outer.size() - 40);
        FAIL_IF(outer[6] != outer_proto, "outer next header " << int(outer[6]));
        FAIL_IF(outer[7] != s.spec.outer_ttl, "outer hop limit " << int(outer[7]));
        FAIL_IF((get32(outer, 0) & 0xfffff) != (hash & 0xfffff),
                "outer flow label " << (get32(outer, 0) & 0xfffff) << ", the flow hash gives " << (hash & 0xfffff));
        std::copy_n(outer.begin() + 8, 16, outer_src.begin());
        std::copy_n(outer.begin() + 24, 16, outer_dst.begin());
    }
    auto chosen = std::find(s.backend_addrs.begin(), s.backend_addrs.end(), outer_dst);
    int backend = chosen == s.backend_addrs.end() ? -1 : int(s.backend_ids[size_t(chosen - s.backend_addrs.begin())]);
    FAIL_IF(backend < 0, "outer destination " << addr_text(s.backend_family, outer_dst) << " is no backend of service "
                                              << s.spec.service_id);
    {  // outer source: the service's, its low entropy bits (of the last word) free
        Addr want = to_addr(s.backend_family == 4 ? test::lbfix::kTunnelSrc4 : test::lbfix::kTunnelSrc6);
        size_t last = s.backend_family == 4 ? 0 : 12;
        uint32_t bits = std::min<uint32_t>(s.spec.entropy_bits, 16);
        uint32_t mask = bits ? ~((1u << bits) - 1) : ~0u;
        uint32_t got = get32(outer_src, last);
        bool ok = std::equal(want.begin(), want.begin() + last, outer_src.begin()) &&
                  (get32(want, last) & mask) == (got & mask) && (got & ~mask) == (hash & ~mask);
        FAIL_IF(!ok, "outer source " << addr_text(s.backend_family, outer_src)
                                     << " is not the service's with its low bits from the flow hash");
    }
    size_t inner_off = outer_hlen;
    if (gue) {
        auto udp = outer.subspan(outer_hlen);
        FAIL_IF(get16(udp, 0) != JL_GUE_SPORT_MIN + (hash & JL_GUE_SPORT_MASK),
                "GUE source port " << get16(udp, 0) << ", the flow hash gives "
                                   << JL_GUE_SPORT_MIN + (hash & JL_GUE_SPORT_MASK));
        FAIL_IF(get16(udp, 2) != s.spec.gue_port, "GUE port " << get16(udp, 2));
        FAIL_IF(get16(udp, 4) != udp.size(), "outer UDP length " << get16(udp, 4) << ", datagram is " << udp.size());
        // Local checksum offload arithmetic (docs/forwarder.md) derives the outer sum from
        // the inner checksums: right whenever they are; an inner packet that was already
        // corrupt may carry its error into the outer checksum.
        auto inner_ip = in.subspan(l3, p.ip_len);
        bool inner_ok = (p.family == 6 || sums_to_ones(sum(inner_ip.subspan(0, p.hdr_len)))) &&
                        l4_valid(p.family, inner_ip, p.hdr_len, p.proto, p.fragment).value_or(true);
        FAIL_IF(get16(udp, 6) == 0, "outer UDP checksum 0");
        FAIL_IF(inner_ok && !sums_to_ones(sum(udp, pseudo(s.backend_family, outer, kUdp, udp.size()))),
                "outer UDP checksum " << get16(udp, 6) << " wrong for a valid inner packet");
        FAIL_IF(!eq(udp.subspan(8, 4), std::array<uint8_t, 4>{0, inner_proto, 0, 0}),
                "GUE header " << hex(udp.subspan(8, 4)));
        inner_off += 12;
    }
    // The inner packet: as received, TTL / hop limit one less; IPv4 header checksum
    // updated so that it is right exactly when it was.
    auto inner = outer.subspan(inner_off);
    auto orig = in.subspan(l3, p.ip_len);
    Bytes masked_in(orig.begin(), orig.end()), masked_out(inner.begin(), inner.end());
    if (p.family == 4) {
        FAIL_IF(inner[8] != uint8_t(orig[8] - 1), "inner TTL " << int(inner[8]) << ", received " << int(orig[8]));
        bool was = sums_to_ones(sum(orig.subspan(0, p.hdr_len)));
        bool is = sums_to_ones(sum(inner.subspan(0, p.hdr_len)));
        FAIL_IF(was != is, "inner IPv4 header checksum " << (was ? "was right, is wrong" : "was wrong, is right"));
        for (size_t i : {8, 10, 11}) masked_in[i] = masked_out[i] = 0;
    } else {
        FAIL_IF(inner[7] != uint8_t(orig[7] - 1), "inner hop limit " << int(inner[7]) << ", received " << int(orig[7]));
        masked_in[7] = masked_out[7] = 0;
    }
    FAIL_IF(masked_in != masked_out, "inner packet changed beyond TTL/checksum");
    auto v_in = l4_valid(p.family, orig, p.hdr_len, p.proto, p.fragment);
    auto v_out = l4_valid(p.family, inner, p.hdr_len, p.proto, p.fragment);
    FAIL_IF(v_in != v_out, "inner transport checksum validity changed");
    return backend;
}

// ICMP frag-needed / packet-too-big back to the client, quoting the received packet.
void Checker::check_too_big(std::span<const uint8_t> in, const Frame& p, const Expectation& e,
                            std::span<const uint8_t> out, std::string& err) const {
    const Service& s = *e.service;
    const size_t l3 = p.l3;
    uint32_t mtu = s.spec.mtu > e.overhead ? s.spec.mtu - uint32_t(e.overhead) : 0;
    // IPv6: never advertised below 1280, and the answer (48 bytes of headers plus the
    // quote) never larger than the packet it is about.
    if (p.family == 6) mtu = std::max<uint32_t>(mtu, 1280);
    size_t quote = p.family == 4
                       ? std::min(p.hdr_len + 8, p.ip_len)
                       : std::min<size_t>(std::min<size_t>(p.ip_len, 1232), p.ip_len > 48 ? p.ip_len - 48 : 0);
    size_t hdr = p.family == 4 ? 28 : 48;
    if (in.size() > linear_ && out.size() > l3 + hdr + quote && out.size() - (l3 + hdr + quote) <= in.size() - linear_)
        out = out.first(l3 + hdr + quote);  // bytes of later buffers, as in check_delivery
    if (out.size() != l3 + hdr + quote) {
        FAIL_IF(true, "ICMP too-big frame is " << out.size() << " bytes, want " << l3 + hdr + quote);
        return;
    }
    FAIL_IF(!eq(out.subspan(0, 6), in.subspan(6, 6)) || !eq(out.subspan(6, 6), in.subspan(0, 6)),
            "ICMP reply does not swap the MAC addresses");
    const uint16_t type = p.family == 4 ? 0x0800 : 0x86dd;
    if (p.tagged)
        FAIL_IF(get16(out, 12) != 0x8100 || get16(out, 14) != get16(in, 14) || get16(out, 16) != type,
                "ICMP reply does not keep the 802.1Q tag");
    else
        FAIL_IF(get16(out, 12) != type, "ICMP reply ethertype " << get16(out, 12));
    auto ip = out.subspan(l3);
    Addr src{}, dst{};
    if (p.family == 4) {
        FAIL_IF(ip[0] != 0x45 || ip[1] != 0xc0 || get16(ip, 2) != ip.size() || get16(ip, 6) != 0x4000 || ip[8] != 64 ||
                    ip[9] != kIcmp,
                "ICMP reply IPv4 header " << hex(ip.subspan(0, 20)));
        FAIL_IF(!sums_to_ones(sum(ip.subspan(0, 20))), "ICMP reply IPv4 header checksum wrong");
        std::copy_n(ip.begin() + 12, 4, src.begin());
        std::copy_n(ip.begin() + 16, 4, dst.begin());
        auto icmp = ip.subspan(20);
        FAIL_IF(icmp[0] != 3 || icmp[1] != 4 || get16(icmp, 4) != 0 || get16(icmp, 6) != mtu,
                "ICMP frag-needed header " << hex(icmp.subspan(0, 8)) << ", want MTU " << mtu);
        FAIL_IF(!sums_to_ones(sum(icmp)), "ICMP checksum wrong");
    } else {
        FAIL_IF(get32(ip, 0) != 0x60000000u || get16(ip, 4) != ip.size() - 40 || ip[6] != kIcmp6 || ip[7] != 64,
                "ICMPv6 reply IPv6 header " << hex(ip.subspan(0, 40)));
        std::copy_n(ip.begin() + 8, 16, src.begin());
        std::copy_n(ip.begin() + 24, 16, dst.begin());
        auto icmp = ip.subspan(40);
        FAIL_IF(icmp[0] != 2 || icmp[1] != 0 || get32(icmp, 4) != mtu,
                "ICMPv6 packet-too-big header " << hex(icmp.subspan(0, 8)) << ", want MTU " << mtu);
        FAIL_IF(!sums_to_ones(sum(icmp, pseudo(6, ip, kIcmp6, icmp.size()))), "ICMPv6 checksum wrong");
    }
    FAIL_IF(src != p.dst || dst != p.src, "ICMP reply not from the VIP to the client");
    FAIL_IF(!eq(out.subspan(l3 + hdr), in.subspan(l3, quote)), "ICMP quote is not the start of the received packet");
}

// docs/forwarder.md "Ping": the echo reply back to the client, from the VIP, with a
// fresh IP header and the request's ICMP message but for its type and checksum.
void Checker::check_echo_reply(std::span<const uint8_t> in, const Frame& p, std::span<const uint8_t> out,
                               std::string& err) const {
    const size_t l3 = p.l3;
    const size_t hdr = p.family == 4 ? 20 : 40;
    const size_t msg = p.ip_len - p.hdr_len;
    if (in.size() > linear_ && out.size() > l3 + hdr + msg && out.size() - (l3 + hdr + msg) <= in.size() - linear_)
        out = out.first(l3 + hdr + msg);  // bytes of later buffers, as in check_too_big
    if (out.size() != l3 + hdr + msg) {
        FAIL_IF(true, "echo reply frame is " << out.size() << " bytes, want " << l3 + hdr + msg);
        return;
    }
    FAIL_IF(!eq(out.subspan(0, 6), in.subspan(6, 6)) || !eq(out.subspan(6, 6), in.subspan(0, 6)),
            "echo reply does not swap the MAC addresses");
    const uint16_t type = p.family == 4 ? 0x0800 : 0x86dd;
    if (p.tagged)
        FAIL_IF(get16(out, 12) != 0x8100 || get16(out, 14) != get16(in, 14) || get16(out, 16) != type,
                "echo reply does not keep the 802.1Q tag");
    else
        FAIL_IF(get16(out, 12) != type, "echo reply ethertype " << get16(out, 12));
    auto ip = out.subspan(l3);
    auto request = in.subspan(l3 + p.hdr_len, msg);
    auto reply = ip.subspan(hdr);
    const uint8_t dscp = p.tos & 0xfc;  // ECN cleared
    Addr src{}, dst{};
    if (p.family == 4) {
        FAIL_IF(ip[0] != 0x45 || ip[1] != dscp || get16(ip, 2) != ip.size() || get16(ip, 4) != 0 ||
                    get16(ip, 6) != 0x4000 || ip[8] != 64 || ip[9] != kIcmp,
                "echo reply IPv4 header " << hex(ip.subspan(0, 20)));
        FAIL_IF(!sums_to_ones(sum(ip.subspan(0, 20))), "echo reply IPv4 header checksum wrong");
        std::copy_n(ip.begin() + 12, 4, src.begin());
        std::copy_n(ip.begin() + 16, 4, dst.begin());
        FAIL_IF(reply[0] != 0, "echo reply ICMP type " << int(reply[0]));
        FAIL_IF(!sums_to_ones(sum(reply)), "echo reply ICMP checksum wrong");
    } else {
        FAIL_IF(get32(ip, 0) != (0x60000000u | uint32_t(dscp) << 20) || get16(ip, 4) != msg || ip[6] != kIcmp6 ||
                    ip[7] != 64,
                "echo reply IPv6 header " << hex(ip.subspan(0, 40)));
        std::copy_n(ip.begin() + 8, 16, src.begin());
        std::copy_n(ip.begin() + 24, 16, dst.begin());
        FAIL_IF(reply[0] != 129, "echo reply ICMPv6 type " << int(reply[0]));
        FAIL_IF(!sums_to_ones(sum(reply, pseudo(6, ip, kIcmp6, reply.size()))), "echo reply ICMPv6 checksum wrong");
    }
    FAIL_IF(src != p.dst || dst != p.src, "echo reply not from the VIP to the client");
    FAIL_IF(reply[1] != request[1] || !eq(reply.subspan(4), request.subspan(4)),
            "echo reply does not keep the code, identifier, sequence number and data of the request");
}

}  // namespace julier::fuzz
