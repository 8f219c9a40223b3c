// ctspine — checks of a spine-CT dataset, per case: each problem is a named finding with a severity.
//
// From the headers (dataset/index.hpp): unreadable files, a CT without a label map or the reverse, a CT and label
// map on different grids (shape, orientation, affine beyond a tolerance — or only within it, which nnU-Net would
// still warn about), scaled (scl_slope/scl_inter) or floating-point label maps, non-positive or extreme spacing,
// 4-D files. From the voxels: truncated or corrupt data, NaN in the CT, a HU range a calibrated CT cannot have
// (minimum far above air's −1000 HU: a missing rescale), label values that are fractions or outside the scheme
// (1–25 for CTSpine1K / VerSe), a vertebra split into several large pieces, a gap in the vertebra sequence, and a
// transitional L6 (label 25).
//
// Cases are processed a few at a time (cases_in_flight, default the thread count), each held in memory as stored
// (a 512×512×500 int16 CT: 250 MB) and released before the next, so memory stays bounded whatever the dataset size.
// Findings come out in case order, identical for any thread count. Output: findings.csv (case, severity, finding,
// details) and a per-source summary.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/progress.hpp"
#include "ctspine/core/volume.hpp"
#include "ctspine/dataset/index.hpp"
#include "ctspine/io/atomic_file.hpp"
#include "ctspine/io/nifti.hpp"
#include "ctspine/label/connected_components.hpp"
#include "ctspine/label/label_schemes.hpp"

