#include "plan/ring.h"

namespace julier::plan {

Ring::Ring(std::vector<std::uint32_t> slots) {
    if (!slots.empty()) {
        slots_ = std::make_shared<const std::vector<std::uint32_t>>(std::move(slots));
    }
}

const std::vector<std::uint32_t>& Ring::slots() const {
    static const std::vector<std::uint32_t> kNone;
    return slots_ ? *slots_ : kNone;
}

}  // namespace julier::plan
