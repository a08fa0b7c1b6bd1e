// The pin directory: a bpffs directory holding one file per map and one for the
// program, so that forwarding state outlives the daemon.
#pragma once

#include <string>
#include <vector>

namespace julier::dataplane {

// Name of the program's pin inside the pin directory.
inline constexpr const char* kProgramPin = "prog";

// Makes sure pin_dir exists on a bpffs. Mounts bpffs at /sys/fs/bpf when pin_dir
// lies below it and nothing is mounted there (`ip netns exec` shows an unmounted
// /sys/fs/bpf, for one). Throws DataplaneError saying what to do otherwise.
void prepare_pin_dir(const std::string& pin_dir);

std::string pin_path(const std::string& pin_dir, const std::string& name);
bool pin_exists(const std::string& pin_dir, const std::string& name);

// Removes the named pins (absent ones are fine), then the directory if that left
// it empty. Never removes anything it was not told to.
void remove_pins(const std::string& pin_dir, const std::vector<std::string>& names);

}  // namespace julier::dataplane
