// ctspine — command-line front end over the library. Errors go to stderr with a non-zero exit code.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include <ctspine/core/error.hpp>

#include "cli.hpp"

namespace cli {
double to_double(const std::string& s, const std::string& what) {
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0') throw std::invalid_argument(what + ": not a number: '" + s + "'");
    return v;
}
long to_long(const std::string& s, const std::string& what) {
    char* end = nullptr;
    long v = std::strtol(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0') throw std::invalid_argument(what + ": not an integer: '" + s + "'");
    return v;
}
}  // namespace cli

static void usage(std::ostream& os) {
    os << "usage: ctspine COMMAND [ARGS...]\n\ncommands:\n";
    for (auto& [name, c] : cli::registry()) os << "  " << name << std::string(name.size() < 14 ? 14 - name.size() : 1, ' ') << c.summary << "\n";
    os << "\nctspine COMMAND --help shows a command's usage.\n";
}

int main(int argc, char** argv) {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
        usage(argc < 2 ? std::cerr : std::cout);
        return argc < 2 ? 2 : 0;
    }
    auto it = cli::registry().find(argv[1]);
    if (it == cli::registry().end()) {
        std::cerr << "ctspine: unknown command '" << argv[1] << "'\n";
        usage(std::cerr);
        return 2;
    }
    std::vector<std::string> words(argv + 2, argv + argc);
    for (auto& w : words)
        if (w == "--help" || w == "-h") {
            std::cout << "usage: " << it->second.usage << "\n";
            return 0;
        }
    try {
        cli::args a(std::move(words));
        return it->second.run(a);
    } catch (const ctspine::error& e) {
        std::cerr << "ctspine " << argv[1] << ": error [" << ctspine::errc_name(e.code()) << "]: " << e.what() << "\n";
        return 1;
    } catch (const std::invalid_argument& e) {
        std::cerr << "ctspine " << argv[1] << ": " << e.what() << "\nusage: " << it->second.usage << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "ctspine " << argv[1] << ": error: " << e.what() << "\n";
        return 1;
    }
}
