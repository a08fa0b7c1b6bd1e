#include "packet.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <type_traits>

namespace julier::test {
namespace {

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

void put8(Bytes& b, uint8_t v) { b.push_back(v); }
void put16(Bytes& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
}
void put32(Bytes& b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
}
void put(Bytes& b, std::span<const uint8_t> v) { b.insert(b.end(), v.begin(), v.end()); }
void set16(Bytes& b, size_t off, uint16_t v) {
    b[off] = static_cast<uint8_t>(v >> 8);
    b[off + 1] = static_cast<uint8_t>(v);
}
uint16_t get16(std::span<const uint8_t> b, size_t off) { return static_cast<uint16_t>(b[off] << 8 | b[off + 1]); }

// Zero-padded to a multiple of 4 bytes (IPv4 and TCP options end with EOL = 0).
Bytes pad4(Bytes b) {
    b.resize((b.size() + 3) / 4 * 4, 0);
    return b;
}

// Hop-by-hop and destination options: pad with Pad1/PadN so that the header,
// including its two leading bytes, is a multiple of 8 (RFC 8200 4.2).
Bytes pad_ip6_options(std::span<const uint8_t> options) {
    Bytes b(options.begin(), options.end());
    size_t pad = (6 - b.size() % 8 + 8) % 8;
    if (b.empty()) pad = 6;
    if (pad == 1) {
        b.push_back(0);  // Pad1
    } else if (pad >= 2) {
        b.push_back(1);  // PadN
        b.push_back(static_cast<uint8_t>(pad - 2));
        b.insert(b.end(), pad - 2, 0);
    }
    return b;
}

// The addresses of an upper-layer pseudo-header (RFC 793/768 for IPv4, RFC 8200 8.1).
struct Pseudo {
    Bytes src, dst;
};

uint16_t fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}

uint32_t pseudo_sum(const Pseudo& p, uint8_t proto, uint32_t length) {
    uint32_t s = ones_sum(p.src);
    s = ones_sum(p.dst, s);
    s += proto;
    s += length >> 16;
    s += length & 0xffff;
    return s;
}

uint16_t l4_csum(const Pseudo& p, uint8_t proto, std::span<const uint8_t> segment) {
    return inet_checksum(segment, pseudo_sum(p, proto, static_cast<uint32_t>(segment.size())));
}

std::optional<uint8_t> proto_of(const Layer* next) {
    if (!next) return std::nullopt;
    return std::visit(Overloaded{
                          [](const Ip4Layer&) -> std::optional<uint8_t> { return kProtoIpip; },
                          [](const Ip6Layer&) -> std::optional<uint8_t> { return kProtoIpv6; },
                          [](const TcpLayer&) -> std::optional<uint8_t> { return kProtoTcp; },
                          [](const UdpLayer&) -> std::optional<uint8_t> { return kProtoUdp; },
                          [](const IcmpLayer& l) -> std::optional<uint8_t> { return l.v6 ? kProtoIcmp6 : kProtoIcmp; },
                          [](const auto&) -> std::optional<uint8_t> { return std::nullopt; },
                      },
                      *next);
}

std::optional<uint16_t> ethertype_of(const Layer* next) {
    if (next && std::holds_alternative<Ip4Layer>(*next)) return kEthIpv4;
    if (next && std::holds_alternative<Ip6Layer>(*next)) return kEthIpv6;
    return std::nullopt;
}

[[noreturn]] void fail(const std::string& what) { throw std::logic_error("packet builder: " + what); }

}  // namespace

// ---- addresses and hex ----------------------------------------------------------

Mac mac(std::string_view text) {
    Mac m{};
    unsigned v[6];
    std::string s(text);
    char extra;
    if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &extra) != 6)
        throw std::invalid_argument("not a MAC address: '" + s + "'");
    for (int i = 0; i < 6; i++) {
        if (v[i] > 0xff) throw std::invalid_argument("not a MAC address: '" + s + "'");
        m[i] = static_cast<uint8_t>(v[i]);
    }
    return m;
}

Ip4Addr ip4(std::string_view text) {
    Ip4Addr a{};
    std::string s(text);
    if (inet_pton(AF_INET, s.c_str(), a.data()) != 1) throw std::invalid_argument("not an IPv4 address: '" + s + "'");
    return a;
}

