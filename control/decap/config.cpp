#include "decap/config.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "config/field_index.h"
#include "config/yaml_load.h"
#include "config/yaml_reader.h"
#include "julier/abi.h"

namespace julier::decap {

using config::Located;
using config::Reader;

namespace {

constexpr std::uintmax_t kMaxFileBytes = 1u << 20;

const std::vector<std::string_view> kTopKeys = {"interface",       "xdp_mode",        "pin_dir",      "gue_port",
                                                "allowed_sources", "local_addresses", "second_chance"};

int family_bits(const common::IpAddress& a) { return a.is_v4() ? 32 : 128; }

bool valid_interface_name(std::string_view name) {
    // IFNAMSIZ - 1 characters; '/' and ':' break sysfs paths and aliases (as in the catalogue).
    if (name.empty() || name.size() > 15 || name == "." || name == "..") return false;
    return std::none_of(name.begin(), name.end(),
                        [](unsigned char c) { return c == '/' || c == ':' || std::isspace(c) || !std::isprint(c); });
}

bool multicast(const common::IpAddress& a) { return a.is_v4() ? (a.bytes[0] & 0xf0) == 0xe0 : a.bytes[0] == 0xff; }

class Parser {
public:
    explicit Parser(Reader& r) : r_(r) {}

    DecapConfig parse(const Located& root) {
        r_.mapping(root, kTopKeys);
        const config::Layers top({root});
        if (auto v = top.get("interface")) {
            interface(*v);
        } else {
            r_.error(root.location, "interface",
                     "missing: name the network interface tunnel packets arrive on, e.g. eth0");
        }
        if (auto v = top.get("xdp_mode")) {
            if (auto mode = r_.enumeration<config::XdpMode>(*v, "xdp_mode")) cfg_.xdp_mode = *mode;
        }
        if (auto v = top.get("pin_dir")) pin_dir(*v);
        cfg_.gue_port = JL_DEFAULT_GUE_PORT;
        if (auto v = top.get("gue_port")) {
            if (auto port = r_.integer(*v, "gue_port", 1, 65535)) cfg_.gue_port = static_cast<std::uint16_t>(*port);
        }
        if (auto v = top.get("allowed_sources")) {
            sources(*v);
        } else {
            r_.error(root.location, "allowed_sources",
                     "missing: list the balancers' encapsulation sources (encap_source of their catalogue) as "
                     "addresses or prefixes, e.g. [198.18.0.0/28, 2001:db8::/124]; julier-decap decapsulates "
                     "nothing without them");
        }
        if (auto v = top.get("local_addresses")) {
            locals(*v);
        } else {
            r_.error(root.location, "local_addresses",
                     "missing: list this host's addresses the balancers send tunnel packets to (the backend "
                     "addresses of their catalogue), e.g. [198.18.0.20, 2001:db8::20]; julier-decap decapsulates "
                     "nothing without them");
        }
        if (auto v = top.get("second_chance")) second_chance(*v);
        if (cfg_.pin_dir.empty() && !cfg_.interface.empty()) cfg_.pin_dir = default_pin_dir(cfg_.interface);
        families();
        return std::move(cfg_);
    }

private:
    void interface(const Located& v) {
        auto text = r_.string(v, "interface");
        if (!text) return;
        if (!valid_interface_name(*text)) {
            r_.invalid(
                v, "interface",
                Reader::quote(*text) + " is not a valid interface name (1-15 characters, no '/', ':' or blanks)");
            return;
        }
        cfg_.interface = *text;
    }

    void pin_dir(const Located& v) {
        auto text = r_.string(v, "pin_dir");
        if (!text) return;
        const std::filesystem::path p(*text);
        const bool dotdot = std::any_of(p.begin(), p.end(), [](const auto& part) { return part == ".."; });
        const bool blank = std::any_of(text->begin(), text->end(), [](unsigned char c) { return std::isspace(c); });
        if (!p.is_absolute() || dotdot || blank) {
            r_.invalid(v, "pin_dir", Reader::quote(*text) + " must be an absolute path without '..' or blanks");
            return;
        }
        cfg_.pin_dir = *text;
    }

