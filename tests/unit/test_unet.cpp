// The U-Net engine against PyTorch (fixtures: tests/reference/make_unet_fixtures.py with dna_unet.py), and the fast
// blocked kernels against their scalar reference twins.
#include <doctest/doctest.h>

#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <ctspine/io/gzip.hpp>
#include <ctspine/kernels/conv3d.hpp>
#include <ctspine/kernels/conv_transpose3d.hpp>
#include <ctspine/kernels/instance_norm.hpp>
#include <ctspine/kernels/reference/nn_reference.hpp>
#include <ctspine/nn/unet.hpp>

#include "test_support.hpp"

using namespace ctspine;
using namespace ctspine::nn;

namespace {
state_dict read_tensors(const std::string& path) {
    ctspine::detail::byte_source src(path);
    char magic[4];
    src.read_exact(magic, 4, "magic");
    REQUIRE(std::memcmp(magic, "CTST", 4) == 0);
    std::uint32_t n;
    src.read_exact(&n, 4, "count");
    state_dict sd;
    for (std::uint32_t i = 0; i < n; ++i) {
        std::uint32_t len, rank;
        src.read_exact(&len, 4, "name length");
        std::string name(len, '\0');
        src.read_exact(name.data(), len, "name");
        src.read_exact(&rank, 4, "rank");
        parameter p;
        p.shape.resize(rank);
        index_t count = 1;
        for (auto& d : p.shape) {
            std::int64_t v;
            src.read_exact(&v, 8, "dim");
            d = v;
            count *= v;
        }
        p.values.resize(static_cast<size_t>(count));
        src.read_exact(p.values.data(), static_cast<size_t>(count) * 4, "data");
        sd[name] = std::move(p);
    }
    return sd;
}

tensor to_tensor(const parameter& p) {
    tensor t({p.shape[0], p.shape[1], p.shape[2], p.shape[3]});
    std::copy(p.values.begin(), p.values.end(), t.data());
    return t;
}

unet_config parse_config(const std::string& line, std::string& name) {
    std::istringstream is(line);
    std::string kind, bar;
    unet_config c;
    int n;
    is >> name >> kind >> c.input_channels >> c.num_classes >> n;
    c.kind = kind == "plain" ? unet_kind::plain : unet_kind::residual_encoder;
    c.features_per_stage.resize(size_t(n));
    for (auto& f : c.features_per_stage) is >> f;
    is >> bar;
    c.kernel_sizes.resize(size_t(n));
    for (auto& k : c.kernel_sizes) is >> k[0] >> k[1] >> k[2];
    is >> bar;
    c.strides.resize(size_t(n));
    for (auto& s : c.strides) is >> s[0] >> s[1] >> s[2];
    is >> bar;
    c.n_conv_per_stage.resize(size_t(n));
    for (auto& v : c.n_conv_per_stage) is >> v;
    is >> bar;
    c.n_conv_per_stage_decoder.resize(size_t(n - 1));
    for (auto& v : c.n_conv_per_stage_decoder) is >> v;
    return c;
}
}  // namespace

TEST_CASE("PlainConvUNet and ResidualEncoderUNet match PyTorch") {
    std::ifstream f(ctspine_test::repo_data("unet/cases.txt"));
    std::string line;
    int cases = 0;
    while (std::getline(f, line)) {
        std::string name;
        unet_config cfg = parse_config(line, name);
        INFO(name);
        state_dict sd = read_tensors(ctspine_test::repo_data("unet/" + name + ".bin").string());
        tensor input = to_tensor(sd.at("__input__")), expect = to_tensor(sd.at("__output__"));
        sd.erase("__input__");
        sd.erase("__output__");
        unet net(cfg, sd);
        tensor out1 = net.forward(input, 1), out2 = net.forward(input, 2);
        REQUIRE(out1.shape() == expect.shape());
        CHECK(std::memcmp(out1.data(), out2.data(), sizeof(float) * size_t(out1.size())) == 0);  // thread-count independent
        net.release_workspace();  // as the segmenter does between folds: the next forward allocates it again
        const tensor out3 = net.forward(input, 2);
        CHECK(std::memcmp(out1.data(), out3.data(), sizeof(float) * size_t(out1.size())) == 0);
        // the same logits, bit for bit, on every kernel ISA this CPU has (generic only where its fma is fused)
        for (cpu_isa isa : {cpu_isa::avx512, cpu_isa::avx2, cpu_isa::generic}) {
            if (int(isa) > int(cpu_supported_isa()) || (isa == cpu_isa::generic && !ctspine::nn::detail::generic_fma_fused)) continue;
            INFO(isa_name(isa));
            const tensor o = net.forward(input, 3, isa);
            CHECK(std::memcmp(out1.data(), o.data(), sizeof(float) * size_t(out1.size())) == 0);
        }
        float maxabs = 0, maxdiff = 0;
        for (index_t i = 0; i < expect.size(); ++i) {
            maxabs = std::max(maxabs, std::abs(expect.data()[i]));
            maxdiff = std::max(maxdiff, std::abs(expect.data()[i] - out1.data()[i]));
        }
        CHECK(maxdiff <= 1e-4f * maxabs);
        // argmax identical except where torch's top two logits are within 1e-5
        const index_t K = expect.shape()[0], S = expect.spatial_size();
        index_t mismatches = 0;
        for (index_t v = 0; v < S; ++v) {
            index_t a = 0, b = 0;
            float best = -INFINITY, second = -INFINITY;
            for (index_t k = 0; k < K; ++k) {
                float e = expect.channel(k)[v];
                if (e > best) {
                    second = best;
                    best = e;
                    a = k;
                } else if (e > second) {
                    second = e;
                }
                if (out1.channel(k)[v] > out1.channel(b)[v]) b = k;
            }
            if (a != b && best - second >= 1e-5f) ++mismatches;
        }
        CHECK(mismatches == 0);
        ++cases;
    }
    CHECK(cases == 5);
}

