// ctspine — evaluation tables: one row per (case, label) (`cases.csv`), grouped statistics per split × source ×
// label (`summary.csv` / `summary.json`) and Python's float printing (CTSpine1K case names, sources and the split
// file: dataset/ctspine1k.hpp). Rows are kept sorted by (case, label) before aggregation and every value is written with
// the shortest round-trip digits, so a summary built from merged shard tables equals the summary of a single run.
//
// Statistics per metric and group: mean (numpy nanmean: NaN → 0 in place, pairwise sum, ÷ count of defined values),
// std (population, ddof 0, over defined values), median (numpy: mean of the two middle values), n (defined values).
// Every group also carries its counts of both / missed / extra / absent rows, the pooled identification rate
// (identified reference labels ÷ reference labels: the VerSe 2019 dataset-level id.rate) and the mean centroid
// distance of labels in both maps (VerSe d_mean), so that missed vertebrae stay visible beside every mean.
#pragma once
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/dataset/ctspine1k.hpp"
#include "ctspine/io/atomic_file.hpp"
#include "ctspine/evaluate/evaluate.hpp"
#include "ctspine/evaluate/surface_distance.hpp"
#include "ctspine/label/label_schemes.hpp"

namespace ctspine {

// ------------------------------------------------------------------------------------------------ float printing
/// Python's repr of a float (shortest round-trip digits; fixed notation when the decimal exponent is in [−4, 16),
/// else d.ddde±XX; integral values get ".0"). NaN and infinities are written as `nan_token`, `inf_token` / "-"+inf.
inline std::string python_float_repr(double x, const char* nan_token = "nan", const char* inf_token = "inf") {
    if (std::isnan(x)) return nan_token;
    if (std::isinf(x)) return x > 0 ? std::string(inf_token) : "-" + std::string(inf_token);
    char buf[40];
    int p = 1;
    for (; p <= 17; ++p) {
        std::snprintf(buf, sizeof buf, "%.*e", p - 1, x);
        if (std::strtod(buf, nullptr) == x) break;
    }
    // buf = [-]d[.ddd]e±XX
    std::string s(buf);
    std::string sign;
    if (s[0] == '-') {
        sign = "-";
        s = s.substr(1);
    }
    const auto e = s.find('e');
    std::string digits = s.substr(0, 1) + (e > 1 ? s.substr(2, e - 2) : std::string());
    const int exp10 = std::atoi(s.c_str() + e + 1);
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    const int decpt = exp10 + 1;  // position of the decimal point after the first `decpt` digits
    const int nd = static_cast<int>(digits.size());
    std::string out;
    if (decpt <= -4 || decpt > 16) {
        out = digits.substr(0, 1);
        if (nd > 1) out += "." + digits.substr(1);
        char eb[16];
        std::snprintf(eb, sizeof eb, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
        out += eb;
    } else if (decpt <= 0) {
        out = "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
    } else if (decpt >= nd) {
        out = digits + std::string(static_cast<size_t>(decpt - nd), '0') + ".0";
    } else {
        out = digits.substr(0, static_cast<size_t>(decpt)) + "." + digits.substr(static_cast<size_t>(decpt));
    }
    return sign + out;
}

/// Python's `%g`-like short form of a tolerance for column names: 2 → "2", 0.5 → "0.5".
inline std::string tau_name(double t) {
    std::string s = python_float_repr(t);
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
    return s;
}

// Case names, CTSpine1K sources and the split file (case_name_of, ctspine1k_source, parse_split_file) are dataset
// facts: dataset/ctspine1k.hpp.

// ------------------------------------------------------------------------------------------------ case table
/// Long table: one row per (case, label).
struct case_table {
    struct row {
        std::string case_name, source, split, name, status;
        std::int64_t label = 0;
        std::string ref_file, pred_file;  ///< paths as given (the nnU-Net formats name them)
        std::vector<double> values;  ///< aligned with case_table::columns
    };
    std::vector<double> tau_mm;
    std::vector<std::string> columns;  ///< numeric columns after case,source,split,label,name,status (files last)
    std::vector<row> rows;
    /// Cases that could not be evaluated: case name → reason.
    std::map<std::string, std::string> failures;
    int column(const std::string& name) const {
        for (size_t i = 0; i < columns.size(); ++i)
            if (columns[i] == name) return static_cast<int>(i);
        return -1;
    }
};

inline std::vector<std::string> case_table_columns(const std::vector<double>& tau_mm) {
    std::vector<std::string> c{"n_ref", "n_pred", "tp", "fp", "fn", "tn", "vol_ref_mm3", "vol_pred_mm3", "dice", "iou", "precision", "recall", "rvd",
                               "hd", "hd95", "hd95_dirmax", "asd_pred_ref", "asd_ref_pred", "assd", "masd"};
    for (double t : tau_mm) c.push_back("nsd@" + tau_name(t));
    for (double t : tau_mm) c.push_back("nsd_voxel@" + tau_name(t));
    for (const char* s : {"cx_ref", "cy_ref", "cz_ref", "cx_pred", "cy_pred", "cz_pred", "centroid_dist_mm", "identified"}) c.push_back(s);
    return c;
}

/// Append one evaluated case (label names from `scheme`).
inline void append_case(case_table& t, const std::string& case_name, const std::string& source, const std::string& split,
                        const case_evaluation& ev, label_scheme scheme = label_scheme::verse, const std::string& ref_file = {},
                        const std::string& pred_file = {}) {
    if (t.columns.empty()) {
        t.tau_mm = ev.tau_mm;
        t.columns = case_table_columns(ev.tau_mm);
    } else if (t.tau_mm != ev.tau_mm) {
        throw error(errc::invalid_argument, "case table: tolerances differ between cases");
    }
    for (const auto& e : ev.labels) {
        case_table::row r;
        r.case_name = case_name;
        r.source = source;
        r.split = split;
        r.label = e.label;
        r.name = label_name(scheme, e.label);
        r.status = label_status_name(e.status);
        r.ref_file = ref_file;
        r.pred_file = pred_file;
        const auto& d = e.distance;
        r.values = {double(e.counts.n_ref()), double(e.counts.n_pred()), double(e.counts.tp), double(e.counts.fp), double(e.counts.fn),
                    double(e.counts.tn), e.vol_ref_mm3, e.vol_pred_mm3, e.dice, e.iou, e.precision,
                    e.recall, e.rvd, d.hd, d.hd95, d.hd95_dirmax, d.asd_pred_ref, d.asd_ref_pred, d.assd, d.masd};
        for (double x : e.nsd) r.values.push_back(x);
        for (double x : e.nsd_voxel) r.values.push_back(x);
        for (double x : e.centroid_ref_mm) r.values.push_back(x);
        for (double x : e.centroid_pred_mm) r.values.push_back(x);
        r.values.push_back(e.centroid_dist_mm);
        r.values.push_back(e.identified);
        t.rows.push_back(std::move(r));
    }
}

namespace detail {
inline std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string o = "\"";
    for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
    return o + "\"";
}
inline std::vector<std::string> csv_split(const std::string& line) {
    std::vector<std::string> out;
    std::string cur;
    bool q = false;
    for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (q) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') cur += '"', ++i;
            else if (c == '"') q = false;
            else cur += c;
        } else if (c == '"') q = true;
        else if (c == ',') out.push_back(cur), cur.clear();
        else cur += c;
    }
    out.push_back(cur);
    return out;
}
inline double parse_number(const std::string& s) {
    if (s == "nan" || s == "NaN" || s.empty()) return std::numeric_limits<double>::quiet_NaN();
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() || *end != '\0') throw error(errc::invalid_argument, "cases.csv: not a number: '" + s + "'");
    return v;
}
inline bool row_less(const case_table::row& a, const case_table::row& b) {
    return std::tie(a.case_name, a.label) < std::tie(b.case_name, b.label);
}
}  // namespace detail

