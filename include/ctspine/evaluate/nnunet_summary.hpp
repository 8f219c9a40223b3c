// ctspine — nnU-Net's own summary.json layouts, built from a case table, so existing scripts keep working:
//  * v1 (`nnUNet_evaluate_folder`, MIC-DKFZ/nnUNet v1.7.1 nnunet/evaluation/evaluator.py aggregate_scores +
//    batchgenerators save_json(indent=4, sort_keys=True)): {"author", "description", "id", "name", "results": {"all":
//    [per case: {"<label>": {13 metrics (+ "Hausdorff Distance 95" with advanced)}, "reference", "test"}], "mean":
//    {"<label>": {...}}}, "task", "timestamp"}. Metrics with v1's formulas and NaN rules (overlap.hpp), means with
//    np.nanmean (pairwise sum), "Total Positives" ints per case and floats in the mean. Identical to nnU-Net's file
//    except "id" (an md5 over a dict holding the timestamp in nnU-Net; a content hash here) and "timestamp".
//  * v2 (nnunetv2/evaluation/evaluate_predictions.py compute_metrics_on_folder + save_summary_json): {"foreground_mean":
//    {...}, "mean": {"<label>": {"Dice", "FN", "FP", "IoU", "TN", "TP", "n_pred", "n_ref"}}, "metric_per_case":
//    [{"metrics": {...}, "prediction_file", "reference_file"}]}; foreground_mean = np.mean over the label means (NaN
//    propagates, as in v2). Regions and ignore labels are not produced.
// Floats are written as Python's repr, NaN as the bare token NaN, keys sorted as strings, indent 4 (json.dumps).
#pragma once
#include <cmath>
#include <cstdint>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/evaluate/overlap.hpp"
#include "ctspine/evaluate/summary.hpp"

namespace ctspine {

namespace detail {

/// A JSON value printed the way Python's json.dumps(indent=4, sort_keys=True) prints it.
struct pyjson {
    enum class kind { number_int, number_float, string, array, object } k = kind::object;
    std::int64_t i = 0;
    double f = 0;
    std::string s;
    std::vector<pyjson> a;
    std::map<std::string, pyjson> o;  // std::map orders keys as Python's sort_keys does (code points, for ASCII)
    static pyjson integer(std::int64_t v) { pyjson j; j.k = kind::number_int; j.i = v; return j; }
    static pyjson real(double v) { pyjson j; j.k = kind::number_float; j.f = v; return j; }
    static pyjson str(std::string v) { pyjson j; j.k = kind::string; j.s = std::move(v); return j; }
    static pyjson array() { pyjson j; j.k = kind::array; return j; }
    static pyjson object() { return pyjson{}; }
};

inline std::string py_json_string(const std::string& s) {
    std::string o = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': o += "\\\""; break;
            case '\\': o += "\\\\"; break;
            case '\n': o += "\\n"; break;
            case '\r': o += "\\r"; break;
            case '\t': o += "\\t"; break;
            case '\b': o += "\\b"; break;
            case '\f': o += "\\f"; break;
            default:
                if (c < 0x20 || c >= 0x7f) {  // ensure_ascii (bytes ≥ 0x80 of UTF-8 are escaped one by one here)
                    char b[8];
                    std::snprintf(b, sizeof b, "\\u%04x", c);
                    o += b;
                } else {
                    o += static_cast<char>(c);
                }
        }
    }
    return o + "\"";
}

inline void py_json_dump(const pyjson& j, int indent, std::string& out) {
    const std::string pad(static_cast<size_t>(indent + 4), ' '), pad0(static_cast<size_t>(indent), ' ');
    switch (j.k) {
        case pyjson::kind::number_int: out += std::to_string(j.i); return;
        case pyjson::kind::number_float: out += python_float_repr(j.f, "NaN", "Infinity"); return;
        case pyjson::kind::string: out += py_json_string(j.s); return;
        case pyjson::kind::array:
            if (j.a.empty()) {
                out += "[]";
                return;
            }
            out += "[\n";
            for (size_t n = 0; n < j.a.size(); ++n) {
                out += pad;
                py_json_dump(j.a[n], indent + 4, out);
                out += n + 1 < j.a.size() ? ",\n" : "\n";
            }
            out += pad0 + "]";
            return;
        case pyjson::kind::object:
            if (j.o.empty()) {
                out += "{}";
                return;
            }
            out += "{\n";
            {
                size_t n = 0;
                for (const auto& [key, v] : j.o) {
                    out += pad + py_json_string(key) + ": ";
                    py_json_dump(v, indent + 4, out);
                    out += ++n < j.o.size() ? ",\n" : "\n";
                }
            }
            out += pad0 + "}";
            return;
    }
}

