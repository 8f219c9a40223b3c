// ctspine — command-line front end over the library. Errors go to stderr; exit status 0 on success, 1 on a run-time
// failure, 2 on a usage error (no or unknown command, unknown option, missing or unusable argument): see cli.hpp.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>

#include <ctspine/core/compat.hpp>
#include <ctspine/core/cpu.hpp>
#include <ctspine/core/error.hpp>
#include <ctspine/io/gzip.hpp>
#include <ctspine/version.hpp>
#if defined(CTSPINE_HAVE_NLOHMANN_JSON) || __has_include(<nlohmann/json.hpp>)
#include <nlohmann/json.hpp>
#endif

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

/// `ctspine --version`: the library version on the first line (the form scripts parse), then what it was built with.
static void print_version(std::ostream& os) {
    os << "ctspine " << ctspine::version_string() << "\n";
    os << "built with: xsimd " << ctspine::compat::xsimd_version() << ", Eigen " << ctspine::compat::eigen_version() << ", zlib "
       << ZLIB_VERSION;
#ifdef CTSPINE_HAVE_LIBDEFLATE
    os << ", libdeflate " << LIBDEFLATE_VERSION_STRING;
#endif
#ifdef NLOHMANN_JSON_VERSION_MAJOR
    os << ", nlohmann_json " << NLOHMANN_JSON_VERSION_MAJOR << "." << NLOHMANN_JSON_VERSION_MINOR << "." << NLOHMANN_JSON_VERSION_PATCH;
#endif
    os << "; C++ " << __cplusplus << "\n";
    os << "U-Net kernels on this CPU: " << ctspine::isa_name(ctspine::default_isa()) << "\n";
}

static void usage(std::ostream& os) {
    os << "usage: ctspine COMMAND [ARGS...]\n       ctspine --version\n\ncommands:\n";
    for (auto& [name, c] : cli::registry()) os << "  " << name << std::string(name.size() < 14 ? 14 - name.size() : 1, ' ') << c.summary << "\n";
    os << "\nctspine COMMAND --help shows a command's usage.\n"
          "Exit status: 0 success, 1 run-time failure, 2 usage error.\n";
}

int main(int argc, char** argv) {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
        usage(argc < 2 ? std::cerr : std::cout);
        return argc < 2 ? cli::exit_usage : cli::exit_ok;
    }
    if (std::string(argv[1]) == "--version" || std::string(argv[1]) == "-V") {
        print_version(std::cout);
        return cli::exit_ok;
    }
    auto it = cli::registry().find(argv[1]);
    if (it == cli::registry().end()) {
        std::cerr << "ctspine: unknown command '" << argv[1] << "'\n";
        usage(std::cerr);
        return cli::exit_usage;
    }
    std::vector<std::string> words(argv + 2, argv + argc);
    for (auto& w : words)
        if (w == "--help" || w == "-h") {
            std::cout << "usage: " << it->second.usage << "\n";
            return cli::exit_ok;
        }
    try {
        cli::args a(std::move(words));
        return it->second.run(a);
    } catch (const ctspine::error& e) {
        std::cerr << "ctspine " << argv[1] << ": error [" << ctspine::errc_name(e.code()) << "]: " << e.what() << "\n";
        return cli::exit_failure;
    } catch (const std::invalid_argument& e) {
        std::cerr << "ctspine " << argv[1] << ": " << e.what() << "\nusage: " << it->second.usage << "\n";
        return cli::exit_usage;
    } catch (const std::exception& e) {
        std::cerr << "ctspine " << argv[1] << ": error: " << e.what() << "\n";
        return cli::exit_failure;
    }
}
