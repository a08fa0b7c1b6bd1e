// The control-socket protocol shared by julierd and julierctl.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "daemon/protocol.h"

namespace protocol = julier::daemon::protocol;
using nlohmann::json;
using protocol::Command;

namespace {

std::string error_of(const std::string& line) {
    auto decoded = protocol::decode_request(line);
    REQUIRE_FALSE(decoded.request);
    return decoded.error;
}

// Every typed payload with every field set to a value other than its default.
protocol::BackendInfo full_backend() {
    protocol::BackendInfo b;
    b.service = "web";
    b.address = "2001:db8::21";
    b.weight = 3;
    b.weight_now = 40;
    b.health = julier::health::State::up;
    b.health_reason = "probe answered";
    b.state = julier::plan::BackendRole::in_ring;
    b.drain_source = "operator";
    b.problem = "no ARP answer";
    b.packets = 5;
    b.bytes = 300;
    b.new_flows = 2;
    b.config_weight = 100;
    b.weight_source = "operator";
    b.state_source = "operator";
    return b;
}
protocol::Status full_status() {
    protocol::Status s;
    s.version = "1.2.3";
    s.pid = 42;
    s.uptime_seconds = 3601;
    s.config_file = "/etc/julier/julier.yaml";
    s.config_generation = 7;
    s.dataplane_generation = 11;
    s.last_reload = {"failed", 1700000000, "julier.yaml:3:5: error: x"};
    s.reload_failures = 2;
    s.pin_dir = "/sys/fs/bpf/julier";
    s.interfaces = {"eth0", "eth1"};
    s.interface_states = {{"eth0", true, 3, "re-attached"}, {"eth1", false, 0, "the interface does not exist"}};
    s.services = 3;
    s.backends = 9;
    s.adopted = true;
    s.bgp = true;
    s.bird_error = "no socket";
    s.announcements = {{"198.19.0.1", "hold-down", 2, 3, 12, 18, {"web"}}};
    s.bgp_sessions = {{"up1", "198.18.0.1", "Established"}};
    s.operator_overrides = {"web 198.18.0.21: weight 3, maint"};
    return s;
}
protocol::ServiceInfo full_service() {
    return {"web", "198.19.0.1", 80, "tcp", "l2", 65537, 3, 2, 10, 1000, 4, "keep", 5};
}

}  // namespace

TEST_CASE("control protocol: command names round trip", "[daemon][protocol]") {
    for (auto c : {Command::status, Command::services, Command::backends, Command::drain, Command::undrain,
                   Command::reload, Command::teardown, Command::flows, Command::which, Command::purge, Command::weight,
                   Command::maint, Command::ready}) {
        auto name = protocol::command_name(c);
        REQUIRE(protocol::command_from_name(name) == c);
    }
    CHECK(protocol::command_name(Command::undrain) == "undrain");
    CHECK_FALSE(protocol::command_from_name("Status"));
    CHECK_FALSE(protocol::command_from_name(""));
}

TEST_CASE("control protocol: requests encode to the documented JSON", "[daemon][protocol]") {
    CHECK(json::parse(protocol::encode_request({Command::status, "", ""})) == json{{"command", "status"}});
    CHECK(json::parse(protocol::encode_request({Command::backends, "", ""})) == json{{"command", "backends"}});
    CHECK(json::parse(protocol::encode_request({Command::backends, "web", ""})) ==
          json{{"command", "backends"}, {"service", "web"}});
    CHECK(json::parse(protocol::encode_request({Command::drain, "web", "198.18.0.20"})) ==
          json{{"command", "drain"}, {"service", "web"}, {"backend", "198.18.0.20"}});
    // Arguments a command does not take are not sent.
    CHECK(json::parse(protocol::encode_request({Command::reload, "web", "x"})) == json{{"command", "reload"}});
}

TEST_CASE("control protocol: every encoded request decodes to itself", "[daemon][protocol]") {
    const protocol::Request requests[] = {
        {Command::status, "", ""},
        {Command::services, "", ""},
        {Command::backends, "", ""},
        {Command::backends, "dns6", ""},
        {Command::drain, "web", "2001:db8::21"},
        {Command::undrain, "web", "198.18.0.20"},
        {Command::maint, "web", "198.18.0.20"},
        {Command::ready, "web", "2001:db8::21"},
        {Command::reload, "", ""},
        {Command::teardown, "", ""},
    };
    for (const auto& r : requests) {
        auto decoded = protocol::decode_request(protocol::encode_request(r));
        REQUIRE(decoded.request);
        CHECK(decoded.request->command == r.command);
        CHECK(decoded.request->service == r.service);
        CHECK(decoded.request->backend == r.backend);
    }
}

