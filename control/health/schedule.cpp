#include "health/schedule.h"

namespace julier::health {

std::uint64_t stable_hash(std::string_view bytes) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 0x100000001b3ull;
    }
    // splitmix64 finaliser: FNV alone leaves the high bits weakly mixed for short keys.
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

Clock::duration phase_offset(std::uint64_t hash, Clock::duration interval) {
    if (interval <= Clock::duration::zero()) return Clock::duration::zero();
    auto span = static_cast<unsigned __int128>(interval.count());
    auto scaled = (static_cast<unsigned __int128>(hash) * span) >> 64;
    return Clock::duration(static_cast<Clock::rep>(scaled));
}

TimePoint next_slot(TimePoint epoch, Clock::duration interval, Clock::duration offset, TimePoint not_before) {
    TimePoint first = epoch + offset;
    if (not_before <= first || interval <= Clock::duration::zero()) return first;
    auto behind = (not_before - first).count();
    auto step = interval.count();
    auto k = (behind + step - 1) / step;  // ceil: the slot at or after not_before
    return first + Clock::duration(k * step);
}

}  // namespace julier::health
