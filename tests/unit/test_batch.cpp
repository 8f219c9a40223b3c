// Batch segmentation (pipeline/batch.hpp) with the demo model on the committed lumbar CT cut-out
// (examples/data/sub-ct_label-22_ct.nii.gz: one tile of the demo model, quick also under ASan): a truncated .nii.gz
// and a garbage file among good cases are reported with their reasons and the good cases are still written; existing
// outputs are skipped; a leftover temporary file of an interrupted atomic write is never taken as an output and is
// removed; cancellation stops the batch without a partial output.
// Oracle for the written labels: tests/data/pipeline/demo_seg_sub-ct_label-22_ct.nii.gz, the demo model's
// segmentation of the same CT by the Python re-statement of nnUNetv2_predict (tests/reference/nnunet_predict_reference.py;
// the pipeline test finds it identical on >= 99.9% of voxels), and the model's dataset.json for the VerSe renumbering
// (T11..L4 = classes 1..6 = VerSe 18..23).
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "ctspine/io/nifti.hpp"
#include "ctspine/pipeline/batch.hpp"
#include "test_support.hpp"

using namespace ctspine;
namespace fs = std::filesystem;

namespace {
fs::path repo_root() { return ctspine_test::repo_data() / ".." / ".."; }
std::string demo_model() { return (repo_root() / "examples" / "models" / "demo_vertebrae" / "nnUNetTrainer__nnUNetPlans__3d_fullres").string(); }
fs::path sample_ct() { return repo_root() / "examples" / "data" / "sub-ct_label-22_ct.nii.gz"; }

std::string read_bytes(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}
void write_bytes(const fs::path& p, const std::string& s) {
    std::ofstream f(p, std::ios::binary);
    f.write(s.data(), static_cast<std::streamsize>(s.size()));
}

/// A fresh scratch folder for one test case.
fs::path scratch(const std::string& name) {
    const fs::path d = fs::temp_directory_path() / ("ctspine_test_batch_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(d);
    fs::create_directories(d / "in");
    fs::create_directories(d / "out");
    return d;
}

std::size_t count_temporaries(const fs::path& dir) {
    std::size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().find(".tmp-") != std::string::npos;
    return n;
}

/// Share of voxels where `out` equals lut[reference] (reference: the Python nnU-Net re-statement's labels).
double agreement_with_reference(const fs::path& out, const std::vector<int>& lut) {
    const auto ref = read_nifti<std::uint8_t>(ctspine_test::repo_data("pipeline/demo_seg_sub-ct_label-22_ct.nii.gz").string());
    const auto got = read_nifti<std::uint16_t>(out.string());
    REQUIRE(got.dims() == ref.dims());
    index_t same = 0;
    for (index_t i = 0; i < got.size(); ++i) same += got.data()[i] == lut.at(ref.data()[i]);
    return double(same) / double(got.size());
}
}  // namespace

TEST_CASE("batch: corrupt cases among good ones are reported, the good ones written, existing outputs skipped") {
    const fs::path d = scratch("corrupt");
    const std::string ct = read_bytes(sample_ct());
    REQUIRE(ct.size() > 1000);
    write_bytes(d / "in" / "a.nii.gz", ct);
    write_bytes(d / "in" / "b_truncated.nii.gz", ct.substr(0, ct.size() / 2));  // a download cut in half
    write_bytes(d / "in" / "c_garbage.nii.gz", std::string("this is not a NIfTI file, nor gzip\n"));
    write_bytes(d / "in" / "d.nii.gz", ct);
    write_bytes(d / "in" / "e.nii.gz", ct);
    // e's output exists already (a finished case of an earlier run): skipped and left as it is
    write_bytes(d / "out" / "e_seg.nii.gz", "earlier output");
    // d's output was being written when an earlier run was killed: only its temporary file is there
    write_bytes(d / "out" / "d_seg.nii.gz.tmp-Zq81xK", ct.substr(0, 999));
    // names that are not d's temporaries stay
    write_bytes(d / "out" / "d_seg.nii.gz.tmpX", "x");
    write_bytes(d / "out" / "other_seg.nii.gz.tmp-abcdef", "y");

    std::vector<batch_job> jobs;
    for (const char* n : {"a", "b_truncated", "c_garbage", "d", "e"})
        jobs.push_back({(d / "in" / (std::string(n) + ".nii.gz")).string(), (d / "out" / (std::string(n) + "_seg.nii.gz")).string()});

    const segmenter seg(demo_model());
    batch_options bo;
    bo.segment.threads = 2;
    bo.vertebra_cleanup = false;  // the raw nnU-Net labels, comparable with the reference
    std::vector<std::size_t> reported, progressed;
    bo.on_result = [&](std::size_t i, const batch_result&) { reported.push_back(i); };
    bo.progress = [&](std::size_t i, double f, std::string_view) {
        CHECK(f >= 0.0);
        CHECK(f <= 1.0);
        if (progressed.empty() || progressed.back() != i) progressed.push_back(i);
        return true;
    };
    const batch_summary s = run_segment_batch(seg, jobs, bo);

    REQUIRE(s.results.size() == 5);
    CHECK(reported == std::vector<std::size_t>{0, 1, 2, 3, 4});
    CHECK(progressed == std::vector<std::size_t>{0, 1, 2, 3});  // the skipped job does no work
    CHECK(s.done == 2);
    CHECK(s.failed == 2);
    CHECK(s.skipped == 1);
    CHECK(s.results[0].status == batch_status::done);
    CHECK(s.results[3].status == batch_status::done);
    CHECK(s.results[4].status == batch_status::skipped);
    for (int i : {1, 2}) {
        const auto& r = s.results[static_cast<size_t>(i)];
        CHECK(r.status == batch_status::failed);
        CHECK(r.code.has_value());
        MESSAGE("failed case " << i << ": " << r.reason);
        CHECK(r.reason.find(fs::path(jobs[static_cast<size_t>(i)].input).filename().string()) != std::string::npos);  // names the file
        CHECK_FALSE(fs::exists(jobs[static_cast<size_t>(i)].output));
    }
    CHECK(s.results[1].code != errc::cancelled);
    for (const auto& r : s.results) CHECK(r.seconds >= 0.0);
    CHECK(read_bytes(d / "out" / "e_seg.nii.gz") == "earlier output");
    // d's stale temporary was removed, the unrelated names were not
    CHECK_FALSE(fs::exists(d / "out" / "d_seg.nii.gz.tmp-Zq81xK"));
    CHECK(fs::exists(d / "out" / "d_seg.nii.gz.tmpX"));
    CHECK(fs::exists(d / "out" / "other_seg.nii.gz.tmp-abcdef"));
    CHECK(count_temporaries(d / "out") == 1);  // other_seg's, not ours
    // the written label maps: the nnU-Net reference's labels, written as uint8 (7 classes)
    const std::vector<int> identity{0, 1, 2, 3, 4, 5, 6};
    for (const char* n : {"a_seg.nii.gz", "d_seg.nii.gz"}) {
        const double agree = agreement_with_reference(d / "out" / n, identity);
        MESSAGE(std::string(n) << ": " << agree * 100 << "% of voxels as the Python reference");
        CHECK(agree >= 0.999);
        CHECK(read_nifti_header((d / "out" / n).string()).datatype == 2);  // NIFTI_TYPE_UINT8
    }
    // force: the existing output is replaced
    bo.force = true;
    bo.progress = nullptr;
    bo.on_result = nullptr;
    const batch_summary s2 = run_segment_batch(seg, {jobs[4]}, bo);
    CHECK(s2.done == 1);
    CHECK(agreement_with_reference(d / "out" / "e_seg.nii.gz", identity) >= 0.999);
    fs::remove_all(d);
}

TEST_CASE("batch: VerSe renumbering, and cancellation leaves no partial output") {
    const fs::path d = scratch("cancel");
    const std::string ct = read_bytes(sample_ct());
    write_bytes(d / "in" / "a.nii.gz", ct);
    write_bytes(d / "in" / "b.nii.gz", ct);
    const std::vector<batch_job> jobs{{(d / "in" / "a.nii.gz").string(), (d / "out" / "a_seg.nii.gz").string()},
                                      {(d / "in" / "b.nii.gz").string(), (d / "out" / "b_seg.nii.gz").string()}};
    const segmenter seg(demo_model());
    batch_options bo;
    bo.segment.threads = 2;
    bo.vertebra_cleanup = false;
    bo.output_scheme = label_scheme::verse;
    std::size_t results = 0;
    bo.on_result = [&](std::size_t, const batch_result&) { ++results; };
    bo.progress = [](std::size_t i, double f, std::string_view) { return !(i == 1 && f > 0.3); };  // stop inside the second case
    try {
        run_segment_batch(seg, jobs, bo);
        FAIL("not cancelled");
    } catch (const ctspine::error& e) {
        CHECK(e.code() == errc::cancelled);
    }
    CHECK(results == 1);
    CHECK(fs::exists(jobs[0].output));
    CHECK_FALSE(fs::exists(jobs[1].output));
    CHECK(count_temporaries(d / "out") == 0);
    // dataset.json: T11 1, T12 2, L1 3, L2 4, L3 5, L4 6 -> VerSe T11 18 ... L4 23
    const double agree = agreement_with_reference(jobs[0].output, {0, 18, 19, 20, 21, 22, 23});
    MESSAGE("VerSe-numbered output: " << agree * 100 << "% of voxels as the renumbered Python reference");
    CHECK(agree >= 0.999);
    fs::remove_all(d);
}
