// The HTTP response parser and the http check's verdict, without sockets.
#include <catch2/catch.hpp>

#include <string>

#include "health/http_check.h"
#include "health/http_response.h"

using namespace julier::health;

namespace {

// Feeds `text` in pieces of `piece` bytes.
void feed_in_pieces(HttpResponseParser& parser, const std::string& text, std::size_t piece) {
    for (std::size_t at = 0; at < text.size(); at += piece) parser.feed(std::string_view(text).substr(at, piece));
}

ProbeTarget target(const char* address, std::uint16_t port) {
    return ProbeTarget{boost::asio::ip::make_address(address), port};
}

}  // namespace

TEST_CASE("health: parses a Content-Length response however it is split", "[health]") {
    const std::string text = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
    for (std::size_t piece : {1u, 2u, 7u, 1000u}) {
        CAPTURE(piece);
        HttpResponseParser parser;
        feed_in_pieces(parser, text, piece);
        REQUIRE_FALSE(parser.failed());
        CHECK(parser.headers_complete());
        CHECK(parser.status() == 200);
        CHECK(parser.header("content-type") == std::optional<std::string_view>("text/plain"));
        CHECK(parser.body_complete());
        CHECK(parser.body() == "hello");
    }
}

TEST_CASE("health: decodes chunked bodies with extensions and trailers", "[health]") {
    const std::string text =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4;name=value\r\nWiki\r\n"
        "6\r\npedia \r\n"
        "E\r\nin \r\n\r\nchunks.\r\n"
        "0\r\nExpires: never\r\n\r\n";
    for (std::size_t piece : {1u, 3u, 1000u}) {
        CAPTURE(piece);
        HttpResponseParser parser;
        feed_in_pieces(parser, text, piece);
        REQUIRE_FALSE(parser.failed());
        CHECK(parser.body_complete());
        CHECK(parser.body() == "Wikipedia in \r\n\r\nchunks.");
    }
}

TEST_CASE("health: a body without length ends with the connection", "[health]") {
    HttpResponseParser parser;
    parser.feed("HTTP/1.0 200 OK\nServer: old\n\nsome ");
    parser.feed("text");
    CHECK(parser.headers_complete());
    CHECK_FALSE(parser.body_complete());
    parser.close();
    CHECK(parser.body_complete());
    CHECK_FALSE(parser.cut_short());
    CHECK(parser.body() == "some text");
}

