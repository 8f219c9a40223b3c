// Core types: volume, geometry, parallel_for, errors.
#include <doctest/doctest.h>

#include <atomic>
#include <numeric>
#include <vector>

#include <ctspine/ctspine.hpp>

using namespace ctspine;

TEST_CASE("volume layout is x fastest and 64-byte aligned") {
    volume<int> v(dims3{3, 4, 5});
    for (index_t n = 0; n < v.size(); ++n) v[n] = static_cast<int>(n);
    CHECK(v(2, 0, 0) == 2);
    CHECK(v(0, 1, 0) == 3);
    CHECK(v(0, 0, 1) == 12);
    CHECK(v(2, 3, 4) == 59);
    CHECK(reinterpret_cast<std::uintptr_t>(v.data()) % 64 == 0);
    volume<int> c = v;  // deep copy
    c[0] = 100;
    CHECK(v[0] == 0);
    volume_view<const int> cv = v;
    CHECK(cv(1, 1, 1) == 1 + 3 + 12);
}

TEST_CASE("sizes are overflow-checked") {
    CHECK_THROWS_AS(voxel_count(dims3{-1, 2, 2}), ctspine::error);
    CHECK_THROWS_AS(voxel_count(dims3{index_t(1) << 30, index_t(1) << 30, 2}), ctspine::error);
    try {
        volume<float> v(dims3{index_t(1) << 21, index_t(1) << 21, 1});  // 2^42 voxels > max_voxels
        FAIL("no throw");
    } catch (const ctspine::error& e) {
        CHECK(e.code() == errc::size_limit);
    }
    CHECK(voxel_count(dims3{512, 512, 400}) == 104857600);
}

TEST_CASE("geometry maps index to world and back") {
    geometry g;
    g.dims = {10, 10, 10};
    g.ijk_to_ras << -0.8, 0, 0, 100, 0, 0.8, 0, -50, 0, 0, 1.5, 20, 0, 0, 0, 1;
    vec3 w = g.index_to_world(vec3(1, 2, 3));
    CHECK(w.x() == doctest::Approx(100 - 0.8));
    CHECK(w.y() == doctest::Approx(-50 + 1.6));
    CHECK(w.z() == doctest::Approx(20 + 4.5));
    vec3 back = g.world_to_index(w);
    CHECK(back.x() == doctest::Approx(1));
    CHECK(back.y() == doctest::Approx(2));
    CHECK(back.z() == doctest::Approx(3));
}

TEST_CASE("parallel_for covers the range exactly once, deterministically") {
    for (int threads : {1, 2, 3, 7}) {
        std::vector<int> hits(1001, 0);
        parallel_for(threads, 1001, [&](index_t b, index_t e, int) {
            for (index_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
        });
        CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
    }
    CHECK(chunk_begin(10, 3, 0) == 0);
    CHECK(chunk_begin(10, 3, 3) == 10);
    CHECK_THROWS_AS(parallel_for(2, 10, [](index_t b, index_t, int) {
                        if (b > 0) throw error(errc::internal, "boom");
                    }),
                    ctspine::error);
}

TEST_CASE("error carries code and context") {
    error e(errc::bad_header, "nifti: vox_offset 12 < 352", "ct.nii.gz", "vox_offset", "12");
    CHECK(std::string(e.what()) == "nifti: vox_offset 12 < 352 in 'ct.nii.gz'");
    CHECK(e.code() == errc::bad_header);
    CHECK(e.field() == "vox_offset");
    CHECK(e.value() == "12");
    progress_fn stop = [](double, std::string_view) { return false; };
    CHECK_THROWS_AS(detail::report(stop, 0.5, "x"), ctspine::error);
}
