// julierctl's human output.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "cli/render.h"

using namespace julier::cli;
namespace protocol = julier::daemon::protocol;
using State = julier::health::State;
using Role = julier::plan::BackendRole;

TEST_CASE("julierctl render: byte counts", "[cli][render]") {
    CHECK(format_bytes(0) == "0 B");
    CHECK(format_bytes(1023) == "1023 B");
    CHECK(format_bytes(1024) == "1.0 KiB");
    CHECK(format_bytes(1536) == "1.5 KiB");
    CHECK(format_bytes(5u << 20) == "5.0 MiB");
    CHECK(format_bytes(3ull << 40) == "3.0 TiB");
    CHECK(format_bytes(~0ull) == "16.0 EiB");
}

TEST_CASE("julierctl render: durations", "[cli][render]") {
    CHECK(format_duration(0) == "0s");
    CHECK(format_duration(59) == "59s");
    CHECK(format_duration(61) == "1m01s");
    CHECK(format_duration(3600) == "1h00m");
    CHECK(format_duration(2 * 3600 + 7 * 60 + 5) == "2h07m");
    CHECK(format_duration(86400 + 3600 + 61) == "1d01h");
    CHECK(format_duration(-5) == "0s");
}

TEST_CASE("julierctl render: tables align text left and numbers right", "[cli][render]") {
    Table t({{"NAME"}, {"N", Table::Align::right}, {"NOTE"}});
    t.add_row({"web", "5", "x"});
    t.add_row({"longer", "12345"});
    CHECK(t.render() ==
          "NAME        N  NOTE\n"
          "web         5  x\n"
          "longer  12345\n");
    CHECK_THROWS_AS(t.add_row({"a", "b", "c", "d"}), std::invalid_argument);
}

TEST_CASE("julierctl render: backends table notes why a backend gets no traffic", "[cli][render]") {
    protocol::BackendInfo up{"web", "198.18.0.20", 100, 100, State::up, "", Role::in_ring, "", "", 7, 2048};
    protocol::BackendInfo drained{"web", "198.18.0.21", 100, 0, State::up, "", Role::draining, "operator", "", 0, 0};
    protocol::BackendInfo down{"web", "198.18.0.22", 50, 0, State::down, "connection refused", Role::down, "", "", 0,
                               0};
    protocol::BackendInfo arp{"web", "198.18.0.23",   50, 0, State::unknown, "", Role::unresolved,
                              "",    "no ARP answer", 0,  0};
    CHECK(render_backends({up, drained, down, arp}) ==
          "SERVICE  BACKEND      WEIGHT  NOW  HEALTH   STATE   PACKETS    BYTES  NOTE\n"
          "web      198.18.0.20     100  100  up       active        7  2.0 KiB\n"
          "web      198.18.0.21     100    0  up       drain         0      0 B  drained by operator\n"
          "web      198.18.0.22      50    0  down     down          0      0 B  connection refused\n"
          "web      198.18.0.23      50    0  unknown  down          0      0 B  no ARP answer\n");
    // The operator's weight, maint and undrain are told apart from the file's word.
    auto weighted = up;
    weighted.weight = 3;
    weighted.weight_now = 3;
    weighted.config_weight = 100;
    weighted.weight_source = "operator";
    auto maint = up;
    maint.address = "198.18.0.24";
    maint.weight_now = 0;
    maint.state = Role::maint;
    maint.state_source = "operator";
    auto undrained = up;
    undrained.address = "198.18.0.25";
    undrained.state_source = "operator";
    CHECK(render_backends({weighted, maint, undrained}) ==
          "SERVICE  BACKEND      WEIGHT  NOW  HEALTH  STATE   PACKETS    BYTES  NOTE\n"
          "web      198.18.0.20       3    3  up      active        7  2.0 KiB  weight 3 by operator (file: 100)\n"
          "web      198.18.0.24     100    0  up      maint         7  2.0 KiB  maint by operator\n"
          "web      198.18.0.25     100  100  up      active        7  2.0 KiB  undrained by operator\n");
}

