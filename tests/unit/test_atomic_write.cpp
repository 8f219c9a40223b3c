// Writes that fail half-way leave the previous file intact and no partial file behind: a real write failure is
// provoked with a file-size limit (setrlimit RLIMIT_FSIZE, SIGXFSZ ignored so write() returns EFBIG), for every
// writer: NIfTI (.nii, .nii.gz, .hdr/.img pair), PNG, and text reports.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <ctspine/io/atomic_file.hpp>
#include <ctspine/io/nifti.hpp>
#include <ctspine/io/png.hpp>

#if defined(__unix__) || defined(__APPLE__)
#include <signal.h>
#include <sys/resource.h>
#define CTSPINE_TEST_HAVE_RLIMIT 1
#endif

namespace fs = std::filesystem;

namespace {

std::vector<char> bytes_of(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::vector<char>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

/// A fresh, empty directory for one test.
fs::path fresh_dir(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("ctspine_test_atomic_" + name);
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

std::vector<std::string> names_in(const fs::path& d) {
    std::vector<std::string> n;
    for (const auto& e : fs::directory_iterator(d)) n.push_back(e.path().filename().string());
    std::sort(n.begin(), n.end());
    return n;
}

ctspine::volume<float> noise_volume(ctspine::index_t n, std::uint32_t seed) {
    ctspine::volume<float> v(ctspine::dims3{n, n, n});
    std::uint32_t s = seed;
    for (auto& x : v) x = float((s = s * 1664525u + 1013904223u) >> 8);  // incompressible enough for gzip
    return v;
}

#ifdef CTSPINE_TEST_HAVE_RLIMIT
/// Runs f with writes capped at `limit` bytes per file; restores the previous limit and SIGXFSZ handling.
template <class F>
void with_file_size_limit(rlim_t limit, F&& f) {
    rlimit old{};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    struct sigaction ign {}, prev {};
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    REQUIRE(sigaction(SIGXFSZ, &ign, &prev) == 0);
    rlimit capped = old;
    capped.rlim_cur = limit;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &capped) == 0);
    try {
        f();
    } catch (...) {
        setrlimit(RLIMIT_FSIZE, &old);
        sigaction(SIGXFSZ, &prev, nullptr);
        throw;
    }
    setrlimit(RLIMIT_FSIZE, &old);
    sigaction(SIGXFSZ, &prev, nullptr);
}
#endif

}  // namespace

TEST_CASE("output_file: nothing under the target's name before commit, and no temporary file after a failure") {
    const fs::path d = fresh_dir("basic");
    const fs::path target = d / "report.json";
    {
        ctspine::detail::output_file f(target.string());
        f.write("{}", 2);
        CHECK_FALSE(fs::exists(target));
        CHECK(fs::exists(f.temp_path()));
        CHECK(fs::path(f.temp_path()).parent_path() == d);  // same directory: rename cannot cross file systems
        f.commit();
    }
    CHECK(bytes_of(target) == std::vector<char>{'{', '}'});
    {
        ctspine::detail::output_file f(target.string());
        f.write("partial", 7);
        // destroyed without commit (as when an exception unwinds)
    }
    CHECK(bytes_of(target) == std::vector<char>{'{', '}'});
    CHECK(names_in(d) == std::vector<std::string>{"report.json"});
    CHECK_THROWS_AS(ctspine::write_file_atomic((d / "no_such_dir" / "x.txt").string(), std::string("x")), ctspine::error);
}

#ifdef CTSPINE_TEST_HAVE_RLIMIT
TEST_CASE("a write that fails half-way (file-size limit) keeps the previous file and leaves no partial file") {
    const auto small = noise_volume(8, 1);    // 2 KB of voxels: fits under the limit
    const auto large = noise_volume(40, 2);   // 256 KB: does not
    const rlim_t limit = 64 * 1024;
    for (const std::string name : {"ct.nii", "ct.nii.gz", "ct.hdr", "ct.hdr.gz"}) {
        CAPTURE(name);
        const fs::path d = fresh_dir("nifti");
        const fs::path target = d / name;
        ctspine::write_nifti(target.string(), small);
        const std::vector<std::string> before_names = names_in(d);
        std::vector<std::vector<char>> before;
        for (const auto& n : before_names) before.push_back(bytes_of(d / n));
        bool threw = false;
        with_file_size_limit(limit, [&] {
            try {
                ctspine::write_nifti(target.string(), large);
            } catch (const ctspine::error& e) {
                threw = true;
                CHECK(e.code() == ctspine::errc::io);
            }
        });
        CHECK(threw);
        REQUIRE(names_in(d) == before_names);  // no temporary files left, no new files
        for (size_t i = 0; i < before_names.size(); ++i) CHECK(bytes_of(d / before_names[i]) == before[i]);
        const auto back = ctspine::read_nifti<float>(target.string());  // the old file still reads
        CHECK(back.dims() == small.dims());
        CHECK(std::equal(back.begin(), back.end(), small.begin()));
    }
    {  // PNG
        const fs::path d = fresh_dir("png");
        const fs::path target = d / "preview.png";
        std::vector<std::uint8_t> tiny(4 * 4, 7), big(512 * 512 * 3);
        std::uint32_t s = 7;
        for (auto& b : big) b = std::uint8_t((s = s * 1664525u + 1013904223u) >> 24);  // incompressible: > 700 KB as PNG
        ctspine::write_png(target.string(), tiny.data(), 4, 4, 1);
        const auto old = bytes_of(target);
        with_file_size_limit(limit, [&] { CHECK_THROWS_AS(ctspine::write_png(target.string(), big.data(), 512, 512, 3), ctspine::error); });
        CHECK(bytes_of(target) == old);
        CHECK(names_in(d) == std::vector<std::string>{"preview.png"});
    }
    {  // text
        const fs::path d = fresh_dir("text");
        const fs::path target = d / "summary.csv";
        ctspine::write_file_atomic(target.string(), std::string("a,b\n1,2\n"));
        with_file_size_limit(limit, [&] {
            CHECK_THROWS_AS(ctspine::write_file_atomic(target.string(), std::string(200000, 'x')), ctspine::error);
        });
        const auto got = bytes_of(target);
        CHECK(std::string(got.begin(), got.end()) == "a,b\n1,2\n");
        CHECK(names_in(d) == std::vector<std::string>{"summary.csv"});
    }
}
#endif
