// ctspine — blocked direct 3D convolution (the U-Net engine's hot kernel). Layout: conv3d_layout.hpp; weights:
// packed_weights.hpp; per-ISA forms: x86_avx512.hpp, x86_avx2.hpp, chosen at run time (core/cpu.hpp).
//
// Direct convolution: a micro-kernel keeps OB × TW output vectors (OB output-channel blocks × TW consecutive output
// positions along W) in registers and, for every input channel, broadcasts one input value and multiplies it with the
// OB weight vectors (the register-blocking scheme of oneDNN's direct convolutions; written from the idea, not the code).
// Work is split over (output block pair, output depth) so every output value is computed by one thread in a fixed
// order: results do not depend on the thread count. Every form (AVX-512, AVX2, the generic xsimd form below) adds
// bias, then the terms in the order (input block, kd, kh, kw, input channel) with fused multiply-adds, so they are
// bit-identical to each other and to the scalar twin kernels/reference/blocked_fma_reference.hpp (the generic form
// only where xsimd's fma is fused: FMA builds, NEON). PyTorch-semantics twin: kernels/reference/nn_reference.hpp.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "ctspine/core/cpu.hpp"
#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/simd.hpp"
#include "ctspine/nn/tensor.hpp"
#include "ctspine/kernels/conv3d_layout.hpp"
#include "ctspine/kernels/packed_weights.hpp"
#include "ctspine/kernels/x86_avx2.hpp"
#include "ctspine/kernels/x86_avx512.hpp"

namespace ctspine {
namespace nn {

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
                                for (int v = 0; v < NV; ++v) acc[o][v][t] = simd::fmadd<Arch>(x, w[o][v], acc[o][v][t]);
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
    // remainder: narrower widths only (a wider one would not fit the registers), largest first
    if constexpr (TW > 8)
        for (; ow + 8 <= OW; ow += 8) conv_micro<OB, 8, Arch>(in, out, cw, ob0, od, oh, ow);
    if constexpr (TW > 4)
        for (; ow + 4 <= OW; ow += 4) conv_micro<OB, 4, Arch>(in, out, cw, ob0, od, oh, ow);
    if constexpr (TW > 2)
        for (; ow + 2 <= OW; ow += 2) conv_micro<OB, 2, Arch>(in, out, cw, ob0, od, oh, ow);
    for (; ow < OW; ++ow) conv_micro<OB, 1, Arch>(in, out, cw, ob0, od, oh, ow);
}

}  // namespace detail

/// Register shape of the generic form: output blocks × positions that fit the register file without spills
/// (16 registers of 4 or 8 floats, 32 of 16).
template <class Arch>
struct generic_conv_shape {
    static constexpr int width = static_cast<int>(xsimd::batch<float, Arch>::size);
    static constexpr int ob = width == 16 ? 2 : 1;
    static constexpr int tw = width == 16 ? 12 : width == 8 ? 6 : 2;
};

namespace detail {
inline void check_conv(const blocked_tensor& in, const blocked_tensor& out, const conv_weights& cw) {
    if (in.channels() != cw.ci || out.channels() != cw.co) throw error(errc::shape_mismatch, "conv3d: channel counts differ from the weights");
}
/// Runs task(ob0, nob, od) over groups of G output blocks × output depths, split over threads.
template <class F>
void conv_tasks(const blocked_tensor& out, index_t G, int threads, F&& task) {
    const index_t OB = out.cblocks(), OD = out.D();
    parallel_for(threads, (OB + G - 1) / G * OD, [&](index_t b, index_t e, int) {
        for (index_t t = b; t < e; ++t) {
            const index_t ob0 = t / OD * G;
            task(ob0, std::min(G, OB - ob0), t % OD);
        }
    });
}
/// Runs task(ob0, nob, od0, od1) over groups of G output blocks × ranges of output depths, split over threads. The
/// ranges are as long as still leaves about four tasks per thread, so a small deep layer (4³ × 320 channels) streams
/// each group's weights once per range rather than once per depth.
template <class F>
void conv_range_tasks(const blocked_tensor& out, index_t G, int threads, F&& task) {
    const index_t groups = (out.cblocks() + G - 1) / G, OD = out.D();
    const index_t want = 4 * static_cast<index_t>(resolve_threads(threads));
    const index_t L = std::clamp<index_t>(groups * OD / std::max<index_t>(want, 1), 1, OD), ranges = (OD + L - 1) / L;
    parallel_for(threads, groups * ranges, [&](index_t b, index_t e, int) {
        for (index_t t = b; t < e; ++t) {
            const index_t ob0 = t / ranges * G, od0 = t % ranges * L;
            task(ob0, std::min(G, out.cblocks() - ob0), od0, std::min(OD, od0 + L));
        }
    });
}
}  // namespace detail

