#include "neigh/rtnetlink.h"

#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

namespace julier::neigh {

namespace {

constexpr std::size_t kReceiveBuffer = 64 * 1024;

// One request: header, family-specific struct, then attributes, each aligned. The
// requests here are a few dozen bytes; a fixed buffer bounds them.
class Message {
public:
    Message(std::uint16_t type, std::uint16_t flags, const void* fixed, std::size_t fixed_len)
        : length_(NLMSG_SPACE(fixed_len)) {
        if (length_ > buffer_.size()) {
            throw NetlinkError(EMSGSIZE, "rtnetlink request too large");
        }
        auto* header = reinterpret_cast<nlmsghdr*>(buffer_.data());
        header->nlmsg_type = type;
        header->nlmsg_flags = static_cast<std::uint16_t>(flags | NLM_F_REQUEST | NLM_F_ACK);
        std::memcpy(NLMSG_DATA(header), fixed, fixed_len);
    }

    void attribute(std::uint16_t type, const void* data, std::size_t len) {
        if (length_ + RTA_SPACE(len) > buffer_.size()) {
            throw NetlinkError(EMSGSIZE, "rtnetlink request too large");
        }
        auto* rta = reinterpret_cast<rtattr*>(buffer_.data() + length_);
        rta->rta_type = type;
        rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
        std::memcpy(RTA_DATA(rta), data, len);
        length_ += RTA_SPACE(len);
    }

    void address(std::uint16_t type, const common::IpAddress& address) {
        attribute(type, address.bytes.data(), address.is_v4() ? 4 : 16);
    }

    nlmsghdr* finish(std::uint32_t seq) {
        auto* header = reinterpret_cast<nlmsghdr*>(buffer_.data());
        header->nlmsg_len = static_cast<std::uint32_t>(length_);
        header->nlmsg_seq = seq;
        return header;
    }

private:
    alignas(nlmsghdr) std::array<char, 256> buffer_{};
    std::size_t length_;
};

std::uint8_t af_of(const common::IpAddress& address) { return address.is_v4() ? AF_INET : AF_INET6; }

std::optional<common::IpAddress> address_from(int family, const void* data, std::size_t len) {
    common::IpAddress address;
    if (family == AF_INET && len == 4) {
        address.family = 4;
    } else if (family == AF_INET6 && len == 16) {
        address.family = 6;
    } else {
        return std::nullopt;
    }
    std::memcpy(address.bytes.data(), data, len);
    return address;
}

// Calls fn(type, data, len) for each attribute after a fixed header of fixed_len.
template <typename Fn>
void for_each_attribute(const std::string& message, std::size_t fixed_len, Fn fn) {
    const auto* header = reinterpret_cast<const nlmsghdr*>(message.data());
    if (header->nlmsg_len < NLMSG_LENGTH(fixed_len)) {
        return;
    }
    const auto* rta =
        reinterpret_cast<const rtattr*>(static_cast<const char*>(NLMSG_DATA(header)) + NLMSG_ALIGN(fixed_len));
    int remaining = static_cast<int>(header->nlmsg_len - NLMSG_SPACE(fixed_len));
    for (; RTA_OK(rta, remaining); rta = RTA_NEXT(rta, remaining)) {
        fn(rta->rta_type, RTA_DATA(rta), RTA_PAYLOAD(rta));
    }
}

template <typename T>
const T& fixed_part(const std::string& message) {
    return *reinterpret_cast<const T*>(NLMSG_DATA(reinterpret_cast<const nlmsghdr*>(message.data())));
}

}  // namespace

RtNetlink::RtNetlink() {
    fd_ = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd_ < 0) {
        throw NetlinkError(errno, std::string("cannot open an rtnetlink socket: ") + std::strerror(errno));
    }
    int one = 1;
    // Best effort: the kernel's own words for a refused request, without the echo.
    ::setsockopt(fd_, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    ::setsockopt(fd_, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    timeval timeout{2, 0};  // the kernel answers these at once; never hang on it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
}

RtNetlink::~RtNetlink() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

std::string RtNetlink::transact(void* request, std::uint32_t length, bool expect_answer) {
    auto* header = static_cast<nlmsghdr*>(request);
    std::uint32_t seq = header->nlmsg_seq;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd_, request, length, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof(kernel)) < 0) {
        throw NetlinkError(errno, std::string("rtnetlink send: ") + std::strerror(errno));
    }
    std::string answer;
    std::vector<char> buffer(kReceiveBuffer);
    for (;;) {
        ssize_t got = ::recv(fd_, buffer.data(), buffer.size(), 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw NetlinkError(errno, std::string("rtnetlink receive: ") + std::strerror(errno));
        }
        int remaining = static_cast<int>(got);
        for (auto* msg = reinterpret_cast<nlmsghdr*>(buffer.data()); NLMSG_OK(msg, remaining);
             msg = NLMSG_NEXT(msg, remaining)) {
            if (msg->nlmsg_seq != seq) {
                continue;  // a late answer to an earlier request
            }
            if (msg->nlmsg_type == NLMSG_ERROR) {
                const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(msg));
                if (err->error == 0) {
                    if (expect_answer && answer.empty()) {
                        throw NetlinkError(ENODATA, "rtnetlink: acknowledged without an answer");
                    }
                    return answer;
                }
                std::string text = std::strerror(-err->error);
                if (msg->nlmsg_flags & NLM_F_ACK_TLVS) {
                    // With NETLINK_CAP_ACK the TLVs follow the bare nlmsgerr.
                    const auto* rta =
                        reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(err) + NLMSG_ALIGN(sizeof(*err)));
                    int left = static_cast<int>(msg->nlmsg_len - NLMSG_SPACE(sizeof(*err)));
                    for (; RTA_OK(rta, left); rta = RTA_NEXT(rta, left)) {
                        if (rta->rta_type == NLMSGERR_ATTR_MSG && RTA_PAYLOAD(rta) > 1) {
                            text += " (" + std::string(static_cast<const char*>(RTA_DATA(rta))) + ")";
                        }
                    }
                }
                throw NetlinkError(-err->error, text);
            }
            if (msg->nlmsg_type == NLMSG_DONE) {
                return answer;
            }
            answer.assign(reinterpret_cast<const char*>(msg), msg->nlmsg_len);
        }
    }
}

