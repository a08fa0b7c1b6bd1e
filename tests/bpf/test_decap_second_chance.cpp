// julier_decap's second chance through BPF_PROG_TEST_RUN, in a network namespace
// of the test's own: a GUE packet that names a candidate (struct jl_gue_sc) and
// holds a TCP packet without SYN for which the namespace has no socket leaves toward
// the candidate with the outer header rewritten; with a socket, a SYN, hops spent, a
// candidate that is no peer or no route, it is decapsulated as without the field,
// and each outcome bumps exactly its own counter. The program looks sockets and
// routes up in the namespace of the device the test run names: the loopback device
// of the calling thread's namespace, or the veth given as ingress device.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>

#include "harness.h"
#include "packet.h"

using namespace julier::test;

namespace {

const Mac kBackendMac = mac("02:00:00:00:00:20");  // eth0 of the namespace: this backend
const Mac kPeerMac = mac("02:00:00:00:00:21");     // the candidate, a static neighbour
const Mac kLbMac = mac("02:00:00:00:00:02");

constexpr const char* kLb4 = "198.18.0.2";
constexpr const char* kBe4 = "198.18.0.20";
constexpr const char* kPeer4 = "198.18.0.21";
constexpr const char* kLb6 = "2001:db8::2";
constexpr const char* kBe6 = "2001:db8::20";
constexpr const char* kPeer6 = "2001:db8::21";
// The inner connection: a client and the VIP, both on the namespace's loopback
// device so that a real connection between them can exist.
constexpr const char* kClient4 = "198.18.7.10";
constexpr const char* kVip4 = "198.19.0.1";
constexpr const char* kClient6 = "2001:db8:7::10";
constexpr const char* kVip6 = "2001:db8:1::1";
constexpr uint16_t kClientPort = 40000;
constexpr uint16_t kVipPort = 80;
constexpr uint16_t kGue = JL_DEFAULT_GUE_PORT;
constexpr uint16_t kGueSport = 49152 + 77;

enum class Fam { v4, v6 };

const char* name(Fam f) { return f == Fam::v4 ? "IPv4" : "IPv6"; }

void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + path);
}