TEST_CASE("blocked kernels equal the scalar reference on odd shapes and channel counts") {
    std::mt19937 rng(11);
    std::normal_distribution<float> g(0, 1);
    struct conv_case { index_t ci, co, d, h, w; std::array<int, 3> k, s; };
    for (const conv_case& c : {conv_case{1, 5, 3, 5, 7, {3, 3, 3}, {1, 1, 1}}, conv_case{17, 33, 4, 6, 10, {3, 3, 3}, {2, 2, 2}},
                               conv_case{16, 16, 2, 7, 13, {1, 3, 3}, {1, 2, 2}}, conv_case{20, 3, 3, 3, 3, {1, 1, 1}, {1, 1, 1}},
                               conv_case{32, 48, 4, 4, 25, {3, 3, 3}, {1, 1, 1}}}) {
        INFO(c.ci << "->" << c.co);
        tensor in({c.ci, c.d, c.h, c.w});
        for (index_t i = 0; i < in.size(); ++i) in.data()[i] = g(rng);
        std::vector<float> w(size_t(c.co * c.ci * c.k[0] * c.k[1] * c.k[2])), b(size_t(c.co));
        for (auto& x : w) x = g(rng);
        for (auto& x : b) x = g(rng);
        tensor ref = reference::conv3d(in, w, b, c.co, c.k, c.s);
        blocked_tensor bi, bo;
        bi.from_tensor(in);
        bo.reset(c.co, ref.shape()[1], ref.shape()[2], ref.shape()[3]);
        conv3d(bi, bo, conv_weights::pack(w.data(), b.data(), c.ci, c.co, c.k, c.s), 2);
        tensor out;
        bo.to_tensor(out);
        for (index_t i = 0; i < ref.size(); ++i) REQUIRE(out.data()[i] == doctest::Approx(ref.data()[i]).epsilon(1e-4).scale(1.0));
        // instance norm + leaky relu
        std::vector<float> gamma(size_t(c.co)), beta(size_t(c.co));
        for (auto& x : gamma) x = 1 + 0.3f * g(rng);
        for (auto& x : beta) x = 0.1f * g(rng);
        instance_norm_act(bo, gamma, beta, 1e-5, 0.01, 2);
        reference::instance_norm_act(ref, gamma, beta, 1e-5, 0.01);
        bo.to_tensor(out);
        for (index_t i = 0; i < ref.size(); ++i) REQUIRE(out.data()[i] == doctest::Approx(ref.data()[i]).epsilon(1e-4).scale(1.0));
    }
    // transposed convolution and average pooling
    for (std::array<int, 3> s : {std::array<int, 3>{2, 2, 2}, std::array<int, 3>{1, 2, 2}}) {
        tensor in({24, 3, 4, 5});
        for (index_t i = 0; i < in.size(); ++i) in.data()[i] = g(rng);
        std::vector<float> w(size_t(24 * 10 * s[0] * s[1] * s[2])), b(10);
        for (auto& x : w) x = g(rng);
        for (auto& x : b) x = g(rng);
        tensor ref = reference::conv_transpose3d(in, w, b, 10, s);
        blocked_tensor bi, bo;
        bi.from_tensor(in);
        bo.reset(10, ref.shape()[1], ref.shape()[2], ref.shape()[3]);
        conv_transpose3d(bi, bo, transpose_weights::pack(w.data(), b.data(), 24, 10, s), 0, 2);
        tensor out;
        bo.to_tensor(out);
        for (index_t i = 0; i < ref.size(); ++i) REQUIRE(out.data()[i] == doctest::Approx(ref.data()[i]).epsilon(1e-4).scale(1.0));
        tensor pin({7, 4, 6, 8});
        for (index_t i = 0; i < pin.size(); ++i) pin.data()[i] = g(rng);
        tensor pref = reference::avg_pool3d(pin, s);
        blocked_tensor pb, po;
        pb.from_tensor(pin);
        po.reset(7, pref.shape()[1], pref.shape()[2], pref.shape()[3]);
        avg_pool3d(pb, po, s, 2);
        po.to_tensor(out);
        for (index_t i = 0; i < pref.size(); ++i) REQUIRE(out.data()[i] == doctest::Approx(pref.data()[i]).epsilon(1e-5));
    }
}

