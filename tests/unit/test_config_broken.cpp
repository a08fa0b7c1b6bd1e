// Broken catalogues, one table row per kind of damage: each must yield a clear
// error (file:line:col where the damage has a place, the field, the bad value and
// what is allowed) and never a crash, a hang or an exception. Rows found by the
// catalogue fuzzer (tests/fuzz/config) are regression rows here.
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "config/yaml_tree.h"
#include "config_test_support.h"

using namespace julier::config;
using julier::config::testing::all_text;

namespace fs = std::filesystem;

namespace {

const std::string service_head =
    "interfaces: [eth0]\n"
    "services:\n"
    "  - name: web\n"
    "    vip: 198.19.0.1\n";

struct BrokenText {
    const char* name;
    std::string text;
    // The first error, rendered as "t.yaml:line:col: error: field: message", must
    // contain each of these.
    std::vector<std::string> says;
};

std::string nested(std::size_t depth, const std::string& open, const std::string& close) {
    std::string out = "interfaces: ";
    out.reserve(depth * (open.size() + close.size()) + 16);
    for (std::size_t i = 0; i < depth; ++i) out += open;
    for (std::size_t i = 0; i < depth; ++i) out += close;
    return out + "\n";
}

std::string first_error(const ParseResult& r) {
    for (const auto& d : r.diagnostics)
        if (d.severity == Severity::error) return d.to_string();
    return {};
}

fs::path temp_dir() {
    auto pattern = (fs::temp_directory_path() / "julier-broken-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    return pattern;
}

}  // namespace

TEST_CASE("broken catalogues: each gets a clear, located error", "[config][broken]") {
    const std::vector<BrokenText> table = {
        {"unclosed flow list", "interfaces: [eth0\nservices: []\n", {"t.yaml:2:", "YAML syntax"}},
        {"tab indentation", service_head + "\tport: 80\n", {"t.yaml:5:", "YAML syntax"}},
        // yaml-cpp ends a quote left open at the end of the file: the value is then wrong.
        {"unclosed quote", service_head + "    port: \"80\n", {"t.yaml:5:11", "services[0].port", "'80 '", "0-65535"}},
        {"a list where a mapping belongs",
         "interfaces: [eth0]\nservices: {name: web}\n",
         {"t.yaml:2:11", "services", "expected a list", "got a mapping"}},
        {"a mapping where a name belongs",
         "interfaces: [{name: [eth0]}]\nservices: []\n",
         {"t.yaml:1:21", "interfaces[0].name", "a list"}},
        {"a word where a number belongs",
         service_head + "    port: eighty\n    backends: [198.18.0.20]\n",
         {"t.yaml:5:11", "services[0].port", "'eighty'", "0-65535"}},
        {"2^64",
         service_head + "    port: 80\n    backends:\n      - {address: 198.18.0.20, weight: 18446744073709551616}\n",
         {"t.yaml:7:40", "services[0].backends[0].weight", "18446744073709551616", "0-1000000"}},
        {"2^64 - 1",
         service_head + "    port: 18446744073709551615\n    backends: [198.18.0.20]\n",
         {"t.yaml:5:11", "services[0].port", "18446744073709551615", "0-65535"}},
        {"a negative number",
         service_head + "    port: -1\n    backends: [198.18.0.20]\n",
         {"t.yaml:5:11", "services[0].port", "-1 is out of range", "0-65535"}},
        {"1e309",
         "interfaces: [eth0]\nlimits: {max_flows: 1e309}\nservices: []\n",
         {"t.yaml:2:21", "limits.max_flows", "'1e309'"}},
        {"a fraction",
         service_head + "    port: 80.5\n    backends: [198.18.0.20]\n",
         {"t.yaml:5:11", "services[0].port", "'80.5'", "0-65535"}},
        {"hex and octal are not numbers here",
         service_head + "    port: 0x50\n    backends: [198.18.0.20]\n",
         {"t.yaml:5:11", "services[0].port", "'0x50'"}},
        {"an address out of range",
         service_head + "    port: 80\n    backends: [198.18.0.256]\n",
         {"t.yaml:6:16", "services[0].backends[0]", "'198.18.0.256'"}},
        {"a NUL byte inside a quoted name",
         service_head + "    port: 80\n    backends: [198.18.0.20]\n" +
             "  - name: \"w\\0b\"\n    vip: 198.19.0.2\n    port: 80\n"
             "    backends: [198.18.0.20]\n",
         {"t.yaml:7:11", "services[1].name"}},
        {"a raw NUL byte in the text",
         std::string("interfaces: [eth0]\n\0services: []\n", 33),
         {"t.yaml:2:1: error: YAML syntax: control character 0x00 is not allowed"}},
        {"a NUL byte inside a value",
         std::string("interfaces: [et\0h0]\nservices: []\n", 32),
         {"t.yaml:1:16: error: YAML syntax: control character 0x00 is not allowed"}},
        {"an escape character", "interfaces: [eth0]\nservices: \x1b[31m\n", {"t.yaml:2:11", "control character 0x1b"}},
        {"invalid UTF-8",
         std::string("interfaces: [eth0]\nservices: \xc3\x28\xff\n"),
         {"t.yaml:2:11", "services", "expected a list"}},
        {"flow lists 100 000 deep", nested(100000, "[", "]"), {"t.yaml:1:", "YAML syntax: nested too deeply"}},
        {"flow mappings 100 000 deep", nested(100000, "{a: ", "}"), {"t.yaml:1:", "YAML syntax: nested too deeply"}},
        {"block lists 100 000 deep",
         "interfaces:\n" + nested(100000, "- ", "").substr(12),
         {"t.yaml:2:", "YAML syntax: nested too deeply"}},
        {"an alias to an undefined anchor",
         "interfaces: *nowhere\nservices: []\n",
         {"t.yaml:1:13", "YAML syntax", "anchor"}},
        {"two documents",
         "interfaces: [eth0]\nservices: []\n---\nservices: []\n",
         {"t.yaml:3:1", "only one YAML document"}},
        {"a document end and junk", "interfaces: [eth0]\n...\n  , x\n", {"t.yaml:3:3", "unexpected ','"}},
        {"whitespace only", " \n\t\n  \n", {"t.yaml: error: the file is empty"}},
        {"nothing at all", "", {"t.yaml: error: the file is empty"}},
        {"a scalar document", "just words\n", {"t.yaml:1:1", "the top level must be a mapping"}},
    };

    for (const auto& row : table) {
        SECTION(row.name) {
            const auto r = parse_catalogue_text(row.text, "t.yaml");
            INFO(all_text(r));
            CHECK_FALSE(r.ok());
            const auto error = first_error(r);
            for (const auto& piece : row.says) CHECK_THAT(error, Catch::Contains(piece));
        }
    }
}

TEST_CASE("broken catalogues: binary garbage is refused, whatever the bytes", "[config][broken]") {
    std::mt19937 random(1234);  // fixed: the same garbage every run
    for (int i = 0; i < 200; ++i) {
        std::string bytes(1 + random() % 4096, '\0');
        for (auto& b : bytes) b = static_cast<char>(random() & 0xff);
        const auto r = parse_catalogue_text(bytes, "t.yaml");
        INFO("garbage #" << i << ":\n" << all_text(r));
        CHECK_FALSE(r.ok());
        CHECK(r.errors() > 0);
    }
}

TEST_CASE("broken catalogues: 100 000 backends", "[config][broken]") {
    std::string text = "interfaces: [eth0]\n";
    const auto add_service = [&text] {
        text += "services:\n  - name: big\n    vip: 198.19.0.1\n    port: 80\n    ring_size: 200003\n    backends:\n";
        for (unsigned i = 0; i < 100000; ++i) {
            text += "      - 198.18." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) + "\n";
        }
    };

