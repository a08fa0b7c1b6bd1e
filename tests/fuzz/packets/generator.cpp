#include "generator.h"

#include <algorithm>
#include <optional>

#include "frame.h"
#include "lb_fixture.h"

namespace julier::fuzz {

using test::Bytes;
using test::Packet;

namespace {

using Rng = std::mt19937_64;

uint64_t splitmix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

size_t u(Rng& r, size_t lo, size_t hi) { return std::uniform_int_distribution<size_t>(lo, hi)(r); }
bool chance(Rng& r, double p) { return std::uniform_real_distribution<double>(0, 1)(r) < p; }
uint8_t byte(Rng& r) { return uint8_t(r()); }
Bytes random_bytes(Rng& r, size_t n) {
    Bytes b(n);
    for (auto& x : b) x = byte(r);
    return b;
}
template <class T>
const T& one_of(Rng& r, std::initializer_list<T> l) {
    return *(l.begin() + u(r, 0, l.size() - 1));
}

test::Ip4Addr v4(const Addr& a) { return {a[0], a[1], a[2], a[3]}; }
test::Ip6Addr v6(const Addr& a) {
    test::Ip6Addr b;
    std::copy(a.begin(), a.end(), b.begin());
    return b;
}

// Clients and routers live in the test ranges (198.18.0.0/15, 2001:db8::/32).
Addr client(Rng& r, int family) {
    Addr a{};
    if (family == 4) {
        a[0] = 198, a[1] = uint8_t(18 + (r() & 1)), a[2] = byte(r), a[3] = byte(r);
    } else {
        a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
        for (size_t i = 4; i < 16; i++) a[i] = chance(r, 0.5) ? 0 : byte(r);
    }
    return a;
}

Addr pooled_client(Rng& r, int family) {
    auto v = pooled_clients(family);
    return v[u(r, 0, v.size() - 1)];
}
uint16_t pooled_port(Rng& r) {
    auto v = pooled_ports();
    return v[u(r, 0, v.size() - 1)];
}

size_t payload_size(Rng& r) {
    double p = std::uniform_real_distribution<double>(0, 1)(r);
    if (p < 0.6) return u(r, 0, 64);
    if (p < 0.9) return u(r, 0, 600);
    return u(r, 0, 1500);
}

void put_ip_layer(Packet& p, int family, const Addr& src, const Addr& dst) {
    if (family == 4)
        p.ipv4(v4(src), v4(dst));
    else
        p.ipv6(v6(src), v6(dst));
}

void fix_ip4_checksum(Bytes& f, size_t l3) {
    size_t hlen = size_t(f[l3] & 15) * 4;
    if (hlen < 20 || l3 + hlen > f.size()) return;
    f[l3 + 10] = f[l3 + 11] = 0;
    uint16_t c = test::inet_checksum(std::span<const uint8_t>(f).subspan(l3, hlen));
    f[l3 + 10] = uint8_t(c >> 8), f[l3 + 11] = uint8_t(c);
}

struct Target {
    int family;
    Addr dst;
    uint8_t proto;
    uint16_t port;
};

}  // namespace

std::string_view category_name(Category c) {
    static const char* const names[] = {
#define JL_FUZZ_CAT_NAME(name) #name,
        JL_FUZZ_CATEGORIES(JL_FUZZ_CAT_NAME)
#undef JL_FUZZ_CAT_NAME
    };
    return c < Category::count ? names[size_t(c)] : "?";
}

Bytes Generator::frame(uint64_t seed, uint64_t index) const {
    Rng rng(splitmix(seed ^ splitmix(index)));
    return make(category(index), rng);
}

// A well-formed frame: to a service (its port, or any port of a port-0 service),
// sometimes another protocol to a VIP, or to an address that is no VIP.
Packet Generator::valid_packet(Rng& r, bool allow_ext, std::optional<size_t> payload) const {
    const auto& svcs = cat_.services();
    size_t pick = u(r, 0, svcs.size() + 2);
    Target t;
    if (pick < svcs.size()) {
        const Service& s = svcs[pick];
        t = {s.family, s.vip, s.spec.proto, s.spec.port ? s.spec.port : uint16_t(r())};
        if (chance(r, 0.05)) t.port = uint16_t(r());
        if (chance(r, 0.08)) t.proto = one_of<uint8_t>(r, {6, 17, 1, 58, 47, 132});
    } else {
        t.family = chance(r, 0.5) ? 4 : 6;
        t.dst =
            chance(r, 0.5) ? to_addr(t.family == 4 ? test::lbfix::kOther4 : test::lbfix::kOther6) : client(r, t.family);
        t.proto = chance(r, 0.5) ? 6 : 17;
        t.port = uint16_t(r());
    }
    Packet p;
    p.eth(test::lbfix::kLbMac, test::lbfix::kPeerMac);
    if (chance(r, 0.2)) p.vlan(uint16_t(u(r, 1, 4094)), uint8_t(u(r, 0, 7)));
    bool pooled = chance(r, 0.4);
    put_ip_layer(p, t.family, pooled ? pooled_client(r, t.family) : client(r, t.family), t.dst);
    p.ttl(chance(r, 0.1) ? uint8_t(u(r, 0, 2)) : 64).tos(byte(r));
    if (t.family == 4) {
        p.df(chance(r, 0.5)).id(uint16_t(r()));
        if (chance(r, 0.15)) p.ip_options(random_bytes(r, u(r, 1, 40)));
    } else {
        p.flow_label(uint32_t(r()) & 0xfffff);
        if (allow_ext && chance(r, 0.15)) {
            p.hop_by_hop(random_bytes(r, u(r, 0, 20)));
            if (chance(r, 0.5)) p.dest_opts(random_bytes(r, u(r, 0, 20)));
        }
    }
    uint16_t sport = pooled ? pooled_port(r) : uint16_t(u(r, 1024, 65535));
    switch (t.proto) {
        case 6: p.tcp(sport, t.port).flags(byte(r)).seq(uint32_t(r())).ack(uint32_t(r())); break;
        case 17:
            p.udp(sport, t.port);
            if (t.family == 4 && chance(r, 0.1)) p.l4_checksum(0);
            break;
        case 1:
            if (t.family == 4)
                p.icmp4(chance(r, 0.5) ? 8 : byte(r), byte(r), uint32_t(r()));  // often an echo request
            else
                p.ip_proto(1);
            break;
        case 58:
            if (t.family == 6)
                p.icmp6(chance(r, 0.5) ? 128 : byte(r), byte(r), uint32_t(r()));
            else
                p.ip_proto(58);
            break;
        default: p.ip_proto(t.proto); break;
    }
    p.payload(random_bytes(r, payload ? *payload : payload_size(r)));
    return p;
}

// What an ICMP error quotes: usually a reply of a service (VIP:port -> client), cut
// anywhere; else garbage, the wrong direction, a later fragment, or another error.
Bytes Generator::quote(Rng& r, int family, int depth) const {
    const auto& svcs = cat_.services();
    std::vector<const Service*> same;
    for (const auto& s : svcs)
        if (s.family == family) same.push_back(&s);
    const Service& s = *same[u(r, 0, same.size() - 1)];
    int qfamily = chance(r, 0.1) ? 10 - family : family;
    Addr vip = qfamily == family ? s.vip : client(r, qfamily);
    bool pooled = chance(r, 0.5);
    Addr cl = pooled ? pooled_client(r, qfamily) : client(r, qfamily);
    uint16_t cport = pooled ? pooled_port(r) : uint16_t(r());
    switch (u(r, 0, 7)) {
        case 0: return random_bytes(r, u(r, 0, 100));
        case 1: {  // the wrong direction: client -> VIP
            Packet q;
            put_ip_layer(q, qfamily, cl, vip);
            q.tcp(uint16_t(r()), s.spec.port).payload(random_bytes(r, u(r, 0, 16)));
            return q.build();
        }
        case 2: {  // nested: an error quoting an error
            Packet q;
            put_ip_layer(q, family, vip, cl);
            Bytes inner = depth < 3 ? quote(r, family, depth + 1) : random_bytes(r, 40);
            if (family == 4)
                q.icmp4(one_of<uint8_t>(r, {3, 11, 12}), byte(r));
            else
                q.icmp6(uint8_t(u(r, 1, 4)), byte(r));
            q.payload(inner);
            return test::truncated(q.build(), u(r, 0, 300));
        }
        default: break;
    }
    Packet q;
    put_ip_layer(q, qfamily, vip, cl);
    if (qfamily == 4) {
        if (chance(r, 0.1)) q.frag_offset(uint16_t(u(r, 0, 3)));
        if (chance(r, 0.1)) q.ihl(uint8_t(u(r, 0, 15)));
        if (chance(r, 0.1)) q.ip_options(random_bytes(r, u(r, 1, 40)));
    } else if (chance(r, 0.2)) {
        for (size_t i = 0, n = u(r, 1, 5); i < n; i++) {
            if (chance(r, 0.2))
                q.fragment6(uint16_t(u(r, 0, 1)), chance(r, 0.5), uint32_t(r()));
            else
                q.dest_opts(random_bytes(r, u(r, 0, 12)));
        }
    }
    uint8_t proto = chance(r, 0.9) ? s.spec.proto : one_of<uint8_t>(r, {1, 58, 47});
    uint16_t vport = s.spec.port && chance(r, 0.9) ? s.spec.port : uint16_t(r());
    if (proto == 6)
        q.tcp(vport, cport);
    else if (proto == 17)
        q.udp(vport, cport);
    else
        q.ip_proto(proto);
    q.payload(random_bytes(r, u(r, 0, 64)));
    Bytes b = q.build();
    size_t cut = b.size();
    switch (u(r, 0, 3)) {
        case 0: cut = u(r, 0, b.size()); break;                      // anywhere
        case 1: cut = (qfamily == 4 ? 20 : 40) + u(r, 0, 8); break;  // around the ports
        default: break;                                              // whole
    }
    return test::truncated(b, cut);
}

Bytes Generator::icmp_error(Rng& r) const {
    int family = chance(r, 0.5) ? 4 : 6;
    Addr dst;
    if (chance(r, 0.85)) {
        std::vector<Addr> vips;
        for (const auto& s : cat_.services())
            if (s.family == family) vips.push_back(s.vip);
        dst = vips[u(r, 0, vips.size() - 1)];
    } else {
        dst = client(r, family);
    }
    Packet p;
    p.eth(test::lbfix::kLbMac, test::lbfix::kPeerMac);
    if (chance(r, 0.2)) p.vlan(uint16_t(u(r, 1, 4094)));
    put_ip_layer(p, family, client(r, family), dst);
    p.ttl(chance(r, 0.1) ? uint8_t(u(r, 0, 2)) : 64);
    if (family == 4) p.df(chance(r, 0.5));
    uint8_t type = chance(r, 0.85) ? (family == 4 ? one_of<uint8_t>(r, {3, 11, 12}) : uint8_t(u(r, 1, 4))) : byte(r);
    if (family == 4)
        p.icmp4(type, byte(r), uint32_t(r()));
    else
        p.icmp6(type, byte(r), uint32_t(r()));
    p.payload(quote(r, family, 0));
    if (chance(r, 0.1)) p.payload(random_bytes(r, u(r, 0, 1400)));  // a long error
    return p.build();
}

Bytes Generator::make(Category c, Rng& r) const {
    switch (c) {
        case Category::random_bytes: {
            size_t n = chance(r, 0.02)  ? u(r, 14, max_frame_)
                       : chance(r, 0.3) ? u(r, 14, linear_frame_)
                                        : u(r, 14, 200);
            Bytes f = random_bytes(r, n);
            if (chance(r, 0.5)) {
                uint16_t type = one_of<uint16_t>(r, {0x0800, 0x86dd, 0x8100});
                f[12] = uint8_t(type >> 8), f[13] = uint8_t(type);
                if (type != 0x8100 && f.size() > 14)
                    f[14] = type == 0x0800 ? uint8_t(0x40 | (f[14] & 15)) : uint8_t(0x60 | (f[14] & 15));
            }
            return f;
        }
        case Category::tiny: {
            size_t n = u(r, 0, 60);
            if (chance(r, 0.5)) return random_bytes(r, n);
            return test::truncated(valid_packet(r, true).build(), n);
        }
        case Category::jumbo: {
            if (chance(r, 0.25)) {  // a packet in the first buffer, Ethernet padding past it
                Bytes f = valid_packet(r, true).build();
                size_t to = u(r, linear_frame_ + 1, std::min(max_frame_, linear_frame_ + 5000));
                if (f.size() < to) f.resize(to, 0);
                return f;
            }
            // At the largest frame seen whole, and (rarely) at the largest the kernel takes.
            size_t edge = chance(r, 0.8) ? linear_frame_ : max_frame_;
            size_t target = u(r, edge - 64, edge + 8);
            Rng probe = r;
            Bytes head = valid_packet(probe, true, 0).build();
            return valid_packet(r, true, target > head.size() ? target - head.size() : 0).build();
        }
        case Category::valid: return valid_packet(r, true).build();
        case Category::truncate_boundary: {
            Bytes f = valid_packet(r, true).build();
            Frame p = parse_frame(f);
            p.boundaries.push_back(f.size());
            size_t b = p.boundaries[u(r, 0, p.boundaries.size() - 1)];
            b = b + u(r, 0, 2) - 1;  // one before, at, one after
            return test::truncated(f, std::min(b, f.size()));
        }
        case Category::truncate_random: {
            Bytes f = valid_packet(r, true).build();
            return test::truncated(f, u(r, 0, f.size()));
        }
        case Category::ip_length: {
            Bytes f = valid_packet(r, true).build();
            if (chance(r, 0.3)) {  // Ethernet padding: a shorter IP length may be right
                Bytes pad = random_bytes(r, u(r, 1, 40));
                f.insert(f.end(), pad.begin(), pad.end());
            }
            Frame p = parse_frame(f);
            if (p.family == 0) return f;
            size_t field = p.l3 + (p.family == 4 ? 2 : 4);
            size_t real = p.ip_len ? p.ip_len : 0;
            uint16_t v;
            switch (u(r, 0, 3)) {
                case 0: v = uint16_t(u(r, 0, real ? real - 1 : 0)); break;
                case 1: v = uint16_t(real + u(r, 1, 8)); break;
                case 2: v = uint16_t(u(r, real, 65535)); break;
                default: v = uint16_t(real - u(r, 0, std::min<size_t>(real, 8))); break;
            }
            f[field] = uint8_t(v >> 8), f[field + 1] = uint8_t(v);
            if (p.family == 4) fix_ip4_checksum(f, p.l3);
            return f;
        }
        case Category::bad_ihl: {
            Packet p;
            do p = valid_packet(r, false);
            while (!std::holds_alternative<test::Ip4Layer>(p.layers()[1]));
            if (chance(r, 0.5)) p.ip_options(random_bytes(r, u(r, 1, 40)));
            p.ihl(uint8_t(u(r, 0, 15)));
            return p.build();
        }
        case Category::ipv4_fragment: {
            int family = chance(r, 0.6) ? 4 : 6;
            Packet p;
            do p = valid_packet(r, true);
            while (family == 4 ? !std::holds_alternative<test::Ip4Layer>(p.layers()[1])
                               : !std::holds_alternative<test::Ip6Layer>(p.layers()[1]));
            bool later = chance(r, 0.5);
            uint16_t offset = later ? uint16_t(chance(r, 0.5) ? u(r, 1, 8) : u(r, 1, 8191)) : 0;
            bool more = chance(r, 0.7);
            if (family == 4) {
                p.mf(more).frag_offset(offset).df(chance(r, 0.2));
            } else {
                p.fragment6(offset, more, uint32_t(r()));
            }
            if (later) {  // a later fragment: no transport header, only payload bytes
                Packet q;
                for (const auto& l : p.layers())
                    if (std::holds_alternative<test::EthLayer>(l) || std::holds_alternative<test::Ip4Layer>(l) ||
                        std::holds_alternative<test::Ip6Layer>(l))
                        q.layer(l);
                q.ip_proto(one_of<uint8_t>(r, {6, 17, 1, 58}));
                q.payload(random_bytes(r, u(r, 0, 1400)));
                return q.build();
            }
            return p.build();
        }
        case Category::ipv6_ext: {
            Packet p;
            do p = valid_packet(r, false);
            while (!std::holds_alternative<test::Ip6Layer>(p.layers()[1]));
            bool looping = chance(r, 0.2);
            size_t n = looping ? u(r, 2, 10) : u(r, 1, 7);
            for (size_t i = 0; i < n; i++) {
                switch (looping ? 0 : u(r, 0, 3)) {
                    case 0: p.hop_by_hop(random_bytes(r, chance(r, 0.1) ? u(r, 0, 600) : u(r, 0, 30))); break;
                    case 1: p.dest_opts(random_bytes(r, u(r, 0, 30))); break;
                    case 2: {
                        std::vector<test::Ip6Addr> addrs;
                        for (size_t k = 0, m = u(r, 0, 3); k < m; k++) addrs.push_back(v6(client(r, 6)));
                        p.routing(uint8_t(u(r, 0, 4)), uint8_t(u(r, 0, addrs.size())), addrs);
                        break;
                    }
                    default:
                        p.fragment6(chance(r, 0.6) ? 0 : uint16_t(u(r, 0, 50)), chance(r, 0.3), uint32_t(r()));
                        break;
                }
            }
            if (chance(r, 0.2)) p.ip_proto(byte(r));  // unknown (or any) next header
            Bytes f = p.build();
            if (chance(r, 0.3)) {  // corrupt one byte of the chain (lengths, next headers)
                Frame fp = parse_frame(f);
                size_t start = fp.l3 + 40;
                if (start < f.size()) f[start + u(r, 0, std::min<size_t>(f.size() - start - 1, 64))] = byte(r);
            }
            return f;
        }
        case Category::vlan_stack: {
            Bytes f = valid_packet(r, true).build();
            Bytes tags;
            for (size_t i = 0, n = u(r, 1, 8); i < n; i++) {
                uint16_t tpid = one_of<uint16_t>(r, {0x8100, 0x8100, 0x88a8, 0x9100});
                tags.insert(tags.end(), {uint8_t(tpid >> 8), uint8_t(tpid), byte(r), byte(r)});
            }
            f.insert(f.begin() + 12, tags.begin(), tags.end());
            return f;
        }
        case Category::icmp_error: return icmp_error(r);
        case Category::tcp_data_offset: {
            Packet p;
            do p = valid_packet(r, true);
            while (!std::any_of(p.layers().begin(), p.layers().end(),
                                [](const test::Layer& l) { return std::holds_alternative<test::TcpLayer>(l); }));
            if (chance(r, 0.5)) p.tcp_options(random_bytes(r, u(r, 1, 40)));
            p.data_offset(uint8_t(u(r, 0, 15)));
            return p.build();
        }
        case Category::bit_flip: {
            Bytes f = chance(r, 0.2) ? icmp_error(r) : valid_packet(r, true).build();
            for (size_t i = 0, n = u(r, 1, 8); i < n; i++) {
                size_t at = chance(r, 0.7) ? u(r, 0, std::min<size_t>(f.size(), 80) - 1) : u(r, 0, f.size() - 1);
                f[at] ^= uint8_t(1u << u(r, 0, 7));
            }
            return f;
        }
        case Category::count: break;
    }
    return {};
}

}  // namespace julier::fuzz
