// One HTTP check over a transport: connect, (handshake), send the request, read
// and judge the response. Shared by http (plain TCP) and https (TLS); the
// transport supplies what differs:
//
//   struct Transport {
//       using Stream = ...;
//       static tcp::socket& socket(Stream&);                 // the TCP layer
//       static void handshake(Stream&, handler);             // after connecting
//       static Result handshake_failure(Stream&, error);     // why it failed
//       static bool is_end_of_stream(error);                 // a clean close
//       static void shutdown(Stream&);                       // release everything
//       static constexpr bool tls;
//   };
//
// Internal to health/.
#pragma once

#include <array>
#include <cerrno>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "common/descriptors.h"
#include "health/http_check.h"
#include "health/probe_operation.h"

namespace julier::health {

template <class Transport>
class HttpOperation final : public ProbeOperation {
public:
    template <class... StreamArgs>
    HttpOperation(boost::asio::io_context& io, TimePoint deadline, ProbeCallback done, const config::HttpCheck& check,
                  StreamArgs&&... stream_args)
        : ProbeOperation(io, deadline, std::move(done)),
          stream_(std::forward<StreamArgs>(stream_args)...),
          check_(check),
          verdict_(check) {}

    typename Transport::Stream& stream() { return stream_; }

    // `setup` runs on the stream before connecting (TLS names); it returns an
    // error message, or an empty string to go on.
    template <class Setup>
    void start(const ProbeTarget& target, Setup&& setup) {
        arm_deadline();
        set_phase("connecting");
        if (target.port == 0) {
            finish_later(Result::fail(Failure::config, "no port to check (set health.port)"));
            return;
        }
        auto request = build_http_request(check_, target, Transport::tls);
        if (!request.error.empty()) {
            finish_later(Result::fail(Failure::config, std::move(request.error)));
            return;
        }
        request_ = std::move(request.text);
        if (std::string error = setup(stream_); !error.empty()) {
            finish_later(Result::fail(Failure::config, std::move(error)));
            return;
        }

        boost::asio::ip::tcp::endpoint endpoint(target.address, target.port);
        boost::system::error_code error;
        Transport::socket(stream_).open(endpoint.protocol(), error);
        // Asio opens without close-on-exec: an exec check must not inherit it.
        if (!error && !common::set_close_on_exec(Transport::socket(stream_).native_handle()))
            error.assign(errno, boost::system::system_category());
        if (error) {
            finish_later(socket_failure(error, "opening a socket"));
            return;
        }
        Transport::socket(stream_).async_connect(
            endpoint, [self = this->template self<HttpOperation>()](const boost::system::error_code& error) {
                if (self->finished()) return;
                if (error) return self->finish(socket_failure(error, ""));
                self->on_connected();
            });
    }

private:
    void on_connected() {
        set_phase(Transport::tls ? "in the TLS handshake" : "sending the request");
        Transport::handshake(stream_,
                             [self = this->template self<HttpOperation>()](const boost::system::error_code& error) {
                                 if (self->finished()) return;
                                 if (error) return self->finish(Transport::handshake_failure(self->stream_, error));
                                 self->send_request();
                             });
    }

    void send_request() {
        set_phase("sending the request");
        boost::asio::async_write(
            stream_, boost::asio::buffer(request_),
            [self = this->template self<HttpOperation>()](const boost::system::error_code& error, std::size_t) {
                if (self->finished()) return;
                if (error) return self->finish(socket_failure(error, "sending the request"));
                self->set_phase("waiting for the response");
                self->read_more();
            });
    }

    void read_more() {
        stream_.async_read_some(
            boost::asio::buffer(buffer_),
            [self = this->template self<HttpOperation>()](const boost::system::error_code& error, std::size_t size) {
                if (self->finished()) return;
                if (size > 0) {
                    if (auto verdict = self->verdict_.feed(std::string_view(self->buffer_.data(), size)))
                        return self->finish(std::move(*verdict));
                }
                if (error && Transport::is_end_of_stream(error)) return self->finish(self->verdict_.close());
                if (error) return self->finish(socket_failure(error, "reading the response"));
                self->read_more();
            });
    }

    void stop_io() override { Transport::shutdown(stream_); }

    typename Transport::Stream stream_;
    config::HttpCheck check_;
    HttpVerdict verdict_;
    std::string request_;
    std::array<char, 4096> buffer_{};
};

}  // namespace julier::health
