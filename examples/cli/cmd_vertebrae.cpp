// ctspine vertebrae SEG [--ct CT] [--scheme verse|totalseg|...] [--clean OUT] [--json REPORT] [--csv REPORT]
//                       [--all-labels] [--fill-holes] [--min-fragment VOXELS] [--min-label VOXELS]
// Clean a vertebra segmentation, measure every vertebra, check the column's anatomical consistency.
#include <iostream>

#include <ctspine/io/atomic_file.hpp>
#include <ctspine/io/nifti.hpp>
#include <ctspine/label/vertebrae.hpp>

#include "cli.hpp"

namespace {

int run_vertebrae(cli::args& a) {
    std::string ct_path = a.value("--ct"), clean = a.value("--clean"), json = a.value("--json"), csv = a.value("--csv");
    const std::string scheme_name = a.value("--scheme", "verse");
    const ctspine::label_scheme scheme = cli::parse_option("--scheme", [&] { return ctspine::parse_label_scheme(scheme_name); });
    bool all_labels = a.flag("--all-labels");
    ctspine::vertebra_cleanup_options co;
    co.fill_holes = a.flag("--fill-holes");
    co.min_fragment_voxels = cli::to_long(a.value("--min-fragment", "100"), "--min-fragment");
    co.min_label_voxels = cli::to_long(a.value("--min-label", "100"), "--min-label");
    auto pos = a.positional();
    if (pos.size() != 1) throw std::invalid_argument("expected one SEG file");
    ctspine::nifti_read_options ro;
    ro.apply_scaling = false;
    auto seg = ctspine::read_nifti<std::uint16_t>(pos[0], ro);
    if (!all_labels)  // multi-organ maps (TotalSegmentator total): keep the scheme's vertebra labels only
        for (auto& x : seg)
            if (x && !ctspine::vertebra_of(scheme, x)) x = 0;
    if (!clean.empty()) {
        auto entries = ctspine::clean_vertebrae<std::uint16_t>(seg.view(), co);
        for (auto& e : entries)
            if (e.dissolved)
                std::cerr << ctspine::label_name(scheme, e.label) << ": fewer than " << co.min_label_voxels << " voxels, removed\n";
        for (auto& e : entries)
            if (e.fragments_reassigned || e.fragments_dropped)
                std::cerr << ctspine::label_name(scheme, e.label) << ": " << e.fragments_reassigned << " fragment(s) reassigned, "
                          << e.fragments_dropped << " dropped\n";
        for (auto& e : entries)
            if (e.holes_filled) std::cerr << ctspine::label_name(scheme, e.label) << ": " << e.holes_filled << " hole voxel(s) filled\n";
        ctspine::write_nifti(clean, seg);
    }
    ctspine::volume<float> ct;
    ctspine::volume_view<const float> ctv;
    if (!ct_path.empty()) {
        ct = ctspine::read_nifti<float>(ct_path);
        ctv = ct.view();
    }
    auto rep = ctspine::measure_vertebrae<std::uint16_t>(seg.view(), scheme, ct_path.empty() ? nullptr : &ctv);
    if (!json.empty()) ctspine::write_file_atomic(json, ctspine::to_json(rep));
    if (!csv.empty()) ctspine::write_file_atomic(csv, ctspine::to_csv(rep));
    for (const auto& v : rep.vertebrae) {
        std::cout << v.name << "\t" << v.voxels << " voxels\t" << v.volume_mm3 / 1000.0 << " ml";
        if (v.mean_hu) std::cout << "\tmean " << *v.mean_hu << " HU";
        std::cout << "\n";
    }
    for (const auto& is : rep.issues) std::cout << "issue: " << is.message << "\n";
    return 0;
}

CTSPINE_CLI_COMMAND("vertebrae", "clean, measure and check a vertebra segmentation",
                    "ctspine vertebrae SEG [--ct CT] [--scheme verse|totalseg|totalseg_v3|vertebrae|vertebrae_pp] [--clean OUT] "
                    "[--json REPORT] [--csv REPORT] [--all-labels] [--fill-holes] [--min-fragment VOXELS] [--min-label VOXELS]",
                    run_vertebrae);

}  // namespace