    SECTION("over the default limits: refused with the limit to raise") {
        add_service();
        const auto start = std::chrono::steady_clock::now();
        const auto r = parse_catalogue_text(text, "t.yaml");
        const auto took = std::chrono::steady_clock::now() - start;
        INFO(all_text(r));
        CHECK_FALSE(r.ok());
        CHECK_THAT(first_error(r),
                   Catch::StartsWith("t.yaml: error: limits.max_backends: 100000 backends are defined, more than "
                                     "max_backends 16384; set limits.max_backends to at least 100000 (") &&
                       Catch::EndsWith(" MiB more BPF map memory; a restart applies it, a reload does not)"));
        // Backends past 16 384 are counted, not read: the addresses in 198.18.0.0/16
        // repeat from 65 536 on, and no duplicate is reported.
        CHECK_THAT(all_text(r), !Catch::Contains("services[0].backends[65536]"));
        // Seconds, not minutes, even with the sanitizers on.
        CHECK(took < std::chrono::seconds(20));
    }

    SECTION("within raised limits: accepted") {
        text += "limits: {max_backends: 100000, ring_capacity: 200003}\n";
        text += "services:\n  - name: big\n    vip: 198.19.255.1\n    port: 80\n    ring_size: 200003\n    backends:\n";
        for (unsigned i = 0; i < 100000; ++i) {
            text += "      - 198." + std::to_string(18 + i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
                    std::to_string(i % 256) + "\n";
        }
        const auto start = std::chrono::steady_clock::now();
        const auto r = parse_catalogue_text(text, "t.yaml");
        const auto took = std::chrono::steady_clock::now() - start;
        INFO(all_text(r));
        REQUIRE(r.ok());
        CHECK(r.catalogue->services.at(0).backends.size() == 100000);
        CHECK(took < std::chrono::seconds(20));
    }
}

TEST_CASE("broken catalogue files: missing, not a file, looping, unreadable, huge", "[config][broken]") {
    const fs::path dir = temp_dir();
    struct Cleanup {
        fs::path dir;
        ~Cleanup() {
            std::error_code ignored;
            fs::permissions(dir / "locked.yaml", fs::perms::owner_all, ignored);
            fs::remove_all(dir, ignored);
        }
    } cleanup{dir};

    const auto message_of = [](const std::string& path) {
        const auto r = parse_catalogue_file(path);
        INFO(all_text(r));
        REQUIRE(r.diagnostics.size() == 1);
        CHECK_FALSE(r.ok());
        return r.diagnostics[0].to_string();
    };

    SECTION("missing") {
        const auto path = (dir / "missing.yaml").string();
        CHECK(message_of(path) == path + ": error: cannot read: No such file or directory");
    }
    SECTION("a directory") { CHECK(message_of(dir.string()) == dir.string() + ": error: cannot read: is a directory"); }
    SECTION("a FIFO without a writer: refused at once, not waited on") {
        const auto path = (dir / "fifo.yaml").string();
        REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
        CHECK(message_of(path) == path + ": error: cannot read: not a regular file");
    }
    SECTION("a symlink loop") {
        fs::create_symlink(dir / "b.yaml", dir / "a.yaml");
        fs::create_symlink(dir / "a.yaml", dir / "b.yaml");
        const auto path = (dir / "a.yaml").string();
        CHECK(message_of(path) == path + ": error: cannot read: Too many levels of symbolic links");
    }
    SECTION("a dangling symlink") {
        fs::create_symlink(dir / "gone.yaml", dir / "link.yaml");
        const auto path = (dir / "link.yaml").string();
        CHECK(message_of(path) == path + ": error: cannot read: No such file or directory");
    }
    SECTION("larger than any catalogue (sparse, 65 MiB)") {
        const auto path = (dir / "huge.yaml").string();
        { std::ofstream(path) << "interfaces: [eth0]\n"; }
        fs::resize_file(path, 65u << 20);
        CHECK(message_of(path) == path + ": error: larger than 64 MiB; not a catalogue");
    }
    SECTION("unreadable: mode 000, read by an unprivileged user") {
        const auto path = (dir / "locked.yaml").string();
        { std::ofstream(path) << "interfaces: [eth0]\nservices: []\n"; }
        fs::permissions(path, fs::perms::none);
        if (::geteuid() != 0) {
            CHECK(message_of(path) == path + ": error: cannot read: Permission denied");
        } else {
            // root reads anything: drop to nobody in a child and report through a pipe.
            fs::permissions(dir, fs::perms::owner_all | fs::perms::others_exec);
            const passwd* nobody = ::getpwnam("nobody");
            REQUIRE(nobody != nullptr);
            int fds[2];
            REQUIRE(::pipe(fds) == 0);
            const pid_t child = ::fork();
            REQUIRE(child >= 0);
            if (child == 0) {
                ::close(fds[0]);
                if (::setgid(nobody->pw_gid) != 0 || ::setuid(nobody->pw_uid) != 0) ::_exit(2);
                const auto r = parse_catalogue_file(path);
                const auto text = r.diagnostics.empty() ? std::string() : r.diagnostics[0].to_string();
                const bool written = ::write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size());
                ::_exit(written ? 0 : 3);
            }
            ::close(fds[1]);
            std::string text;
            char buf[512];
            for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<std::size_t>(n));
            ::close(fds[0]);
            int status = 0;
            REQUIRE(::waitpid(child, &status, 0) == child);
            CHECK(WIFEXITED(status));
            CHECK(WEXITSTATUS(status) == 0);
            CHECK(text == path + ": error: cannot read: Permission denied");
        }
    }
}

TEST_CASE("broken catalogues: YAML aliases cannot multiply a small file into millions of backends",
          "[config][broken]") {
    // 300 kB naming 20 000 services of 20 000 backends each: 400 000 000 backends
    // if read as written. The alias budget refuses it while the file is read.
    std::string text = "interfaces: [eth0]\nx-backends: &b [";
    for (unsigned i = 0; i < 20000; ++i)
        text +=
            (i ? ", " : "") + std::string("198.18.") + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256);
    text += "]\nx-service: &s {name: web, vip: 198.19.0.1, port: 80, backends: *b}\nservices: [";
    for (unsigned i = 0; i < 20000; ++i) text += i ? ", *s" : "*s";
    text += "]\n";

    // The list under &b is 20 001 values; *b in x-service repeats them once, and
    // each *s repeats the service: its mapping, 4 keys, 3 values and the list.
    const std::uint64_t list = 20001, service = 1 + 7 + list, budget = AliasBudget{}.nodes;
    const std::uint64_t refused = (budget - list) / service + 1;  // 1-based: the first *s past the budget
    const auto r = parse_catalogue_text(text, "t.yaml");
    REQUIRE_FALSE(r.ok());
    const auto error = first_error(r);
    CHECK_THAT(error, Catch::StartsWith("t.yaml:4:" + std::to_string(12 + 4 * (refused - 1)) + ": error: "));
    CHECK_THAT(error, Catch::Contains("YAML aliases repeat more than 1048576 values"));
}

