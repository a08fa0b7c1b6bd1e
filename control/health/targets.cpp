#include "health/targets.h"

namespace julier::health {

std::vector<Target> health_targets(const config::Catalogue& catalogue) {
    std::vector<Target> targets;
    for (const auto& service : catalogue.services) {
        for (const auto& backend : service.backends) {
            Target target;
            target.service = service.name;
            target.address = backend.address;
            target.port = service.health.port != 0 ? service.health.port : service.port;
            target.check = service.health;
            targets.push_back(std::move(target));
        }
    }
    return targets;
}

}  // namespace julier::health