inline std::string py_json(const pyjson& j) {
    std::string out;
    py_json_dump(j, 0, out);
    return out;
}

/// np.nanmean of a list (NaN → 0 in place, pairwise sum, ÷ count of non-NaN; NaN when all are NaN).
inline double numpy_nanmean(const std::vector<double>& v) {
    std::vector<double> z(v.size());
    size_t n = 0;
    for (size_t i = 0; i < v.size(); ++i) {
        z[i] = std::isnan(v[i]) ? 0.0 : v[i];
        n += !std::isnan(v[i]);
    }
    if (n == 0) return std::numeric_limits<double>::quiet_NaN();
    return numpy_pairwise_sum(z.data(), z.size()) / double(n);
}

inline overlap_counts row_counts(const case_table& t, const case_table::row& r) {
    auto at = [&](const char* c) {
        const int i = t.column(c);
        if (i < 0) throw error(errc::invalid_argument, std::string("nnU-Net summary: case table lacks column ") + c);
        return static_cast<std::int64_t>(r.values[static_cast<size_t>(i)]);
    };
    overlap_counts c;
    c.tp = at("tp");
    c.fp = at("fp");
    c.fn = at("fn");
    c.tn = at("tn");
    return c;
}

/// Python's os.path.join(folder, name) for the "reference"/"test" fields.
inline std::string py_path_join(const std::string& dir, const std::string& name) {
    if (dir.empty() || dir.back() == '/') return dir + name;
    return dir + "/" + name;
}

/// Cases in the table's canonical order, each with its rows (labels ascending).
inline std::vector<std::vector<const case_table::row*>> rows_by_case(const case_table& t) {
    std::vector<const case_table::row*> rows;
    for (const auto& r : t.rows) rows.push_back(&r);
    std::stable_sort(rows.begin(), rows.end(), [](const case_table::row* a, const case_table::row* b) { return row_less(*a, *b); });
    std::vector<std::vector<const case_table::row*>> out;
    for (const auto* r : rows) {
        if (out.empty() || out.back().front()->case_name != r->case_name) out.emplace_back();
        out.back().push_back(r);
    }
    return out;
}

inline std::string content_id(const std::string& text) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
    char b[17];
    std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(h));
    return std::string(b, 12);
}

}  // namespace detail

/// nnU-Net v1 summary.json from a case table (labels: every label of the table). `advanced` adds "Hausdorff Distance
/// 95" (medpy hd95, = the table's hd95). `timestamp` as Python prints datetime ("YYYY-MM-DD HH:MM:SS.ffffff").
inline std::string nnunet_v1_summary_json(const case_table& t, bool advanced, const std::string& timestamp) {
    using detail::pyjson;
    const int c_hd95 = t.column("hd95");
    pyjson all = pyjson::array();
    std::map<std::string, std::map<std::string, std::vector<double>>> per_label;  // label → metric → values over cases
    for (const auto& rows : detail::rows_by_case(t)) {
        pyjson c = pyjson::object();
        for (const auto* r : rows) {
            const overlap_counts k = detail::row_counts(t, *r);
            std::map<std::string, double> m{{"Accuracy", overlap::accuracy(k)},
                                            {"Dice", overlap::dice(k)},
                                            {"False Discovery Rate", overlap::false_discovery_rate(k)},
                                            {"False Negative Rate", overlap::false_negative_rate(k)},
                                            {"False Omission Rate", overlap::false_omission_rate(k)},
                                            {"False Positive Rate", overlap::false_positive_rate(k)},
                                            {"Jaccard", overlap::iou(k)},
                                            {"Negative Predictive Value", overlap::negative_predictive_value(k)},
                                            {"Precision", overlap::precision(k)},
                                            {"Recall", overlap::recall(k)},
                                            {"True Negative Rate", overlap::true_negative_rate(k)}};
            if (advanced) m["Hausdorff Distance 95"] = c_hd95 >= 0 ? r->values[static_cast<size_t>(c_hd95)] : std::nan("");
            pyjson lab = pyjson::object();
            const std::string key = std::to_string(r->label);
            for (const auto& [name, v] : m) {
                lab.o[name] = pyjson::real(v);
                per_label[key][name].push_back(v);
            }
            lab.o["Total Positives Reference"] = pyjson::integer(k.n_ref());
            lab.o["Total Positives Test"] = pyjson::integer(k.n_pred());
            per_label[key]["Total Positives Reference"].push_back(double(k.n_ref()));
            per_label[key]["Total Positives Test"].push_back(double(k.n_pred()));
            c.o[key] = lab;
        }
        c.o["reference"] = pyjson::str(rows.front()->ref_file);
        c.o["test"] = pyjson::str(rows.front()->pred_file);
        all.a.push_back(c);
    }
    pyjson mean = pyjson::object();
    for (const auto& [label, metrics] : per_label) {
        pyjson lab = pyjson::object();
        for (const auto& [name, vals] : metrics) lab.o[name] = pyjson::real(detail::numpy_nanmean(vals));
        mean.o[label] = lab;
    }
    pyjson root = pyjson::object();
    root.o["author"] = pyjson::str("Fabian");
    root.o["description"] = pyjson::str("");
    root.o["name"] = pyjson::str("");
    root.o["task"] = pyjson::str("");
    root.o["timestamp"] = pyjson::str(timestamp);
    pyjson results = pyjson::object();
    results.o["all"] = all;
    results.o["mean"] = mean;
    root.o["results"] = results;
    root.o["id"] = pyjson::str(detail::content_id(detail::py_json(results)));
    return detail::py_json(root);
}

