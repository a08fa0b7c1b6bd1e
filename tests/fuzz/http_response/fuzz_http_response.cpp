// libFuzzer harness: any bytes as an HTTP check's response, as julierd reads it
// from a backend it does not trust.
//  - the parser never crashes, never keeps more body than its limit, and reports a
//    status only in 100-999 once the headers are complete;
//  - fed in pieces (cut where the input's first byte says) it reaches exactly the
//    verdict it reaches fed whole: the socket's read sizes cannot change a check.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "health/http_response.h"

using julier::health::HttpLimits;
using julier::health::HttpResponseParser;

namespace {

void require(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "invariant broken: %s\n", what);
        std::abort();
    }
}

struct Verdict {
    bool failed;
    std::string error;
    bool headers_complete;
    int status;
    bool body_complete;
    bool truncated;
    bool cut_short;
    std::string body;

    bool operator==(const Verdict&) const = default;
};

Verdict verdict_of(const HttpResponseParser& p) {
    return Verdict{p.failed(),        p.error(),          p.headers_complete(), p.status(),
                   p.body_complete(), p.body_truncated(), p.cut_short(),        p.body()};
}

void check(const HttpResponseParser& p, const HttpLimits& limits) {
    require(p.body().size() <= limits.max_body_bytes, "body kept past max_body_bytes");
    if (p.headers_complete() && !p.failed()) require(p.status() >= 100 && p.status() <= 999, "status out of range");
    if (p.body_truncated()) require(p.body().size() == limits.max_body_bytes, "truncated body not at the limit");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    // Two control bytes: the piece size, and small limits or the defaults.
    const std::size_t piece = 1 + data[0] % 17;
    HttpLimits limits;
    if (data[1] & 1) limits = HttpLimits{64 + data[1] * 4u, 16 + data[1] / 2u};
    const bool closes = (data[1] & 2) != 0;
    const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

    HttpResponseParser whole(limits);
    whole.feed(input);
    if (closes) whole.close();
    check(whole, limits);

    HttpResponseParser pieces(limits);
    for (std::size_t at = 0; at < input.size(); at += piece) pieces.feed(input.substr(at, piece));
    if (closes) pieces.close();
    check(pieces, limits);

    require(verdict_of(whole) == verdict_of(pieces), "fed in pieces, the parser reached another verdict");
    require(whole.bytes_seen() <= input.size(), "more bytes seen than fed");
    return 0;
}
