// Benchmark of the image operations (not in CI): a synthetic 512×512×400 int16 CT at 0.8×0.8×1.0 mm resampled to
// 1.0 mm and 1.5 mm isotropic with 1 and 2 threads — linear (resample_to_spacing) vs scipy zoom order 1 and PyTorch
// trilinear, cubic nnU-Net mode (nnunet::resample_data_or_seg_to_shape, order 3) vs scipy zoom order 3 — and
// windowing / CTNormalization throughput against the memory bandwidth of a copy and a triad loop measured in the
// same run. Anchors: tests/bench/bench_imgproc_anchor.py with /usr/bin/python3 on the same raw data. ITK is not
// built here (see the report); anchors.md gives its figure for this case.
// Usage: ctspine_bench_imgproc [--no-scipy3]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include <ctspine/imgproc/intensity.hpp>
#include <ctspine/imgproc/nnunet_resample.hpp>
#include <ctspine/imgproc/resample.hpp>

#include "bench_common.hpp"

using namespace ctspine;

namespace {
void line(const std::string& name, double ours, double anchor, const char* anchor_name, double mvox) {
    if (anchor > 0)
        std::printf("%-34s ours %7.3f s (%6.1f Mvox/s), %-14s %7.3f s, ratio %6.2fx\n", name.c_str(), ours, mvox / ours, anchor_name, anchor,
                    anchor / ours);
    else
        std::printf("%-34s ours %7.3f s (%6.1f Mvox/s), %-14s not measured\n", name.c_str(), ours, mvox / ours, anchor_name);
    std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
    const bool no_scipy3 = argc > 1 && std::strcmp(argv[1], "--no-scipy3") == 0;
    geometry g;
    g.dims = {512, 512, 400};
    g.spacing_mm = {0.8, 0.8, 1.0};
    g.ijk_to_ras = affine4::Identity();
    g.ijk_to_ras(0, 0) = 0.8;
    g.ijk_to_ras(1, 1) = 0.8;
    volume<std::int16_t> ct(g);
    {  // body-like ellipse of soft tissue with a bright "spine" and noise, air outside
        std::mt19937 rng(3);
        std::normal_distribution<float> noise(0.f, 20.f);
        for (index_t k = 0; k < 400; ++k)
            for (index_t j = 0; j < 512; ++j)
                for (index_t i = 0; i < 512; ++i) {
                    const double x = (i - 256) / 200.0, y = (j - 280) / 150.0, r2 = x * x + y * y;
                    const double sx = (i - 256) / 25.0, sy = (j - 330) / 25.0 + 0.2 * std::sin(k * 0.05);
                    float v = r2 < 1 ? 40.f : -1000.f;
                    if (sx * sx + sy * sy < 1) v = 700.f;
                    ct(i, j, k) = static_cast<std::int16_t>(std::lround(v + noise(rng)));
                }
    }
    const std::string raw = "/tmp/ctspine_bench_imgproc_ct.raw";
    std::ofstream(raw, std::ios::binary).write(reinterpret_cast<const char*>(ct.data()), std::streamsize(ct.size() * 2));
    std::printf("input 512x512x400 int16 at 0.8x0.8x1.0 mm; hardware threads %d\n", resolve_threads(0));
    std::fflush(stdout);

    // anchors first (they run alone on the machine), then ours
    const std::string py = bench::run("/usr/bin/python3 " + std::string(CTSPINE_BENCH_DIR) + "/bench_imgproc_anchor.py " + raw +
                                      (no_scipy3 ? " skip" : ""));
    volume<float> ctf(g);
    for (index_t n = 0; n < ct.size(); ++n) ctf[n] = ct[n];

    for (double iso : {1.0, 1.5}) {
        const std::string tag = iso == 1.0 ? "1mm" : "1.5mm";
        const dims3 t = shape_for_spacing(g.dims, g.spacing_mm, {iso, iso, iso});
        const double mvox = double(voxel_count(t)) / 1e6;  // output voxels
        std::printf("-> %s: %lldx%lldx%lld\n", tag.c_str(), (long long)t[0], (long long)t[1], (long long)t[2]);
        volume<float> out(t);
        for (int th : {1, 2}) {
            resample_options o;
            o.interp = interpolation::linear;
            o.threads = th;
            double ours = bench::median_time(3, [&] { resample_to_shape_into<std::int16_t, float>(ct.view(), out.view(), o); });
            const std::string ts = "_t" + std::to_string(th);
            line("linear " + tag + ts, ours, bench::field(py, "scipy1_" + tag), "scipy zoom o1", mvox);
            line("linear " + tag + ts, ours, bench::field(py, "torch_linear_" + tag + ts), "torch trilin", mvox);
            const nnunet::shape3 s{400, 512, 512}, ts3{t[2], t[1], t[0]};
            double cub = bench::median_time(3, [&] {
                nnunet::resample_data_or_seg_to_shape<float, float>(ctf.data(), s, out.data(), ts3, {1.0, 0.8, 0.8}, {iso, iso, iso}, 3, 0,
                                                                    std::nullopt, th);
            });
            line("cubic nnU-Net " + tag + ts, cub, bench::field(py, "scipy3_" + tag), "scipy zoom o3", mvox);
        }
    }

    // memory bandwidth (same run) vs windowing / CTNormalization, float32 in → float32 out (8 bytes per voxel moved)
    const index_t n = ctf.size();
    const double gb = double(n) * 8 / 1e9;
    volume<float> dst(g), c(g);
    for (int th : {1, 2}) {
        double copy = bench::median_time(5, [&] {
            parallel_for(th, n, [&](index_t b, index_t e, int) { std::memcpy(dst.data() + b, ctf.data() + b, size_t(e - b) * 4); }, 1 << 16);
        });
        double triad = bench::median_time(5, [&] {
            parallel_for(th, n, [&](index_t b, index_t e, int) {
                const float* a = ctf.data();
                float* d = dst.data();
                float* cc = c.data();
                for (index_t i = b; i < e; ++i) d[i] = a[i] + 0.5f * cc[i];
            }, 1 << 16);
        });
        double win = bench::median_time(5, [&] { window_into(ctf.view(), dst.view(), window_bone, th); });
        ct_normalization p{-1000, 700, -500, 500};
        double norm = bench::median_time(5, [&] { ct_normalize(ctf.data(), dst.data(), n, p, th); });
        const double copy_bw = gb / copy, triad_bw = double(n) * 12 / 1e9 / triad;
        std::printf("bandwidth t%d: copy %.1f GB/s, triad %.1f GB/s\n", th, copy_bw, triad_bw);
        std::printf("window t%d: %.3f s, %.0f Mvox/s, %.1f GB/s = %.0f%% of copy\n", th, win, double(n) / 1e6 / win, gb / win,
                    100 * gb / win / copy_bw);
        std::printf("ct_normalize t%d: %.3f s, %.0f Mvox/s, %.1f GB/s = %.0f%% of copy\n", th, norm, double(n) / 1e6 / norm, gb / norm,
                    100 * gb / norm / copy_bw);
    }
    std::printf("ITK ResampleImageFilter: not measured in this run (not built); anchors.md: 1.03 s (1 thread), 0.545 s (2 threads) "
                "trilinear to 1.0 mm\nanchor raw output:\n%s", py.c_str());
    return 0;
}
