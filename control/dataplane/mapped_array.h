// A BPF array map created with BPF_F_MMAPABLE, mapped into this process: its values
// are read and written with plain memory accesses instead of one bpf(2) copy per
// element. The mapping ends with the object; the map lives on (pinned).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/map_io.h"

namespace julier::dataplane {

class MappedArray {
public:
    MappedArray() = default;
    // Maps `entries` values of map.value_size bytes, read-write. Throws DataplaneError
    // naming the map when the kernel refuses (a map without BPF_F_MMAPABLE).
    MappedArray(const MapRef& map, std::size_t entries);
    ~MappedArray();
    MappedArray(MappedArray&& other) noexcept;
    MappedArray& operator=(MappedArray&& other) noexcept;
    MappedArray(const MappedArray&) = delete;
    MappedArray& operator=(const MappedArray&) = delete;

    // The kernel keeps each value of an array in a multiple of 8 bytes: a __u32 value
    // takes 8, so element i starts at i * stride().
    std::size_t stride() const { return stride_; }
    std::uint8_t* element(std::size_t index) const { return static_cast<std::uint8_t*>(memory_) + index * stride_; }
    std::size_t entries() const { return entries_; }

private:
    void unmap();

    void* memory_ = nullptr;
    std::size_t entries_ = 0;
    std::size_t stride_ = 0;
    std::size_t mapped_ = 0;  // bytes, rounded up to whole pages
};

}  // namespace julier::dataplane
