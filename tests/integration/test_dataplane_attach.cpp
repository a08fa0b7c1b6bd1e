// Attaching the forwarder to interfaces, in a network namespace of the test's own
// (a veth pair that disappears with the child process).
#include <linux/if_link.h>
#include <net/if.h>

#include <catch2/catch.hpp>

#include "dataplane_support.h"

using namespace julier;
using namespace julier::integration;
using dataplane::AttachMode;
using dataplane::Dataplane;

namespace {

// The id of the XDP program on an interface (0: none).
std::uint32_t xdp_prog_id(const std::string& ifname) {
    __u32 id = 0;
    LIBBPF_OPTS(bpf_xdp_query_opts, opts);
    if (bpf_xdp_query(static_cast<int>(if_nametoindex(ifname.c_str())), 0, &opts) != 0) {
        throw std::runtime_error("bpf_xdp_query " + ifname + ": " + std::strerror(errno));
    }
    id = opts.attach_mode == XDP_ATTACHED_SKB ? opts.skb_prog_id : opts.drv_prog_id;
    return id;
}

std::uint32_t prog_id(int fd) {
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
        throw std::runtime_error("prog info");
    }
    return info.id;
}

// A minimal foreign XDP program: return XDP_PASS.
int load_pass_program() {
    const bpf_insn insns[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, XDP_PASS},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    return bpf_prog_load(BPF_PROG_TYPE_XDP, "other_pass", "GPL", insns, 2, nullptr);
}

#define EXPECT(cond)                                                                      \
    do {                                                                                  \
        if (!(cond)) return std::string("line ") + std::to_string(__LINE__) + ": " #cond; \
    } while (0)

}  // namespace

TEST_CASE("attach adopts, replaces nothing foreign, detaches", "[dataplane][integration][attach]") {
    JULIER_SKIP_UNLESS_ROOT();
    PinDir pins;
    std::string result = in_private_netns([&]() -> std::string {
        sh("ip link add veth0 type veth peer name veth1");
        sh("ip link set veth0 up && ip link set veth1 up");

        std::uint32_t first_id = 0;
        {
            auto dp = Dataplane::open(options_for(pins));
            first_id = prog_id(dp->program_fd());
            dp->attach("veth0", AttachMode::native);
            EXPECT(xdp_prog_id("veth0") == first_id);
            dp->attach("veth0", AttachMode::native);  // again: nothing changes
            EXPECT(xdp_prog_id("veth0") == first_id);
            EXPECT(dp->attached_interfaces() == std::vector<std::string>{"veth0"});
        }
        // A restarted daemon finds its program in place: attach is a no-op.
        auto dp = Dataplane::open(options_for(pins));
        EXPECT(dp->adopted());
        EXPECT(prog_id(dp->program_fd()) == first_id);
        dp->attach("veth0", AttachMode::native);
        EXPECT(xdp_prog_id("veth0") == first_id);

        // Switching the mode re-attaches in the other mode.
        dp->attach("veth0", AttachMode::generic);
        LIBBPF_OPTS(bpf_xdp_query_opts, query);
        EXPECT(bpf_xdp_query(static_cast<int>(if_nametoindex("veth0")), 0, &query) == 0);
        EXPECT(query.attach_mode == XDP_ATTACHED_SKB);
        EXPECT(query.skb_prog_id == first_id);

        // Someone else's program is never replaced.
        dataplane::Fd other(load_pass_program());
        EXPECT(other);
        EXPECT(bpf_xdp_attach(static_cast<int>(if_nametoindex("veth1")), other.get(), XDP_FLAGS_DRV_MODE, nullptr) ==
               0);
        try {
            dp->attach("veth1", AttachMode::native);
            return "attach over a foreign program succeeded";
        } catch (const dataplane::DataplaneError& e) {
            EXPECT(std::string(e.what()).find("not julier's") != std::string::npos);
            EXPECT(std::string(e.what()).find("other_pass") != std::string::npos);
        }
        EXPECT(xdp_prog_id("veth1") == prog_id(other.get()));
        dp->detach("veth1");  // not ours: left alone
        EXPECT(xdp_prog_id("veth1") == prog_id(other.get()));

        try {
            dp->attach("nosuch0", AttachMode::native);
            return "attach to a missing interface succeeded";
        } catch (const dataplane::DataplaneError& e) {
            EXPECT(std::string(e.what()).find("nosuch0") != std::string::npos);
        }

        dp->detach("veth0");
        EXPECT(xdp_prog_id("veth0") == 0);
        EXPECT(dp->attached_interfaces().empty());
        dp->detach("veth0");  // nothing there: fine

        dp->attach("veth0", AttachMode::native);
        dp->teardown();  // detaches and unpins
        EXPECT(xdp_prog_id("veth0") == 0);
        EXPECT(::access(pins.path().c_str(), F_OK) != 0);
        return "";
    });
    CHECK(result == "");
}
