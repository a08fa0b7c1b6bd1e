#include "dataplane/xdp_attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <xdp/libxdp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "dataplane/library_log.h"
#include "dataplane/map_io.h"

namespace julier::dataplane {

namespace {

struct MultiprogCloser {
    void operator()(xdp_multiprog* mp) const { xdp_multiprog__close(mp); }
};
using Multiprog = std::unique_ptr<xdp_multiprog, MultiprogCloser>;

struct ProgramCloser {
    void operator()(xdp_program* prog) const { xdp_program__close(prog); }
};
using Program = std::unique_ptr<xdp_program, ProgramCloser>;

std::string xdp_error(int error) {
    char text[256];
    libxdp_strerror(error, text, sizeof(text));
    return text;
}

enum xdp_attach_mode to_libxdp(AttachMode mode) { return mode == AttachMode::native ? XDP_MODE_NATIVE : XDP_MODE_SKB; }

__u32 mode_flags(enum xdp_attach_mode mode) {
    switch (mode) {
        case XDP_MODE_NATIVE: return XDP_FLAGS_DRV_MODE;
        case XDP_MODE_SKB: return XDP_FLAGS_SKB_MODE;
        case XDP_MODE_HW: return XDP_FLAGS_HW_MODE;
        default: return 0;
    }
}

// What libxdp sees on the interface; null when nothing is attached.
Multiprog programs_on(std::uint32_t ifindex, const std::string& ifname) {
    xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(static_cast<int>(ifindex));
    long error = libxdp_get_error(mp);
    if (error == -ENOENT || (!error && !mp)) {
        return nullptr;
    }
    if (error) {
        throw DataplaneError("cannot query XDP programs on " + ifname + ": " + xdp_error(static_cast<int>(error)));
    }
    return Multiprog(mp);
}

bool is_forwarder(const ForwarderIdentity& forwarder, std::uint32_t prog_id) {
    if (prog_id == 0) {
        return false;
    }
    if (prog_id == forwarder.prog_id) {
        return true;
    }
    std::vector<std::uint32_t> maps = program_map_ids(prog_id);
    return std::find(maps.begin(), maps.end(), forwarder.meta_map_id) != maps.end();
}

std::string program_label(const xdp_program* prog) {
    return std::string("'") + xdp_program__name(prog) + "' (id " + std::to_string(xdp_program__id(prog)) + ")";
}

Fd program_fd_by_id(std::uint32_t id) {
    Fd fd(bpf_prog_get_fd_by_id(id));
    if (!fd) {
        throw DataplaneError("cannot open XDP program id " + std::to_string(id) + ": " + std::strerror(errno));
    }
    return fd;
}

// Swaps the program without a moment of no program (XDP_FLAGS_REPLACE).
void replace_single(const ForwarderIdentity& forwarder, std::uint32_t ifindex, const std::string& ifname,
                    std::uint32_t old_id, enum xdp_attach_mode mode) {
    Fd old_fd = program_fd_by_id(old_id);
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old_fd.get());
    if (bpf_xdp_attach(static_cast<int>(ifindex), forwarder.prog_fd, mode_flags(mode) | XDP_FLAGS_REPLACE, &opts) !=
        0) {
        throw DataplaneError(std::string("cannot replace the older julier ") + forwarder.name + " on " + ifname + ": " +
                             std::strerror(errno));
    }
}

void detach_single(const ForwarderIdentity& forwarder, std::uint32_t ifindex, const std::string& ifname,
                   std::uint32_t prog_id, enum xdp_attach_mode mode) {
    Fd fd = program_fd_by_id(prog_id);
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = fd.get());
    if (bpf_xdp_detach(static_cast<int>(ifindex), mode_flags(mode) | XDP_FLAGS_REPLACE, &opts) != 0 &&
        errno != EEXIST) {
        throw DataplaneError(std::string("cannot detach the julier ") + forwarder.name + " from " + ifname + ": " +
                             std::strerror(errno));
    }
}

void attach_new(const ForwarderIdentity& forwarder, std::uint32_t ifindex, const std::string& ifname, AttachMode mode) {
    Program prog(xdp_program__from_fd(forwarder.prog_fd));
    if (long error = libxdp_get_error(prog.get()); error || !prog) {
        prog.release();
        throw DataplaneError(std::string("cannot hand the ") + forwarder.name +
                             " to libxdp: " + xdp_error(static_cast<int>(error)));
    }
    // libxdp tries its dispatcher first; its complaints matter only if all fails.
    CapturedWarnings log;
    int error = xdp_program__attach(prog.get(), static_cast<int>(ifindex), to_libxdp(mode), 0);
    if (error) {
        std::string hint;
        if (mode == AttachMode::native && (error == -EOPNOTSUPP || error == -EINVAL)) {
            hint = "; the driver of " + ifname + " may lack native XDP: try xdp_mode: generic";
        }
        throw DataplaneError(std::string("cannot attach the ") + forwarder.name + " to " + ifname + " in " +
                             (mode == AttachMode::native ? "native" : "generic") + " mode: " + xdp_error(error) + hint +
                             (log.text().empty() ? "" : "\n" + log.tail()));
    }
}

}  // namespace

std::uint32_t program_id(int prog_fd) {
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) {
        throw DataplaneError(std::string("cannot read program info: ") + std::strerror(errno));
    }
    return info.id;
}

std::uint32_t map_id(int map_fd) {
    bpf_map_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(map_fd, &info, &len) != 0) {
        throw DataplaneError(std::string("cannot read map info: ") + std::strerror(errno));
    }
    return info.id;
}