/// Sort rows by (case, label) — the canonical order of every written table and of aggregation.
inline void sort_rows(case_table& t) { std::stable_sort(t.rows.begin(), t.rows.end(), detail::row_less); }

/// cases.csv: header row, then one row per (case, label); undefined values are `nan`; floats round-trip exactly.
inline std::string to_csv(const case_table& t) {
    std::string o = "case,source,split,label,name,status";
    for (const auto& c : t.columns) o += "," + c;
    o += ",ref_file,pred_file\n";
    const size_t counts = 6;  // n_ref, n_pred, tp, fp, fn, tn: written as integers
    for (const auto& r : t.rows) {
        o += detail::csv_field(r.case_name) + "," + detail::csv_field(r.source) + "," + detail::csv_field(r.split) + "," +
             std::to_string(r.label) + "," + detail::csv_field(r.name) + "," + r.status;
        for (size_t i = 0; i < r.values.size(); ++i) {
            // counts as integers; a value a count cannot hold (only in a hand-edited table) keeps its float form
            const double v = r.values[i];
            const bool integral = i < counts && std::abs(v) < 9.0e18 && v == std::trunc(v);
            o += "," + (integral ? std::to_string(static_cast<long long>(v)) : python_float_repr(v));
        }
        o += "," + detail::csv_field(r.ref_file) + "," + detail::csv_field(r.pred_file) + "\n";
    }
    return o;
}