namespace ctspine {

enum class finding_severity { error, warning, info };

inline const char* severity_name(finding_severity s) noexcept {
    switch (s) {
        case finding_severity::error: return "error";
        case finding_severity::warning: return "warning";
        case finding_severity::info: return "info";
    }
    return "unknown";
}

/// One problem of one case. `finding` is a stable name (see docs/dataset.md for the list), `details` a sentence.
struct dataset_finding {
    std::string case_name;
    finding_severity severity = finding_severity::info;
    std::string finding;
    std::string details;
    std::string source, split;  ///< of the case (for the per-source summary)
};

struct check_options {
    int threads = 0;                  ///< 0 = hardware threads; findings are identical for any value
    int cases_in_flight = 0;          ///< cases held in memory at once (0 = the thread count)
    progress_fn progress;             ///< called between groups of cases; false cancels (errc::cancelled)
    bool voxels = true;               ///< false: header checks only
    label_scheme scheme = label_scheme::verse;  ///< names in the details
    std::int64_t max_label = 25;      ///< label values allowed: 0 (background) and 1..max_label (VerSe / CTSpine1K: 25)
    double affine_tolerance_mm = 0.01;  ///< CT and label affines (and spacings) differing by at most this are "the same grid"
    double min_spacing_mm = 0.1, max_spacing_mm = 10.0;  ///< outside: spacing_extreme
    double min_hu_at_least = -500;    ///< a CT whose minimum is above this has no air: hu_range_implausible
    double fragment_min_fraction = 0.1;  ///< a piece is large when it holds at least this fraction of its vertebra
    double fragment_min_mm3 = 100;       ///< ... and at least this volume
    int connectivity = 26;            ///< for the vertebra pieces
};

/// How the grids of a CT and its label map compare.
enum class grid_relation {
    same,              ///< shapes equal; affines and spacings equal as numpy.allclose sees them (what nnU-Net checks)
    within_tolerance,  ///< shapes and orientation equal, affines and spacings differ but by at most the tolerance
    shape,             ///< different shapes
    orientation,       ///< same shape, different orientation codes
    affine,            ///< same shape and orientation, affine or spacing differs beyond the tolerance
    unknown            ///< a header is missing or unreadable
};

namespace detail {

/// numpy.allclose(a, b) with its defaults: |a − b| ≤ 1e-8 + 1e-5·|b| elementwise (numpy/core/numeric.py isclose).
/// nnU-Net v2 compares CT and label spacing and affine this way (experiment_planning/verify_dataset_integrity.py,
/// check_cases, lines 73 and 90).
inline bool np_isclose(double a, double b) { return std::abs(a - b) <= 1e-8 + 1e-5 * std::abs(b); }

}  // namespace detail

/// Compare the grids of a CT and a label map; `max_difference` (optional) receives the largest absolute difference
/// of the affine entries and spacings (mm).
inline grid_relation compare_grids(const nifti_file_info& image, const nifti_file_info& label, double tolerance_mm,
                                   double* max_difference = nullptr) {
    if (max_difference) *max_difference = 0;
    if (!image.readable || !label.readable) return grid_relation::unknown;
    if (image.dims != label.dims || image.frames != label.frames) return grid_relation::shape;
    if (image.orientation != label.orientation) return grid_relation::orientation;
    bool close = true;
    double diff = 0;
    for (int r = 0; r < 3; ++r)
        for (int c = 0; c < 4; ++c) {
            const double a = image.ijk_to_ras(r, c), b = label.ijk_to_ras(r, c);
            close = close && detail::np_isclose(b, a);
            diff = std::max(diff, std::abs(a - b));
        }
    for (size_t i = 0; i < 3; ++i) {
        close = close && detail::np_isclose(label.spacing_mm[i], image.spacing_mm[i]);
        diff = std::max(diff, std::abs(image.spacing_mm[i] - label.spacing_mm[i]));
    }
    if (!(diff == diff)) diff = std::numeric_limits<double>::infinity();
    if (max_difference) *max_difference = diff;
    if (close) return grid_relation::same;
    return diff <= tolerance_mm ? grid_relation::within_tolerance : grid_relation::affine;
}

/// What one pass over a label map found.
struct label_statistics {
    std::map<std::int64_t, std::int64_t> voxels;  ///< integral label value (after scaling) → voxel count, 0 included
    std::int64_t fractional_voxels = 0;           ///< voxels whose value (after scaling) is not an integer (or NaN)
    double fractional_example = 0;                ///< one such value
    std::int64_t distinct_dropped = 0;            ///< voxels of integral values beyond the first 4096 distinct ones
    /// Inclusive voxel bounding box of each value 1..255 (unused entries have min > max).
    std::array<std::array<index_t, 6>, 256> bbox{};
};

namespace detail {

template <class S>
label_statistics scan_label_values(const volume<S>& v, double slope, double inter, bool scale) {
    label_statistics st;
    for (auto& b : st.bbox) b = {std::numeric_limits<index_t>::max(), std::numeric_limits<index_t>::max(), std::numeric_limits<index_t>::max(),
                                 -1, -1, -1};
    std::array<std::int64_t, 256> small{};
    const auto d = v.dims();
    const S* p = v.data();
    for (index_t z = 0; z < d[2]; ++z)
        for (index_t y = 0; y < d[1]; ++y) {
            const S* row = p + (z * d[1] + y) * d[0];
            for (index_t x = 0; x < d[0]; ++x) {
                const S s = row[x];
                if (s == S(0) && !scale) {
                    ++small[0];
                    continue;
                }
                const double val = scale ? double(s) * slope + inter : double(s);
                if (!(val == std::floor(val)) || !std::isfinite(val)) {
                    if (st.fractional_voxels++ == 0) st.fractional_example = val;
                    continue;
                }
                if (val >= 0 && val <= 255) {
                    const auto k = static_cast<std::size_t>(val);
                    ++small[k];
                    if (k > 0) {
                        auto& b = st.bbox[k];
                        b[0] = std::min(b[0], x);
                        b[1] = std::min(b[1], y);
                        b[2] = std::min(b[2], z);
                        b[3] = std::max(b[3], x);
                        b[4] = std::max(b[4], y);
                        b[5] = std::max(b[5], z);
                    }
                } else if (val < -9.2e18 || val > 9.2e18) {
                    if (st.fractional_voxels++ == 0) st.fractional_example = val;  // not representable: reported as non-integer
                } else {
                    const auto k = static_cast<std::int64_t>(val);
                    auto it = st.voxels.find(k);
                    if (it != st.voxels.end()) ++it->second;
                    else if (st.voxels.size() < 4096) st.voxels.emplace(k, 1);
                    else ++st.distinct_dropped;
                }
            }
        }
    for (std::size_t k = 0; k < 256; ++k)
        if (small[k]) st.voxels[static_cast<std::int64_t>(k)] += small[k];
    return st;
}

/// Read a file's voxels as stored (no scaling) and hand the volume to f.
template <class F>
void with_stored_volume(const std::string& path, int threads, F&& f) {
    const nifti_header h = read_nifti_header(path);
    nifti_read_options ro;
    ro.apply_scaling = false;
    ro.threads = threads;
    switch (h.datatype) {
        case 2: f(read_nifti<std::uint8_t>(path, ro), h); break;
        case 256: f(read_nifti<std::int8_t>(path, ro), h); break;
        case 4: f(read_nifti<std::int16_t>(path, ro), h); break;
        case 512: f(read_nifti<std::uint16_t>(path, ro), h); break;
        case 8: f(read_nifti<std::int32_t>(path, ro), h); break;
        case 768: f(read_nifti<std::uint32_t>(path, ro), h); break;
        case 1024: f(read_nifti<std::int64_t>(path, ro), h); break;
        case 1280: f(read_nifti<std::uint64_t>(path, ro), h); break;
        case 16: f(read_nifti<float>(path, ro), h); break;
        case 64: f(read_nifti<double>(path, ro), h); break;
        default: throw error(errc::unsupported, cat("nifti: unsupported datatype ", h.datatype), path, "datatype");
    }
}

inline std::string value_list(const std::map<std::int64_t, std::int64_t>& m, std::size_t max_items = 8) {
    std::string o;
    std::size_t k = 0;
    for (const auto& [v, n] : m) {
        if (k == max_items) {
            o += ", ...";
            break;
        }
        o += (k++ ? ", " : "") + std::to_string(v) + " (" + std::to_string(n) + " voxels)";
    }
    return o;
}

struct case_checker {
    const index_record& r;
    const check_options& opt;
    int threads;
    std::vector<dataset_finding> out;