TEST_CASE("health: interim 1xx responses are skipped", "[health]") {
    HttpResponseParser parser;
    parser.feed(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n");
    REQUIRE_FALSE(parser.failed());
    CHECK(parser.status() == 204);
    CHECK(parser.body_complete());
    CHECK(parser.body().empty());
}

TEST_CASE("health: malformed and oversized responses are refused", "[health]") {
    SECTION("not HTTP") {
        HttpResponseParser parser;
        parser.feed("SSH-2.0-OpenSSH_9.2\r\n\r\n");
        CHECK(parser.failed());
        CHECK(parser.error() == "malformed status line \"SSH-2.0-OpenSSH_9.2\"");
    }
    SECTION("status out of range") {
        HttpResponseParser parser;
        parser.feed("HTTP/1.1 999 Nope\r\n\r\n");
        CHECK(parser.failed());
    }
    SECTION("header line without colon") {
        HttpResponseParser parser;
        parser.feed("HTTP/1.1 200 OK\r\nBroken header\r\n\r\n");
        CHECK(parser.error() == "malformed header line \"Broken header\"");
    }
    SECTION("conflicting lengths") {
        HttpResponseParser parser;
        parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n");
        CHECK(parser.error() == "invalid Content-Length \"5\"");
    }
    SECTION("bad chunk size") {
        HttpResponseParser parser;
        parser.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
        CHECK(parser.error() == "malformed chunk size \"zz\"");
    }
    SECTION("headers past the limit") {
        HttpResponseParser parser(HttpLimits{64, 64});
        parser.feed("HTTP/1.1 200 OK\r\nX-Padding: " + std::string(100, 'x') + "\r\n\r\n");
        CHECK(parser.error() == "response headers exceed 64 bytes");
    }
}

TEST_CASE("health: only the first max_body_bytes of a body are kept", "[health]") {
    HttpResponseParser parser(HttpLimits{1024, 10});
    parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz");
    CHECK(parser.body_truncated());
    CHECK(parser.body() == "abcdefghij");
    CHECK(parser.body_complete());
}

TEST_CASE("health: a response cut short is noticed", "[health]") {
    HttpResponseParser parser;
    parser.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    parser.close();
    CHECK(parser.cut_short());
    CHECK_FALSE(parser.body_complete());
}

TEST_CASE("health: the request names path and host and asks to close", "[health]") {
    julier::config::HttpCheck check;
    check.path = "/healthz?full=1";
    CHECK(build_http_request(check, target("198.18.0.7", 8080), false).text ==
          "GET /healthz?full=1 HTTP/1.1\r\nHost: 198.18.0.7:8080\r\nUser-Agent: julier-health\r\n"
          "Accept: */*\r\nConnection: close\r\n\r\n");
    CHECK(http_host(check, target("198.18.0.7", 80), false) == "198.18.0.7");
    CHECK(http_host(check, target("198.18.0.7", 443), true) == "198.18.0.7");
    CHECK(http_host(check, target("198.18.0.7", 443), false) == "198.18.0.7:443");
    CHECK(http_host(check, target("2001:db8::7", 8080), false) == "[2001:db8::7]:8080");
    CHECK(http_host(check, target("2001:db8::7", 80), false) == "[2001:db8::7]");
    check.host = "www.example.org";
    CHECK(http_host(check, target("198.18.0.7", 8080), false) == "www.example.org");

    check.path = "/x HTTP/1.1\r\nEvil: 1";
    auto bad = build_http_request(check, target("198.18.0.7", 80), false);
    CHECK(bad.text.empty());
    CHECK(bad.error.find("health.http.path") != std::string::npos);
}

TEST_CASE("health: the verdict checks status and body", "[health]") {
    julier::config::HttpCheck check;
    SECTION("expected status passes as soon as the head is in") {
        HttpVerdict verdict(check);
        auto result = verdict.feed("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
        REQUIRE(result);
        CHECK(result->ok);
        CHECK(result->reason == "status 200");
    }
    SECTION("other status fails with what was expected") {
        check.expect_status = {200, 204};
        HttpVerdict verdict(check);
        auto result = verdict.feed("HTTP/1.1 503 Service Unavailable\r\n\r\n");
        REQUIRE(result);
        CHECK_FALSE(result->ok);
        CHECK(result->failure == Failure::status);
        CHECK(result->reason == "status 503 (expected one of 200, 204)");
    }
    SECTION("body substring found across pieces") {
        check.expect_body = "\"status\":\"up\"";
        HttpVerdict verdict(check);
        CHECK_FALSE(verdict.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\n{\"status"));
        auto result = verdict.feed("\"\r\n5\r\n:\"up\"\r\n");
        REQUIRE(result);
        CHECK(result->ok);
        CHECK(result->reason == "status 200, body matched");
    }
    SECTION("body without the substring") {
        check.expect_body = "ready";
        HttpVerdict verdict(check);
        auto result = verdict.feed("HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nstarting");
        REQUIRE(result);
        CHECK(result->failure == Failure::body);
        CHECK(result->reason == "body does not contain \"ready\"");
    }
    SECTION("connection closed before any answer") {
        HttpVerdict verdict(check);
        Result result = verdict.close();
        CHECK(result.failure == Failure::reset);
        CHECK(result.reason == "connection closed without a response");
    }
}

TEST_CASE("health: reasons quote untrusted text safely", "[health]") {
    CHECK(quoted("ok") == "\"ok\"");
    CHECK(quoted("a\"b\\c\r\n\x01") == "\"a\\\"b\\\\c\\r\\n\\x01\"");
    CHECK(quoted("abcdef", 3) == "\"abc...\"");
}
