#include "config/yaml_load.h"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <cctype>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace julier::config {

namespace {

// Records where each document starts and, for the first one only, builds its
// tree: later documents are an error and are only walked to their starts.
class TreeBuilder : public YAML::EventHandler {
public:
    // A document the tree refuses to hold, where the refusal was written.
    struct Refused {
        YAML::Mark mark;
        std::string message;
    };

    std::vector<YAML::Mark> starts;
    YamlTree* tree = nullptr;  // null once the first document is done

    void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
    void OnDocumentEnd() override { tree = nullptr; }
    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        if (tree) name(anchor, tree->add_null(mark));
    }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        // yaml-cpp's parser refuses an alias to an anchor it has not seen.
        if (!tree || anchor >= anchors_.size()) return;
        switch (tree->add_alias(anchors_[anchor])) {
            case YamlTree::AliasResult::added: return;
            case YamlTree::AliasResult::loop:
                throw Refused{mark, "YAML alias inside the value its anchor names: the value would contain itself"};
            case YamlTree::AliasResult::over_nodes:
                throw Refused{mark, fmt::format("YAML aliases repeat more than {} values in all (each alias counts "
                                                "every value under its anchor, each time it appears); write the "
                                                "values out, or share them through defaults",
                                                tree->budget().nodes)};
            case YamlTree::AliasResult::over_bytes:
                throw Refused{mark, fmt::format("YAML aliases repeat more than {} MiB of text in all (each alias "
                                                "counts the text under its anchor, each time it appears)",
                                                tree->budget().bytes >> 20)};
        }
    }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  const std::string& value) override {
        if (tree) name(anchor, tree->add_scalar(mark, value));
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        if (tree) name(anchor, tree->begin_collection(mark, YAML::NodeType::Sequence));
    }
    void OnSequenceEnd() override {
        if (tree) tree->end_collection();
    }
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        if (tree) name(anchor, tree->begin_collection(mark, YAML::NodeType::Map));
    }
    void OnMapEnd() override {
        if (tree) tree->end_collection();
    }

private:
    // The parser numbers a document's anchors 1, 2, 3, ... (0 is none).
    void name(YAML::anchor_t anchor, std::uint32_t node) {
        if (anchor == YAML::NullAnchor) return;
        if (anchors_.size() <= anchor) anchors_.resize(anchor + 1);
        anchors_[anchor] = node;
    }

    std::vector<std::uint32_t> anchors_;
};

common::SourceLocation at(const Reader& r, const YAML::Mark& m) { return {r.file(), m.line + 1, m.column + 1}; }

// YAML allows no C0 control character but tab, line feed and carriage return, and
// no DEL. yaml-cpp reads a NUL as an escape and reports "unknown escape character"
// somewhere after it, so binary data is caught here, where it is.
bool report_control_character(std::string_view text, Reader& reader) {
    int line = 1, column = 1;
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02x", c);
            reader.error(
                {reader.file(), line, column}, {},
                std::string("YAML syntax: control character ") + hex + " is not allowed in YAML (a binary file?)");
            return true;
        }
        if (c == '\n') {
            ++line;
            column = 1;
        } else if ((c & 0xc0) != 0x80) {
            ++column;  // columns count characters, not UTF-8 continuation bytes
        }
    }
    return false;
}

}  // namespace

LoadedDocument load_single_document(std::string_view text, Reader& reader) {
    const std::string owned(text);
    LoadedDocument out;
    if (report_control_character(text, reader)) return out;
    try {
        // A bounded number of documents: the first is built, a second is an
        // error, and a "document" that starts where the previous one did means
        // the parser is stuck on a token it cannot consume (the yaml-cpp fault),
        // which is a syntax error there.
        std::istringstream in(owned);
        YAML::Parser parser(in);
        auto tree = std::make_unique<YamlTree>();
        TreeBuilder handler;
        handler.tree = tree.get();
        for (int step = 0; step < 3 && parser.HandleNextDocument(handler); ++step) {
            const auto& s = handler.starts;
            if (s.size() >= 2 && s[s.size() - 1].pos == s[s.size() - 2].pos) {
                const std::size_t pos = static_cast<std::size_t>(s.back().pos);
                std::size_t p = pos;
                while (p < owned.size() && std::isspace(static_cast<unsigned char>(owned[p]))) ++p;
                const std::string what = p < owned.size() ? "'" + std::string(1, owned[p]) + "'" : "text";
                reader.error(at(reader, s.back()), {}, "YAML syntax: unexpected " + what);
                return out;
            }
        }
        if (handler.starts.empty()) {
            out.status = LoadedDocument::Status::empty;
            return out;
        }
        if (handler.starts.size() > 1)
            reader.error(at(reader, handler.starts[1]), {}, "only one YAML document per file");
        out.root = tree->root();
        out.tree = std::move(tree);
        out.status = LoadedDocument::Status::ok;
    } catch (const TreeBuilder::Refused& e) {
        reader.error(at(reader, e.mark), {}, e.message);
    } catch (const YAML::DeepRecursion& e) {
        // yaml-cpp's own message for this is "bad file".
        reader.error(at(reader, e.mark), {}, "YAML syntax: nested too deeply (lists or mappings inside each other)");
    } catch (const YAML::ParserException& e) {
        reader.error(at(reader, e.mark), {}, "YAML syntax: " + e.msg);
    } catch (const YAML::Exception& e) {
        reader.error(reader.file_location(), {}, "YAML: " + e.msg);
    }
    return out;
}

}  // namespace julier::config