TEST_CASE("control protocol: teardown carries an optional grace in milliseconds", "[daemon][protocol]") {
    protocol::Request r{Command::teardown, "", ""};
    CHECK(json::parse(protocol::encode_request(r)) == json{{"command", "teardown"}});
    CHECK_FALSE(protocol::decode_request(protocol::encode_request(r)).request->grace_ms);
    for (std::uint32_t ms : {0u, 1500u, protocol::kMaxTeardownGraceMs}) {
        r.grace_ms = ms;
        CHECK(json::parse(protocol::encode_request(r)) == json{{"command", "teardown"}, {"grace_ms", ms}});
        CHECK(protocol::decode_request(protocol::encode_request(r)).request->grace_ms == ms);
    }
    CHECK(error_of(R"({"command":"teardown","grace_ms":600001})") ==
          "field 'grace_ms' must be an integer from 0 to 600000");
    CHECK(error_of(R"({"command":"teardown","grace_ms":-1})") ==
          "field 'grace_ms' must be an integer from 0 to 600000");
    CHECK(error_of(R"({"command":"teardown","grace_ms":"5s"})") ==
          "field 'grace_ms' must be an integer from 0 to 600000");
    CHECK(error_of(R"({"command":"reload","grace_ms":5})") == "command 'reload' takes no field 'grace_ms'");
}

TEST_CASE("control protocol: weight carries the weight to set", "[daemon][protocol]") {
    protocol::Request r{Command::weight, "web", "198.18.0.20"};
    for (std::uint32_t w : {0u, 3u, 4294967295u}) {
        r.weight = w;
        CHECK(json::parse(protocol::encode_request(r)) ==
              json{{"command", "weight"}, {"service", "web"}, {"backend", "198.18.0.20"}, {"weight", w}});
        CHECK(protocol::decode_request(protocol::encode_request(r)).request->weight == w);
    }
    CHECK(error_of(R"({"command":"weight","service":"web","backend":"198.18.0.20"})") ==
          "command 'weight' needs a 'weight'");
    CHECK(error_of(R"({"command":"weight","service":"web","backend":"198.18.0.20","weight":-1})") ==
          "field 'weight' must be a non-negative integer");
    CHECK(error_of(R"({"command":"weight","service":"web","backend":"198.18.0.20","weight":2.5})") ==
          "field 'weight' must be a non-negative integer");
    CHECK(error_of(R"({"command":"weight","service":"web","backend":"198.18.0.20","weight":4294967296})") ==
          "field 'weight' must be a non-negative integer");
    CHECK(error_of(R"({"command":"weight","service":"web","weight":5})") ==
          "command 'weight' needs a non-empty 'backend'");
    CHECK(error_of(R"({"command":"maint","service":"web","backend":"198.18.0.20","weight":5})") ==
          "command 'maint' takes no field 'weight'");
    CHECK(error_of(R"({"command":"ready","backend":"198.18.0.20"})") == "command 'ready' needs a non-empty 'service'");
    // A backend forced down by the operator travels as the state "maint".
    auto b = full_backend();
    b.state = julier::plan::BackendRole::maint;
    CHECK(json(b)["state"] == "maint");
    CHECK(json(b).get<protocol::BackendInfo>().state == julier::plan::BackendRole::maint);
}

