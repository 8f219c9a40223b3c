// The U-Net engine vs PyTorch (tests/bench/bench_unet_torch.py, run in the same program) on the nnU-Net 3d_fullres-like
// PlainConvUNet (features 32..320, 6 stages, 26 classes, random weights) and on single layers; also measures this
// machine's fp32 FMA peak. Usage: ctspine_bench_unet [--quick] [--no-anchor]
#include <cstdio>
#include <cstring>
#include <random>
#include <string>

#include <ctspine/kernels/conv3d.hpp>
#include <ctspine/nn/unet.hpp>

#include "bench_common.hpp"

using namespace ctspine;
using namespace ctspine::nn;

namespace {
/// Register-only FMA throughput of one thread (GFLOP/s): 24 independent accumulators, long loop.
double fma_peak_one_thread() {
    using B = xsimd::batch<float, simd::default_arch>;
    B acc[24];
    for (int i = 0; i < 24; ++i) acc[i] = B(float(i) * 1e-3f);
    const B a(1.0000001f), b(1e-7f);
    const long iters = 20000000;
    double t0 = bench::now();
    for (long n = 0; n < iters; ++n)
        // Unrolled so the 24 accumulators live in registers: rolled, g++ 12 keeps acc[] in memory and the probe
        // measures store-forwarding latency instead (105 instead of 175 GFLOP/s here; anchors.md says 176).
#pragma GCC unroll 24
        for (int i = 0; i < 24; ++i) acc[i] = xsimd::fma(acc[i], a, b);
    double t = bench::now() - t0;
    float sink = 0;
    for (auto& x : acc) sink += simd::reduce_add(x);
    if (sink == 42.f) std::printf(" ");
    return 2.0 * double(B::size) * 24.0 * double(iters) / t / 1e9;
}

state_dict random_weights(const unet_config& c) {
    // build every canonical key with He-scaled random values (shapes as nnunet-spec.md §2.2)
    std::mt19937 rng(1);
    std::normal_distribution<float> g(0, 1);
    state_dict sd;
    auto add = [&](const std::string& k, std::vector<index_t> shape, float scale) {
        parameter p;
        p.shape = shape;
        index_t n = 1;
        for (auto d : shape) n *= d;
        p.values.resize(size_t(n));
        for (auto& v : p.values) v = g(rng) * scale;
        sd[k] = std::move(p);
    };
    const int n = c.n_stages();
    auto conv = [&](const std::string& p, index_t ci, index_t co, std::array<int, 3> k) {
        add(p + ".conv.weight", {co, ci, k[0], k[1], k[2]}, std::sqrt(2.f / float(ci * k[0] * k[1] * k[2])));
        add(p + ".conv.bias", {co}, 0.1f);
        add(p + ".norm.weight", {co}, 0.1f);
        add(p + ".norm.bias", {co}, 0.1f);
        for (auto* s : {".norm.weight"}) sd[p + s].values.assign(size_t(co), 1.f);
    };
    int cin = c.input_channels;
    for (int s = 0; s < n; ++s)
        for (int j = 0; j < c.n_conv_per_stage[size_t(s)]; ++j) {
            conv("encoder.stages." + std::to_string(s) + ".0.convs." + std::to_string(j), j == 0 ? cin : c.features_per_stage[size_t(s)],
                 c.features_per_stage[size_t(s)], c.kernel_sizes[size_t(s)]);
            if (j == 0) cin = c.features_per_stage[size_t(s)];
        }
    for (int s = 0; s < n - 1; ++s) {
        const int below = c.features_per_stage[size_t(n - 1 - s)], skip = c.features_per_stage[size_t(n - 2 - s)];
        auto st = c.strides[size_t(n - 1 - s)];
        add("decoder.transpconvs." + std::to_string(s) + ".weight", {below, skip, st[0], st[1], st[2]}, std::sqrt(1.f / float(below)));
        add("decoder.transpconvs." + std::to_string(s) + ".bias", {skip}, 0.1f);
        for (int j = 0; j < c.n_conv_per_stage_decoder[size_t(s)]; ++j)
            conv("decoder.stages." + std::to_string(s) + ".convs." + std::to_string(j), j == 0 ? 2 * skip : skip, skip, c.kernel_sizes[size_t(n - 2 - s)]);
        add("decoder.seg_layers." + std::to_string(s) + ".weight", {c.num_classes, skip, 1, 1, 1}, 0.1f);
        add("decoder.seg_layers." + std::to_string(s) + ".bias", {c.num_classes}, 0.1f);
    }
    return sd;
}

double network_gflop(const unet_config& c, std::array<index_t, 3> p) {
    double f = 0;
    auto vox = [](std::array<index_t, 3> s) { return double(s[0]) * double(s[1]) * double(s[2]); };
    std::vector<std::array<index_t, 3>> sizes;
    int cin = c.input_channels;
    for (int s = 0; s < c.n_stages(); ++s) {
        for (int a = 0; a < 3; ++a) p[size_t(a)] /= c.strides[size_t(s)][size_t(a)];
        sizes.push_back(p);
        const int F = c.features_per_stage[size_t(s)];
        f += 2.0 * 27 * cin * F * vox(p) + (c.n_conv_per_stage[size_t(s)] - 1) * 2.0 * 27 * F * F * vox(p);
        cin = F;
    }
    for (int s = 0; s < c.n_stages() - 1; ++s) {
        const int n = c.n_stages();
        const int below = c.features_per_stage[size_t(n - 1 - s)], F = c.features_per_stage[size_t(n - 2 - s)];
        auto sz = sizes[size_t(n - 2 - s)];
        f += 2.0 * below * F * vox(sz);                                   // transposed conv
        f += 2.0 * 27 * 2 * F * F * vox(sz) + 2.0 * 27 * F * F * vox(sz);  // two decoder convs
    }
    f += 2.0 * c.features_per_stage[0] * c.num_classes * vox(sizes[0]);
    return f / 1e9;
}
}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress visible when redirected
    bool quick = false, anchor = true;  // --quick: skip the 128^3 cases; --no-anchor: ours only (no PyTorch run)
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) quick = true;
        if (std::strcmp(argv[i], "--no-anchor") == 0) anchor = false;
    }
    const double peak1 = fma_peak_one_thread();
    std::printf("machine: fp32 FMA peak %.1f GFLOP/s per core (measured)\n", peak1);
    unet_config c;
    c.features_per_stage = {32, 64, 128, 256, 320, 320};
    c.kernel_sizes.assign(6, {3, 3, 3});
    c.strides = {{1, 1, 1}, {2, 2, 2}, {2, 2, 2}, {2, 2, 2}, {2, 2, 2}, {2, 2, 2}};
    c.n_conv_per_stage.assign(6, 2);
    c.n_conv_per_stage_decoder.assign(5, 2);
    c.num_classes = 26;
    unet net(c, random_weights(c));
    std::printf("PlainConvUNet 3d_fullres-like: %zu parameters\n", net.parameter_count());
    std::string py = !anchor ? std::string() : bench::run(std::string("/usr/bin/python3 ") + CTSPINE_BENCH_DIR + "/bench_unet_torch.py" + (quick ? " --quick" : "") + " 2>&1");
    std::printf("--- PyTorch anchor output ---\n%s-----------------------------\n", py.c_str());
    // single layers
    for (auto [ch, n] : {std::pair<index_t, index_t>{32, 128}, std::pair<index_t, index_t>{64, 64}}) {
        if (quick && n == 128) continue;
        std::vector<float> w(size_t(ch * ch * 27), 0.01f), b(size_t(ch), 0.f);
        conv_weights cw = conv_weights::pack(w.data(), b.data(), ch, ch, {3, 3, 3}, {1, 1, 1});
        blocked_tensor in(ch, n, n, n), out(ch, n, n, n);
        const double gf = 2.0 * 27 * double(ch * ch) * double(n * n * n) / 1e9;
        for (int threads : {1, 2}) {
            double t = bench::median_time(3, [&] { conv3d(in, out, cw, threads); });
            char name[96];
            std::snprintf(name, sizeof name, "conv3d %ld->%ld at %ld^3, %d thr (%.0f GFLOP/s, %.0f%% peak)", long(ch), long(ch), long(n), threads,
                          gf / t, 100.0 * gf / t / (peak1 * threads));
            char key[64];
            std::snprintf(key, sizeof key, "conv%ld_%ld_t%d", long(ch), long(n), threads);
            bench::report(name, t, bench::field(py, key), "torch");
        }
    }
    for (index_t p : {index_t(96), index_t(128)}) {
        if (quick && p == 128) continue;
        tensor in({1, p, p, p});
        std::mt19937 rng(2);
        std::normal_distribution<float> g(0, 1);
        for (index_t i = 0; i < in.size(); ++i) in.data()[i] = g(rng);
        const double gf = network_gflop(c, {p, p, p});
        for (int threads : {1, 2}) {
            tensor out;
            net.forward(in, out, threads);  // warm-up: plans buffers
            double t = bench::median_time(p == 128 ? 1 : 3, [&] { net.forward(in, out, threads); });
            char name[96];
            std::snprintf(name, sizeof name, "network %ld^3, %d thr (%.0f GFLOP, %.0f GFLOP/s)", long(p), threads, gf, gf / t);
            char key[64];
            std::snprintf(key, sizeof key, "net%ld_t%d", long(p), threads);
            bench::report(name, t, bench::field(py, key), "torch best");
        }
        std::printf("  working memory %.0f MB (planned), peak RSS so far %ld MB\n", double(net.peak_working_bytes({p, p, p})) / 1e6, bench::peak_rss_mb());
    }
}