    // A list that must hold between 1 and `max` items; false (reported) otherwise.
    bool nonempty_list(const Located& v, const std::string& field, std::size_t max, const char* what) {
        if (v.node.IsNull() || (v.node.IsSequence() && v.node.size() == 0)) {
            r_.invalid(v, field,
                       std::string("is empty: list at least one ") + what + " (allowed: 1-" + std::to_string(max) +
                           " entries); with none the decapsulator strips no tunnel packet");
            return false;
        }
        if (!r_.sequence(v)) return false;
        if (v.node.size() > max) {
            r_.invalid(v, field,
                       std::to_string(v.node.size()) + " entries, more than the decapsulator holds (allowed: 1-" +
                           std::to_string(max) + ")");
            return false;
        }
        return true;
    }

    void sources(const Located& v) {
        if (!nonempty_list(v, "allowed_sources", JL_DECAP_MAX_SOURCES, "address or prefix")) return;
        prefixes(v, "allows every source, which is what this list exists to prevent", cfg_.allowed_sources);
        sources_written_ = true;
    }

    // second_chance: {peers: [...]}. An absent or empty list turns second chance off.
    void second_chance(const Located& v) {
        static const std::vector<std::string_view> keys = {"peers"};
        if (!r_.mapping(v, keys)) return;
        const config::Layers sc({v});
        auto peers = sc.get("peers");
        if (!peers || peers->node.IsNull() || (peers->node.IsSequence() && peers->node.size() == 0)) return;
        if (!r_.sequence(*peers)) return;
        if (peers->node.size() > JL_DECAP_MAX_PEERS) {
            r_.invalid(*peers, peers->path,
                       std::to_string(peers->node.size()) + " entries, more than the decapsulator holds (allowed: 0-" +
                           std::to_string(JL_DECAP_MAX_PEERS) + ")");
            return;
        }
        prefixes(*peers,
                 "would let any balancer's packet make this host send to any address (list the backends' "
                 "prefixes)",
                 cfg_.second_chance_peers, "peer");
    }

    // The items of a list of addresses or prefixes, each checked; `everything` says
    // why a /0 is refused, `noun` what an item is.
    void prefixes(const Located& v, const std::string& everything, std::vector<SourcePrefix>& out,
                  const char* noun = "source") {
        std::map<SourcePrefix, std::string> seen;  // prefix -> where first written
        for (std::size_t i = 0; i < v.node.size(); ++i) {
            const Located item{v.node[i], config::index_path(v.path, i), r_.where(v.node[i], v.location)};
            auto text = r_.scalar(item, item.path, "an address or prefix like 198.18.0.0/28");
            if (!text) continue;
            auto prefix = SourcePrefix::parse(*text);
            if (!prefix) {
                r_.invalid(item, item.path,
                           Reader::quote(*text) +
                               " is not an address or prefix (allowed: an IPv4 or IPv6 address, optionally with "
                               "/length, e.g. 198.18.0.0/28 or 2001:db8::/124)");
                continue;
            }
            const int bits = family_bits(prefix->address);
            if (prefix->length == 0) {
                r_.invalid(item, item.path,
                           Reader::quote(*text) + " " + everything + " (allowed: prefix lengths 1-" +
                               std::to_string(bits) + ")");
                continue;
            }
            if (multicast(prefix->address)) {
                r_.invalid(item, item.path, Reader::quote(*text) + " is no unicast " + noun);
                continue;
            }
            if (prefix->has_host_bits()) {
                r_.invalid(item, item.path,
                           Reader::quote(*text) + " has bits set after its /" + std::to_string(prefix->length) +
                               " (did you mean " + prefix->network().to_string() + "?)");
                continue;
            }
            if (auto [at, fresh] = seen.emplace(*prefix, item.location.to_string()); !fresh) {
                r_.invalid(item, item.path, prefix->to_string() + " is listed twice (first at " + at->second + ")");
                continue;
            }
            r_.recorded(item, item.path);
            out.push_back(*prefix);
        }
        std::sort(out.begin(), out.end());
    }

    void locals(const Located& v) {
        if (!nonempty_list(v, "local_addresses", JL_DECAP_MAX_ADDRS, "address")) return;
        std::map<common::IpAddress, std::string> seen;
        for (std::size_t i = 0; i < v.node.size(); ++i) {
            const Located item{v.node[i], config::index_path(v.path, i), r_.where(v.node[i], v.location)};
            auto address = r_.address(item, item.path);
            if (!address) continue;
            if (auto [at, fresh] = seen.emplace(*address, item.location.to_string()); !fresh) {
                r_.invalid(item, item.path, address->to_string() + " is listed twice (first at " + at->second + ")");
                continue;
            }
            cfg_.local_addresses.push_back(*address);
            local_locations_.push_back(item);
        }
        std::sort(cfg_.local_addresses.begin(), cfg_.local_addresses.end());
    }

