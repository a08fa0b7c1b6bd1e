#include "health/http_check.h"

#include <algorithm>
#include <cstdio>

#include "health/address.h"

namespace julier::health {

std::string http_host(const config::HttpCheck& check, const ProbeTarget& target, bool tls) {
    if (!check.host.empty()) return check.host;
    std::uint16_t default_port = tls ? 443 : 80;
    if (target.port == default_port)
        return target.address.is_v6() ? "[" + target.address.to_string() + "]" : target.address.to_string();
    return authority(target.address, target.port);
}

HttpRequest build_http_request(const config::HttpCheck& check, const ProbeTarget& target, bool tls) {
    HttpRequest request;
    std::string path = check.path.empty() ? "/" : check.path;
    std::string host = http_host(check, target, tls);
    auto unsafe = [](const std::string& text) {
        return std::any_of(text.begin(), text.end(),
                           [](char c) { return c == '\r' || c == '\n' || c == ' ' || c == '\t' || c == '\0'; });
    };
    if (unsafe(path)) {
        request.error = "health.http.path " + quoted(path) + " contains a blank or line break";
        return request;
    }
    if (unsafe(host)) {
        request.error = "health.http.host " + quoted(host) + " contains a blank or line break";
        return request;
    }
    request.text = "GET " + path +
                   " HTTP/1.1\r\n"
                   "Host: " +
                   host +
                   "\r\n"
                   "User-Agent: julier-health\r\n"
                   "Accept: */*\r\n"
                   "Connection: close\r\n"
                   "\r\n";
    return request;
}

HttpVerdict::HttpVerdict(const config::HttpCheck& check, HttpLimits limits)
    : expect_status_(check.expect_status), expect_body_(check.expect_body), limits_(limits), parser_(limits) {
    if (expect_status_.empty()) expect_status_.push_back(200);
}

std::optional<Result> HttpVerdict::feed(std::string_view data) {
    parser_.feed(data);
    return judge(false);
}

Result HttpVerdict::close() {
    parser_.close();
    auto verdict = judge(true);
    // judge(true) always decides; this is only a guard.
    return verdict ? *verdict : Result::fail(Failure::bad_response, "incomplete response");
}

std::optional<Result> HttpVerdict::judge(bool closed) {
    if (parser_.failed()) return Result::fail(Failure::bad_response, "malformed response: " + parser_.error());

    if (!parser_.headers_complete()) {
        if (!closed) return std::nullopt;
        if (parser_.bytes_seen() == 0) return Result::fail(Failure::reset, "connection closed without a response");
        return Result::fail(Failure::bad_response, "connection closed before the response headers were complete");
    }

    int status = parser_.status();
    if (std::find(expect_status_.begin(), expect_status_.end(), status) == expect_status_.end()) {
        std::string expected;
        for (auto code : expect_status_) expected += (expected.empty() ? "" : ", ") + std::to_string(code);
        return Result::fail(Failure::status, "status " + std::to_string(status) + " (expected " +
                                                 (expect_status_.size() > 1 ? "one of " : "") + expected + ")");
    }

    std::string passed = "status " + std::to_string(status);
    if (expect_body_.empty()) return Result::pass(passed);
    if (parser_.body().find(expect_body_) != std::string::npos) return Result::pass(passed + ", body matched");

    std::string missing = "body does not contain " + quoted(expect_body_);
    if (parser_.body_truncated())
        return Result::fail(Failure::body,
                            missing + " in its first " + std::to_string(limits_.max_body_bytes) + " bytes");
    if (parser_.body_complete()) return Result::fail(Failure::body, missing);
    if (closed) return Result::fail(Failure::body, missing + " (connection closed before the end of the body)");
    return std::nullopt;
}

std::string quoted(std::string_view text, std::size_t max_chars) {
    std::string out = "\"";
    std::size_t shown = 0;
    for (char c : text) {
        if (shown == max_chars) {
            out += "...";
            break;
        }
        auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (byte < 0x20 || byte >= 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", byte);
            out += hex;
        } else {
            out += c;
        }
        ++shown;
    }
    return out + "\"";
}

}  // namespace julier::health