Ip6Addr ip6(std::string_view text) {
    Ip6Addr a{};
    std::string s(text);
    if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1) throw std::invalid_argument("not an IPv6 address: '" + s + "'");
    return a;
}

Bytes from_hex(std::string_view hex) {
    Bytes out;
    int hi = -1;
    for (char c : hex) {
        int v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else if (c == ' ' || c == '\n' || c == '\t')
            continue;
        else
            throw std::invalid_argument(std::string("not a hex digit: '") + c + "'");
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<uint8_t>(hi << 4 | v));
            hi = -1;
        }
    }
    if (hi >= 0) throw std::invalid_argument("odd number of hex digits");
    return out;
}

std::string to_hex(std::span<const uint8_t> bytes) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (uint8_t b : bytes) {
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s;
}

// ---- checksums (RFC 1071) ----------------------------------------------------------

uint32_t ones_sum(std::span<const uint8_t> data, uint32_t partial) {
    uint64_t sum = partial;
    size_t i = 0;
    for (; i + 1 < data.size(); i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
    if (i < data.size()) sum += static_cast<uint32_t>(data[i] << 8);  // odd byte, zero-padded
    while (sum >> 32) sum = (sum & 0xffffffff) + (sum >> 32);
    return fold(static_cast<uint32_t>(sum & 0xffff) + static_cast<uint32_t>(sum >> 16));
}

uint16_t inet_checksum(std::span<const uint8_t> data, uint32_t partial) {
    return static_cast<uint16_t>(~fold(ones_sum(data, partial)));
}

// ---- builder -------------------------------------------------------------------------

template <class T>
constexpr const char* kind_name() {
    if constexpr (std::is_same_v<T, EthLayer>)
        return "Ethernet";
    else if constexpr (std::is_same_v<T, Ip4Layer>)
        return "IPv4";
    else if constexpr (std::is_same_v<T, Ip6Layer>)
        return "IPv6";
    else if constexpr (std::is_same_v<T, TcpLayer>)
        return "TCP";
    else if constexpr (std::is_same_v<T, UdpLayer>)
        return "UDP";
    else if constexpr (std::is_same_v<T, IcmpLayer>)
        return "ICMP";
    else if constexpr (std::is_same_v<T, GueLayer>)
        return "GUE";
    else
        return "payload";
}

template <class T>
T& Packet::last() {
    for (auto it = layers_.rbegin(); it != layers_.rend(); ++it)
        if (auto* l = std::get_if<T>(&*it)) return *l;
    fail(std::string("this modifier needs a ") + kind_name<T>() + " layer before it");
}

Layer& Packet::last_ip() {
    for (auto it = layers_.rbegin(); it != layers_.rend(); ++it)
        if (std::holds_alternative<Ip4Layer>(*it) || std::holds_alternative<Ip6Layer>(*it)) return *it;
    fail("no IP layer for this modifier");
}

Packet& Packet::layer(Layer l) {
    layers_.push_back(std::move(l));
    return *this;
}
Packet& Packet::eth(const Mac& dst, const Mac& src) { return layer(EthLayer{dst, src, {}, {}}); }
Packet& Packet::ipv4(std::string_view src, std::string_view dst) { return ipv4(ip4(src), ip4(dst)); }
Packet& Packet::ipv4(const Ip4Addr& src, const Ip4Addr& dst) {
    Ip4Layer l;
    l.src = src;
    l.dst = dst;
    return layer(l);
}
Packet& Packet::ipv6(std::string_view src, std::string_view dst) { return ipv6(ip6(src), ip6(dst)); }
Packet& Packet::ipv6(const Ip6Addr& src, const Ip6Addr& dst) {
    Ip6Layer l;
    l.src = src;
    l.dst = dst;
    return layer(l);
}
Packet& Packet::tcp(uint16_t sport, uint16_t dport) {
    TcpLayer l;
    l.sport = sport;
    l.dport = dport;
    return layer(l);
}
Packet& Packet::udp(uint16_t sport, uint16_t dport) { return layer(UdpLayer{sport, dport, {}, {}}); }
Packet& Packet::icmp4(uint8_t type, uint8_t code, uint32_t rest) {
    return layer(IcmpLayer{false, type, code, rest, {}});
}
Packet& Packet::icmp6(uint8_t type, uint8_t code, uint32_t rest) {
    return layer(IcmpLayer{true, type, code, rest, {}});
}
Packet& Packet::gue() { return layer(GueLayer{}); }
Packet& Packet::payload(std::span<const uint8_t> data) { return layer(RawLayer{Bytes(data.begin(), data.end())}); }
Packet& Packet::payload(std::string_view text) { return layer(RawLayer{Bytes(text.begin(), text.end())}); }
Packet& Packet::payload_size(size_t n) {
    Bytes b(n);
    for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(i);
    return layer(RawLayer{std::move(b)});
}

Packet& Packet::vlan(uint16_t vid, uint8_t pcp) {
    last<EthLayer>().tags.push_back(static_cast<uint16_t>((pcp & 7) << 13 | (vid & 0xfff)));
    return *this;
}
Packet& Packet::ethertype(uint16_t type) {
    last<EthLayer>().type = type;
    return *this;
}

Packet& Packet::ttl(uint8_t v) {
    std::visit(Overloaded{[&](Ip4Layer& l) { l.ttl = v; }, [&](Ip6Layer& l) { l.hop_limit = v; }, [](auto&) {}},
               last_ip());
    return *this;
}
Packet& Packet::tos(uint8_t v) {
    std::visit(Overloaded{[&](Ip4Layer& l) { l.tos = v; }, [&](Ip6Layer& l) { l.traffic_class = v; }, [](auto&) {}},
               last_ip());
    return *this;
}
Packet& Packet::ecn(uint8_t v) {
    auto set = [v](uint8_t& field) { field = static_cast<uint8_t>((field & ~3u) | (v & 3u)); };
    std::visit(Overloaded{[&](Ip4Layer& l) { set(l.tos); }, [&](Ip6Layer& l) { set(l.traffic_class); }, [](auto&) {}},
               last_ip());
    return *this;
}
Packet& Packet::ip_proto(uint8_t v) {
    std::visit(Overloaded{[&](Ip4Layer& l) { l.proto = v; }, [&](Ip6Layer& l) { l.next_header = v; }, [](auto&) {}},
               last_ip());
    return *this;
}
Packet& Packet::ip_version(uint8_t v) {
    std::visit(Overloaded{[&](Ip4Layer& l) { l.version = v; }, [&](Ip6Layer& l) { l.version = v; }, [](auto&) {}},
               last_ip());
    return *this;
}

Packet& Packet::id(uint16_t v) { return last<Ip4Layer>().id = v, *this; }
Packet& Packet::df(bool v) { return last<Ip4Layer>().df = v, *this; }
Packet& Packet::mf(bool v) { return last<Ip4Layer>().mf = v, *this; }
Packet& Packet::frag_offset(uint16_t units) { return last<Ip4Layer>().frag_offset = units, *this; }
Packet& Packet::ip_options(std::span<const uint8_t> o) {
    last<Ip4Layer>().options.assign(o.begin(), o.end());
    return *this;
}
Packet& Packet::ihl(uint8_t words) { return last<Ip4Layer>().ihl = words, *this; }
Packet& Packet::total_length(uint16_t v) { return last<Ip4Layer>().total_length = v, *this; }
Packet& Packet::ip_checksum(uint16_t v) { return last<Ip4Layer>().checksum = v, *this; }

Packet& Packet::flow_label(uint32_t v) { return last<Ip6Layer>().flow_label = v, *this; }
Packet& Packet::payload_length(uint16_t v) { return last<Ip6Layer>().payload_length = v, *this; }
Packet& Packet::hop_by_hop(std::span<const uint8_t> options) {
    last<Ip6Layer>().ext.push_back({kProtoHopByHop, pad_ip6_options(options)});
    return *this;
}
Packet& Packet::dest_opts(std::span<const uint8_t> options) {
    last<Ip6Layer>().ext.push_back({kProtoDestOpts, pad_ip6_options(options)});
    return *this;
}
Packet& Packet::routing(uint8_t routing_type, uint8_t segments_left, const std::vector<Ip6Addr>& addrs) {
    Bytes body{routing_type, segments_left};
    if (routing_type == 4) {  // segment routing header (RFC 8754): last entry, flags, tag
        body.push_back(static_cast<uint8_t>(addrs.empty() ? 0 : addrs.size() - 1));
        body.insert(body.end(), {0, 0, 0});
    } else {
        body.insert(body.end(), {0, 0, 0, 0});  // reserved
    }
    for (const auto& a : addrs) put(body, a);
    Ip6Layer& ip = last<Ip6Layer>();
    ip.ext.push_back({kProtoRouting, body});
    // The upper-layer checksum uses the final destination (RFC 8200 8.1): the last
    // address of the list, or segment 0 of a segment routing header.
    if (segments_left > 0 && !addrs.empty()) ip.final_dst = routing_type == 4 ? addrs.front() : addrs.back();
    return *this;
}
Packet& Packet::fragment6(uint16_t offset_units, bool more, uint32_t ident) {
    Bytes body;
    put16(body, static_cast<uint16_t>((offset_units & 0x1fff) << 3 | (more ? 1 : 0)));
    put32(body, ident);
    last<Ip6Layer>().ext.push_back({kProtoFragment, body});
    return *this;
}

Packet& Packet::flags(uint8_t v) { return last<TcpLayer>().flags = v, *this; }
Packet& Packet::seq(uint32_t v) { return last<TcpLayer>().seq = v, *this; }
Packet& Packet::ack(uint32_t v) { return last<TcpLayer>().ack = v, *this; }
Packet& Packet::window(uint16_t v) { return last<TcpLayer>().window = v, *this; }
Packet& Packet::tcp_options(std::span<const uint8_t> o) {
    last<TcpLayer>().options.assign(o.begin(), o.end());
    return *this;
}
Packet& Packet::data_offset(uint8_t words) { return last<TcpLayer>().data_offset = words, *this; }
Packet& Packet::udp_length(uint16_t v) { return last<UdpLayer>().length = v, *this; }

Packet& Packet::l4_checksum(uint16_t v) {
    for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) {
        if (auto* t = std::get_if<TcpLayer>(&*it)) return t->checksum = v, *this;
        if (auto* u = std::get_if<UdpLayer>(&*it)) return u->checksum = v, *this;
        if (auto* i = std::get_if<IcmpLayer>(&*it)) return i->checksum = v, *this;
    }
    fail("l4_checksum() needs a TCP, UDP or ICMP layer");
}