TEST_CASE("weights are checked by name and shape") {
    std::ifstream f(ctspine_test::repo_data("unet/cases.txt"));
    std::string line, name;
    std::getline(f, line);
    unet_config cfg = parse_config(line, name);
    state_dict sd = read_tensors(ctspine_test::repo_data("unet/" + name + ".bin").string());
    sd.erase("__input__");
    sd.erase("__output__");
    auto expect_error = [&](state_dict bad, const std::string& key) {
        try {
            unet net(cfg, bad);
            FAIL("no error");
        } catch (const ctspine::error& e) {
            CHECK(e.code() == errc::model_format);
            CHECK(std::string(e.what()).find(key) != std::string::npos);
        }
    };
    auto missing = sd;
    missing.erase("decoder.transpconvs.0.weight");
    expect_error(missing, "decoder.transpconvs.0.weight");
    auto wrong = sd;
    wrong["encoder.stages.1.0.convs.0.conv.bias"].shape = {3};
    expect_error(wrong, "encoder.stages.1.0.convs.0.conv.bias");
    auto extra = sd;
    extra["encoder.stages.9.0.convs.0.conv.weight"] = sd.begin()->second;
    expect_error(extra, "encoder.stages.9.0.convs.0.conv.weight");
    auto alias = sd;  // alias keys are ignored
    alias["decoder.encoder.stages.0.0.convs.0.conv.weight"] = sd.at("encoder.stages.0.0.convs.0.conv.weight");
    alias["encoder.stages.0.0.convs.0.all_modules.0.weight"] = sd.at("encoder.stages.0.0.convs.0.conv.weight");
    unet ok(cfg, alias);
    tensor bad_in({1, 7, 12, 16});  // 7 is not a multiple of the total stride 4
    CHECK_THROWS_AS(ok.forward(bad_in), ctspine::error);
    CHECK(ok.peak_working_bytes({8, 12, 16}) > 0);
}

