// `julierctl top`: julierd's traffic per service and backend, refreshed in place on
// a terminal, or a block per refresh when standard output is no terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "cli/top_model.h"

namespace julier::cli::top {

struct Options {
    std::string socket;
    std::chrono::milliseconds interval{1000};
    std::string service;           // only this one; empty: all
    std::uint64_t iterations = 0;  // refreshes to show, then exit; 0: until `q`
    Sort sort = Sort::rate;
};

// Exit status as julierctl's: 0 done; 1 julierd refused (e.g. no such service);
// 2 julierd could not be reached or answered something unreadable. Only the first
// reading and, without a terminal, any reading end it so; on a terminal a failure
// is shown and the next refresh tries again.
int run(const Options& options);

}  // namespace julier::cli::top