Packet& Packet::gue_proto(uint8_t v) { return last<GueLayer>().proto = v, *this; }
Packet& Packet::gue_hlen(uint8_t words) { return last<GueLayer>().hlen = words, *this; }
Packet& Packet::gue_control(bool v) { return last<GueLayer>().control = v, *this; }
Packet& Packet::gue_version(uint8_t v) { return last<GueLayer>().version = v, *this; }
Packet& Packet::gue_flags(uint16_t v) { return last<GueLayer>().flags = v, *this; }
Packet& Packet::gue_options(Bytes v) {
    if (v.size() % 4 != 0 || v.size() > 31 * 4) fail("GUE options must be 0-124 bytes in whole 32-bit words");
    GueLayer& g = last<GueLayer>();
    g.hlen = static_cast<uint8_t>(v.size() / 4);
    g.options = std::move(v);
    return *this;
}

Bytes Packet::build() const {
    // Built innermost first: every header needs the size (and for checksums the bytes)
    // of everything after it.
    Bytes tail;
    for (size_t i = layers_.size(); i-- > 0;) {
        const Layer* next = i + 1 < layers_.size() ? &layers_[i + 1] : nullptr;
        auto enclosing_ip = [&]() -> Pseudo {
            for (size_t j = i; j-- > 0;) {
                if (auto* v4 = std::get_if<Ip4Layer>(&layers_[j]))
                    return {Bytes(v4->src.begin(), v4->src.end()), Bytes(v4->dst.begin(), v4->dst.end())};
                if (auto* v6 = std::get_if<Ip6Layer>(&layers_[j])) {
                    const Ip6Addr& dst = v6->final_dst.value_or(v6->dst);
                    return {Bytes(v6->src.begin(), v6->src.end()), Bytes(dst.begin(), dst.end())};
                }
            }
            fail("a TCP, UDP or ICMPv6 layer needs an IP layer before it");
        };

        Bytes h = std::visit(
            Overloaded{
                [&](const EthLayer& l) {
                    Bytes b;
                    put(b, l.dst);
                    put(b, l.src);
                    for (uint16_t tci : l.tags) {
                        put16(b, kEthVlan);
                        put16(b, tci);
                    }
                    auto type = l.type ? l.type : ethertype_of(next);
                    if (!type) fail("ethertype cannot be derived from the next layer; set ethertype()");
                    put16(b, *type);
                    return b;
                },
                [&](const Ip4Layer& l) {
                    Bytes opts = pad4(l.options);
                    auto proto = l.proto ? l.proto : proto_of(next);
                    if (!proto) fail("IPv4 protocol cannot be derived from the next layer; set ip_proto()");
                    Bytes b;
                    put8(b, static_cast<uint8_t>(l.version << 4 | (l.ihl.value_or(5 + opts.size() / 4) & 15)));
                    put8(b, l.tos);
                    put16(b, l.total_length.value_or(static_cast<uint16_t>(20 + opts.size() + tail.size())));
                    put16(b, l.id);
                    put16(b,
                          static_cast<uint16_t>((l.df ? 0x4000 : 0) | (l.mf ? 0x2000 : 0) | (l.frag_offset & 0x1fff)));
                    put8(b, l.ttl);
                    put8(b, *proto);
                    put16(b, 0);
                    put(b, l.src);
                    put(b, l.dst);
                    put(b, opts);
                    set16(b, 10, l.checksum.value_or(inet_checksum(b)));
                    return b;
                },
                [&](const Ip6Layer& l) {
                    auto last_next = l.next_header ? l.next_header : proto_of(next);
                    Bytes ext;
                    for (size_t k = 0; k < l.ext.size(); k++) {
                        uint8_t nh = k + 1 < l.ext.size() ? l.ext[k + 1].type : last_next.value_or(kProtoNone);
                        const Ip6Ext& e = l.ext[k];
                        put8(ext, nh);
                        if (e.type == kProtoFragment) {
                            put8(ext, 0);  // reserved
                        } else {
                            if ((e.body.size() + 2) % 8 != 0)
                                fail("IPv6 extension header is not a multiple of 8 bytes");
                            put8(ext, static_cast<uint8_t>((e.body.size() + 2) / 8 - 1));
                        }
                        put(ext, e.body);
                    }
                    Bytes b;
                    put32(b, static_cast<uint32_t>(l.version) << 28 | static_cast<uint32_t>(l.traffic_class) << 20 |
                                 (l.flow_label & 0xfffff));
                    put16(b, l.payload_length.value_or(static_cast<uint16_t>(ext.size() + tail.size())));
                    put8(b, l.ext.empty() ? last_next.value_or(kProtoNone) : l.ext.front().type);
                    put8(b, l.hop_limit);
                    put(b, l.src);
                    put(b, l.dst);
                    put(b, ext);
                    return b;
                },
                [&](const TcpLayer& l) {
                    Bytes opts = pad4(l.options);
                    Bytes b;
                    put16(b, l.sport);
                    put16(b, l.dport);
                    put32(b, l.seq);
                    put32(b, l.ack);
                    put8(b, static_cast<uint8_t>(l.data_offset.value_or(5 + opts.size() / 4) << 4));
                    put8(b, l.flags);
                    put16(b, l.window);
                    put16(b, 0);
                    put16(b, l.urgent);
                    put(b, opts);
                    if (l.checksum) {
                        set16(b, 16, *l.checksum);
                    } else {
                        Bytes seg = b;
                        put(seg, tail);
                        set16(b, 16, l4_csum(enclosing_ip(), kProtoTcp, seg));
                    }
                    return b;
                },
                [&](const UdpLayer& l) {
                    Bytes b;
                    put16(b, l.sport);
                    put16(b, l.dport);
                    put16(b, l.length.value_or(static_cast<uint16_t>(8 + tail.size())));
                    put16(b, 0);
                    if (l.checksum) {
                        set16(b, 6, *l.checksum);
                    } else {
                        Bytes seg = b;
                        put(seg, tail);
                        uint16_t c = l4_csum(enclosing_ip(), kProtoUdp, seg);
                        set16(b, 6, c == 0 ? 0xffff : c);  // 0 means "no checksum" (RFC 768)
                    }
                    return b;
                },
                [&](const IcmpLayer& l) {
                    Bytes b;
                    put8(b, l.type);
                    put8(b, l.code);
                    put16(b, 0);
                    put32(b, l.rest);
                    if (l.checksum) {
                        set16(b, 2, *l.checksum);
                    } else {
                        Bytes msg = b;
                        put(msg, tail);
                        // ICMPv6 covers a pseudo-header (RFC 4443 2.3), ICMP does not (RFC 792).
                        set16(b, 2, l.v6 ? l4_csum(enclosing_ip(), kProtoIcmp6, msg) : inet_checksum(msg));
                    }
                    return b;
                },
                [&](const GueLayer& l) {
                    auto proto = l.proto ? l.proto : proto_of(next);
                    if (!proto) fail("GUE protocol cannot be derived from the next layer; set gue_proto()");
                    Bytes b;
                    put8(b, static_cast<uint8_t>((l.version & 3) << 6 | (l.control ? 0x20 : 0) | (l.hlen & 0x1f)));
                    put8(b, *proto);
                    put16(b, l.flags);
                    const size_t area = static_cast<size_t>(l.hlen) * 4;
                    b.insert(b.end(), l.options.begin(), l.options.begin() + std::min(area, l.options.size()));
                    if (area > l.options.size()) b.insert(b.end(), area - l.options.size(), 0);
                    return b;
                },
                [&](const RawLayer& l) { return l.data; },
            },
            layers_[i]);
        h.insert(h.end(), tail.begin(), tail.end());
        tail = std::move(h);
    }
    return tail;
}

