// Benchmark of the image operations (not in CI), one invocation, same in-memory input for every contestant:
// a synthetic 512×512×400 int16 CT at 0.8×0.8×1.0 mm resampled to 1.0 mm (410×410×400) and 1.5 mm (273×273×267)
// isotropic with 1 and 2 threads.
//   linear:  ours (resample_to_shape_into, float32 kernel, int16 read directly)
//            vs ITK ResampleImageFilter + LinearInterpolateImageFunction (C++, if ITK was found at configure time),
//            scipy.ndimage.zoom(order=1) (single-threaded) and torch interpolate(trilinear) (1 and 2 threads)
//   cubic:   ours in nnU-Net mode (nnunet::resample_data_or_seg_to_shape order 3, float64 as nnU-Net) vs scipy zoom order 3
//   windowing / CTNormalization: vs ITK IntensityWindowingImageFilter and vs the memory bandwidth (copy, triad) of
//            this machine measured in the same run.
// Output-buffer policy, printed with every figure: "fresh" = a new output buffer per run, so its first-touch page faults
// are included (what ITK's Update(), scipy and torch do); "reused" = into a caller buffer already touched. Compare
// ratios under the same policy (anchors.md: a fresh 419 MB buffer alone costs 0.06–0.18 s of page faults here).
// Python anchors: tests/bench/bench_imgproc_anchor.py run with /usr/bin/python3 on the same raw data (written to /tmp).
// Usage: ctspine_bench_imgproc [--quick] [--reps N] [--no-scipy3]
//   --quick: no scipy order 3, 1.0 mm only, 1 repetition unless --reps;  --reps N: repetitions (median; default 3).
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include <ctspine/imgproc/intensity.hpp>
#include <ctspine/imgproc/nnunet_resample.hpp>
#include <ctspine/imgproc/resample.hpp>

#include "bench_common.hpp"
#ifdef CTSPINE_HAVE_ITK
#include "bench_imgproc_itk_anchor.hpp"
#endif

using namespace ctspine;

namespace {
// Process CPU seconds (all threads): on a shared, oversubscribed machine the wall time of a run can be several times
// its CPU time; printed next to our wall times so idle-machine figures can be estimated.
double cpu_now() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}
double median_cpu(int reps, const std::function<void()>& f) {
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) {
        const double c0 = cpu_now();
        f();
        t.push_back(cpu_now() - c0);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}
