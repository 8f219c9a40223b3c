// ctspine — segment many CTs in one run, the way a batch over a dataset needs it: jobs run in order; a job whose
// output exists is skipped (unless `force`), so a batch that was stopped — even killed with SIGKILL — is restarted by
// running it again; a case that fails (unreadable or corrupt file, a model that does not fit, a full disk) is
// recorded with its reason and the batch goes on with the next case.
//
// Why a restart never trusts a partial output: every output is written by write_nifti through io/atomic_file.hpp,
// i.e. under a temporary name `<output>.tmp-XXXXXX` beside it and renamed over `<output>` only when complete. A file
// under the output's own name is therefore always complete; a killed run leaves at most such a temporary file, which
// is never taken as an output, and run_segment_batch() removes it before it writes that output again.
//
//     ctspine::segmenter seg("Dataset.../nnUNetTrainer__nnUNetPlans__3d_fullres");
//     std::vector<ctspine::batch_job> jobs{{"ct/a.nii.gz", "seg/a_seg.nii.gz"}, {"ct/b.nii.gz", "seg/b_seg.nii.gz"}};
//     ctspine::batch_options bo;
//     bo.segment.threads = 0;
//     ctspine::batch_summary s = ctspine::run_segment_batch(seg, jobs, bo);
//     for (const auto& r : s.results) if (r.status == ctspine::batch_status::failed) { /* r.reason */ }
//
// The library never prints: a host reports progress and results through the callbacks.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/progress.hpp"
#include "ctspine/io/nifti.hpp"
#include "ctspine/label/label_schemes.hpp"
#include "ctspine/label/vertebrae.hpp"
#include "ctspine/pipeline/segment.hpp"
#include "ctspine/pipeline/vertebra_classes.hpp"

namespace ctspine {

/// One case of a batch: the CT to read and the label map to write.
struct batch_job {
    std::string input;   ///< CT (any NIfTI form read_nifti reads)
    std::string output;  ///< label map to write (".nii.gz" gives gzip); its folder must exist
};

enum class batch_status { done, skipped, failed };

inline const char* batch_status_name(batch_status s) noexcept {
    switch (s) {
        case batch_status::done: return "done";
        case batch_status::skipped: return "skipped";
        case batch_status::failed: return "failed";
    }
    return "failed";
}

/// What happened to one job.
struct batch_result {
    batch_status status = batch_status::failed;
    /// failed: the error message (ctspine::error::what(), naming the file); skipped: why ("output exists").
    std::string reason;
    /// failed with a ctspine::error: its code; other exceptions (std::bad_alloc, std::exception): nullopt.
    std::optional<errc> code;
    double seconds = 0;  ///< wall time spent on this job (reading, segmenting, post-processing, writing)
    /// done: what the vertebra clean-up changed (zero when it did not run).
    index_t cleanup_voxels_moved = 0, cleanup_voxels_dropped = 0, cleanup_labels_dissolved = 0;
    bool cleaned = false;  ///< done: the vertebra clean-up ran
};

struct batch_options {
    /// Options of every segmenter::segment call (threads, ISA, memory limit, mirroring, ...). Its `progress` is not
    /// used: the batch's own `progress` below receives every case's progress.
    segment_options segment;
    /// Run every job even when its output exists (the output is replaced atomically).
    bool force = false;
    /// For vertebra models (is_vertebra_model of the class names): apply clean_vertebrae before writing, as the
    /// `ctspine segment` tool does by default.
    bool vertebra_cleanup = true;
    vertebra_cleanup_options cleanup;  ///< its `threads` is taken from segment.threads
    /// For vertebra models: write label values of this scheme (e.g. label_scheme::verse, CTSpine1K's numbering)
    /// instead of the model's class indices (class_to_scheme_table; non-vertebra classes become 0). nullopt: class
    /// indices, as nnU-Net writes them.
    std::optional<label_scheme> output_scheme;
    /// Write uint8 when every label fits (as nnU-Net does for < 256 classes), else uint16.
    bool compact_datatype = true;
    nifti_write_options write;  ///< its `threads` is taken from segment.threads when 0
    /// Called during each job: (job index, fraction of that job in [0, 1], stage). Stages: "read", the segmenter's
    /// stages, "cleanup", "write". Return false to cancel the batch: run_segment_batch() then throws
    /// ctspine::error(errc::cancelled); outputs already written stay, the cancelled job leaves no output.
    std::function<bool(std::size_t index, double fraction, std::string_view stage)> progress;
    /// Called once per job, in job order, as soon as its result is known (done / skipped / failed).
    std::function<void(std::size_t index, const batch_result& result)> on_result;
};

struct batch_summary {
    std::vector<batch_result> results;  ///< one per job, in job order
    std::size_t done = 0, skipped = 0, failed = 0;
};

namespace detail {

/// Remove the temporary files an interrupted atomic write of `target` may have left (io/atomic_file.hpp names them
/// `<target>.tmp-<suffix>`). Only names of exactly that form are touched. Returns how many were removed.
inline std::size_t remove_stale_temporaries(const std::string& target) {
    namespace fs = std::filesystem;
    const fs::path t(target);
    const std::string prefix = t.filename().string() + ".tmp-";
    const fs::path dir = t.has_parent_path() ? t.parent_path() : fs::path(".");
    std::error_code ec;
    std::size_t n = 0;
    fs::directory_iterator it(dir, ec), end;
    if (ec) return 0;
    std::vector<fs::path> stale;
    for (; it != end; it.increment(ec)) {
        if (ec) break;
        const std::string name = it->path().filename().string();
        if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0) stale.push_back(it->path());
    }
    for (const auto& p : stale) n += fs::remove(p, ec) ? 1 : 0;
    return n;
}

inline bool output_exists(const std::string& path) {
    std::error_code ec;
    return std::filesystem::is_regular_file(path, ec);
}

}  // namespace detail