TEST_CASE("broken catalogues: aliases of aliases of a long string are refused at the alias that goes too far",
          "[config][broken]") {
    // &a is 5 000 bytes, &b 500 of them (2.5 MB), and each *b in the last list
    // adds 2.5 MB more: the 16 MiB budget is gone at the sixth.
    std::string text = "interfaces: [eth0]\nx-a: &a \"" + std::string(5000, 'x') + "\"\nx-b: &b [";
    for (int i = 0; i < 500; ++i) text += i ? ", *a" : "*a";
    text += "]\nx-c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nservices: []\n";
    const auto r = parse_catalogue_text(text, "t.yaml");
    REQUIRE_FALSE(r.ok());
    const std::uint64_t per_b = 500 * 5000;  // also what the 500 *a inside &b added
    const std::uint64_t refused = ((std::uint64_t{16} << 20) - per_b) / per_b + 1;
    const auto error = first_error(r);
    CHECK_THAT(error, Catch::StartsWith("t.yaml:4:" + std::to_string(7 + 4 * (refused - 1)) + ": error: "));
    CHECK_THAT(error, Catch::Contains("YAML aliases repeat more than 16 MiB of text"));
}

TEST_CASE("broken catalogues: an alias inside the value it names is refused, not followed", "[config][broken]") {
    const auto r = parse_catalogue_text("interfaces: [eth0]\nx-loop: &l [a, [b, *l]]\nservices: []\n", "t.yaml");
    REQUIRE_FALSE(r.ok());
    const auto error = first_error(r);
    CHECK_THAT(error, Catch::StartsWith("t.yaml:2:20: error: "));
    CHECK_THAT(error, Catch::Contains("would contain itself"));
}

namespace {

// `count` services named s0, s1, ... each with one backend, after `head`.
std::string with_services(std::string head, unsigned count) {
    head += "services:\n";
    for (unsigned i = 0; i < count; ++i)
        head += "  - {name: s" + std::to_string(i) + ", vip: 198.19." + std::to_string(i / 250) + "." +
                std::to_string(i % 250 + 1) + ", port: 80, backends: [198.18.0.1]}\n";
    return head;
}

}  // namespace

TEST_CASE("broken catalogues: an exec command longer than exec can take is refused at the argument past it",
          "[config][broken]") {
    // 500 aliases of a 5 000-byte argument in defaults, inherited by 40 services:
    // 2.5 MB each, 100 MB in all if it were read.
    std::string head =
        "interfaces: [eth0]\ndefaults:\n  health:\n    kind: exec\n    exec:\n      command: [/bin/true, &x \"" +
        std::string(5000, 'x') + "\"";
    for (int i = 1; i < 500; ++i) head += ", *x";
    head += "]\n";
    const auto r = parse_catalogue_text(with_services(head, 40), "t.yaml");
    REQUIRE_FALSE(r.ok());
    // /bin/true and its NUL (10 bytes), then 5 001 bytes an argument: the 14th
    // argument (index 13) goes past 65 536.
    const std::size_t index = (65536 - 10) / 5001 + 1;
    const auto error = first_error(r);
    // An alias is placed where the value it names was written: after "/bin/true, ".
    CHECK_THAT(error,
               Catch::StartsWith("t.yaml:6:" + std::to_string(17 + 11) + ": error: defaults.health.exec.command[" +
                                 std::to_string(index) + "]: the arguments up to this one take " +
                                 std::to_string(10 + 5001 * index) + " bytes"));
}