std::vector<std::uint32_t> program_map_ids(std::uint32_t prog_id) {
    Fd fd(bpf_prog_get_fd_by_id(prog_id));
    if (!fd) {
        return {};  // gone meanwhile
    }
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
        return {};
    }
    std::vector<std::uint32_t> ids(info.nr_map_ids);
    if (ids.empty()) {
        return ids;
    }
    __u32 count = info.nr_map_ids;
    info = bpf_prog_info{};
    info.nr_map_ids = count;
    info.map_ids = reinterpret_cast<__u64>(ids.data());
    len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
        return {};
    }
    ids.resize(std::min<std::size_t>(count, info.nr_map_ids));
    return ids;
}

std::uint32_t interface_index(const std::string& ifname) {
    unsigned index = if_nametoindex(ifname.c_str());
    if (index == 0) {
        throw DataplaneError("no network interface named " + ifname);
    }
    return index;
}

void attach_forwarder(const ForwarderIdentity& forwarder, const std::string& ifname, AttachMode mode) {
    std::uint32_t ifindex = interface_index(ifname);
    Multiprog mp = programs_on(ifindex, ifname);
    if (mp && xdp_multiprog__is_legacy(mp.get())) {
        const xdp_program* main = xdp_multiprog__main_prog(mp.get());
        std::uint32_t id = xdp_program__id(main);
        enum xdp_attach_mode current = xdp_multiprog__attach_mode(mp.get());
        if (!is_forwarder(forwarder, id)) {
            throw DataplaneError("interface " + ifname + " already runs XDP program " + program_label(main) +
                                 ", which is not julier's; julier does not replace it. Remove it first "
                                 "(ip link set dev " +
                                 ifname + " xdp off) or attach julier elsewhere");
        }
        if (current != to_libxdp(mode)) {
            // A mode change cannot be done in place: detach, then attach anew.
            detach_single(forwarder, ifindex, ifname, id, current);
            attach_new(forwarder, ifindex, ifname, mode);
        } else if (id != forwarder.prog_id) {
            replace_single(forwarder, ifindex, ifname, id, current);
        }
        return;  // already ours, in the requested mode: adopt as is
    }
    if (mp) {
        // A dispatcher: ours may already be one of its programs.
        for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp.get()); p;
             p = xdp_multiprog__next_prog(p, mp.get())) {
            std::uint32_t id = xdp_program__id(p);
            if (id == forwarder.prog_id) {
                return;
            }
            if (is_forwarder(forwarder, id)) {
                int error = xdp_program__detach(p, static_cast<int>(ifindex), xdp_multiprog__attach_mode(mp.get()), 0);
                if (error) {
                    throw DataplaneError(std::string("cannot detach the older julier ") + forwarder.name + " from " +
                                         ifname + ": " + xdp_error(error));
                }
                break;
            }
        }
    }
    attach_new(forwarder, ifindex, ifname, mode);
}

bool detach_forwarder(const ForwarderIdentity& forwarder, const std::string& ifname) {
    std::uint32_t ifindex = interface_index(ifname);
    Multiprog mp = programs_on(ifindex, ifname);
    if (!mp) {
        return false;
    }
    enum xdp_attach_mode mode = xdp_multiprog__attach_mode(mp.get());
    if (xdp_multiprog__is_legacy(mp.get())) {
        std::uint32_t id = xdp_program__id(xdp_multiprog__main_prog(mp.get()));
        if (!is_forwarder(forwarder, id)) {
            return false;
        }
        detach_single(forwarder, ifindex, ifname, id, mode);
        return true;
    }
    bool detached = false;
    for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp.get()); p; p = xdp_multiprog__next_prog(p, mp.get())) {
        if (is_forwarder(forwarder, xdp_program__id(p))) {
            int error = xdp_program__detach(p, static_cast<int>(ifindex), mode, 0);
            if (error) {
                throw DataplaneError(std::string("cannot detach the julier ") + forwarder.name + " from " + ifname +
                                     ": " + xdp_error(error));
            }
            detached = true;
            break;  // the dispatcher was rebuilt: stop walking the old one
        }
    }
    return detached;
}

std::vector<std::string> forwarder_interfaces(const ForwarderIdentity& forwarder) {
    std::vector<std::string> names;
    struct if_nameindex* list = if_nameindex();
    if (!list) {
        throw DataplaneError(std::string("cannot list network interfaces: ") + std::strerror(errno));
    }
    std::unique_ptr<struct if_nameindex, void (*)(struct if_nameindex*)> guard(list, if_freenameindex);
    for (struct if_nameindex* i = list; i->if_index != 0; ++i) {
        LIBBPF_OPTS(bpf_xdp_query_opts, query);
        if (bpf_xdp_query(static_cast<int>(i->if_index), 0, &query) != 0 || query.attach_mode == XDP_ATTACHED_NONE) {
            continue;
        }
        Multiprog mp = programs_on(i->if_index, i->if_name);
        if (!mp) {
            continue;
        }
        bool ours = false;
        if (xdp_multiprog__is_legacy(mp.get())) {
            ours = is_forwarder(forwarder, xdp_program__id(xdp_multiprog__main_prog(mp.get())));
        } else {
            for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp.get()); p && !ours;
                 p = xdp_multiprog__next_prog(p, mp.get())) {
                ours = is_forwarder(forwarder, xdp_program__id(p));
            }
        }
        if (ours) {
            names.emplace_back(i->if_name);
        }
    }
    return names;
}

}  // namespace julier::dataplane