/// Segment every job in order with `seg` (see the top of this file). Per-case failures are caught — a ctspine::error
/// or any std::exception (std::bad_alloc included) — recorded in the job's result and the batch goes on; only a
/// cancellation from the progress callback ends the batch early (errc::cancelled is thrown). Never prints.
inline batch_summary run_segment_batch(const segmenter& seg, const std::vector<batch_job>& jobs, const batch_options& opt = {}) {
    using clock = std::chrono::steady_clock;
    batch_summary summary;
    summary.results.reserve(jobs.size());
    const std::vector<std::string> names = seg.class_names();
    const bool vertebra_model = is_vertebra_model(names);
    const bool cleanup = opt.vertebra_cleanup && vertebra_model;
    std::vector<std::uint16_t> lut;
    if (opt.output_scheme && vertebra_model) lut = class_to_scheme_table(names, *opt.output_scheme);

    for (std::size_t j = 0; j < jobs.size(); ++j) {
        const batch_job& job = jobs[j];
        batch_result r;
        const auto t0 = clock::now();
        auto report = [&](double f, std::string_view stage) {
            if (opt.progress && !opt.progress(j, f, stage))
                throw error(errc::cancelled, "batch cancelled during " + std::string(stage), job.input);
        };
        if (!opt.force && detail::output_exists(job.output)) {
            r.status = batch_status::skipped;
            r.reason = "output exists";
        } else {
            try {
                detail::remove_stale_temporaries(job.output);
                report(0.0, "read");
                const volume<float> ct = read_nifti<float>(job.input);
                segment_options so = opt.segment;
                so.progress = [&](double f, std::string_view stage) {
                    report(0.02 + 0.93 * f, stage);
                    return true;
                };
                volume<std::uint16_t> labels = seg.segment(ct, so);
                if (cleanup) {
                    report(0.95, "cleanup");
                    vertebra_cleanup_options co = opt.cleanup;
                    co.threads = opt.segment.threads;
                    for (const auto& e : clean_vertebrae<std::uint16_t>(labels.view(), co)) {
                        r.cleanup_voxels_moved += e.voxels_moved_out;
                        r.cleanup_voxels_dropped += e.voxels_dropped;
                        r.cleanup_labels_dissolved += e.dissolved;
                    }
                    r.cleaned = true;
                }
                if (!lut.empty())
                    for (auto& v : labels) v = v < lut.size() ? lut[v] : std::uint16_t(0);
                report(0.97, "write");
                nifti_write_options wo = opt.write;
                if (wo.threads == 0) wo.threads = opt.segment.threads;
                if (opt.compact_datatype) write_labels_nifti(job.output, labels, wo);
                else write_nifti(job.output, labels, wo);
                r.status = batch_status::done;
            } catch (const error& e) {
                if (e.code() == errc::cancelled) throw;
                r.status = batch_status::failed;
                r.reason = e.what();
                r.code = e.code();
            } catch (const std::bad_alloc&) {
                r.status = batch_status::failed;
                r.reason = "out of memory reading or segmenting '" + job.input + "'";
            } catch (const std::exception& e) {
                r.status = batch_status::failed;
                r.reason = std::string(e.what()) + " ('" + job.input + "')";
            }
        }
        r.seconds = std::chrono::duration<double>(clock::now() - t0).count();
        summary.done += r.status == batch_status::done;
        summary.skipped += r.status == batch_status::skipped;
        summary.failed += r.status == batch_status::failed;
        summary.results.push_back(r);
        if (opt.on_result) opt.on_result(j, summary.results.back());
    }
    return summary;
}

}  // namespace ctspine
