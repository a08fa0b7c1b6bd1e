// The version julierd and julierctl report (the project version from CMake).
#pragma once

namespace julier::daemon {

#ifndef JULIER_VERSION
#error "JULIER_VERSION must be defined by the build"
#endif

inline constexpr const char* kVersion = JULIER_VERSION;

}  // namespace julier::daemon
