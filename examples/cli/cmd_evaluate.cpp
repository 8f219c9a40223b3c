// ctspine evaluate REF PRED [--labels 1-25] [--tau 1,2] [--json F] [--csv F] [--threads N] [--pred-scheme S] [--resample]
// ctspine evaluate --ref DIR --pred DIR --out DIR [--labels 1-25] [--tau 1,2] [--split FILE] [--threads N] [--shard I/N]
// ctspine evaluate --merge DIR... --out DIR
// Score segmentations against references per label: nnU-Net v1 overlap, medpy 0.5.2 surface distances, DeepMind
// surface Dice, VerSe identification (see include/ctspine/evaluate/).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include <ctspine/evaluate/evaluate.hpp>
#include <ctspine/evaluate/nnunet_summary.hpp>
#include <ctspine/evaluate/summary.hpp>
#include <ctspine/io/nifti.hpp>
#include <ctspine/label/label_schemes.hpp>

#include "cli.hpp"

namespace fs = std::filesystem;

namespace {

std::string fmt(double x, int prec = 4) {
    if (std::isnan(x)) return "-";
    std::ostringstream o;
    o << std::fixed << std::setprecision(prec) << x;
    return o.str();
}

struct common_options {
    ctspine::evaluate_options eo;
    std::string format = "ctspine";  ///< what summary.json holds: ctspine | nnunet-v1 | nnunet-v2
    bool advanced = false;           ///< nnunet-v1: add "Hausdorff Distance 95"
    ctspine::label_scheme ref_scheme = ctspine::label_scheme::verse;
    std::optional<ctspine::label_scheme> pred_scheme;
};

ctspine::volume<std::uint16_t> read_labels(const std::string& path, int threads) {
    ctspine::nifti_read_options ro;
    ro.apply_scaling = false;
    ro.threads = threads;
    return ctspine::read_nifti<std::uint16_t>(path, ro);
}

ctspine::case_evaluation evaluate_files(const std::string& ref_path, const std::string& pred_path, const common_options& co) {
    const auto ref = read_labels(ref_path, co.eo.threads);
    auto pred = read_labels(pred_path, co.eo.threads);
    if (co.pred_scheme && *co.pred_scheme != co.ref_scheme)
        ctspine::convert_label_scheme<std::uint16_t>(pred.view(), *co.pred_scheme, co.ref_scheme, false, co.eo.threads);
    return ctspine::evaluate<std::uint16_t, std::uint16_t>(ref.view(), pred.view(), co.eo);
}

std::string case_json(const ctspine::case_evaluation& ev, ctspine::label_scheme scheme) {
    using ctspine::detail::jnum;
    using ctspine::detail::jstr;
    std::string o = "{\n  \"distance_impl\": \"medpy-0.5.2-voxel-border-c1\",\n  \"nsd_impl\": \"deepmind-surfel\",\n  \"spacing_mm\": [" +
                    jnum(ev.grid.spacing_mm[0]) + ", " + jnum(ev.grid.spacing_mm[1]) + ", " + jnum(ev.grid.spacing_mm[2]) +
                    "],\n  \"prediction_resampled\": " + (ev.prediction_resampled ? "true" : "false") + ",\n  \"n_both\": " +
                    std::to_string(ev.n_both) + ", \"n_missed\": " + std::to_string(ev.n_missed) + ", \"n_extra\": " + std::to_string(ev.n_extra) +
                    ", \"n_absent\": " + std::to_string(ev.n_absent) + ", \"n_ref_labels\": " + std::to_string(ev.n_ref_labels) +
                    ", \"n_identified\": " + std::to_string(ev.n_identified) + ",\n  \"labels\": [";
    for (size_t i = 0; i < ev.labels.size(); ++i) {
        const auto& e = ev.labels[i];
        const auto& d = e.distance;
        o += std::string(i ? "," : "") + "\n    {\"label\": " + std::to_string(e.label) + ", \"name\": " + jstr(ctspine::label_name(scheme, e.label)) +
             ", \"status\": \"" + ctspine::label_status_name(e.status) + "\", \"tp\": " + std::to_string(e.counts.tp) + ", \"fp\": " +
             std::to_string(e.counts.fp) + ", \"fn\": " + std::to_string(e.counts.fn) + ", \"tn\": " + std::to_string(e.counts.tn) +
             ", \"vol_ref_mm3\": " + jnum(e.vol_ref_mm3) + ", \"vol_pred_mm3\": " + jnum(e.vol_pred_mm3) + ", \"dice\": " + jnum(e.dice) +
             ", \"iou\": " + jnum(e.iou) + ", \"precision\": " + jnum(e.precision) + ", \"recall\": " + jnum(e.recall) + ", \"rvd\": " +
             jnum(e.rvd) + ", \"hd\": " + jnum(d.hd) + ", \"hd95\": " + jnum(d.hd95) + ", \"hd95_dirmax\": " + jnum(d.hd95_dirmax) +
             ", \"asd_pred_ref\": " + jnum(d.asd_pred_ref) + ", \"asd_ref_pred\": " + jnum(d.asd_ref_pred) + ", \"assd\": " + jnum(d.assd) +
             ", \"masd\": " + jnum(d.masd);
        for (size_t t = 0; t < ev.tau_mm.size(); ++t) o += ", \"nsd@" + ctspine::tau_name(ev.tau_mm[t]) + "\": " + jnum(e.nsd[t]);
        for (size_t t = 0; t < ev.tau_mm.size(); ++t) o += ", \"nsd_voxel@" + ctspine::tau_name(ev.tau_mm[t]) + "\": " + jnum(e.nsd_voxel[t]);
        o += ", \"centroid_ref_mm\": [" + jnum(e.centroid_ref_mm[0]) + ", " + jnum(e.centroid_ref_mm[1]) + ", " + jnum(e.centroid_ref_mm[2]) +
             "], \"centroid_pred_mm\": [" + jnum(e.centroid_pred_mm[0]) + ", " + jnum(e.centroid_pred_mm[1]) + ", " + jnum(e.centroid_pred_mm[2]) +
             "], \"centroid_dist_mm\": " + jnum(e.centroid_dist_mm) + ", \"identified\": " + jnum(e.identified) + "}";
    }
    return o + "\n  ]\n}\n";
}

void print_case(const ctspine::case_evaluation& ev, ctspine::label_scheme scheme) {
    std::cout << std::left << std::setw(7) << "label" << std::setw(8) << "name" << std::setw(8) << "status" << std::right << std::setw(8)
              << "dice" << std::setw(9) << "hd95" << std::setw(8) << "assd";
    for (double t : ev.tau_mm) std::cout << std::setw(9) << ("nsd@" + ctspine::tau_name(t));
    std::cout << std::setw(11) << "identified" << "\n";
    for (const auto& e : ev.labels) {
        std::cout << std::left << std::setw(7) << e.label << std::setw(8) << ctspine::label_name(scheme, e.label) << std::setw(8)
                  << ctspine::label_status_name(e.status) << std::right << std::setw(8) << fmt(e.dice) << std::setw(9) << fmt(e.distance.hd95, 3)
                  << std::setw(8) << fmt(e.distance.assd, 3);
        for (double x : e.nsd) std::cout << std::setw(9) << fmt(x);
        std::cout << std::setw(11) << (std::isnan(e.identified) ? "-" : (e.identified == 1.0 ? "yes" : "no")) << "\n";
    }
    // case summary: means over defined values, with what they leave out said beside them
    auto mean_of = [&](auto get) {
        double s = 0;
        int n = 0;
        for (const auto& e : ev.labels) {
            const double x = get(e);
            if (!std::isnan(x)) s += x, ++n;
        }
        return std::make_pair(n ? s / n : std::nan(""), n);
    };
    const auto dice = mean_of([](const ctspine::label_evaluation& e) { return e.dice; });
    const auto hd95 = mean_of([](const ctspine::label_evaluation& e) { return e.distance.hd95; });
    const auto assd = mean_of([](const ctspine::label_evaluation& e) { return e.distance.assd; });
    std::cout << "labels: " << ev.n_both << " in both, " << ev.n_missed << " missed, " << ev.n_extra << " extra, " << ev.n_absent << " absent\n"
              << "mean Dice " << fmt(dice.first) << " over " << dice.second << " labels (missed and extra count as 0)\n"
              << "mean HD95 " << fmt(hd95.first, 3) << " mm, mean ASSD " << fmt(assd.first, 3) << " mm over " << hd95.second
              << " labels in both (" << ev.n_missed << " missed and " << ev.n_extra << " extra have no distance)\n";
    for (size_t t = 0; t < ev.tau_mm.size(); ++t) {
        const auto nsd = mean_of([t](const ctspine::label_evaluation& e) { return e.nsd[t]; });
        std::cout << "mean NSD@" << ctspine::tau_name(ev.tau_mm[t]) << " mm " << fmt(nsd.first) << " over " << nsd.second << " labels\n";
    }
    std::cout << "identification rate " << ev.n_identified << "/" << ev.n_ref_labels << " (VerSe rule, mask centroids, <= "
              << "20 mm)\n";
}

void write_folder_outputs(const std::string& out_dir, ctspine::case_table& table, const common_options& co) {
    fs::create_directories(out_dir);
    ctspine::sort_rows(table);
    const auto summary = ctspine::summarize(table);
    ctspine::write_file_atomic((fs::path(out_dir) / "cases.csv").string(), ctspine::to_csv(table));
    ctspine::write_file_atomic((fs::path(out_dir) / "failures.csv").string(), ctspine::failures_csv(table));
    ctspine::write_file_atomic((fs::path(out_dir) / "summary.csv").string(), ctspine::to_csv(summary));
    std::string json;
    if (co.format == "nnunet-v1") json = ctspine::nnunet_v1_summary_json(table, co.advanced, ctspine::python_timestamp_now());
    else if (co.format == "nnunet-v2") json = ctspine::nnunet_v2_summary_json(table);
    else json = ctspine::to_json(summary);
    ctspine::write_file_atomic((fs::path(out_dir) / "summary.json").string(), json);
    std::cout << summary.n_cases << " case(s) evaluated, " << summary.n_failed << " failed -> " << out_dir << "\n";
    for (const auto& g : summary.groups)
        if (g.source == "all" && g.split == "all" && g.label == 0) {
            const int di = [&] {
                for (size_t i = 0; i < summary.metric_names.size(); ++i)
                    if (summary.metric_names[i] == "dice") return static_cast<int>(i);
                return 0;
            }();
            std::cout << "all labels: mean Dice " << fmt(g.metrics[static_cast<size_t>(di)].mean) << " (n " << g.metrics[static_cast<size_t>(di)].n
                      << "), missed " << g.n_missed << ", extra " << g.n_extra << ", identification rate " << fmt(g.id_rate) << "\n";
        }
}

bool has_suffix(const std::string& s, const std::string& suf) {
    return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
}

std::map<std::string, std::string> list_cases(const std::string& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        const std::string n = e.path().filename().string();
        if (!e.is_regular_file() || !(has_suffix(n, ".nii.gz") || has_suffix(n, ".nii"))) continue;
        const std::string c = ctspine::case_name_of(n);
        if (out.count(c)) throw std::invalid_argument("two files of case '" + c + "' in " + dir);
        out[c] = e.path().string();
    }
    return out;
}

