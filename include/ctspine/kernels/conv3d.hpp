// ctspine — blocked direct 3D convolution (the U-Net engine's hot kernel). Layout: conv3d_layout.hpp.
//
// Direct convolution: a micro-kernel keeps OB × TW output vectors (OB output-channel blocks × TW consecutive output
// positions along W) in registers and, for every input channel, broadcasts one input value and multiplies it with the
// OB weight vectors (the register-blocking scheme of oneDNN's direct convolutions; written from the idea, not the code).
// Work is split over (output block pair, output depth) so every output value is computed by one thread in a fixed
// order: results do not depend on the thread count. Scalar twins are in kernels/reference/nn_reference.hpp.
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

/// A convolution's packed weights and shape.
struct conv_weights {
    index_t ci = 0, co = 0;
    std::array<int, 3> k{3, 3, 3}, s{1, 1, 1};
    std::vector<float> packed;  // [ob][ib][kd][kh][kw][16][16], 64-byte multiples
    std::vector<float> bias;    // co padded to blocks (zeros)

    /// From PyTorch layout weight [co][ci][kd][kh][kw] and optional bias. `split` > 0 says the input is a
    /// concatenation whose second part (channels ≥ split) starts at the next channel block (see copy_blocks), so
    /// logical channel c ≥ split sits in slot blocks_of(split)·16 + (c − split).
    static conv_weights pack(const float* w, const float* b, index_t ci, index_t co, std::array<int, 3> k, std::array<int, 3> s, index_t split = 0) {
        conv_weights cw;
        cw.ci = split > 0 ? blocks_of(split) * block + (ci - split) : ci;  // input slots of the blocked tensor
        cw.co = co;
        cw.k = k;
        cw.s = s;
        const index_t IB = blocks_of(cw.ci), OB = blocks_of(co), taps = k[0] * k[1] * k[2];
        cw.packed.assign(static_cast<size_t>(OB * IB * taps * block * block), 0.f);
        for (index_t o = 0; o < co; ++o)
            for (index_t c = 0; c < ci; ++c) {
                const index_t slot = (split > 0 && c >= split) ? blocks_of(split) * block + (c - split) : c;
                for (index_t t = 0; t < taps; ++t)
                    cw.packed[static_cast<size_t>((((o / block) * IB + slot / block) * taps + t) * block * block + (slot % block) * block + o % block)] =
                        w[(o * ci + c) * taps + t];
            }
        cw.bias.assign(static_cast<size_t>(OB * block), 0.f);
        if (b)
            for (index_t o = 0; o < co; ++o) cw.bias[static_cast<size_t>(o)] = b[o];
        return cw;
    }
};

