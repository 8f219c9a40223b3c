// The ctspine command-line tool: subcommand registry and a small argument parser.
// Each cmd_<name>.cpp registers itself with CTSPINE_CLI_COMMAND; main.cpp dispatches.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cli {

/// Parsed arguments: options start with "--"; an option takes the following non-option words as values
/// only when the command declares how many (see take()).
class args {
public:
    explicit args(std::vector<std::string> words) : words_(std::move(words)), used_(words_.size(), false) {}

    /// True if the flag is present (marks it used).
    bool flag(const std::string& name) {
        for (size_t i = 0; i < words_.size(); ++i)
            if (!used_[i] && words_[i] == name) { used_[i] = true; return true; }
        return false;
    }
    /// The n words after option `name`, or an empty vector if the option is absent.
    std::vector<std::string> take(const std::string& name, size_t n) {
        for (size_t i = 0; i < words_.size(); ++i) {
            if (used_[i] || words_[i] != name) continue;
            if (i + n >= words_.size())
                throw std::invalid_argument(name + " needs " + std::to_string(n) + " value(s)");
            used_[i] = true;
            std::vector<std::string> out;
            for (size_t k = 1; k <= n; ++k) { used_[i + k] = true; out.push_back(words_[i + k]); }
            return out;
        }
        return {};
    }
    /// All values after `name` up to the next option (for lists like --folds 0 1 2).
    std::vector<std::string> take_list(const std::string& name) {
        for (size_t i = 0; i < words_.size(); ++i) {
            if (used_[i] || words_[i] != name) continue;
            used_[i] = true;
            std::vector<std::string> out;
            for (size_t k = i + 1; k < words_.size() && words_[k].rfind("--", 0) != 0; ++k) {
                used_[k] = true;
                out.push_back(words_[k]);
            }
            return out;
        }
        return {};
    }
    std::string value(const std::string& name, const std::string& fallback = {}) {
        auto v = take(name, 1);
        return v.empty() ? fallback : v[0];
    }
    /// The first word when it is not an option (marked used), else "": the subcommand of commands that have them.
    std::string subcommand() {
        if (words_.empty() || used_[0] || words_[0].rfind("--", 0) == 0) return {};
        used_[0] = true;
        return words_[0];
    }
    /// Remaining positional words; throws on unknown options. Call after all take()/flag() calls.
    std::vector<std::string> positional() {
        std::vector<std::string> out;
        for (size_t i = 0; i < words_.size(); ++i) {
            if (used_[i]) continue;
            if (words_[i].rfind("--", 0) == 0 && words_[i].size() > 2)
                throw std::invalid_argument("unknown option " + words_[i]);
            out.push_back(words_[i]);
        }
        return out;
    }

private:
    std::vector<std::string> words_;
    std::vector<bool> used_;
};

struct command {
    std::string summary;
    std::string usage;
    std::function<int(args&)> run;
};

inline std::map<std::string, command>& registry() {
    static std::map<std::string, command> r;
    return r;
}

inline bool register_command(const std::string& name, command c) {
    registry()[name] = std::move(c);
    return true;
}

double to_double(const std::string& s, const std::string& what);
long to_long(const std::string& s, const std::string& what);
/// "--shard I/N" -> {I, N} with 0 <= I < N; an empty value is {0, 1}.
std::pair<long, long> parse_shard(const std::string& shard);
/// "8G", "512M", "64k", "1000000" (binary multiples; an optional trailing "B" or "iB") -> bytes.
std::size_t parse_size(const std::string& v, const std::string& what);
/// "--labels 1-25,28" -> 1, 2, ..., 25, 28 (labels >= 1, ranges of at most 65,536).
std::vector<std::int64_t> parse_labels(const std::string& s);
/// "--tau 1,2" -> tolerances in mm (>= 0).
std::vector<double> parse_taus(const std::string& s);

/// Exit statuses of the tool: 0 success, 1 a run-time failure (unreadable or invalid input, I/O, cancelled, ...),
/// 2 a usage error (no or unknown command, unknown option, missing or unusable argument). A usage error is a
/// std::invalid_argument thrown by the command; main() turns it into status 2 and prints the command's usage.
constexpr int exit_ok = 0, exit_failure = 1, exit_usage = 2;

/// Parse an option's value with a library function (parse_isa, parse_label_scheme, ...): its error is the user's
/// usage error, so it becomes std::invalid_argument ("--isa: unknown instruction set 'x' ...").
template <class F>
auto parse_option(const std::string& option, F&& parse) -> decltype(parse()) {
    try {
        return parse();
    } catch (const std::exception& e) {
        throw std::invalid_argument(option + ": " + e.what());
    }
}

}  // namespace cli

#define CTSPINE_CLI_CONCAT2(a, b) a##b
#define CTSPINE_CLI_CONCAT(a, b) CTSPINE_CLI_CONCAT2(a, b)
/// Register a subcommand: CTSPINE_CLI_COMMAND("info", "summary", "usage", fn)
#define CTSPINE_CLI_COMMAND(name, summary, usage, fn) \
    static const bool CTSPINE_CLI_CONCAT(ctspine_cli_registered_, __LINE__) = ::cli::register_command(name, ::cli::command{summary, usage, fn})
