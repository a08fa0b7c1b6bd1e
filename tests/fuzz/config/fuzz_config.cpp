// libFuzzer harness: any bytes as a catalogue file -> parse + validate -> summary.
// Besides the sanitizers, checks what callers rely on: no exception escapes, a
// result is either a catalogue without errors or at least one error, and every
// diagnostic says something and points inside the text (or at the whole file).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "config/parse.h"
#include "config/summary.h"

namespace {

void require(bool condition, const char* what) {
    if (!condition) {
        std::fprintf(stderr, "invariant broken: %s\n", what);
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto result = julier::config::parse_catalogue_text(text, "fuzz.yaml");

    std::size_t lines = 1;
    for (char c : text) lines += c == '\n';
    for (const auto& d : result.diagnostics) {
        require(!d.message.empty(), "a diagnostic without a message");
        require(d.location.file == "fuzz.yaml", "a diagnostic naming another file");
        require(d.location.line >= 0 && static_cast<std::size_t>(d.location.line) <= lines + 1,
                "a diagnostic past the end of the text");
        require(!d.to_string().empty(), "an empty rendered diagnostic");
    }
    if (result.ok()) {
        require(result.errors() == 0, "a catalogue with errors");
        require(!julier::config::summarize(*result.catalogue, 4).empty(), "an empty summary");
    } else {
        require(result.errors() > 0, "no catalogue and no error");
    }
    return 0;
}
