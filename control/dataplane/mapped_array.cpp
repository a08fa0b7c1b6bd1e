#include "dataplane/mapped_array.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "dataplane/dataplane.h"

namespace julier::dataplane {

MappedArray::MappedArray(const MapRef& map, std::size_t entries)
    : entries_(entries), stride_((map.value_size + 7) & ~std::size_t{7}) {
    auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    mapped_ = (entries_ * stride_ + page - 1) / page * page;
    if (mapped_ == 0) {
        return;
    }
    void* memory = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_SHARED, map.fd, 0);
    if (memory == MAP_FAILED) {
        throw DataplaneError("cannot map " + map.name + " into memory (" + std::to_string(mapped_) +
                             " bytes): " + std::strerror(errno));
    }
    memory_ = memory;
}

MappedArray::~MappedArray() { unmap(); }

MappedArray::MappedArray(MappedArray&& other) noexcept
    : memory_(std::exchange(other.memory_, nullptr)),
      entries_(std::exchange(other.entries_, 0)),
      stride_(std::exchange(other.stride_, 0)),
      mapped_(std::exchange(other.mapped_, 0)) {}

MappedArray& MappedArray::operator=(MappedArray&& other) noexcept {
    if (this != &other) {
        unmap();
        memory_ = std::exchange(other.memory_, nullptr);
        entries_ = std::exchange(other.entries_, 0);
        stride_ = std::exchange(other.stride_, 0);
        mapped_ = std::exchange(other.mapped_, 0);
    }
    return *this;
}

void MappedArray::unmap() {
    if (memory_) {
        ::munmap(memory_, mapped_);
        memory_ = nullptr;
    }
}

}  // namespace julier::dataplane