    void add(finding_severity s, const std::string& name, const std::string& details) {
        out.push_back({r.name, s, name, details, r.source, r.split});
    }

    void header_checks() {
        const bool has_image = r.image_info.present, has_label = r.label_info.present;
        if (has_image && !r.image_info.readable) add(finding_severity::error, "image_unreadable", r.image_info.error);
        if (has_label && !r.label_info.readable) add(finding_severity::error, "label_unreadable", r.label_info.error);
        if (!has_image && has_label) add(finding_severity::error, "image_missing", "label map '" + r.label + "' has no CT");
        if (has_image && !has_label) {
            const std::string parent = std::filesystem::path(r.image).parent_path().filename().string();
            const bool test = is_test_split(r.split) || parent == "imagesTs";
            add(test ? finding_severity::info : finding_severity::warning, "label_missing",
                test ? "no label map (a test case)" : "CT '" + r.image + "' has no label map");
        }
        for (const auto* f : {&r.image_info, &r.label_info}) {
            if (!f->readable) continue;
            const char* which = f == &r.image_info ? "CT" : "label map";
            if (f->frames > 1) add(finding_severity::error, f == &r.image_info ? "image_not_3d" : "label_not_3d",
                                   cat(which, " has ", f->frames, " frames (dims ", dims_text(*f), ")"));
            bool bad = false;
            for (size_t i = 0; i < 3; ++i)
                if (!(f->pixdim[i] > 0) || !std::isfinite(f->pixdim[i])) bad = true;
            if (f->orientation.empty()) bad = true;
            if (bad) {
                add(finding_severity::error, "spacing_non_positive",
                    cat(which, " pixdim[1..3] = ", dataset_num(f->pixdim[0]), ", ", dataset_num(f->pixdim[1]), ", ", dataset_num(f->pixdim[2]),
                        f->orientation.empty() ? " and its affine has a zero column" : ""));
            } else {
                const double lo = std::min({f->spacing_mm[0], f->spacing_mm[1], f->spacing_mm[2]});
                const double hi = std::max({f->spacing_mm[0], f->spacing_mm[1], f->spacing_mm[2]});
                if (lo < opt.min_spacing_mm || hi > opt.max_spacing_mm)
                    add(finding_severity::warning, "spacing_extreme",
                        cat(which, " spacing ", spacing_text(*f), " mm (expected ", dataset_num(opt.min_spacing_mm), " to ",
                            dataset_num(opt.max_spacing_mm), " mm)"));
            }
        }
        if (r.label_info.readable) {
            if (r.label_info.scaled)
                add(finding_severity::warning, "label_scaled",
                    cat("label map has scl_slope ", dataset_num(r.label_info.scl_slope), ", scl_inter ", dataset_num(r.label_info.scl_inter),
                        " (labels are read scaled)"));
            if (r.label_info.datatype == 16 || r.label_info.datatype == 64)
                add(finding_severity::warning, "label_float_datatype", "label map stored as " + r.label_info.datatype_name);
        }
        double diff = 0;
        switch (compare_grids(r.image_info, r.label_info, opt.affine_tolerance_mm, &diff)) {
            case grid_relation::shape:
                add(finding_severity::error, "grid_shape_mismatch", "CT " + dims_text(r.image_info) + ", label map " + dims_text(r.label_info));
                break;
            case grid_relation::orientation:
                add(finding_severity::error, "grid_orientation_mismatch",
                    "CT " + r.image_info.orientation + ", label map " + r.label_info.orientation);
                break;
            case grid_relation::affine:
                add(finding_severity::error, "grid_affine_mismatch",
                    cat("affine/spacing differ by up to ", dataset_num(diff), " mm (tolerance ", dataset_num(opt.affine_tolerance_mm), " mm)"));
                break;
            case grid_relation::within_tolerance:
                add(finding_severity::info, "grid_affine_rounding",
                    cat("affine/spacing differ by up to ", dataset_num(diff), " mm, within the tolerance ", dataset_num(opt.affine_tolerance_mm),
                        " mm (nnU-Net would warn; to-nnunet copies the CT's geometry)"));
                break;
            default: break;
        }
    }