TEST_CASE("control protocol: malformed requests are refused with a reason", "[daemon][protocol]") {
    CHECK(error_of("{nope") == "request is not valid JSON");
    CHECK(error_of("[1,2]") == "request must be a JSON object");
    CHECK(error_of("\"status\"") == "request must be a JSON object");
    CHECK(error_of("{}") == "request has no 'command' field");
    CHECK(error_of(R"({"command":7})") == "field 'command' must be a string");
    CHECK(error_of(R"({"command":"fly"})") ==
          "unknown command 'fly' (allowed: status, services, backends, drain, undrain, reload, teardown, flows, which, "
          "purge, weight, maint, ready)");
    CHECK(error_of(R"({"command":"status","service":"web"})") == "command 'status' takes no field 'service'");
    CHECK(error_of(R"({"command":"backends","backend":"1.2.3.4"})") == "command 'backends' takes no field 'backend'");
    CHECK(error_of(R"({"command":"drain","service":"web"})") == "command 'drain' needs a non-empty 'backend'");
    CHECK(error_of(R"({"command":"undrain","backend":"198.18.0.20"})") ==
          "command 'undrain' needs a non-empty 'service'");
    CHECK(error_of(R"({"command":"drain","service":"","backend":"198.18.0.20"})") ==
          "command 'drain' needs a non-empty 'service'");
    CHECK(error_of(R"({"command":"drain","service":["web"],"backend":"198.18.0.20"})") ==
          "field 'service' must be a string");
    CHECK(error_of(R"({"command":"backends","service":null})") == "field 'service' must be a string");
}

TEST_CASE("control protocol: the request size limit is 64 KiB", "[daemon][protocol]") {
    REQUIRE(protocol::kMaxLineBytes == 65536);
    const std::string body = R"({"command":"status"})";
    std::string at_limit = body + std::string(65536 - body.size(), ' ');  // JSON allows trailing blanks
    REQUIRE(at_limit.size() == 65536);
    CHECK(protocol::decode_request(at_limit).request);
    CHECK(error_of(at_limit + " ") == "request is 65537 bytes, over the limit of 65536");
}

TEST_CASE("control protocol: responses", "[daemon][protocol]") {
    SECTION("success carries the result") {
        auto line = protocol::encode_response(protocol::success(json{{"a", 1}}));
        CHECK(line.find('\n') == std::string::npos);
        CHECK(json::parse(line) == json{{"ok", true}, {"result", {{"a", 1}}}});
        auto back = protocol::decode_response(line);
        CHECK(back.ok);
        CHECK(back.result == json{{"a", 1}});
    }
    SECTION("failure carries the error and details") {
        auto line =
            protocol::encode_response(protocol::failure("reload failed", {"f:1:2: error: x", "f:3:4: error: y"}));
        CHECK(json::parse(line) ==
              json{{"ok", false}, {"error", "reload failed"}, {"details", {"f:1:2: error: x", "f:3:4: error: y"}}});
        auto back = protocol::decode_response(line);
        CHECK_FALSE(back.ok);
        CHECK(back.error == "reload failed");
        CHECK(back.details == std::vector<std::string>{"f:1:2: error: x", "f:3:4: error: y"});
    }
    SECTION("a failure without details has no details field") {
        CHECK(json::parse(protocol::encode_response(protocol::failure("no"))) == json{{"ok", false}, {"error", "no"}});
    }
    SECTION("invalid UTF-8 is replaced, not thrown") {
        auto line = protocol::encode_response(protocol::failure(std::string("bad \xff byte")));
        CHECK(json::parse(line)["error"] == "bad \xef\xbf\xbd byte");
    }
    SECTION("garbage from the daemon becomes a failure that says so") {
        CHECK(protocol::decode_response("oops").error == "the daemon sent a response that is not a JSON object");
        CHECK(protocol::decode_response(R"({"ok":"yes"})").error ==
              "the daemon sent a response without a boolean 'ok'");
        CHECK(protocol::decode_response(R"({"ok":false})").error == "unspecified error");
        // Found by the control fuzzer: an empty error read as no message at all,
        // and an error of another type threw instead of becoming a failure.
        CHECK(protocol::decode_response(R"({"ok":false,"error":""})").error == "unspecified error");
        CHECK(protocol::decode_response(R"({"ok":false,"error":5})").error == "unspecified error");
        CHECK(protocol::decode_response(R"({"ok":false,"error":["x"],"details":"y"})").error == "unspecified error");
    }
}

