#include "fleet/bird_client.h"

#include <algorithm>
#include <array>
#include <utility>

#include <fmt/format.h>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "common/descriptors.h"

namespace julier::fleet {

namespace asio = boost::asio;
using Stream = asio::local::stream_protocol;

struct detail::BirdExchange : std::enable_shared_from_this<detail::BirdExchange> {
    BirdExchange(asio::io_context& io, std::string command_, BirdClient::Done done_)
        : socket(io), deadline(io), command(std::move(command_)), done(std::move(done_)) {}

    Stream::socket socket;
    asio::steady_timer deadline;
    std::string command;
    BirdClient::Done done;
    std::string line;  // the command as sent
    std::array<char, 4096> buffer{};
    ReplyReader greeting;
    ReplyReader reply;
    std::string step = "its greeting";
    bool finished = false;

    void start(const std::string& path, std::chrono::milliseconds timeout) {
        deadline.expires_after(timeout);
        deadline.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
            if (ec) return;
            if (auto self = weak.lock()) self->finish({}, fmt::format("BIRD did not answer {} in time", self->step));
        });
        boost::system::error_code ec;
        socket.open(Stream(), ec);
        if (!ec && !common::set_close_on_exec(socket.native_handle()))
            ec.assign(errno, boost::system::system_category());
        if (ec) return finish_later(fmt::format("socket: {}", ec.message()));
        socket.async_connect(Stream::endpoint(path), [self = shared_from_this(), path](const auto& error) {
            if (self->finished) return;
            if (error) return self->finish({}, fmt::format("cannot connect to BIRD at {}: {}", path, error.message()));
            self->read(self->greeting, [self] { self->send(); });
        });
    }

    template <typename Next>
    void read(ReplyReader& reader, Next next) {
        socket.async_read_some(
            asio::buffer(buffer), [self = shared_from_this(), &reader, next](const auto& error, std::size_t n) {
                if (self->finished) return;
                if (error == asio::error::eof)
                    return self->finish({}, fmt::format("BIRD closed the connection during {}", self->step));
                if (error) return self->finish({}, fmt::format("reading from BIRD: {}", error.message()));
                reader.feed(std::string_view(self->buffer.data(), n));
                if (reader.done()) return next();
                self->read(reader, next);
            });
    }

    void send() {
        step = fmt::format("'{}'", command);
        line = command + "\n";
        asio::async_write(socket, asio::buffer(line), [self = shared_from_this()](const auto& error, std::size_t) {
            if (self->finished) return;
            if (error) return self->finish({}, fmt::format("writing to BIRD: {}", error.message()));
            self->read(self->reply, [self] {
                if (auto refused = self->reply.error())
                    return self->finish({}, fmt::format("BIRD refused '{}': {}", self->command, *refused));
                self->finish(self->reply.lines(), {});
            });
        });
    }

    // An error found before any asynchronous step: still reported from the loop.
    void finish_later(std::string error) {
        asio::post(socket.get_executor(),
                   [self = shared_from_this(), error = std::move(error)] { self->finish({}, error); });
    }

    void finish(std::vector<ReplyLine> lines, std::string error) {
        if (finished) return;
        finished = true;
        deadline.cancel();
        boost::system::error_code ignored;
        socket.close(ignored);
        auto callback = std::move(done);
        if (callback) callback(std::move(lines), std::move(error));
    }

    void drop() {
        finished = true;
        done = nullptr;
        deadline.cancel();
        boost::system::error_code ignored;
        socket.close(ignored);
    }
};

BirdClient::BirdClient(asio::io_context& io, std::string socket_path, std::chrono::milliseconds timeout)
    : io_(io), socket_path_(std::move(socket_path)), timeout_(timeout) {}

BirdClient::~BirdClient() { cancel(); }

void BirdClient::command(const std::string& command, Done done) {
    std::erase_if(exchanges_, [](const auto& w) { return w.expired(); });
    auto exchange = std::make_shared<detail::BirdExchange>(io_, command, std::move(done));
    exchanges_.push_back(exchange);
    exchange->start(socket_path_, timeout_);
}

std::size_t BirdClient::in_flight() const {
    return static_cast<std::size_t>(std::count_if(exchanges_.begin(), exchanges_.end(), [](const auto& w) {
        auto e = w.lock();
        return e && !e->finished;
    }));
}

void BirdClient::cancel() {
    for (auto& weak : exchanges_)
        if (auto e = weak.lock()) e->drop();
    exchanges_.clear();
}

}  // namespace julier::fleet