/// Parse a cases.csv written by to_csv (the tolerances are recovered from the nsd@ columns).
inline case_table parse_cases_csv(const std::string& text) {
    case_table t;
    std::istringstream is(text);
    std::string line;
    if (!std::getline(is, line)) throw error(errc::invalid_argument, "cases.csv: empty");
    auto head = detail::csv_split(line);
    const char* fixed[] = {"case", "source", "split", "label", "name", "status"};
    if (head.size() < 8 || head[head.size() - 2] != "ref_file" || head.back() != "pred_file")
        throw error(errc::invalid_argument, "cases.csv: unexpected header");
    for (size_t i = 0; i < 6; ++i)
        if (head[i] != fixed[i]) throw error(errc::invalid_argument, "cases.csv: unexpected column '" + head[i] + "'");
    t.columns.assign(head.begin() + 6, head.end() - 2);
    for (const auto& c : t.columns)
        if (c.rfind("nsd@", 0) == 0) t.tau_mm.push_back(detail::parse_number(c.substr(4)));
    if (t.columns != case_table_columns(t.tau_mm)) throw error(errc::invalid_argument, "cases.csv: unexpected columns");
    while (std::getline(is, line)) {
        if (line.empty()) continue;
        auto f = detail::csv_split(line);
        if (f.size() != head.size()) throw error(errc::invalid_argument, "cases.csv: row with " + std::to_string(f.size()) + " fields");
        case_table::row r;
        r.case_name = f[0];
        r.source = f[1];
        r.split = f[2];
        {
            char* end = nullptr;
            errno = 0;
            r.label = std::strtoll(f[3].c_str(), &end, 10);
            if (f[3].empty() || *end != '\0' || errno == ERANGE)
                throw error(errc::invalid_argument, "cases.csv: label is not an integer: '" + f[3] + "'", {}, "label", f[3]);
        }
        r.name = f[4];
        r.status = f[5];
        for (size_t i = 6; i + 2 < f.size(); ++i) r.values.push_back(detail::parse_number(f[i]));
        r.ref_file = f[f.size() - 2];
        r.pred_file = f.back();
        t.rows.push_back(std::move(r));
    }
    return t;
}

/// failures.csv: case,reason.
inline std::string failures_csv(const case_table& t) {
    std::string o = "case,reason\n";
    for (const auto& [c, why] : t.failures) o += detail::csv_field(c) + "," + detail::csv_field(why) + "\n";
    return o;
}
inline void parse_failures_csv(const std::string& text, case_table& t) {
    std::istringstream is(text);
    std::string line;
    std::getline(is, line);
    while (std::getline(is, line)) {
        if (line.empty()) continue;
        auto f = detail::csv_split(line);
        if (f.size() >= 2) t.failures[f[0]] = f[1];
    }
}

/// Append the rows and failures of `b` to `a` (same columns required).
inline void merge_tables(case_table& a, const case_table& b) {
    if (a.columns.empty() && a.rows.empty()) {
        a.columns = b.columns;
        a.tau_mm = b.tau_mm;
    }
    if (!b.rows.empty() && a.columns != b.columns) throw error(errc::invalid_argument, "merge: tables have different columns");
    std::map<std::string, int> seen;
    for (const auto& r : a.rows) seen[r.case_name] = 1;
    for (const auto& r : b.rows)
        if (seen.count(r.case_name)) throw error(errc::invalid_argument, "merge: case '" + r.case_name + "' appears in two tables");
    a.rows.insert(a.rows.end(), b.rows.begin(), b.rows.end());
    for (const auto& f : b.failures) a.failures.insert(f);
}

// ------------------------------------------------------------------------------------------------ aggregation
struct metric_stats {
    double mean = std::numeric_limits<double>::quiet_NaN(), stddev = std::numeric_limits<double>::quiet_NaN(),
           median = std::numeric_limits<double>::quiet_NaN();
    std::int64_t n = 0;
};

struct summary_group {
    std::string split, source, name;
    std::int64_t label = 0;  ///< 0 = all labels of the group
    std::int64_t n_rows = 0, n_cases = 0, n_both = 0, n_missed = 0, n_extra = 0, n_absent = 0;
    std::int64_t n_ref_labels = 0, n_identified = 0;
    double id_rate = std::numeric_limits<double>::quiet_NaN();  ///< pooled: n_identified / n_ref_labels
    std::vector<metric_stats> metrics;                          ///< aligned with evaluation_summary::metric_names
};

