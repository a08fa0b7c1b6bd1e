#include "fleet/bird_reply.h"

#include <cctype>
#include <sstream>

namespace julier::fleet {

void ReplyReader::feed(std::string_view bytes) {
    partial_.append(bytes);
    std::size_t nl;
    while (!done_ && (nl = partial_.find('\n')) != std::string::npos) {
        std::string line = partial_.substr(0, nl);
        partial_.erase(0, nl + 1);
        const bool coded = line.size() >= 5 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                           std::isdigit(static_cast<unsigned char>(line[1])) &&
                           std::isdigit(static_cast<unsigned char>(line[2])) &&
                           std::isdigit(static_cast<unsigned char>(line[3])) && (line[4] == ' ' || line[4] == '-');
        if (coded) {
            lines_.push_back(ReplyLine{std::stoi(line.substr(0, 4)), line.substr(5)});
            done_ = line[4] == ' ';
        } else if (!line.empty() && line[0] == ' ') {
            lines_.push_back(ReplyLine{lines_.empty() ? 0 : lines_.back().code, line.substr(1)});
        }
    }
}

std::optional<std::string> ReplyReader::error() const {
    for (const auto& l : lines_) {
        if (l.code >= 8000) return l.text;
    }
    return std::nullopt;
}

std::vector<ProtocolRow> parse_protocols(const std::vector<ReplyLine>& lines) {
    std::vector<ProtocolRow> rows;
    for (const auto& l : lines) {
        if (l.code != 1002) continue;
        std::istringstream in(l.text);
        ProtocolRow r;
        std::string table, since_time;
        if (!(in >> r.name >> r.proto >> table >> r.state >> since_time)) continue;
        // "Since" may be a date and a time; the info is what follows it.
        std::string rest;
        std::getline(in, rest);
        auto first = rest.find_first_not_of(' ');
        rest = first == std::string::npos ? std::string{} : rest.substr(first);
        if (!rest.empty() && std::isdigit(static_cast<unsigned char>(rest[0])) && rest.find(':') < rest.find(' ')) {
            const auto space = rest.find(' ');
            rest = space == std::string::npos ? std::string{} : rest.substr(space);
            first = rest.find_first_not_of(' ');
            rest = first == std::string::npos ? std::string{} : rest.substr(first);
        }
        while (!rest.empty() && rest.back() == ' ') rest.pop_back();
        r.info = rest;
        rows.push_back(std::move(r));
    }
    return rows;
}

}  // namespace julier::fleet
