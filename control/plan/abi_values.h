// Value semantics for the ABI's C structs, so that plans holding them compare with
// `==`. Every ABI struct names its padding explicitly and is zero-initialised before
// use, so comparing bytes compares values.
#pragma once

#include <cstring>

#include "julier/abi.h"

inline bool operator==(const jl_vip_key& a, const jl_vip_key& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }
inline bool operator==(const jl_vip& a, const jl_vip& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }
inline bool operator==(const jl_backend& a, const jl_backend& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }
inline bool operator==(const jl_settings& a, const jl_settings& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }
