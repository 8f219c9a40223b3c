// ctspine — per-vertebra measurements of a multi-label segmentation (label, name, voxel count, volume, centroid in
// voxels and world mm, bounding box, mean HU) and the anatomical consistency check of the column in world coordinates.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/orientation.hpp"
#include "ctspine/core/volume.hpp"
#include "ctspine/label/connected_components.hpp"
#include "ctspine/label/label_schemes.hpp"

namespace ctspine {

/// Measurements of one label value.
struct vertebra_measurement {
    std::int64_t label = 0;
    std::string name;                   ///< from the scheme ("L1", "sacrum", or "label n")
    index_t voxels = 0;
    double volume_mm3 = 0;
    index_t components = 0;             ///< connected pieces (26-connectivity)
    std::array<double, 3> centroid_ijk{}, centroid_mm{};
    std::array<index_t, 3> bbox_min{}, bbox_max{};  ///< inclusive voxel bounds
    std::optional<double> mean_hu;      ///< when a CT was given
};

/// A finding of the anatomical consistency check.
struct vertebra_issue {
    enum class kind { missing, swapped, duplicated, unknown_label } what;
    std::vector<std::int64_t> labels;
    std::string message;
};

struct vertebra_report {
    label_scheme scheme = label_scheme::verse;
    std::string orientation;            ///< of the segmentation's grid (for the VerSe-style centroid list)
    std::vector<vertebra_measurement> vertebrae;  ///< ordered by label value
    std::vector<vertebra_issue> issues;
};

/// Measure every non-zero label of `seg` (names from `scheme`), with mean HU from `ct` if given (same dims), and check
/// anatomical consistency: labels must be ordered cranio-caudally in world S (superior) coordinates; gaps in the
/// column (transitional L6/T13 excepted), swapped neighbours and duplicated labels (a second large piece) are reported.
template <class T>
vertebra_report measure_vertebrae(volume_view<const T> seg, label_scheme scheme, const volume_view<const float>* ct = nullptr,
                                  int threads = 0) {
    if (ct && ct->dims() != seg.dims()) throw error(errc::shape_mismatch, "measure_vertebrae: CT and segmentation dims differ");
    vertebra_report rep;
    rep.scheme = scheme;
    rep.orientation = orientation_code(seg.ijk_to_ras());
    cc_options co;
    co.threads = threads;
    cc_result r;
    const volume<std::uint32_t> lab = connected_components<std::uint32_t, T>(seg, co, &r);
    std::map<std::int64_t, vertebra_measurement> m;
    std::map<std::int64_t, std::vector<index_t>> piece_sizes;
    std::map<std::int64_t, std::array<double, 3>> wsum;
    for (const auto& c : r.components) {
        auto& v = m[c.value];
        if (v.voxels == 0) {
            v.label = c.value;
            v.bbox_min = c.bbox_min;
            v.bbox_max = c.bbox_max;
        }
        for (int a = 0; a < 3; ++a) {
            v.bbox_min[static_cast<size_t>(a)] = std::min(v.bbox_min[static_cast<size_t>(a)], c.bbox_min[static_cast<size_t>(a)]);
            v.bbox_max[static_cast<size_t>(a)] = std::max(v.bbox_max[static_cast<size_t>(a)], c.bbox_max[static_cast<size_t>(a)]);
            wsum[c.value][static_cast<size_t>(a)] += c.centroid_ijk[static_cast<size_t>(a)] * double(c.voxels);
        }
        v.voxels += c.voxels;
        v.components++;
        piece_sizes[c.value].push_back(c.voxels);
    }
    if (ct) {
        // dense index of each label value, reached through the component number (no map lookup per voxel); sums
        // run in raster order per value, in double
        std::map<std::int64_t, size_t> dense;
        for (auto& [v, meas] : m) dense.emplace(v, dense.size());
        std::vector<size_t> slot(r.components.size());
        for (size_t c = 0; c < slot.size(); ++c) slot[c] = dense.at(r.components[c].value);
        std::vector<double> hu(dense.size(), 0.0);
        const float* ctp = ct->data();
        const std::uint32_t* lp = lab.data();
        for (index_t n = 0; n < seg.size(); ++n)
            if (lp[n]) hu[slot[lp[n] - 1]] += double(ctp[n]);
        for (auto& [v, d] : dense) m[v].mean_hu = hu[d] / double(m[v].voxels);
    }
    const auto& sp = seg.spacing_mm();
    for (auto& [value, v] : m) {
        v.name = label_name(scheme, value);
        v.volume_mm3 = double(v.voxels) * sp[0] * sp[1] * sp[2];
        for (int a = 0; a < 3; ++a) v.centroid_ijk[static_cast<size_t>(a)] = wsum[value][static_cast<size_t>(a)] / double(v.voxels);
        vec3 w = seg.geometry().index_to_world(vec3(v.centroid_ijk[0], v.centroid_ijk[1], v.centroid_ijk[2]));
        v.centroid_mm = {w.x(), w.y(), w.z()};
        rep.vertebrae.push_back(v);
        // duplicated: a second piece at least 20% of the largest (and ≥ 100 voxels) suggests two vertebrae with one label
        auto sizes = piece_sizes[value];
        std::sort(sizes.rbegin(), sizes.rend());
        if (sizes.size() >= 2 && sizes[1] >= 100 && double(sizes[1]) >= 0.2 * double(sizes[0]))
            rep.issues.push_back({vertebra_issue::kind::duplicated, {value},
                                  v.name + " has " + std::to_string(sizes.size()) + " large separate pieces (" + std::to_string(sizes[0]) +
                                      " and " + std::to_string(sizes[1]) + " voxels)"});
        if (!vertebra_of(scheme, value))
            rep.issues.push_back({vertebra_issue::kind::unknown_label, {value}, "label " + std::to_string(value) + " is not a vertebra in this scheme"});
    }
    // order by anatomical rank; check S coordinate decreases cranio-caudally, and look for gaps
    std::vector<std::pair<double, const vertebra_measurement*>> ranked;
    for (const auto& v : rep.vertebrae)
        if (auto w = vertebra_of(scheme, v.label)) ranked.emplace_back(vertebra_rank(*w), &v);
    std::sort(ranked.begin(), ranked.end(), [](auto& a, auto& b) { return a.first < b.first; });
    for (size_t i = 1; i < ranked.size(); ++i) {
        const auto* a = ranked[i - 1].second;
        const auto* b = ranked[i].second;
        if (a->centroid_mm[2] < b->centroid_mm[2])
            rep.issues.push_back({vertebra_issue::kind::swapped, {a->label, b->label},
                                  a->name + " lies below " + b->name + " (S " + std::to_string(a->centroid_mm[2]) + " < " +
                                      std::to_string(b->centroid_mm[2]) + " mm)"});
        // gaps: every standard level strictly between two present ones should be present (C1..L5, then S1/sacrum)
        int ra = static_cast<int>(std::floor(ranked[i - 1].first)), rb = static_cast<int>(std::ceil(ranked[i].first));
        for (int k = ra + 1; k < rb && k <= 24; ++k) {
            auto missing = static_cast<vertebra>(k);
            auto lbl = label_of(scheme, missing);
            rep.issues.push_back({vertebra_issue::kind::missing, {lbl ? *lbl : 0},
                                  vertebra_name(missing) + " is missing between " + a->name + " and " + b->name});
        }
    }
    return rep;
}

}  // namespace ctspine
