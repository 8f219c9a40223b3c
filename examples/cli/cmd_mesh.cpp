// ctspine mesh SEG OUT_DIR [--labels L ...] [--scheme verse|totalseg|...] [--all-labels] [--smooth N] [--decimate F]
//                  [--max-error MM] [--format stl|ply|obj] [--single-file] [--render VIEW.png] [--threads N]
// One watertight surface mesh per vertebra (world mm), named by its anatomical name in the label scheme.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>

#include <ctspine/io/nifti.hpp>
#include <ctspine/io/png.hpp>
#include <ctspine/mesh/decimation.hpp>
#include <ctspine/mesh/mesh_check.hpp>
#include <ctspine/mesh/mesh_io.hpp>
#include <ctspine/mesh/mesh_render.hpp>
#include <ctspine/mesh/smoothing.hpp>
#include <ctspine/mesh/surface_extraction.hpp>

#include "cli.hpp"

namespace {

std::string fixed(double x, int digits) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", digits, x);
    return b;
}

int run_mesh(cli::args& a) {
    ctspine::surface_options so;
    for (const auto& l : a.take_list("--labels")) so.labels.push_back(cli::to_long(l, "--labels"));
    const ctspine::label_scheme scheme = ctspine::parse_label_scheme(a.value("--scheme", "verse"));
    const bool all_labels = a.flag("--all-labels");
    const long smooth = cli::to_long(a.value("--smooth", "0"), "--smooth");
    const double decimate = cli::to_double(a.value("--decimate", "1"), "--decimate");
    const double max_error = cli::to_double(a.value("--max-error", "inf"), "--max-error");
    const ctspine::mesh_format fmt = ctspine::parse_mesh_format(a.value("--format", "stl"));
    const bool single = a.flag("--single-file");
    const std::string render = a.value("--render");
    so.threads = static_cast<int>(cli::to_long(a.value("--threads", "0"), "--threads"));
    auto pos = a.positional();
    if (pos.size() != 2) throw std::invalid_argument("expected SEG.nii.gz and OUT_DIR");
    if (smooth < 0) throw std::invalid_argument("--smooth needs N >= 0");
    if (!(decimate > 0 && decimate <= 1)) throw std::invalid_argument("--decimate needs a fraction in (0, 1]");
    if (single && fmt == ctspine::mesh_format::stl) throw std::invalid_argument("--single-file needs --format ply or obj");
    ctspine::nifti_read_options ro;
    ro.apply_scaling = false;
    const auto seg = ctspine::read_nifti<std::uint16_t>(pos[0], ro);
    std::map<std::int64_t, ctspine::index_t> count;
    for (auto x : seg)
        if (x) ++count[x];
    if (so.labels.empty())
        for (const auto& [l, n] : count)
            if (all_labels || ctspine::vertebra_of(scheme, l)) so.labels.push_back(l);
    for (auto l : so.labels)
        if (!count.count(l)) std::cerr << "label " << l << " is not in " << pos[0] << ", skipped\n";
    if (so.labels.empty()) throw std::invalid_argument("no vertebra labels of the scheme in " + pos[0] + " (see --scheme, --all-labels, --labels)");
    auto meshes = ctspine::extract_surfaces<std::uint16_t>(seg.view(), so);
    ctspine::name_vertebra_meshes(meshes, scheme);
    const double voxel_mm3 = std::abs(seg.ijk_to_ras().topLeftCorner<3, 3>().determinant());
    for (auto& m : meshes) {
        std::cout << m.name << " (label " << m.label << "): ";
        if (smooth > 0) {
            ctspine::smoothing_options sm;
            sm.iterations = static_cast<int>(smooth);
            sm.threads = so.threads;
            const auto r = ctspine::smooth_mesh(m, sm);
            std::cout << "smoothed (" << smooth << " Taubin passes): volume " << fixed(r.volume_change_percent, 3)
                      << "%, Hausdorff " << fixed(r.hausdorff_mm, 3) << " mm; ";
        }
        if (decimate < 1 || std::isfinite(max_error)) {
            ctspine::decimation_options dm;
            dm.target_fraction = decimate;
            dm.max_error_mm = max_error;
            dm.threads = so.threads;
            const auto r = ctspine::decimate_mesh(m, dm);
            std::cout << "decimated " << r.triangles_before << " -> " << r.triangles_after << " triangles: volume "
                      << fixed(r.volume_change_percent, 3) << "%, Hausdorff " << fixed(r.hausdorff_mm, 3) << " mm; ";
        }
        const auto c = ctspine::check_mesh(m);
        std::cout << m.triangles.size() << " triangles, " << m.vertices.size() << " vertices, " << fixed(c.volume_mm3 / 1000.0, 3)
                  << " ml (voxels " << fixed(static_cast<double>(count[m.label]) * voxel_mm3 / 1000.0, 3) << " ml), "
                  << (c.watertight_manifold() ? "watertight manifold" : "NOT watertight/manifold") << "\n";
    }
    if (single) {
        const std::string p = (std::filesystem::path(pos[1]) / (std::string("meshes") + ctspine::mesh_format_extension(fmt))).string();
        std::filesystem::create_directories(pos[1]);
        if (fmt == ctspine::mesh_format::ply) ctspine::write_ply(p, meshes);
        else ctspine::write_obj(p, meshes);
        std::cout << meshes.size() << " meshes -> " << p << "\n";
    } else {
        const auto paths = ctspine::write_meshes(pos[1], meshes, fmt);
        std::cout << paths.size() << " files -> " << pos[1] << "\n";
    }
    if (!render.empty()) {
        const auto pic = ctspine::render_meshes(meshes);
        ctspine::write_png(render, pic.image.rgb.data(), pic.image.width, pic.image.height, 3);
        std::cout << "3-D view " << pic.image.width << "x" << pic.image.height << " -> " << render << "\n";
    }
    return 0;
}

CTSPINE_CLI_COMMAND("mesh", "watertight per-vertebra surface meshes (world mm) as STL, PLY or OBJ",
                    "ctspine mesh SEG.nii.gz OUT_DIR [--labels L ...] [--scheme verse|totalseg|...] [--all-labels] [--smooth N] "
                    "[--decimate F] [--max-error MM] [--format stl|ply|obj] [--single-file] [--render VIEW.png] [--threads N]",
                    run_mesh);

}  // namespace