Route RtNetlink::get_route(const common::IpAddress& destination) {
    rtmsg fixed{};
    fixed.rtm_family = af_of(destination);
    fixed.rtm_dst_len = destination.is_v4() ? 32 : 128;
    Message message(RTM_GETROUTE, 0, &fixed, sizeof(fixed));
    message.address(RTA_DST, destination);
    nlmsghdr* request = message.finish(++seq_);
    std::string answer = transact(request, request->nlmsg_len, true);

    Route route;
    route.type = fixed_part<rtmsg>(answer).rtm_type;
    int family = fixed_part<rtmsg>(answer).rtm_family;
    for_each_attribute(answer, sizeof(rtmsg), [&](unsigned type, const void* data, std::size_t len) {
        switch (type) {
            case RTA_OIF:
                if (len == sizeof(std::uint32_t)) {
                    std::memcpy(&route.oif, data, sizeof(route.oif));
                }
                break;
            case RTA_GATEWAY: route.gateway = address_from(family, data, len); break;
            case RTA_VIA:
                if (len > sizeof(rtvia)) {
                    const auto* via = static_cast<const rtvia*>(data);
                    route.gateway = address_from(via->rtvia_family, via->rtvia_addr, len - sizeof(rtvia));
                }
                break;
            case RTA_PREFSRC: route.prefsrc = address_from(family, data, len); break;
            default: break;
        }
    });
    return route;
}

Link RtNetlink::get_link(std::uint32_t ifindex) {
    ifinfomsg fixed{};
    fixed.ifi_family = AF_UNSPEC;
    fixed.ifi_index = static_cast<int>(ifindex);
    Message message(RTM_GETLINK, 0, &fixed, sizeof(fixed));
    std::uint32_t mask = RTEXT_FILTER_SKIP_STATS;  // only the small attributes we read
    message.attribute(IFLA_EXT_MASK, &mask, sizeof(mask));
    nlmsghdr* request = message.finish(++seq_);
    std::string answer = transact(request, request->nlmsg_len, true);

    Link link;
    link.type = fixed_part<ifinfomsg>(answer).ifi_type;
    link.flags = fixed_part<ifinfomsg>(answer).ifi_flags;
    for_each_attribute(answer, sizeof(ifinfomsg), [&](unsigned type, const void* data, std::size_t len) {
        if (type == IFLA_IFNAME) {
            link.name.assign(static_cast<const char*>(data), strnlen(static_cast<const char*>(data), len));
        } else if (type == IFLA_ADDRESS && len == link.mac.size()) {
            std::memcpy(link.mac.data(), data, len);
            link.has_mac = true;
        }
    });
    return link;
}

std::optional<Neighbour> RtNetlink::get_neighbour(const common::IpAddress& address, std::uint32_t ifindex) {
    ndmsg fixed{};
    fixed.ndm_family = af_of(address);
    fixed.ndm_ifindex = static_cast<int>(ifindex);
    Message message(RTM_GETNEIGH, 0, &fixed, sizeof(fixed));
    message.address(NDA_DST, address);
    nlmsghdr* request = message.finish(++seq_);
    std::string answer;
    try {
        answer = transact(request, request->nlmsg_len, true);
    } catch (const NetlinkError& e) {
        if (e.error() == ENOENT) {
            return std::nullopt;
        }
        throw;
    }
    Neighbour neighbour;
    neighbour.state = fixed_part<ndmsg>(answer).ndm_state;
    for_each_attribute(answer, sizeof(ndmsg), [&](unsigned type, const void* data, std::size_t len) {
        if (type == NDA_LLADDR && len == 6) {
            MacAddress mac;
            std::memcpy(mac.data(), data, len);
            neighbour.mac = mac;
        }
    });
    return neighbour;
}

void RtNetlink::request_resolution(const common::IpAddress& address, std::uint32_t ifindex) {
    ndmsg fixed{};
    fixed.ndm_family = af_of(address);
    fixed.ndm_ifindex = static_cast<int>(ifindex);
    fixed.ndm_state = NUD_NONE;
    fixed.ndm_flags = NTF_USE;
    Message message(RTM_NEWNEIGH, NLM_F_CREATE, &fixed, sizeof(fixed));
    message.address(NDA_DST, address);
    nlmsghdr* request = message.finish(++seq_);
    transact(request, request->nlmsg_len, false);
}

}  // namespace julier::neigh
