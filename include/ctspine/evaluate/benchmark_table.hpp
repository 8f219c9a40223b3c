// ctspine — the benchmark table of a segmentation run over a dataset, in the shape of the CTSpine1K paper's benchmark
// (Deng et al. 2021, "CTSpine1K: A Large-Scale Dataset for Spinal Vertebrae Segmentation in Computed Tomography": per
// sub-dataset and overall, mean ± std of Dice and of HD95, as issue 15 describes it): one Markdown table
// per split, one row per source (COLONOG, HNSCC-3DCT-RT, MSD_liver, COVID-19, then any other source) and an "All" row.
//
// Every number comes from an evaluation_summary (evaluate/summary.hpp), i.e. from the same grouping the `evaluate`
// command writes to summary.csv: the group (split, source, label 0 = all labels). Statistics are over (case,
// vertebra) pairs, each label of each case one value:
//   Dice  — nnU-Net v1 rules: a vertebra in both maps scores its Dice, a missed or an extra vertebra scores 0, a label
//           in neither map has none (numpy nanmean, population std).
//   HD95  — medpy 0.5.2 hd95 (pooled 95th percentile of both directed border-voxel distances, mm), defined only for
//           vertebrae present in both maps: missed and extra vertebrae are not in its mean, so their counts are
//           printed beside it.
// The table is a function of the summary alone (no time, host or path), so shards merged with `--merge` give the
// same bytes as a single run.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "ctspine/evaluate/summary.hpp"

namespace ctspine {

/// One row of the benchmark table.
struct benchmark_row {
    std::string split, source;  ///< source "all" = the split's "All" row
    std::int64_t n_cases = 0;
    std::int64_t n_vertebrae = 0;  ///< reference vertebrae (labels present in the reference), over all cases
    std::int64_t n_missed = 0, n_extra = 0;
    metric_stats dice, hd95;
    double id_rate = std::numeric_limits<double>::quiet_NaN();  ///< pooled VerSe identification rate
};

struct benchmark_table_options {
    int dice_decimals = 4;  ///< Dice as a fraction, this many decimals
    int hd95_decimals = 2;  ///< HD95 in mm
    std::string title = "Benchmark";
};

namespace detail {
inline int benchmark_source_rank(const std::string& s) {
    static const char* order[] = {"COLONOG", "HNSCC-3DCT-RT", "MSD_liver", "COVID-19"};
    for (int i = 0; i < 4; ++i)
        if (s == order[i]) return i;
    return s == "all" ? 6 : (s == "other" ? 5 : 4);
}
inline std::string fixed_decimals(double x, int decimals) {
    if (std::isnan(x)) return "n/a";
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", decimals, x);
    return b;
}
inline std::string mean_pm_std(const metric_stats& m, int decimals) {
    if (m.n == 0) return "n/a";
    return fixed_decimals(m.mean, decimals) + " ± " + fixed_decimals(m.stddev, decimals);
}
}  // namespace detail

/// The table's rows: per split (sorted by name; the "all"-splits rows only when the summary has several splits),
/// sources in the paper's order, then the split's "All" row.
inline std::vector<benchmark_row> benchmark_rows(const evaluation_summary& s) {
    int di = -1, hi = -1;
    for (size_t i = 0; i < s.metric_names.size(); ++i) {
        if (s.metric_names[i] == "dice") di = static_cast<int>(i);
        if (s.metric_names[i] == "hd95") hi = static_cast<int>(i);
    }
    std::map<std::string, int> splits;
    for (const auto& g : s.groups)
        if (g.split != "all") splits[g.split] = 1;
    std::vector<benchmark_row> rows;
    for (const auto& g : s.groups) {
        if (g.label != 0) continue;
        if (g.split == "all" && (splits.size() < 2 || g.source != "all")) continue;
        benchmark_row r;
        r.split = g.split;
        r.source = g.source;
        r.n_cases = g.n_cases;
        r.n_vertebrae = g.n_ref_labels;
        r.n_missed = g.n_missed;
        r.n_extra = g.n_extra;
        if (di >= 0) r.dice = g.metrics[static_cast<size_t>(di)];
        if (hi >= 0) r.hd95 = g.metrics[static_cast<size_t>(hi)];
        r.id_rate = g.id_rate;
        rows.push_back(r);
    }
    std::stable_sort(rows.begin(), rows.end(), [](const benchmark_row& a, const benchmark_row& b) {
        const bool aa = a.split == "all", ba = b.split == "all";
        if (aa != ba) return ba;  // the all-splits table last
        if (a.split != b.split) return a.split < b.split;
        const int ra = detail::benchmark_source_rank(a.source), rb = detail::benchmark_source_rank(b.source);
        if (ra != rb) return ra < rb;
        return a.source < b.source;
    });
    return rows;
}

/// benchmark.md: one Markdown table per split (see the top of this file), then the failed cases.
inline std::string benchmark_markdown(const evaluation_summary& s, const benchmark_table_options& opt = {}) {
    const auto rows = benchmark_rows(s);
    std::string o = "# " + opt.title + "\n\n";
    o += "Per vertebra, mean ± std (population) over every (case, vertebra) pair of the group. Dice: nnU-Net v1 rules, a missed or an "
         "extra vertebra scores 0. HD95 (mm): medpy 0.5.2 `hd95` (6-neighbour border voxels, pooled 95th percentile), defined for "
         "vertebrae present in both maps only (missed and extra vertebrae are not in its mean; their counts are beside it). "
         "Vertebrae: reference vertebrae. Identification: VerSe rule on mask centroids (20 mm), pooled.\n";
    std::string split;
    bool first = true;
    for (const auto& r : rows) {
        if (first || r.split != split) {
            first = false;
            split = r.split;
            const std::string what = split == "all" ? "all splits" : split == "none" ? "all labelled cases" : "split " + split;
            o += "\n## " + what + "\n\n| Source | Cases | Vertebrae | Dice | HD95 (mm) | Missed | Extra | Identification |\n"
                 "|:--|--:|--:|:-:|:-:|--:|--:|--:|\n";
        }
        const bool all = r.source == "all";
        o += "| " + std::string(all ? "**All**" : r.source) + " | " + std::to_string(r.n_cases) + " | " + std::to_string(r.n_vertebrae) + " | " +
             detail::mean_pm_std(r.dice, opt.dice_decimals) + " | " + detail::mean_pm_std(r.hd95, opt.hd95_decimals) + " | " +
             std::to_string(r.n_missed) + " | " + std::to_string(r.n_extra) + " | " + detail::fixed_decimals(r.id_rate, 3) + " |\n";
    }
    if (rows.empty()) o += "\nNo case was evaluated.\n";
    o += "\nCases evaluated: " + std::to_string(s.n_cases) + "; failed: " + std::to_string(s.n_failed);
    if (!s.failed.empty()) {
        o += " (not in the tables; reasons in failures.csv):";
        for (const auto& f : s.failed) o += " " + f;
    }
    return o + "\n";
}

}  // namespace ctspine
