#include "config/yaml_tree.h"

namespace julier::config {

YAML::NodeType::value YamlNode::Type() const { return tree_ ? tree_->nodes_[index_].type : YAML::NodeType::Undefined; }

std::size_t YamlNode::size() const {
    if (!tree_) return 0;
    const auto& e = tree_->nodes_[index_];
    switch (e.type) {
        case YAML::NodeType::Sequence: return e.count;
        case YAML::NodeType::Map: return e.count / 2;
        default: return 0;
    }
}

YamlNode YamlNode::operator[](std::size_t i) const {
    if (!IsSequence() || i >= size()) return {};
    return {tree_, tree_->children_[tree_->nodes_[index_].first + i]};
}

YamlNode YamlNode::key(std::size_t i) const {
    if (!IsMap() || i >= size()) return {};
    return {tree_, tree_->children_[tree_->nodes_[index_].first + 2 * i]};
}

YamlNode YamlNode::value(std::size_t i) const {
    if (!IsMap() || i >= size()) return {};
    return {tree_, tree_->children_[tree_->nodes_[index_].first + 2 * i + 1]};
}

std::string_view YamlNode::Scalar() const {
    if (!IsScalar()) return {};
    const auto& e = tree_->nodes_[index_];
    return std::string_view(tree_->text_).substr(e.first, e.count);
}

YAML::Mark YamlNode::Mark() const {
    if (!tree_) return YAML::Mark::null_mark();
    YAML::Mark mark;
    mark.line = tree_->nodes_[index_].line;
    mark.column = tree_->nodes_[index_].column;
    return mark;
}

std::uint32_t YamlTree::add(YAML::NodeType::value type, const YAML::Mark& mark) {
    const auto index = static_cast<std::uint32_t>(nodes_.size());
    nodes_.push_back(Entry{type, mark.line, mark.column});
    if (!open_.empty()) pending_.push_back(index);
    return index;
}

std::uint32_t YamlTree::add_null(const YAML::Mark& mark) { return add(YAML::NodeType::Null, mark); }

std::uint32_t YamlTree::add_scalar(const YAML::Mark& mark, std::string_view text) {
    const std::uint32_t index = add(YAML::NodeType::Scalar, mark);
    nodes_[index].first = static_cast<std::uint32_t>(text_.size());
    nodes_[index].count = static_cast<std::uint32_t>(text.size());
    nodes_[index].expanded_bytes = text.size();
    text_.append(text);
    return index;
}

std::uint32_t YamlTree::begin_collection(const YAML::Mark& mark, YAML::NodeType::value type) {
    const std::uint32_t index = add(type, mark);
    open_.emplace_back(index, pending_.size());
    return index;
}

void YamlTree::end_collection() {
    if (open_.empty()) return;
    const auto [index, start] = open_.back();
    open_.pop_back();
    nodes_[index].first = static_cast<std::uint32_t>(children_.size());
    nodes_[index].count = static_cast<std::uint32_t>(pending_.size() - start);
    Entry& e = nodes_[index];
    for (auto child = pending_.begin() + static_cast<std::ptrdiff_t>(start); child != pending_.end(); ++child) {
        // Each child's expansion is within the document's, which the budget bounds.
        e.expanded_nodes += nodes_[*child].expanded_nodes;
        e.expanded_bytes += nodes_[*child].expanded_bytes;
    }
    children_.insert(children_.end(), pending_.begin() + static_cast<std::ptrdiff_t>(start), pending_.end());
    pending_.resize(start);
}

YamlTree::AliasResult YamlTree::add_alias(std::uint32_t node) {
    for (const auto& [open, start] : open_)
        if (open == node) return AliasResult::loop;
    const Entry& target = nodes_[node];
    if (target.expanded_nodes > budget_.nodes - aliased_nodes_) return AliasResult::over_nodes;
    if (target.expanded_bytes > budget_.bytes - aliased_bytes_) return AliasResult::over_bytes;
    aliased_nodes_ += target.expanded_nodes;
    aliased_bytes_ += target.expanded_bytes;
    if (!open_.empty()) pending_.push_back(node);
    return AliasResult::added;
}

}  // namespace julier::config
