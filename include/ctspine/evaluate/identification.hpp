// ctspine — vertebra identification with the VerSe rule (anjany/verse `utils/eval_utilities.py` get_hits, as
// described in the project's evaluation notes §1.10):
//  1. only labels present in both the reference and the prediction take part;
//  2. a predicted vertebra is identified when, among those labels, the reference centroid nearest to its predicted
//     centroid is its own label's, at a distance ≤ max_mm (20 mm; exactly 20 mm counts as identified);
//  3. a reference label missing from the prediction is not identified; labels absent from the reference are not
//     scored (NaN); predicted labels absent from the reference are ignored (report them as "extra").
// Quirk kept on purpose: reference vertebrae the prediction lacks are not candidates in step 2, so a prediction can
// be "identified" next to a missing neighbour.
// Centroids are world positions in mm (voxel-index means mapped by ijk_to_ras); VerSe resamples to 1 mm first, which
// the affine makes unnecessary. VerSe's own centroids are vertebral-body centroids; mask centroids are used here.
#pragma once
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace ctspine {

/// One label's centroids (mm) in the reference and the prediction; empty when absent from that map.
struct label_centroids {
    std::int64_t label = 0;
    std::optional<std::array<double, 3>> ref_mm, pred_mm;
};

/// Identification of one label: identified = 1 / 0 for labels in the reference, NaN otherwise; centroid_dist_mm for
/// labels in both maps, NaN otherwise.
struct label_identification {
    std::int64_t label = 0;
    double identified = std::numeric_limits<double>::quiet_NaN();
    double centroid_dist_mm = std::numeric_limits<double>::quiet_NaN();
};

inline double centroid_distance_mm(const std::array<double, 3>& a, const std::array<double, 3>& b) {
    const double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
    return std::sqrt(dx * dx + dy * dy + dz * dz);
}

/// The VerSe rule over a set of labels (order of `labels` = order of the output; ties of the nearest reference
/// centroid go to the earlier label, as numpy's argmin).
inline std::vector<label_identification> verse_identification(const std::vector<label_centroids>& labels, double max_mm = 20.0) {
    std::vector<size_t> both;
    for (size_t i = 0; i < labels.size(); ++i)
        if (labels[i].ref_mm && labels[i].pred_mm) both.push_back(i);
    std::vector<label_identification> out(labels.size());
    for (size_t i = 0; i < labels.size(); ++i) {
        const auto& l = labels[i];
        out[i].label = l.label;
        if (!l.ref_mm) continue;
        if (!l.pred_mm) {
            out[i].identified = 0;
            continue;
        }
        const double own = centroid_distance_mm(*l.pred_mm, *l.ref_mm);
        out[i].centroid_dist_mm = own;
        size_t best = both.front();
        double best_d = std::numeric_limits<double>::infinity();
        for (size_t b : both) {
            const double dd = centroid_distance_mm(*l.pred_mm, *labels[b].ref_mm);
            if (dd < best_d) {
                best_d = dd;
                best = b;
            }
        }
        out[i].identified = (best == i && own <= max_mm) ? 1.0 : 0.0;
    }
    return out;
}

}  // namespace ctspine