// This thread in a network namespace of its own until destruction: a backend with
// eth0 (a veth) on 198.18.0.20/24 and 2001:db8::20/64, the candidate as a permanent
// neighbour on it, forwarding on (bpf_fib_lookup needs it on the receiving device),
// and the client's and the VIP's addresses on lo.
class BackendNetns {
public:
    BackendNetns() {
        orig_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (orig_ < 0) throw std::runtime_error(std::string("open own netns: ") + std::strerror(errno));
        if (::unshare(CLONE_NEWNET) != 0) {
            ::close(orig_);
            throw std::runtime_error(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
        }
        sh("ip link set lo up");
        sh("ip link add eth0 address 02:00:00:00:00:20 type veth peer name eth1 address 02:00:00:00:00:22");
        sh("ip link set eth0 up && ip link set eth1 up");
        sh("ip addr add 198.18.0.20/24 dev eth0 && ip -6 addr add 2001:db8::20/64 dev eth0 nodad");
        sh("ip neigh replace 198.18.0.21 lladdr 02:00:00:00:00:21 dev eth0 nud permanent");
        sh("ip -6 neigh replace 2001:db8::21 lladdr 02:00:00:00:00:21 dev eth0 nud permanent");
        sh("ip addr add 198.18.7.10/32 dev lo && ip addr add 198.19.0.1/32 dev lo");
        sh("ip -6 addr add 2001:db8:7::10/128 dev lo nodad && ip -6 addr add 2001:db8:1::1/128 dev lo nodad");
        forwarding(true);
        eth0_ = if_nametoindex("eth0");
        if (eth0_ == 0) throw std::runtime_error("eth0 has no index");
    }
    ~BackendNetns() {
        if (::setns(orig_, CLONE_NEWNET) != 0) std::abort();  // the rest of the run would be elsewhere
        ::close(orig_);
    }
    BackendNetns(const BackendNetns&) = delete;
    BackendNetns& operator=(const BackendNetns&) = delete;

    static void sh(const std::string& command) {
        // The shell and `ip` inherit this thread's namespace.
        if (std::system((command + " >/dev/null").c_str()) != 0) throw std::runtime_error("failed: " + command);
    }
    static void forwarding(bool on) {
        write_file("/proc/sys/net/ipv4/conf/all/forwarding", on ? "1" : "0");
        write_file("/proc/sys/net/ipv6/conf/all/forwarding", on ? "1" : "0");
    }
    uint32_t eth0() const { return eth0_; }

private:
    int orig_ = -1;
    uint32_t eth0_ = 0;
};

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {
        if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    }
    ~Fd() { ::close(fd_); }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

sockaddr_storage sockaddr_of(Fam f, const char* addr, uint16_t port, socklen_t& len) {
    sockaddr_storage ss{};
    if (f == Fam::v4) {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        inet_pton(AF_INET, addr, &a->sin_addr);
        len = sizeof(*a);
    } else {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(port);
        inet_pton(AF_INET6, addr, &a->sin6_addr);
        len = sizeof(*a);
    }
    return ss;
}

int tcp_socket(Fam f, const char* addr, uint16_t port) {
    int fd = ::socket(f == Fam::v4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fd;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    socklen_t len = 0;
    sockaddr_storage ss = sockaddr_of(f, addr, port, len);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
        ::close(fd);
        throw std::runtime_error(std::string("bind ") + addr + ": " + std::strerror(errno));
    }
    return fd;
}

// A listener on the VIP's port.
struct Listener {
    explicit Listener(Fam f) : fd(tcp_socket(f, f == Fam::v4 ? kVip4 : kVip6, kVipPort)) {
        if (::listen(fd.get(), 8) != 0) throw std::runtime_error(std::string("listen: ") + std::strerror(errno));
    }
    Fd fd;
};

// The inner 4-tuple as a real established connection: the backend's socket is the
// accepted one (VIP:80 <- client:40000).
struct Connection {
    explicit Connection(Fam f)
        : listener(f),
          client(tcp_socket(f, f == Fam::v4 ? kClient4 : kClient6, kClientPort)),
          server(connect_and_accept(f)) {}
    int connect_and_accept(Fam f) {
        socklen_t len = 0;
        sockaddr_storage ss = sockaddr_of(f, f == Fam::v4 ? kVip4 : kVip6, kVipPort, len);
        if (::connect(client.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0)
            throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
        return ::accept4(listener.fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
    }
    Listener listener;
    Fd client;
    Fd server;
};

// The second-chance field as abi.h defines it.
Bytes sc_field(const char* candidate, uint8_t hops, std::optional<uint8_t> family = std::nullopt) {
    Bytes b(JL_GUE_SC_BYTES, 0);
    b[0] = JL_GUE_SC_TYPE >> 8;
    b[1] = JL_GUE_SC_TYPE & 0xff;
    const bool v4 = std::string_view(candidate).find(':') == std::string_view::npos;
    b[2] = family.value_or(v4 ? JL_FAMILY_V4 : JL_FAMILY_V6);
    b[3] = hops;
    if (v4) {
        Ip4Addr a = ip4(candidate);
        std::copy(a.begin(), a.end(), b.begin() + 4);
    } else {
        Ip6Addr a = ip6(candidate);
        std::copy(a.begin(), a.end(), b.begin() + 4);
    }
    return b;
}

struct Frame {
    Fam outer = Fam::v4;
    Fam inner = Fam::v4;
    uint8_t tcp_flags = kTcpAck | kTcpPsh;
    std::optional<Bytes> options;  // the GUE optional-field area; none: hlen 0
    const char* src = nullptr;     // outer; default the balancer
    const char* dst = nullptr;     // outer; default this backend
    uint8_t ttl = 64;
    Mac eth_dst = kBackendMac;
    Mac eth_src = kLbMac;
    bool udp_inner = false;
};

Packet& inner_packet(Packet& p, Fam family, uint8_t tcp_flags, bool udp = false) {
    if (family == Fam::v4)
        p.ipv4(kClient4, kVip4).id(0x77).df();
    else
        p.ipv6(kClient6, kVip6).flow_label(0x5a5a5);
    if (udp) return p.udp(kClientPort, kVipPort).payload("dns?");
    return p.tcp(kClientPort, kVipPort).flags(tcp_flags).seq(1000).ack(2000).payload("GET / HTTP/1.1\r\n");
}

Bytes build(const Frame& f) {
    Packet p;
    p.eth(f.eth_dst, f.eth_src);
    if (f.outer == Fam::v4)
        p.ipv4(f.src ? f.src : kLb4, f.dst ? f.dst : kBe4).ttl(f.ttl).df();
    else
        p.ipv6(f.src ? f.src : kLb6, f.dst ? f.dst : kBe6).ttl(f.ttl).flow_label(0x1234);
    p.udp(kGueSport, kGue).gue();
    if (f.options) p.gue_options(*f.options);
    return inner_packet(p, f.inner, f.tcp_flags, f.udp_inner).build();
}

// What the kernel should receive when the packet is decapsulated here.
Bytes bare(const Frame& f) {
    Packet p;
    p.eth(f.eth_dst, f.eth_src);
    return inner_packet(p, f.inner, f.tcp_flags, f.udp_inner).build();
}

// The frame `f` names `candidate` with `hops` hops left.
Frame naming(Fam outer, Fam inner, const char* candidate, uint8_t hops = JL_GUE_SC_HOPS) {
    Frame f;
    f.outer = outer;
    f.inner = inner;
    f.options = sc_field(candidate, hops);
    return f;
}

const char* peer(Fam outer) { return outer == Fam::v4 ? kPeer4 : kPeer6; }

// The decapsulator as julier-decap configures it with second chance on.
class Configured : public DecapHarness {
public:
    explicit Configured(bool peers = true) {
        add_source(kLb4);
        add_source(kLb6);
        add_local(kBe4);
        add_local(kBe6);
        if (peers) {
            add_peer("198.18.0.16/28");
            add_peer("2001:db8::/120");
        }
    }
};

void check_only(const DecapHarness& h, jl_decap_counter which, uint64_t bytes) {
    auto all = h.counters();
    for (uint32_t c = 0; c < JL_DECAP_CNT_COUNT; c++) {
        INFO("counter " << decap_counter_name(static_cast<jl_decap_counter>(c)));
        CHECK(all[c].packets == (c == which ? 1u : 0u));
        CHECK(all[c].bytes == (c == which ? bytes : 0u));
    }
}

// Decapsulated as without the field, and counted as `which`.
void expect_decap(const Frame& f, jl_decap_counter which, bool peers = true, uint32_t ingress = 0) {
    Configured h(peers);
    Bytes in = build(f);
    REQUIRE(verify_checksums(in) == "");
    XdpResult r = h.run(in, 1, ingress);
    CHECK(verdict_name(r.verdict) == std::string("XDP_PASS"));
    CHECK(hex_diff(bare(f), r.data) == "");
    check_only(h, which, in.size());
}

// Sent on: the same frame from this backend to the candidate, one hop less.
void expect_forward(const Frame& f, uint32_t ingress, int verdict, jl_decap_counter which) {
    Configured h;
    Bytes in = build(f);
    REQUIRE(verify_checksums(in) == "");
    XdpResult r = h.run(in, 1, ingress);
    CHECK(verdict_name(r.verdict) == std::string(verdict_name(verdict)));
    Frame out = f;
    out.eth_dst = kPeerMac;
    out.eth_src = kBackendMac;
    out.src = f.outer == Fam::v4 ? kBe4 : kBe6;
    out.dst = peer(f.outer);
    out.ttl = static_cast<uint8_t>(f.ttl - 1);
    REQUIRE(out.options.has_value());
    out.options.value().at(3)--;  // hops; the candidate stays named
    CHECK(hex_diff(build(out), r.data) == "");
    CHECK(verify_checksums(r.data) == "");
    check_only(h, which, in.size());
}

}  // namespace

TEST_CASE("second chance: no socket here, sent on to the candidate", "[decap][second_chance]") {
    BackendNetns ns;
    for (Fam outer : {Fam::v4, Fam::v6}) {
        for (Fam inner : {Fam::v4, Fam::v6}) {
            for (uint8_t flags : {uint8_t(kTcpAck | kTcpPsh), uint8_t(kTcpAck | kTcpFin), uint8_t(kTcpRst)}) {
                INFO("outer " << name(outer) << ", inner " << name(inner) << ", TCP flags " << int(flags));
                Frame f = naming(outer, inner, peer(outer));
                f.tcp_flags = flags;
                // Received on eth0: the route to the candidate leaves there too.
                expect_forward(f, ns.eth0(), XDP_TX, JL_DECAP_CNT_TX_SECOND_CHANCE);
                // Received on lo (the test run's default device): out through eth0.
                expect_forward(f, 0, XDP_REDIRECT, JL_DECAP_CNT_REDIRECT_SECOND_CHANCE);
            }
        }
    }
}

TEST_CASE("second chance: a listener alone is no socket for a non-SYN packet", "[decap][second_chance]") {
    BackendNetns ns;
    for (Fam f : {Fam::v4, Fam::v6}) {
        INFO(name(f));
        Listener l(f);
        expect_forward(naming(f, f, peer(f)), ns.eth0(), XDP_TX, JL_DECAP_CNT_TX_SECOND_CHANCE);
    }
}

TEST_CASE("second chance: a connection here keeps the packet here", "[decap][second_chance]") {
    BackendNetns ns;
    for (Fam f : {Fam::v4, Fam::v6}) {
        INFO(name(f));
        Connection c(f);
        for (Fam outer : {Fam::v4, Fam::v6}) {
            INFO("outer " << name(outer));
            expect_decap(naming(outer, f, peer(outer)), JL_DECAP_CNT_DECAP_SC_KEPT, true, ns.eth0());
            expect_decap(naming(outer, f, peer(outer)), JL_DECAP_CNT_DECAP_SC_KEPT);
        }
    }
}

TEST_CASE("second chance: a SYN, or a packet that is not TCP, is never sent on", "[decap][second_chance]") {
    BackendNetns ns;
    for (Fam f : {Fam::v4, Fam::v6}) {
        INFO(name(f));
        Frame syn = naming(f, f, peer(f));
        syn.tcp_flags = kTcpSyn;
        expect_decap(syn, JL_DECAP_CNT_DECAP_GUE, true, ns.eth0());
        syn.tcp_flags = kTcpSyn | kTcpAck;
        expect_decap(syn, JL_DECAP_CNT_DECAP_GUE, true, ns.eth0());
        Frame udp = naming(f, f, peer(f));
        udp.udp_inner = true;
        expect_decap(udp, JL_DECAP_CNT_DECAP_GUE, true, ns.eth0());
    }
}

TEST_CASE("second chance: hops spent, outer TTL spent or the candidate is this host", "[decap][second_chance]") {
    BackendNetns ns;
    for (Fam f : {Fam::v4, Fam::v6}) {
        INFO(name(f));
        // What the candidate itself receives from the first backend: hops 0.
        expect_decap(naming(f, f, peer(f), 0), JL_DECAP_CNT_DECAP_SC_HOP_LIMIT, true, ns.eth0());
        Frame ttl = naming(f, f, peer(f));
        ttl.ttl = 1;
        expect_decap(ttl, JL_DECAP_CNT_DECAP_SC_HOP_LIMIT, true, ns.eth0());
        // Named as its own candidate, with hops left: it stays.
        expect_decap(naming(f, f, f == Fam::v4 ? kBe4 : kBe6, 3), JL_DECAP_CNT_DECAP_SC_HOP_LIMIT, true, ns.eth0());
    }
}

TEST_CASE("second chance: more hops are spent one at a time", "[decap][second_chance]") {
    BackendNetns ns;
    expect_forward(naming(Fam::v4, Fam::v4, kPeer4, 7), ns.eth0(), XDP_TX, JL_DECAP_CNT_TX_SECOND_CHANCE);
    expect_forward(naming(Fam::v6, Fam::v4, kPeer6, 255), ns.eth0(), XDP_TX, JL_DECAP_CNT_TX_SECOND_CHANCE);
}

TEST_CASE("second chance: only to a peer of the outer family", "[decap][second_chance]") {
    BackendNetns ns;
    // Outside the peer prefixes: decapsulated here, as if no candidate were named
    // (the balancer is trusted for the packet, not for where this host sends it).
    expect_decap(naming(Fam::v4, Fam::v4, "198.18.0.99"), JL_DECAP_CNT_DECAP_SC_NOT_PEER, true, ns.eth0());
    expect_decap(naming(Fam::v6, Fam::v6, "2001:db8:99::21"), JL_DECAP_CNT_DECAP_SC_NOT_PEER, true, ns.eth0());
    // A peer of the other family than the outer header.
    expect_decap(naming(Fam::v4, Fam::v4, kPeer6), JL_DECAP_CNT_DECAP_SC_NOT_PEER, true, ns.eth0());
    expect_decap(naming(Fam::v6, Fam::v6, kPeer4), JL_DECAP_CNT_DECAP_SC_NOT_PEER, true, ns.eth0());
    // An IPv4 candidate whose family byte says IPv6 (its address is then 198.18.0.21::).
    Frame odd = naming(Fam::v6, Fam::v6, kPeer4);
    (*odd.options)[2] = JL_FAMILY_V6;
    expect_decap(odd, JL_DECAP_CNT_DECAP_SC_NOT_PEER, true, ns.eth0());
    // An unknown family.
    Frame unknown = naming(Fam::v4, Fam::v4, kPeer4);
    (*unknown.options)[2] = 5;
    expect_decap(unknown, JL_DECAP_CNT_DECAP_SC_NOT_PEER, true, ns.eth0());
}

TEST_CASE("second chance: without peers the field is ignored", "[decap][second_chance]") {
    BackendNetns ns;
    for (Fam f : {Fam::v4, Fam::v6}) {
        INFO(name(f));
        expect_decap(naming(f, f, peer(f)), JL_DECAP_CNT_DECAP_GUE, false, ns.eth0());
    }
}

TEST_CASE("second chance: no route or neighbour to the candidate", "[decap][second_chance]") {
    BackendNetns ns;
    SECTION("no neighbour entry") {
        BackendNetns::sh("ip neigh flush dev eth0 && ip -6 neigh flush dev eth0");
        BackendNetns::sh("ip neigh del 198.18.0.21 dev eth0 || true");
        BackendNetns::sh("ip -6 neigh del 2001:db8::21 dev eth0 || true");
        for (Fam f : {Fam::v4, Fam::v6}) {
            INFO(name(f));
            expect_decap(naming(f, f, peer(f)), JL_DECAP_CNT_DECAP_SC_FIB, true, ns.eth0());
        }
    }
    SECTION("no route") {
        BackendNetns::sh("ip addr flush dev eth0");
        for (Fam f : {Fam::v4, Fam::v6}) {
            INFO(name(f));
            expect_decap(naming(f, f, peer(f)), JL_DECAP_CNT_DECAP_SC_FIB, true, ns.eth0());
        }
    }
    SECTION("forwarding off on the receiving device") {
        BackendNetns::forwarding(false);
        for (Fam f : {Fam::v4, Fam::v6}) {
            INFO(name(f));
            expect_decap(naming(f, f, peer(f)), JL_DECAP_CNT_DECAP_SC_FIB, true, ns.eth0());
        }
    }
}

TEST_CASE("second chance: a peer may send this host tunnel packets", "[decap][second_chance]") {
    BackendNetns ns;
    for (Fam f : {Fam::v4, Fam::v6}) {
        INFO(name(f));
        // What a peer sends on: from its address, hops 0, naming this host.
        Frame from_peer = naming(f, f, f == Fam::v4 ? kBe4 : kBe6, 0);
        from_peer.src = peer(f);
        from_peer.eth_src = kPeerMac;
        expect_decap(from_peer, JL_DECAP_CNT_DECAP_SC_HOP_LIMIT, true, ns.eth0());
        // Without peers configured that source is no allowed one.
        Configured none(false);
        Bytes in = build(from_peer);
        CHECK(verdict_name(none.run(in, 1, ns.eth0()).verdict) == std::string("XDP_DROP"));
        check_only(none, JL_DECAP_CNT_DROP_SOURCE, in.size());
    }
}

TEST_CASE("second chance: other private data in the GUE header is skipped", "[decap][second_chance]") {
    BackendNetns ns;
    // As Linux's fou does: flags 0, hlen words of data it has no use for.
    Frame other = naming(Fam::v4, Fam::v4, kPeer4);
    (*other.options)[0] = 0x12;
    expect_decap(other, JL_DECAP_CNT_DECAP_GUE, true, ns.eth0());
    Frame short_area = naming(Fam::v6, Fam::v6, kPeer6);
    short_area.options->resize(16);  // one word short of the field
    expect_decap(short_area, JL_DECAP_CNT_DECAP_GUE, true, ns.eth0());
    Frame longer = naming(Fam::v4, Fam::v6, kPeer4);
    longer.options->resize(JL_GUE_SC_BYTES + 8);  // the field, then more private data
    expect_forward(longer, ns.eth0(), XDP_TX, JL_DECAP_CNT_TX_SECOND_CHANCE);
}

namespace {

// The SYN-ACK the namespace's listener answers a SYN from the client with: its
// sequence number (with tcp_syncookies 2, a SYN cookie). Raw sockets: IPv4 sends
// the whole IP packet and reads it back; IPv6 sends and reads the TCP segment.
uint32_t syn_ack_seq(Fam f, uint16_t client_port, uint32_t client_isn) {
    const int af = f == Fam::v4 ? AF_INET : AF_INET6;
    Fd rx(::socket(af, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_TCP));
    timeval tv{2, 0};
    ::setsockopt(rx.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    Fd tx(::socket(af, SOCK_RAW | SOCK_CLOEXEC, f == Fam::v4 ? IPPROTO_RAW : IPPROTO_TCP));
    const uint8_t mss[] = {2, 4, 0x05, 0xb4};
    Packet p;
    if (f == Fam::v4)
        p.ipv4(kClient4, kVip4).ttl(64);
    else
        p.ipv6(kClient6, kVip6).ttl(64);
    Bytes syn = p.tcp(client_port, kVipPort).flags(kTcpSyn).seq(client_isn).ack(0).tcp_options(mss).build();
    socklen_t len = 0;
    if (f == Fam::v6) {
        // The kernel writes the IPv6 header, from the client's address.
        syn.erase(syn.begin(), syn.begin() + 40);
        sockaddr_storage from = sockaddr_of(f, kClient6, 0, len);
        if (::bind(tx.get(), reinterpret_cast<sockaddr*>(&from), len) != 0)
            throw std::runtime_error(std::string("bind raw: ") + std::strerror(errno));
    }
    sockaddr_storage to = sockaddr_of(f, f == Fam::v4 ? kVip4 : kVip6, 0, len);
    if (::sendto(tx.get(), syn.data(), syn.size(), 0, reinterpret_cast<sockaddr*>(&to), len) < 0)
        throw std::runtime_error(std::string("sending a SYN: ") + std::strerror(errno));
    uint8_t buf[2048];
    for (;;) {
        ssize_t n = ::recv(rx.get(), buf, sizeof(buf), 0);
        if (n < 0) throw std::runtime_error("no SYN-ACK from the listener");
        const size_t ihl = f == Fam::v4 ? (buf[0] & 0xf) * 4u : 0;
        if (static_cast<size_t>(n) < ihl + 20) continue;
        const uint8_t* th = buf + ihl;
        const uint16_t sport = static_cast<uint16_t>(th[0] << 8 | th[1]);
        const uint16_t dport = static_cast<uint16_t>(th[2] << 8 | th[3]);
        if (sport == kVipPort && dport == client_port && th[13] == (kTcpSyn | kTcpAck))
            return static_cast<uint32_t>(th[4]) << 24 | th[5] << 16 | th[6] << 8 | th[7];
    }
}

}  // namespace

TEST_CASE("second chance: the ACK that completes a SYN-cookie handshake here stays here", "[decap][second_chance]") {
    BackendNetns ns;
    write_file("/proc/sys/net/ipv4/tcp_syncookies", "2");  // a cookie for every SYN (IPv6 too)
    for (Fam f : {Fam::v4, Fam::v6}) {
        INFO(name(f));
        Listener l(f);
        const uint16_t port = 41234;
        const uint32_t cookie = syn_ack_seq(f, port, 5000);

        auto ack = [&](uint32_t ack_seq) {
            Packet p;
            p.eth(kBackendMac, kLbMac)
                .ipv4(kLb4, kBe4)
                .ttl(64)
                .df()
                .udp(kGueSport, kGue)
                .gue()
                .gue_options(sc_field(kPeer4, JL_GUE_SC_HOPS));
            if (f == Fam::v4)
                p.ipv4(kClient4, kVip4).id(0x77).df();
            else
                p.ipv6(kClient6, kVip6);
            p.tcp(port, kVipPort).flags(kTcpAck).seq(5001).ack(ack_seq);
            return p.build();
        };
        {
            INFO("the cookie this listener sent: kept");
            Configured h;
            Bytes in = ack(cookie + 1);
            XdpResult r = h.run(in, 1, ns.eth0());
            CHECK(verdict_name(r.verdict) == std::string("XDP_PASS"));
            check_only(h, JL_DECAP_CNT_DECAP_SC_KEPT, in.size());
        }
        {
            // Not cookie + 2: the low bits of a cookie carry the MSS index, and a
            // neighbouring index is a valid cookie too. The high byte is its minute.
            INFO("an acknowledgement from another minute: no socket wants it, sent on");
            Configured h;
            Bytes in = ack(cookie + 1 + 0x80000000u);
            XdpResult r = h.run(in, 1, ns.eth0());
            CHECK(verdict_name(r.verdict) == std::string("XDP_TX"));
            check_only(h, JL_DECAP_CNT_TX_SECOND_CHANCE, in.size());
        }
    }
}
