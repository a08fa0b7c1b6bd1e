#include "health/http_probe.h"

#include <boost/asio/error.hpp>
#include <boost/asio/socket_base.hpp>

#include "health/http_operation.h"

namespace julier::health {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

struct PlainTransport {
    using Stream = tcp::socket;
    static constexpr bool tls = false;

    static tcp::socket& socket(Stream& stream) { return stream; }

    template <class Handler>
    static void handshake(Stream&, Handler&& handler) {
        handler(boost::system::error_code());
    }

    static Result handshake_failure(Stream&, const boost::system::error_code& error) {
        return socket_failure(error, "");
    }

    static bool is_end_of_stream(const boost::system::error_code& error) { return error == asio::error::eof; }

    static void shutdown(Stream& stream) {
        if (!stream.is_open()) return;
        boost::system::error_code ignored;
        // Reset rather than FIN for the same reason as the tcp check: no TIME_WAIT
        // pile-up on the checker.
        stream.set_option(asio::socket_base::linger(true, 0), ignored);
        stream.close(ignored);
    }
};

}  // namespace

ProbeHandle HttpProbe::async_probe(const ProbeTarget& target, const config::HealthCheck& check, TimePoint deadline,
                                   ProbeCallback done) {
    auto operation = std::make_shared<HttpOperation<PlainTransport>>(io_, deadline, std::move(done), check.http, io_);
    operation->start(target, [](tcp::socket&) { return std::string(); });
    return ProbeHandle(operation);
}

}  // namespace julier::health
