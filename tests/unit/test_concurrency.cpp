// Several host threads calling the public API at once on different data, and one segmenter shared read-only by two
// threads, give exactly what the same calls give one after another. run_tests.sh also builds this test with
// ThreadSanitizer, which reports any data race between the callers (or inside ctspine's own worker threads).
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <ctspine/io/nifti.hpp>
#include <ctspine/label/connected_components.hpp>
#include <ctspine/pipeline/segment.hpp>

#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace ctspine;

namespace {

std::string demo_model() {
    return (ctspine_test::repo_data() / ".." / ".." / "examples" / "models" / "demo_vertebrae" / "nnUNetTrainer__nnUNetPlans__3d_fullres").string();
}

/// Runs every job on its own std::thread at once; rethrows the first failure after all have joined.
void run_together(const std::vector<std::function<void()>>& jobs) {
    std::vector<std::exception_ptr> errors(jobs.size());
    std::vector<std::thread> pool;
    for (size_t i = 0; i < jobs.size(); ++i)
        pool.emplace_back([&, i] {
            try {
                jobs[i]();
            } catch (...) {
                errors[i] = std::current_exception();
            }
        });
    for (auto& t : pool) t.join();
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

}  // namespace

TEST_CASE("concurrent callers: own segmenters, one shared segmenter, reads, writes and components at once") {
    const std::string ct_path = ctspine_test::repo_data("pipeline/sub-ct_crop32.nii.gz").string();
    const auto ct = read_nifti<float>(ct_path);
    segment_options so;
    so.threads = 2;  // each call also runs its own worker threads
    so.mirroring = false;

    // the sequential answers
    const segmenter shared(demo_model());
    const auto expect_seg = shared.segment(ct, so);
    cc_options co;
    co.threads = 2;
    volume<std::uint32_t> expect_cc(ct.geometry());
    volume<std::uint8_t> mask(ct.geometry());
    for (index_t i = 0; i < ct.size(); ++i) mask[i] = ct[i] > 200.f;
    const auto expect_n = connected_components_into<std::uint32_t, std::uint8_t>(mask.view(), expect_cc.view(), co).count;

    const fs::path dir = fs::temp_directory_path() / "ctspine_test_concurrency";
    fs::remove_all(dir);
    fs::create_directories(dir);
    std::vector<volume<std::uint16_t>> segs(4);
    std::vector<volume<float>> reads(2);
    std::vector<volume<std::uint32_t>> ccs(2, volume<std::uint32_t>(ct.geometry()));
    std::vector<index_t> cc_n(2);
    std::vector<std::function<void()>> jobs;
    for (int i = 0; i < 2; ++i) {
        jobs.push_back([&, i] { segs[size_t(i)] = segmenter(demo_model()).segment(read_nifti<float>(ct_path), so); });  // own segmenter
        jobs.push_back([&, i] { segs[size_t(2 + i)] = shared.segment(ct, so); });                                        // shared, const
        jobs.push_back([&, i] {
            const std::string p = (dir / ("copy" + std::to_string(i) + ".nii.gz")).string();
            write_nifti(p, ct);
            reads[size_t(i)] = read_nifti<float>(p);
        });
        jobs.push_back([&, i] {
            cc_n[size_t(i)] = connected_components_into<std::uint32_t, std::uint8_t>(mask.view(), ccs[size_t(i)].view(), co).count;
        });
    }
    run_together(jobs);
    for (const auto& s : segs) CHECK(std::equal(s.begin(), s.end(), expect_seg.begin(), expect_seg.end()));
    for (const auto& r : reads) CHECK(std::equal(r.begin(), r.end(), ct.begin(), ct.end()));
    for (int i = 0; i < 2; ++i) {
        CHECK(cc_n[size_t(i)] == expect_n);
        CHECK(std::equal(ccs[size_t(i)].begin(), ccs[size_t(i)].end(), expect_cc.begin(), expect_cc.end()));
    }
    fs::remove_all(dir);
}
