// When each target is probed: every `interval`, at a fixed phase within the
// interval derived from the target's identity. Phases of many targets spread
// evenly over the interval (no burst at start-up or after a reload), and a target
// keeps its phase across reloads. Pure.
#pragma once

#include <cstdint>
#include <string_view>

#include "health/backend_health.h"

namespace julier::health {

// 64-bit FNV-1a with a final avalanche step, so that similar names (svc-1, svc-2)
// land far apart. Stable across builds and platforms, unlike std::hash.
std::uint64_t stable_hash(std::string_view bytes);

// The phase of a target with hash `hash` in [0, interval): the hash scaled to the
// interval, so phases are as uniform as the hash.
Clock::duration phase_offset(std::uint64_t hash, Clock::duration interval);

// The first slot epoch + offset + k * interval (k >= 0) that is not before
// `not_before`. interval must be positive.
TimePoint next_slot(TimePoint epoch, Clock::duration interval, Clock::duration offset, TimePoint not_before);

}  // namespace julier::health
