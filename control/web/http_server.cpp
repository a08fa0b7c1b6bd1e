#include "web/http_server.h"

#include <algorithm>
#include <list>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "common/descriptors.h"

namespace julier::web {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Tcp = asio::ip::tcp;

Tcp::endpoint to_endpoint(const common::Endpoint& where) {
    if (where.address.is_v4()) {
        asio::ip::address_v4::bytes_type bytes{};
        std::copy_n(where.address.bytes.begin(), bytes.size(), bytes.begin());
        return {asio::ip::address_v4(bytes), where.port};
    }
    asio::ip::address_v6::bytes_type bytes{};
    std::copy_n(where.address.bytes.begin(), bytes.size(), bytes.begin());
    return {asio::ip::address_v6(bytes), where.port};
}

class Session;

}  // namespace

struct detail::ServerState {
    ServerState(asio::io_context& io_, Handler handler_, Limits limits_, OffLoop off_loop_)
        : io(io_), handler(std::move(handler_)), limits(limits_), off_loop(std::move(off_loop_)), acceptor(io_) {}

    asio::io_context& io;
    Handler handler;
    Limits limits;
    OffLoop off_loop;
    asio::thread_pool worker{1};  // the handlers of off_loop targets, one at a time
    Tcp::acceptor acceptor;
    std::list<std::weak_ptr<Session>> sessions;
    bool closed = false;

    std::size_t live_sessions() {
        sessions.remove_if([](const auto& s) { return s.expired(); });
        return sessions.size();
    }
};

namespace {

using State = detail::ServerState;

// A refusal of the server itself (not of the handler): the connection closes after it.
Response refusal(unsigned status, std::string text) {
    return Response{status, "text/plain; charset=utf-8", text + "\n"};
}

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(std::shared_ptr<State> state, Tcp::socket socket)
        : state_(std::move(state)), stream_(std::move(socket)), buffer_(state_->limits.max_header_bytes) {}

    void start() { read_next(); }

