// ctspine segment --model MODEL_DIR IN.nii.gz OUT_seg.nii.gz [--folds 0 1 ...] [--no-tta] [--step 0.5] [--threads N]
//                 [--isa auto|avx512|avx2|generic] [--fp32] [--memory-limit 8G] [--no-cleanup] [--report r.json] [--csv r.csv] [--preview p.png]
//                 [--probabilities probs.nii.gz] [--meshes DIR] [--render VIEW.png] [--no-postprocessing]
//                 | --input-dir DIR --output-dir DIR [--force] [--shard I/N]
// MODEL_DIR may be an nnU-Net v2 folder (plans.json) or a v1 folder (plans.pkl + fold_N/ or all/); v1 folders are
// predicted as nnU-Net v1 predicts, including <model>/postprocessing.json unless --no-postprocessing.
//
// For vertebra models (every foreground class named like a vertebra) the vertebra clean-up (label/vertebrae.hpp:
// main component per vertebra, fragments to the vertebra they touch most, small isolated fragments and labels under
// 100 voxels dropped) is
// applied to the nnU-Net output before it is written and measured; --no-cleanup writes the raw nnU-Net labels.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <fstream>
#include <iomanip>

#include <ctspine/io/nifti.hpp>
#include <ctspine/io/png.hpp>
#include <ctspine/label/measurements.hpp>
#include <ctspine/label/preview.hpp>
#include <ctspine/label/report.hpp>
#include <ctspine/label/vertebrae.hpp>
#include <ctspine/mesh/mesh_io.hpp>
#include <ctspine/mesh/mesh_render.hpp>
#include <ctspine/mesh/surface_extraction.hpp>
#include <ctspine/io/atomic_file.hpp>
#include <ctspine/pipeline/batch.hpp>
#include <ctspine/pipeline/probabilities.hpp>
#include <ctspine/pipeline/segment.hpp>
#include <ctspine/pipeline/vertebra_classes.hpp>

#include "cli.hpp"

