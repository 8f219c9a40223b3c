// Surface meshes of every vertebra of a 512×512×400 label map (20 synthetic vertebrae at 0.8×0.8×1.0 mm: body,
// arch, spinous and transverse processes, neighbours touching): ctspine's one-sweep extraction (1 and 2 threads)
// vs skimage.measure.marching_cubes per label on its padded bounding-box crop (the crops prepared outside the
// timing; and end to end from the label map with scipy's find_objects) and VTK's vtkDiscreteFlyingEdges3D on the whole map (all labels in one filter run), in the same run.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include <ctspine/mesh/decimation.hpp>
#include <ctspine/mesh/smoothing.hpp>
#include <ctspine/mesh/surface_extraction.hpp>

#include "bench_common.hpp"

int main() {
    using namespace ctspine;
    const index_t nx = 512, ny = 512, nz = 400;
    geometry g;
    g.dims = {nx, ny, nz};
    g.spacing_mm = {0.8, 0.8, 1.0};
    g.ijk_to_ras = affine_from_spacing(g.spacing_mm);
    volume<std::uint8_t> v(g, 0);
    const int nvert = 20;
    for (int b = 0; b < nvert; ++b) {
        const double cz = 10 + b * 19.5, cx = 255.6, cy = 250.3 + 30 * std::sin(b * 0.25);  // voxels
        for (index_t z = std::max<index_t>(0, index_t(cz - 14)); z < std::min<index_t>(nz, index_t(cz + 15)); ++z)
            for (index_t y = std::max<index_t>(0, index_t(cy - 70)); y < std::min<index_t>(ny, index_t(cy + 40)); ++y)
                for (index_t x = index_t(cx - 50); x < index_t(cx + 50); ++x) {
                    const double X = (x - cx) * 0.8, Y = (cy - y) * 0.8, Z = (z - cz) * 1.0;  // mm; Y anterior
                    const bool body = (X / 21.3) * (X / 21.3) + ((Y - 14.1) / 16.7) * ((Y - 14.1) / 16.7) + (Z / 9.9) * (Z / 9.9) < 1;
                    const double r = std::hypot(X, Y + 11.3);
                    const bool arch = r > 8.1 && r < 13.7 && std::abs(Z) < 6.3 && Y < 4.2;
                    const bool spinous = std::abs(X) < 2.9 && Y < -20.1 && Y > -41.3 && std::abs(Z + 0.2 * (Y + 20)) < 5.1;
                    const bool transverse = std::abs(X) > 9.2 && std::abs(X) < 33.7 && std::abs(Y + 9.7) < 3.3 && std::abs(Z) < 3.9;
                    if (body || arch || spinous || transverse) v(x, y, z) = std::uint8_t(b + 1);
                }
    }
    const char* path = "/tmp/ctspine_bench_mesh.raw";
    if (FILE* f = std::fopen(path, "wb")) {
        std::fwrite(v.data(), 1, size_t(v.size()), f);
        std::fclose(f);
    }
    std::printf("surface meshes, 512x512x400 uint8 label map, %d vertebrae, 0.8x0.8x1.0 mm\n", nvert);
    const std::string py = bench::run(std::string("/usr/bin/python3 ") + CTSPINE_BENCH_DIR + "/bench_mesh_anchor.py " + path +
                                      " 512 512 400 0.8 0.8 1.0");
    std::printf("%s", py.c_str());
    std::vector<triangle_mesh> ms;
    for (int threads : {1, 2}) {
        surface_options o;
        o.threads = threads;
        const double t = bench::median_time(5, [&] { ms = extract_surfaces<std::uint8_t>(v.view(), o); });
        std::size_t tris = 0;
        for (const auto& m : ms) tris += m.triangles.size();
        char name[128];
        std::snprintf(name, sizeof name, "all vertebrae, %d thread%s (%zu meshes, %zu triangles)", threads, threads > 1 ? "s" : "",
                      ms.size(), tris);
        bench::report(name, t, bench::field(py, "skimage"), "skimage (MC on prepared crops)");
        bench::report("  same", t, bench::field(py, "skimage_end_to_end"), "skimage (find_objects + crops + MC)");
        bench::report("  same", t, bench::field(py, "vtk"), "vtk discrete flying edges");
    }
    {  // where the time goes (1 thread): the progress callback marks the stage boundaries
        surface_options o;
        o.threads = 1;
        std::vector<std::pair<std::string, double>> marks;
        o.progress = [&](double, std::string_view stage) {
            marks.emplace_back(std::string(stage), bench::now());
            return true;
        };
        ms = extract_surfaces<std::uint8_t>(v.view(), o);
        for (std::size_t i = 0; i + 1 < marks.size(); ++i)
            std::printf("  stage %-14s %.4f s\n", marks[i].first.c_str(), marks[i + 1].second - marks[i].second);
    }
    {
        auto m = ms[10];
        smoothing_options so;
        so.measure = false;
        const double ts = bench::median_time(1, [&] { (void)smooth_mesh(m, so); });
        decimation_options dopt;
        dopt.measure = false;
        const double td = bench::median_time(1, [&] { (void)decimate_mesh(m, dopt); });
        std::printf("one vertebra (%zu triangles): Taubin 10 passes %.4f s, decimation to 50%% %.4f s\n", ms[10].triangles.size(), ts, td);
    }
    std::printf("peak RSS %ld MB\n", bench::peak_rss_mb());
    std::remove(path);
}
