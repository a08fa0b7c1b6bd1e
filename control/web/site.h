// What julierd's HTTP server answers (routes.h): the metrics, the status page and
// the JSON views. The values come from the daemon through Sources, asked on the
// loop at request time and only for what the route shows; the JSON of /api/* is
// that of the control socket's answer, printed as `julierctl --json` prints it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/protocol.h"
#include "web/http_server.h"
#include "web/rates.h"

namespace julier::web {

struct Sources {
    std::function<std::string()> metrics;  // the Prometheus text format
    std::function<daemon::protocol::Status()> status;
    std::function<std::vector<daemon::protocol::ServiceInfo>()> services;
    std::function<std::vector<daemon::protocol::BackendInfo>()> backends;  // of every service
};

class Site {
public:
    explicit Site(Sources sources) : sources_(std::move(sources)) {}

    // A route whose source is empty answers 503.
    Response answer(const Request& request);

private:
    Sources sources_;
    RateSampler rates_;  // the page's previous samples
};

// The body of an /api/* answer: `result` as `julierctl --json` prints it.
std::string json_body(const nlohmann::json& result);

}  // namespace julier::web