int run_folder(const std::string& ref_dir, const std::string& pred_dir, const std::string& out_dir, const std::string& split_file,
               const std::string& shard, const common_options& co) {
    std::map<std::string, std::string> split;
    if (!split_file.empty()) split = ctspine::parse_split_file(ctspine::read_text_file(split_file));
    const auto [si, sn] = cli::parse_shard(shard);
    const auto refs = list_cases(ref_dir);
    const auto preds = list_cases(pred_dir);
    ctspine::case_table table;
    table.tau_mm = co.eo.tau_mm;
    table.columns = ctspine::case_table_columns(co.eo.tau_mm);
    std::vector<std::pair<std::string, std::string>> jobs;
    size_t idx = 0;
    for (const auto& [c, path] : refs) {
        if (static_cast<long>(idx++ % static_cast<size_t>(sn)) != si) continue;
        jobs.emplace_back(c, path);
    }
    const bool tty = isatty(fileno(stderr)) != 0;
    size_t done = 0;
    for (const auto& [c, ref_path] : jobs) {
        if (tty) std::cerr << "\r[" << ++done << "/" << jobs.size() << "] " << c << "            " << std::flush;
        const auto sp = split.find(c);
        const std::string split_name = split.empty() ? "none" : (sp == split.end() ? "unlisted" : sp->second);
        const auto pit = preds.find(c);
        if (pit == preds.end()) {
            table.failures[c] = "no prediction";
            continue;
        }
        try {
            const auto ev = evaluate_files(ref_path, pit->second, co);
            ctspine::append_case(table, c, ctspine::ctspine1k_source(c), split_name, ev, co.ref_scheme, ref_path, pit->second);
        } catch (const std::exception& e) {
            table.failures[c] = e.what();
        }
    }
    if (tty) std::cerr << "\n";
    for (const auto& [c, why] : table.failures) std::cerr << "failed: " << c << ": " << why << "\n";
    write_folder_outputs(out_dir, table, co);
    return table.failures.empty() ? 0 : 3;
}

