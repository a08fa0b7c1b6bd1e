// Descriptors a check command must never inherit. Boost.Asio opens and accepts
// sockets without close-on-exec; julierd sets it on each (set_close_on_exec), and a
// child closes everything it does not need before execve (close_from) even where
// close_range is missing or filtered.
#pragma once

namespace julier::common {

// Sets FD_CLOEXEC on fd; false (errno set) when fcntl fails.
bool set_close_on_exec(int fd);

// Closes every descriptor numbered `lowest` or above: close_range where it works,
// else each descriptor /proc/self/fd lists, else every number below the descriptor
// limit. System calls only, so it is safe between fork and execve.
void close_from(unsigned lowest);

}  // namespace julier::common
