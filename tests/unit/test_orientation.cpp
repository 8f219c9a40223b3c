// Orientation codes and reorientation, checked against nibabel (aff2axcodes, as_closest_canonical).
#include <doctest/doctest.h>

#include <cmath>

#include <ctspine/core/orientation.hpp>
#include <ctspine/io/nifti.hpp>

#include "nifti_expected.hpp"
#include "test_support.hpp"

using namespace ctspine;

TEST_CASE("orientation codes of simple affines") {
    affine4 a = affine4::Identity();
    CHECK(orientation_code(a) == "RAS");
    a(0, 0) = -1;
    a(1, 1) = -1;
    CHECK(orientation_code(a) == "LPS");
    affine4 pir = affine4::Zero();  // i → P, j → I, k → R
    pir(1, 0) = -1.5;
    pir(2, 1) = -1.5;
    pir(0, 2) = 1.5;
    pir(3, 3) = 1;
    CHECK(orientation_code(pir) == "PIR");
    CHECK_THROWS_AS(parse_orientation_code("RAR"), ctspine::error);
    CHECK_THROWS_AS(parse_orientation_code("XY"), ctspine::error);
}

TEST_CASE("reorientation keeps every voxel at its world position") {
    geometry g;
    g.dims = {4, 3, 5};
    g.spacing_mm = {1.5, 2, 3};
    g.ijk_to_ras = affine4::Zero();
    g.ijk_to_ras(1, 0) = -1.5;  // PIR
    g.ijk_to_ras(2, 1) = -2;
    g.ijk_to_ras(0, 2) = 3;
    g.ijk_to_ras.col(3) << 10, 20, 30, 1;
    volume<int> v(g);
    for (index_t n = 0; n < v.size(); ++n) v[n] = int(n);
    for (const char* target : {"RAS", "LPS", "SAR", "PIR"}) {
        INFO(target);
        for (int threads : {1, 2}) {
            volume<int> r = reorient<int>(v.view(), target, threads);
            CHECK(orientation_code(r.ijk_to_ras()) == target);
            for (index_t k = 0; k < r.dims()[2]; ++k)
                for (index_t j = 0; j < r.dims()[1]; ++j)
                    for (index_t i = 0; i < r.dims()[0]; ++i) {
                        vec3 w = r.geometry().index_to_world(vec3(double(i), double(j), double(k)));
                        vec3 src = v.geometry().world_to_index(w);
                        index_t si = std::lround(src.x()), sj = std::lround(src.y()), sk = std::lround(src.z());
                        REQUIRE(std::abs(src.x() - double(si)) < 1e-9);
                        CHECK(r(i, j, k) == v(si, sj, sk));
                    }
        }
    }
}

TEST_CASE("the 12 orientation files reorient to identical voxels and affine (nibabel as_closest_canonical)") {
    auto dir = ctspine_test::shared_data("nifti/orientations");
    if (dir.empty()) {
        MESSAGE("skipped: ../shared/data not present");
        return;
    }
    auto exps = ctspine_test::load_nifti_expectations(ctspine_test::repo_data("nifti/expected.txt").string());
    volume<float> first;
    int n = 0;
    for (const auto& e : exps) {
        if (e.orient_code.empty()) continue;
        INFO(e.rel);
        std::string path = (dir / e.rel.substr(std::string("shared/orientations/").size())).string();
        auto v = read_nifti<float>(path);
        CHECK(orientation_code(v.ijk_to_ras()) == e.orient_code);
        auto c = reorient<float>(v.view(), "RAS");
        CHECK(c.dims()[0] == e.dims[0]);
        CHECK(c.dims()[1] == e.dims[1]);
        CHECK(c.dims()[2] == e.dims[2]);
        for (int r = 0; r < 4; ++r)
            for (int k = 0; k < 4; ++k) CHECK(c.ijk_to_ras()(r, k) == doctest::Approx(e.affine[static_cast<size_t>(4 * r + k)]).epsilon(1e-6));
        for (auto& s : e.samples) CHECK(c(s.i, s.j, s.k) == doctest::Approx(s.v));
        if (n == 0) {
            first = c;
        } else {
            CHECK(c.dims() == first.dims());
            CHECK(std::equal(c.begin(), c.end(), first.begin()));
            CHECK(c.ijk_to_ras().isApprox(first.ijk_to_ras(), 1e-6));
        }
        ++n;
    }
    CHECK(n == 12);
}
