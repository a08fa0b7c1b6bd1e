// Text into HTML: every string the page shows that comes from the catalogue, the
// health checks or the system goes through escape().
#pragma once

#include <string>
#include <string_view>

namespace julier::web {

// & < > " ' as character references; safe in element text and quoted attributes.
std::string escape(std::string_view text);

}  // namespace julier::web
