// Connected components against scipy.ndimage.label (fixtures: tests/reference/make_label_fixtures.py).
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include <ctspine/io/gzip.hpp>
#include <ctspine/io/nifti.hpp>
#include <ctspine/label/connected_components.hpp>

#include "test_support.hpp"

using namespace ctspine;

using ctspine_test::read_raw;

TEST_CASE("identical labels to scipy.ndimage.label for every case, connectivity and thread count") {
    std::ifstream f(ctspine_test::repo_data("label/cases.txt"));
    std::string line;
    int cases = 0;
    while (std::getline(f, line)) {
        std::istringstream is(line);
        std::string name;
        index_t nx, ny, nz;
        int conn, binary;
        index_t count;
        is >> name >> nx >> ny >> nz >> conn >> binary >> count;
        INFO(line);
        const size_t n = static_cast<size_t>(nx * ny * nz);
        auto in = read_raw<std::uint8_t>(ctspine_test::repo_data("label/" + name + ".in").string(), n);
        std::string tag = name + "_c" + std::to_string(conn) + "_b" + std::to_string(binary);
        auto expect = read_raw<std::uint32_t>(ctspine_test::repo_data("label/" + tag + ".out.gz").string(), n);
        geometry g;
        g.dims = {nx, ny, nz};
        volume_view<const std::uint8_t> vin(in.data(), g);
        for (int threads : {1, 2, 3, 5}) {
            cc_options o;
            o.connectivity = conn;
            o.binary = binary != 0;
            o.threads = threads;
            cc_result r;
            auto lab = connected_components<std::uint32_t, std::uint8_t>(vin, o, &r);
            CHECK(r.count == count);
            CHECK(std::equal(lab.begin(), lab.end(), expect.begin()));
            // statistics agree with a direct count over the output
            std::vector<index_t> voxels(static_cast<size_t>(r.count) + 1, 0);
            for (auto l : lab) voxels[l]++;
            for (index_t c = 1; c <= r.count; ++c) CHECK(r.components[static_cast<size_t>(c - 1)].voxels == voxels[static_cast<size_t>(c)]);
        }
        ++cases;
    }
    CHECK(cases >= 150);
}

TEST_CASE("output type overflow is an error, not a wrap") {
    // a checkerboard in 6-connectivity: every foreground voxel is its own component (> 255 of them)
    volume<std::uint8_t> v(dims3{20, 20, 2});
    for (index_t k = 0; k < 2; ++k)
        for (index_t j = 0; j < 20; ++j)
            for (index_t i = 0; i < 20; ++i) v(i, j, k) = (i + j + k) % 2;
    cc_options o;
    o.connectivity = 6;
    volume<std::uint8_t> out(v.geometry());
    CHECK_THROWS_AS((connected_components_into<std::uint8_t, std::uint8_t>(v.view(), out.view(), o)), ctspine::error);
    auto ok = connected_components<std::uint16_t, std::uint8_t>(v.view(), o);
    CHECK(*std::max_element(ok.begin(), ok.end()) == 400);
    o.connectivity = 26;
    auto one = connected_components<std::uint16_t, std::uint8_t>(v.view(), o);
    CHECK(*std::max_element(one.begin(), one.end()) == 1);
    o.connectivity = 7;
    CHECK_THROWS_AS((connected_components<std::uint16_t, std::uint8_t>(v.view(), o)), ctspine::error);
}

TEST_CASE("statistics: voxel count, bounding box, centroid in voxels and mm") {
    geometry g;
    g.dims = {10, 8, 6};
    g.spacing_mm = {2, 2, 3};
    g.ijk_to_ras << 2, 0, 0, -10, 0, 2, 0, 5, 0, 0, 3, 100, 0, 0, 0, 1;
    volume<std::int16_t> v(g, 0);
    for (index_t k = 1; k <= 3; ++k)
        for (index_t j = 2; j <= 5; ++j)
            for (index_t i = 4; i <= 8; ++i) v(i, j, k) = 7;  // a 5x4x3 box
    cc_result r;
    (void)connected_components<std::uint16_t, std::int16_t>(v.view(), {}, &r);
    REQUIRE(r.count == 1);
    const auto& c = r.components[0];
    CHECK(c.value == 7);
    CHECK(c.voxels == 60);
    CHECK(c.bbox_min == std::array<index_t, 3>{4, 2, 1});
    CHECK(c.bbox_max == std::array<index_t, 3>{8, 5, 3});
    CHECK(c.centroid_ijk[0] == doctest::Approx(6));
    CHECK(c.centroid_ijk[1] == doctest::Approx(3.5));
    CHECK(c.centroid_ijk[2] == doctest::Approx(2));
    CHECK(c.centroid_mm[0] == doctest::Approx(-10 + 12));
    CHECK(c.centroid_mm[1] == doctest::Approx(5 + 7));
    CHECK(c.centroid_mm[2] == doctest::Approx(100 + 6));
}