    // A local address of a family no allowed source has: its tunnel packets would all
    // be dropped. Likely a missing line, so said, but not refused.
    void families() {
        if (!sources_written_ || cfg_.allowed_sources.empty()) return;
        for (const Located& item : local_locations_) {
            auto address = common::IpAddress::parse(item.node.Scalar());
            if (!address) continue;
            const bool covered =
                std::any_of(cfg_.allowed_sources.begin(), cfg_.allowed_sources.end(),
                            [&](const SourcePrefix& p) { return p.address.family == address->family; });
            if (!covered) {
                r_.warning(item.location, item.path,
                           std::string("no allowed source is an ") + (address->is_v4() ? "IPv4" : "IPv6") +
                               " prefix: every tunnel packet to " + address->to_string() + " will be dropped");
            }
        }
    }

    Reader& r_;
    DecapConfig cfg_;
    bool sources_written_ = false;
    std::vector<Located> local_locations_;
};

}  // namespace

std::string SourcePrefix::to_string() const { return address.to_string() + "/" + std::to_string(length); }

std::optional<SourcePrefix> SourcePrefix::parse(std::string_view text) {
    const std::size_t slash = text.find('/');
    auto address = common::IpAddress::parse(text.substr(0, slash));
    if (!address) return std::nullopt;
    SourcePrefix p{*address, static_cast<std::uint8_t>(family_bits(*address))};
    if (slash == std::string_view::npos) return p;
    const std::string_view digits = text.substr(slash + 1);
    unsigned length = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (digits.empty() || digits.size() > 3 || ec != std::errc{} || end != digits.data() + digits.size() ||
        length > static_cast<unsigned>(family_bits(*address)))
        return std::nullopt;
    p.length = static_cast<std::uint8_t>(length);
    return p;
}

SourcePrefix SourcePrefix::network() const {
    SourcePrefix n = *this;
    for (int bit = length; bit < family_bits(address); ++bit) n.address.bytes[bit / 8] &= ~(0x80u >> (bit % 8));
    return n;
}

bool SourcePrefix::has_host_bits() const { return network().address != address; }

bool SourcePrefix::contains(const common::IpAddress& a) const {
    if (a.family != address.family) return false;
    SourcePrefix other{a, length};
    return other.network().address == network().address;
}

std::string default_pin_dir(std::string_view interface) {
    return std::string(JL_DECAP_PIN_DIR) + "/" + std::string(interface);
}

ParseResult parse_config_text(std::string_view text, const std::string& name) {
    ParseResult result;
    config::FieldIndex index;
    Reader reader(name, result.diagnostics, index);
    const config::LoadedDocument doc = config::load_single_document(text, reader);
    if (doc.status == config::LoadedDocument::Status::empty) {
        reader.error(reader.file_location(), {},
                     "the file is empty (expected a mapping with interface, allowed_sources and local_addresses)");
    }
    if (doc.status != config::LoadedDocument::Status::ok) {
        config::sort_and_deduplicate(result.diagnostics);
        return result;
    }
    const Located root{doc.root, {}, reader.where(doc.root, {name, 1, 1})};
    if (!root.node.IsMap()) {
        reader.error(root.location, {}, "the top level must be a mapping (interface:, allowed_sources:, ...)");
        return result;
    }
    DecapConfig cfg = Parser(reader).parse(root);
    config::sort_and_deduplicate(result.diagnostics);
    if (result.errors() == 0) result.config = std::move(cfg);
    return result;
}

ParseResult parse_config_file(const std::string& path) {
    auto fail = [&](const std::string& message) {
        ParseResult result;
        result.diagnostics.push_back(config::Diagnostic{config::Severity::error, {path, 0, 0}, {}, message});
        return result;
    };
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec) return fail("cannot read: " + ec.message());
    if (!std::filesystem::is_regular_file(status)) return fail("cannot read: not a regular file");
    if (std::filesystem::file_size(path, ec) > kMaxFileBytes || ec)
        return fail(ec ? "cannot read: " + ec.message() : "larger than 1 MiB; not a julier-decap configuration");
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(std::string("cannot read: ") + std::strerror(errno));
    std::ostringstream text;
    text << in.rdbuf();
    return parse_config_text(text.str(), path);
}

}  // namespace julier::decap