Bytes truncated(Bytes frame, size_t n) {
    frame.resize(std::min(n, frame.size()));
    return frame;
}

// ---- verify_checksums ---------------------------------------------------------------

namespace {

class Verifier {
public:
    Verifier(std::span<const uint8_t> f, const VerifyOptions& o) : f_(f), opt_(o) {}

    std::string run() {
        size_t off = 12;
        std::string path = "eth";
        if (f_.size() < 14)
            return problem(path, 0, "frame of " + std::to_string(f_.size()) + " bytes has no Ethernet header"), out_;
        uint16_t type = get16(f_, off);
        while ((type == kEthVlan || type == kEthQinQ) && off + 6 <= f_.size()) {
            off += 4;
            type = get16(f_, off);
            path += "/vlan";
        }
        off += 2;
        if (type == kEthIpv4)
            ip4(off, f_.size(), path, false);
        else if (type == kEthIpv6)
            ip6(off, f_.size(), path, false);
        return out_;
    }

private:
    void problem(const std::string& path, size_t off, const std::string& what) {
        char at[32];
        std::snprintf(at, sizeof at, " (offset %zu)", off);
        out_ += path + ": " + what + at + "\n";
    }

    static std::string hex16(uint16_t v) {
        char s[8];
        std::snprintf(s, sizeof s, "0x%04x", v);
        return s;
    }

