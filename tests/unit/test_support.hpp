// Shared helpers for the unit tests: locating fixtures and the optional ../shared/data folder.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include <ctspine/io/gzip.hpp>

namespace ctspine_test {
namespace fs = std::filesystem;

/// Fixtures committed in the repo (tests/data).
inline fs::path repo_data(const std::string& rel = {}) { return fs::path(CTSPINE_TEST_DATA) / rel; }

/// ../shared/data beside the project root, or empty if absent (tests then skip).
inline fs::path shared_data(const std::string& rel = {}) {
    fs::path p = fs::path(CTSPINE_SHARED_DATA) / rel;
    std::error_code ec;
    return fs::exists(p, ec) ? p : fs::path();
}
/// Read n values of T (raw little-endian, optionally gzipped) from a committed fixture file.
template <class T>
std::vector<T> read_raw(const std::string& path, size_t n) {
    std::vector<T> v(n);
    ctspine::detail::byte_source src(path);
    src.read_exact(v.data(), n * sizeof(T), "fixture");
    return v;
}
inline std::vector<float> read_f32(const std::string& path, size_t n) { return read_raw<float>(path, n); }
}  // namespace ctspine_test

/// Skip the current test case (with a message) when a shared-data path is missing.
#define CTSPINE_REQUIRE_SHARED(var, rel)                                  \
    const auto var = ::ctspine_test::shared_data(rel);                    \
    if (var.empty()) {                                                    \
        MESSAGE("skipped: ../shared/data/" << (rel) << " not present");   \
        return;                                                           \
    }
