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
std::pair<long, long> parse_shard(const std::string& shard) {
    if (shard.empty()) return {0, 1};
    const auto slash = shard.find('/');
    if (slash == std::string::npos) throw std::invalid_argument("--shard expects I/N");
    const long si = to_long(shard.substr(0, slash), "--shard"), sn = to_long(shard.substr(slash + 1), "--shard");
    if (sn < 1 || si < 0 || si >= sn) throw std::invalid_argument("--shard I/N needs 0 <= I < N");
    return {si, sn};
}
std::size_t parse_size(const std::string& v, const std::string& what) {
    std::string t = v;
    if (!t.empty() && (t.back() == 'B' || t.back() == 'b')) t.pop_back();
    if (!t.empty() && t.back() == 'i') t.pop_back();
    double mul = 1;
    if (!t.empty()) {
        switch (t.back()) {
            case 'k': case 'K': mul = 1024.0; break;
            case 'm': case 'M': mul = 1024.0 * 1024; break;
            case 'g': case 'G': mul = 1024.0 * 1024 * 1024; break;
            case 't': case 'T': mul = 1024.0 * 1024 * 1024 * 1024; break;
            default: break;
        }
        if (mul != 1) t.pop_back();
    }
    const double x = to_double(t, what) * mul;
    if (!(x > 0) || x > 1.8e19) throw std::invalid_argument(what + " must be a positive size like 8G, got " + v);
    return static_cast<std::size_t>(x);
}
std::vector<std::int64_t> parse_labels(const std::string& s) {
    std::vector<std::int64_t> out;
    std::stringstream ss(s);
    std::string part;
    while (std::getline(ss, part, ',')) {
        if (part.empty()) continue;
        const auto dash = part.find('-', 1);
        const long a = to_long(part.substr(0, dash), "--labels");
        const long b = dash == std::string::npos ? a : to_long(part.substr(dash + 1), "--labels");
        if (a < 1 || b < a || b - a > 65535) throw std::invalid_argument("--labels: bad range '" + part + "' (labels are >= 1)");
        for (long l = a; l <= b; ++l) out.push_back(l);
    }
    return out;
}
std::vector<double> parse_taus(const std::string& s) {
    std::vector<double> out;
    std::stringstream ss(s);
    std::string part;
    while (std::getline(ss, part, ','))
        if (!part.empty()) out.push_back(to_double(part, "--tau"));
    for (double t : out)
        if (!(t >= 0)) throw std::invalid_argument("--tau: tolerances are >= 0 mm");
    return out;
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