TEST_CASE("control protocol: typed payloads round trip and tolerate missing fields", "[daemon][protocol]") {
    const json j = full_status();
    CHECK(j["dataplane_generation"] == 11);
    CHECK(j["last_reload"]["error"] == "julier.yaml:3:5: error: x");
    const auto back = j.get<protocol::Status>();
    CHECK(back.version == "1.2.3");
    CHECK(back.pid == 42);
    CHECK(back.config_generation == 7);
    CHECK(back.last_reload.result == "failed");
    CHECK(back.last_reload.unix_time == 1700000000);
    CHECK(back.interfaces == std::vector<std::string>{"eth0", "eth1"});
    REQUIRE(back.interface_states.size() == 2);
    CHECK(back.interface_states[0].name == "eth0");
    CHECK(back.interface_states[0].attached);
    CHECK(back.interface_states[0].reattached == 3);
    CHECK_FALSE(back.interface_states[1].attached);
    CHECK(back.interface_states[1].note == "the interface does not exist");
    CHECK(back.adopted);

    // An older daemon that does not send a field leaves the default.
    const auto partial = json{{"name", "web"}, {"port", 80}}.get<protocol::ServiceInfo>();
    CHECK(partial.name == "web");
    CHECK(partial.port == 80);
    CHECK(partial.ring_size == 0);
    CHECK(partial.vip.empty());

    const protocol::BackendInfo b = full_backend();
    protocol::DrainResult d{true, b};
    const auto d2 = json(d).get<protocol::DrainResult>();
    CHECK(d2.changed);
    CHECK(d2.backend.address == "2001:db8::21");
    CHECK(d2.backend.weight_now == 40);
    CHECK(d2.backend.bytes == 300);
    // The verdict and the state travel as the operator's words, and come back typed.
    CHECK(json(b)["health"] == "up");
    CHECK(json(b)["state"] == "active");
    CHECK(d2.backend.health == julier::health::State::up);
    CHECK(d2.backend.state == julier::plan::BackendRole::in_ring);
    CHECK(json(protocol::BackendInfo{})["state"] == "down");

    protocol::TeardownResult t{{"eth0"}, "/sys/fs/bpf/julier"};
    CHECK(json(t) == json{{"detached", {"eth0"}}, {"pin_dir", "/sys/fs/bpf/julier"}});
}

TEST_CASE("control protocol: numbers that do not fit a field are refused, not cast", "[daemon][protocol]") {
    // Found by the control fuzzer: a weight of 1e107 was cast to uint32_t
    // (undefined behaviour); julierctl now reports the answer as unexpected.
    for (const char* bad :
         {R"({"weight":1e107})", R"({"weight":4294967296})", R"({"weight":-1})", R"({"weight":1.5})",
          R"({"weight":"100"})", R"({"health":"sideways"})", R"({"state":"in_ring"})", R"({"state":3})"}) {
        INFO(bad);
        CHECK_THROWS_AS(json::parse(bad).get<protocol::BackendInfo>(), json::type_error);
    }
    CHECK_THROWS_AS(json::parse(R"({"port":70000})").get<protocol::ServiceInfo>(), json::type_error);
    CHECK(json::parse(R"({"weight":4294967295})").get<protocol::BackendInfo>().weight == 4294967295u);
    CHECK(json::parse(R"({"unix_time":-5})").get<protocol::LastReload>().unix_time == -5);
}

