// libFuzzer harness: the DNS check's message codec.
//  - any bytes as a reply: decode never crashes; a decoded message has as many
//    questions as its header says, each name in canonical form (final dot, no
//    upper case letters);
//  - any bytes as a configured name: a name the encoder accepts decodes back to
//    one question with the same id and type and, for plain host names, the same
//    name in lower case.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

#include "health/dns_message.h"

using namespace julier::health;

namespace {

void require(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "invariant broken: %s\n", what);
        std::abort();
    }
}

bool plain_host_name(std::string_view name) {
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
    return true;
}

std::string expected_name(std::string_view name) {
    std::string out;
    for (char c : name) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (out.empty() || out == ".") return ".";
    if (out.back() != '.') out += '.';
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    std::string error;
    if (auto message = decode_dns_message(bytes, &error)) {
        require(message->questions.size() == message->header.questions, "question count differs from the header");
        for (const auto& q : message->questions) {
            require(!q.name.empty() && q.name.back() == '.', "name without its final dot");
            for (char c : q.name) require(!std::isupper(static_cast<unsigned char>(c)), "name not in lower case");
        }
    } else {
        require(!error.empty(), "refused without a reason");
    }

    if (size < 3) return 0;
    const auto id = static_cast<std::uint16_t>(data[0] << 8 | data[1]);
    const std::uint16_t type = data[2];
    const std::string_view name(reinterpret_cast<const char*>(data + 3), size - 3);
    const auto query = encode_dns_query(id, name, type);
    if (!query.error.empty()) return 0;
    std::string why;
    const auto decoded = decode_dns_message(query.bytes, &why);
    require(decoded.has_value(), "an encoded query does not decode");
    require(decoded->header.id == id && !decoded->header.response && decoded->header.recursion_desired,
            "query header changed on the way");
    require(decoded->questions.size() == 1 && decoded->questions[0].type == type &&
                decoded->questions[0].qclass == kDnsClassIn,
            "query question changed on the way");
    if (plain_host_name(name) && name.find("..") == std::string_view::npos)
        require(decoded->questions[0].name == expected_name(name), "host name changed on the way");
    return 0;
}
