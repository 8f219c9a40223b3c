// ctspine benchmark --model MODEL_DIR --data ROOT --out DIR [--split-file data_split.txt --split test_public] [--shard I/N]
//                   [--threads N] [--labels 1-25] [--tau 1,2] [--folds ...] [--no-tta] [--step 0.5] [--isa ...] [--memory-limit 8G]
//                   [--no-cleanup] [--force]
// ctspine benchmark --merge DIR... --out DIR
//
// Run a model over a dataset split and score it: every case of the split (CTSpine1K's data_split.txt; without a split
// file, every case with a label map) that has no prediction yet is segmented into DIR/predictions/<case>.nii.gz
// (pipeline/batch.hpp: existing predictions are kept, so a stopped run is finished by starting it again; a failing
// case is reported and the rest go on), then every prediction is evaluated against its label map (evaluate/, the same
// metrics and tables as `ctspine evaluate`). Predictions of vertebra models are written in VerSe numbering (CTSpine1K's
// labels: C1 = 1 ... L5 = 24, L6 = 25) after the vertebra clean-up (--no-cleanup: raw nnU-Net labels, renumbered).
//
// Results (in DIR, or DIR/shard-I-of-N with --shard): cases.csv, failures.csv, summary.csv, summary.json (as
// `evaluate`), and benchmark.md (evaluate/benchmark_table.hpp: mean ± std Dice and HD95 per source and overall, the
// shape of the CTSpine1K paper's benchmark). Shards share DIR/predictions (each writes only its own cases) and
// `--merge DIR/shard-*-of-N --out DIR` writes exactly the files a single run writes. Exit status 3 when any case
// failed (its reason is in failures.csv, the tables hold the others), 1 on a run-time error, 2 on a usage error.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include <ctspine/dataset/ctspine1k.hpp>
#include <ctspine/dataset/layout.hpp>
#include <ctspine/evaluate/benchmark_table.hpp>
#include <ctspine/evaluate/evaluate.hpp>
#include <ctspine/evaluate/summary.hpp>
#include <ctspine/io/atomic_file.hpp>
#include <ctspine/io/nifti.hpp>
#include <ctspine/label/label_schemes.hpp>
#include <ctspine/pipeline/batch.hpp>
#include <ctspine/pipeline/segment.hpp>

#include "cli.hpp"