struct evaluation_summary {
    std::vector<double> tau_mm;
    std::vector<std::string> metric_names;
    std::vector<summary_group> groups;
    std::int64_t n_cases = 0, n_failed = 0;
    std::vector<std::string> failed;
};

namespace detail {
inline metric_stats stats_of(const std::vector<double>& v_with_nan) {
    metric_stats s;
    std::vector<double> z(v_with_nan.size()), def;
    for (size_t i = 0; i < v_with_nan.size(); ++i) {
        const bool ok = !std::isnan(v_with_nan[i]);
        z[i] = ok ? v_with_nan[i] : 0.0;
        if (ok) def.push_back(v_with_nan[i]);
    }
    s.n = static_cast<std::int64_t>(def.size());
    if (def.empty()) return s;
    s.mean = numpy_pairwise_sum(z.data(), z.size()) / double(def.size());  // np.nanmean
    std::vector<double> dev(def.size());
    const double m = numpy_pairwise_sum(def.data(), def.size()) / double(def.size());
    for (size_t i = 0; i < def.size(); ++i) dev[i] = (def[i] - m) * (def[i] - m);
    s.stddev = std::sqrt(numpy_pairwise_sum(dev.data(), dev.size()) / double(def.size()));  // np.std, ddof 0
    std::sort(def.begin(), def.end());
    const size_t n = def.size();
    s.median = n % 2 ? def[n / 2] : (def[n / 2 - 1] + def[n / 2]) / 2.0;  // np.median
    return s;
}
}  // namespace detail

/// Aggregate a case table into groups (split, source, label), (split, "all", label), ("all", "all", label), and the
/// same three with label 0 = all labels. Rows are taken in canonical (case, label) order.
inline evaluation_summary summarize(case_table t) {
    sort_rows(t);
    evaluation_summary s;
    s.tau_mm = t.tau_mm;
    const std::vector<std::string> skip{"n_ref", "n_pred", "tp", "fp", "fn", "tn", "cx_ref", "cy_ref", "cz_ref", "cx_pred", "cy_pred", "cz_pred", "identified"};
    std::vector<int> cols;
    for (size_t i = 0; i < t.columns.size(); ++i)
        if (std::find(skip.begin(), skip.end(), t.columns[i]) == skip.end()) {
            cols.push_back(static_cast<int>(i));
            s.metric_names.push_back(t.columns[i]);
        }
    const int c_ident = t.column("identified");
    using key = std::tuple<std::string, std::string, std::int64_t>;
    std::map<key, std::vector<const case_table::row*>> groups;
    std::map<std::string, int> cases;
    for (const auto& r : t.rows) {
        cases[r.case_name] = 1;
        for (const std::string& sp : {r.split, std::string("all")})
            for (const std::string& so : {r.source, std::string("all")}) {
                if (sp == "all" && so != "all") continue;
                groups[key{sp, so, r.label}].push_back(&r);
                groups[key{sp, so, 0}].push_back(&r);
            }
    }
    s.n_cases = static_cast<std::int64_t>(cases.size());
    s.n_failed = static_cast<std::int64_t>(t.failures.size());
    for (const auto& f : t.failures) s.failed.push_back(f.first);
    for (const auto& [k, rows] : groups) {
        summary_group g;
        std::tie(g.split, g.source, g.label) = k;
        g.name = g.label ? rows.front()->name : "all";
        g.n_rows = static_cast<std::int64_t>(rows.size());
        std::map<std::string, int> gc;
        for (const auto* r : rows) {
            gc[r->case_name] = 1;
            g.n_both += r->status == "both";
            g.n_missed += r->status == "missed";
            g.n_extra += r->status == "extra";
            g.n_absent += r->status == "absent";
            if (c_ident >= 0 && !std::isnan(r->values[static_cast<size_t>(c_ident)])) {
                g.n_ref_labels++;
                g.n_identified += r->values[static_cast<size_t>(c_ident)] == 1.0;
            }
        }
        g.n_cases = static_cast<std::int64_t>(gc.size());
        if (g.n_ref_labels) g.id_rate = double(g.n_identified) / double(g.n_ref_labels);
        for (int c : cols) {
            std::vector<double> v;
            v.reserve(rows.size());
            for (const auto* r : rows) v.push_back(r->values[static_cast<size_t>(c)]);
            g.metrics.push_back(detail::stats_of(v));
        }
        s.groups.push_back(std::move(g));
    }
    return s;
}

