#include "cli/top_terminal.h"

#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>

namespace julier::cli::top {
namespace {

constexpr char kEnter[] = "\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J";  // alternate screen, cursor hidden
constexpr char kLeave[] = "\x1b[?25h\x1b[?1049l";               // cursor shown, normal screen

// What a signal handler needs to put the terminal back (async-signal-safe only).
termios saved_termios{};
volatile sig_atomic_t termios_saved = 0;
volatile sig_atomic_t resized = 0;
constexpr int kEndSignals[] = {SIGINT, SIGTERM, SIGHUP};

void write_all(const char* data, std::size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(STDOUT_FILENO, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;  // nothing better to do with a terminal that went away
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

void restore() {
    write_all(kLeave, sizeof(kLeave) - 1);
    if (termios_saved) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
}

void on_end_signal(int sig) {
    const int saved_errno = errno;
    restore();
    // End as the signal would have ended the program without this handler.
    ::signal(sig, SIG_DFL);
    ::raise(sig);
    errno = saved_errno;
}

void on_resize(int) { resized = 1; }

void set_handler(int sig, void (*handler)(int)) {
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: poll() returns at once on a resize
    ::sigaction(sig, &sa, nullptr);
}

}  // namespace

Terminal::Terminal() {
    if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
        termios raw = saved_termios;
        // Keys one at a time and unechoed; Ctrl-C still interrupts, Ctrl-Z does not
        // stop the program with the terminal in this mode.
        raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        raw.c_cc[VSUSP] = _POSIX_VDISABLE;
        termios_saved = 1;
        keys_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
    }
    for (int sig : kEndSignals) set_handler(sig, on_end_signal);
    set_handler(SIGWINCH, on_resize);
    write_all(kEnter, sizeof(kEnter) - 1);
}

Terminal::~Terminal() {
    for (int sig : kEndSignals) ::signal(sig, SIG_DFL);
    ::signal(SIGWINCH, SIG_DFL);
    restore();
    termios_saved = 0;
}

Terminal::Size Terminal::size() const {
    winsize ws{};
    Size size;
    if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
        size.rows = ws.ws_row;
        size.columns = ws.ws_col;
    }
    return size;
}

void Terminal::draw(const std::vector<std::string>& lines) {
    std::string out = "\x1b[H";  // home, then each line over the old one
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (i > 0) out += "\r\n";
        out += lines[i];
        out += "\x1b[K";  // the rest of the old line
    }
    out += "\x1b[J";  // and the old lines below
    write_all(out.data(), out.size());
}

Terminal::Event Terminal::wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (resized) {
            resized = 0;
            return Event::resized;
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (left <= 0) return Event::timeout;
        pollfd p{STDIN_FILENO, POLLIN, 0};
        const int ready = ::poll(&p, keys_ ? 1 : 0, static_cast<int>(left));
        if (ready < 0) {
            if (errno == EINTR) continue;
            throw std::runtime_error(std::string("cannot wait for the terminal: ") + std::strerror(errno));
        }
        if (ready == 0) continue;
        if (p.revents & (POLLHUP | POLLERR | POLLNVAL)) return Event::quit;  // the terminal went away
        char keys[64];
        const ssize_t n = ::read(STDIN_FILENO, keys, sizeof(keys));
        if (n < 0 && errno != EINTR && errno != EAGAIN) return Event::quit;
        for (ssize_t i = 0; i < n; ++i) {
            if (keys[i] == 'q' || keys[i] == 'Q') return Event::quit;
        }
    }
}

}  // namespace julier::cli::top