    // Check the 16-bit checksum at `field` in [start, end) against the one computed
    // with that field zeroed.
    void check(const std::string& path, const char* what, size_t start, size_t end, size_t field, uint32_t partial,
               bool zero_is_ffff) {
        Bytes copy(f_.begin() + static_cast<long>(start), f_.begin() + static_cast<long>(end));
        size_t rel = field - start;
        uint16_t found = get16(copy, rel);
        set16(copy, rel, 0);
        uint16_t expected = inet_checksum(copy, partial);
        if (zero_is_ffff && expected == 0) expected = 0xffff;
        if (found != expected)
            problem(path, field, std::string(what) + " checksum is " + hex16(found) + ", expected " + hex16(expected));
    }

    void ip(size_t off, size_t end, const std::string& path, bool quoted) {
        if (off >= end) return problem(path, off, "no IP header after it");
        uint8_t v = f_[off] >> 4;
        if (v == 4)
            ip4(off, end, path, quoted);
        else if (v == 6)
            ip6(off, end, path, quoted);
        else
            problem(path, off, "IP version " + std::to_string(v));
    }

    void ip4(size_t off, size_t end, std::string path, bool quoted) {
        path += "/ipv4";
        if (end - off < 20) return problem(path, off, "truncated header (" + std::to_string(end - off) + " bytes)");
        if (f_[off] >> 4 != 4) return problem(path, off, "version field is " + std::to_string(f_[off] >> 4));
        size_t hl = (f_[off] & 15u) * 4;
        if (hl < 20) return problem(path, off, "IHL " + std::to_string(hl / 4) + " is below 5");
        if (off + hl > end) return problem(path, off, "header of " + std::to_string(hl) + " bytes is truncated");
        check(path, "header", off, off + hl, off + 10, 0, false);
        size_t total = get16(f_, off + 2);
        if (total < hl)
            return problem(path, off + 2, "total length " + std::to_string(total) + " is below the header length");
        bool complete = off + total <= end;
        if (!complete && !quoted)
            return problem(path, off + 2,
                           "total length " + std::to_string(total) + " exceeds the " + std::to_string(end - off) +
                               " bytes present");
        uint16_t frag = get16(f_, off + 6);
        if (frag & 0x3fff) return;  // a fragment: its L4 checksum covers bytes not here
        Pseudo p{Bytes(&f_[off + 12], &f_[off + 16]), Bytes(&f_[off + 16], &f_[off + 20])};
        l4(f_[off + 9], off + hl, complete ? off + total : end, p, path, !complete, false);
    }

