// The one-pass YAML tree and the flat field index: shapes, places, aliases,
// duplicate keys in large mappings, and which record of a field wins.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "config/field_index.h"
#include "config/yaml_load.h"
#include "config_test_support.h"

using namespace julier::config;
using namespace julier::config::testing;

namespace {

struct Loaded {
    std::vector<Diagnostic> diagnostics;
    FieldIndex index;
    LoadedDocument doc;
};

void load(Loaded& out, const std::string& text) {
    Reader reader("t.yaml", out.diagnostics, out.index);
    out.doc = load_single_document(text, reader);
}

}  // namespace

TEST_CASE("yaml tree: nodes keep their kind, text and place", "[config]") {
    Loaded l;
    load(l, lines({"a: [x, {k: v}]", "b:", "c: 'quoted'"}));
    REQUIRE(l.doc.status == LoadedDocument::Status::ok);
    const YamlNode root = l.doc.root;
    REQUIRE(root.IsMap());
    REQUIRE(root.size() == 3);
    CHECK(root.key(0).Scalar() == "a");
    const YamlNode a = root.value(0);
    REQUIRE(a.IsSequence());
    REQUIRE(a.size() == 2);
    CHECK(a[0].Scalar() == "x");
    CHECK(a[0].Mark().line == 0);
    CHECK(a[0].Mark().column == 4);
    CHECK(a[1].IsMap());
    CHECK(a[1].value(0).Scalar() == "v");
    CHECK_FALSE(a[2].IsDefined());
    CHECK(root.value(1).IsNull());
    CHECK(root.value(2).Scalar() == "quoted");
    CHECK(root.value(2).Mark().line == 2);
}

TEST_CASE("yaml tree: an alias is the node it names, not a copy", "[config]") {
    Loaded l;
    load(l, lines({"x: &list [1, 2, 3]", "y: [*list, *list]"}));
    REQUIRE(l.doc.status == LoadedDocument::Status::ok);
    const YamlNode y = l.doc.root.value(1);
    REQUIRE(y.size() == 2);
    CHECK(y[0].size() == 3);
    CHECK(y[1][2].Scalar() == "3");
    CHECK(y[1][2].Mark().line == 0);  // where the anchored list was written
}

TEST_CASE("yaml tree: an anchor named inside its own value is a loop and is refused", "[config]") {
    Loaded l;
    load(l, lines({"x: 1", "z: &self {a: [*self]}"}));
    CHECK(l.doc.status == LoadedDocument::Status::failed);
    REQUIRE(l.diagnostics.size() == 1);
    CHECK(l.diagnostics[0].location.to_string() == "t.yaml:2:15");
}

TEST_CASE("yaml tree: aliases count what they repeat, aliases inside aliases included", "[config]") {
    // [a, b] is 3 values and 2 bytes; &two repeats it twice (6 values, 4 bytes),
    // so the list under &two is 7 values and 4 bytes, and each *two repeats that.
    YamlTree tree(AliasBudget{.nodes = 6 + 7 + 7, .bytes = 1000});
    const YAML::Mark at;
    const std::uint32_t pair = tree.begin_collection(at, YAML::NodeType::Sequence);
    tree.add_scalar(at, "a");
    tree.add_scalar(at, "b");
    tree.end_collection();
    const std::uint32_t two = tree.begin_collection(at, YAML::NodeType::Sequence);
    CHECK(tree.add_alias(pair) == YamlTree::AliasResult::added);
    CHECK(tree.add_alias(pair) == YamlTree::AliasResult::added);
    tree.end_collection();
    tree.begin_collection(at, YAML::NodeType::Sequence);
    CHECK(tree.add_alias(two) == YamlTree::AliasResult::added);
    CHECK(tree.add_alias(two) == YamlTree::AliasResult::added);  // exactly at the budget
    CHECK(tree.add_alias(pair) == YamlTree::AliasResult::over_nodes);
    CHECK(tree.add_alias(two) == YamlTree::AliasResult::over_nodes);
    CHECK(tree.add_alias(tree.add_scalar(at, "")) == YamlTree::AliasResult::over_nodes);  // one value is one too many

    YamlTree small_text(AliasBudget{.nodes = 1000, .bytes = 5});
    const std::uint32_t word = small_text.add_scalar(at, "abc");
    small_text.begin_collection(at, YAML::NodeType::Sequence);
    CHECK(small_text.add_alias(word) == YamlTree::AliasResult::added);
    CHECK(small_text.add_alias(word) == YamlTree::AliasResult::over_bytes);
}

TEST_CASE("duplicate keys are found in a mapping of many keys too", "[config]") {
    std::string text = "interfaces: [eth0]\nservices:\n  - name: web\n    vip: 198.19.0.1\n    port: 80\n";
    for (int i = 0; i < 40; ++i) text += "    x" + std::to_string(i) + ": 1\n";  // line 6 on
    text += "    vip: 198.19.0.2\n";                                             // line 46
    const auto r = parse(text);
    CHECK_FALSE(r.ok());
    const auto d = only(r, "services[0].vip");
    CHECK(d.location.to_string() == "t.yaml:46:5");
    CHECK(d.message == "duplicate key (first at t.yaml:4:5)");
}

TEST_CASE("field index: the last record wins and enclosing fields answer for their insides", "[config]") {
    FieldIndex index;
    index.record("services[0].mtu", {"t.yaml", 3, 5}, "services[0].mtu");
    index.record("services[0].mtu", {"t.yaml", 9, 7}, "defaults.mtu");
    index.record("services[1]", {"t.yaml", 12, 5}, "services[1]");
    for (int i = 0; i < 1000; ++i)  // past several growths of the table
        index.record("services[" + std::to_string(i + 2) + "]", {"t.yaml", i + 20, 1}, "services[x]");

    const FieldOrigin mtu = index.find("services[0].mtu");
    CHECK(mtu.location.to_string() == "t.yaml:9:7");
    CHECK(mtu.path == "defaults.mtu");
    CHECK_FALSE(index.written_in_service("services[0].mtu"));
    CHECK(index.written_in_service("services[1]"));

    const FieldOrigin inside = index.find("services[1].backends[0].weight");
    CHECK(inside.location.to_string() == "t.yaml:12:5");
    CHECK(inside.path == "services[1].backends[0].weight");
    CHECK(index.find("services[501]").location.line == 519);

    const FieldOrigin nowhere = index.find("bgp.local_as", {"t.yaml", 1, 1});
    CHECK(nowhere.location.to_string() == "t.yaml:1:1");
    CHECK(nowhere.path == "bgp.local_as");

    CHECK(index.valid("services[1].mtu"));
    index.mark_invalid("services[1].backends[0]");
    CHECK_FALSE(index.valid("services[1]"));
    CHECK_FALSE(index.valid("services[1].backends[0].weight"));
    CHECK(index.valid("services[0]"));
}