TEST_CASE("control protocol: every payload field is on the wire, byte for byte as julierctl reads it",
          "[daemon][protocol]") {
    // The expected lines are what this release's julierd sends and julierctl parses.
    const protocol::Status status = full_status();
    CHECK(
        json(status).dump() ==
        R"({"adopted":true,"announcements":[{"announce_in_seconds":18,"needed":3,"seconds_in_state":12,"services":["web"],"state":"hold-down","usable":2,"vip":"198.19.0.1"}],"backends":9,"bgp":true,"bgp_sessions":[{"neighbour":"198.18.0.1","protocol":"up1","state":"Established"}],"bird_error":"no socket","config_file":"/etc/julier/julier.yaml","config_generation":7,"dataplane_generation":11,"interface_states":[{"attached":true,"name":"eth0","note":"re-attached","reattached":3},{"attached":false,"name":"eth1","note":"the interface does not exist","reattached":0}],"interfaces":["eth0","eth1"],"last_reload":{"error":"julier.yaml:3:5: error: x","result":"failed","unix_time":1700000000},"operator_overrides":["web 198.18.0.21: weight 3, maint"],"pid":42,"pin_dir":"/sys/fs/bpf/julier","reload_failures":2,"services":3,"uptime_seconds":3601,"version":"1.2.3"})");
    CHECK(
        json(full_service()).dump() ==
        R"({"backends":3,"backends_in_ring":2,"bytes":1000,"forwarding":"l2","name":"web","new_flows":4,"nonsyn_miss":5,"packets":10,"port":80,"protocol":"tcp","ring_size":65537,"vip":"198.19.0.1","when_all_down":"keep"})");
    CHECK(
        json(full_backend()).dump() ==
        R"({"address":"2001:db8::21","bytes":300,"config_weight":100,"drain_source":"operator","health":"up","health_reason":"probe answered","new_flows":2,"packets":5,"problem":"no ARP answer","service":"web","state":"active","state_source":"operator","weight":3,"weight_now":40,"weight_source":"operator"})");
    CHECK(json(protocol::ReloadResult{8, 12, {"w1"}, false, {}}).dump() ==
          R"({"changes":[],"config_generation":8,"dataplane_generation":12,"dry_run":false,"warnings":["w1"]})");
    const protocol::ReloadResult dry{8, 12, {}, true, {{"ring_moved", "web", "", "", "", "", 0.25, 101, 101}}};
    CHECK(
        json(dry).dump() ==
        R"({"changes":[{"backend":"","field":"","from":"","kind":"ring_moved","moved":0.25,"new_size":101,"old_size":101,"service":"web","to":""}],"config_generation":8,"dataplane_generation":12,"dry_run":true,"warnings":[]})");
    CHECK(json(json(dry).get<protocol::ReloadResult>()) == json(dry));
    CHECK(
        json(protocol::DrainResult{true, full_backend()}).dump() ==
        R"({"backend":{"address":"2001:db8::21","bytes":300,"config_weight":100,"drain_source":"operator","health":"up","health_reason":"probe answered","new_flows":2,"packets":5,"problem":"no ARP answer","service":"web","state":"active","state_source":"operator","weight":3,"weight_now":40,"weight_source":"operator"},"changed":true})");
    CHECK(json(protocol::TeardownResult{{"eth0"}, "/sys/fs/bpf/julier"}).dump() ==
          R"({"detached":["eth0"],"pin_dir":"/sys/fs/bpf/julier"})");

    // Reading a line back gives the same message: every field is read under the name it is written.
    CHECK(json(json::parse(json(status).dump()).get<protocol::Status>()) == json(status));
    CHECK(json(json(full_service()).get<protocol::ServiceInfo>()) == json(full_service()));
    const protocol::DrainResult drain{true, full_backend()};
    CHECK(json(json(drain).get<protocol::DrainResult>()) == json(drain));
    const protocol::ReloadResult reload{8, 12, {"w1"}, false, {}};
    CHECK(json(json(reload).get<protocol::ReloadResult>()) == json(reload));
}

TEST_CASE("control protocol: a null field keeps its default", "[daemon][protocol]") {
    const auto b = json::parse(R"({"address":null,"weight":null,"service":"web"})").get<protocol::BackendInfo>();
    CHECK(b.address.empty());
    CHECK(b.weight == 0);
    CHECK(b.service == "web");
    CHECK(json::parse(R"({"when_all_down":null})").get<protocol::ServiceInfo>().when_all_down == "drop");
}

namespace {

protocol::Request flows_request(std::string service, std::string backend, bool list, std::uint32_t limit,
                                std::string after) {
    protocol::Request r{Command::flows, std::move(service), std::move(backend)};
    r.list = list;
    r.limit = limit;
    r.after = std::move(after);
    return r;
}

protocol::Request which_request(std::string proto, std::string client, std::string vip) {
    protocol::Request r{Command::which, "", ""};
    r.protocol = std::move(proto);
    r.client = std::move(client);
    r.vip = std::move(vip);
    return r;
}

}  // namespace

