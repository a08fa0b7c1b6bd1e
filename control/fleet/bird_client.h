// BIRD's control socket without blocking julierd's event loop: each command on a
// fresh connection (greeting, command, reply), every step asynchronous, the whole
// exchange bounded by one deadline. A BIRD that never accepts, never greets or
// never answers costs a failed command after the timeout, never a stalled loop.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "fleet/bird_reply.h"

namespace julier::fleet {

namespace detail {
struct BirdExchange;
}

class BirdClient {
public:
    // `error` is empty on success; else it says what failed ("BIRD did not answer
    // 'configure' in time", "BIRD refused 'configure': ..."). Runs on the
    // io_context, exactly once per command, unless cancel() came first.
    using Done = std::function<void(std::vector<ReplyLine> lines, std::string error)>;

    BirdClient(boost::asio::io_context& io, std::string socket_path,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
    ~BirdClient();
    BirdClient(const BirdClient&) = delete;
    BirdClient& operator=(const BirdClient&) = delete;

    void command(const std::string& command, Done done);
    // Commands started and not finished yet.
    std::size_t in_flight() const;
    // Drops every command in flight; their Done callbacks never run.
    void cancel();

    const std::string& socket_path() const { return socket_path_; }

private:
    boost::asio::io_context& io_;
    std::string socket_path_;
    std::chrono::milliseconds timeout_;
    std::vector<std::weak_ptr<detail::BirdExchange>> exchanges_;
};

}  // namespace julier::fleet