    void ip6(size_t off, size_t end, std::string path, bool quoted) {
        path += "/ipv6";
        if (end - off < 40) return problem(path, off, "truncated header (" + std::to_string(end - off) + " bytes)");
        if (f_[off] >> 4 != 6) return problem(path, off, "version field is " + std::to_string(f_[off] >> 4));
        size_t plen = get16(f_, off + 4);
        bool complete = off + 40 + plen <= end;
        if (!complete && !quoted)
            return problem(path, off + 4,
                           "payload length " + std::to_string(plen) + " exceeds the " + std::to_string(end - off - 40) +
                               " bytes present");
        size_t stop = complete ? off + 40 + plen : end;
        Pseudo p{Bytes(&f_[off + 8], &f_[off + 24]), Bytes(&f_[off + 24], &f_[off + 40])};
        uint8_t nh = f_[off + 6];
        size_t at = off + 40;
        for (int n = 0; n < 8; n++) {
            if (nh != kProtoHopByHop && nh != kProtoRouting && nh != kProtoDestOpts && nh != kProtoFragment) break;
            if (at + 8 > stop) return problem(path, at, "truncated extension header");
            size_t len = nh == kProtoFragment ? 8 : (f_[at + 1] + 1u) * 8;
            if (at + len > stop)
                return problem(path, at, "extension header of " + std::to_string(len) + " bytes is truncated");
            if (nh == kProtoFragment && (get16(f_, at + 2) & 0xfff9)) return;  // a fragment
            if (nh == kProtoRouting && f_[at + 3] > 0) {
                size_t addrs = (len - 8) / 16;
                if (addrs > 0) {
                    size_t pick = f_[at + 2] == 4 ? 0 : addrs - 1;  // SRH: segment 0 is the final one
                    p.dst.assign(&f_[at + 8 + pick * 16], &f_[at + 8 + pick * 16 + 16]);
                }
            }
            nh = f_[at];
            at += len;
        }
        l4(nh, at, stop, p, path, !complete, true);
    }