TEST_CASE("control protocol: flows, which and purge requests", "[daemon][protocol]") {
    CHECK(json::parse(protocol::encode_request(flows_request("", "", false, 0, ""))) == json{{"command", "flows"}});
    CHECK(json::parse(protocol::encode_request(flows_request("web", "198.18.0.20", true, 50, "b7.2"))) ==
          json{{"command", "flows"},
               {"service", "web"},
               {"backend", "198.18.0.20"},
               {"list", true},
               {"limit", 50},
               {"after", "b7.2"}});
    CHECK(json::parse(protocol::encode_request(which_request("tcp", "198.18.0.10:4000", "198.19.0.1:80"))) ==
          json{{"command", "which"}, {"protocol", "tcp"}, {"client", "198.18.0.10:4000"}, {"vip", "198.19.0.1:80"}});
    CHECK(json::parse(protocol::encode_request({Command::purge, "web", ""})) ==
          json{{"command", "purge"}, {"service", "web"}});
    // Fields another command takes are not sent.
    auto drain = flows_request("web", "198.18.0.20", true, 5, "x");
    drain.command = Command::drain;
    CHECK(json::parse(protocol::encode_request(drain)) ==
          json{{"command", "drain"}, {"service", "web"}, {"backend", "198.18.0.20"}});

    const protocol::Request requests[] = {
        flows_request("", "", false, 0, ""),
        flows_request("web", "", true, 1000, ""),
        flows_request("web", "2001:db8::21", true, 1, "start.3"),
        which_request("udp", "[2001:db8::10]:53000", "[2001:db8:1::1]:53"),
        {Command::purge, "web", "198.18.0.20"},
        {Command::purge, "web", ""},
    };
    for (const auto& r : requests) {
        auto decoded = protocol::decode_request(protocol::encode_request(r));
        REQUIRE(decoded.request);
        CHECK(decoded.request->command == r.command);
        CHECK(decoded.request->service == r.service);
        CHECK(decoded.request->backend == r.backend);
        CHECK(decoded.request->list == r.list);
        CHECK(decoded.request->limit == r.limit);
        CHECK(decoded.request->after == r.after);
        CHECK(decoded.request->protocol == r.protocol);
        CHECK(decoded.request->client == r.client);
        CHECK(decoded.request->vip == r.vip);
    }
}

TEST_CASE("control protocol: flows, which and purge refuse what they do not take", "[daemon][protocol]") {
    CHECK(error_of(R"({"command":"flows","client":"1.2.3.4:5"})") == "command 'flows' takes no field 'client'");
    CHECK(error_of(R"({"command":"backends","list":true})") == "command 'backends' takes no field 'list'");
    CHECK(error_of(R"({"command":"flows","backend":"198.18.0.20"})") ==
          "command 'flows' needs a 'service' with a 'backend'");
    CHECK(error_of(R"({"command":"flows","limit":5})") == "fields 'limit' and 'after' of command 'flows' need 'list'");
    CHECK(error_of(R"({"command":"flows","list":true,"limit":0})") ==
          "field 'limit' must be an integer from 1 to 1000");
    CHECK(error_of(R"({"command":"flows","list":true,"limit":1001})") ==
          "field 'limit' must be an integer from 1 to 1000");
    CHECK(error_of(R"({"command":"flows","list":true,"limit":"5"})") ==
          "field 'limit' must be an integer from 1 to 1000");
    CHECK(error_of(R"({"command":"flows","list":1})") == "field 'list' must be true or false");
    CHECK(error_of(R"({"command":"flows","list":true,"after":"nonsense"})") ==
          "field 'after' is not a cursor julierd gave out: 'nonsense'");
    CHECK(error_of(R"({"command":"which","protocol":"tcp","client":"198.18.0.10:1"})") ==
          "command 'which' needs a non-empty 'vip'");
    CHECK(error_of(R"({"command":"which","protocol":"icmp","client":"198.18.0.10:1","vip":"198.19.0.1:80"})") ==
          "field 'protocol' must be 'tcp' or 'udp', not 'icmp'");
    CHECK(error_of(R"({"command":"which","protocol":"tcp","client":"2001:db8::10:1","vip":"198.19.0.1:80"})") ==
          "field 'client' is not ADDRESS:PORT: '2001:db8::10:1'");
    CHECK(error_of(R"({"command":"which","protocol":"tcp","client":"198.18.0.10:1","vip":"198.19.0.1"})") ==
          "field 'vip' is not ADDRESS:PORT: '198.19.0.1'");
    CHECK(error_of(R"({"command":"which","protocol":"tcp","client":"[2001:db8::10]:1","vip":"198.19.0.1:80"})") ==
          "fields 'client' and 'vip' must be of one address family");
    CHECK(error_of(R"({"command":"purge"})") == "command 'purge' needs a non-empty 'service'");
    CHECK(error_of(R"({"command":"purge","service":"web","list":true})") == "command 'purge' takes no field 'list'");
}

