// https: the http check over TLS (1.2 or newer). The server name (SNI) is
// health.http.sni, else the name in health.http.host, else none. The certificate
// is verified by default against the system trust store (or `ca_file`): chain,
// validity and name, where the name is the SNI name, or the backend address when
// there is none. verify_tls: false skips verification (the connection is then
// encrypted but not authenticated).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "health/probe.h"

namespace boost::asio::ssl {
class context;
}

namespace julier::health {

struct TlsOptions {
    // PEM file of trusted CAs used instead of the system store; empty: system store.
    std::string ca_file;
};

class HttpsProbe final : public Probe {
public:
    // Throws std::runtime_error when ca_file cannot be loaded.
    explicit HttpsProbe(boost::asio::io_context& io, TlsOptions options = {});
    ~HttpsProbe() override;

    config::HealthKind kind() const override { return config::HealthKind::https; }
    ProbeHandle async_probe(const ProbeTarget& target, const config::HealthCheck& check, TimePoint deadline,
                            ProbeCallback done) override;

private:
    boost::asio::io_context& io_;
    // Shared with probes in flight: OpenSSL objects refer to their context.
    std::shared_ptr<boost::asio::ssl::context> verifying_;
    std::shared_ptr<boost::asio::ssl::context> trusting_;
};

// The name to send as SNI and to verify: sni, else host without a port; empty when
// that is an IP literal or there is none.
std::string tls_server_name(const config::HttpCheck& check);

}  // namespace julier::health
