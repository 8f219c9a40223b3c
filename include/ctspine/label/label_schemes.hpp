// ctspine — vertebra label schemes: names, anatomical order, and conversion between schemes.
//
// Sources (see docs/nnunet-numerics.md §5):
//  - VerSe (anjany/verse utils/data_utilities.py v_dict; OSF wiki osf.io/b2wxj): 1–7 C1–C7, 8–19 T1–T12, 20–24 L1–L5,
//    25 L6, 26 sacrum, 27 coccyx, 28 T13. CTSpine1K uses the same numbering (1–25, no sacrum) [inferred there].
//  - TotalSegmentator v2 `total` (totalsegmentator/map_to_binary.py): 25 sacrum, 26 S1, 27 L5 … 31 L1, 32 T12 … 43 T1,
//    44 C7 … 50 C1 (L_k = 32−k, T_k = 44−k, C_k = 51−k). `total_v3`: 26 = L6 instead of S1.
//  - TotalSegmentator part model `vertebrae` (Dataset292, class_map_part_vertebrae): 1 sacrum, 2 S1, 3 L5 … 7 L1,
//    8 T12 … 19 T1, 20 C7 … 26 C1.
//  - TotalSegmentator `vertebrae_pp` (task 803): 1–24 = C1…L5 (VerSe order without L6).
//  - TotalSegmentator `total_v1` (104 classes): 18 L5 … 22 L1, 23 T12 … 34 T1, 35 C7 … 41 C1, 92 sacrum.
//  - TotalSegmentator `vertebrae_mr` (task 756): 1 sacrum, 2 L5 … 6 L1, 7 T12 … 18 T1, 19 C7 … 25 C1.
#pragma once
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/volume.hpp"

