// ctspine — score a predicted label map against a reference, per label, in one call: counts and overlap (nnU-Net
// v1 rules, overlap.hpp), medpy-semantics surface distances (surface_distance.hpp), surface Dice at tolerances τ
// (DeepMind surfels by default, voxel-border variant beside it; surface_dice.hpp), VerSe identification
// (identification.hpp) and a status per label (both / missed / extra / absent) so that a missed vertebra never
// disappears from an average.
//
// Work: one threaded pass over both volumes (counts, bounding boxes, centroid sums of every label), then per label,
// inside the union bounding box of its two masks (an exact crop, see the headers above), the borders, surfels and
// four exact distance transforms. Labels run in parallel (each label's computation is sequential and independent),
// so results are identical for any thread count.
#pragma once
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/progress.hpp"
#include "ctspine/core/volume.hpp"
#include "ctspine/evaluate/identification.hpp"
#include "ctspine/evaluate/overlap.hpp"
#include "ctspine/evaluate/surface_dice.hpp"
#include "ctspine/evaluate/surface_distance.hpp"
#include "ctspine/imgproc/resample.hpp"

namespace ctspine {

/// Where a label occurs.
enum class label_status { both, missed, extra, absent };

inline const char* label_status_name(label_status s) noexcept {
    switch (s) {
        case label_status::both: return "both";
        case label_status::missed: return "missed";
        case label_status::extra: return "extra";
        case label_status::absent: return "absent";
    }
    return "absent";
}

struct evaluate_options {
    /// Labels to score (each ≥ 1). Empty: every non-zero label present in either map.
    std::vector<std::int64_t> labels;
    /// Surface Dice tolerances in mm (each gets nsd and nsd_voxel values).
    std::vector<double> tau_mm{1.0, 2.0};
    bool surface_distances = true;  ///< HD, HD95, ASD, ASSD, MASD and the voxel NSD
    bool surface_dice = true;       ///< surfel NSD
    double identification_max_mm = 20.0;
    /// Grids must agree: same dims, and every ijk_to_ras entry and spacing within this many mm.
    double geometry_tolerance_mm = 1e-3;
    /// Instead of refusing a prediction on another grid, resample it (nearest neighbour, world space) onto the
    /// reference grid.
    bool resample_prediction = false;
    int threads = 0;
    /// Called with the fraction done; during the per-label stage from the worker threads, one call at a time.
    progress_fn progress;
};

/// Everything measured for one label. Undefined values are NaN (see each reference's empty rules).
struct label_evaluation {
    std::int64_t label = 0;
    label_status status = label_status::absent;
    overlap_counts counts;
    double vol_ref_mm3 = 0, vol_pred_mm3 = 0;
    double dice = 0, iou = 0, precision = 0, recall = 0, rvd = 0;  ///< nnU-Net v1 rules; rvd = medpy ravd
    surface_distance_metrics distance;                               ///< medpy 0.5.2 (NaN unless status both)
    std::vector<double> nsd;        ///< per tau: DeepMind surfel NSD (0 when missed/extra, NaN when absent)
    std::vector<double> nsd_voxel;  ///< per tau: MetricsReloaded voxel-border NSD (same empty rules)
    std::array<double, 3> centroid_ref_mm{}, centroid_pred_mm{};  ///< NaN where absent
    double centroid_dist_mm = std::numeric_limits<double>::quiet_NaN();
    double identified = std::numeric_limits<double>::quiet_NaN();  ///< VerSe rule: 1/0 for reference labels, else NaN
};

struct case_evaluation {
    geometry grid;                 ///< the grid the metrics were computed on (the reference's)
    std::vector<double> tau_mm;
    std::vector<label_evaluation> labels;  ///< in increasing label order
    std::int64_t n_both = 0, n_missed = 0, n_extra = 0, n_absent = 0;
    std::int64_t n_identified = 0, n_ref_labels = 0;  ///< VerSe id.rate of the case = n_identified / n_ref_labels
    bool prediction_resampled = false;
};

namespace detail {

inline void check_same_grid(const geometry& a, const geometry& b, double tol) {
    if (a.dims != b.dims)
        throw error(errc::shape_mismatch, cat("evaluate: reference grid ", a.dims[0], "x", a.dims[1], "x", a.dims[2], " and prediction grid ",
                                              b.dims[0], "x", b.dims[1], "x", b.dims[2], " differ (resampling the prediction is an option)"));
    double worst = 0;
    for (int r = 0; r < 4; ++r)
        for (int c = 0; c < 4; ++c) worst = std::max(worst, std::abs(a.ijk_to_ras(r, c) - b.ijk_to_ras(r, c)));
    for (size_t i = 0; i < 3; ++i) worst = std::max(worst, std::abs(a.spacing_mm[i] - b.spacing_mm[i]));
    if (!(worst <= tol))
        throw error(errc::shape_mismatch, cat("evaluate: reference and prediction affines differ by ", worst, " mm (tolerance ", tol,
                                              "; resampling the prediction is an option)"));
}

template <class R, class P>
void evaluate_label_surfaces(volume_view<const R> ref, volume_view<const P> pred, const label_pair_stats& st, label_evaluation& e,
                             const evaluate_options& opt, std::vector<std::uint8_t>& r, std::vector<std::uint8_t>& p, surface_workspace& ws) {
    const auto l = static_cast<size_t>(e.label);
    const std::size_t nt = opt.tau_mm.size();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    e.nsd.assign(nt, nan);
    e.nsd_voxel.assign(nt, nan);
    if (e.status == label_status::absent) return;
    if (e.status != label_status::both) {  // one mask empty: nothing of its surface lies near the other
        if (opt.surface_dice) e.nsd.assign(nt, 0.0);
        if (opt.surface_distances) e.nsd_voxel.assign(nt, 0.0);
        return;
    }
    std::array<index_t, 3> lo{}, hi{};
    for (size_t a = 0; a < 3; ++a) {
        lo[a] = std::min(st.ref_lo[l][a], st.pred_lo[l][a]);
        hi[a] = std::max(st.ref_hi[l][a], st.pred_hi[l][a]);
    }
    const dims3 cd{hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1};
    r.resize(static_cast<size_t>(cd[0] * cd[1] * cd[2]));
    p.resize(r.size());
    const auto lr = static_cast<R>(e.label);
    const auto lp = static_cast<P>(e.label);
    for (index_t k = 0; k < cd[2]; ++k)
        for (index_t j = 0; j < cd[1]; ++j) {
            const R* rr = ref.data() + ref.offset(lo[0], lo[1] + j, lo[2] + k);
            const P* pp = pred.data() + pred.offset(lo[0], lo[1] + j, lo[2] + k);
            std::uint8_t* ro = r.data() + cd[0] * (j + cd[1] * k);
            std::uint8_t* po = p.data() + cd[0] * (j + cd[1] * k);
            for (index_t i = 0; i < cd[0]; ++i) {
                ro[i] = rr[i] == lr;
                po[i] = pp[i] == lp;
            }
        }
    const auto& sp = ref.spacing_mm();
    if (opt.surface_distances) {
        const bool full = overlap::ref_full(e.counts) || overlap::pred_full(e.counts);  // nnU-Net v1: NaN then
        const border_distances bd = border_distances_dense(r.data(), p.data(), cd, sp, ws);
        if (!full) e.distance = summarize_border_distances(bd);
        for (size_t t = 0; t < nt; ++t) e.nsd_voxel[t] = surface_dice_voxel(bd, opt.tau_mm[t]);
    }
    if (opt.surface_dice) {
        const surfel_distances sd = surfel_distances_dense(r.data(), p.data(), cd, sp, ws);
        for (size_t t = 0; t < nt; ++t) e.nsd[t] = surface_dice(sd, opt.tau_mm[t]);
    }
}

template <class R, class P>
case_evaluation evaluate_same_grid(volume_view<const R> ref, volume_view<const P> pred, const evaluate_options& opt) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    for (double t : opt.tau_mm)
        if (!(t >= 0) || !std::isfinite(t)) throw error(errc::invalid_argument, cat("evaluate: tolerance ", t, " mm"));
    report(opt.progress, 0.0, "counting");
    const label_pair_stats st = pair_statistics(ref, pred, opt.threads);
    std::vector<std::int64_t> labels = opt.labels;
    if (labels.empty()) {
        for (std::int64_t l = 1; l <= st.max_label(); ++l)
            if (st.n_ref[static_cast<size_t>(l)] || st.n_pred[static_cast<size_t>(l)]) labels.push_back(l);
    } else {
        for (auto l : labels)
            if (l < 1) throw error(errc::invalid_argument, cat("evaluate: label ", l, " (labels are ≥ 1; 0 is background)"));
        std::sort(labels.begin(), labels.end());
        labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
    }
    case_evaluation out;
    out.grid = ref.geometry();
    out.tau_mm = opt.tau_mm;
    out.labels.resize(labels.size());
    const auto& sp = ref.spacing_mm();
    const double voxel_mm3 = sp[0] * sp[1] * sp[2];
    std::vector<label_centroids> cents(labels.size());
    for (size_t i = 0; i < labels.size(); ++i) {
        auto& e = out.labels[i];
        e.label = labels[i];
        e.counts = st.counts(e.label);
        const bool in_ref = e.counts.n_ref() > 0, in_pred = e.counts.n_pred() > 0;
        e.status = in_ref ? (in_pred ? label_status::both : label_status::missed) : (in_pred ? label_status::extra : label_status::absent);
        e.vol_ref_mm3 = double(e.counts.n_ref()) * voxel_mm3;
        e.vol_pred_mm3 = double(e.counts.n_pred()) * voxel_mm3;
        e.dice = overlap::dice(e.counts);
        e.iou = overlap::iou(e.counts);
        e.precision = overlap::precision(e.counts);
        e.recall = overlap::recall(e.counts);
        e.rvd = overlap::relative_volume_difference(e.counts);
        e.centroid_ref_mm = e.centroid_pred_mm = {nan, nan, nan};
        cents[i].label = e.label;
        const auto l = static_cast<size_t>(e.label);
        auto centroid = [&](const std::array<std::int64_t, 3>& sum, std::int64_t n) {
            const double nn = static_cast<double>(n);
            const vec3 ijk(static_cast<double>(sum[0]) / nn, static_cast<double>(sum[1]) / nn, static_cast<double>(sum[2]) / nn);
            const vec3 w = ref.geometry().index_to_world(ijk);
            return std::array<double, 3>{w.x(), w.y(), w.z()};
        };
        if (in_ref) cents[i].ref_mm = e.centroid_ref_mm = centroid(st.ref_sum[l], e.counts.n_ref());
        if (in_pred) cents[i].pred_mm = e.centroid_pred_mm = centroid(st.pred_sum[l], e.counts.n_pred());
        out.n_both += e.status == label_status::both;
        out.n_missed += e.status == label_status::missed;
        out.n_extra += e.status == label_status::extra;
        out.n_absent += e.status == label_status::absent;
    }
    const auto ids = verse_identification(cents, opt.identification_max_mm);
    for (size_t i = 0; i < labels.size(); ++i) {
        out.labels[i].identified = ids[i].identified;
        out.labels[i].centroid_dist_mm = ids[i].centroid_dist_mm;
        if (!std::isnan(ids[i].identified)) {
            out.n_ref_labels++;
            out.n_identified += ids[i].identified == 1.0;
        }
    }
    // surfaces: labels in parallel, largest crops first (only scheduling depends on this order, never a result)
    std::vector<size_t> order(labels.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return out.labels[a].counts.n_ref() + out.labels[a].counts.n_pred() > out.labels[b].counts.n_ref() + out.labels[b].counts.n_pred();
    });
    std::atomic<size_t> next{0}, done{0};
    std::atomic<bool> cancelled{false};
    std::mutex progress_mutex;
    const int workers = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(resolve_threads(opt.threads)), std::max<std::size_t>(1, order.size())));
    parallel_for(workers, workers, [&](index_t, index_t, int) {
        std::vector<std::uint8_t> r, p;  // per-worker buffers, reused across labels
        surface_workspace ws;
        for (;;) {
            if (cancelled.load()) return;
            const size_t n = next.fetch_add(1);
            if (n >= order.size()) return;
            evaluate_label_surfaces(ref, pred, st, out.labels[order[n]], opt, r, p, ws);
            const size_t d = done.fetch_add(1) + 1;
            if (opt.progress) {
                std::lock_guard<std::mutex> g(progress_mutex);
                if (!opt.progress(0.1 + 0.9 * double(d) / double(order.size()), "surfaces")) cancelled = true;
            }
        }
    });
    if (cancelled) throw error(errc::cancelled, "cancelled during surfaces");
    report(opt.progress, 1.0, "done");
    return out;
}

}  // namespace detail

/// Score `pred` against `ref` (integral label maps). The grids must agree (dims, and affine and spacing within
/// opt.geometry_tolerance_mm) unless opt.resample_prediction is set, in which case the prediction is resampled
/// (nearest neighbour, world space) onto the reference grid. Spacing and centroids come from the reference grid.
/// (nnU-Net v1 takes the spacing from the prediction's header; on agreeing grids that is the same within the tolerance.)
template <class R, class P>
case_evaluation evaluate(volume_view<const R> ref, volume_view<const P> pred, const evaluate_options& opt = {}) {
    static_assert(std::is_integral_v<R> && std::is_integral_v<P>, "evaluate: integral label maps expected");
    bool same = true;
    try {
        detail::check_same_grid(ref.geometry(), pred.geometry(), opt.geometry_tolerance_mm);
    } catch (const error&) {
        if (!opt.resample_prediction) throw;
        same = false;
    }
    if (same) return detail::evaluate_same_grid(ref, pred, opt);
    const volume<P> moved = resample_like<P, P>(pred, ref.geometry(), interpolation::nearest, P(0), opt.threads);
    case_evaluation out = detail::evaluate_same_grid(ref, moved.view(), opt);
    out.prediction_resampled = true;
    return out;
}

}  // namespace ctspine
