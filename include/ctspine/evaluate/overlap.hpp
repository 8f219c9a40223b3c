// ctspine — overlap metrics of a label against a reference: confusion counts in one pass over both label maps, and
// Dice / IoU / precision / recall / rates with nnU-Net v1's formulas and empty-case rules, bit for bit.
//
// Reference: MIC-DKFZ/nnUNet v1.7.1 `nnunet/evaluation/metrics.py` (ConfusionMatrix, dice, jaccard, precision,
// sensitivity, specificity, false_omission_rate, the 1 − x rates). Python's int / int true division is correctly
// rounded, as is double(a) / double(b) for integers below 2^53, so these are the same doubles.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/volume.hpp"

namespace ctspine {

/// Confusion counts of one label (voxels). tn counts the whole grid, as nnU-Net v1 does.
struct overlap_counts {
    std::int64_t tp = 0, fp = 0, fn = 0, tn = 0;
    std::int64_t n_ref() const noexcept { return tp + fn; }
    std::int64_t n_pred() const noexcept { return tp + fp; }
    std::int64_t size() const noexcept { return tp + fp + fn + tn; }
};

namespace overlap {
inline constexpr double nan = std::numeric_limits<double>::quiet_NaN();
inline double d(std::int64_t x) { return static_cast<double>(x); }
inline bool pred_empty(const overlap_counts& c) { return c.n_pred() == 0; }
inline bool ref_empty(const overlap_counts& c) { return c.n_ref() == 0; }
inline bool pred_full(const overlap_counts& c) { return c.n_pred() == c.size(); }
inline bool ref_full(const overlap_counts& c) { return c.n_ref() == c.size(); }

/// 2TP / (2TP + FP + FN); NaN when both masks are empty.
inline double dice(const overlap_counts& c) {
    if (pred_empty(c) && ref_empty(c)) return nan;
    return 2.0 * d(c.tp) / d(2 * c.tp + c.fp + c.fn);
}
/// TP / (TP + FP + FN) (Jaccard); NaN when both are empty.
inline double iou(const overlap_counts& c) {
    if (pred_empty(c) && ref_empty(c)) return nan;
    return d(c.tp) / d(c.tp + c.fp + c.fn);
}
/// TP / (TP + FP); NaN when the prediction is empty (even if the reference is not).
inline double precision(const overlap_counts& c) { return pred_empty(c) ? nan : d(c.tp) / d(c.tp + c.fp); }
/// TP / (TP + FN) (sensitivity); NaN when the reference is empty.
inline double recall(const overlap_counts& c) { return ref_empty(c) ? nan : d(c.tp) / d(c.tp + c.fn); }
/// TN / (TN + FP); NaN when the reference fills the grid.
inline double specificity(const overlap_counts& c) { return ref_full(c) ? nan : d(c.tn) / d(c.tn + c.fp); }
/// (TP + TN) / N.
inline double accuracy(const overlap_counts& c) { return d(c.tp + c.tn) / d(c.size()); }
/// FN / (TN + FN); NaN when the prediction fills the grid.
inline double false_omission_rate(const overlap_counts& c) { return pred_full(c) ? nan : d(c.fn) / d(c.fn + c.tn); }
/// nnU-Net v1 computes these four as 1 − x (so NaN propagates and the rounding is that of the subtraction).
inline double false_positive_rate(const overlap_counts& c) { return 1.0 - specificity(c); }
inline double false_negative_rate(const overlap_counts& c) { return 1.0 - recall(c); }
inline double false_discovery_rate(const overlap_counts& c) { return 1.0 - precision(c); }
inline double negative_predictive_value(const overlap_counts& c) { return 1.0 - false_omission_rate(c); }
inline double true_negative_rate(const overlap_counts& c) { return specificity(c); }
/// Relative volume difference (|P| − |G|) / |G|, signed (medpy `ravd`); NaN when the reference is empty.
inline double relative_volume_difference(const overlap_counts& c) {
    return ref_empty(c) ? nan : d(c.n_pred() - c.n_ref()) / d(c.n_ref());
}
}  // namespace overlap

/// Per-label statistics of one pass over a reference and a predicted label map on the same grid.
struct label_pair_stats {
    /// Indexed by label value 0..max_label.
    std::vector<std::int64_t> n_ref, n_pred, tp;
    /// Inclusive voxel bounding boxes (lo > hi when the label is absent from that map).
    std::vector<std::array<index_t, 3>> ref_lo, ref_hi, pred_lo, pred_hi;
    /// Sums of voxel indices (i, j, k) per label, exact in 64-bit integers (centroids = sum / count).
    std::vector<std::array<std::int64_t, 3>> ref_sum, pred_sum;
    std::int64_t voxels = 0;
    std::int64_t max_label() const noexcept { return static_cast<std::int64_t>(n_ref.size()) - 1; }
    overlap_counts counts(std::int64_t label) const {
        overlap_counts c;
        if (label < 0 || label > max_label()) {
            c.tn = voxels;
            return c;
        }
        const auto l = static_cast<size_t>(label);
        c.tp = tp[l];
        c.fp = n_pred[l] - tp[l];
        c.fn = n_ref[l] - tp[l];
        c.tn = voxels - c.tp - c.fp - c.fn;
        return c;
    }
};

namespace detail {
inline constexpr std::int64_t max_evaluated_label = 65535;

inline std::int64_t label_value_checked(std::int64_t x) {
    if (x < 0 || x > max_evaluated_label)
        throw error(errc::unsupported, cat("evaluate: label value ", x, " outside 0..", max_evaluated_label));
    return x;
}

inline void stats_resize(label_pair_stats& s, size_t n) {
    const index_t big = std::numeric_limits<index_t>::max(), small = std::numeric_limits<index_t>::min();
    s.n_ref.assign(n, 0);
    s.n_pred.assign(n, 0);
    s.tp.assign(n, 0);
    s.ref_lo.assign(n, {big, big, big});
    s.pred_lo.assign(n, {big, big, big});
    s.ref_hi.assign(n, {small, small, small});
    s.pred_hi.assign(n, {small, small, small});
    s.ref_sum.assign(n, {0, 0, 0});
    s.pred_sum.assign(n, {0, 0, 0});
}
}  // namespace detail

/// Counts, bounding boxes and index sums of every label value of both maps in one pass (threaded over slices; the
/// per-thread integer results are merged, so the result does not depend on the thread count).
template <class R, class P>
label_pair_stats pair_statistics(volume_view<const R> ref, volume_view<const P> pred, int threads = 0) {
    static_assert(std::is_integral_v<R> && std::is_integral_v<P>, "label maps must be integral");
    if (ref.dims() != pred.dims()) throw error(errc::shape_mismatch, "evaluate: reference and prediction dims differ");
    const dims3 d = ref.dims();
    const index_t nx = d[0], ny = d[1], nz = d[2];
    // largest label value (bounds the per-label tables); a plain min/max loop the compiler vectorises
    const int t = std::max(1, std::min<int>(resolve_threads(threads), static_cast<int>(std::max<index_t>(1, nz))));
    std::vector<std::int64_t> part_max(static_cast<size_t>(t), 0), part_min(static_cast<size_t>(t), 0);
    // 8-bit unsigned maps: every value is a valid label and the tables have 256 entries, no scan needed
    constexpr bool bytes = sizeof(R) == 1 && sizeof(P) == 1 && std::is_unsigned_v<R> && std::is_unsigned_v<P>;
    if (bytes) part_max[0] = 255;
    else parallel_for(t, ref.size(), [&](index_t b, index_t e, int w) {
        R rmax = R(0), rmin = R(0);
        P pmax = P(0), pmin = P(0);
        const R* rr = ref.data();
        const P* pp = pred.data();
        for (index_t n = b; n < e; ++n) {
            rmax = std::max(rmax, rr[n]);
            rmin = std::min(rmin, rr[n]);
            pmax = std::max(pmax, pp[n]);
            pmin = std::min(pmin, pp[n]);
        }
        part_max[static_cast<size_t>(w)] = std::max<std::int64_t>(static_cast<std::int64_t>(rmax), static_cast<std::int64_t>(pmax));
        part_min[static_cast<size_t>(w)] = std::min<std::int64_t>(static_cast<std::int64_t>(rmin), static_cast<std::int64_t>(pmin));
    }, 1 << 16);
    const std::int64_t mx = *std::max_element(part_max.begin(), part_max.end());
    const std::int64_t mn = *std::min_element(part_min.begin(), part_min.end());
    (void)detail::label_value_checked(mx);
    (void)detail::label_value_checked(mn);
    const size_t nl = static_cast<size_t>(mx) + 1;
    std::vector<label_pair_stats> part(static_cast<size_t>(t));
    parallel_for(t, nz, [&](index_t kb, index_t ke, int w) {
        label_pair_stats& s = part[static_cast<size_t>(w)];
        detail::stats_resize(s, nl);
        constexpr index_t block = 32;
        for (index_t k = kb; k < ke; ++k)
            for (index_t j = 0; j < ny; ++j) {
                const R* rr = ref.data() + ref.offset(0, j, k);
                const P* pp = pred.data() + pred.offset(0, j, k);
                for (index_t i0 = 0; i0 < nx; i0 += block) {
                    const index_t i1 = std::min(nx, i0 + block);
                    // skip blocks that are background in both maps (most of a CT) without touching the tables
                    bool any = false;
                    for (index_t i = i0; i < i1; ++i) any |= (rr[i] != R(0)) | (pp[i] != P(0));
                    if (!any) continue;
                    for (index_t i = i0; i < i1; ++i) {
                        const auto r = static_cast<size_t>(rr[i]);
                        const auto p = static_cast<size_t>(pp[i]);
                        if ((r | p) == 0) continue;
                        if (r) {
                            s.n_ref[r]++;
                            auto& lo = s.ref_lo[r];
                            auto& hi = s.ref_hi[r];
                            lo[0] = std::min(lo[0], i), hi[0] = std::max(hi[0], i);
                            lo[1] = std::min(lo[1], j), hi[1] = std::max(hi[1], j);
                            lo[2] = std::min(lo[2], k), hi[2] = std::max(hi[2], k);
                            auto& sm = s.ref_sum[r];
                            sm[0] += i, sm[1] += j, sm[2] += k;
                        }
                        if (p) {
                            s.n_pred[p]++;
                            auto& lo = s.pred_lo[p];
                            auto& hi = s.pred_hi[p];
                            lo[0] = std::min(lo[0], i), hi[0] = std::max(hi[0], i);
                            lo[1] = std::min(lo[1], j), hi[1] = std::max(hi[1], j);
                            lo[2] = std::min(lo[2], k), hi[2] = std::max(hi[2], k);
                            auto& sm = s.pred_sum[p];
                            sm[0] += i, sm[1] += j, sm[2] += k;
                        }
                        if (r == p) s.tp[r]++;
                    }
                }
            }
    });
    label_pair_stats out;
    detail::stats_resize(out, nl);
    out.voxels = static_cast<std::int64_t>(ref.size());
    for (const auto& s : part) {
        if (s.n_ref.empty()) continue;  // a worker that got no slices
        for (size_t l = 0; l < nl; ++l) {
            out.n_ref[l] += s.n_ref[l];
            out.n_pred[l] += s.n_pred[l];
            out.tp[l] += s.tp[l];
            for (size_t a = 0; a < 3; ++a) {
                out.ref_lo[l][a] = std::min(out.ref_lo[l][a], s.ref_lo[l][a]);
                out.ref_hi[l][a] = std::max(out.ref_hi[l][a], s.ref_hi[l][a]);
                out.pred_lo[l][a] = std::min(out.pred_lo[l][a], s.pred_lo[l][a]);
                out.pred_hi[l][a] = std::max(out.pred_hi[l][a], s.pred_hi[l][a]);
                out.ref_sum[l][a] += s.ref_sum[l][a];
                out.pred_sum[l][a] += s.pred_sum[l][a];
            }
        }
    }
    // label 0 is background: its "voxels" are derived, not counted (every other label's counts are exact)
    out.n_ref[0] = out.n_pred[0] = out.tp[0] = 0;
    return out;
}

}  // namespace ctspine
