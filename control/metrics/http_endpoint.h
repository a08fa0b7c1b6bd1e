// Serves a Metrics object at http://<listen>/metrics in the Prometheus text format.
// Scrapes run on the HTTP server's own threads (two, so one stuck client cannot
// stall every scrape); the Metrics object may be destroyed first (scrapes then
// answer empty).
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

namespace prometheus {
class Exposer;
}

namespace julier::metrics {

class Metrics;

class MetricsError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class HttpEndpoint {
public:
    // `listen` is "198.18.0.1:9641" (config::Metrics::listen()); port 0 picks a free
    // port. Throws MetricsError naming the address and why it cannot be served.
    HttpEndpoint(const std::string& listen, const Metrics& metrics);
    ~HttpEndpoint();  // stops serving
    HttpEndpoint(const HttpEndpoint&) = delete;
    HttpEndpoint& operator=(const HttpEndpoint&) = delete;

    const std::string& listen() const { return listen_; }
    std::uint16_t port() const { return port_; }  // the bound port

private:
    std::string listen_;
    std::uint16_t port_ = 0;
    std::unique_ptr<prometheus::Exposer> exposer_;
};

}  // namespace julier::metrics