/// summary.csv: one row per group; per metric <m>_mean, <m>_std, <m>_median, <m>_n.
inline std::string to_csv(const evaluation_summary& s) {
    std::string o = "split,source,label,name,n_cases,n_both,n_missed,n_extra,n_absent,n_ref_labels,n_identified,id_rate";
    for (const auto& m : s.metric_names) o += "," + m + "_mean," + m + "_std," + m + "_median," + m + "_n";
    o += "\n";
    for (const auto& g : s.groups) {
        o += detail::csv_field(g.split) + "," + detail::csv_field(g.source) + "," + std::to_string(g.label) + "," + detail::csv_field(g.name) +
             "," + std::to_string(g.n_cases) + "," + std::to_string(g.n_both) + "," + std::to_string(g.n_missed) + "," +
             std::to_string(g.n_extra) + "," + std::to_string(g.n_absent) + "," + std::to_string(g.n_ref_labels) + "," +
             std::to_string(g.n_identified) + "," + python_float_repr(g.id_rate);
        for (const auto& m : g.metrics)
            o += "," + python_float_repr(m.mean) + "," + python_float_repr(m.stddev) + "," + python_float_repr(m.median) + "," + std::to_string(m.n);
        o += "\n";
    }
    return o;
}

namespace detail {
inline std::string jnum(double x) { return python_float_repr(x, "NaN", "Infinity"); }
inline std::string jstr(const std::string& s) {
    std::string o = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        if (static_cast<unsigned char>(c) < 0x20) continue;
        o += c;
    }
    return o + "\"";
}
}  // namespace detail

/// summary.json with the implementations named (NaN written as the bare token NaN, as Python's json does).
inline std::string to_json(const evaluation_summary& s) {
    using detail::jnum;
    using detail::jstr;
    std::string o = "{\n  \"tool\": \"ctspine evaluate\",\n  \"overlap_impl\": \"nnunet-v1\",\n  \"distance_impl\": \"medpy-0.5.2-voxel-border-c1\",\n"
                    "  \"percentile\": \"numpy-linear-pooled\",\n  \"nsd_impl\": \"deepmind-surfel\",\n  \"nsd_voxel_impl\": \"metricsreloaded-voxel-border\",\n"
                    "  \"identification\": \"verse-get_hits-mask-centroids-20mm\",\n  \"tau_mm\": [";
    for (size_t i = 0; i < s.tau_mm.size(); ++i) o += (i ? ", " : "") + jnum(s.tau_mm[i]);
    o += "],\n  \"n_cases\": " + std::to_string(s.n_cases) + ",\n  \"n_failed\": " + std::to_string(s.n_failed) + ",\n  \"failed\": [";
    for (size_t i = 0; i < s.failed.size(); ++i) o += (i ? ", " : "") + jstr(s.failed[i]);
    o += "],\n  \"groups\": [";
    for (size_t gi = 0; gi < s.groups.size(); ++gi) {
        const auto& g = s.groups[gi];
        o += std::string(gi ? "," : "") + "\n    {\"split\": " + jstr(g.split) + ", \"source\": " + jstr(g.source) + ", \"label\": " +
             std::to_string(g.label) + ", \"name\": " + jstr(g.name) + ", \"n_cases\": " + std::to_string(g.n_cases) + ", \"n_both\": " +
             std::to_string(g.n_both) + ", \"n_missed\": " + std::to_string(g.n_missed) + ", \"n_extra\": " + std::to_string(g.n_extra) +
             ", \"n_absent\": " + std::to_string(g.n_absent) + ", \"n_ref_labels\": " + std::to_string(g.n_ref_labels) +
             ", \"n_identified\": " + std::to_string(g.n_identified) + ", \"id_rate\": " + jnum(g.id_rate) + ",\n     \"metrics\": {";
        for (size_t m = 0; m < g.metrics.size(); ++m)
            o += std::string(m ? ", " : "") + jstr(s.metric_names[m]) + ": {\"mean\": " + jnum(g.metrics[m].mean) + ", \"std\": " +
                 jnum(g.metrics[m].stddev) + ", \"median\": " + jnum(g.metrics[m].median) + ", \"n\": " + std::to_string(g.metrics[m].n) + "}";
        o += "}}";
    }
    return o + "\n  ]\n}\n";
}

/// Read a whole text file.
inline std::string read_text_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw error(errc::io, "cannot open file", path);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace ctspine
