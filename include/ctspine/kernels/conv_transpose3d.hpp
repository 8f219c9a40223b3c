// ctspine — transposed 3D convolution with kernel = stride (nnU-Net decoder upsampling) on the blocked layout
// (conv3d_layout.hpp). Work split over (output block, input depth): results independent of the thread count.
// Scalar twin: kernels/reference/nn_reference.hpp.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/simd.hpp"
#include "ctspine/nn/tensor.hpp"
#include "ctspine/kernels/conv3d_layout.hpp"

namespace ctspine {
namespace nn {

/// Transposed convolution with kernel = stride, PyTorch weight [ci][co][sd][sh][sw] packed as [ob][tap][ci][16].
struct transpose_weights {
    index_t ci = 0, co = 0;
    std::array<int, 3> s{2, 2, 2};
    std::vector<float> packed;  // [ob][tap][ci][16]
    std::vector<float> bias;
    static transpose_weights pack(const float* w, const float* b, index_t ci, index_t co, std::array<int, 3> s) {
        transpose_weights tw;
        tw.ci = ci;
        tw.co = co;
        tw.s = s;
        const index_t taps = s[0] * s[1] * s[2], OB = blocks_of(co);
        tw.packed.assign(static_cast<size_t>(OB * taps * ci * block), 0.f);
        for (index_t c = 0; c < ci; ++c)
            for (index_t o = 0; o < co; ++o)
                for (index_t t = 0; t < taps; ++t)
                    tw.packed[static_cast<size_t>((((o / block) * taps + t) * ci + c) * block + o % block)] = w[(c * co + o) * taps + t];
        tw.bias.assign(static_cast<size_t>(OB * block), 0.f);
        if (b)
            for (index_t o = 0; o < co; ++o) tw.bias[static_cast<size_t>(o)] = b[o];
        return tw;
    }
};

/// out[o, i·s + a] = b[o] + Σ_c in[c, i]·W[c, o, a], writing output channel blocks [ob_offset, ...) of `out` (so the
/// decoder can write the upsampled half of a concatenation in place).
template <class Arch = simd::default_arch>
void conv_transpose3d(const blocked_tensor& in, blocked_tensor& out, const transpose_weights& tw, index_t ob_offset, int threads) {
    using B = xsimd::batch<float, Arch>;
    constexpr int V = static_cast<int>(B::size);
    constexpr int NV = 16 / V;
    const index_t OB = blocks_of(tw.co), taps = tw.s[0] * tw.s[1] * tw.s[2];
    const index_t D = in.D(), H = in.H(), W = in.W(), ci = tw.ci;
    parallel_for(threads, OB * D, [&](index_t b, index_t e, int) {
        std::vector<float> xin(static_cast<size_t>(ci));
        for (index_t task = b; task < e; ++task) {
            const index_t ob = task / D, d = task % D;
            for (index_t h = 0; h < H; ++h)
                for (index_t w = 0; w < W; ++w) {
                    for (index_t c = 0; c < ci; ++c) xin[static_cast<size_t>(c)] = in.at(c / block, d + 1, h + 1, w + 1)[c % block];
                    for (index_t t = 0; t < taps; ++t) {
                        const int a = static_cast<int>(t / (tw.s[1] * tw.s[2])), bb = static_cast<int>((t / tw.s[2]) % tw.s[1]),
                                  cc = static_cast<int>(t % tw.s[2]);
                        const float* wt = tw.packed.data() + ((ob * taps + t) * ci) * block;
                        B acc[NV];
                        for (int v = 0; v < NV; ++v) acc[v] = B::load_unaligned(tw.bias.data() + ob * block + v * V);
                        for (index_t c = 0; c < ci; ++c) {
                            const B x(xin[static_cast<size_t>(c)]);
                            for (int v = 0; v < NV; ++v) acc[v] = xsimd::fma(x, B::load_unaligned(wt + c * block + v * V), acc[v]);
                        }
                        float* dst = out.at(ob_offset + ob, d * tw.s[0] + a + 1, h * tw.s[1] + bb + 1, w * tw.s[2] + cc + 1);
                        for (int v = 0; v < NV; ++v) acc[v].store_aligned(dst + v * V);
                    }
                }
        }
    });
}

}  // namespace nn
}  // namespace ctspine
