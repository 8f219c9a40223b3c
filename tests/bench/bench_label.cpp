// Connected components on a 512×512×400 multi-label volume (~25 touching "vertebrae" + noise specks) and its binary
// mask: ctspine vs cc3d (C++, built from a local copy, see CMakeLists) and scipy.ndimage.label, in one run.
// Output buffers are pre-faulted on both C++ sides (anchors.md: first-touch faults are half of cc3d's time).
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include <ctspine/label/connected_components.hpp>

#include "bench_common.hpp"

#ifdef CTSPINE_HAVE_CC3D
#include <cc3d.hpp>
#endif

int main() {
    using namespace ctspine;
    const index_t nx = 512, ny = 512, nz = 400;
    volume<std::uint8_t> v(dims3{nx, ny, nz}, 0);
    // 25 ellipsoids stacked along z, each touching the next, labels 1..25
    for (int b = 0; b < 25; ++b) {
        double cz = 8 + b * 15.6, cy = 256 + 40 * std::sin(b * 0.2), cx = 256;
        for (index_t z = std::max<index_t>(0, index_t(cz - 9)); z < std::min<index_t>(nz, index_t(cz + 10)); ++z)
            for (index_t y = index_t(cy - 60); y < index_t(cy + 60); ++y)
                for (index_t x = 196; x < 316; ++x) {
                    double dx = (x - cx) / 58.0, dy = (y - cy) / 55.0, dz = (z - cz) / 8.6;
                    if (dx * dx + dy * dy + dz * dz < 1) v(x, y, z) = std::uint8_t(b + 1);
                }
    }
    std::mt19937 rng(1);
    for (int s = 0; s < 200000; ++s) v[index_t(rng() % std::uint32_t(v.size()))] = std::uint8_t(1 + rng() % 25);
    volume<std::uint8_t> mask(v.geometry());
    for (index_t n = 0; n < v.size(); ++n) mask[n] = v[n] != 0;
    volume<std::uint32_t> out(v.geometry(), 0);  // pre-faulted
    const char* path_ml = "/tmp/ctspine_bench_label_ml.raw";
    const char* path_bin = "/tmp/ctspine_bench_label_bin.raw";
    if (FILE* f = std::fopen(path_ml, "wb")) { std::fwrite(v.data(), 1, size_t(v.size()), f); std::fclose(f); }
    if (FILE* f = std::fopen(path_bin, "wb")) { std::fwrite(mask.data(), 1, size_t(mask.size()), f); std::fclose(f); }
    std::printf("connected components, 512x512x400 uint8, 26-connectivity, %d labels + specks\n", 25);
    std::string py = bench::run(std::string("/usr/bin/python3 ") + CTSPINE_BENCH_DIR + "/bench_label_scipy.py " + path_ml + " " + path_bin);
    for (int which = 0; which < 2; ++which) {
        const auto& in = which == 0 ? v : mask;
        const char* kind = which == 0 ? "multi-label" : "binary";
#ifdef CTSPINE_HAVE_CC3D
        size_t N = 0;
        double t_cc3d = bench::median_time(5, [&] {
            // cc3d's own default sizing of its union-find (what its convenience overload does)
            size_t max_labels = std::min<size_t>(cc3d::estimate_provisional_label_count(in.data(), nx, size_t(in.size())), size_t(in.size()));
            cc3d::connected_components3d<std::uint8_t, std::uint32_t>(const_cast<std::uint8_t*>(in.data()), nx, ny, nz, max_labels, 26,
                                                                      out.data(), N);
        });
        std::printf("  cc3d found %zu components\n", N);
#else
        double t_cc3d = -1;
#endif
        for (int threads : {1, 2}) {
            cc_options o;
            o.threads = threads;
            o.binary = which == 1;
            o.statistics = false;  // labels only, like cc3d; statistics are timed separately below
            cc_result r;
            double t = bench::median_time(5, [&] { r = connected_components_into<std::uint32_t, std::uint8_t>(in.view(), out.view(), o); });
            char name[128];
            std::snprintf(name, sizeof name, "%s, %d thread%s (%ld comps)", kind, threads, threads > 1 ? "s" : "", long(r.count));
            bench::report(name, t, t_cc3d, "cc3d(1 thread)");
            if (threads == 1) {
                bench::report(std::string("  vs scipy ") + kind, t, bench::field(py, which == 0 ? "scipy_ml" : "scipy_bin"), "scipy");
                o.statistics = true;
                double ts = bench::median_time(5, [&] { r = connected_components_into<std::uint32_t, std::uint8_t>(in.view(), out.view(), o); });
                bench::report(std::string("  with per-component statistics, ") + kind, ts, t_cc3d, "cc3d(no stats)");
            }
        }
    }
    std::printf("peak RSS %ld MB\n", bench::peak_rss_mb());
    std::remove(path_ml);
    std::remove(path_bin);
}
