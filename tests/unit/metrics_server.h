// julierd's HTTP server answering with one Metrics object only (as julierd's /metrics
// does), on an io_context of its own thread, for tests that scrape over HTTP.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "metrics/metrics.h"
#include "web/http_server.h"
#include "web/site.h"

namespace julier::testing {

class MetricsServer {
public:
    explicit MetricsServer(const std::string& listen, const metrics::Metrics& metrics, web::Limits limits = {})
        : site_(web::Sources{[&metrics] { return metrics.render(); }, {}, {}, {}}),
          server_(
              io_, listen, [this](const web::Request& r) { return site_.answer(r); }, limits),
          thread_([this] { io_.run(); }) {}
    // Closes on the loop, then stops it.
    ~MetricsServer() {
        boost::asio::post(io_, [this] {
            server_.close();
            io_.stop();
        });
        thread_.join();
    }
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    std::uint16_t port() const { return server_.port(); }

private:
    boost::asio::io_context io_;
    web::Site site_;
    web::HttpServer server_;
    std::thread thread_;
};

}  // namespace julier::testing
