// The U-Net engine vs PyTorch (tests/bench/bench_unet_torch.py, run in the same program) on the nnU-Net 3d_fullres-like
// PlainConvUNet (features 32..320, 6 stages, 26 classes, random weights) and on single layers; also measures this
// machine's fp32 FMA peak per kernel ISA and each 3x3x3 convolution's share of it.
// Usage: ctspine_bench_unet [--quick] [--no-anchor] [--isa generic|avx2|avx512] [--layers] [--onnx SCRATCH_DIR]
//   --onnx: also run ONNX Runtime on the same network exported to ONNX (tests/bench/onnx/run_onnx_bench.sh, which
//           installs onnxruntime-node into SCRATCH_DIR) in the same run.
//   --layers: every 3x3x3 convolution of the network at a 128^3 patch, 1 and 2 threads, on each ISA this CPU has.
//   --net-only [--patch P] [--threads T]: only the whole network (and the anchors' network runs), at patch P (96 and
//           128 by default) with T threads (1 and 2 by default); each option may repeat. A 128^3, 2-thread comparison
//           against both anchors takes about 3 minutes.
#include <ctime>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include <ctspine/kernels/conv3d.hpp>
#include <ctspine/nn/unet.hpp>

#include "bench_common.hpp"

using namespace ctspine;
using namespace ctspine::nn;

