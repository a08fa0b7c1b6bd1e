#include "health/dns_message.h"

#include <cctype>
#include <cstdio>

namespace julier::health {

namespace {

constexpr std::size_t kMaxNameWire = 255;
constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kHeaderSize = 12;

void put16(std::vector<std::uint8_t>& out, std::uint16_t value) {
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value & 0xff));
}

std::uint16_t get16(std::span<const std::uint8_t> bytes, std::size_t at) {
    return static_cast<std::uint16_t>((bytes[at] << 8) | bytes[at + 1]);
}

// Appends one label to dotted text, escaping what would be ambiguous.
void append_label(std::string& out, std::span<const std::uint8_t> label) {
    for (std::uint8_t byte : label) {
        if (byte == '.' || byte == '\\') {
            out += '\\';
            out += static_cast<char>(byte);
        } else if (byte > 0x20 && byte < 0x7f) {
            out += static_cast<char>(std::tolower(byte));
        } else {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\%03u", byte);
            out += escaped;
        }
    }
    out += '.';
}

// Reads the (possibly compressed) name at `at`. On success sets `next` to the
// first byte after the name as written at `at`.
bool read_name(std::span<const std::uint8_t> bytes, std::size_t at, std::string& name, std::size_t& next,
               std::string& error) {
    name.clear();
    std::size_t wire = 0;
    bool jumped = false;
    int jumps = 0;
    while (true) {
        if (at >= bytes.size()) {
            error = "name runs past the end of the message";
            return false;
        }
        std::uint8_t length = bytes[at];
        if ((length & 0xc0) == 0xc0) {
            if (at + 1 >= bytes.size()) {
                error = "truncated compression pointer";
                return false;
            }
            // A pointer may only go back; a bounded number of them excludes loops.
            std::size_t target = static_cast<std::size_t>(((length & 0x3f) << 8) | bytes[at + 1]);
            if (target >= at || ++jumps > 64) {
                error = "bad compression pointer";
                return false;
            }
            if (!jumped) next = at + 2;
            jumped = true;
            at = target;
            continue;
        }
        if ((length & 0xc0) != 0) {
            error = "unknown label type";
            return false;
        }
        wire += 1u + length;
        if (wire > kMaxNameWire) {
            error = "name longer than 255 bytes";
            return false;
        }
        if (length == 0) {
            if (!jumped) next = at + 1;
            if (name.empty()) name = ".";
            return true;
        }
        if (at + 1 + length > bytes.size()) {
            error = "label runs past the end of the message";
            return false;
        }
        append_label(name, bytes.subspan(at + 1, length));
        at += 1u + length;
    }
}

}  // namespace

DnsQuery encode_dns_query(std::uint16_t id, std::string_view name, std::uint16_t type) {
    DnsQuery query;
    auto& out = query.bytes;
    put16(out, id);
    put16(out, 0x0100);  // QR=0, opcode 0, RD=1
    put16(out, 1);       // one question
    put16(out, 0);
    put16(out, 0);
    put16(out, 0);

    if (name == ".") name = {};
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    std::size_t wire = 1;  // the root label
    while (!name.empty()) {
        auto dot = name.find('.');
        std::string_view label = name.substr(0, dot);
        if (label.empty() || label.size() > kMaxLabel) {
            query.bytes.clear();
            query.error = label.empty() ? "empty label in DNS name" : "DNS label longer than 63 bytes";
            return query;
        }
        wire += 1 + label.size();
        out.push_back(static_cast<std::uint8_t>(label.size()));
        out.insert(out.end(), label.begin(), label.end());
        name.remove_prefix(dot == std::string_view::npos ? name.size() : dot + 1);
        if (dot != std::string_view::npos && name.empty()) {
            query.bytes.clear();
            query.error = "empty label in DNS name";
            return query;
        }
    }
    if (wire > kMaxNameWire) {
        query.bytes.clear();
        query.error = "DNS name longer than 255 bytes";
        return query;
    }
    out.push_back(0);
    put16(out, type);
    put16(out, kDnsClassIn);
    return query;
}

std::optional<DnsMessage> decode_dns_message(std::span<const std::uint8_t> bytes, std::string* error) {
    std::string problem;
    auto fail = [&](std::string message) -> std::optional<DnsMessage> {
        if (error) *error = std::move(message);
        return std::nullopt;
    };
    if (bytes.size() < kHeaderSize) return fail("message shorter than a DNS header");

    DnsMessage message;
    auto& h = message.header;
    h.id = get16(bytes, 0);
    std::uint16_t flags = get16(bytes, 2);
    h.response = (flags & 0x8000) != 0;
    h.opcode = static_cast<std::uint8_t>((flags >> 11) & 0x0f);
    h.authoritative = (flags & 0x0400) != 0;
    h.truncated = (flags & 0x0200) != 0;
    h.recursion_desired = (flags & 0x0100) != 0;
    h.recursion_available = (flags & 0x0080) != 0;
    h.rcode = static_cast<std::uint8_t>(flags & 0x000f);
    h.questions = get16(bytes, 4);
    h.answers = get16(bytes, 6);
    h.authorities = get16(bytes, 8);
    h.additionals = get16(bytes, 10);

    std::size_t at = kHeaderSize;
    for (std::uint16_t i = 0; i < h.questions; ++i) {
        DnsQuestion question;
        std::size_t next = 0;
        if (!read_name(bytes, at, question.name, next, problem))
            return fail("question " + std::to_string(i + 1) + ": " + problem);
        if (next + 4 > bytes.size()) return fail("question " + std::to_string(i + 1) + " is truncated");
        question.type = get16(bytes, next);
        question.qclass = get16(bytes, next + 2);
        message.questions.push_back(std::move(question));
        at = next + 4;
    }
    return message;
}

std::string canonical_dns_name(std::string_view name) {
    // Round-trip through the wire form so both sides are spelled alike.
    auto query = encode_dns_query(0, name, 0);
    if (!query.error.empty()) return {};
    auto message = decode_dns_message(query.bytes);
    return message && !message->questions.empty() ? message->questions.front().name : std::string();
}

std::string dns_rcode_name(std::uint8_t rcode) {
    static const char* const names[] = {"NOERROR",  "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
                                        "YXDOMAIN", "YXRRSET", "NXRRSET",  "NOTAUTH",  "NOTZONE"};
    if (rcode < std::size(names)) return names[rcode];
    return "RCODE" + std::to_string(rcode);
}

std::string dns_type_name(std::uint16_t type) {
    switch (type) {
        case 1: return "A";
        case 2: return "NS";
        case 5: return "CNAME";
        case 6: return "SOA";
        case 12: return "PTR";
        case 15: return "MX";
        case 16: return "TXT";
        case 28: return "AAAA";
        case 33: return "SRV";
        case 35: return "NAPTR";
        case 43: return "DS";
        case 48: return "DNSKEY";
        case 64: return "SVCB";
        case 65: return "HTTPS";
        case 255: return "ANY";
        default: return "TYPE" + std::to_string(type);
    }
}

}  // namespace julier::health
