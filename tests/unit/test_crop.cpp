// Crop to the non-zero bounding box and insert back: bbox against scipy.ndimage (binary_fill_holes then the box of
// the mask, as nnU-Net's crop_to_nonzero does; fixture from tests/reference/make_imgproc_fixtures.py), geometry and
// round trip against known values, bad boxes → ctspine::error.
#include <doctest/doctest.h>

#include <fstream>

#include <ctspine/imgproc/crop.hpp>
#include <ctspine/io/gzip.hpp>

#include "test_support.hpp"

using namespace ctspine;

TEST_CASE("nonzero_bbox equals the box of scipy binary_fill_holes(data != 0)") {
    std::ifstream f(ctspine_test::repo_data("imgproc/crop.txt"));
    REQUIRE(f.good());
    std::string name;
    int n = 0;
    index_t s0, s1, s2;
    std::array<index_t, 3> lo, hi;  // numpy order (z, y, x)
    while (f >> name >> s0 >> s1 >> s2 >> lo[0] >> hi[0] >> lo[1] >> hi[1] >> lo[2] >> hi[2]) {
        INFO(name);
        std::vector<float> in(size_t(s0 * s1 * s2));
        detail::byte_source src(ctspine_test::repo_data("imgproc/" + name + ".in").string());
        src.read_exact(in.data(), in.size() * 4, "fixture");
        geometry g;
        g.dims = {s2, s1, s0};
        auto b = nonzero_bbox<float>(volume_view<const float>(in.data(), g));
        CHECK(b.lo == std::array<index_t, 3>{lo[2], lo[1], lo[0]});
        CHECK(b.hi == std::array<index_t, 3>{hi[2], hi[1], hi[0]});
        ++n;
    }
    CHECK(n == 3);
}

TEST_CASE("crop to non-zero and insert back") {
    geometry g;
    g.dims = {10, 8, 6};
    g.ijk_to_ras << 2, 0, 0, -5, 0, 2, 0, 7, 0, 0, 3, 11, 0, 0, 0, 1;
    volume<float> v(g, 0.f);
    v(2, 3, 1) = 1;
    v(7, 5, 4) = -1;
    v(4, 4, 2) = 5;
    auto b = nonzero_bbox<float>(v.view());
    CHECK(b.lo == std::array<index_t, 3>{2, 3, 1});
    CHECK(b.hi == std::array<index_t, 3>{8, 6, 5});
    auto c = crop<float>(v.view(), b);
    CHECK(c.dims() == dims3{6, 3, 4});
    CHECK(c(0, 0, 0) == 1);
    CHECK(c(5, 2, 3) == -1);
    // the cropped voxel (0,0,0) is where (2,3,1) was
    vec3 w0 = c.geometry().index_to_world(vec3(0, 0, 0)), w1 = v.geometry().index_to_world(vec3(2, 3, 1));
    CHECK((w0 - w1).norm() < 1e-12);
    volume<float> back(g, 0.f);
    insert_crop<float>(c.view(), b, back.view());
    CHECK(std::equal(back.begin(), back.end(), v.begin()));
    volume<float> zero(g, 0.f);
    auto full = nonzero_bbox<float>(zero.view());
    CHECK(full.hi == std::array<index_t, 3>{10, 8, 6});  // all-zero: full extent
}

TEST_CASE("crop_into writes the caller's buffer; bad boxes are errors") {
    geometry g;
    g.dims = {5, 4, 3};
    volume<int> v(g, 0);
    for (index_t n = 0; n < v.size(); ++n) v[n] = int(n);
    bbox3 b;
    b.lo = {1, 1, 1};
    b.hi = {4, 3, 3};
    std::vector<int> buf(3 * 2 * 2);
    geometry cg = cropped_geometry(g, b);
    crop_into<int>(v.view(), b, volume_view<int>(buf.data(), cg));
    CHECK(buf[0] == v(1, 1, 1));
    CHECK(buf.back() == v(3, 2, 2));
    bbox3 bad = b;
    bad.hi[2] = 4;
    CHECK_THROWS_AS(crop<int>(v.view(), bad), ctspine::error);
    bad = b;
    bad.lo[0] = 4;
    CHECK_THROWS_AS(crop<int>(v.view(), bad), ctspine::error);
    volume<int> small(dims3{2, 2, 2}, 0);
    CHECK_THROWS_AS(insert_crop<int>(small.view(), b, v.view()), ctspine::error);
}