    void image_voxels() {
        if (!r.image_info.readable || r.image_info.frames > 1) return;
        try {
            with_stored_volume(r.image, threads, [&](const auto& v, const nifti_header& h) {
                using S = typename std::decay_t<decltype(v)>::value_type;
                double lo = std::numeric_limits<double>::infinity(), hi = -lo;
                std::int64_t nan = 0;
                for (const S s : v) {
                    if constexpr (std::is_floating_point_v<S>) {
                        if (std::isnan(s)) {
                            ++nan;
                            continue;
                        }
                    }
                    lo = std::min(lo, double(s));
                    hi = std::max(hi, double(s));
                }
                if (h.has_scaling()) {
                    const double a = lo * h.slope() + h.inter(), b = hi * h.slope() + h.inter();
                    lo = std::min(a, b);
                    hi = std::max(a, b);
                }
                if (nan) add(finding_severity::error, "image_nan", cat(nan, " NaN voxels in the CT"));
                if (lo <= hi && lo > opt.min_hu_at_least)
                    add(finding_severity::warning, "hu_range_implausible",
                        cat("CT values ", dataset_num(lo), " to ", dataset_num(hi), (h.has_scaling() ? " (scaled)" : ""),
                            "; a calibrated CT has air at about -1000 HU (missing rescale slope/intercept?)"));
            });
        } catch (const error& e) {
            if (e.code() == errc::cancelled) throw;
            add(finding_severity::error, "image_unreadable", e.what());
        } catch (const std::exception& e) {  // e.g. std::bad_alloc for a huge image
            add(finding_severity::error, "image_unreadable", e.what());
        }
    }

    void label_voxels() {
        if (!r.label_info.readable || r.label_info.frames > 1) return;
        try {
            with_stored_volume(r.label, threads, [&](const auto& v, const nifti_header& h) {
                const label_statistics st = scan_label_values(v, h.slope(), h.inter(), h.has_scaling());
                if (st.fractional_voxels)
                    add(finding_severity::error, "label_non_integer",
                        cat(st.fractional_voxels, " voxels are not integers (e.g. ", dataset_num(st.fractional_example), ")"));
                std::map<std::int64_t, std::int64_t> outside;
                for (const auto& [val, n] : st.voxels)
                    if (val < 0 || val > opt.max_label) outside[val] = n;
                if (!outside.empty() || st.distinct_dropped)
                    add(finding_severity::error, "label_out_of_range",
                        cat("values outside 0..", opt.max_label, ": ", value_list(outside),
                            st.distinct_dropped ? cat(" and ", st.distinct_dropped, " voxels of further values") : std::string()));
                std::vector<std::int64_t> present;
                for (const auto& [val, n] : st.voxels)
                    if (val >= 1 && val <= opt.max_label && n > 0) present.push_back(val);
                if (present.empty()) {
                    add(finding_severity::warning, "label_empty", cat("no label in 1..", opt.max_label));
                    return;
                }
                // a gap: a value between the lowest and the highest present label is absent (VerSe order is cranio-caudal)
                std::vector<std::int64_t> absent;
                for (std::int64_t k = present.front() + 1; k < present.back(); ++k)
                    if (!std::binary_search(present.begin(), present.end(), k)) absent.push_back(k);
                if (!absent.empty()) {
                    std::string a, p;
                    for (auto k : absent) a += (a.empty() ? "" : ", ") + label_name(opt.scheme, k);
                    for (auto k : present) p += (p.empty() ? "" : ", ") + label_name(opt.scheme, k);
                    add(finding_severity::warning, "vertebra_gap", "absent: " + a + " (present: " + p + ")");
                }
                if (opt.scheme == label_scheme::verse && opt.max_label >= 25 && std::binary_search(present.begin(), present.end(), 25))
                    add(finding_severity::info, "transitional_l6", cat("L6 (25) present, ", st.voxels.at(25), " voxels"));
                fragments(v, h, st, present);
            });
        } catch (const error& e) {
            if (e.code() == errc::cancelled) throw;
            add(finding_severity::error, "label_unreadable", e.what());
        } catch (const std::exception& e) {  // e.g. std::bad_alloc for a huge image
            add(finding_severity::error, "label_unreadable", e.what());
        }
    }

