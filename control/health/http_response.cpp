#include "health/http_response.h"

#include <algorithm>
#include <cctype>

namespace julier::health {

namespace {

constexpr std::size_t kMaxLine = 4096;  // a chunk-size or trailer line

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
    return text;
}

// Index just past the empty line that ends the head, or npos.
std::size_t find_head_end(const std::string& head, std::size_t from) {
    for (std::size_t i = from; i < head.size(); ++i) {
        if (head[i] != '\n') continue;
        if (i + 1 < head.size() && head[i + 1] == '\n') return i + 2;
        if (i + 2 < head.size() && head[i + 1] == '\r' && head[i + 2] == '\n') return i + 3;
    }
    return std::string::npos;
}

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
    if (text.empty() || text.size() > 18) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return value;
}

std::optional<std::uint64_t> parse_hex(std::string_view text) {
    if (text.empty() || text.size() > 15) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : text) {
        int digit;
        if (c >= '0' && c <= '9')
            digit = c - '0';
        else if (c >= 'a' && c <= 'f')
            digit = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            digit = c - 'A' + 10;
        else
            return std::nullopt;
        value = value * 16 + static_cast<std::uint64_t>(digit);
    }
    return value;
}

// At most 40 characters of untrusted text, for an error message.
std::string excerpt(std::string_view text) {
    std::string out;
    for (char c : text.substr(0, 40)) out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
    if (text.size() > 40) out += "...";
    return out;
}

}  // namespace

bool HttpResponseParser::fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
}

std::optional<std::string_view> HttpResponseParser::header(std::string_view name) const {
    for (const auto& [key, value] : headers_) {
        if (iequals(key, name)) return std::string_view(value);
    }
    return std::nullopt;
}

std::pair<std::size_t, bool> HttpResponseParser::take_line(std::string_view data) {
    auto newline = data.find('\n');
    if (newline == std::string_view::npos) {
        line_.append(data);
        return {data.size(), false};
    }
    line_.append(data.substr(0, newline));
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    return {newline + 1, true};
}

void HttpResponseParser::keep_body(std::string_view data) {
    std::size_t room = limits_.max_body_bytes - body_.size();
    if (data.size() > room) {
        truncated_ = true;
        data = data.substr(0, room);
    }
    body_.append(data);
}

bool HttpResponseParser::parse_head(std::string_view head) {
    std::vector<std::string_view> lines;
    while (!head.empty()) {
        auto newline = head.find('\n');
        std::string_view line = head.substr(0, newline);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        lines.push_back(line);
        head.remove_prefix(newline == std::string_view::npos ? head.size() : newline + 1);
    }
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    if (lines.empty()) return fail("empty status line");

    // HTTP/1.1 200 OK
    std::string_view status_line = lines.front();
    if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/" ||
        !std::isdigit(static_cast<unsigned char>(status_line[5])) || status_line[6] != '.' ||
        !std::isdigit(static_cast<unsigned char>(status_line[7])) || status_line[8] != ' ')
        return fail("malformed status line \"" + excerpt(status_line) + "\"");
    auto code = parse_decimal(status_line.substr(9, 3));
    if (!code || *code < 100 || *code > 599 || (status_line.size() > 12 && status_line[12] != ' '))
        return fail("malformed status line \"" + excerpt(status_line) + "\"");

    headers_.clear();
    for (std::size_t i = 1; i < lines.size(); ++i) {
        std::string_view line = lines[i];
        if ((line.front() == ' ' || line.front() == '\t') && !headers_.empty()) {
            // Obsolete line folding: part of the previous value.
            headers_.back().second += " ";
            headers_.back().second += trim(line);
            continue;
        }
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0)
            return fail("malformed header line \"" + excerpt(line) + "\"");
        headers_.emplace_back(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
    }

    status_ = static_cast<int>(*code);
    if (status_ < 200 && status_ != 101) {
        // An interim response (100 Continue, 103 Early Hints): the real one follows.
        status_ = 0;
        headers_.clear();
        return true;
    }

    if (status_ == 101 || status_ == 204 || status_ == 304) {
        phase_ = Phase::done;
        return true;
    }

    std::optional<std::string_view> transfer_encoding;
    std::optional<std::uint64_t> content_length;
    for (const auto& [key, value] : headers_) {
        if (iequals(key, "transfer-encoding")) {
            transfer_encoding = value;
        } else if (iequals(key, "content-length")) {
            std::string_view rest = value;
            while (true) {
                auto comma = rest.find(',');
                auto length = parse_decimal(trim(rest.substr(0, comma)));
                if (!length || (content_length && *content_length != *length))
                    return fail("invalid Content-Length \"" + excerpt(value) + "\"");
                content_length = length;
                if (comma == std::string_view::npos) break;
                rest.remove_prefix(comma + 1);
            }
        }
    }

    if (transfer_encoding) {
        std::string_view codings = *transfer_encoding;
        auto comma = codings.rfind(',');
        std::string_view last = trim(comma == std::string_view::npos ? codings : codings.substr(comma + 1));
        phase_ = iequals(last, "chunked") ? Phase::chunk_size : Phase::until_close;
    } else if (content_length) {
        remaining_ = *content_length;
        phase_ = remaining_ == 0 ? Phase::done : Phase::length;
    } else {
        phase_ = Phase::until_close;
    }
    return true;
}

