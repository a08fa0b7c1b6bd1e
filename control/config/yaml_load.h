// YAML text -> the tree of its one document, with syntax errors as diagnostics.
// Avoids YAML::LoadAll, which in yaml-cpp 0.7 never returns (and allocates
// without bound) on some malformed input such as a stray ',' at document level.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string_view>

#include "config/yaml_reader.h"

namespace julier::config {

struct LoadedDocument {
    enum class Status { ok, empty, failed };
    Status status = Status::failed;
    YAML::Node root;  // status ok: the first document (possibly a bare null)
};

// Reports syntax errors and a second document through `reader`.
LoadedDocument load_single_document(std::string_view text, Reader& reader);

}  // namespace julier::config