/// The generic form through xsimd for the compile-time architecture Arch (SSE2 in a baseline x86-64 build, NEON on
/// aarch64, whatever -march gives otherwise). `out` must already have the output shape (its halo stays zero).
template <class Arch = simd::default_arch>
void conv3d_generic(const blocked_tensor& in, blocked_tensor& out, const conv_weights& cw, int threads) {
    constexpr int G = generic_conv_shape<Arch>::ob, TW = generic_conv_shape<Arch>::tw;
    detail::check_conv(in, out, cw);
    detail::conv_tasks(out, G, threads, [&](index_t ob0, index_t nob, index_t od) {
        for (index_t oh = 0; oh < out.H(); ++oh) {
            if (nob == 2) detail::conv_row<2, TW, Arch>(in, out, cw, ob0, od, oh);
            else detail::conv_row<1, TW, Arch>(in, out, cw, ob0, od, oh);
        }
    });
}

namespace detail {
/// The x86 forms, for either input layout (blocked_tensor, or dense_channel for a one-input-channel layer); false
/// when `isa` resolves to the generic form.
template <class In>
bool conv3d_x86(const In& in, blocked_tensor& out, const conv_weights& cw, int threads, cpu_isa isa) {
    switch (resolve_isa(isa)) {
#if CTSPINE_X86
        case cpu_isa::avx512:
            conv_range_tasks(out, avx512::conv_ob, threads,
                             [&](index_t ob0, index_t nob, index_t od0, index_t od1) { avx512::conv_task(in, out, cw, ob0, nob, od0, od1); });
            return true;
        case cpu_isa::avx2:
            conv_range_tasks(out, avx2::conv_ob, threads,
                             [&](index_t ob0, index_t nob, index_t od0, index_t od1) { avx2::conv_task(in, out, cw, ob0, nob, od0, od1); });
            return true;
#endif
        default: return false;
    }
}
}  // namespace detail

/// Blocked direct convolution on the kernels of `isa` (automatic: the best this CPU has, see core/cpu.hpp).
/// `out` must already have the output shape (its halo stays zero). Results are identical for any thread count and
/// any ISA with fused multiply-add.
inline void conv3d(const blocked_tensor& in, blocked_tensor& out, const conv_weights& cw, int threads, cpu_isa isa = cpu_isa::automatic) {
    detail::check_conv(in, out, cw);
    if (!detail::conv3d_x86(in, out, cw, threads, isa)) conv3d_generic(in, out, cw, threads);
}

/// The same convolution of a one-input-channel layer reading a dense_channel (the first layer of a CT network): the
/// x86 forms read it in place — same fused multiply-adds in the same order, so the result is bit-identical to the
/// blocked input's; the generic form gets a blocked copy.
inline void conv3d(const dense_channel& in, blocked_tensor& out, const conv_weights& cw, int threads, cpu_isa isa = cpu_isa::automatic) {
    if (cw.ci != 1 || out.channels() != cw.co) throw error(errc::shape_mismatch, "conv3d: a dense_channel input needs a one-input-channel layer");
    if (detail::conv3d_x86(in, out, cw, threads, isa)) return;
    blocked_tensor b(1, in.D(), in.H(), in.W());
    for (index_t d = 0; d < in.D(); ++d)
        for (index_t h = 0; h < in.H(); ++h)
            for (index_t w = 0; w < in.W(); ++w) *b.at(0, d + 1, h + 1, w + 1) = *in.at(0, d + 1, h + 1, w + 1);
    conv3d_generic(b, out, cw, threads);
}

}  // namespace nn
}  // namespace ctspine
