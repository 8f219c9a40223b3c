// Every input a fuzz target once failed on (crash, sanitizer report, hang) is kept in tests/fuzz/regressions/<target>/
// and replayed here through the target's own input format, in the ordinary suite (and under ASan + UBSan in CI):
// each must end with a value or a ctspine::error, quickly.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "../fuzz/fuzz_nifti_input.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

TEST_CASE("fuzz regressions: NIfTI reader") {
    const fs::path dir = ctspine_test::repo_data() / ".." / "fuzz" / "regressions" / "nifti";
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        std::ifstream f(e.path(), std::ios::binary);
        const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        INFO(e.path().filename().string());
        const auto t0 = std::chrono::steady_clock::now();
        ctspine_fuzz::nifti_one(bytes.data(), bytes.size());
        CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 5.0);  // was a 13 s hang
        ++n;
    }
    CHECK(n >= 1);
}
