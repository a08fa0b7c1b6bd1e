// Typed-enough helpers over the bpf(2) map commands: batched writes and reads with
// a per-element fallback, key iteration and per-CPU sums. Every failure throws
// DataplaneError naming the map and the kernel's errno.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace julier::dataplane {

// An owned file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd();
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }

private:
    int fd_ = -1;
};

// A map as the helpers see it: its fd, its name for messages, its sizes.
struct MapRef {
    int fd = -1;
    std::string name;
    std::size_t key_size = 0;
    std::size_t value_size = 0;
};

// keys and values are `count` packed elements each.
void update_elements(const MapRef& map, const void* keys, const void* values, std::size_t count);
void delete_elements(const MapRef& map, const void* keys, std::size_t count);
void update_element(const MapRef& map, const void* key, const void* value);
// False when the key is absent.
bool lookup_element(const MapRef& map, const void* key, void* value);

// Every key of a hash map (packed). The map may change meanwhile; keys deleted
// during the walk may be missed or seen, which callers tolerate.
std::vector<std::uint8_t> map_keys(const MapRef& map);

// Values of array indexes [first, first + count), packed with the map's value size
// (for per-CPU maps: value_size is the per-CPU stride times the CPU count).
void read_array(const MapRef& map, std::uint32_t first, std::uint32_t count, void* values);

// The size of one CPU's slot in a per-CPU map value (rounded up to 8 bytes).
std::size_t percpu_stride(std::size_t value_size);

}  // namespace julier::dataplane
