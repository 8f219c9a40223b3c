// ctspine — progress reporting and cancellation, passed in by the caller.
#pragma once
#include <functional>
#include <string_view>

#include "ctspine/core/error.hpp"

namespace ctspine {

/// Called with the fraction done in [0, 1] and a short stage name. Return false to cancel:
/// the running operation then throws ctspine::error with errc::cancelled, leaving no partial output.
using progress_fn = std::function<bool(double fraction, std::string_view stage)>;

/// Optional sink for non-fatal warnings (the library never prints).
using warning_fn = std::function<void(std::string_view message)>;

/// Common options for long operations.
struct run_options {
    int threads = 0;          ///< 0 = std::thread::hardware_concurrency()
    progress_fn progress;     ///< may be empty
    warning_fn warning;       ///< may be empty
};

namespace detail {
/// Report progress; throw errc::cancelled if the callback asks to stop.
inline void report(const progress_fn& p, double fraction, std::string_view stage) {
    if (p && !p(fraction, stage))
        throw error(errc::cancelled, std::string("cancelled during ") + std::string(stage));
}
inline void warn(const warning_fn& w, std::string_view msg) {
    if (w) w(msg);
}
}  // namespace detail

}  // namespace ctspine