namespace ctspine {

/// Anatomical identity of a vertebra-like structure, independent of any scheme. `rank` orders them cranio-caudally:
/// C1 = 1 … C7 = 7, T1 = 8 … T12 = 19, T13 = 19.5, L1 = 20 … L5 = 24, L6 = 25, S1 = 26, sacrum = 27, coccyx = 28.
enum class vertebra : int {
    C1 = 1, C2, C3, C4, C5, C6, C7,
    T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12,
    L1, L2, L3, L4, L5, L6,
    S1, sacrum, coccyx, T13
};

inline std::string vertebra_name(vertebra v) {
    int k = static_cast<int>(v);
    if (k >= 1 && k <= 7) return "C" + std::to_string(k);
    if (k >= 8 && k <= 19) return "T" + std::to_string(k - 7);
    if (k >= 20 && k <= 25) return "L" + std::to_string(k - 19);
    switch (v) {
        case vertebra::S1: return "S1";
        case vertebra::sacrum: return "sacrum";
        case vertebra::coccyx: return "coccyx";
        case vertebra::T13: return "T13";
        default: return "unknown";
    }
}

/// Cranio-caudal position (smaller = more cranial); T13 sits between T12 and L1.
inline double vertebra_rank(vertebra v) {
    if (v == vertebra::T13) return 19.5;
    if (v == vertebra::S1) return 26;
    if (v == vertebra::sacrum) return 27;
    if (v == vertebra::coccyx) return 28;
    return static_cast<int>(v);
}

/// Transitional vertebrae (legal extra levels): L6, T13.
inline bool is_transitional(vertebra v) { return v == vertebra::L6 || v == vertebra::T13; }

enum class label_scheme {
    verse,                 ///< VerSe / CTSpine1K
    totalseg_v2,           ///< TotalSegmentator v2 `total`
    totalseg_v3,           ///< TotalSegmentator `total_v3` (26 = L6)
    totalseg_vertebrae,    ///< TotalSegmentator part model Dataset292 `vertebrae`
    totalseg_vertebrae_pp, ///< TotalSegmentator `vertebrae_pp` (1–24 = C1…L5)
    totalseg_v1,           ///< TotalSegmentator v1 `total` (104 classes)
    totalseg_vertebrae_mr  ///< TotalSegmentator `vertebrae_mr` (task 756)
};

inline label_scheme parse_label_scheme(const std::string& s) {
    if (s == "verse" || s == "ctspine1k") return label_scheme::verse;
    if (s == "totalseg" || s == "totalseg_v2" || s == "total") return label_scheme::totalseg_v2;
    if (s == "totalseg_v3" || s == "total_v3") return label_scheme::totalseg_v3;
    if (s == "totalseg_vertebrae" || s == "vertebrae") return label_scheme::totalseg_vertebrae;
    if (s == "totalseg_vertebrae_pp" || s == "vertebrae_pp") return label_scheme::totalseg_vertebrae_pp;
    if (s == "totalseg_v1" || s == "total_v1") return label_scheme::totalseg_v1;
    if (s == "totalseg_vertebrae_mr" || s == "vertebrae_mr") return label_scheme::totalseg_vertebrae_mr;
    throw error(errc::invalid_argument, "label scheme: unknown name '" + s +
                                            "' (verse, totalseg, totalseg_v3, totalseg_v1, vertebrae, vertebrae_pp, vertebrae_mr)");
}

/// The vertebra a label value denotes in a scheme, or nothing (background, organs, unknown values).
inline std::optional<vertebra> vertebra_of(label_scheme s, std::int64_t value) {
    auto V = [](int k) { return std::optional<vertebra>(static_cast<vertebra>(k)); };
    switch (s) {
        case label_scheme::verse:
            if (value >= 1 && value <= 25) return V(int(value));
            if (value == 26) return vertebra::sacrum;
            if (value == 27) return vertebra::coccyx;
            if (value == 28) return vertebra::T13;
            return std::nullopt;
        case label_scheme::totalseg_v2:
        case label_scheme::totalseg_v3:
            if (value == 25) return vertebra::sacrum;
            if (value == 26) return s == label_scheme::totalseg_v2 ? vertebra::S1 : vertebra::L6;
            if (value >= 27 && value <= 31) return V(20 + (31 - int(value)));  // L5..L1
            if (value >= 32 && value <= 43) return V(8 + (43 - int(value)));   // T12..T1
            if (value >= 44 && value <= 50) return V(1 + (50 - int(value)));   // C7..C1
            return std::nullopt;
        case label_scheme::totalseg_vertebrae:
            if (value == 1) return vertebra::sacrum;
            if (value == 2) return vertebra::S1;
            if (value >= 3 && value <= 7) return V(20 + (7 - int(value)));     // L5..L1
            if (value >= 8 && value <= 19) return V(8 + (19 - int(value)));    // T12..T1
            if (value >= 20 && value <= 26) return V(1 + (26 - int(value)));   // C7..C1
            return std::nullopt;
        case label_scheme::totalseg_vertebrae_pp:
            if (value >= 1 && value <= 24) return V(int(value));
            return std::nullopt;
        case label_scheme::totalseg_v1:
            if (value == 92) return vertebra::sacrum;
            if (value >= 18 && value <= 22) return V(20 + (22 - int(value)));  // L5..L1
            if (value >= 23 && value <= 34) return V(8 + (34 - int(value)));   // T12..T1
            if (value >= 35 && value <= 41) return V(1 + (41 - int(value)));   // C7..C1
            return std::nullopt;
        case label_scheme::totalseg_vertebrae_mr:
            if (value == 1) return vertebra::sacrum;
            if (value >= 2 && value <= 6) return V(20 + (6 - int(value)));     // L5..L1
            if (value >= 7 && value <= 18) return V(8 + (18 - int(value)));    // T12..T1
            if (value >= 19 && value <= 25) return V(1 + (25 - int(value)));   // C7..C1
            return std::nullopt;
    }
    return std::nullopt;
}

/// The label value of a vertebra in a scheme, or nothing if the scheme has no label for it.
inline std::optional<std::int64_t> label_of(label_scheme s, vertebra v) {
    for (std::int64_t value = 1; value <= 127; ++value) {  // every scheme's vertebra labels are < 128
        auto w = vertebra_of(s, value);
        if (w && *w == v) return value;
    }
    return std::nullopt;
}

/// Name of a label value in a scheme ("L1", "sacrum", …), or "label <n>" for values that are not vertebrae.
inline std::string label_name(label_scheme s, std::int64_t value) {
    auto v = vertebra_of(s, value);
    return v ? vertebra_name(*v) : "label " + std::to_string(value);
}

/// A lookup table from every label value of `from` (0..max_value) to `to`; values with no counterpart map to 0.
inline std::vector<std::int64_t> scheme_conversion_table(label_scheme from, label_scheme to, std::int64_t max_value = 255) {
    std::vector<std::int64_t> lut(static_cast<size_t>(max_value) + 1, 0);
    for (std::int64_t value = 1; value <= max_value; ++value) {
        auto v = vertebra_of(from, value);
        if (!v) continue;
        auto w = label_of(to, *v);
        lut[static_cast<size_t>(value)] = w ? *w : 0;
    }
    return lut;
}

/// Relabel a segmentation in place from scheme `from` to scheme `to`. Vertebra labels without a counterpart in `to`
/// (e.g. S1 → VerSe) and every non-vertebra label become 0 unless keep_other is set, which leaves non-vertebra
/// labels untouched (they may then collide with the target scheme's numbers: the caller's choice).
template <class T>
void convert_label_scheme(volume_view<T> seg, label_scheme from, label_scheme to, bool keep_other = false, int threads = 0) {
    static_assert(std::is_integral_v<T>, "convert_label_scheme: integer label volume expected");
    const std::vector<std::int64_t> lut = scheme_conversion_table(from, to, 127);
    parallel_for(threads, seg.size(), [&](index_t b, index_t e, int) {
        for (index_t n = b; n < e; ++n) {
            const std::int64_t v = static_cast<std::int64_t>(seg[n]);
            if (v == 0) continue;
            const bool vertebra_label = v > 0 && v <= 127 && vertebra_of(from, v).has_value();
            if (vertebra_label) seg[n] = static_cast<T>(lut[static_cast<size_t>(v)]);
            else if (!keep_other) seg[n] = T(0);
        }
    }, 1 << 16);
}

}  // namespace ctspine
