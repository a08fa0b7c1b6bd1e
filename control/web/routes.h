// What julierd's HTTP server answers, decided from the method and the target
// alone (pure). Only GET and HEAD, only the paths below; a query string is ignored.
//
//   /metrics        Prometheus text format
//   /               the status page (HTML)
//   /api/status     JSON, as `julierctl --json status`
//   /api/services   JSON, as `julierctl --json services`
//   /api/backends   JSON, as `julierctl --json backends`
#pragma once

#include <optional>
#include <string_view>

#include "web/http_server.h"

namespace julier::web {

enum class Route { metrics, page, api_status, api_services, api_backends };

// Exactly one of `route` and `refusal` is meaningful: 404 for an unknown path, 405
// (with an Allow header) for a method other than GET or HEAD on a known one.
struct Routed {
    std::optional<Route> route;
    Response refusal;
};

Routed route(std::string_view method, std::string_view target);

inline constexpr std::string_view kAllowedMethods = "GET, HEAD";

}  // namespace julier::web