    void l4(uint8_t proto, size_t off, size_t end, const Pseudo& p, const std::string& ippath, bool partial, bool v6) {
        switch (proto) {
            case kProtoIpip:
            case kProtoIpv6:
                return proto == kProtoIpip ? ip4(off, end, ippath, partial) : ip6(off, end, ippath, partial);
            case kProtoTcp: {
                std::string path = ippath + "/tcp";
                if (end - off < 20) return partial ? void() : problem(path, off, "truncated header");
                size_t doff = (f_[off + 12] >> 4) * 4u;
                if (doff < 20 || off + doff > end)
                    return partial ? void()
                                   : problem(path, off + 12, "data offset " + std::to_string(doff / 4) + " is invalid");
                if (!partial)
                    check(path, "TCP", off, end, off + 16, pseudo_sum(p, kProtoTcp, static_cast<uint32_t>(end - off)),
                          false);
                return;
            }
            case kProtoUdp: {
                std::string path = ippath + "/udp";
                if (end - off < 8) return partial ? void() : problem(path, off, "truncated header");
                size_t ulen = get16(f_, off + 4);
                if (!partial && (ulen < 8 || off + ulen != end))
                    return problem(path, off + 4,
                                   "length " + std::to_string(ulen) + " but " + std::to_string(end - off) +
                                       " bytes follow the IP header");
                uint16_t csum = get16(f_, off + 6);
                if (!partial) {
                    if (csum == 0 && v6 && !opt_.allow_zero_udp6_checksum)
                        problem(path, off + 6, "UDP checksum is 0, which IPv6 does not allow");
                    else if (csum != 0)
                        check(path, "UDP", off, end, off + 6, pseudo_sum(p, kProtoUdp, static_cast<uint32_t>(ulen)),
                              true);
                }
                if (get16(f_, off + 2) == opt_.gue_port) gue(off + 8, partial ? end : off + ulen, path, partial);
                return;
            }
            case kProtoIcmp:
            case kProtoIcmp6: {
                bool is6 = proto == kProtoIcmp6;
                std::string path = ippath + (is6 ? "/icmp6" : "/icmp");
                if (end - off < 8) return partial ? void() : problem(path, off, "truncated header");
                if (!partial)
                    check(path, is6 ? "ICMPv6" : "ICMP", off, end, off + 2,
                          is6 ? pseudo_sum(p, kProtoIcmp6, static_cast<uint32_t>(end - off)) : 0, false);
                uint8_t type = f_[off];
                bool error =
                    is6 ? (type >= 1 && type <= 4) : (type == 3 || type == 4 || type == 5 || type == 11 || type == 12);
                if (error && end - off > 8) ip(off + 8, end, path + "/quoted", true);
                return;
            }
            default: return;
        }
    }