TEST_CASE("control protocol: the connection-table payloads are on the wire as julierctl reads them",
          "[daemon][protocol]") {
    protocol::FlowsResult counts;
    counts.services = {{"web", "198.19.0.1", 80, "tcp", 7}};
    counts.backends = {{"web", "198.18.0.20", julier::plan::BackendRole::draining, 7}};
    counts.entries = 9;
    counts.unplanned = 2;
    counts.max_flows = 65536;
    CHECK(
        json(counts).dump() ==
        R"({"backends":[{"backend":"198.18.0.20","flows":7,"service":"web","state":"drain"}],"entries":9,"max_flows":65536,"services":[{"flows":7,"port":80,"protocol":"tcp","service":"web","vip":"198.19.0.1"}],"unplanned":2})");
    CHECK(json(json(counts).get<protocol::FlowsResult>()) == json(counts));

    protocol::FlowList list{
        {{"tcp", "198.18.0.10:40000", "198.19.0.1:80", "web", "198.18.0.20", 12, "established"}}, "b3.1", 40};
    CHECK(
        json(list).dump() ==
        R"({"flows":[{"backend":"198.18.0.20","client":"198.18.0.10:40000","idle_seconds":12,"protocol":"tcp","service":"web","state":"established","vip":"198.19.0.1:80"}],"next":"b3.1","scanned":40})");
    CHECK(json(json(list).get<protocol::FlowList>()) == json(list));

    protocol::WhichResult which{"web",    "198.18.0.20", "entry", "198.18.0.20", true, "198.18.0.21",
                                0xabcdef, "source",      4};
    CHECK(
        json(which).dump() ==
        R"({"backend":"198.18.0.20","chosen_by":"entry","dataplane_generation":4,"entry_backend":"198.18.0.20","entry_kept":true,"hash":11259375,"hash_input":"source","ring_backend":"198.18.0.21","service":"web"})");
    CHECK(json(json(which).get<protocol::WhichResult>()) == json(which));

    const protocol::PurgeResult purge{"web", "198.18.0.20", 3};
    CHECK(json(purge).dump() == R"({"backend":"198.18.0.20","removed":3,"service":"web"})");
    CHECK(json(json(purge).get<protocol::PurgeResult>()) == json(purge));
}

TEST_CASE("control protocol: reload takes dry_run, and a file only with it", "[daemon][protocol]") {
    protocol::Request r;
    r.command = Command::reload;
    CHECK(json::parse(protocol::encode_request(r)) == json{{"command", "reload"}});
    CHECK_FALSE(protocol::decode_request(protocol::encode_request(r)).request->dry_run);
    r.dry_run = true;
    CHECK(json::parse(protocol::encode_request(r)) == json{{"command", "reload"}, {"dry_run", true}});
    r.file = "/etc/julier/next.yaml";
    CHECK(json::parse(protocol::encode_request(r)) ==
          json{{"command", "reload"}, {"dry_run", true}, {"file", "/etc/julier/next.yaml"}});
    const auto back = protocol::decode_request(protocol::encode_request(r)).request;
    REQUIRE(back);
    CHECK(back->dry_run);
    CHECK(back->file == "/etc/julier/next.yaml");

    CHECK(error_of(R"({"command":"reload","dry_run":"yes"})") == "field 'dry_run' must be true or false");
    CHECK(error_of(R"({"command":"reload","dry_run":1})") == "field 'dry_run' must be true or false");
    CHECK(error_of(R"({"command":"reload","file":"/etc/julier/next.yaml"})") ==
          "field 'file' of command 'reload' needs 'dry_run'");
    CHECK(error_of(R"({"command":"reload","dry_run":false,"file":"/x.yaml"})") ==
          "field 'file' of command 'reload' needs 'dry_run'");
    CHECK(error_of(R"({"command":"reload","dry_run":true,"file":"next.yaml"})") ==
          "field 'file' must be an absolute path, not 'next.yaml'");
    CHECK(error_of(R"({"command":"reload","dry_run":true,"file":7})") == "field 'file' must be a string");
    CHECK(error_of(R"({"command":"status","dry_run":true})") == "command 'status' takes no field 'dry_run'");
    CHECK(error_of(R"({"command":"drain","service":"web","backend":"198.18.0.1","file":"/x"})") ==
          "command 'drain' takes no field 'file'");
}
