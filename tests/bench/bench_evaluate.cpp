// Evaluation of a 512×512×400 label map with 25 "vertebrae" against a damaged copy (shifted, eroded, one missed, one
// extra), every metric for every label (counts, overlap, medpy HD/HD95/ASD/ASSD, voxel NSD and DeepMind surfel NSD at
// 1 and 2 mm, identification): ctspine vs the fastest Python route (per-label bounding-box crop + scipy EDT, as medpy
// computes, plus DeepMind's surfels on the same crop; bench_evaluate_anchor.py) in the same run. Also: reading both
// .nii.gz files included, and medpy's whole-volume route (as nnU-Net v1 calls it) on one label of a smaller case (128x128x48).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

#include <ctspine/evaluate/evaluate.hpp>
#include <ctspine/io/nifti.hpp>

#include "bench_common.hpp"

static double cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

int main(int argc, char** argv) {
    using namespace ctspine;
    const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
    const index_t nx = 512, ny = 512, nz = 400;
    geometry g;
    g.dims = {nx, ny, nz};
    g.spacing_mm = {0.8, 0.8, 1.0};
    g.ijk_to_ras = affine_from_spacing(g.spacing_mm);
    volume<std::uint8_t> ref(g, 0), pred(g, 0);
    for (int b = 0; b < 25; ++b) {
        const double cz = 8 + b * 15.6, cy = 256 + 40 * std::sin(b * 0.2), cx = 256;
        for (index_t z = std::max<index_t>(0, index_t(cz - 10)); z < std::min<index_t>(nz, index_t(cz + 11)); ++z)
            for (index_t y = index_t(cy - 62); y < index_t(cy + 62); ++y)
                for (index_t x = 194; x < 318; ++x) {
                    const double dx = (x - cx) / 58.0, dy = (y - cy) / 55.0, dz = (z - cz) / 8.6;
                    if (dx * dx + dy * dy + dz * dz < 1) ref(x, y, z) = std::uint8_t(b + 1);
                    // damage: shifted by 1..2 voxels, radii shrunk for odd labels; label 13 missed
                    const double ex = (x - cx - 1 - b % 2) / (b % 2 ? 56.0 : 58.0), ey = (y - cy + 1) / 55.0, ez = (z - cz) / 8.6;
                    if (b != 12 && ex * ex + ey * ey + ez * ez < 1) pred(x, y, z) = std::uint8_t(b + 1);
                }
    }
    for (index_t z = 100; z < 120; ++z)  // an extra label 26
        for (index_t y = 100; y < 130; ++y)
            for (index_t x = 100; x < 130; ++x) pred(x, y, z) = 26;
    const std::string dir = "/tmp/ctspine_bench_evaluate";
    std::string mk = "mkdir -p " + dir;
    if (std::system(mk.c_str()) != 0) return 1;
    const std::string rp = dir + "/ref.nii.gz", pp = dir + "/pred.nii.gz";
    write_nifti(rp, ref);
    write_nifti(pp, pred);
    std::printf("evaluate: 512x512x400 uint8 at 0.8x0.8x1.0 mm, 25 labels vs damaged copy (+1 extra), tau 1 and 2 mm\n");
    evaluate_options opt;
    opt.tau_mm = {1.0, 2.0};
    case_evaluation ev;
    double ours1 = 0, ours1_cpu = 1e30;
    for (int threads : {1, 2}) {
        opt.threads = threads;
        const double t = bench::median_time(quick ? 1 : 3, [&] {
            const double c0 = cpu_now();
            ev = evaluate<std::uint8_t, std::uint8_t>(ref.view(), pred.view(), opt);
            if (threads == 1) ours1_cpu = std::min(ours1_cpu, cpu_now() - c0);
        });
        if (threads == 1) ours1 = t;
        std::printf("  ctspine evaluate, in memory, %d thread(s): %.4f s wall\n", threads, t);
    }
    std::printf("  ctspine evaluate, 1 thread: %.4f s CPU\n", ours1_cpu);
    opt.threads = 2;
    const double t_read = bench::median_time(quick ? 1 : 3, [&] {
        nifti_read_options ro;
        ro.apply_scaling = false;
        const auto r = read_nifti<std::uint8_t>(rp, ro);
        const auto p = read_nifti<std::uint8_t>(pp, ro);
        ev = evaluate<std::uint8_t, std::uint8_t>(r.view(), p.view(), opt);
    });
    std::printf("  ctspine read both .nii.gz + evaluate, 2 threads: %.4f s\n", t_read);
    double sum_hd95 = 0;
    for (const auto& e : ev.labels)
        if (!std::isnan(e.distance.hd95)) sum_hd95 += e.distance.hd95;
    std::printf("  ctspine: %lld both, %lld missed, %lld extra; sum of HD95 %.6f mm\n", (long long)ev.n_both, (long long)ev.n_missed,
                (long long)ev.n_extra, sum_hd95);
    const std::string py = bench::run(std::string("/usr/bin/python3 ") + CTSPINE_BENCH_DIR + "/bench_evaluate_anchor.py " + rp + " " + pp +
                                      (quick ? " --quick" : ""));
    std::printf("%s", py.c_str());
    bench::report("evaluate 25 labels, 1 thread vs cropped scipy (wall)", ours1, bench::field(py, "cropped_total"), "python cropped");
    bench::report("evaluate 25 labels, 1 thread vs cropped scipy (CPU)", ours1_cpu, bench::field(py, "cropped_cpu"), "python cropped");
    const double full = bench::field(py, "fullvolume_one_label");
    if (full > 0) std::printf("medpy whole-volume route (nnU-Net v1), ONE label of a 128x128x48 crop: %.4f s\n", full);
    std::printf("peak RSS %ld MB (machine shared; see README)\n", bench::peak_rss_mb());
    return 0;
}
