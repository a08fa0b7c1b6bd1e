// The http/https check without the transport: the request to send, and the
// verdict on the response bytes as they arrive. Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/catalogue.h"
#include "health/http_response.h"
#include "health/probe.h"

namespace julier::health {

// The Host header: check.host, else the backend address; with ":port" unless the
// port is the scheme's default.
std::string http_host(const config::HttpCheck& check, const ProbeTarget& target, bool tls);

struct HttpRequest {
    std::string text;   // the request bytes, when error is empty
    std::string error;  // why no request can be built (a CR or LF in the path, ...)
};

// "GET <path> HTTP/1.1" with Host, User-Agent, Accept and "Connection: close".
HttpRequest build_http_request(const config::HttpCheck& check, const ProbeTarget& target, bool tls);

// Judges a response as it arrives: the status must be one of expect_status and,
// when expect_body is set, the body (de-chunked, within the body limit) must
// contain it. A verdict is given as soon as it is certain, so a passing check does
// not wait for a long body.
class HttpVerdict {
public:
    explicit HttpVerdict(const config::HttpCheck& check, HttpLimits limits = {});

    // The next bytes of the response; returns the verdict once there is one.
    std::optional<Result> feed(std::string_view data);
    // The connection ended (EOF); always gives a verdict.
    Result close();

    const HttpResponseParser& parser() const { return parser_; }

private:
    std::optional<Result> judge(bool closed);

    std::vector<std::uint16_t> expect_status_;
    std::string expect_body_;
    HttpLimits limits_;
    HttpResponseParser parser_;
};

// Printable, quoted and shortened text for a reason: "\"ok\\r\\n\"".
std::string quoted(std::string_view text, std::size_t max_chars = 64);

}  // namespace julier::health
