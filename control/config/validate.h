// Checks that span fields, services or the whole catalogue: duplicates, address
// families against forwarding modes, ring sizes, limits, timing.
#pragma once

#include <vector>

#include "config/catalogue.h"
#include "config/diagnostic.h"
#include "config/field_index.h"

namespace julier::config {

// `index` says where each field was written and which fields could not be read
// (checks that depend on those stay quiet). A catalogue built in code can pass an
// empty index; messages then point at each item's own location.
std::vector<Diagnostic> validate(const Catalogue& catalogue, const FieldIndex& index);

// The checks of one field set that need no particular service (ring size prime,
// health timeout against interval), on the values `defaults` sets, so that a bad
// default is found even when no service uses it. Fields are named "defaults.*".
std::vector<Diagnostic> validate_defaults(const Service& inherited, const FieldIndex& index);

}  // namespace julier::config
