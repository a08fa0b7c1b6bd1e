// key=value log fields and log levels.
#include <catch2/catch.hpp>

#include "daemon/logging.h"

using julier::daemon::kv;
using julier::daemon::parse_log_level;

TEST_CASE("daemon logging: plain values stay bare, others are quoted", "[daemon][logging]") {
    CHECK(kv("198.18.0.20") == "198.18.0.20");
    CHECK(kv("web-1") == "web-1");
    CHECK(kv("") == "\"\"");
    CHECK(kv("connection refused") == "\"connection refused\"");
    CHECK(kv("a=b") == "\"a=b\"");
    CHECK(kv("say \"hi\"") == "\"say \\\"hi\\\"\"");
    CHECK(kv("back\\slash") == "\"back\\\\slash\"");
    CHECK(kv("two\nlines") == "\"two\\nlines\"");
    CHECK(kv(std::string("nul\0x", 5)) == "\"nul\\x00x\"");
    CHECK(kv("tab\there") == "\"tab\\x09here\"");
    CHECK(kv("caf\xc3\xa9") == "caf\xc3\xa9");  // UTF-8 passes through
}

TEST_CASE("daemon logging: levels", "[daemon][logging]") {
    CHECK(parse_log_level("debug") == spdlog::level::debug);
    CHECK(parse_log_level("warning") == spdlog::level::warn);
    CHECK(parse_log_level("warn") == spdlog::level::warn);
    CHECK(parse_log_level("error") == spdlog::level::err);
    CHECK(parse_log_level("off") == spdlog::level::off);
    CHECK_FALSE(parse_log_level("INFO"));
    CHECK_FALSE(parse_log_level("verbose"));
}
