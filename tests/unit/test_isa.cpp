// Run-time kernel ISA choice (core/cpu.hpp) and bit-identity of every kernel form: the AVX-512 and AVX2 micro-kernels
// (and the generic xsimd form where its fma is fused) must equal the scalar twins of
// kernels/reference/blocked_fma_reference.hpp bit for bit, which themselves are checked against the PyTorch-semantics
// references (float64 accumulation) to a tolerance. The twin fixes the order of the fused multiply-adds, so equality
// is the claim "identical results on every CPU", not an accident of one machine.
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <random>

#include <ctspine/core/cpu.hpp>
#include <ctspine/kernels/conv3d.hpp>
#include <ctspine/kernels/conv_transpose3d.hpp>
#include <ctspine/kernels/instance_norm.hpp>
#include <ctspine/kernels/reference/blocked_fma_reference.hpp>
#include <ctspine/kernels/reference/nn_reference.hpp>

using namespace ctspine;
using namespace ctspine::nn;

namespace {
std::vector<cpu_isa> isas_here() {
    std::vector<cpu_isa> v;
    for (cpu_isa i : {cpu_isa::generic, cpu_isa::avx2, cpu_isa::avx512})
        if (int(i) <= int(cpu_supported_isa())) v.push_back(i);
    return v;
}
/// Bitwise equal on the interior and the halo (the halo must stay zero).
bool same_bits(const blocked_tensor& a, const blocked_tensor& b) {
    if (a.channels() != b.channels() || a.D() != b.D() || a.H() != b.H() || a.W() != b.W()) return false;
    return std::memcmp(a.at(0, 0, 0, 0), b.at(0, 0, 0, 0), sizeof(float) * size_t(a.cblocks() * a.block_stride())) == 0;
}
void fill(blocked_tensor& t, std::mt19937& rng) {
    std::normal_distribution<float> g(0, 1);
    for (index_t c = 0; c < t.channels(); ++c)
        for (index_t d = 0; d < t.D(); ++d)
            for (index_t h = 0; h < t.H(); ++h)
                for (index_t w = 0; w < t.W(); ++w) t.at(c / block, d + 1, h + 1, w + 1)[c % block] = g(rng);
}
std::vector<float> randv(size_t n, std::mt19937& rng, float scale = 1, float offset = 0) {
    std::normal_distribution<float> g(0, 1);
    std::vector<float> v(n);
    for (auto& x : v) x = offset + scale * g(rng);
    return v;
}
/// The fast form must equal the twin bitwise, except the generic form of a build without FMA (two roundings):
/// there within 1e-5 relative.
void expect_equal(cpu_isa isa, const blocked_tensor& got, const blocked_tensor& twin) {
    INFO(isa_name(isa));
    if (isa != cpu_isa::generic || nn::detail::generic_fma_fused) {
        CHECK(same_bits(got, twin));
        return;
    }
    tensor a, b;
    got.to_tensor(a);
    twin.to_tensor(b);
    for (index_t i = 0; i < a.size(); ++i) REQUIRE(a.data()[i] == doctest::Approx(b.data()[i]).epsilon(1e-5).scale(1.0));
}
}  // namespace

TEST_CASE("ISA detection, names, override and refusal") {
    const cpu_isa hw = cpu_supported_isa();
    CHECK(int(hw) >= int(cpu_isa::generic));
    CHECK(int(default_isa()) <= int(hw));
    CHECK(resolve_isa(cpu_isa::automatic) == default_isa());
    CHECK(resolve_isa(cpu_isa::generic) == cpu_isa::generic);
    for (cpu_isa i : {cpu_isa::automatic, cpu_isa::generic, cpu_isa::avx2, cpu_isa::avx512}) CHECK(parse_isa(isa_name(i)) == i);
    CHECK(parse_isa("auto") == cpu_isa::automatic);
    try {
        parse_isa("avx1024");
        FAIL("no error");
    } catch (const error& e) {
        CHECK(e.code() == errc::invalid_argument);
    }
    if (hw != cpu_isa::avx512) {  // asking for more than the CPU has is an error, never an illegal instruction
        try {
            resolve_isa(cpu_isa::avx512);
            FAIL("no error");
        } catch (const error& e) {
            CHECK(e.code() == errc::unsupported);
        }
    }
    // CI and the QEMU runs say which path this CPU model must select (tests/cross/run_qemu_tests.sh)
    if (const char* want = std::getenv("CTSPINE_EXPECT_ISA")) {
        MESSAGE("selected kernels: " << std::string(isa_name(default_isa())) << ", expected " << std::string(want));
        CHECK(std::string(isa_name(default_isa())) == want);
    }
#if !CTSPINE_X86
    CHECK(hw == cpu_isa::generic);
#endif
}

