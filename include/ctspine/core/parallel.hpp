// ctspine — threading: deterministic static partitioning, no hidden global pool.
#pragma once
#include <algorithm>
#include <cstddef>
#include <exception>
#include <thread>
#include <vector>

namespace ctspine {

/// 0 (or negative) means "all hardware threads"; otherwise the value itself.
inline int resolve_threads(int threads) noexcept {
    if (threads > 0) return threads;
    unsigned h = std::thread::hardware_concurrency();
    return h == 0 ? 1 : static_cast<int>(h);
}

/// Split [0, n) into `parts` contiguous chunks; chunk p is [chunk_begin(n, parts, p), chunk_begin(n, parts, p+1)).
/// The split depends only on (n, parts), never on timing, so results are reproducible.
inline std::ptrdiff_t chunk_begin(std::ptrdiff_t n, int parts, int p) noexcept {
    return static_cast<std::ptrdiff_t>((static_cast<long double>(n) * p) / parts);
}

/// Run f(begin, end, worker) over [0, n) split into at most `threads` contiguous chunks, one per
/// std::thread (the calling thread runs the first chunk). Chunks are never smaller than `min_chunk`.
/// The first exception thrown by any worker is rethrown after all workers have joined.
template <class F>
void parallel_for(int threads, std::ptrdiff_t n, F&& f, std::ptrdiff_t min_chunk = 1) {
    if (n <= 0) return;
    int t = resolve_threads(threads);
    if (min_chunk < 1) min_chunk = 1;
    t = static_cast<int>(std::min<std::ptrdiff_t>(t, std::max<std::ptrdiff_t>(1, n / min_chunk)));
    if (t <= 1) {
        f(std::ptrdiff_t(0), n, 0);
        return;
    }
    std::vector<std::exception_ptr> errors(static_cast<size_t>(t));
    std::vector<std::thread> pool;
    pool.reserve(static_cast<size_t>(t - 1));
    auto run = [&](int p) {
        try {
            f(chunk_begin(n, t, p), chunk_begin(n, t, p + 1), p);
        } catch (...) {
            errors[static_cast<size_t>(p)] = std::current_exception();
        }
    };
    for (int p = 1; p < t; ++p) {
        try {
            pool.emplace_back(run, p);
        } catch (...) {  // could not start a thread: run that chunk here
            run(p);
        }
    }
    run(0);
    for (auto& th : pool) th.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace ctspine