TEST_CASE("keep largest per label, remove dust, keep k largest") {
    volume<std::uint8_t> v(dims3{12, 3, 1}, 0);
    // label 1: runs of 4 and 2; label 2: runs of 3 and 1
    for (index_t i : {0, 1, 2, 3}) v(i, 0, 0) = 1;
    for (index_t i : {6, 7}) v(i, 0, 0) = 1;
    for (index_t i : {0, 1, 2}) v(i, 2, 0) = 2;
    v(10, 2, 0) = 2;
    auto a = v;
    keep_largest_per_label<std::uint8_t>(a.view());
    CHECK(std::count(a.begin(), a.end(), 1) == 4);
    CHECK(std::count(a.begin(), a.end(), 2) == 3);
    auto b = v;
    remove_small_components<std::uint8_t>(b.view(), 3);
    CHECK(std::count(b.begin(), b.end(), 1) == 4);
    CHECK(std::count(b.begin(), b.end(), 2) == 3);
    auto c = v;
    keep_k_largest<std::uint8_t>(c.view(), 1);
    CHECK(std::count(c.begin(), c.end(), 0) == 36 - 4);
    auto d = v;
    d.set_geometry([&] { auto g = v.geometry(); g.spacing_mm = {1, 1, 2}; return g; }());
    remove_small_components<std::uint8_t>(d.view(), 0, 5.0);  // voxel = 2 mm³: keep ≥ 3 voxels
    CHECK(std::count(d.begin(), d.end(), 0) == 36 - 7);
}

TEST_CASE("real label maps: one component per vertebra value, threads agree") {
    auto p = ctspine_test::shared_data("spine/sub-ct_seg-vert_label-22_msk.nii.gz");
    if (p.empty()) {
        MESSAGE("skipped: ../shared/data not present");
        return;
    }
    auto seg = read_nifti<std::uint8_t>(p.string());
    cc_options o;
    cc_result r1, r2;
    o.threads = 1;
    auto l1 = connected_components<std::uint16_t, std::uint8_t>(seg.view(), o, &r1);
    o.threads = 2;
    auto l2 = connected_components<std::uint16_t, std::uint8_t>(seg.view(), o, &r2);
    CHECK(std::equal(l1.begin(), l1.end(), l2.begin()));
    CHECK(r1.count == r2.count);
    std::map<std::int64_t, index_t> total;
    for (auto& c : r1.components) total[c.value] += c.voxels;
    std::map<std::int64_t, index_t> direct;
    for (auto x : seg)
        if (x) direct[x]++;
    CHECK(total == direct);
    // binary mode: the union of touching vertebrae is one component (data README)
    o.binary = true;
    cc_result rb;
    (void)connected_components<std::uint16_t, std::uint8_t>(seg.view(), o, &rb);
    std::vector<index_t> sizes;
    for (auto& c : rb.components) sizes.push_back(c.voxels);
    CHECK(*std::max_element(sizes.begin(), sizes.end()) > index_t(0.99 * double(std::accumulate(sizes.begin(), sizes.end(), index_t(0)))));
}

TEST_CASE("real label maps: same components, numbering and sizes as scipy (per label and binary), any thread count") {
    auto dir = ctspine_test::shared_data("spine");
    if (dir.empty()) {
        MESSAGE("skipped: ../shared/data not present");
        return;
    }
    std::ifstream f(ctspine_test::repo_data("label/real_components.txt"));
    std::string line;
    int lines = 0;
    std::map<std::string, volume<std::int32_t>> cache;
    while (std::getline(f, line)) {
        std::istringstream is(line);
        std::string name;
        int conn, binary;
        index_t count;
        is >> name >> conn >> binary >> count;
        INFO(name << " connectivity " << conn << " binary " << binary);
        std::vector<std::pair<std::int64_t, index_t>> expect;
        std::string pair;
        while (is >> pair) {
            auto colon = pair.find(':');
            expect.emplace_back(std::stoll(pair.substr(0, colon)), std::stoll(pair.substr(colon + 1)));
        }
        REQUIRE(static_cast<index_t>(expect.size()) == count);
        if (!cache.count(name)) {
            nifti_read_options ro;
            ro.apply_scaling = false;
            cache.emplace(name, read_nifti<std::int32_t>((dir / name).string(), ro));
        }
        const auto& seg = cache.at(name);
        for (int threads : {1, 2, 3}) {
            cc_options o;
            o.connectivity = conn;
            o.binary = binary != 0;
            o.threads = threads;
            cc_result r;
            volume<std::uint16_t> out(seg.geometry());
            r = connected_components_into<std::uint16_t, std::int32_t>(seg.view(), out.view(), o);
            REQUIRE(r.count == count);
            bool same = true;
            for (size_t c = 0; c < expect.size(); ++c)
                same = same && r.components[c].value == expect[c].first && r.components[c].voxels == expect[c].second;
            CHECK(same);
        }
        ++lines;
    }
    CHECK(lines == 12);
}
