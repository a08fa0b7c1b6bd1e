#include "health/counters.h"

#include <algorithm>

namespace julier::health {

void Histogram::observe(double seconds)
{
    auto bucket = std::lower_bound(kHistogramBounds.begin(), kHistogramBounds.end(), seconds) - kHistogramBounds.begin();
    ++counts[static_cast<std::size_t>(bucket)];
    ++count;
    sum += seconds;
}

}  // namespace julier::health
