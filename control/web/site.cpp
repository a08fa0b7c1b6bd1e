#include "web/site.h"

#include <chrono>

#include "web/routes.h"
#include "web/status_page.h"

namespace julier::web {
namespace {

// The page has no script and loads nothing: say so to the browser as well.
constexpr const char* kPagePolicy =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

Response unavailable() { return Response{503, "text/plain; charset=utf-8", "not available\n"}; }

template <typename T>
Response json_answer(const std::function<T()>& source) {
    if (!source) return unavailable();
    return Response{200, "application/json", json_body(nlohmann::json(source()))};
}

}  // namespace

std::string json_body(const nlohmann::json& result) {
    // The control socket replaces invalid UTF-8 on the way; so does this.
    return result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Response Site::answer(const Request& request) {
    auto routed = route(request.method, request.target);
    if (!routed.route) return std::move(routed.refusal);
    switch (*routed.route) {
        case Route::metrics:
            if (!sources_.metrics) return unavailable();
            return Response{200, "text/plain; version=0.0.4; charset=utf-8", sources_.metrics()};
        case Route::api_status: return json_answer(sources_.status);
        case Route::api_services: return json_answer(sources_.services);
        case Route::api_backends: return json_answer(sources_.backends);
        case Route::page: {
            if (!sources_.status || !sources_.services || !sources_.backends) return unavailable();
            PageData data{sources_.status(), sources_.services(), sources_.backends(), {}, 0};
            data.rates = rates_.observe(RateSampler::Clock::now(), data.services);
            data.now_unix =
                std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
                    .count();
            return Response{
                200, "text/html; charset=utf-8", render_page(data), {{"Content-Security-Policy", kPagePolicy}}};
        }
    }
    return unavailable();
}

}  // namespace julier::web