TEST_CASE("julierctl render: services table", "[cli][render]") {
    protocol::ServiceInfo web{"web", "198.19.0.1", 80, "tcp", "l2", 65537, 3, 2, 10, 1024, 4, "drop", 3};
    protocol::ServiceInfo any{"dns", "2001:db8::53", 0, "udp", "ip6ip6", 0, 2, 0, 0, 0, 0, "keep"};
    CHECK(render_services({web, any}) ==
          "SERVICE  VIP           PORT  PROTO  FORWARDING   RING  IN RING  ALL DOWN  PACKETS    BYTES  NEW FLOWS  "
          "NONSYN MISS\n"
          "web      198.19.0.1      80  tcp    l2          65537      2/3  drop           10  1.0 KiB          4  "
          "          3\n"
          "dns      2001:db8::53     *  udp    ip6ip6       drop      0/2  keep            0      0 B          0  "
          "          0\n");
}

TEST_CASE("julierctl render: status", "[cli][render]") {
    protocol::Status s;
    s.version = "0.1.0";
    s.pid = 321;
    s.uptime_seconds = 75;
    s.config_file = "/etc/julier/julier.yaml";
    s.config_generation = 3;
    s.dataplane_generation = 9;
    s.pin_dir = "/sys/fs/bpf/julier";
    s.interfaces = {"eth0", "eth1"};
    s.services = 2;
    s.backends = 5;
    s.adopted = true;
    s.reload_failures = 1;
    s.last_reload = {"failed", 0, "julier.yaml:3:7: error: services[0].port: bad"};
    const auto text = render_status(s);
    CHECK(text.rfind("julierd 0.1.0, pid 321, up 1m15s\n", 0) == 0);
    CHECK(text.find("config       /etc/julier/julier.yaml (generation 3)\n") != std::string::npos);
    CHECK(text.find("dataplane    generation 9, adopted at start, pinned under /sys/fs/bpf/julier\n") !=
          std::string::npos);
    CHECK(text.find("interfaces   eth0, eth1\n") != std::string::npos);
    CHECK(text.find("services     2 with 5 backends\n") != std::string::npos);
    CHECK(text.find(": julier.yaml:3:7: error: services[0].port: bad (failed reloads: 1)\n") != std::string::npos);
    CHECK(text.find("last reload  FAILED at ") != std::string::npos);

    s.last_reload = {"none", 0, ""};
    s.adopted = false;
    const auto fresh = render_status(s);
    CHECK(fresh.find("last reload  none since start (failed reloads: 1)\n") != std::string::npos);
    CHECK(fresh.find("adopted") == std::string::npos);
    CHECK(fresh.find("operator") == std::string::npos);  // nothing set at run time: no line

    // What the operator set at run time, one line per backend.
    s.operator_overrides = {"web 198.18.0.21: weight 3, maint", "web 198.18.0.22: drain"};
    CHECK(render_status(s).find("services     2 with 5 backends\n"
                                "operator     web 198.18.0.21: weight 3, maint\n"
                                "operator     web 198.18.0.22: drain\n") != std::string::npos);
    s.operator_overrides.clear();

    // Interface states: a missing one says so loudly, a re-attached one counts.
    s.interface_states = {{"eth0", true, 2, "re-attached"}, {"eth1", false, 0, "the interface does not exist"}};
    const auto states = render_status(s);
    CHECK(
        states.find("interfaces   eth0 (re-attached 2 times), eth1 (NOT FORWARDING: the interface does not exist)\n") !=
        std::string::npos);
    s.interface_states = {{"eth0", true, 1, "re-attached"}, {"eth1", true, 0, "attached at start"}};
    CHECK(render_status(s).find("interfaces   eth0 (re-attached 1 time), eth1\n") != std::string::npos);
}