namespace {
namespace fs = std::filesystem;

/// One case of the benchmark: paths as found under ROOT, and why it cannot be scored (empty when it can).
struct bench_case {
    std::string name, source, split, image, label, failure;
};

/// Every case under ROOT (ctspine::scan_dataset: Hugging Face, nnU-Net raw and flat layouts), split from the split file.
std::vector<bench_case> discover(const std::string& root, const std::map<std::string, std::string>& split_map) {
    std::vector<bench_case> out;
    for (const auto& c : ctspine::scan_dataset(root, split_map).cases) out.push_back({c.name, c.source, c.split, c.image, c.label, {}});
    return out;
}

/// The five result files of a run or a merge, from the case table alone (so a merge writes the same bytes).
void write_results(const std::string& dir, ctspine::case_table& table) {
    fs::create_directories(dir);
    ctspine::sort_rows(table);
    const auto summary = ctspine::summarize(table);
    const std::string md = ctspine::benchmark_markdown(summary);
    ctspine::write_file_atomic((fs::path(dir) / "cases.csv").string(), ctspine::to_csv(table));
    ctspine::write_file_atomic((fs::path(dir) / "failures.csv").string(), ctspine::failures_csv(table));
    ctspine::write_file_atomic((fs::path(dir) / "summary.csv").string(), ctspine::to_csv(summary));
    ctspine::write_file_atomic((fs::path(dir) / "summary.json").string(), ctspine::to_json(summary));
    ctspine::write_file_atomic((fs::path(dir) / "benchmark.md").string(), md);
    std::cout << "\n" << md << "\n-> " << dir << "/{benchmark.md, summary.csv, summary.json, cases.csv, failures.csv}\n";
    for (const auto& [c, why] : table.failures) std::cerr << "failed: " << c << ": " << why << "\n";
}

int run_merge(const std::vector<std::string>& dirs, const std::string& out_dir) {
    ctspine::case_table all;
    for (const auto& d : dirs) {
        const auto cpath = fs::path(d) / "cases.csv";
        if (!fs::exists(cpath)) throw std::invalid_argument("--merge: no cases.csv in " + d);
        auto t = ctspine::parse_cases_csv(ctspine::read_text_file(cpath.string()));
        const auto fpath = fs::path(d) / "failures.csv";
        if (fs::exists(fpath)) ctspine::parse_failures_csv(ctspine::read_text_file(fpath.string()), t);
        for (const auto& f : t.failures)
            if (all.failures.count(f.first)) throw ctspine::error(ctspine::errc::invalid_argument, "merge: case '" + f.first + "' failed in two shards");
        ctspine::merge_tables(all, t);
    }
    write_results(out_dir, all);
    return all.failures.empty() ? cli::exit_ok : 3;
}

int run_benchmark(cli::args& a) {
    const auto merge = a.take_list("--merge");
    const std::string out_dir = a.value("--out");
    if (!merge.empty()) {
        auto pos = a.positional();
        if (out_dir.empty() || !pos.empty()) throw std::invalid_argument("--merge DIR... needs --out DIR and nothing else");
        return run_merge(merge, out_dir);
    }
    const std::string model = a.value("--model"), root = a.value("--data"), split_file = a.value("--split-file"), split = a.value("--split");
    const auto [si, sn] = cli::parse_shard(a.value("--shard"));
    ctspine::model_load_options lo;
    for (const auto& f : a.take_list("--folds")) lo.folds.push_back(f == "all" ? -1 : static_cast<int>(cli::to_long(f, "--folds")));
    ctspine::batch_options bo;
    bo.segment.threads = static_cast<int>(cli::to_long(a.value("--threads", "0"), "--threads"));
    if (a.flag("--no-tta")) bo.segment.mirroring = false;
    bo.segment.step_size = cli::to_double(a.value("--step", "0.5"), "--step");
    if (!(bo.segment.step_size > 0 && bo.segment.step_size <= 1)) throw std::invalid_argument("--step must be in (0, 1]");
    bo.segment.isa = cli::parse_option("--isa", [&] { return ctspine::parse_isa(a.value("--isa", "auto")); });
    const std::string mem = a.value("--memory-limit");
    if (!mem.empty()) bo.segment.memory_limit_bytes = cli::parse_size(mem, "--memory-limit");
    bo.vertebra_cleanup = !a.flag("--no-cleanup");
    bo.force = a.flag("--force");
    bo.output_scheme = ctspine::label_scheme::verse;  // CTSpine1K's numbering
    ctspine::evaluate_options eo;
    eo.labels = cli::parse_labels(a.value("--labels", "1-25"));
    eo.tau_mm = cli::parse_taus(a.value("--tau", "1,2"));
    eo.threads = bo.segment.threads;
    auto pos = a.positional();
    if (model.empty() || root.empty() || out_dir.empty() || !pos.empty())
        throw std::invalid_argument("benchmark needs --model MODEL_DIR --data ROOT --out DIR (or --merge DIR... --out DIR)");
    if (!split.empty() && split_file.empty()) throw std::invalid_argument("--split " + split + " needs --split-file FILE");
    if (!fs::is_directory(root)) throw std::invalid_argument("--data " + root + " is not a folder");
    {  // predictions inside the dataset would be found as CTs by the next scan
        const std::string r = fs::weakly_canonical(root).string() + "/", o = fs::weakly_canonical(out_dir).string() + "/";
        if (o.compare(0, r.size(), r) == 0) throw std::invalid_argument("--out " + out_dir + " must not be inside --data " + root);
    }

    // the cases: the split's (also those the split file lists but ROOT lacks), else every labelled case; by name
    std::map<std::string, std::string> split_map;
    if (!split_file.empty()) split_map = ctspine::parse_split_file(ctspine::read_text_file(split_file));
    std::map<std::string, bench_case> selected;
    for (auto& c : discover(root, split_map)) {
        c.split = split_map.empty() ? "none" : (c.split.empty() ? "unlisted" : c.split);
        if (!split.empty() ? c.split != split : c.label.empty()) continue;
        if (c.image.empty()) c.failure = "no CT image for this case under " + root;
        else if (c.label.empty()) c.failure = "no label map for this case under " + root;
        selected[c.name] = c;
    }
    if (!split.empty()) {
        std::size_t listed = 0;
        for (const auto& [name, sp] : split_map) {
            if (sp != split) continue;
            ++listed;
            if (!selected.count(name))
                selected[name] = {name, ctspine::ctspine1k_source(name), sp, {}, {}, "listed under '" + split + ":' in the split file, not found under " + root};
        }
        if (listed == 0) throw std::invalid_argument("--split " + split + ": no case of that split in " + split_file);
    }
    std::vector<bench_case> cases;
    std::size_t idx = 0;
    for (auto& [name, c] : selected)
        if (static_cast<long>(idx++ % static_cast<std::size_t>(sn)) == si) cases.push_back(c);
    const std::string results_dir =
        sn > 1 ? (fs::path(out_dir) / ("shard-" + std::to_string(si) + "-of-" + std::to_string(sn))).string() : out_dir;
    const fs::path pred_dir = fs::path(out_dir) / "predictions";
    fs::create_directories(pred_dir);
    std::cout << selected.size() << " case(s) selected" << (split.empty() ? " (every labelled case)" : " (split " + split + ")");
    if (sn > 1) std::cout << ", " << cases.size() << " in shard " << si << "/" << sn;
    std::cout << "\n";

    // 1. segment what has no prediction yet
    ctspine::case_table table;
    table.tau_mm = eo.tau_mm;
    table.columns = ctspine::case_table_columns(eo.tau_mm);
    std::vector<ctspine::batch_job> jobs;
    std::vector<const bench_case*> job_case;
    for (const auto& c : cases) {
        if (!c.failure.empty()) {
            table.failures[c.name] = c.failure;
            std::cerr << "failed: " << c.name << ": " << c.failure << "\n";
            continue;
        }
        jobs.push_back({c.image, (pred_dir / (c.name + ".nii.gz")).string()});
        job_case.push_back(&c);
    }
    const bool tty = isatty(fileno(stderr)) != 0;
    if (tty)
        bo.progress = [&](std::size_t i, double f, std::string_view stage) {
            std::cerr << "\r[" << i + 1 << "/" << jobs.size() << "] " << job_case[i]->name << " " << stage << " " << static_cast<int>(f * 100)
                      << "%   " << std::flush;
            return true;
        };
    bo.on_result = [&](std::size_t i, const ctspine::batch_result& r) {
        if (tty && r.status != ctspine::batch_status::skipped) std::cerr << "\n";
        if (r.status == ctspine::batch_status::done)
            std::cout << "segmented " << job_case[i]->name << " (" << std::fixed << std::setprecision(1) << r.seconds << " s)\n" << std::defaultfloat;
        else if (r.status == ctspine::batch_status::skipped)
            std::cout << "prediction exists: " << job_case[i]->name << "\n";
        else
            std::cerr << "failed: " << job_case[i]->name << ": " << r.reason << "\n";
        std::cout << std::flush;
    };
    ctspine::batch_summary bs;
    if (!jobs.empty()) {
        const ctspine::segmenter seg(model, lo);
        bs = ctspine::run_segment_batch(seg, jobs, bo);
    }

    // 2. evaluate every prediction against its label map
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        const bench_case& c = *job_case[i];
        if (bs.results[i].status == ctspine::batch_status::failed) {
            table.failures[c.name] = bs.results[i].reason;
            continue;
        }
        try {
            ctspine::nifti_read_options ro;
            ro.apply_scaling = false;
            ro.threads = eo.threads;
            const auto ref = ctspine::read_nifti<std::uint16_t>(c.label, ro);
            const auto pred = ctspine::read_nifti<std::uint16_t>(jobs[i].output, ro);
            const auto ev = ctspine::evaluate<std::uint16_t, std::uint16_t>(ref.view(), pred.view(), eo);
            // the prediction named relative to DIR, so that tables of shards and of a single run agree
            ctspine::append_case(table, c.name, c.source, c.split, ev, ctspine::label_scheme::verse, c.label, "predictions/" + c.name + ".nii.gz");
            std::cout << "evaluated " << c.name << ": " << ev.n_both << " vertebrae in both, " << ev.n_missed << " missed, " << ev.n_extra << " extra\n";
        } catch (const std::exception& e) {
            table.failures[c.name] = std::string("evaluation: ") + e.what();
            std::cerr << "failed: " << c.name << ": evaluation: " << e.what() << "\n";
        }
    }
    write_results(results_dir, table);
    return table.failures.empty() ? cli::exit_ok : 3;
}

CTSPINE_CLI_COMMAND("benchmark", "segment a dataset split with a model and score it: the CTSpine1K-style benchmark table",
                    "ctspine benchmark --model MODEL_DIR --data ROOT --out DIR [--split-file data_split.txt --split test_public] "
                    "[--shard I/N] [--threads N] [--labels 1-25] [--tau 1,2] [--folds ...] [--no-tta] [--step 0.5] "
                    "[--isa auto|avx512|avx2|generic] [--memory-limit 8G] [--no-cleanup] [--force]\n"
                    "  merge shards: ctspine benchmark --merge DIR/shard-*-of-N --out DIR\n"
                    "  predictions go to DIR/predictions/, results to DIR (DIR/shard-I-of-N with --shard); exit status 3 when a case failed",
                    run_benchmark);

}  // namespace
