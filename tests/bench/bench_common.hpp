// Shared helpers for the benchmarks: timing (median of repeats), running a Python anchor, RSS.
#pragma once
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bench {

inline double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

/// Median wall time of `reps` runs of f (seconds).
inline double median_time(int reps, const std::function<void()>& f) {
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) {
        double t0 = now();
        f();
        t.push_back(now() - t0);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

/// Run a command and return its stdout (the Python anchors print their own timings).
inline std::string run(const std::string& cmd) {
    std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
    std::string out;
    if (!p) return out;
    char buf[4096];
    while (fgets(buf, sizeof buf, p.get())) out += buf;
    return out;
}

/// Parse "key: value" from a Python anchor's output; negative if absent.
inline double field(const std::string& out, const std::string& key) {
    auto pos = out.find(key + ":");
    if (pos == std::string::npos) return -1;
    return std::atof(out.c_str() + pos + key.size() + 1);
}

inline void report(const std::string& name, double ours, double anchor, const char* anchor_name) {
    if (anchor > 0)
        std::printf("%-48s ours %8.4f s, %s %8.4f s, ratio %5.2fx\n", name.c_str(), ours, anchor_name, anchor, anchor / ours);
    else
        std::printf("%-48s ours %8.4f s, %s not measured\n", name.c_str(), ours, anchor_name);
    std::fflush(stdout);
}

inline long peak_rss_mb() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss / 1024;
}

}  // namespace bench
