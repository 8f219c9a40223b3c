// Shared helpers for the unit tests: locating fixtures and the optional ../shared/data folder.
#pragma once
#include <filesystem>
#include <string>

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
}  // namespace ctspine_test

/// Skip the current test case (with a message) when a shared-data path is missing.
#define CTSPINE_REQUIRE_SHARED(var, rel)                                  \
    const auto var = ::ctspine_test::shared_data(rel);                    \
    if (var.empty()) {                                                    \
        MESSAGE("skipped: ../shared/data/" << (rel) << " not present");   \
        return;                                                           \
    }
