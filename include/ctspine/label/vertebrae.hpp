// ctspine — vertebra post-processing on a multi-label segmentation: clean-up (main component per vertebra, fragment
// reassignment, hole filling), per-vertebra measurements, and an anatomical consistency check in world coordinates.
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

struct vertebra_cleanup_options {
    int connectivity = 26;               ///< connectivity that defines a vertebra's components
    index_t min_fragment_voxels = 100;   ///< a detached fragment touching no other vertebra is dropped below this size
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

/// Clean a multi-label vertebra segmentation in place: each label keeps its largest component; every other
/// component (fragment) goes to the label it shares the most faces with, or, touching none, is dropped if smaller
/// than min_fragment_voxels. Optionally fills holes per vertebra. Deterministic for any thread count.
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
    for (std::uint32_t c = 1; c <= r.count; ++c) {
        const auto& comp = r.components[c - 1];
        auto& e = entries[comp.value];
        e.label = comp.value;
        e.components_before++;
        auto it = main.find(comp.value);
        if (it == main.end() || comp.voxels > r.components[it->second - 1].voxels) main[comp.value] = c;
    }
    std::vector<bool> is_fragment(static_cast<size_t>(r.count) + 1, false);
    for (std::uint32_t c = 1; c <= r.count; ++c) is_fragment[c] = main[r.components[c - 1].value] != c;
    // face contacts of each fragment with voxels of other labels
    std::map<std::uint32_t, std::map<std::int64_t, index_t>> contacts;
    const dims3 d = seg.dims();
    for (index_t k = 0; k < d[2]; ++k)
        for (index_t j = 0; j < d[1]; ++j)
            for (index_t i = 0; i < d[0]; ++i) {
                std::uint32_t c = lab(i, j, k);
                if (c == 0 || !is_fragment[c]) continue;
                const T own = seg(i, j, k);
                const index_t nb[6][3] = {{i - 1, j, k}, {i + 1, j, k}, {i, j - 1, k}, {i, j + 1, k}, {i, j, k - 1}, {i, j, k + 1}};
                for (auto& n : nb) {
                    if (n[0] < 0 || n[1] < 0 || n[2] < 0 || n[0] >= d[0] || n[1] >= d[1] || n[2] >= d[2]) continue;
                    T other = seg(n[0], n[1], n[2]);
                    if (other != 0 && other != own) contacts[c][static_cast<std::int64_t>(other)]++;
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
        } else if (comp.voxels < opt.min_fragment_voxels) {
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
    (void)connected_components<std::uint32_t, T>(seg, co, &r);
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
        std::map<std::int64_t, double> hu;
        for (index_t n = 0; n < seg.size(); ++n)
            if (seg[n]) hu[static_cast<std::int64_t>(seg[n])] += double((*ct)[n]);
        for (auto& [v, s] : hu) m[v].mean_hu = s / double(m[v].voxels);
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

namespace detail {
inline std::string json_num(double x) {
    if (!std::isfinite(x)) return "null";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", x);
    return buf;
}
inline std::string json_str(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        o += c;
    }
    return o + "\"";
}
inline const char* issue_kind_name(vertebra_issue::kind k) {
    switch (k) {
        case vertebra_issue::kind::missing: return "missing";
        case vertebra_issue::kind::swapped: return "swapped";
        case vertebra_issue::kind::duplicated: return "duplicated";
        case vertebra_issue::kind::unknown_label: return "unknown_label";
    }
    return "unknown";
}
}  // namespace detail

/// The report as JSON: {"vertebrae": [...], "issues": [...], "verse_centroids": [...]}. The VerSe-style centroid list
/// follows the VerSe challenge's centroid files: a {"direction": [...]} entry naming the grid orientation, then
/// {"label", "X", "Y", "Z"} per vertebra with voxel coordinates and VerSe label numbers.
inline std::string to_json(const vertebra_report& rep) {
    using detail::json_num;
    std::string o = "{\n  \"orientation\": " + detail::json_str(rep.orientation) + ",\n  \"vertebrae\": [";
    for (size_t i = 0; i < rep.vertebrae.size(); ++i) {
        const auto& v = rep.vertebrae[i];
        o += std::string(i ? "," : "") + "\n    {\"label\": " + std::to_string(v.label) + ", \"name\": " + detail::json_str(v.name) +
             ", \"voxels\": " + std::to_string(v.voxels) + ", \"volume_mm3\": " + json_num(v.volume_mm3) +
             ", \"components\": " + std::to_string(v.components) + ", \"centroid_ijk\": [" + json_num(v.centroid_ijk[0]) + ", " +
             json_num(v.centroid_ijk[1]) + ", " + json_num(v.centroid_ijk[2]) + "], \"centroid_mm\": [" + json_num(v.centroid_mm[0]) +
             ", " + json_num(v.centroid_mm[1]) + ", " + json_num(v.centroid_mm[2]) + "], \"bbox_min\": [" + std::to_string(v.bbox_min[0]) +
             ", " + std::to_string(v.bbox_min[1]) + ", " + std::to_string(v.bbox_min[2]) + "], \"bbox_max\": [" +
             std::to_string(v.bbox_max[0]) + ", " + std::to_string(v.bbox_max[1]) + ", " + std::to_string(v.bbox_max[2]) + "]" +
             (v.mean_hu ? ", \"mean_hu\": " + json_num(*v.mean_hu) : std::string()) + "}";
    }
    o += "\n  ],\n  \"issues\": [";
    for (size_t i = 0; i < rep.issues.size(); ++i) {
        const auto& is = rep.issues[i];
        o += std::string(i ? "," : "") + "\n    {\"kind\": \"" + detail::issue_kind_name(is.what) + "\", \"labels\": [";
        for (size_t k = 0; k < is.labels.size(); ++k) o += (k ? ", " : "") + std::to_string(is.labels[k]);
        o += "], \"message\": " + detail::json_str(is.message) + "}";
    }
    o += "\n  ],\n  \"verse_centroids\": [\n    {\"direction\": [\"" + rep.orientation.substr(0, 1) + "\", \"" + rep.orientation.substr(1, 1) +
         "\", \"" + rep.orientation.substr(2, 1) + "\"]}";
    for (const auto& v : rep.vertebrae) {
        auto w = vertebra_of(rep.scheme, v.label);
        auto verse = w ? label_of(label_scheme::verse, *w) : std::nullopt;
        if (!verse) continue;
        o += ",\n    {\"label\": " + std::to_string(*verse) + ", \"X\": " + json_num(v.centroid_ijk[0]) + ", \"Y\": " + json_num(v.centroid_ijk[1]) +
             ", \"Z\": " + json_num(v.centroid_ijk[2]) + "}";
    }
    return o + "\n  ]\n}\n";
}

/// The measurements as CSV, one row per label.
inline std::string to_csv(const vertebra_report& rep) {
    using detail::json_num;
    std::string o = "label,name,voxels,volume_mm3,components,centroid_i,centroid_j,centroid_k,centroid_r_mm,centroid_a_mm,centroid_s_mm,"
                    "bbox_i0,bbox_j0,bbox_k0,bbox_i1,bbox_j1,bbox_k1,mean_hu\n";
    for (const auto& v : rep.vertebrae) {
        o += std::to_string(v.label) + "," + v.name + "," + std::to_string(v.voxels) + "," + json_num(v.volume_mm3) + "," +
             std::to_string(v.components);
        for (double c : v.centroid_ijk) o += "," + json_num(c);
        for (double c : v.centroid_mm) o += "," + json_num(c);
        for (index_t b : v.bbox_min) o += "," + std::to_string(b);
        for (index_t b : v.bbox_max) o += "," + std::to_string(b);
        o += "," + (v.mean_hu ? json_num(*v.mean_hu) : std::string()) + "\n";
    }
    return o;
}

}  // namespace ctspine
