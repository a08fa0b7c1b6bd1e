#include "web/routes.h"

#include <array>
#include <string>
#include <utility>

namespace julier::web {
namespace {

constexpr std::array<std::pair<std::string_view, Route>, 5> kPaths{{
    {"/metrics", Route::metrics},
    {"/", Route::page},
    {"/api/status", Route::api_status},
    {"/api/services", Route::api_services},
    {"/api/backends", Route::api_backends},
}};

}  // namespace

Routed route(std::string_view method, std::string_view target) {
    const auto path = target.substr(0, target.find('?'));
    std::optional<Route> found;
    for (const auto& [known, r] : kPaths) {
        if (path == known) found = r;
    }
    if (!found) return {std::nullopt, Response{404, "text/plain; charset=utf-8", "not found\n"}};
    if (method != "GET" && method != "HEAD") {
        return {
            std::nullopt,
            Response{
                405, "text/plain; charset=utf-8", "only GET and HEAD\n", {{"Allow", std::string(kAllowedMethods)}}}};
    }
    return {found, {}};
}

}  // namespace julier::web