int run_merge(const std::vector<std::string>& dirs, const std::string& out_dir, const common_options& co) {
    ctspine::case_table all;
    for (const auto& d : dirs) {
        auto t = ctspine::parse_cases_csv(ctspine::read_text_file((fs::path(d) / "cases.csv").string()));
        const auto fpath = fs::path(d) / "failures.csv";
        if (fs::exists(fpath)) ctspine::parse_failures_csv(ctspine::read_text_file(fpath.string()), t);
        ctspine::merge_tables(all, t);
    }
    write_folder_outputs(out_dir, all, co);
    return all.failures.empty() ? 0 : 3;
}

int run_evaluate(cli::args& a) {
    common_options co;
    const std::string labels = a.value("--labels"), taus = a.value("--tau", "1,2");
    co.eo.tau_mm = cli::parse_taus(taus);
    if (!labels.empty()) co.eo.labels = cli::parse_labels(labels);
    co.eo.threads = static_cast<int>(cli::to_long(a.value("--threads", "0"), "--threads"));
    co.eo.resample_prediction = a.flag("--resample");
    co.format = a.value("--format", "ctspine");
    co.advanced = a.flag("--advanced");
    if (co.format != "ctspine" && co.format != "nnunet-v1" && co.format != "nnunet-v2")
        throw std::invalid_argument("--format: ctspine, nnunet-v1 or nnunet-v2");
    co.ref_scheme = ctspine::parse_label_scheme(a.value("--ref-scheme", "verse"));
    const std::string ps = a.value("--pred-scheme");
    if (!ps.empty()) co.pred_scheme = ctspine::parse_label_scheme(ps);
    const std::string json = a.value("--json"), csv = a.value("--csv");
    const std::string ref_dir = a.value("--ref"), pred_dir = a.value("--pred"), out_dir = a.value("--out");
    const std::string split = a.value("--split"), shard = a.value("--shard");
    const auto merge = a.take_list("--merge");
    auto pos = a.positional();
    if (!merge.empty()) {
        if (out_dir.empty() || !pos.empty()) throw std::invalid_argument("--merge DIR... needs --out DIR and no positional files");
        return run_merge(merge, out_dir, co);
    }
    if (!ref_dir.empty() || !pred_dir.empty() || !out_dir.empty()) {
        if (ref_dir.empty() || pred_dir.empty() || out_dir.empty() || !pos.empty())
            throw std::invalid_argument("folder mode needs --ref DIR --pred DIR --out DIR and no positional files");
        return run_folder(ref_dir, pred_dir, out_dir, split, shard, co);
    }
    if (pos.size() != 2) throw std::invalid_argument("expected REF and PRED label maps");
    const auto ev = evaluate_files(pos[0], pos[1], co);
    print_case(ev, co.ref_scheme);
    if (!json.empty()) ctspine::write_file_atomic(json, case_json(ev, co.ref_scheme));
    if (!csv.empty()) {
        ctspine::case_table t;
        const std::string c = ctspine::case_name_of(pos[1]);
        ctspine::append_case(t, c, ctspine::ctspine1k_source(c), "none", ev, co.ref_scheme, pos[0], pos[1]);
        ctspine::write_file_atomic(csv, ctspine::to_csv(t));
    }
    return 0;
}

CTSPINE_CLI_COMMAND("evaluate", "score segmentations against references per label (Dice, HD95, ASSD, NSD, identification)",
                    "ctspine evaluate REF PRED [--labels 1-25] [--tau 1,2] [--json F] [--csv F] [--threads N] [--ref-scheme verse] "
                    "[--pred-scheme totalseg] [--resample]\n"
                    "  folders: ctspine evaluate --ref DIR --pred DIR --out DIR [--labels 1-25] [--tau 1,2] [--split data_split.txt] "
                    "[--threads N] [--shard I/N] [--format ctspine|nnunet-v1|nnunet-v2] [--advanced]\n"
                    "  merge shards: ctspine evaluate --merge DIR... --out DIR [--format ...]",
                    run_evaluate);

}  // namespace