    template <class S>
    void fragments(const volume<S>& v, const nifti_header& h, const label_statistics& st, const std::vector<std::int64_t>& present) {
        const auto g = h.geom();
        const double voxel_mm3 = g.spacing_mm[0] * g.spacing_mm[1] * g.spacing_mm[2];
        const auto d = v.dims();
        const bool scale = h.has_scaling();
        for (const std::int64_t value : present) {
            if (value > 255) continue;
            const auto& b = st.bbox[static_cast<std::size_t>(value)];
            if (b[3] < b[0]) continue;
            const dims3 cd{b[3] - b[0] + 1, b[4] - b[1] + 1, b[5] - b[2] + 1};
            volume<std::uint8_t> mask(cd, std::uint8_t(0));
            std::uint8_t* m = mask.data();
            for (index_t z = 0; z < cd[2]; ++z)
                for (index_t y = 0; y < cd[1]; ++y) {
                    const S* row = v.data() + ((z + b[2]) * d[1] + (y + b[1])) * d[0] + b[0];
                    std::uint8_t* mrow = m + (z * cd[1] + y) * cd[0];
                    for (index_t x = 0; x < cd[0]; ++x) {
                        const double val = scale ? double(row[x]) * h.slope() + h.inter() : double(row[x]);
                        mrow[x] = val == double(value) ? 1 : 0;
                    }
                }
            cc_options co;
            co.connectivity = opt.connectivity;
            co.binary = true;
            co.threads = 1;
            cc_result res;
            (void)connected_components<std::uint32_t, std::uint8_t>(std::as_const(mask).view(), co, &res);
            const std::int64_t total = st.voxels.at(value);
            std::vector<index_t> large;
            for (const auto& c : res.components)
                if (double(c.voxels) >= opt.fragment_min_fraction * double(total) && double(c.voxels) * voxel_mm3 >= opt.fragment_min_mm3)
                    large.push_back(c.voxels);
            if (large.size() >= 2) {
                std::sort(large.rbegin(), large.rend());
                std::string sizes;
                for (auto n : large) sizes += (sizes.empty() ? "" : ", ") + std::to_string(n);
                add(finding_severity::warning, "vertebra_fragmented",
                    cat(label_name(opt.scheme, value), " (", value, ") is in ", large.size(), " large pieces of ", sizes, " voxels (",
                        res.count, " pieces in all, ", opt.connectivity, "-connected)"));
            }
        }
    }
};

}  // namespace detail

/// The findings of one case (headers from the index record; voxels read when opt.voxels).
inline std::vector<dataset_finding> check_case(const index_record& r, const check_options& opt = {}, int threads = 1) {
    detail::case_checker c{r, opt, threads, {}};
    c.header_checks();
    if (opt.voxels) {
        c.image_voxels();
        c.label_voxels();
    }
    return std::move(c.out);
}

/// Per-source summary of the findings.
struct source_findings {
    std::string source;
    std::size_t cases = 0, cases_with_error = 0, cases_with_warning = 0;
    std::map<std::string, std::size_t> cases_per_finding;  ///< finding name → number of cases with it
};

struct check_result {
    std::vector<dataset_finding> findings;   ///< in case order, then in the order the checks run
    std::vector<source_findings> by_source;  ///< sources in the order of ctspine1k_sources(), then others
    std::size_t cases = 0, cases_with_error = 0, cases_with_warning = 0;
};

/// Check every case of an index (see the top of this file). Throws errc::cancelled when progress returns false.
inline check_result check_dataset(const dataset_index& idx, const check_options& opt = {}) {
    const int threads = resolve_threads(opt.threads);
    const int in_flight = opt.cases_in_flight > 0 ? opt.cases_in_flight : threads;
    const int per_case_threads = std::max(1, threads / in_flight);
    const std::size_t n = idx.records.size();
    std::vector<std::vector<dataset_finding>> per_case(n);
    detail::report(opt.progress, 0.0, "check");
    const std::size_t group = opt.voxels ? static_cast<std::size_t>(in_flight) : std::max<std::size_t>(64, static_cast<std::size_t>(in_flight));
    for (std::size_t b = 0; b < n; b += group) {
        const std::size_t e = std::min(n, b + group);
        parallel_for(std::min(threads, in_flight), static_cast<std::ptrdiff_t>(e - b), [&](std::ptrdiff_t i0, std::ptrdiff_t i1, int) {
            for (std::ptrdiff_t i = i0; i < i1; ++i)
                per_case[b + static_cast<std::size_t>(i)] = check_case(idx.records[b + static_cast<std::size_t>(i)], opt, per_case_threads);
        });
        detail::report(opt.progress, double(e) / double(n), "check");
    }
    check_result res;
    res.cases = n;
    std::map<std::string, source_findings> by;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& r = idx.records[i];
        auto& s = by[r.source];
        s.source = r.source;
        ++s.cases;
        bool err = false, warn = false;
        std::map<std::string, bool> seen;
        for (auto& f : per_case[i]) {
            err = err || f.severity == finding_severity::error;
            warn = warn || f.severity == finding_severity::warning;
            if (!seen[f.finding]) {
                seen[f.finding] = true;
                ++s.cases_per_finding[f.finding];
            }
            res.findings.push_back(std::move(f));
        }
        s.cases_with_error += err;
        s.cases_with_warning += warn;
        res.cases_with_error += err;
        res.cases_with_warning += warn;
    }
    for (const auto& name : ctspine1k_sources()) {
        auto it = by.find(name);
        if (it == by.end()) continue;
        res.by_source.push_back(std::move(it->second));
        by.erase(it);
    }
    for (auto& [name, s] : by) res.by_source.push_back(std::move(s));
    return res;
}