TEST_CASE("julierctl render: command results", "[cli][render]") {
    protocol::BackendInfo b{"web", "198.18.0.21", 100, 0, State::up, "", Role::draining, "operator", "", 0, 0};
    using protocol::Command;
    CHECK(render_override({true, b}, Command::drain) ==
          "web 198.18.0.21: drained: keeps established flows, gets no new ones (state drain, weight now 0)\n");
    CHECK(render_override({false, b}, Command::drain) == "web 198.18.0.21: already drained (state drain)\n");
    auto w = b;
    w.state = Role::in_ring;
    w.weight = 3;
    w.weight_now = 3;
    w.config_weight = 100;
    w.weight_source = "operator";
    CHECK(render_override({true, w}, Command::weight) ==
          "web 198.18.0.21: weight 3 (operator; the file says 100) (state active, weight now 3)\n");
    w.weight = w.weight_now = w.config_weight = 100;
    w.weight_source = "config";
    CHECK(render_override({false, w}, Command::weight) ==
          "web 198.18.0.21: already weight 100 (the file's; no operator weight) (state active, weight now 100)\n");
    auto m = b;
    m.state = Role::maint;
    CHECK(render_override({true, m}, Command::maint) ==
          "web 198.18.0.21: maint: forced down, its flows go to other backends (state maint)\n");
    CHECK(render_override({false, m}, Command::maint) == "web 198.18.0.21: already in maint (state maint)\n");
    CHECK(render_override({true, w}, Command::ready) ==
          "web 198.18.0.21: ready: maint lifted (state active, weight now 100)\n");
    CHECK(render_override({false, w}, Command::ready) ==
          "web 198.18.0.21: already ready: not in maint (state active)\n");
    CHECK(render_reload({4, 12, {"w1"}, false, {}}) ==
          "reloaded: config generation 4, dataplane generation 12\nw1\nno changes\n");
    CHECK(render_teardown({{"eth0", "eth1"}, "/sys/fs/bpf/julier"}) ==
          "julierd tore down: detached from eth0, eth1, removed the pins under /sys/fs/bpf/julier; the "
          "daemon exits\n");
}

TEST_CASE("julierctl render: flows counts per service and backend", "[cli][render]") {
    protocol::FlowsResult r;
    r.services = {{"web", "198.19.0.1", 80, "tcp", 12}, {"any", "198.19.0.2", 0, "udp", 0}};
    r.backends = {{"web", "198.18.0.20", Role::in_ring, 9}, {"web", "198.18.0.21", Role::draining, 3}};
    r.entries = 14;
    r.unplanned = 2;
    r.max_flows = 1000;
    CHECK(render_flows(r) ==
          "SERVICE  VIP         PORT  PROTO  FLOWS\n"
          "web      198.19.0.1    80  tcp       12\n"
          "any      198.19.0.2     *  udp        0\n"
          "\n"
          "SERVICE  BACKEND      STATE   FLOWS\n"
          "web      198.18.0.20  active      9\n"
          "web      198.18.0.21  drain       3\n"
          "\n"
          "connection table: 14 entries of 1000 (1.4% full), 2 of services or backends no longer configured\n");
}

TEST_CASE("julierctl render: flow list, with idle time and state only when known", "[cli][render]") {
    protocol::FlowList list;
    list.flows = {{"tcp", "198.18.0.10:40000", "198.19.0.1:80", "web", "198.18.0.20", -1, ""},
                  {"udp", "[2001:db8::10]:5353", "[2001:db8:1::1]:53", "", "", -1, ""}};
    list.next = "b12.0";
    CHECK(render_flow_list(list, "julierctl flows --list --after b12.0") ==
          "PROTO  CLIENT               VIP                 SERVICE  BACKEND\n"
          "tcp    198.18.0.10:40000    198.19.0.1:80       web      198.18.0.20\n"
          "udp    [2001:db8::10]:5353  [2001:db8:1::1]:53  -        -\n"
          "more: julierctl flows --list --after b12.0\n");
    list.next.clear();
    list.flows[0].idle_seconds = 75;
    list.flows[0].state = "established";
    CHECK(render_flow_list(list, "") ==
          "PROTO  CLIENT               VIP                 SERVICE  BACKEND       IDLE  STATE\n"
          "tcp    198.18.0.10:40000    198.19.0.1:80       web      198.18.0.20  1m15s  established\n"
          "udp    [2001:db8::10]:5353  [2001:db8:1::1]:53  -        -                -  -\n");
}

