// YAML text -> the located tree of its one document, with syntax errors as
// diagnostics, in one pass of yaml-cpp's parser. Avoids YAML::LoadAll, which in
// yaml-cpp 0.7 never returns (and allocates without bound) on some malformed input
// such as a stray ',' at document level.
#pragma once

#include <memory>
#include <string_view>

#include "config/yaml_reader.h"
#include "config/yaml_tree.h"

namespace julier::config {

struct LoadedDocument {
    enum class Status { ok, empty, failed };
    Status status = Status::failed;
    std::unique_ptr<YamlTree> tree;  // the nodes `root` points into
    YamlNode root;                   // status ok: the first document (possibly a bare null)
};

// Reports syntax errors and a second document through `reader`.
LoadedDocument load_single_document(std::string_view text, Reader& reader);

}  // namespace julier::config