bool HttpResponseParser::feed(std::string_view data) {
    if (failed()) return false;
    bytes_seen_ += data.size();

    while (!data.empty() && phase_ != Phase::done) {
        switch (phase_) {
            case Phase::head: {
                std::size_t old = head_.size();
                std::size_t take = std::min(limits_.max_header_bytes - old, data.size());
                head_.append(data.substr(0, take));
                std::size_t end = find_head_end(head_, old >= 3 ? old - 3 : 0);
                if (end == std::string::npos) {
                    if (head_.size() >= limits_.max_header_bytes)
                        return fail("response headers exceed " + std::to_string(limits_.max_header_bytes) + " bytes");
                    data.remove_prefix(take);
                    break;
                }
                std::string head = std::move(head_);
                head_.clear();
                head.resize(end);
                data.remove_prefix(end - old);
                if (!parse_head(head)) return false;
                break;
            }
            case Phase::length:
            case Phase::chunk_data: {
                auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size()));
                keep_body(data.substr(0, take));
                data.remove_prefix(take);
                remaining_ -= take;
                if (remaining_ == 0) phase_ = phase_ == Phase::length ? Phase::done : Phase::chunk_end;
                break;
            }
            case Phase::until_close:
                keep_body(data);
                data = {};
                break;
            case Phase::chunk_size:
            case Phase::chunk_end:
            case Phase::trailer: {
                auto [used, whole] = take_line(data);
                data.remove_prefix(used);
                if (!whole) {
                    if (line_.size() > kMaxLine)
                        return fail("chunk framing line exceeds " + std::to_string(kMaxLine) + " bytes");
                    break;
                }
                std::string line = std::move(line_);
                line_.clear();
                if (phase_ == Phase::chunk_size) {
                    std::string_view size_text = trim(std::string_view(line).substr(0, line.find(';')));
                    auto size = parse_hex(size_text);
                    if (!size) return fail("malformed chunk size \"" + excerpt(line) + "\"");
                    remaining_ = *size;
                    phase_ = remaining_ == 0 ? Phase::trailer : Phase::chunk_data;
                } else if (phase_ == Phase::chunk_end) {
                    if (!line.empty()) return fail("chunk not followed by CRLF");
                    phase_ = Phase::chunk_size;
                } else if (line.empty()) {
                    phase_ = Phase::done;
                }
                break;
            }
            case Phase::done: break;
        }
    }
    return true;
}

void HttpResponseParser::close() {
    if (failed() || phase_ == Phase::done) return;
    if (phase_ == Phase::until_close) {
        phase_ = Phase::done;
        return;
    }
    cut_short_ = true;
}

}  // namespace julier::health
