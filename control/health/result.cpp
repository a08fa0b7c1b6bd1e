#include "health/result.h"

#include <utility>

namespace julier::health {

std::string_view to_string(Failure failure) {
    switch (failure) {
#define JULIER_HEALTH_FAILURE_CASE(name, label) \
    case Failure::name: return label;
        JULIER_HEALTH_FAILURES(JULIER_HEALTH_FAILURE_CASE)
#undef JULIER_HEALTH_FAILURE_CASE
    }
    return "unknown";
}

Result Result::pass(std::string reason) {
    Result result;
    result.ok = true;
    result.reason = std::move(reason);
    return result;
}

Result Result::fail(Failure failure, std::string reason) {
    Result result;
    result.ok = false;
    result.failure = failure;
    result.reason = std::move(reason);
    return result;
}

}  // namespace julier::health
