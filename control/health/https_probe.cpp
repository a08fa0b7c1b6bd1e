#include "health/https_probe.h"

#include <stdexcept>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/error.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/ssl.hpp>

#include "health/http_operation.h"

namespace julier::health {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;

namespace {

struct TlsTransport {
    using Stream = ssl::stream<tcp::socket>;
    static constexpr bool tls = true;

    static tcp::socket& socket(Stream& stream) { return stream.next_layer(); }

    template <class Handler>
    static void handshake(Stream& stream, Handler&& handler) {
        stream.async_handshake(ssl::stream_base::client, std::forward<Handler>(handler));
    }

    static Result handshake_failure(Stream& stream, const boost::system::error_code& error) {
        SSL* handle = stream.native_handle();
        if ((SSL_get_verify_mode(handle) & SSL_VERIFY_PEER) != 0) {
            long verify = SSL_get_verify_result(handle);
            if (verify != X509_V_OK)
                return Result::fail(Failure::tls_verify, std::string("certificate verification failed: ") +
                                                             X509_verify_cert_error_string(verify));
        }
        if (error.category() == asio::error::get_ssl_category() || error == ssl::error::stream_truncated)
            return Result::fail(Failure::tls, "TLS handshake failed: " + error.message());
        return socket_failure(error, "in the TLS handshake");
    }

    static bool is_end_of_stream(const boost::system::error_code& error) {
        // A server that closes without close_notify ends the response too.
        return error == asio::error::eof || error == ssl::error::stream_truncated;
    }

    static void shutdown(Stream& stream) {
        tcp::socket& socket = stream.next_layer();
        if (!socket.is_open()) return;
        boost::system::error_code ignored;
        // No close_notify exchange: the verdict is in, and waiting for the peer's
        // answer would only hold the socket longer.
        socket.set_option(asio::socket_base::linger(true, 0), ignored);
        socket.close(ignored);
    }
};

std::shared_ptr<ssl::context> make_context(bool verify, const TlsOptions& options) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (!verify) {
        context->set_verify_mode(ssl::verify_none);
        return context;
    }
    context->set_verify_mode(ssl::verify_peer);
    boost::system::error_code error;
    if (options.ca_file.empty()) {
        // Without a usable system store every verified check fails with "unable to
        // get local issuer certificate", which says what is wrong.
        context->set_default_verify_paths(error);
    } else {
        context->load_verify_file(options.ca_file, error);
        if (error) throw std::runtime_error("cannot load CA file " + options.ca_file + ": " + error.message());
    }
    return context;
}

bool is_ip_literal(const std::string& name) {
    boost::system::error_code error;
    asio::ip::make_address(name, error);
    return !error;
}

}  // namespace

std::string tls_server_name(const config::HttpCheck& check) {
    std::string name = check.sni;
    if (name.empty()) {
        name = check.host;
        if (!name.empty() && name.front() == '[') return {};  // [v6]:port
        if (auto colon = name.rfind(':'); colon != std::string::npos && name.find(':') == colon) name.resize(colon);
    }
    if (name.empty() || is_ip_literal(name)) return {};
    return name;
}

HttpsProbe::HttpsProbe(asio::io_context& io, TlsOptions options)
    : io_(io), verifying_(make_context(true, options)), trusting_(make_context(false, options)) {}

HttpsProbe::~HttpsProbe() = default;

ProbeHandle HttpsProbe::async_probe(const ProbeTarget& target, const config::HealthCheck& check, TimePoint deadline,
                                    ProbeCallback done) {
    bool verify = check.http.verify_tls;
    auto operation = std::make_shared<HttpOperation<TlsTransport>>(io_, deadline, std::move(done), check.http, io_,
                                                                   verify ? *verifying_ : *trusting_);
    std::string name = tls_server_name(check.http);
    std::string address = target.address.to_string();
    operation->start(target, [&](TlsTransport::Stream& stream) -> std::string {
        SSL* handle = stream.native_handle();
        if (!name.empty() && SSL_set_tlsext_host_name(handle, name.c_str()) != 1)
            return "cannot use " + name + " as the TLS server name";
        if (!verify) return {};
        // Verify the name inside OpenSSL's chain check, so a mismatch is reported
        // like any other verification error.
        int ok = name.empty() ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), address.c_str())
                              : SSL_set1_host(handle, name.c_str());
        if (ok != 1) return "cannot verify the certificate against " + (name.empty() ? address : name);
        return {};
    });
    return ProbeHandle(operation);
}

}  // namespace julier::health