/// findings.csv: case,severity,finding,details — one row per finding, in case order.
inline std::string findings_csv(const check_result& r) {
    std::string o = "case,severity,finding,details\n";
    for (const auto& f : r.findings)
        o += detail::dataset_csv(f.case_name) + "," + severity_name(f.severity) + "," + f.finding + "," + detail::dataset_csv(f.details) + "\n";
    return o;
}

/// findings_summary.csv: source,finding,severity,cases — how many cases of each source have each finding.
inline std::string findings_summary_csv(const check_result& r) {
    std::map<std::string, finding_severity> sev;
    for (const auto& f : r.findings) sev.emplace(f.finding, f.severity);
    std::string o = "source,finding,severity,cases\n";
    for (const auto& s : r.by_source)
        for (const auto& [name, n] : s.cases_per_finding)
            o += detail::dataset_csv(s.source) + "," + name + "," + severity_name(sev[name]) + "," + std::to_string(n) + "\n";
    return o;
}

/// A text summary per source: cases, cases with errors / warnings, then each finding with its case count.
inline std::string format_findings_summary(const check_result& r) {
    std::string o;
    for (const auto& s : r.by_source) {
        o += s.source + ": " + std::to_string(s.cases) + " cases, " + std::to_string(s.cases_with_error) + " with errors, " +
             std::to_string(s.cases_with_warning) + " with warnings\n";
        for (const auto& [name, n] : s.cases_per_finding) o += "    " + name + ": " + std::to_string(n) + "\n";
    }
    o += "all: " + std::to_string(r.cases) + " cases, " + std::to_string(r.cases_with_error) + " with errors, " +
         std::to_string(r.cases_with_warning) + " with warnings, " + std::to_string(r.findings.size()) + " findings\n";
    return o;
}

/// Write findings.csv and findings_summary.csv into `dir` (created if needed), each atomically.
inline void write_findings(const std::string& dir, const check_result& r) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw error(errc::io, "cannot create the output folder (" + ec.message() + ")", dir);
    write_file_atomic((std::filesystem::path(dir) / "findings.csv").string(), findings_csv(r));
    write_file_atomic((std::filesystem::path(dir) / "findings_summary.csv").string(), findings_summary_csv(r));
}

}  // namespace ctspine