TEST_CASE("julierctl render: which and purge", "[cli][render]") {
    protocol::WhichResult entry{"web", "198.18.0.20", "entry", "198.18.0.20", true, "198.18.0.21", 0x1234, "5tuple", 3};
    CHECK(render_which(entry) ==
          "web: backend 198.18.0.20 (its connection-table entry)\n"
          "a new flow would get 198.18.0.21 (hash 0x00001234 of the 5-tuple)\n");
    protocol::WhichResult ring{"web", "198.18.0.21", "ring", "", false, "198.18.0.21", 0x1234, "source", 3};
    CHECK(render_which(ring) ==
          "web: backend 198.18.0.21 (the ring's pick, hash 0x00001234 of the source address (source affinity))\n"
          "no connection-table entry: its next packet makes one\n");
    ring.entry_backend = "198.18.0.22";
    CHECK(render_which(ring) ==
          "web: backend 198.18.0.21 (the ring's pick, hash 0x00001234 of the source address (source affinity))\n"
          "its entry names 198.18.0.22, which no longer takes the flow: the next packet re-picks\n");
    ring.entry_backend.clear();
    ring.hash_input = "no_source_port";
    CHECK_THAT(render_which(ring), Catch::Contains("hash 0x00001234 of the flow without its source port)"));
    ring.hash_input = "destination_port";
    CHECK_THAT(render_which(ring), Catch::Contains("hash 0x00001234 of the destination port)"));
    CHECK(render_which(protocol::WhichResult{"web", "", "none", "", false, "", 7, "5tuple", 3}) ==
          "web: dropped: the service has no usable backend\n");
    CHECK(render_which(protocol::WhichResult{"", "", "none", "", false, "", 0, "", 3}) ==
          "no service takes this flow: the forwarder passes it to the kernel\n");
    CHECK(render_purge({"web", "198.18.0.20", 1}) == "web 198.18.0.20: removed 1 connection-table entry\n");
    CHECK(render_purge({"web", "", 40}) == "web: removed 40 connection-table entries\n");
}

TEST_CASE("julierctl render: a reload's changes, one line each", "[cli][render]") {
    using protocol::ChangeInfo;
    const std::vector<ChangeInfo> changes{
        {"service_added", "api", "", "", "", "198.18.0.100:443/tcp", 0, 0, 0},
        {"service_removed", "old", "", "", "198.18.0.99:80/tcp", "", 0, 0, 0},
        {"service_changed", "web", "", "health.interval", "2s", "5s", 0, 0, 0},
        {"service_changed", "web", "", "health.http.host", "", "example.org", 0, 0, 0},
        {"backend_added", "web", "198.18.1.9", "", "", "weight 1 (pending)", 0, 0, 0},
        {"backend_removed", "web", "198.18.1.4", "", "", "", 0, 0, 0},
        {"backend_changed", "web", "198.18.1.2", "weight", "1", "3", 0, 0, 0},
        {"ring_moved", "web", "", "", "", "", 0.1243, 65537, 65537},
        {"ring_moved", "api", "", "", "", "", 0.00001, 65537, 65537},
        {"ring_moved", "dns", "", "", "", "", 0.75, 1009, 1013},
        {"ring_moved", "ntp", "", "", "", "", 1.0, 1009, 0},
        {"vip_announced", "", "", "", "", "198.18.0.101", 0, 0, 0},
        {"vip_withdrawn", "", "", "", "198.18.0.99", "", 0, 0, 0},
        {"interface_added", "", "", "eth1", "", "", 0, 0, 0},
        {"setting_changed", "", "", "flood_protection.new_flow_rate_per_cpu", "0", "1000", 0, 0, 0},
    };
    CHECK(render_changes(changes) ==
          "+ service api 198.18.0.100:443/tcp\n"
          "- service old 198.18.0.99:80/tcp\n"
          "~ service web health.interval 2s -> 5s\n"
          "~ service web health.http.host \"\" -> example.org\n"
          "+ backend web 198.18.1.9 weight 1 (pending)\n"
          "- backend web 198.18.1.4\n"
          "~ backend web 198.18.1.2 weight 1 -> 3\n"
          "ring web: 12.4% of slots move\n"
          "ring api: <0.1% of slots move\n"
          "ring dns: size 1009 -> 1013, every slot re-mapped: about 75.0% of new flows move\n"
          "ring ntp: now empty, new flows are dropped\n"
          "announce 198.18.0.101\n"
          "withdraw 198.18.0.99\n"
          "+ interface eth1\n"
          "~ flood_protection.new_flow_rate_per_cpu 0 -> 1000\n");
    CHECK(render_changes({}) == "no changes\n");
    const protocol::ReloadResult dry{4, 12, {}, true, {changes[6]}};
    CHECK(render_reload(dry) ==
          "dry run, nothing applied: running config generation 4, dataplane generation 12\n"
          "~ backend web 198.18.1.2 weight 1 -> 3\n");
}
