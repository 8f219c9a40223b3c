// ctspine — vertebra post-processing on a multi-label segmentation: clean-up (main component per vertebra, fragment
// reassignment, hole filling). Measurements and the consistency check live in measurements.hpp, JSON/CSV export in
// report.hpp; both are included here so that this header offers the whole vertebra workflow.
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
#include "ctspine/label/measurements.hpp"
#include "ctspine/label/report.hpp"

namespace ctspine {

struct vertebra_cleanup_options {
    int connectivity = 26;               ///< connectivity that defines a vertebra's components
    index_t min_fragment_voxels = 100;   ///< a detached fragment touching no other vertebra is dropped below this size
    /// A label with fewer voxels than this in all is no vertebra (a misclassified speck, e.g. a 1-voxel "T12" beside
    /// L3): every one of its components is handled as a fragment and, touching no kept vertebra, dropped.
    index_t min_label_voxels = 100;
    bool fill_holes = false;             ///< fill enclosed background holes inside each vertebra (6-connected background)
    int threads = 0;
};

/// What the clean-up did, per label value.
struct vertebra_cleanup_entry {
    std::int64_t label = 0;
    index_t components_before = 0;
    index_t fragments_reassigned = 0;   ///< fragments given to the vertebra they touch most
    index_t fragments_dropped = 0;      ///< small isolated fragments set to background
    index_t fragments_kept = 0;         ///< isolated fragments at or above min_fragment_voxels (left as they are)
    bool dissolved = false;             ///< fewer than min_label_voxels voxels: the label is gone after the clean-up
    index_t voxels_moved_out = 0, voxels_dropped = 0, holes_filled = 0;
};

namespace detail {
/// Fill background holes (0-voxels not 6-connected to the box border) of `value` inside its bounding box.
template <class T>
index_t fill_label_holes(volume_view<T> seg, T value, const std::array<index_t, 3>& lo, const std::array<index_t, 3>& hi) {
    dims3 d{hi[0] - lo[0] + 3, hi[1] - lo[1] + 3, hi[2] - lo[2] + 3};  // bbox + 1-voxel border
    volume<std::uint8_t> bg(d, 1);
    for (index_t k = 0; k < d[2] - 2; ++k)
        for (index_t j = 0; j < d[1] - 2; ++j)
            for (index_t i = 0; i < d[0] - 2; ++i)
                if (seg(lo[0] + i, lo[1] + j, lo[2] + k) == value) bg(i + 1, j + 1, k + 1) = 0;
    cc_options o;
    o.connectivity = 6;
    o.binary = true;
    o.threads = 1;
    volume<std::uint32_t> lab = connected_components<std::uint32_t, std::uint8_t>(bg.view(), o);
    const std::uint32_t outside = lab(0, 0, 0);  // the border is one component
    index_t filled = 0;
    for (index_t k = 1; k < d[2] - 1; ++k)
        for (index_t j = 1; j < d[1] - 1; ++j)
            for (index_t i = 1; i < d[0] - 1; ++i) {
                std::uint32_t l = lab(i, j, k);
                if (l != 0 && l != outside) {
                    T& s = seg(lo[0] + i - 1, lo[1] + j - 1, lo[2] + k - 1);
                    if (s == 0) {
                        s = value;
                        ++filled;
                    }
                }
            }
    return filled;
}
}  // namespace detail

/// Clean a multi-label vertebra segmentation in place: each label keeps its largest component (its body); every
/// other component (fragment) goes to the body of another label it shares the most faces with, or, touching none, is
/// dropped if smaller than min_fragment_voxels. A label smaller than min_label_voxels in all has no body: all its
/// components are fragments, and those touching no body are dropped. Optionally fills holes per vertebra.
/// Deterministic for any thread count.
template <class T>
std::vector<vertebra_cleanup_entry> clean_vertebrae(volume_view<T> seg, const vertebra_cleanup_options& opt = {}) {
    static_assert(std::is_integral_v<T>, "clean_vertebrae: integer label volume expected");
    cc_options co;
    co.connectivity = opt.connectivity;
    co.threads = opt.threads;
    cc_result r;
    volume<std::uint32_t> lab = connected_components<std::uint32_t, T>(volume_view<const T>(seg), co, &r);
    // main component per label value (largest; ties → first in raster order)
    std::map<std::int64_t, std::uint32_t> main;
    std::map<std::int64_t, vertebra_cleanup_entry> entries;
    std::map<std::int64_t, index_t> label_voxels;
    for (std::uint32_t c = 1; c <= r.count; ++c) {
        const auto& comp = r.components[c - 1];
        auto& e = entries[comp.value];
        e.label = comp.value;
        e.components_before++;
        label_voxels[comp.value] += comp.voxels;
        auto it = main.find(comp.value);
        if (it == main.end() || comp.voxels > r.components[it->second - 1].voxels) main[comp.value] = c;
    }
    for (auto& [v, n] : label_voxels) entries[v].dissolved = n < opt.min_label_voxels;
    std::vector<bool> is_fragment(static_cast<size_t>(r.count) + 1, false);
    for (std::uint32_t c = 1; c <= r.count; ++c) {
        const std::int64_t v = r.components[c - 1].value;
        is_fragment[c] = main[v] != c || entries[v].dissolved;
    }
    // face contacts of each fragment with the main components (kept vertebrae) of other labels
    std::map<std::uint32_t, std::map<std::int64_t, index_t>> contacts;
    const dims3 d = seg.dims();
    for (index_t k = 0; k < d[2]; ++k)
        for (index_t j = 0; j < d[1]; ++j)
            for (index_t i = 0; i < d[0]; ++i) {
                std::uint32_t c = lab(i, j, k);
                if (c == 0 || !is_fragment[c]) continue;
                const index_t nb[6][3] = {{i - 1, j, k}, {i + 1, j, k}, {i, j - 1, k}, {i, j + 1, k}, {i, j, k - 1}, {i, j, k + 1}};
                for (auto& n : nb) {
                    if (n[0] < 0 || n[1] < 0 || n[2] < 0 || n[0] >= d[0] || n[1] >= d[1] || n[2] >= d[2]) continue;
                    // only kept vertebra bodies count: a fragment touching just another fragment would follow a
                    // value that may itself move or vanish, leaving an orphaned piece
                    const std::uint32_t oc = lab(n[0], n[1], n[2]);
                    if (oc != 0 && !is_fragment[oc]) contacts[c][r.components[oc - 1].value]++;
                }
            }
    // decide each fragment's fate: new value (or 0)
    std::vector<std::int64_t> new_value(static_cast<size_t>(r.count) + 1, -1);  // -1 = unchanged
    for (std::uint32_t c = 1; c <= r.count; ++c) {
        if (!is_fragment[c]) continue;
        const auto& comp = r.components[c - 1];
        auto& e = entries[comp.value];
        auto it = contacts.find(c);
        if (it != contacts.end() && !it->second.empty()) {
            std::int64_t best = 0;
            index_t most = -1;
            for (auto& [v, n] : it->second)
                if (n > most) {  // map order: ties go to the smaller label value
                    most = n;
                    best = v;
                }
            new_value[c] = best;
            e.fragments_reassigned++;
            e.voxels_moved_out += comp.voxels;
        } else if (comp.voxels < opt.min_fragment_voxels || e.dissolved) {
            new_value[c] = 0;
            e.fragments_dropped++;
            e.voxels_dropped += comp.voxels;
        } else {
            e.fragments_kept++;
        }
    }
    parallel_for(opt.threads, seg.size(), [&](index_t b, index_t e, int) {
        for (index_t n = b; n < e; ++n) {
            std::uint32_t c = lab[n];
            if (c && new_value[c] >= 0) seg[n] = static_cast<T>(new_value[c]);
        }
    }, 1 << 16);
    if (opt.fill_holes) {
        // bounding boxes after reassignment
        std::map<std::int64_t, std::pair<std::array<index_t, 3>, std::array<index_t, 3>>> box;
        for (index_t k = 0; k < d[2]; ++k)
            for (index_t j = 0; j < d[1]; ++j)
                for (index_t i = 0; i < d[0]; ++i) {
                    T v = seg(i, j, k);
                    if (!v) continue;
                    auto it = box.find(v);
                    if (it == box.end()) {
                        box[v] = {{i, j, k}, {i, j, k}};
                    } else {
                        auto& [lo, hi] = it->second;
                        lo = {std::min(lo[0], i), std::min(lo[1], j), std::min(lo[2], k)};
                        hi = {std::max(hi[0], i), std::max(hi[1], j), std::max(hi[2], k)};
                    }
                }
        for (auto& [v, b] : box) entries[v].holes_filled += detail::fill_label_holes<T>(seg, static_cast<T>(v), b.first, b.second);
    }
    std::vector<vertebra_cleanup_entry> out;
    for (auto& [v, e] : entries) out.push_back(e);
    return out;
}

}  // namespace ctspine