namespace {
double thread_cpu_now() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// Register-only FMA throughput of one thread (GFLOP/s, thread CPU time) on each kernel ISA: independent accumulators
// (12 YMM / 24 ZMM / 24 generic), unrolled so that they stay in registers (rolled, g++ 12 keeps them in memory and
// the probe measures store forwarding instead).
#if CTSPINE_X86
CTSPINE_TARGET_AVX2 double fma_peak_avx2() {
    __m256 acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(float(i) * 1e-3f);
    const __m256 a = _mm256_set1_ps(1.0000001f), b = _mm256_set1_ps(1e-7f);
    const long iters = 100000000;
    const double t0 = thread_cpu_now();
    for (long n = 0; n < iters; ++n)
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    const double t = thread_cpu_now() - t0;
    float o[8], sink = 0;
    for (auto& x : acc) _mm256_storeu_ps(o, x), sink += o[0];
    if (sink == 42.f) std::printf(" ");
    return 2.0 * 8 * 12 * double(iters) / t / 1e9;
}
CTSPINE_TARGET_AVX512 double fma_peak_avx512() {
    __m512 acc[24];
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_ps(float(i) * 1e-3f);
    const __m512 a = _mm512_set1_ps(1.0000001f), b = _mm512_set1_ps(1e-7f);
    const long iters = 50000000;
    const double t0 = thread_cpu_now();
    for (long n = 0; n < iters; ++n)
#pragma GCC unroll 24
        for (int i = 0; i < 24; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    const double t = thread_cpu_now() - t0;
    float o[16], sink = 0;
    for (auto& x : acc) _mm512_storeu_ps(o, x), sink += o[0];
    if (sink == 42.f) std::printf(" ");
    return 2.0 * 16 * 24 * double(iters) / t / 1e9;
}
#endif
double fma_peak_generic() {
    using B = xsimd::batch<float, simd::default_arch>;
    B acc[24];
    for (int i = 0; i < 24; ++i) acc[i] = B(float(i) * 1e-3f);
    const B a(1.0000001f), b(1e-7f);
    const long iters = 20000000;
    const double t0 = thread_cpu_now();
    for (long n = 0; n < iters; ++n)
#pragma GCC unroll 24
        for (int i = 0; i < 24; ++i) acc[i] = xsimd::fma(acc[i], a, b);
    const double t = thread_cpu_now() - t0;
    float sink = 0;
    for (auto& x : acc) sink += simd::reduce_add(x);
    if (sink == 42.f) std::printf(" ");
    return 2.0 * double(B::size) * 24.0 * double(iters) / t / 1e9;
}
double fma_peak(cpu_isa isa) {
#if CTSPINE_X86
    if (isa == cpu_isa::avx512) return fma_peak_avx512();
    if (isa == cpu_isa::avx2) return fma_peak_avx2();
#endif
    (void)isa;
    return fma_peak_generic();
}

std::string cpu_model() {
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

state_dict random_weights(const unet_config& c) {
    // build every canonical key with He-scaled random values (shapes as docs/nnunet-numerics.md §2.2)
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
    bool quick = false, anchor = true, layers = false, net_only = false;  // --quick: skip the 128^3 cases; --no-anchor: no PyTorch run
    std::vector<index_t> patches;
    std::vector<int> thread_counts;
    cpu_isa isa = cpu_isa::automatic;
    std::string onnx_dir;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--onnx") == 0 && i + 1 < argc) onnx_dir = argv[++i];
        if (std::strcmp(argv[i], "--quick") == 0) quick = true;
        if (std::strcmp(argv[i], "--no-anchor") == 0) anchor = false;
        if (std::strcmp(argv[i], "--layers") == 0) layers = true;
        if (std::strcmp(argv[i], "--net-only") == 0) net_only = true;
        if (std::strcmp(argv[i], "--patch") == 0 && i + 1 < argc) patches.push_back(std::atol(argv[++i]));
        if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) thread_counts.push_back(std::atoi(argv[++i]));
        if (std::strcmp(argv[i], "--isa") == 0 && i + 1 < argc) isa = parse_isa(argv[++i]);
    }
    isa = resolve_isa(isa);
    if (patches.empty()) patches = quick ? std::vector<index_t>{96} : std::vector<index_t>{96, 128};
    if (thread_counts.empty()) thread_counts = {1, 2};
    std::string patch_list, thread_list;  // for the anchors' command lines: "96 128", "1 2"
    for (index_t p : patches) patch_list += (patch_list.empty() ? "" : " ") + std::to_string(p);
    for (int t : thread_counts) thread_list += (thread_list.empty() ? "" : " ") + std::to_string(t);
    const double peak1 = fma_peak(isa);
    std::printf("machine: %s; kernels: %s (this CPU supports up to %s); fp32 FMA peak %.1f GFLOP/s per core on %s (measured)\n",
                cpu_model().c_str(), isa_name(isa), isa_name(cpu_supported_isa()), peak1, isa_name(isa));
    unet_config c;
    c.features_per_stage = {32, 64, 128, 256, 320, 320};
    c.kernel_sizes.assign(6, {3, 3, 3});
    c.strides = {{1, 1, 1}, {2, 2, 2}, {2, 2, 2}, {2, 2, 2}, {2, 2, 2}, {2, 2, 2}};
    c.n_conv_per_stage.assign(6, 2);
    c.n_conv_per_stage_decoder.assign(5, 2);
    c.num_classes = 26;
    if (layers) {
        // every 3x3x3 convolution of the network at a 128^3 patch: (in, out, output size, stride)
        struct L { index_t ci, co, n; int s; };
        std::vector<L> ls;
        index_t n = 128, cin = 1;
        for (size_t s = 0; s < 6; ++s) {
            if (s > 0) n /= 2;
            const index_t F = c.features_per_stage[s];
            ls.push_back({cin, F, n, s == 0 ? 1 : 2});
            ls.push_back({F, F, n, 1});
            cin = F;
        }
        for (int s = 4; s >= 0; --s) {
            const index_t F = c.features_per_stage[size_t(s)];
            ls.push_back({2 * F, F, 128 >> s, 1});
            ls.push_back({F, F, 128 >> s, 1});
        }
        for (cpu_isa li : {cpu_isa::avx512, cpu_isa::avx2, cpu_isa::generic}) {
            if (int(li) > int(cpu_supported_isa())) continue;
            const double pk = li == isa ? peak1 : fma_peak(li);
            std::printf("--- 3x3x3 convolutions on %s (peak %.1f GFLOP/s per core): 1 thread CPU time, 2 threads wall ---\n", isa_name(li), pk);
            double worst = 1e9, worst2 = 1e9;
            for (const L& l : ls) {
                std::vector<float> w(size_t(l.co * l.ci * 27)), b(size_t(l.co), 0.f);
                std::mt19937 rng(3);
                std::normal_distribution<float> g(0, 0.05f);
                for (auto& x : w) x = g(rng);
                const conv_weights cw = conv_weights::pack(w.data(), b.data(), l.ci, l.co, {3, 3, 3}, {l.s, l.s, l.s});
                blocked_tensor in(l.ci, l.n * l.s, l.n * l.s, l.n * l.s), out(l.co, l.n, l.n, l.n);
                dense_channel din;  // the first layer reads the CT densely, as unet::forward gives it
                if (l.ci == 1) din.assign(tensor({1, l.n * l.s, l.n * l.s, l.n * l.s}));
                auto conv = [&](int threads) {
                    if (l.ci == 1) conv3d(din, out, cw, threads, li);
                    else conv3d(in, out, cw, threads, li);
                };
                const double gf = 2.0 * 27 * double(l.ci * l.co) * double(l.n * l.n * l.n) / 1e9;
                const int reps = gf < 1 ? 41 : gf < 5 ? 11 : 3;  // millisecond layers: thread start-up jitter needs many runs
                std::vector<double> t1;
                for (int r = 0; r < reps; ++r) {
                    const double t0 = thread_cpu_now();
                    conv(1);
                    t1.push_back(thread_cpu_now() - t0);
                }
                std::sort(t1.begin(), t1.end());
                const double one = t1[t1.size() / 2];
                const double two = bench::median_time(reps, [&] { conv(2); });
                const double share = gf / one / pk;
                if (l.ci > 1) worst = std::min(worst, share), worst2 = std::min(worst2, one / two);
                std::printf("  %3ld->%3ld at %3ld^3 stride %d: %6.1f GFLOP  1 thr %7.4f s %6.1f GFLOP/s %5.1f%% of peak | 2 thr %7.4f s, x%.2f\n",
                            long(l.ci), long(l.co), long(l.n), l.s, gf, one, gf / one, 100 * share, two, one / two);
            }
            std::printf("  lowest share of peak (layers with > 1 input channel): %.1f%%; lowest 2nd-core speed-up x%.2f\n", 100 * worst, worst2);
        }
        return 0;
    }
    unet net(c, random_weights(c));
    std::printf("PlainConvUNet 3d_fullres-like: %zu parameters\n", net.parameter_count());
    std::string py = !anchor ? std::string()
                             : bench::run(std::string("/usr/bin/python3 ") + CTSPINE_BENCH_DIR + "/bench_unet_torch.py" + (quick ? " --quick" : "") +
                                          (net_only ? " --net-only" : "") + " --patches '" + patch_list + "' --threads '" + thread_list + "' 2>&1");
    std::printf("--- PyTorch anchor output ---\n%s-----------------------------\n", py.c_str());
    const std::string ort = onnx_dir.empty() ? std::string()
                                             : bench::run(std::string("bash ") + CTSPINE_BENCH_DIR + "/onnx/run_onnx_bench.sh " + onnx_dir +
                                                          " --patches '" + patch_list + "' --threads '" + thread_list + "' --no-torch 2>&1");
    if (!onnx_dir.empty()) std::printf("--- ONNX Runtime anchor output ---\n%s----------------------------------\n", ort.c_str());
    // "onnxruntime-node 1.30.0 96^3 1 thr: median 5.279 s" -> seconds
    auto ort_time = [&](index_t p, int threads) {
        const std::string key = std::to_string(p) + "^3 " + std::to_string(threads) + " thr: median ";
        for (size_t pos = ort.find("onnxruntime-node"); pos != std::string::npos; pos = ort.find("onnxruntime-node", pos + 1)) {
            const size_t eol = ort.find('\n', pos), k = ort.find(key, pos);
            if (k != std::string::npos && k < eol) return std::atof(ort.c_str() + k + key.size());
        }
        return -1.0;
    };
    // single layers
    for (auto [ch, n] : {std::pair<index_t, index_t>{32, 128}, std::pair<index_t, index_t>{64, 64}}) {
        if ((quick && n == 128) || net_only) continue;
        std::vector<float> w(size_t(ch * ch * 27), 0.01f), b(size_t(ch), 0.f);
        conv_weights cw = conv_weights::pack(w.data(), b.data(), ch, ch, {3, 3, 3}, {1, 1, 1});
        blocked_tensor in(ch, n, n, n), out(ch, n, n, n);
        const double gf = 2.0 * 27 * double(ch * ch) * double(n * n * n) / 1e9;
        for (int threads : {1, 2}) {
            double t = bench::median_time(3, [&] { conv3d(in, out, cw, threads, isa); });
            char name[96];
            std::snprintf(name, sizeof name, "conv3d %ld->%ld at %ld^3, %d thr (%.0f GFLOP/s, %.0f%% peak)", long(ch), long(ch), long(n), threads,
                          gf / t, 100.0 * gf / t / (peak1 * threads));
            char key[64];
            std::snprintf(key, sizeof key, "conv%ld_%ld_t%d", long(ch), long(n), threads);
            bench::report(name, t, bench::field(py, key), "torch");
        }
    }
    for (index_t p : patches) {
        tensor in({1, p, p, p});
        std::mt19937 rng(2);
        std::normal_distribution<float> g(0, 1);
        for (index_t i = 0; i < in.size(); ++i) in.data()[i] = g(rng);
        const double gf = network_gflop(c, {p, p, p});
        for (int threads : thread_counts) {
            tensor out;
            net.forward(in, out, threads, isa);  // warm-up: plans buffers
            double t = bench::median_time(p == 128 ? 1 : 3, [&] { net.forward(in, out, threads, isa); });
            char name[96];
            std::snprintf(name, sizeof name, "network %ld^3, %d thr (%.0f GFLOP, %.0f GFLOP/s)", long(p), threads, gf, gf / t);
            char key[64];
            std::snprintf(key, sizeof key, "net%ld_t%d", long(p), threads);
            bench::report(name, t, bench::field(py, key), "torch best");
            if (!onnx_dir.empty()) bench::report(name, t, ort_time(p, threads), "onnxruntime");
        }
        std::printf("  working memory %.0f MB (planned), peak RSS so far %ld MB\n", double(net.peak_working_bytes({p, p, p})) / 1e6, bench::peak_rss_mb());
    }
}
