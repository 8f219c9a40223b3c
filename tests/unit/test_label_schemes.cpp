// Label schemes against the published tables (known values from docs/nnunet-numerics.md §5: VerSe v_dict,
// TotalSegmentator map_to_binary.py class maps), names for every label, conversion between schemes.
#include <doctest/doctest.h>

#include <set>

#include <ctspine/label/label_schemes.hpp>

using namespace ctspine;

namespace {
/// The published name lists, written out label by label (not derived from formulas).
const char* const verse_names[] = {"",    "C1",  "C2",  "C3", "C4", "C5", "C6", "C7", "T1", "T2",     "T3",     "T4", "T5",  "T6", "T7",
                                   "T8",  "T9",  "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "L6", "sacrum", "coccyx", "T13"};
// TotalSegmentator v2 `total` 25..50: sacrum, vertebrae_S1, vertebrae_L5 … vertebrae_C1
const char* const total_v2_25_50[] = {"sacrum", "S1", "L5", "L4", "L3", "L2", "L1", "T12", "T11", "T10", "T9", "T8", "T7",
                                      "T6",     "T5", "T4", "T3", "T2", "T1", "C7", "C6", "C5",  "C4",  "C3",  "C2", "C1"};
}  // namespace

TEST_CASE("VerSe / CTSpine1K: 1–7 C1–C7, 8–19 T1–T12, 20–24 L1–L5, 25 L6, 26 sacrum, 27 coccyx, 28 T13") {
    for (int v = 1; v <= 28; ++v) CHECK(label_name(label_scheme::verse, v) == verse_names[v]);
    CHECK(label_name(label_scheme::verse, 29) == "label 29");
    CHECK(!vertebra_of(label_scheme::verse, 0));
    CHECK(parse_label_scheme("ctspine1k") == label_scheme::verse);
}

TEST_CASE("TotalSegmentator total v2 / v3 / v1, part model Dataset292, vertebrae_pp, vertebrae_mr") {
    for (int v = 25; v <= 50; ++v) CHECK(label_name(label_scheme::totalseg_v2, v) == total_v2_25_50[v - 25]);
    for (int v = 27; v <= 50; ++v) CHECK(label_name(label_scheme::totalseg_v3, v) == total_v2_25_50[v - 25]);
    CHECK(label_name(label_scheme::totalseg_v3, 26) == "L6");
    CHECK(label_name(label_scheme::totalseg_v2, 79) == "label 79");  // spinal_cord is not a vertebra
    CHECK(label_name(label_scheme::totalseg_v2, 5) == "label 5");
    // Dataset292 class_map_part_vertebrae: 1 sacrum, 2 S1, 3 L5 … 7 L1, 8 T12 … 19 T1, 20 C7 … 26 C1
    for (int v = 1; v <= 26; ++v) CHECK(label_name(label_scheme::totalseg_vertebrae, v) == total_v2_25_50[v - 1]);
    CHECK(label_name(label_scheme::totalseg_vertebrae, 27) == "label 27");
    // vertebrae_pp: 1–24 = C1…L5
    for (int v = 1; v <= 24; ++v) CHECK(label_name(label_scheme::totalseg_vertebrae_pp, v) == verse_names[v]);
    CHECK(label_name(label_scheme::totalseg_vertebrae_pp, 25) == "label 25");
    // total_v1: 18 L5 … 22 L1, 23 T12 … 34 T1, 35 C7 … 41 C1, 92 sacrum
    for (int v = 18; v <= 41; ++v) CHECK(label_name(label_scheme::totalseg_v1, v) == total_v2_25_50[v - 18 + 2]);
    CHECK(label_name(label_scheme::totalseg_v1, 92) == "sacrum");
    // vertebrae_mr: 1 sacrum, 2 L5 … 25 C1
    CHECK(label_name(label_scheme::totalseg_vertebrae_mr, 1) == "sacrum");
    for (int v = 2; v <= 25; ++v) CHECK(label_name(label_scheme::totalseg_vertebrae_mr, v) == total_v2_25_50[v]);
    CHECK(parse_label_scheme("totalseg") == label_scheme::totalseg_v2);
    CHECK(parse_label_scheme("total_v3") == label_scheme::totalseg_v3);
    CHECK(parse_label_scheme("vertebrae") == label_scheme::totalseg_vertebrae);
    CHECK(parse_label_scheme("vertebrae_pp") == label_scheme::totalseg_vertebrae_pp);
    CHECK_THROWS_AS(parse_label_scheme("nonsense"), ctspine::error);
}

TEST_CASE("names are unique within a scheme and every vertebra has a rank in cranio-caudal order") {
    for (auto s : {label_scheme::verse, label_scheme::totalseg_v2, label_scheme::totalseg_v3, label_scheme::totalseg_v1,
                   label_scheme::totalseg_vertebrae, label_scheme::totalseg_vertebrae_pp, label_scheme::totalseg_vertebrae_mr}) {
        std::set<std::string> names;
        int n = 0;
        for (int v = 1; v <= 127; ++v)
            if (auto w = vertebra_of(s, v)) {
                ++n;
                CHECK(names.insert(vertebra_name(*w)).second);
                CHECK(label_of(s, *w) == std::optional<std::int64_t>(v));
            }
        CHECK(n >= 24);
    }
    CHECK(vertebra_rank(vertebra::T12) < vertebra_rank(vertebra::T13));
    CHECK(vertebra_rank(vertebra::T13) < vertebra_rank(vertebra::L1));
    CHECK(vertebra_rank(vertebra::L5) < vertebra_rank(vertebra::L6));
    CHECK(vertebra_rank(vertebra::L6) < vertebra_rank(vertebra::S1));
    CHECK(vertebra_rank(vertebra::S1) < vertebra_rank(vertebra::sacrum));
    CHECK(is_transitional(vertebra::L6));
    CHECK(is_transitional(vertebra::T13));
    CHECK(!is_transitional(vertebra::L5));
}

TEST_CASE("conversion between schemes: lookup table and in-place relabelling") {
    auto lut = scheme_conversion_table(label_scheme::totalseg_v2, label_scheme::verse);
    CHECK(lut[30] == 21);  // L2
    CHECK(lut[33] == 18);  // T11
    CHECK(lut[50] == 1);   // C1
    CHECK(lut[25] == 26);  // sacrum
    CHECK(lut[26] == 0);   // S1 has no VerSe label
    CHECK(lut[5] == 0);    // an organ
    auto v3 = scheme_conversion_table(label_scheme::totalseg_v3, label_scheme::verse);
    CHECK(v3[26] == 25);   // L6
    auto back = scheme_conversion_table(label_scheme::verse, label_scheme::totalseg_vertebrae);
    CHECK(back[20] == 7);  // L1
    CHECK(back[28] == 0);  // T13: not in TotalSegmentator
    // round trip VerSe → total → VerSe is the identity on C1..L5
    auto to = scheme_conversion_table(label_scheme::verse, label_scheme::totalseg_v2);
    for (int v = 1; v <= 24; ++v) CHECK(lut[static_cast<size_t>(to[static_cast<size_t>(v)])] == v);

    volume<std::uint8_t> seg(dims3{5, 1, 1}, 0);
    seg[0] = 30;  // L2
    seg[1] = 26;  // S1
    seg[2] = 5;   // organ
    seg[3] = 50;  // C1
    auto a = seg;
    convert_label_scheme<std::uint8_t>(a.view(), label_scheme::totalseg_v2, label_scheme::verse);
    CHECK(std::vector<int>(a.begin(), a.end()) == std::vector<int>{21, 0, 0, 1, 0});
    auto b = seg;
    convert_label_scheme<std::uint8_t>(b.view(), label_scheme::totalseg_v2, label_scheme::verse, true);
    CHECK(std::vector<int>(b.begin(), b.end()) == std::vector<int>{21, 0, 5, 1, 0});
}