/// nnU-Net v2 summary.json from a case table (labels: every label of the table).
inline std::string nnunet_v2_summary_json(const case_table& t) {
    using detail::pyjson;
    pyjson per_case = pyjson::array();
    std::map<std::int64_t, std::map<std::string, std::vector<double>>> per_label;
    for (const auto& rows : detail::rows_by_case(t)) {
        pyjson c = pyjson::object(), metrics = pyjson::object();
        for (const auto* r : rows) {
            const overlap_counts k = detail::row_counts(t, *r);
            const bool empty = k.tp + k.fp + k.fn == 0;
            const double dice = empty ? std::nan("") : 2.0 * double(k.tp) / double(2 * k.tp + k.fp + k.fn);
            const double iou = empty ? std::nan("") : double(k.tp) / double(k.tp + k.fp + k.fn);
            pyjson lab = pyjson::object();
            lab.o["Dice"] = pyjson::real(dice);
            lab.o["IoU"] = pyjson::real(iou);
            const std::pair<const char*, std::int64_t> ints[] = {{"FN", k.fn}, {"FP", k.fp}, {"TN", k.tn}, {"TP", k.tp},
                                                                 {"n_pred", k.n_pred()}, {"n_ref", k.n_ref()}};
            for (const auto& [name, v] : ints) {
                lab.o[name] = pyjson::integer(v);
                per_label[r->label][name].push_back(double(v));
            }
            per_label[r->label]["Dice"].push_back(dice);
            per_label[r->label]["IoU"].push_back(iou);
            metrics.o[std::to_string(r->label)] = lab;
        }
        c.o["metrics"] = metrics;
        c.o["prediction_file"] = pyjson::str(rows.front()->pred_file);
        c.o["reference_file"] = pyjson::str(rows.front()->ref_file);
        per_case.a.push_back(c);
    }
    pyjson mean = pyjson::object(), fg = pyjson::object();
    std::map<std::string, std::vector<double>> label_means;  // metric → per-label means in label order (v2's loop order)
    for (const auto& [label, metrics] : per_label) {
        pyjson lab = pyjson::object();
        for (const auto& [name, vals] : metrics) {
            const double m = detail::numpy_nanmean(vals);
            lab.o[name] = pyjson::real(m);
            if (label != 0) label_means[name].push_back(m);
        }
        mean.o[std::to_string(label)] = lab;
    }
    for (const auto& [name, vals] : label_means)
        fg.o[name] = pyjson::real(detail::numpy_pairwise_sum(vals.data(), vals.size()) / double(vals.size()));  // np.mean
    pyjson root = pyjson::object();
    root.o["foreground_mean"] = fg;
    root.o["mean"] = mean;
    root.o["metric_per_case"] = per_case;
    return detail::py_json(root);
}

/// Local time as Python's str(datetime.now()) prints it (microseconds are 0 here).
inline std::string python_timestamp_now() {
    const std::time_t now = std::time(nullptr);
    std::tm tmv{};
#if defined(_WIN32)
    localtime_s(&tmv, &now);
#else
    localtime_r(&now, &tmv);
#endif
    char b[40];
    std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S.000000", &tmv);
    return b;
}

}  // namespace ctspine
