// Where libbpf's and libxdp's messages go: the daemon's log (warnings as warnings,
// the rest as debug), or, while a CapturedWarnings is alive on the thread, into
// its buffer, so that an operation can quote them in its error or drop them when
// they describe an expected fallback (libxdp's dispatcher on this kernel).
#pragma once

#include <string>

namespace julier::dataplane {

// Installs the routing once per process.
void route_library_messages();

class CapturedWarnings {
public:
    CapturedWarnings();
    ~CapturedWarnings();
    CapturedWarnings(const CapturedWarnings&) = delete;
    CapturedWarnings& operator=(const CapturedWarnings&) = delete;

    const std::string& text() const { return text_; }
    // The last few thousand characters: where a verifier says what it refused.
    std::string tail() const;

private:
    std::string text_;
    CapturedWarnings* outer_;
};

}  // namespace julier::dataplane