TEST_CASE("broken catalogues: {address} counts at its longest in an exec command", "[config][broken]") {
    // 7 000 arguments of "{address}": 10 bytes each as written, 40 once filled in.
    std::string head =
        "interfaces: [eth0]\ndefaults:\n  health:\n    kind: exec\n    exec:\n      command: [/bin/check";
    for (int i = 0; i < 7000; ++i) head += ", \"{address}\"";
    head += "]\n";
    const auto r = parse_catalogue_text(with_services(head, 1), "t.yaml");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(first_error(r), Catch::Contains("once {address} and {port} are filled in"));

    std::string fits =
        "interfaces: [eth0]\ndefaults:\n  health:\n    kind: exec\n    exec:\n      command: [/bin/check";
    for (int i = 0; i < 1600; ++i) fits += ", \"{address}\"";  // 1 600 x 40 + 11 bytes
    fits += "]\n";
    const auto ok = parse_catalogue_text(with_services(fits, 1), "t.yaml");
    INFO(all_text(ok));
    CHECK(ok.ok());
}

TEST_CASE("broken catalogues: more communities than one BGP UPDATE carries are refused", "[config][broken]") {
    // 20 000 aliased communities in defaults.bgp over 40 services.
    std::string head = "interfaces: [eth0]\ndefaults:\n  bgp:\n    communities: [&c \"65000:100\"";
    for (int i = 1; i < 20000; ++i) head += ", *c";
    head += "]\n";
    const auto r = parse_catalogue_text(with_services(head, 40), "t.yaml");
    REQUIRE_FALSE(r.ok());
    const auto error = first_error(r);
    // The 1 001st, an alias, placed where "&c ..." was written, after "    communities: [".
    CHECK_THAT(error, Catch::StartsWith("t.yaml:4:19: error: defaults.bgp.communities[1000]: the communities up to "
                                        "this one take 4004 bytes"));

    std::string large = "interfaces: [eth0]\ndefaults:\n  bgp:\n    communities: [";
    for (int i = 0; i < 333; ++i) large += std::string(i ? ", " : "") + "\"65000:1:" + std::to_string(i) + "\"";
    large += "]\n";
    const auto fits = parse_catalogue_text(with_services(large, 1), "t.yaml");
    INFO(all_text(fits));
    CHECK(fits.ok());
}

TEST_CASE("broken catalogues: a long string in defaults cannot be copied into every service past the text budget",
          "[config][broken]") {
    // 60 KiB of expect_body, inherited by 1 200 services: 72 MB of text.
    const std::string head =
        "interfaces: [eth0]\nlimits: {max_services: 2048}\ndefaults:\n  ring_size: 13\n  health:\n    kind: http\n"
        "    http:\n      expect_body: \"" +
        std::string(60 * 1024, 'b') + "\"\n";
    const auto r = parse_catalogue_text(with_services(head, 1200), "t.yaml");
    REQUIRE_FALSE(r.ok());
    const auto error = first_error(r);
    CHECK_THAT(error, Catch::StartsWith("t.yaml:8:20: error: "));
    CHECK_THAT(error, Catch::Contains("64 MiB of text once defaults and YAML aliases are filled in"));
}

TEST_CASE("broken catalogues: strings longer than their field can use are refused", "[config][broken]") {
    const std::string base = "interfaces: [eth0]\ndefaults:\n  health:\n";
    const auto body = parse_catalogue_text(
        with_services(base + "    kind: http\n    http: {expect_body: \"" + std::string(65537, 'b') + "\"}\n", 1),
        "t.yaml");
    CHECK_THAT(first_error(body),
               Catch::Contains("defaults.health.http.expect_body: 65537 bytes, more than the 65536 allowed"));
    const auto payload = parse_catalogue_text(
        with_services(base + "    kind: udp\n    udp: {payload: \"" + std::string(65508, 'p') + "\"}\n", 1), "t.yaml");
    CHECK_THAT(first_error(payload), Catch::Contains("defaults.health.udp.payload: 65508 bytes, more than the 65507"));
    const auto at_limit = parse_catalogue_text(
        with_services(base + "    kind: udp\n    udp: {payload: \"" + std::string(65507, 'p') + "\"}\n", 1), "t.yaml");
    INFO(all_text(at_limit));
    CHECK(at_limit.ok());
}
