// A blocking client of julierd's control socket: one request, one response.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

#include "daemon/protocol.h"

namespace julier::cli {

inline constexpr const char* kDefaultSocket = "/run/julier/julierd.sock";

// The daemon could not be reached or answered nonsense; the message says what to do.
class ClientError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class ControlClient {
public:
    // Connects; throws ClientError ("julierd is not running ...", "permission denied ...").
    explicit ControlClient(std::string socket_path);
    ~ControlClient();
    ControlClient(const ControlClient&) = delete;
    ControlClient& operator=(const ControlClient&) = delete;

    // Sends one request and waits up to `timeout` for its response line.
    daemon::protocol::Response call(const daemon::protocol::Request& request,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(60));

private:
    void send_all(const std::string& data, std::chrono::steady_clock::time_point deadline);
    std::string read_line(std::chrono::steady_clock::time_point deadline);

    std::string path_;
    int fd_ = -1;
    std::string pending_;  // bytes read past the last line
};

}  // namespace julier::cli