TEST_CASE("convolution kernels: every ISA equals the fused scalar twin bit for bit") {
    std::mt19937 rng(21);
    struct conv_case { index_t ci, co, d, h, w; std::array<int, 3> k, s; index_t split; };
    // odd channel counts, a single input channel (the first layer), strides, anisotropic and 1x1x1 kernels, widths
    // that exercise every remainder of the 12- and 6-wide micro-kernels, a concatenated (split) input, and 15 input
    // blocks: more than one pass over the input channels (conv_ib_chunk) for both x86 forms
    for (const conv_case& c : {conv_case{230, 20, 2, 3, 13, {3, 3, 3}, {1, 1, 1}, 0},conv_case{1, 32, 4, 5, 29, {3, 3, 3}, {1, 1, 1}, 0}, conv_case{19, 37, 3, 6, 13, {3, 3, 3}, {1, 1, 1}, 0},
                               conv_case{33, 17, 6, 6, 26, {3, 3, 3}, {2, 2, 2}, 0}, conv_case{16, 48, 2, 7, 8, {1, 3, 3}, {1, 2, 2}, 0},
                               conv_case{40, 26, 3, 3, 11, {1, 1, 1}, {1, 1, 1}, 0}, conv_case{20, 20, 3, 4, 7, {3, 3, 3}, {1, 1, 1}, 10}}) {
        INFO(c.ci << "->" << c.co << " split " << c.split);
        const auto w = randv(size_t(c.co * c.ci * c.k[0] * c.k[1] * c.k[2]), rng, 0.2f), b = randv(size_t(c.co), rng);
        const conv_weights cw = conv_weights::pack(w.data(), b.data(), c.ci, c.co, c.k, c.s, c.split);
        blocked_tensor in(cw.ci, c.d, c.h, c.w);
        fill(in, rng);
        if (c.split > 0)  // the blocked concatenation keeps the slots between the two parts zero
            for (index_t slot = c.split; slot < blocks_of(c.split) * block; ++slot)
                for (index_t d = 0; d < c.d; ++d)
                    for (index_t h = 0; h < c.h; ++h)
                        for (index_t x = 0; x < c.w; ++x) in.at(slot / block, d + 1, h + 1, x + 1)[slot % block] = 0;
        const index_t OD = (c.d - 1) / c.s[0] + 1, OH = (c.h - 1) / c.s[1] + 1, OW = (c.w - 1) / c.s[2] + 1;
        blocked_tensor twin(c.co, OD, OH, OW);
        reference::conv3d_fma(in, twin, cw);
        if (c.split == 0) {  // the twin itself against the float64 PyTorch-semantics reference
            tensor plain, ref, got;
            in.to_tensor(plain);
            ref = reference::conv3d(plain, w, b, c.co, c.k, c.s);
            twin.to_tensor(got);
            for (index_t i = 0; i < ref.size(); ++i) REQUIRE(got.data()[i] == doctest::Approx(ref.data()[i]).epsilon(1e-4).scale(1.0));
        }
        for (cpu_isa isa : isas_here())
            for (int threads : {1, 3}) {
                blocked_tensor out(c.co, OD, OH, OW);
                conv3d(in, out, cw, threads, isa);
                expect_equal(isa, out, twin);
            }
    }
}

