// An incremental HTTP/1.x response parser: status line, headers, and a body framed
// by Content-Length, chunked encoding or the end of the connection. Bounded: it
// refuses oversized headers and keeps at most a fixed number of body bytes. Pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace julier::health {

struct HttpLimits {
    std::size_t max_header_bytes = 16 * 1024;  // status line + headers
    std::size_t max_body_bytes = 64 * 1024;    // body kept for matching; the rest is dropped
};

class HttpResponseParser {
public:
    explicit HttpResponseParser(HttpLimits limits = {}) : limits_(limits) {}

    // Consumes the next bytes from the connection. Returns false once the response
    // is malformed (error() says how); later input is ignored.
    bool feed(std::string_view data);
    // The connection ended. A response framed by the close is then complete.
    void close();

    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }

    bool headers_complete() const { return phase_ > Phase::head; }
    int status() const { return status_; }  // once headers_complete()
    // Header value by case-insensitive name (the first one if repeated).
    std::optional<std::string_view> header(std::string_view name) const;

    // The whole body has been seen (a response without a body counts).
    bool body_complete() const { return phase_ == Phase::done; }
    // The body went past max_body_bytes: body() holds its start only.
    bool body_truncated() const { return truncated_; }
    // The connection closed before the end of the response.
    bool cut_short() const { return cut_short_; }
    // The decoded body (chunk framing removed), at most max_body_bytes.
    const std::string& body() const { return body_; }
    // Bytes received so far, framing included.
    std::size_t bytes_seen() const { return bytes_seen_; }

private:
    enum class Phase { head, length, chunk_size, chunk_data, chunk_end, trailer, until_close, done };

    bool fail(std::string message);
    bool parse_head(std::string_view head);
    void keep_body(std::string_view data);
    // Appends to line_ up to '\n'; returns the number of bytes used and whether a
    // whole line is now in line_ (without its line ending).
    std::pair<std::size_t, bool> take_line(std::string_view data);

    HttpLimits limits_;
    Phase phase_ = Phase::head;
    std::string head_;
    std::string line_;
    std::vector<std::pair<std::string, std::string>> headers_;
    int status_ = 0;
    std::uint64_t remaining_ = 0;  // of the body (length) or of the current chunk
    std::string body_;
    bool truncated_ = false;
    bool cut_short_ = false;
    std::size_t bytes_seen_ = 0;
    std::string error_;
};

}  // namespace julier::health
