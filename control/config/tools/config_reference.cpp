// Prints the catalogue's field reference, generated from the schema table
// (config/schema.h), or rewrites the marked tables of a README in place:
//   julier-config-reference                      the tables, each between its markers
//   julier-config-reference --write README.md    refresh README.md
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "config/schema.h"

int main(int argc, char** argv) {
    using julier::config::schema::reference_tables;
    using julier::config::schema::refresh_reference;
    const std::string mode = argc > 1 ? argv[1] : "";
    if (argc == 1) {
        for (const auto& t : reference_tables())
            std::cout << "<!-- reference:" << t.name << " -->\n"
                      << t.text << "<!-- /reference:" << t.name << " -->\n\n";
        return 0;
    }
    if (mode != "--write" || argc != 3) {
        std::cerr << "usage: " << argv[0] << " [--write README.md]\n";
        return 2;
    }
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) {
        std::cerr << argv[2] << ": cannot read\n";
        return 1;
    }
    std::ostringstream text;
    text << in.rdbuf();
    const std::string before = text.str();
    const std::string after = refresh_reference(before);
    if (after == before) return 0;
    std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
    out << after;
    if (!out.flush()) {
        std::cerr << argv[2] << ": cannot write\n";
        return 1;
    }
    std::cout << argv[2] << ": reference tables refreshed\n";
    return 0;
}