namespace detail {

/// Micro-kernel: OB output blocks × TW outputs along W at output row (od, oh), starting at ow0.
template <int OB, int TW, class Arch>
inline void conv_micro(const blocked_tensor& in, blocked_tensor& out, const conv_weights& cw, index_t ob0, index_t od, index_t oh, index_t ow0) {
    using B = xsimd::batch<float, Arch>;
    constexpr int V = static_cast<int>(B::size);
    constexpr int NV = 16 / V;  // vectors per channel block
    B acc[OB][NV][TW];
    for (int o = 0; o < OB; ++o)
        for (int v = 0; v < NV; ++v) {
            B b = B::load_unaligned(cw.bias.data() + (ob0 + o) * block + v * V);
            for (int t = 0; t < TW; ++t) acc[o][v][t] = b;
        }
    const index_t IB = in.cblocks();
    const int KD = cw.k[0], KH = cw.k[1], KW = cw.k[2];
    const index_t taps = KD * KH * KW;
    const int pd = (KD - 1) / 2, ph = (KH - 1) / 2, pw = (KW - 1) / 2;
    const index_t sw = cw.s[2] * block;
    for (index_t ib = 0; ib < IB; ++ib) {
        const float* wbase = cw.packed.data() + ((ob0 * IB + ib) * taps) * block * block;
        const index_t wob = IB * taps * block * block;  // stride between output blocks in packed weights
        int tap = 0;
        for (int kd = 0; kd < KD; ++kd)
            for (int kh = 0; kh < KH; ++kh) {
                const float* row = in.at(ib, od * cw.s[0] + kd - pd + 1, oh * cw.s[1] + kh - ph + 1, ow0 * cw.s[2] + 1 - pw);
                for (int kw = 0; kw < KW; ++kw, ++tap) {
                    const float* px = row + kw * block;
                    const float* wt = wbase + tap * block * block;
                    for (int ic = 0; ic < 16; ++ic) {
                        B w[OB][NV];
                        for (int o = 0; o < OB; ++o)
                            for (int v = 0; v < NV; ++v) w[o][v] = B::load_unaligned(wt + o * wob + ic * block + v * V);
                        for (int t = 0; t < TW; ++t) {
                            const B x(px[t * sw + ic]);
                            for (int o = 0; o < OB; ++o)
                                for (int v = 0; v < NV; ++v) acc[o][v][t] = xsimd::fma(x, w[o][v], acc[o][v][t]);
                        }
                    }
                }
            }
    }
    for (int o = 0; o < OB; ++o)
        for (int t = 0; t < TW; ++t) {
            float* dst = out.at(ob0 + o, od + 1, oh + 1, ow0 + t + 1);
            for (int v = 0; v < NV; ++v) acc[o][v][t].store_aligned(dst + v * V);
        }
}

template <int OB, int TW, class Arch>
inline void conv_row(const blocked_tensor& in, blocked_tensor& out, const conv_weights& cw, index_t ob0, index_t od, index_t oh) {
    const index_t OW = out.W();
    index_t ow = 0;
    for (; ow + TW <= OW; ow += TW) conv_micro<OB, TW, Arch>(in, out, cw, ob0, od, oh, ow);
    // remainder, one width at a time from the largest that fits (template dispatch)
    while (ow < OW) {
        const index_t r = OW - ow;
        if (r >= 8) { conv_micro<OB, 8, Arch>(in, out, cw, ob0, od, oh, ow); ow += 8; }
        else if (r >= 4) { conv_micro<OB, 4, Arch>(in, out, cw, ob0, od, oh, ow); ow += 4; }
        else if (r >= 2) { conv_micro<OB, 2, Arch>(in, out, cw, ob0, od, oh, ow); ow += 2; }
        else { conv_micro<OB, 1, Arch>(in, out, cw, ob0, od, oh, ow); ow += 1; }
    }
}

}  // namespace detail

/// Blocked direct convolution. `out` must already have the output shape (its halo stays zero).
template <class Arch = simd::default_arch>
void conv3d(const blocked_tensor& in, blocked_tensor& out, const conv_weights& cw, int threads) {
    if (in.channels() != cw.ci || out.channels() != cw.co) throw error(errc::shape_mismatch, "conv3d: channel counts differ from the weights");
    const index_t OB = out.cblocks(), OD = out.D(), OH = out.H();
    const index_t pairs = (OB + 1) / 2;
    constexpr int TW = xsimd::batch<float, Arch>::size == 16 ? 12 : 3;
    parallel_for(threads, pairs * OD, [&](index_t b, index_t e, int) {
        for (index_t task = b; task < e; ++task) {
            const index_t pr = task / OD, od = task % OD;
            const index_t ob0 = 2 * pr;
            for (index_t oh = 0; oh < OH; ++oh) {
                if (ob0 + 1 < OB) detail::conv_row<2, TW, Arch>(in, out, cw, ob0, od, oh);
                else detail::conv_row<1, TW * 2, Arch>(in, out, cw, ob0, od, oh);
            }
        }
    });
}

}  // namespace nn
}  // namespace ctspine
