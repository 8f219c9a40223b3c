// Segmentation pipeline with the demo model (examples/models/demo_vertebrae) against the Python re-statement of
// nnUNetv2_predict in tests/reference/nnunet_predict_reference.py (--pipeline; torch network, numpy/skimage
// preprocessing and export): >= 99.9% identical voxels on the shared spine CTs. Plus threads 1 vs 2 identical,
// progress/cancellation, bad model folders.
#include <doctest/doctest.h>

#include <filesystem>

#include "ctspine/io/nifti.hpp"
#include "ctspine/pipeline/segment.hpp"
#include "test_support.hpp"

using namespace ctspine;

namespace {
std::string demo_model() {
    return (ctspine_test::repo_data() / ".." / ".." / "examples" / "models" / "demo_vertebrae" /
            "nnUNetTrainer__nnUNetPlans__3d_fullres").string();
}
}  // namespace

TEST_CASE("pipeline: double -> fp16 single rounding") {
    CHECK(detail::double_to_half_bits(1.0) == 0x3c00);
    CHECK(detail::double_to_half_bits(1.0 + std::ldexp(1.0, -11)) == 0x3c00);                     // tie -> even
    CHECK(detail::double_to_half_bits(1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40)) == 0x3c01);  // float would tie
    CHECK(detail::double_to_half_bits(-65520.0) == 0xfc00);
    CHECK(detail::double_to_half_bits(std::ldexp(1.0, -25)) == 0);
    CHECK(detail::double_to_half_bits(std::ldexp(1.0, -25) + std::ldexp(1.0, -60)) == 1);
    CHECK(detail::double_to_half_bits(-3.0 * std::ldexp(1.0, -25)) == 0x8002);
}

TEST_CASE("pipeline: demo model vs the Python nnU-Net reference") {
    for (const char* name : {"example_ct_sm.nii.gz", "sub-ct_label-22_ct.nii.gz"}) {
        CTSPINE_REQUIRE_SHARED(ct_path, std::string("spine/") + name);
        const auto ref_path = ctspine_test::repo_data(std::string("pipeline/demo_seg_") + name);
        REQUIRE(std::filesystem::exists(ref_path));
        const segmenter seg(demo_model());
        const volume<float> ct = read_nifti<float>(ct_path.string());
        const volume<std::uint8_t> ref = read_nifti<std::uint8_t>(ref_path.string());
        segment_options o;
        o.threads = 1;
        const volume<std::uint16_t> a = seg.segment(ct, o);
        REQUIRE(a.dims() == ref.dims());
        index_t same = 0, fg = 0;
        for (index_t i = 0; i < a.size(); ++i) {
            same += a.data()[i] == ref.data()[i];
            fg += ref.data()[i] != 0;
        }
        const double agree = double(same) / double(a.size());
        MESSAGE(std::string(name) << ": " << same << " of " << a.size() << " voxels identical (" << agree * 100 << "%), reference foreground "
                     << fg);
        CHECK(fg > 0);
        CHECK(agree >= 0.999);
        o.threads = 2;
        const volume<std::uint16_t> b = seg.segment(ct, o);
        CHECK(std::equal(a.begin(), a.end(), b.begin()));
    }
}

TEST_CASE("pipeline: progress and cancellation") {
    const segmenter seg(demo_model());
    volume<float> ct(dims3{40, 30, 20}, -1000.0f);
    for (index_t i = 0; i < ct.size(); i += 7) ct.data()[i] = 400.0f;
    segment_options o;
    double last = -1;
    o.progress = [&](double f, std::string_view) {
        CHECK(f >= last - 1e-12);
        last = f;
        return true;
    };
    const auto out = seg.segment(ct, o);
    CHECK(last == 1.0);
    CHECK(out.dims() == ct.dims());
    o.progress = [](double f, std::string_view) { return f < 0.5; };
    try {
        seg.segment(ct, o);
        FAIL("not cancelled");
    } catch (const ctspine::error& e) {
        CHECK(e.code() == errc::cancelled);
    }
}

TEST_CASE("pipeline: bad model folder") {
    CHECK_THROWS_AS(segmenter("/nonexistent/model"), ctspine::error);
}