// "name: ours X s (M Mvox/s), anchor Y s (M Mvox/s), ratio Z" — ratio = anchor time / our time
void line(const std::string& name, double ours, const std::string& anchor_name, double anchor, double mvox) {
    if (anchor > 0)
        std::printf("%-40s ours %7.3f s (%6.0f Mvox/s), %-26s %7.3f s (%6.0f Mvox/s), ratio %6.2fx\n", name.c_str(), ours, mvox / ours,
                    anchor_name.c_str(), anchor, mvox / anchor, anchor / ours);
    else
        std::printf("%-40s ours %7.3f s (%6.0f Mvox/s), %-26s not measured\n", name.c_str(), ours, mvox / ours, anchor_name.c_str());
    std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
    bool quick = false, no_scipy3 = false;
    int reps = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) quick = true;
        else if (std::strcmp(argv[i], "--no-scipy3") == 0) no_scipy3 = true;
        else if (std::strcmp(argv[i], "--reps") == 0 && i + 1 < argc) reps = std::max(1, std::atoi(argv[++i]));
        else {
            std::fprintf(stderr, "usage: ctspine_bench_imgproc [--quick] [--reps N] [--no-scipy3]\n");
            return 2;
        }
    }
    if (quick) no_scipy3 = true;
    if (reps == 0) reps = quick ? 1 : 3;
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
    std::printf("input 512x512x400 int16 at 0.8x0.8x1.0 mm; hardware threads %d; medians of %d run(s)\n", resolve_threads(0), reps);
    std::fflush(stdout);

    // Python anchors first (they run alone on the machine), then ITK and ours
    const std::string py = bench::run("/usr/bin/python3 " + std::string(CTSPINE_BENCH_DIR) + "/bench_imgproc_anchor.py " + raw + " " +
                                      std::to_string(reps) + (no_scipy3 ? " skip_scipy3" : "") + (quick ? " quick" : ""));
    volume<float> ctf(g);
    for (index_t n = 0; n < ct.size(); ++n) ctf[n] = ct[n];

    for (double iso : {1.0, 1.5}) {
        if (quick && iso != 1.0) continue;
        const std::string tag = iso == 1.0 ? "1mm" : "1.5mm";
        const dims3 t = shape_for_spacing(g.dims, g.spacing_mm, {iso, iso, iso});
        const double mvox = double(voxel_count(t)) / 1e6;  // output voxels
        std::printf("-> %s: %lldx%lldx%lld (%.1f Mvox out)\n", tag.c_str(), (long long)t[0], (long long)t[1], (long long)t[2], mvox);
        volume<float> out(t);
        std::fill(out.begin(), out.end(), 0.f);  // touched: the "reused" policy
        for (int th : {1, 2}) {
            resample_options o;
            o.interp = interpolation::linear;
            o.threads = th;
            const std::string ts = " t" + std::to_string(th);
            const double reused = bench::median_time(reps, [&] { resample_to_shape_into<std::int16_t, float>(ct.view(), out.view(), o); });
            const double fresh = bench::median_time(reps, [&] {
                volume<float> v = resample_to_shape<std::int16_t>(ct.view(), t, o);
                if (v.size() == 0) std::abort();
            });
            const double reused_cpu = median_cpu(reps, [&] { resample_to_shape_into<std::int16_t, float>(ct.view(), out.view(), o); });
            std::printf("linear %s%s: ours reused %.3f s (%.0f Mvox/s; CPU time %.3f s), fresh %.3f s (%.0f Mvox/s)\n", tag.c_str(), ts.c_str(),
                        reused, mvox / reused, reused_cpu, fresh, mvox / fresh);
#ifdef CTSPINE_HAVE_ITK
            {
                const long d[3] = {512, 512, 400}, od[3] = {long(t[0]), long(t[1]), long(t[2])};
                const double sp[3] = {0.8, 0.8, 1.0};
                volume<float> itk_out(t);
                const double itk = itk_anchor::resample_linear(ct.data(), d, sp, od, th, reps, itk_out.data());
                double worst = 0;
                for (index_t n = 0; n < out.size(); ++n) worst = std::max(worst, double(std::abs(itk_out[n] - out[n])));
                line("linear " + tag + ts + " (fresh)", fresh, "ITK ResampleImageFilter", itk, mvox);
                line("linear " + tag + ts + " (ours reused)", reused, "ITK ResampleImageFilter", itk, mvox);
                std::printf("  max |ours - ITK| = %.3g HU (same grid; float32 rounding expected)\n", worst);
            }
#else
            std::printf("linear %s%s: ITK not built (configure with ITK 5 installed: tests/bench/install_bench_deps.sh)\n", tag.c_str(),
                        ts.c_str());
#endif
            line("linear " + tag + ts + " (fresh)", fresh, "scipy zoom o1 (1 thread)", bench::field(py, "scipy1_" + tag), mvox);
            line("linear " + tag + ts + " (fresh)", fresh, "torch trilinear" + ts, bench::field(py, "torch_linear_" + tag + "_t" + std::to_string(th)),
                 mvox);
            const nnunet::shape3 s{400, 512, 512}, ts3{t[2], t[1], t[0]};
            const double cub = bench::median_time(quick ? 1 : std::min(reps, 2), [&] {
                nnunet::resample_data_or_seg_to_shape<float, float>(ctf.data(), s, out.data(), ts3, {1.0, 0.8, 0.8}, {iso, iso, iso}, 3, 0,
                                                                    std::nullopt, th);
            });
            line("cubic nnU-Net " + tag + ts + " (reused)", cub, "scipy zoom o3 (1 thread)", bench::field(py, "scipy3_" + tag), mvox);
        }
    }

    // memory bandwidth (same run) vs windowing / CTNormalization, float32 in → float32 out (8 bytes per voxel moved),
    // all into reused (touched) buffers
    const index_t n = ctf.size();
    const double gb = double(n) * 8 / 1e9, mv = double(n) / 1e6;
    volume<float> dst(g, 0.f), c(g, 0.f);
    for (int th : {1, 2}) {
        const int r5 = quick ? 2 : std::max(reps, 5);
        double copy = bench::median_time(r5, [&] {
            parallel_for(th, n, [&](index_t b, index_t e, int) { std::memcpy(dst.data() + b, ctf.data() + b, size_t(e - b) * 4); }, 1 << 16);
        });
        double triad = bench::median_time(r5, [&] {
            parallel_for(th, n, [&](index_t b, index_t e, int) {
                const float* a = ctf.data();
                float* d = dst.data();
                float* cc = c.data();
                for (index_t i = b; i < e; ++i) d[i] = a[i] + 0.5f * cc[i];
            }, 1 << 16);
        });
        const window_hu wide{500, 3000};  // [-1000, 2000] as anchors.md's ITK figure
        double win = bench::median_time(r5, [&] { window_into(ctf.view(), dst.view(), wide, th); });
        ct_normalization p{-1000, 700, -500, 500};
        double norm = bench::median_time(r5, [&] { ct_normalize(ctf.data(), dst.data(), n, p, th); });
        const double copy_bw = gb / copy, triad_bw = double(n) * 12 / 1e9 / triad;
        std::printf("bandwidth t%d: copy %.1f GB/s, triad %.1f GB/s\n", th, copy_bw, triad_bw);
        std::printf("window t%d (reused): %.3f s, %.0f Mvox/s, %.1f GB/s = %.0f%% of copy\n", th, win, mv / win, gb / win, 100 * gb / win / copy_bw);
        std::printf("ct_normalize t%d (reused): %.3f s, %.0f Mvox/s, %.1f GB/s = %.0f%% of copy\n", th, norm, mv / norm, gb / norm,
                    100 * gb / norm / copy_bw);
#ifdef CTSPINE_HAVE_ITK
        const long d[3] = {512, 512, 400};
        const double itk = itk_anchor::window(ctf.data(), d, -1000.f, 2000.f, th, r5, nullptr);
        const double fresh = bench::median_time(r5, [&] {
            volume<float> v = window(ctf.view(), wide, th);
            if (v.size() == 0) std::abort();
        });
        line("window [-1000,2000] t" + std::to_string(th) + " (fresh)", fresh, "ITK IntensityWindowing", itk, mv);
#endif
    }
    std::printf("anchor raw output (python):\n%s", py.c_str());
    return 0;
}
