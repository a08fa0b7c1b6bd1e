#include "config/yaml_load.h"

#include <yaml-cpp/eventhandler.h>

#include <cctype>
#include <sstream>
#include <vector>

namespace julier::config {

namespace {

// Records where each document starts and nothing else.
class DocumentStarts : public YAML::EventHandler {
public:
    std::vector<YAML::Mark> starts;

    void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

common::SourceLocation at(const Reader& r, const YAML::Mark& m) { return {r.file(), m.line + 1, m.column + 1}; }

}  // namespace

LoadedDocument load_single_document(std::string_view text, Reader& reader) {
    const std::string owned(text);
    LoadedDocument out;
    try {
        // Walk the document boundaries first, a bounded number of steps: one
        // document is wanted, a second is an error, and a "document" that starts
        // where the previous one did means the parser is stuck on a token it
        // cannot consume (the yaml-cpp fault), which is a syntax error there.
        std::istringstream in(owned);
        YAML::Parser parser(in);
        DocumentStarts handler;
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
        out.root = YAML::Load(owned);
        out.status = LoadedDocument::Status::ok;
    } catch (const YAML::ParserException& e) {
        reader.error(at(reader, e.mark), {}, "YAML syntax: " + e.msg);
    } catch (const YAML::Exception& e) {
        reader.error(reader.file_location(), {}, "YAML: " + e.msg);
    }
    return out;
}

}  // namespace julier::config