    void gue(size_t off, size_t end, const std::string& udppath, bool partial) {
        std::string path = udppath + "/gue";
        if (off >= end) return partial ? void() : problem(path, off, "no GUE header");
        uint8_t variant = f_[off] >> 6;
        if (variant == 1) return ip(off, end, path, partial);  // variant 1: the IP header itself
        if (variant != 0) return problem(path, off, "GUE variant " + std::to_string(variant));
        if (end - off < 4) return partial ? void() : problem(path, off, "truncated header");
        if (f_[off] & 0x20) return;  // control message
        size_t hl = 4 + (f_[off] & 0x1fu) * 4;
        if (off + hl > end)
            return partial ? void() : problem(path, off, "header of " + std::to_string(hl) + " bytes is truncated");
        uint8_t proto = f_[off + 1];
        if (proto == kProtoIpip)
            ip4(off + hl, end, path, partial);
        else if (proto == kProtoIpv6)
            ip6(off + hl, end, path, partial);
    }

    std::span<const uint8_t> f_;
    VerifyOptions opt_;
    std::string out_;
};

}  // namespace

std::string verify_checksums(std::span<const uint8_t> frame, const VerifyOptions& opt) {
    return Verifier(frame, opt).run();
}

// ---- hex_diff -------------------------------------------------------------------------

std::string hex_diff(std::span<const uint8_t> expected, std::span<const uint8_t> actual) {
    if (expected.size() == actual.size() && std::equal(expected.begin(), expected.end(), actual.begin())) return "";
    size_t n = std::max(expected.size(), actual.size());
    size_t first = 0;
    while (first < n && first < expected.size() && first < actual.size() && expected[first] == actual[first]) first++;
    char line[128];
    std::snprintf(line, sizeof line,
                  "frames differ: expected %zu bytes, actual %zu bytes, first difference at %zu (0x%zx)\n",
                  expected.size(), actual.size(), first, first);
    std::string out = line;

    auto row = [&](char mark, std::span<const uint8_t> b, size_t start) {
        std::string s = std::string(1, mark) + " ";
        std::snprintf(line, sizeof line, "%04zx ", start);
        s += line;
        for (size_t i = start; i < start + 16; i++) {
            if (i < b.size()) {
                std::snprintf(line, sizeof line, " %02x", b[i]);
                s += line;
            } else {
                s += "   ";
            }
        }
        while (s.back() == ' ') s.pop_back();
        return s + "\n";
    };
    auto row_differs = [&](size_t start) {
        for (size_t i = start; i < start + 16 && i < n; i++)
            if (i >= expected.size() || i >= actual.size() || expected[i] != actual[i]) return true;
        return false;
    };

    bool elided = false;
    for (size_t start = 0; start < n; start += 16) {
        bool differs = row_differs(start);
        bool near = differs || (start >= 16 && row_differs(start - 16)) || (start + 16 < n && row_differs(start + 16));
        if (!near) {
            if (!elided) out += "  ...\n";
            elided = true;
            continue;
        }
        elided = false;
        if (!differs) {
            out += row(' ', expected, start);
            continue;
        }
        out += row('-', expected, start);
        out += row('+', actual, start);
        std::string marks(7, ' ');  // under "- 0000 "
        for (size_t i = start; i < start + 16 && i < n; i++) {
            bool d = i >= expected.size() || i >= actual.size() || expected[i] != actual[i];
            marks += d ? " ^^" : "   ";
        }
        while (!marks.empty() && marks.back() == ' ') marks.pop_back();
        out += marks + "\n";
    }
    return out;
}

}  // namespace julier::test
