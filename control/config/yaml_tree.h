// The tree of one YAML document, flat: every node in one vector, a collection's
// children a contiguous range of another, scalar text in one buffer. Built in a
// single pass from yaml-cpp's parser events (yaml_load.cpp); every node keeps the
// place it was written, for located messages.
#pragma once

#include <yaml-cpp/mark.h>
#include <yaml-cpp/node/type.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace julier::config {

class YamlTree;

// A node of a YamlTree, or no node (undefined). Its calls are spelled like the
// YAML::Node calls they replace, so code that reads the tree reads as before.
// An alias is the node it names (shared, not copied), as in yaml-cpp.
class YamlNode {
public:
    YamlNode() = default;
    YamlNode(const YamlTree* tree, std::uint32_t index) : tree_(tree), index_(index) {}

    YAML::NodeType::value Type() const;
    bool IsDefined() const { return tree_ != nullptr; }
    bool IsNull() const { return Type() == YAML::NodeType::Null; }
    bool IsScalar() const { return Type() == YAML::NodeType::Scalar; }
    bool IsSequence() const { return Type() == YAML::NodeType::Sequence; }
    bool IsMap() const { return Type() == YAML::NodeType::Map; }

    // Items of a list, pairs of a mapping, else 0.
    std::size_t size() const;
    // Item `i` of a list; undefined if there is none.
    YamlNode operator[](std::size_t i) const;
    // Key and value of pair `i` of a mapping, in the order written (duplicates kept).
    YamlNode key(std::size_t i) const;
    YamlNode value(std::size_t i) const;

    // The text of a scalar; empty for anything else.
    std::string_view Scalar() const;
    // Where the node was written (0-based); null_mark() for an undefined node.
    YAML::Mark Mark() const;

private:
    const YamlTree* tree_ = nullptr;
    std::uint32_t index_ = 0;
};

// How much YAML aliases may repeat in one document, beyond what it writes out: an
// alias stands for the whole value it names, each time it appears, so a few
// kilobytes of aliases of aliases can stand for gigabytes. Counted as the document
// is built, before anything reads it; the alias that goes past either figure is
// refused where it is written.
struct AliasBudget {
    std::uint64_t nodes = std::uint64_t{1} << 20;   // scalars, lists and mappings
    std::uint64_t bytes = std::uint64_t{16} << 20;  // scalar text
};

class YamlTree {
public:
    YamlTree() = default;
    explicit YamlTree(AliasBudget budget) : budget_(budget) {}

    // The document's top node, undefined when the document held none.
    YamlNode root() const { return nodes_.empty() ? YamlNode{} : YamlNode{this, 0}; }

    // Building, in event order (see yaml_load.cpp). Each node added becomes the
    // next child of the innermost open collection (a mapping's children alternate
    // key, value); the returned index is what an anchor names.
    std::uint32_t add_null(const YAML::Mark& mark);
    std::uint32_t add_scalar(const YAML::Mark& mark, std::string_view text);
    std::uint32_t begin_collection(const YAML::Mark& mark, YAML::NodeType::value type);
    void end_collection();
    // An alias: the node it names becomes the next child, shared. Refused (and
    // not added) when it names a collection still open, which would make the
    // document a loop, or when it takes the document past its AliasBudget.
    enum class AliasResult { added, loop, over_nodes, over_bytes };
    AliasResult add_alias(std::uint32_t node);

    const AliasBudget& budget() const { return budget_; }

private:
    friend class YamlNode;

    struct Entry {
        YAML::NodeType::value type;
        int line;
        int column;
        // Scalar: offset and length in text_. Collection: offset and count in
        // children_ (a mapping holds key, value, key, value, ...).
        std::uint32_t first = 0;
        std::uint32_t count = 0;
        // The node with every alias in it written out: nodes and scalar bytes.
        std::uint64_t expanded_nodes = 1;
        std::uint64_t expanded_bytes = 0;
    };

    std::uint32_t add(YAML::NodeType::value type, const YAML::Mark& mark);

    std::vector<Entry> nodes_;
    std::vector<std::uint32_t> children_;
    std::string text_;
    // Collections being built, innermost last, with where their children start in pending_.
    std::vector<std::pair<std::uint32_t, std::size_t>> open_;
    std::vector<std::uint32_t> pending_;
    AliasBudget budget_;
    // What aliases have added so far: the expansion of each alias's target, once
    // per alias (a target's own aliases are inside its expansion).
    std::uint64_t aliased_nodes_ = 0;
    std::uint64_t aliased_bytes_ = 0;
};

}  // namespace julier::config