TEST_CASE("single layers match torch.nn (Conv3d, ConvTranspose3d, InstanceNorm3d + LeakyReLU/ReLU)") {
    const state_dict t = read_tensors(ctspine_test::repo_data("unet/layers.bin").string());
    auto check = [](const tensor& ours, const parameter& ref) {
        REQUIRE(ours.size() == index_t(ref.values.size()));
        for (int a = 0; a < 4; ++a) REQUIRE(ours.shape()[size_t(a)] == ref.shape[size_t(a)]);
        float mx = 0;
        for (float v : ref.values) mx = std::max(mx, std::abs(v));
        for (index_t i = 0; i < ours.size(); ++i) REQUIRE(std::abs(ours.data()[i] - ref.values[size_t(i)]) <= 1e-5f * mx + 1e-6f);
    };
    auto meta3 = [](const parameter& m, int o) { return std::array<int, 3>{int(m.values[size_t(o)]), int(m.values[size_t(o + 1)]), int(m.values[size_t(o + 2)])}; };
    int n_conv = 0, n_tconv = 0, n_norm = 0;
    for (int i = 0; t.count("conv" + std::to_string(i) + ".input"); ++i, ++n_conv) {
        const std::string p = "conv" + std::to_string(i) + ".";
        INFO(p);
        const tensor in = to_tensor(t.at(p + "input"));
        const parameter& w = t.at(p + "weight");
        const parameter& ref = t.at(p + "output");
        const auto k = meta3(t.at(p + "meta"), 0), s = meta3(t.at(p + "meta"), 3);
        const index_t ci = w.shape[1], co = w.shape[0];
        check(reference::conv3d(in, w.values, t.at(p + "bias").values, co, k, s), ref);  // the scalar twin itself
        blocked_tensor bi, bo;
        bi.from_tensor(in);
        bo.reset(co, ref.shape[1], ref.shape[2], ref.shape[3]);
        for (int threads : {1, 2}) {
            conv3d(bi, bo, conv_weights::pack(w.values.data(), t.at(p + "bias").values.data(), ci, co, k, s), threads);
            tensor out;
            bo.to_tensor(out);
            check(out, ref);
        }
    }
    for (int i = 0; t.count("tconv" + std::to_string(i) + ".input"); ++i, ++n_tconv) {
        const std::string p = "tconv" + std::to_string(i) + ".";
        INFO(p);
        const tensor in = to_tensor(t.at(p + "input"));
        const parameter& w = t.at(p + "weight");  // (C_in, C_out, s0, s1, s2)
        const parameter& ref = t.at(p + "output");
        const auto s = meta3(t.at(p + "meta"), 0);
        const index_t ci = w.shape[0], co = w.shape[1];
        check(reference::conv_transpose3d(in, w.values, t.at(p + "bias").values, co, s), ref);
        blocked_tensor bi, bo;
        bi.from_tensor(in);
        bo.reset(co, ref.shape[1], ref.shape[2], ref.shape[3]);
        conv_transpose3d(bi, bo, transpose_weights::pack(w.values.data(), t.at(p + "bias").values.data(), ci, co, s), 0, 2);
        tensor out;
        bo.to_tensor(out);
        check(out, ref);
    }
    for (int i = 0; t.count("norm" + std::to_string(i) + ".input"); ++i, ++n_norm) {
        const std::string p = "norm" + std::to_string(i) + ".";
        INFO(p);
        const parameter& m = t.at(p + "meta");
        tensor in = to_tensor(t.at(p + "input"));
        const parameter& ref = t.at(p + "output");
        blocked_tensor b;
        b.from_tensor(in);
        instance_norm_act(b, t.at(p + "weight").values, t.at(p + "bias").values, double(m.values[0]), double(m.values[1]), 2);
        tensor out;
        b.to_tensor(out);
        check(out, ref);
        reference::instance_norm_act(in, t.at(p + "weight").values, t.at(p + "bias").values, double(m.values[0]), double(m.values[1]));
        check(in, ref);
    }
    CHECK(n_conv == 6);
    CHECK(n_tconv == 2);
    CHECK(n_norm == 2);
}

TEST_CASE("kernels instantiated for narrower archs (AVX2, SSE4.2) equal the scalar reference") {
    std::mt19937 rng(5);
    std::normal_distribution<float> g(0, 1);
    tensor in({19, 3, 5, 11});
    for (index_t i = 0; i < in.size(); ++i) in.data()[i] = g(rng);
    std::vector<float> w(size_t(21 * 19 * 27)), b(21), tw(size_t(19 * 6 * 4)), tb(6);
    for (auto* v : {&w, &b, &tw, &tb})
        for (auto& x : *v) x = g(rng);
    const tensor ref = reference::conv3d(in, w, b, 21, {3, 3, 3}, {1, 1, 1});
    const tensor tref = reference::conv_transpose3d(in, tw, tb, 6, {1, 2, 2});
    blocked_tensor bi;
    bi.from_tensor(in);
    const conv_weights cw = conv_weights::pack(w.data(), b.data(), 19, 21, {3, 3, 3}, {1, 1, 1});
    const transpose_weights tws = transpose_weights::pack(tw.data(), tb.data(), 19, 6, {1, 2, 2});
    auto run = [&](auto arch) {
        using A = decltype(arch);
        INFO(A::name());
        blocked_tensor bo(21, 3, 5, 11), to(6, 3, 10, 22);
        conv3d_generic<A>(bi, bo, cw, 2);
        conv_transpose3d_generic<A>(bi, to, tws, 0, 2);
        tensor out;
        bo.to_tensor(out);
        for (index_t i = 0; i < ref.size(); ++i) REQUIRE(out.data()[i] == doctest::Approx(ref.data()[i]).epsilon(1e-4).scale(1.0));
        to.to_tensor(out);
        for (index_t i = 0; i < tref.size(); ++i) REQUIRE(out.data()[i] == doctest::Approx(tref.data()[i]).epsilon(1e-4).scale(1.0));
    };
    int archs = 0;
#if XSIMD_WITH_AVX2 && XSIMD_WITH_FMA3_AVX2
    run(xsimd::fma3<xsimd::avx2>{});
    ++archs;
#endif
#if XSIMD_WITH_SSE4_2
    run(xsimd::sse4_2{});
    ++archs;
#endif
    run(simd::default_arch{});
    MESSAGE("narrower archs checked: " << archs);
}