    void stop() {
        boost::system::error_code ignored;
        stream_.socket().shutdown(Tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

private:
    void read_next() {
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(state_->limits.max_header_bytes));
        // One deadline for the whole request and the write of its answer.
        stream_.expires_after(state_->limits.timeout);
        http::async_read(stream_, buffer_, *parser_,
                         [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(beast::error_code ec) {
        if (state_->closed) return;
        if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
            send(refusal(431, fmt::format("request head larger than {} bytes", state_->limits.max_header_bytes)), "",
                 11, /*keep_alive=*/false);
            return;
        }
        if (ec == http::error::unexpected_body || ec == http::error::body_limit) {
            send(refusal(413, "no request body is accepted"), "", 11, false);
            return;
        }
        if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
            ec == asio::error::connection_reset || ec == asio::error::eof) {
            stop();
            return;
        }
        if (ec) {
            send(refusal(400, "malformed request"), "", 11, false);
            return;
        }
        const auto& request = parser_->get();
        const std::string method(request.method_string());
        const std::string target(request.target());
        const unsigned version = request.version();
        const bool keep_alive = request.keep_alive();
        if (state_->off_loop && state_->off_loop(target)) {
            asio::post(state_->worker, [self = shared_from_this(), method, target, version, keep_alive] {
                Response response = self->run_handler(method, target, "worker_ms");
                asio::post(self->stream_.get_executor(),
                           [self, response = std::move(response), method, version, keep_alive]() mutable {
                               if (self->state_->closed) return self->stop();
                               self->send(std::move(response), method, version, keep_alive);
                           });
            });
            return;
        }
        send(run_handler(method, target, "loop_ms"), method, version, keep_alive);
    }

    // The handler's answer (500 if it throws), and how long it took, in the debug log.
    Response run_handler(const std::string& method, const std::string& target, const char* where) {
        Response response;
        const auto started = std::chrono::steady_clock::now();
        try {
            response = state_->handler(Request{method, target});
        } catch (const std::exception& e) {
            spdlog::error("http request failed method={:?} target={:?} error={:?}", method, target.substr(0, 200),
                          std::string(e.what()));
            response = refusal(500, "internal error");
        }
        spdlog::debug("http request method={:?} target={:?} status={} {}={:.2f}", method, target.substr(0, 200),
                      response.status, where,
                      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
        return response;
    }

    void send(Response response, const std::string& method, unsigned version, bool keep_alive) {
        response_ = {};
        response_.version(version);
        response_.result(response.status);
        response_.set(http::field::content_type, response.content_type);
        response_.set(http::field::cache_control, "no-store");
        response_.set("X-Content-Type-Options", "nosniff");
        for (const auto& [name, value] : response.headers) response_.set(name, value);
        response_.keep_alive(keep_alive);
        if (method == "HEAD") {
            response_.content_length(response.body.size());
        } else {
            response_.body() = std::move(response.body);
            response_.prepare_payload();
        }
        http::async_write(stream_, response_,
                          [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                              if (ec || self->state_->closed) return self->stop();
                              if (keep_alive) return self->read_next();
                              self->finish();
                          });
    }

    // After the last answer: no more sending, and what the client still sends is
    // read and dropped until it closes or the deadline passes, so closing with
    // unread data (a reset) cannot destroy the answer before the client reads it.
    void finish() {
        boost::system::error_code ignored;
        stream_.socket().shutdown(Tcp::socket::shutdown_send, ignored);
        stream_.expires_after(std::chrono::seconds(1));
        stream_.async_read_some(asio::buffer(drain_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec || self->state_->closed) return self->stop();
            self->finish();
        });
    }

    std::shared_ptr<State> state_;
    beast::tcp_stream stream_;
    // Bounded: a head that outgrows it is refused (buffer_overflow).
    beast::flat_buffer buffer_;
    // empty_body: any body is refused (unexpected_body).
    std::optional<http::request_parser<http::empty_body>> parser_;
    http::response<http::string_body> response_;
    std::array<char, 4096> drain_{};
};

void accept_next(const std::shared_ptr<State>& state) {
    state->acceptor.async_accept([state](const boost::system::error_code& ec, Tcp::socket socket) {
        if (state->closed || ec == asio::error::operation_aborted) return;
        if (ec) {
            spdlog::warn("http accept failed error={}", ec.message());
        } else {
            common::set_close_on_exec(socket.native_handle());  // nothing forks between accept and here
            if (state->live_sessions() >= state->limits.max_connections) {
                // A fresh socket's send buffer is empty: this short write cannot block.
                static const std::string busy =
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    "Content-Length: 26\r\nConnection: close\r\n\r\ntoo many open connections\n";
                boost::system::error_code ignored;
                asio::write(socket, asio::buffer(busy), ignored);
                socket.shutdown(Tcp::socket::shutdown_both, ignored);
                socket.close(ignored);
            } else {
                auto session = std::make_shared<Session>(state, std::move(socket));
                state->sessions.push_back(session);
                session->start();
            }
        }
        accept_next(state);
    });
}

}  // namespace

common::Endpoint parse_listen(const std::string& listen) {
    auto where = common::Endpoint::parse(listen);
    if (!where)
        throw HttpError(
            fmt::format("invalid listen address \"{}\" (expected an address and a port, e.g. "
                        "127.0.0.1:9641 or [::1]:9641)",
                        listen));
    return *where;
}

HttpServer::HttpServer(asio::io_context& io, const std::string& listen, Handler handler, Limits limits,
                       OffLoop off_loop)
    : state_(std::make_shared<detail::ServerState>(io, std::move(handler), limits, std::move(off_loop))),
      listen_(listen) {
    const auto endpoint = to_endpoint(parse_listen(listen));
    auto& acceptor = state_->acceptor;
    const auto fail = [&](const boost::system::error_code& ec) {
        return HttpError(fmt::format("cannot listen on {}: {}", listen, ec.message()));
    };
    boost::system::error_code ec;
    acceptor.open(endpoint.protocol(), ec);
    if (ec) throw fail(ec);
    // Asio opens and accepts without close-on-exec: no exec check may inherit these.
    common::set_close_on_exec(acceptor.native_handle());
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
    acceptor.bind(endpoint, ec);
    if (ec) throw fail(ec);
    acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw fail(ec);
    port_ = acceptor.local_endpoint().port();
    accept_next(state_);
}

HttpServer::~HttpServer() {
    close();
    // A handler still running off the loop finishes before what it reads goes away;
    // its answer, posted to the loop, is dropped with the session.
    if (state_) state_->worker.join();
}

void HttpServer::close() {
    if (!state_ || state_->closed) return;
    state_->closed = true;
    boost::system::error_code ignored;
    state_->acceptor.close(ignored);
    for (auto& entry : state_->sessions) {
        if (auto session = entry.lock()) session->stop();
    }
    state_->sessions.clear();
}

}  // namespace julier::web
