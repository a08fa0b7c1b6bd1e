// julierd's HTTP server: /metrics and the status page (site.h), HTTP/1.1 with
// Boost.Beast on the daemon's io_context (one worker thread, below), IPv4 or IPv6.
// Bounded like the control socket: at most kMaxConnections at once (the one over is
// told 503 and closed), one request at a time per connection and the next read only
// after its answer is written, request head at most kMaxHeaderBytes (431), no request
// body (413), and one deadline (Limits::timeout) for each request and its answer's
// write, so a client that trickles bytes or never reads cannot hold a slot past it.
// Keep-alive as the client asks. A handler runs on the loop and must be quick, but
// for the targets `off_loop` names: those run on one worker thread of the server's
// own (a /metrics scrape of a large catalogue takes long), and their answer is
// written from the loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "common/ip.h"

namespace julier::web {

class HttpError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Request {
    std::string_view method;  // as sent: "GET", "HEAD", "POST", ...
    std::string_view target;  // "/api/status?x=1"
};

struct Response {
    unsigned status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;                                            // for HEAD, only its length is sent
    std::vector<std::pair<std::string, std::string>> headers{};  // e.g. Allow
};

using Handler = std::function<Response(const Request&)>;
// True for a request target whose handler runs off the loop (it must be thread-safe).
using OffLoop = std::function<bool(const std::string& target)>;

struct Limits {
    std::size_t max_connections = 64;
    std::size_t max_header_bytes = 8 * 1024;
    // A request, from its first byte (or the end of the previous answer), and the
    // write of its answer.
    std::chrono::milliseconds timeout{10000};
};

// "198.18.0.1:9641" or "[2001:db8::1]:9641" (config::Metrics::listen()); throws
// HttpError saying what is wrong with it.
common::Endpoint parse_listen(const std::string& listen);

namespace detail {
struct ServerState;
}

class HttpServer {
public:
    // Binds and starts accepting; port 0 picks a free port. Throws HttpError naming
    // the address and why it cannot be served.
    HttpServer(boost::asio::io_context& io, const std::string& listen, Handler handler, Limits limits = {},
               OffLoop off_loop = {});
    ~HttpServer();  // close(), then waits for a handler running off the loop
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    // Stops accepting and drops open connections; the handler is not called again.
    void close();

    const std::string& listen() const { return listen_; }
    std::uint16_t port() const { return port_; }  // the bound port

private:
    std::shared_ptr<detail::ServerState> state_;
    std::string listen_;
    std::uint16_t port_ = 0;
};

}  // namespace julier::web