TEST_CASE("transposed convolution and instance norm: every ISA equals the fused scalar twin bit for bit") {
    std::mt19937 rng(22);
    for (std::array<int, 3> s : {std::array<int, 3>{2, 2, 2}, std::array<int, 3>{1, 2, 2}}) {
        const index_t ci = 35, co = 21;
        const auto w = randv(size_t(ci * co * s[0] * s[1] * s[2]), rng, 0.2f), b = randv(size_t(co), rng);
        const transpose_weights tw = transpose_weights::pack(w.data(), b.data(), ci, co, s);
        blocked_tensor in(ci, 3, 4, 15);
        fill(in, rng);
        // written at block offset 1 of a wider tensor, as the decoder writes the upsampled half of a concatenation
        blocked_tensor twin(co + block, 3 * s[0], 4 * s[1], 15 * s[2]);
        reference::conv_transpose3d_fma(in, twin, tw, 1);
        tensor plain, ref, got;
        in.to_tensor(plain);
        ref = reference::conv_transpose3d(plain, w, b, co, s);
        twin.to_tensor(got);
        for (index_t o = 0; o < co; ++o)
            for (index_t v = 0; v < ref.spatial_size(); ++v)
                REQUIRE(got.channel(o + block)[v] == doctest::Approx(ref.channel(o)[v]).epsilon(1e-4).scale(1.0));
        for (cpu_isa isa : isas_here()) {
            blocked_tensor out(co + block, 3 * s[0], 4 * s[1], 15 * s[2]);
            conv_transpose3d(in, out, tw, 1, 2, isa);
            expect_equal(isa, out, twin);
        }
    }
    // instance norm: plain + LeakyReLU, ReLU, none; with an identity residual; with a normalised (projected) residual
    const index_t C = 37;
    blocked_tensor x(C, 5, 6, 7), r(C, 5, 6, 7);
    fill(x, rng);
    fill(r, rng);
    const auto g1 = randv(size_t(C), rng, 0.3f, 1), b1 = randv(size_t(C), rng, 0.1f), g2 = randv(size_t(C), rng, 0.3f, 1),
               b2 = randv(size_t(C), rng, 0.1f);
    struct norm_case { double slope; int residual; };  // residual: 0 none, 1 identity, 2 projected
    for (const norm_case& nc : {norm_case{0.01, 0}, norm_case{0.0, 0}, norm_case{-1.0, 0}, norm_case{0.01, 1}, norm_case{0.01, 2}}) {
        INFO("slope " << nc.slope << " residual " << nc.residual);
        const blocked_tensor* res = nc.residual ? &r : nullptr;
        const std::vector<float>* rg = nc.residual == 2 ? &g2 : nullptr;
        const std::vector<float>* rb = nc.residual == 2 ? &b2 : nullptr;
        blocked_tensor twin(C, 5, 6, 7);
        std::memcpy(twin.at(0, 0, 0, 0), x.at(0, 0, 0, 0), sizeof(float) * size_t(x.cblocks() * x.block_stride()));
        reference::instance_norm_act_fma(twin, g1, b1, 1e-5, nc.slope, res, rg, rb);
        if (nc.residual == 0) {  // the twin against the float64 PyTorch-semantics reference
            tensor plain, got;
            x.to_tensor(plain);
            reference::instance_norm_act(plain, g1, b1, 1e-5, nc.slope);
            twin.to_tensor(got);
            for (index_t i = 0; i < got.size(); ++i) REQUIRE(got.data()[i] == doctest::Approx(plain.data()[i]).epsilon(1e-5).scale(1.0));
        }
        for (cpu_isa isa : isas_here()) {
            blocked_tensor out(C, 5, 6, 7);
            std::memcpy(out.at(0, 0, 0, 0), x.at(0, 0, 0, 0), sizeof(float) * size_t(x.cblocks() * x.block_stride()));
            instance_norm_act(out, g1, b1, 1e-5, nc.slope, 2, res, rg, rb, isa);
            expect_equal(isa, out, twin);
        }
    }
}
