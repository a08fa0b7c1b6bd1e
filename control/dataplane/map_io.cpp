#include "dataplane/map_io.h"

#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "dataplane/dataplane.h"

namespace julier::dataplane {

namespace {

// Elements per batch syscall: bounds the kernel's temporary buffers and the time
// the syscall runs without returning to user space.
constexpr std::size_t kBatch = 16384;

// ENOTSUPP (524) is kernel-internal but reaches user space for unsupported batches.
bool batch_unsupported(int error) { return error == EINVAL || error == EOPNOTSUPP || error == 524; }

[[noreturn]] void fail(const MapRef& map, const char* what, int error) {
    throw DataplaneError(std::string(what) + " " + map.name + ": " + std::strerror(error));
}

const std::uint8_t* bytes(const void* p) { return static_cast<const std::uint8_t*>(p); }
std::uint8_t* bytes(void* p) { return static_cast<std::uint8_t*>(p); }

}  // namespace

Fd::~Fd() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

Fd& Fd::operator=(Fd&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = other.release();
    }
    return *this;
}

std::size_t percpu_stride(std::size_t value_size) { return (value_size + 7) & ~std::size_t{7}; }

void update_element(const MapRef& map, const void* key, const void* value) {
    if (bpf_map_update_elem(map.fd, key, value, BPF_ANY) != 0) {
        fail(map, "cannot write", errno);
    }
}

bool lookup_element(const MapRef& map, const void* key, void* value) {
    if (bpf_map_lookup_elem(map.fd, key, value) == 0) {
        return true;
    }
    if (errno == ENOENT) {
        return false;
    }
    fail(map, "cannot read", errno);
}

void update_elements(const MapRef& map, const void* keys, const void* values, std::size_t count) {
    LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY, .flags = 0);
    std::size_t done = 0;
    while (done < count) {
        auto chunk = static_cast<__u32>(std::min(kBatch, count - done));
        __u32 written = chunk;
        const void* k = bytes(keys) + done * map.key_size;
        const void* v = bytes(values) + done * map.value_size;
        if (bpf_map_update_batch(map.fd, k, v, &written, &opts) == 0) {
            done += chunk;
            continue;
        }
        int error = errno;
        if (!batch_unsupported(error) || written != 0) {
            fail(map, "cannot write", error);
        }
        for (; done < count; ++done) {  // no batch support: one by one
            update_element(map, bytes(keys) + done * map.key_size, bytes(values) + done * map.value_size);
        }
    }
}

void delete_elements(const MapRef& map, const void* keys, std::size_t count) {
    LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
    std::size_t done = 0;
    while (done < count) {
        auto chunk = static_cast<__u32>(std::min(kBatch, count - done));
        __u32 deleted = chunk;
        const void* k = bytes(keys) + done * map.key_size;
        if (bpf_map_delete_batch(map.fd, k, &deleted, &opts) == 0) {
            done += chunk;
            continue;
        }
        int error = errno;
        if (!batch_unsupported(error) && error != ENOENT) {
            fail(map, "cannot delete from", error);
        }
        // Unsupported, or a key already gone (ENOENT stops a batch): one by one,
        // where absence is what we wanted anyway.
        for (; done < count; ++done) {
            if (bpf_map_delete_elem(map.fd, bytes(keys) + done * map.key_size) != 0 && errno != ENOENT) {
                fail(map, "cannot delete from", errno);
            }
        }
    }
}

std::vector<std::uint8_t> map_keys(const MapRef& map) {
    std::vector<std::uint8_t> keys;
    std::vector<std::uint8_t> next(map.key_size);
    const void* previous = nullptr;
    for (;;) {
        if (bpf_map_get_next_key(map.fd, previous, next.data()) != 0) {
            if (errno == ENOENT) {
                return keys;
            }
            fail(map, "cannot list the keys of", errno);
        }
        keys.insert(keys.end(), next.begin(), next.end());
        previous = keys.data() + keys.size() - map.key_size;
    }
}

void read_array(const MapRef& map, std::uint32_t first, std::uint32_t count, void* values) {
    LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
    std::vector<std::uint32_t> keys(std::min<std::size_t>(kBatch, count));
    std::uint32_t done = 0;
    bool batches = true;
    while (done < count && batches) {
        // The batch continues after the key in `in_batch`; none = from index 0.
        std::uint32_t previous = first + done - 1;
        void* in = (first + done == 0) ? nullptr : &previous;
        std::uint32_t out = 0;
        auto got = static_cast<__u32>(std::min<std::size_t>(kBatch, count - done));
        int rc = bpf_map_lookup_batch(map.fd, in, &out, keys.data(), bytes(values) + std::size_t{done} * map.value_size,
                                      &got, &opts);
        int error = rc != 0 ? errno : 0;
        if (rc != 0 && error != ENOENT) {
            if (batch_unsupported(error) && got == 0) {
                batches = false;
                break;
            }
            fail(map, "cannot read", error);
        }
        if (got == 0) {
            fail(map, "cannot read", ENOENT);  // asked past the end of the array
        }
        done += got;
    }
    for (; done < count; ++done) {
        std::uint32_t key = first + done;
        if (bpf_map_lookup_elem(map.fd, &key, bytes(values) + std::size_t{done} * map.value_size) != 0) {
            fail(map, "cannot read", errno);
        }
    }
}

}  // namespace julier::dataplane
