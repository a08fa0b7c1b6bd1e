// A human-readable account of a catalogue for `julierd --check`: services,
// backends, ring sizes and what the BPF maps will cost.
#pragma once

#include <string>

#include "config/catalogue.h"

namespace julier::config {

// With the number of possible CPUs of this machine (for per-CPU maps).
std::string summarize(const Catalogue& catalogue);
std::string summarize(const Catalogue& catalogue, unsigned cpus);

}  // namespace julier::config
