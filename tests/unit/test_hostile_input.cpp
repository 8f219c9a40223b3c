// Numerically hostile inputs have a defined behaviour or a clear error (the table in docs/robustness.md): non-finite
// voxels, degenerate grids and spacings, singular affines, and label maps using all 65,535 labels.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <ctspine/evaluate/evaluate.hpp>
#include <ctspine/io/nifti.hpp>
#include <ctspine/label/connected_components.hpp>
#include <ctspine/mesh/surface_extraction.hpp>
#include <ctspine/pipeline/segment.hpp>

#include "test_support.hpp"

using namespace ctspine;

namespace {
std::string demo_model() {
    return (ctspine_test::repo_data() / ".." / ".." / "examples" / "models" / "demo_vertebrae" / "nnUNetTrainer__nnUNetPlans__3d_fullres").string();
}
errc code_of(const segmenter& seg, const volume<float>& ct, const segment_options& so) {
    try {
        (void)seg.segment(ct, so);
    } catch (const ctspine::error& e) {
        return e.code();
    }
    return errc::internal;  // "no error"
}
volume<float> with_geometry(const volume<float>& base, const geometry& g) {
    volume<float> v(g);
    std::copy(base.begin(), base.end(), v.begin());
    return v;
}
}  // namespace

TEST_CASE("segment: hostile CTs give a clear error or a defined result") {
    const segmenter seg(demo_model());
    const auto base = read_nifti<float>(ctspine_test::repo_data("pipeline/sub-ct_crop32.nii.gz").string());
    segment_options so;
    so.threads = 2;
    so.mirroring = false;
    const auto ref = seg.segment(base, so);

    SUBCASE("NaN or infinite voxels: refused with the counts (nnU-Net v2 would pass them into the network)") {
        for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
            auto v = base;
            v[100] = bad;
            v[2000] = bad;
            try {
                (void)seg.segment(v, so);
                FAIL("no error");
            } catch (const ctspine::error& e) {
                CHECK(e.code() == errc::invalid_argument);
                CHECK(std::string(e.what()).find(std::isnan(bad) ? "2 NaN and 0 infinite" : "0 NaN and 2 infinite") != std::string::npos);
            }
        }
    }
    SUBCASE("degenerate spacings are refused; absurd ones hit a clear limit") {
        for (double sp : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN()}) {
            geometry g = base.geometry();
            g.spacing_mm = {sp, sp, sp};
            CHECK(code_of(seg, with_geometry(base, g), so) == errc::invalid_argument);
        }
        geometry tiny = base.geometry(), huge = base.geometry();
        tiny.spacing_mm = {1e-6, 1e-6, 1e-6};  // 32 µm of CT: nothing left at the model's spacing
        huge.spacing_mm = {1e6, 1e6, 1e6};     // 32 km of CT: the resampled grid exceeds every size limit
        CHECK(code_of(seg, with_geometry(base, tiny), so) == errc::invalid_argument);
        CHECK(code_of(seg, with_geometry(base, huge), so) == errc::size_limit);
    }
    SUBCASE("1x1x1 and single-slice images are refused; an all-zero CT is segmented whole, as nnU-Net does") {
        for (dims3 d : {dims3{32, 32, 1}, dims3{1, 1, 1}}) {
            geometry g = base.geometry();
            g.dims = d;
            volume<float> v(g, 0.f);
            CHECK(code_of(seg, v, so) == errc::invalid_argument);  // smaller than one voxel at the model's spacing
        }
        volume<float> zero(base.geometry(), 0.f);  // crop_to_nonzero keeps the full extent of an all-zero image
        const auto s = seg.segment(zero, so);
        CHECK(s.dims() == base.dims());
    }
    SUBCASE("the affine does not enter the prediction: a singular or NaN affine gives the same labels") {
        geometry singular = base.geometry(), nan_affine = base.geometry();
        singular.ijk_to_ras.setZero();
        singular.ijk_to_ras(3, 3) = 1;
        nan_affine.ijk_to_ras(0, 0) = std::numeric_limits<double>::quiet_NaN();
        for (const geometry& g : {singular, nan_affine}) {
            const auto s = seg.segment(with_geometry(base, g), so);
            CHECK(std::equal(s.begin(), s.end(), ref.begin(), ref.end()));
        }
    }
}

TEST_CASE("label maps using every one of the 65,535 labels") {
    // 64 x 64 x 16 voxels, voxel n labelled n % 65535 + 1: every label once (label 1 twice, at the first and the last
    // voxel). Components never span two labels, so every voxel is its own component.
    volume<std::uint16_t> lab(dims3{64, 64, 16});
    for (index_t n = 0; n < lab.size(); ++n) lab[n] = static_cast<std::uint16_t>(n % 65535 + 1);
    cc_options co;
    co.threads = 2;
    volume<std::uint32_t> cc(lab.geometry());
    const auto r = connected_components_into<std::uint32_t, std::uint16_t>(lab.view(), cc.view(), co);
    // label 1 sits at voxels 0 and 65535 (far apart): 65,536 components, one per voxel
    CHECK(r.count == 65536);

    evaluate_options eo;
    eo.threads = 2;
    eo.surface_dice = false;  // the distances are exercised; surfel areas add nothing here
    const auto ev = evaluate<std::uint16_t, std::uint16_t>(volume_view<const std::uint16_t>(lab.data(), lab.geometry()),
                                                           volume_view<const std::uint16_t>(lab.data(), lab.geometry()), eo);
    REQUIRE(ev.labels.size() == 65535);
    for (const auto& l : ev.labels) {
        CHECK(l.status == label_status::both);
        CHECK(l.dice == 1.0);
    }

    surface_options mo;
    mo.threads = 2;
    const auto meshes = extract_surfaces<std::uint16_t>(lab, mo);
    CHECK(meshes.size() == 65535);
    for (const auto& m : meshes) CHECK(m.triangles.size() == (m.label == 1 ? 16u : 8u));  // one or two octahedra
}
