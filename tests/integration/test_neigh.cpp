// NetlinkResolver against the kernel: a veth pair between two private network
// namespaces, the peer answering ARP and neighbour solicitations.
#include <net/if.h>
#include <signal.h>
#include <sys/prctl.h>

#include <catch2/catch.hpp>

#include "dataplane_support.h"
#include "neigh/netlink_resolver.h"
#include "plan_test_support.h"

using namespace julier;
using namespace julier::integration;
using plan_test::ip;

namespace {

// "aa:bb:..." of an interface, as `ip` reports it in the current namespace.
std::string link_mac(const std::string& prefix, const std::string& ifname) {
    std::string out = sh(prefix + "ip -o link show dev " + ifname);
    auto at = out.find("link/ether ");
    if (at == std::string::npos) {
        throw std::runtime_error("no MAC in: " + out);
    }
    return out.substr(at + 11, 17);
}

#define EXPECT(cond)                                                                      \
    do {                                                                                  \
        if (!(cond)) return std::string("line ") + std::to_string(__LINE__) + ": " #cond; \
    } while (0)

#define EXPECT_CONTAINS(text, part)                                                                                   \
    do {                                                                                                              \
        if ((text).find(part) == std::string::npos)                                                                   \
            return std::string("line ") + std::to_string(__LINE__) + ": \"" + (text) + "\" lacks \"" + (part) + "\""; \
    } while (0)

}  // namespace

TEST_CASE("the resolver finds next hops, MACs and egress devices", "[neigh][integration]") {
    JULIER_SKIP_UNLESS_ROOT();
    std::string result = in_private_netns([]() -> std::string {
        // The peer: a process parked in a second new namespace, killed at the end.
        pid_t peer = ::fork();
        if (peer == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::unshare(CLONE_NEWNET) != 0) ::_exit(1);
            for (;;) ::pause();
        }
        struct Reaper {
            pid_t pid;
            ~Reaper() {
                ::kill(pid, SIGKILL);
                ::waitpid(pid, nullptr, 0);
            }
        } reaper{peer};
        ::usleep(100 * 1000);  // let it enter its namespace
        std::string in_peer = "nsenter -t " + std::to_string(peer) + " -n ";

        // No duplicate address detection: link-local addresses usable at once, so
        // neighbour solicitations leave with a real source address.
        for (const std::string& ns : {std::string(), in_peer}) {
            sh(ns + "sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0");
        }
        sh("ip link add veth0 type veth peer name veth1");
        sh("ip link set veth1 netns " + std::to_string(peer));
        sh("ip addr add 198.18.0.1/24 dev veth0 && ip -6 addr add 2001:db8::1/64 dev veth0 nodad");
        sh("ip link set veth0 up && ip link set lo up");
        sh(in_peer + "ip addr add 198.18.0.2/24 dev veth1");
        sh(in_peer + "ip -6 addr add 2001:db8::2/64 dev veth1 nodad");
        sh(in_peer + "ip link set veth1 up");
        sh("ip route add 198.19.5.0/24 via 198.18.0.2");

        std::string ours = link_mac("", "veth0");
        std::string theirs = link_mac(in_peer, "veth1");

        neigh::NetlinkResolver resolver(
            neigh::NetlinkResolver::Options{std::chrono::milliseconds(1500), std::chrono::milliseconds(20)});
        auto answers = resolver.resolve({ip("198.18.0.2"), ip("198.18.0.77"), ip("198.20.0.1"), ip("198.19.5.5"),
                                         ip("2001:db8::2"), ip("198.18.0.1"), ip("198.18.0.2")});
        EXPECT(answers.size() == 6);

        const auto& direct = answers.at(ip("198.18.0.2"));
        EXPECT(direct.ok());
        EXPECT(neigh::to_string(direct.next_hop->dst_mac) == theirs);
        EXPECT(neigh::to_string(direct.next_hop->src_mac) == ours);
        EXPECT(direct.next_hop->ifindex == if_nametoindex("veth0"));
        EXPECT(direct.next_hop->ifname == "veth0");
        EXPECT(!direct.next_hop->gateway);
        EXPECT(direct.next_hop->source == ip("198.18.0.1"));

        const auto& routed = answers.at(ip("198.19.5.5"));
        EXPECT(routed.ok());
        EXPECT(routed.next_hop->gateway == ip("198.18.0.2"));
        EXPECT(neigh::to_string(routed.next_hop->dst_mac) == theirs);

        const auto& v6 = answers.at(ip("2001:db8::2"));
        EXPECT(v6.ok());
        EXPECT(neigh::to_string(v6.next_hop->dst_mac) == theirs);
        EXPECT(v6.next_hop->ifname == "veth0");

        const auto& silent = answers.at(ip("198.18.0.77"));
        EXPECT(!silent.ok());
        EXPECT_CONTAINS(silent.error, "198.18.0.77 did not answer ARP on veth0");

        const auto& unroutable = answers.at(ip("198.20.0.1"));
        EXPECT(!unroutable.ok());
        EXPECT_CONTAINS(unroutable.error, "198.20.0.1");
        EXPECT_CONTAINS(unroutable.error, "unreachable");

        const auto& local = answers.at(ip("198.18.0.1"));
        EXPECT(!local.ok());
        EXPECT_CONTAINS(local.error, "is an address of this host");
        return "";
    });
    CHECK(result == "");
}
