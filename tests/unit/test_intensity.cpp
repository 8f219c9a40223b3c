// Intensity operations: CTNormalization bitwise against NumPy float32, percentiles against np.percentile,
// windowing and crop against known values, SIMD kernels against scalar twins.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <map>
#include <random>

#include <ctspine/imgproc/crop.hpp>
#include <ctspine/imgproc/intensity.hpp>
#include <ctspine/io/gzip.hpp>

#include "test_support.hpp"

using namespace ctspine;

using ctspine_test::read_f32;

TEST_CASE("CTNormalization is bitwise NumPy's float32 result; percentiles match np.percentile") {
    std::ifstream f(ctspine_test::repo_data("imgproc/ctnorm.txt"));
    ct_normalization p;
    f >> p.percentile_00_5 >> p.percentile_99_5 >> p.mean >> p.std;
    auto in = read_f32(ctspine_test::repo_data("imgproc/ctnorm.in").string(), 4000);
    auto expect = read_f32(ctspine_test::repo_data("imgproc/ctnorm.out").string(), 4000);
    for (int threads : {1, 2}) {
        std::vector<float> out(4000);
        ct_normalize(in.data(), out.data(), 4000, p, threads);
        CHECK(std::memcmp(out.data(), expect.data(), 4000 * 4) == 0);
    }
    std::vector<double> v(in.begin(), in.end());
    double q, val;
    int n = 0;
    while (f >> q >> val) {
        CHECK(percentile(v, q) == val);  // same lerp formula in float64: exact
        ++n;
    }
    CHECK(n == 6);
    CHECK_THROWS_AS(percentile({}, 50), ctspine::error);
}

TEST_CASE("SIMD intensity kernels equal their scalar twins") {
    std::mt19937 rng(5);
    std::normal_distribution<float> d(0, 800);
    for (index_t n : {1, 7, 16, 33, 1000}) {
        std::vector<float> in(static_cast<size_t>(n)), a(in.size()), b(in.size());
        for (auto& x : in) x = d(rng);
        detail::ct_normalize_kernel(in.data(), a.data(), n, -1000.f, 1500.f, 40.f, 350.f);
        detail::ct_normalize_scalar(in.data(), b.data(), n, -1000.f, 1500.f, 40.f, 350.f);
        CHECK(a == b);
        detail::window_kernel(in.data(), a.data(), n, -500.f, 1300.f, 1800.f);
        detail::window_scalar(in.data(), b.data(), n, -500.f, 1300.f, 1800.f);
        CHECK(a == b);
    }
}

TEST_CASE("windowing: known values and presets") {
    volume<float> v(dims3{5, 1, 1});
    float vals[5] = {-2000, -500, 400, 1300, 3000};
    std::copy(vals, vals + 5, v.begin());
    auto w = window(v.view(), window_bone);  // L 400 W 1800: [-500, 1300]
    CHECK(w[0] == 0.f);
    CHECK(w[1] == 0.f);
    CHECK(w[2] == doctest::Approx(0.5));
    CHECK(w[3] == 1.f);
    CHECK(w[4] == 1.f);
    auto u = window_uint8(v.view(), window_bone);
    CHECK(u[2] == 128);  // round(127.5) = 128
    CHECK(u[4] == 255);
    CHECK_THROWS_AS(window(v.view(), window_hu{0, 0}), ctspine::error);
}

TEST_CASE("foreground_statistics against NumPy (mean/std float64, np.percentile linear) over a mask") {
    std::ifstream f(ctspine_test::repo_data("imgproc/ctnorm.txt"));
    double p005, p995, mean, sd;
    f >> p005 >> p995 >> mean >> sd;
    std::map<double, double> q;  // np.percentile of the float64 values, from the fixture's second line
    double a, b;
    while (f >> a >> b) q[a] = b;
    auto in = read_f32(ctspine_test::repo_data("imgproc/ctnorm.in").string(), 4000);
    // 400 extra voxels of 1e6 outside the mask must be ignored
    std::vector<float> data(in);
    data.resize(4400, 1e6f);
    geometry g2;
    g2.dims = {20, 20, 11};
    volume<std::uint8_t> mask2(g2, 1);
    for (index_t i = 4000; i < 4400; ++i) mask2[i] = 0;
    auto s = foreground_statistics<std::uint8_t>(volume_view<const float>(data.data(), g2), mask2.view());
    CHECK(s.count == 4000);
    CHECK(s.mean == doctest::Approx(mean).epsilon(1e-12));
    CHECK(s.std == doctest::Approx(sd).epsilon(1e-12));
    CHECK(s.min == q.at(0.0));
    CHECK(s.max == q.at(100.0));
    CHECK(s.median == q.at(50.0));
    CHECK(s.percentile_00_5 == q.at(0.5));
    CHECK(s.percentile_99_5 == q.at(99.5));
}
