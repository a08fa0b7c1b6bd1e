#include "dataplane/library_log.h"

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace julier::dataplane {

namespace {

thread_local CapturedWarnings* capture = nullptr;
thread_local std::string* capture_text = nullptr;

void forward(bool warning, const char* format, va_list args) {
    char text[2048];
    std::vsnprintf(text, sizeof(text), format, args);
    std::string line(text);
    while (!line.empty() && line.back() == '\n') {
        line.pop_back();
    }
    if (warning && capture_text) {
        *capture_text += line + "\n";
        spdlog::debug("{}", line);
    } else if (warning) {
        spdlog::warn("{}", line);
    } else {
        spdlog::debug("{}", line);
    }
}

int libbpf_message(enum libbpf_print_level level, const char* format, va_list args) {
    forward(level == LIBBPF_WARN, format, args);
    return 0;
}

int libxdp_message(enum libxdp_print_level level, const char* format, va_list args) {
    forward(level == LIBXDP_WARN, format, args);
    return 0;
}

}  // namespace

void route_library_messages() {
    static std::once_flag once;
    std::call_once(once, [] {
        libbpf_set_print(libbpf_message);
        libxdp_set_print(libxdp_message);
    });
}

CapturedWarnings::CapturedWarnings() : outer_(capture) {
    capture = this;
    capture_text = &text_;
}

CapturedWarnings::~CapturedWarnings() {
    capture = outer_;
    capture_text = outer_ ? &outer_->text_ : nullptr;
}

std::string CapturedWarnings::tail() const {
    constexpr std::size_t kKeep = 3000;
    return text_.size() <= kKeep ? text_ : "..." + text_.substr(text_.size() - kKeep);
}

}  // namespace julier::dataplane