namespace {
namespace fs = std::filesystem;

bool ends_with(const std::string& s, const std::string& e) {
    return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

/// Per-vertebra report (VerSe numbering, named from the model's dataset.json) as JSON and/or CSV.
void write_reports(const ctspine::segmenter& seg, const ctspine::volume<std::uint16_t>& labels, const ctspine::volume<float>& ct,
                   const std::string& json, const std::string& csv) {
    const std::vector<std::uint16_t> lut = ctspine::class_to_scheme_table(seg.class_names(), ctspine::label_scheme::verse);
    ctspine::volume<std::uint16_t> verse(labels.geometry());
    for (ctspine::index_t n = 0; n < labels.size(); ++n) verse[n] = labels[n] < lut.size() ? lut[labels[n]] : 0;
    ctspine::volume_view<const float> ctv = ct.view();
    const auto rep = ctspine::measure_vertebrae<std::uint16_t>(verse.view(), ctspine::label_scheme::verse, &ctv);
    if (!json.empty()) ctspine::write_file_atomic(json, ctspine::to_json(rep));
    if (!csv.empty()) ctspine::write_file_atomic(csv, ctspine::to_csv(rep));
    for (const auto& v : rep.vertebrae) std::cout << "  " << v.name << ": " << v.voxels << " voxels, " << v.volume_mm3 / 1000.0 << " ml\n";
    for (const auto& is : rep.issues) std::cout << "  issue: " << is.message << "\n";
}

std::string csv_field(const std::string& v) {
    if (v.find_first_of(",\"\n") == std::string::npos) return v;
    std::string o = "\"";
    for (char c : v) o += c == '"' ? std::string("\"\"") : std::string(1, c);
    return o + "\"";
}

/// Batch mode: every .nii/.nii.gz of in_dir (sorted by name; every N-th from I with --shard I/N) -> out_dir/<stem>_seg.nii.gz
/// through ctspine::run_segment_batch (pipeline/batch.hpp): existing outputs are skipped (restarting a killed batch
/// finishes the rest), a failing case is reported and the others go on. The failed cases and their reasons are
/// printed at the end and written to out_dir/batch_failures.csv (batch_failures-shard-I-of-N.csv with --shard, so
/// that shards sharing one output folder do not overwrite each other's list); exit status 1 when any case failed.
int run_batch(const std::string& model, const ctspine::model_load_options& lo, const ctspine::segment_options& so, const std::string& in_dir,
              const std::string& out_dir, const std::string& shard, bool force, bool no_cleanup) {
    const auto [si, sn] = cli::parse_shard(shard);
    if (!fs::is_directory(in_dir)) throw std::invalid_argument("--input-dir " + in_dir + " is not a folder");
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(in_dir)) {
        const std::string n = e.path().filename().string();
        if (ends_with(n, ".nii.gz") || ends_with(n, ".nii")) files.push_back(n);
    }
    std::sort(files.begin(), files.end());
    fs::create_directories(out_dir);
    std::vector<ctspine::batch_job> jobs;
    for (size_t i = 0; i < files.size(); ++i) {
        if (static_cast<long>(i % static_cast<size_t>(sn)) != si) continue;
        std::string stem = files[i];
        stem = stem.substr(0, stem.size() - (ends_with(stem, ".nii.gz") ? 7 : 4));
        jobs.push_back({(fs::path(in_dir) / files[i]).string(), (fs::path(out_dir) / (stem + "_seg.nii.gz")).string()});
    }
    const ctspine::segmenter seg(model, lo);
    ctspine::batch_options bo;
    bo.segment = so;
    bo.force = force;
    bo.vertebra_cleanup = !no_cleanup;
    const bool tty = isatty(fileno(stderr)) != 0;
    if (tty)
        bo.progress = [&](std::size_t i, double f, std::string_view stage) {
            std::cerr << "\r[" << i + 1 << "/" << jobs.size() << "] " << fs::path(jobs[i].input).filename().string() << " " << stage << " "
                      << static_cast<int>(f * 100) << "%   " << std::flush;
            return true;
        };
    bo.on_result = [&](std::size_t i, const ctspine::batch_result& r) {
        if (tty && r.status != ctspine::batch_status::skipped) std::cerr << "\n";
        const auto& j = jobs[i];
        if (r.status == ctspine::batch_status::done) {
            std::cout << j.input << " -> " << j.output << " (" << std::fixed << std::setprecision(1) << r.seconds << " s)\n"
                      << std::defaultfloat;
            if (r.cleaned)
                std::cout << "  clean-up: " << r.cleanup_voxels_moved << " voxels reassigned to the vertebra they touch, " << r.cleanup_voxels_dropped
                          << " voxels of small isolated fragments removed, " << r.cleanup_labels_dissolved << " label(s) removed\n";
        } else if (r.status == ctspine::batch_status::skipped) {
            std::cout << "skipped (" << r.reason << "): " << j.output << "\n";
        } else {
            std::cerr << "failed: " << j.input << ": " << r.reason << "\n";
        }
        std::cout << std::flush;
    };
    const ctspine::batch_summary s = ctspine::run_segment_batch(seg, jobs, bo);
    std::string csv = "input,output,reason\n";
    for (size_t i = 0; i < jobs.size(); ++i)
        if (s.results[i].status == ctspine::batch_status::failed)
            csv += csv_field(jobs[i].input) + "," + csv_field(jobs[i].output) + "," + csv_field(s.results[i].reason) + "\n";
    const std::string list_name = shard.empty() ? "batch_failures.csv" : "batch_failures-shard-" + std::to_string(si) + "-of-" + std::to_string(sn) + ".csv";
    const std::string list_path = (fs::path(out_dir) / list_name).string();
    ctspine::write_file_atomic(list_path, csv);
    std::cout << "batch: " << jobs.size() << " case(s): " << s.done << " segmented, " << s.skipped << " skipped (output exists), " << s.failed
              << " failed\n";
    if (s.failed) {
        std::cerr << s.failed << " case(s) failed (listed in " << list_path << "):\n";
        for (size_t i = 0; i < jobs.size(); ++i)
            if (s.results[i].status == ctspine::batch_status::failed) std::cerr << "  " << jobs[i].input << ": " << s.results[i].reason << "\n";
        return cli::exit_failure;
    }
    return cli::exit_ok;
}

int run_segment(cli::args& a) {
    const std::string model = a.value("--model");
    if (model.empty()) throw std::invalid_argument("--model MODEL_DIR is required");
    ctspine::model_load_options lo;
    for (const auto& f : a.take_list("--folds")) lo.folds.push_back(f == "all" ? -1 : static_cast<int>(cli::to_long(f, "--folds")));
    ctspine::segment_options so;
    if (a.flag("--no-tta")) so.mirroring = false;
    so.step_size = cli::to_double(a.value("--step", "0.5"), "--step");
    if (!(so.step_size > 0 && so.step_size <= 1)) throw std::invalid_argument("--step must be in (0, 1]");
    so.threads = static_cast<int>(cli::to_long(a.value("--threads", "0"), "--threads"));
    if (a.flag("--fp32")) so.fp16_accumulation = false;
    if (a.flag("--no-postprocessing")) so.v1_postprocessing = false;  // v1 folders: skip <model>/postprocessing.json
    so.isa = cli::parse_option("--isa", [&] { return ctspine::parse_isa(a.value("--isa", "auto")); });
    const std::string mem = a.value("--memory-limit");
    if (!mem.empty()) so.memory_limit_bytes = cli::parse_size(mem, "--memory-limit");
    const bool no_cleanup = a.flag("--no-cleanup");
    const std::string preview = a.value("--preview"), probs_path = a.value("--probabilities"), meshes_dir = a.value("--meshes"),
                      render3d = a.value("--render");
    const std::string in_dir = a.value("--input-dir"), out_dir = a.value("--output-dir");
    const bool force = a.flag("--force");
    const std::string shard = a.value("--shard");
    const std::string report_json = a.value("--report"), report_csv = a.value("--csv");
    auto pos = a.positional();
    if ((!report_json.empty() || !report_csv.empty() || !preview.empty() || !probs_path.empty() || !meshes_dir.empty() ||
         !render3d.empty()) &&
        (!in_dir.empty() || !out_dir.empty()))
        throw std::invalid_argument("--report/--csv/--preview/--probabilities/--meshes/--render apply to a single case, not batch mode");

    if (!in_dir.empty() || !out_dir.empty()) {
        if (in_dir.empty() || out_dir.empty() || !pos.empty())
            throw std::invalid_argument("batch mode needs --input-dir and --output-dir and no positional files");
        return run_batch(model, lo, so, in_dir, out_dir, shard, force, no_cleanup);
    }
    if (pos.size() != 2) throw std::invalid_argument("expected IN.nii.gz and OUT_seg.nii.gz");
    if (!force && fs::exists(pos[1])) throw std::invalid_argument(pos[1] + " exists (use --force to overwrite)");
    const std::string& in = pos[0];
    const std::string& out = pos[1];
    const ctspine::segmenter seg(model, lo);
    const std::vector<std::string> names = seg.class_names();
    const bool cleanup = !no_cleanup && ctspine::is_vertebra_model(names);
    const bool tty = isatty(fileno(stderr)) != 0;
    if (tty)
        so.progress = [&in](double f, std::string_view stage) {
            std::cerr << "\r" << fs::path(in).filename().string() << " " << stage << " " << static_cast<int>(f * 100) << "%   "
                      << std::flush;
            return true;
        };
    const auto ct = ctspine::read_nifti<float>(in);
    ctspine::probability_map probs;
    auto labels = probs_path.empty() ? seg.segment(ct, so) : seg.segment(ct, probs, so);
    if (cleanup) {
        ctspine::vertebra_cleanup_options co;
        co.threads = so.threads;
        ctspine::index_t moved = 0, dropped = 0, dissolved = 0;
        for (const auto& e : ctspine::clean_vertebrae<std::uint16_t>(labels.view(), co)) {
            moved += e.voxels_moved_out;
            dropped += e.voxels_dropped;
            dissolved += e.dissolved;
        }
        if (tty) std::cerr << "\n";
        std::cout << "  clean-up: " << moved << " voxels reassigned to the vertebra they touch, " << dropped
                  << " voxels of small isolated fragments removed, " << dissolved << " label(s) under " << co.min_label_voxels
                  << " voxels removed (--no-cleanup to keep nnU-Net's raw labels)\n";
    }
    ctspine::write_labels_nifti(out, labels);
    if (tty) std::cerr << "\n";
    std::cout << in << " -> " << out << "\n";
    if (!report_json.empty() || !report_csv.empty()) write_reports(seg, labels, ct, report_json, report_csv);
    if (!probs_path.empty()) {
        ctspine::nifti_write_options wo;
        wo.level = 1;  // C x the CT's voxels of float32: fast gzip level (level 6 takes several times longer)
        ctspine::write_probabilities_nifti(probs_path, probs, wo);
        std::cout << "  probabilities (" << probs.num_classes << " classes) -> " << probs_path << "\n";
    }
    if (!meshes_dir.empty() || !render3d.empty()) {  // surfaces named by the vertebra each class denotes
        ctspine::surface_options mo;
        mo.threads = so.threads;
        auto meshes = ctspine::extract_surfaces<std::uint16_t>(labels.view(), mo);
        for (auto& m : meshes) {
            const auto v = m.label < static_cast<std::int64_t>(names.size()) ? ctspine::vertebra_of_class_name(names[static_cast<size_t>(m.label)])
                                                                            : std::nullopt;
            m.name = v ? ctspine::vertebra_name(*v) : "label_" + std::to_string(m.label);
        }
        if (!meshes_dir.empty()) {  // one binary STL per label
            const auto paths = ctspine::write_meshes(meshes_dir, meshes, ctspine::mesh_format::stl);
            std::cout << "  meshes: " << paths.size() << " STL files -> " << meshes_dir << "\n";
        }
        if (!render3d.empty() && !meshes.empty()) {  // anterior and left-lateral 3-D views
            const auto pic = ctspine::render_meshes(meshes);
            ctspine::write_png(render3d, pic.image.rgb.data(), pic.image.width, pic.image.height, 3);
            std::cout << "  3-D view " << pic.image.width << "x" << pic.image.height << " -> " << render3d << "\n";
        }
    }
    if (!preview.empty()) {
        std::vector<std::string> label_names(names.size());
        for (size_t c = 1; c < names.size(); ++c) {
            const auto v = ctspine::vertebra_of_class_name(names[c]);
            label_names[c] = v ? ctspine::vertebra_name(*v) : std::to_string(c);
        }
        ctspine::preview_options po;
        po.threads = so.threads;
        const auto pv = ctspine::render_spine_preview(ct.view(), labels.view(), label_names, po);
        ctspine::write_png(preview, pv.image.rgb.data(), pv.image.width, pv.image.height, 3);
        std::cout << "  preview " << pv.image.width << "x" << pv.image.height << " -> " << preview << "\n";
    }
    return 0;
}

CTSPINE_CLI_COMMAND("segment", "nnU-Net v1 or v2 segmentation of a CT with a model folder (CPU, nnU-Net-faithful)",
                    "ctspine segment --model MODEL_DIR IN.nii.gz OUT_seg.nii.gz [--folds 0 1 ...] [--no-tta] [--step 0.5] "
                    "[--threads N] [--isa auto|avx512|avx2|generic] [--fp32] [--memory-limit 8G] [--no-cleanup] [--force] [--report report.json] [--csv report.csv] "
                    "[--preview preview.png] [--probabilities probs.nii.gz] [--meshes DIR] [--render view3d.png] "
                    "[--no-postprocessing (v1: skip postprocessing.json)]\n  batch: --input-dir DIR --output-dir DIR [--force] [--shard I/N] "
                    "[--memory-limit 8G] [--no-cleanup]",
                    run_segment);

}  // namespace
