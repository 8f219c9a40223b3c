// Every input a fuzz target once failed on (crash, sanitizer report, uncaught exception, hang) is kept in
// tests/fuzz/regressions/<target>/ and replayed here through the target's own input format, in the ordinary suite
// (and under ASan + UBSan in CI): each must end with a value or a ctspine::error, quickly.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <vector>

#include "../fuzz/fuzz_gzip_input.hpp"
#include "../fuzz/fuzz_nifti_input.hpp"
#include "../fuzz/fuzz_v1_pickle_input.hpp"
#include "../fuzz/fuzz_zip_input.hpp"
#ifdef CTSPINE_HAVE_NLOHMANN_JSON
#include "../fuzz/fuzz_json_input.hpp"
#endif
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {
/// Replays every file of regressions/<dir> through `one`; returns how many there were.
int replay(const char* dir, const std::function<void(const std::uint8_t*, std::size_t)>& one) {
    const fs::path d = ctspine_test::repo_data() / ".." / "fuzz" / "regressions" / dir;
    int n = 0;
    if (!fs::is_directory(d)) return 0;
    for (const auto& e : fs::directory_iterator(d)) {
        std::ifstream f(e.path(), std::ios::binary);
        const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        INFO(e.path().filename().string());
        const auto t0 = std::chrono::steady_clock::now();
        CHECK_NOTHROW(one(bytes.data(), bytes.size()));
        CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 5.0);  // hangs were 10+ s
        ++n;
    }
    return n;
}
}  // namespace

TEST_CASE("fuzz regressions: NIfTI reader") {
    CHECK(replay("nifti", ctspine_fuzz::nifti_one) >= 1);  // was a 13 s hang
}

TEST_CASE("fuzz regressions: gzip layer (zlib and libdeflate agree)") {
    replay("gzip", [](const std::uint8_t* d, std::size_t n) { CHECK(ctspine_fuzz::gzip_one(d, n)); });
}

TEST_CASE("fuzz regressions: zip container and torch checkpoints") { replay("zip", ctspine_fuzz::zip_one); }

TEST_CASE("fuzz regressions: nnU-Net v1 pickles") { replay("v1_pickle", ctspine_fuzz::v1_pickle_one); }

TEST_CASE("fuzz regressions: pickle machine") {
    replay("pickle", [](const std::uint8_t* d, std::size_t n) {
        try {
            (void)ctspine::parse_pickle(d, n, {}, "fuzz.pkl");
        } catch (const ctspine::error&) {
        }
    });
}

#ifdef CTSPINE_HAVE_NLOHMANN_JSON
TEST_CASE("fuzz regressions: plans.json, dataset.json, split files, evaluation tables") {
    replay("json", ctspine_fuzz::json_one);
}
#endif
