// ctspine dataset index ROOT [--split FILE] [--out DIR] [--check] [--header-only] [--threads N] [--tolerance MM]
// ctspine dataset to-nnunet ROOT OUT --id N --name NAME [--split FILE] [--threads N] [--copy] [--tolerance MM] [--no-verify]
// A spine-CT dataset on disk (CTSpine1K's Hugging Face copy, an nnU-Net raw dataset, or flat case/case_seg files):
// index its headers, check it case by case, or write it as an nnU-Net v2 raw dataset (include/ctspine/dataset/).
// Exit status: 0 done and clean, 3 done but some case has an error (unreadable file, error finding, failed export),
// 1 a run-time failure, 2 a usage error.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include <ctspine/dataset/check.hpp>
#include <ctspine/dataset/ctspine1k.hpp>
#include <ctspine/dataset/index.hpp>
#include <ctspine/dataset/layout.hpp>
#include <ctspine/dataset/nnunet_export.hpp>
#include <ctspine/io/atomic_file.hpp>

#include "cli.hpp"

namespace fs = std::filesystem;

namespace {

constexpr int exit_case_errors = 3;

const char* const usage_text =
    "ctspine dataset index ROOT [--split FILE] [--out DIR] [--check] [--header-only] [--threads N] [--tolerance MM]\n"
    "       ctspine dataset to-nnunet ROOT OUT --id N --name NAME [--split FILE] [--threads N] [--copy] [--tolerance MM] [--no-verify]\n"
    "  index: index.csv / index.json (headers only) into --out (default: the current folder) and a source x split table;\n"
    "         --check adds findings.csv / findings_summary.csv (voxel checks; --header-only: header checks only)\n"
    "  to-nnunet: OUT/DatasetNNN_NAME (imagesTr, labelsTr, imagesTs, labelsTs, dataset.json); test splits go to imagesTs\n"
    "  exit status 3: finished, but some case has an error (see findings.csv / the log)";

/// A progress callback drawing "[stage] 42%" on stderr when it is a terminal.
ctspine::progress_fn terminal_progress() {
    if (!isatty(fileno(stderr))) return {};
    return [](double f, std::string_view stage) {
        std::fprintf(stderr, "\r%.*s %3d%%", static_cast<int>(stage.size()), stage.data(), static_cast<int>(f * 100 + 0.5));
        if (f >= 1) std::fprintf(stderr, "\n");
        std::fflush(stderr);
        return true;
    };
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_index(cli::args& a) {
    const std::string split_file = a.value("--split"), out = a.value("--out", ".");
    const bool check = a.flag("--check"), header_only = a.flag("--header-only");
    const int threads = static_cast<int>(cli::to_long(a.value("--threads", "0"), "--threads"));
    const double tol = cli::to_double(a.value("--tolerance", "0.01"), "--tolerance");
    if (!(tol >= 0)) throw std::invalid_argument("--tolerance: must be >= 0 mm");
    if (header_only && !check) throw std::invalid_argument("--header-only goes with --check");
    const auto pos = a.positional();
    if (pos.size() != 1) throw std::invalid_argument("dataset index needs ROOT");
    std::map<std::string, std::string> split;
    if (!split_file.empty()) split = ctspine::read_split_file(split_file);

    const auto t0 = std::chrono::steady_clock::now();
    const ctspine::dataset_layout layout = ctspine::scan_dataset(pos[0], split);
    ctspine::index_options io;
    io.threads = threads;
    io.progress = terminal_progress();
    const ctspine::dataset_index idx = ctspine::index_dataset(layout, io);
    ctspine::write_index(out, idx);
    const double t_index = seconds_since(t0);
    std::size_t unreadable = 0;
    for (const auto& r : idx.records) unreadable += (r.image_info.present && !r.image_info.readable) + (r.label_info.present && !r.label_info.readable);
    std::cout << pos[0] << ": " << layout.kind << " layout, " << idx.records.size() << " cases, headers read in " << t_index << " s\n"
              << ctspine::format_case_counts(ctspine::count_cases(idx.records));
    if (unreadable) std::cout << unreadable << " unreadable file(s): see the error column of index.csv\n";
    std::cout << "wrote " << (fs::path(out) / "index.csv").string() << ", " << (fs::path(out) / "index.json").string() << "\n";
    if (!check) return unreadable ? exit_case_errors : cli::exit_ok;

    const auto t1 = std::chrono::steady_clock::now();
    ctspine::check_options co;
    co.threads = threads;
    co.voxels = !header_only;
    co.affine_tolerance_mm = tol;
    co.progress = terminal_progress();
    const ctspine::check_result res = ctspine::check_dataset(idx, co);
    ctspine::write_findings(out, res);
    std::cout << "checked in " << seconds_since(t1) << " s\n" << ctspine::format_findings_summary(res);
    std::size_t shown = 0;
    for (const auto& f : res.findings) {
        if (f.severity != ctspine::finding_severity::error) continue;
        if (shown++ == 20) {
            std::cout << "... (all findings in findings.csv)\n";
            break;
        }
        std::cout << "error: " << f.case_name << ": " << f.finding << ": " << f.details << "\n";
    }
    std::cout << "wrote " << (fs::path(out) / "findings.csv").string() << ", " << (fs::path(out) / "findings_summary.csv").string() << "\n";
    return res.cases_with_error ? exit_case_errors : cli::exit_ok;
}

int run_to_nnunet(cli::args& a) {
    const std::string split_file = a.value("--split"), id_text = a.value("--id"), name = a.value("--name");
    const int threads = static_cast<int>(cli::to_long(a.value("--threads", "0"), "--threads"));
    const double tol = cli::to_double(a.value("--tolerance", "0.01"), "--tolerance");
    const bool copy = a.flag("--copy"), no_verify = a.flag("--no-verify");
    const auto pos = a.positional();
    if (pos.size() != 2) throw std::invalid_argument("dataset to-nnunet needs ROOT and OUT");
    if (id_text.empty() || name.empty()) throw std::invalid_argument("dataset to-nnunet needs --id N and --name NAME");
    if (!(tol >= 0)) throw std::invalid_argument("--tolerance: must be >= 0 mm");
    ctspine::nnunet_export_options eo;
    eo.dataset_id = static_cast<int>(cli::to_long(id_text, "--id"));
    eo.dataset_name = name;
    (void)cli::parse_option("--id/--name", [&] { return ctspine::nnunet_dataset_folder_name(eo.dataset_id, eo.dataset_name); });
    eo.threads = threads;
    eo.affine_tolerance_mm = tol;
    eo.hard_link = !copy;
    eo.verify_labels = !no_verify;
    eo.progress = terminal_progress();
    std::map<std::string, std::string> split;
    if (!split_file.empty()) split = ctspine::read_split_file(split_file);

    const auto t0 = std::chrono::steady_clock::now();
    ctspine::index_options io;
    io.threads = threads;
    const ctspine::dataset_index idx = ctspine::index_dataset(ctspine::scan_dataset(pos[0], split), io);
    const ctspine::nnunet_export_result res = ctspine::export_nnunet(idx, pos[1], eo);
    // the log of every run, appended (the file is replaced atomically)
    const std::string log_path = (fs::path(res.folder) / "ctspine_to_nnunet.log").string();
    std::string log;
    {
        std::ifstream f(log_path, std::ios::binary);
        std::ostringstream ss;
        ss << f.rdbuf();
        log = ss.str();
    }
    log += "run: " + pos[0] + " -> " + res.folder + "\n";
    for (const auto& l : res.log) log += l + "\n";
    for (const auto& l : res.failed) log += "failed: " + l + "\n";
    ctspine::write_file_atomic(log_path, log);
    for (const auto& l : res.log) std::cout << l << "\n";
    std::cout << res.folder << ": " << res.training << " training, " << res.test << " test cases; files: " << res.linked << " linked, "
              << res.copied << " copied, " << res.rewritten << " rewritten, " << res.existing << " already in place ("
              << seconds_since(t0) << " s); log: " << log_path << "\n";
    for (const auto& l : res.failed) std::cerr << "failed: " << l << "\n";
    return res.failed.empty() ? cli::exit_ok : exit_case_errors;
}

}  // namespace

CTSPINE_CLI_COMMAND("dataset", "index, check or convert a spine-CT dataset (CTSpine1K, nnU-Net raw, flat folders)", usage_text,
                    [](cli::args& a) -> int {
                        const std::string sub = a.subcommand();
                        if (sub == "index") return run_index(a);
                        if (sub == "to-nnunet") return run_to_nnunet(a);
                        throw std::invalid_argument(sub.empty() ? "dataset needs a subcommand: index or to-nnunet"
                                                                : "dataset: unknown subcommand '" + sub + "' (index, to-nnunet)");
                    });
