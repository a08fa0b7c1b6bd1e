#include "daemon/background.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace julier::daemon {

Background Background::detach() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("cannot create a pipe to detach: ") + std::strerror(errno));
    }
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error(std::string("cannot fork to detach: ") + std::strerror(errno));

    if (pid > 0) {
        // Parent: one byte means ready; end of file means the child failed.
        ::close(fds[1]);
        char byte = 0;
        ssize_t n;
        do {
            n = ::read(fds[0], &byte, 1);
        } while (n < 0 && errno == EINTR);
        if (n == 1) std::_Exit(0);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        std::_Exit(WIFEXITED(status) && WEXITSTATUS(status) != 0 ? WEXITSTATUS(status) : 1);
    }

    ::close(fds[0]);
    if (setsid() < 0) std::perror("julierd: setsid");
    // Do not keep the directory it was started from busy (e.g. an unmountable /home).
    if (::chdir("/") != 0) std::perror("julierd: chdir /");
    return Background(fds[1]);
}

Background::Background(Background&& other) noexcept : ready_fd_(other.ready_fd_) { other.ready_fd_ = -1; }

Background::~Background() {
    if (ready_fd_ >= 0) ::close(ready_fd_);
}

void Background::ready() {
    if (ready_fd_ < 0) return;
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        std::fflush(nullptr);
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);
        ::dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO) ::close(null);
    }
    const char byte = 1;
    while (::write(ready_fd_, &byte, 1) < 0 && errno == EINTR) {
    }
    ::close(ready_fd_);
    ready_fd_ = -1;
}

}  // namespace julier::daemon
