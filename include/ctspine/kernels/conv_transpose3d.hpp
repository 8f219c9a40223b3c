// ctspine — transposed 3D convolution with kernel = stride (nnU-Net decoder upsampling) on the blocked layout
// (conv3d_layout.hpp; weights: packed_weights.hpp). Every tap is a 1×1×1 convolution of an input row written to every
// s-th output position; per-ISA forms in x86_avx512.hpp / x86_avx2.hpp, chosen at run time (core/cpu.hpp). Work is
// split over (output block, input depth): results do not depend on the thread count. Every form adds bias, then the
// input channels in ascending order with fused multiply-adds: bit-identical to each other and to the scalar twin in
// kernels/reference/blocked_fma_reference.hpp. PyTorch-semantics twin: kernels/reference/nn_reference.hpp.
#pragma once
#include <array>
#include <vector>

#include "ctspine/core/cpu.hpp"
#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/simd.hpp"
#include "ctspine/kernels/conv3d_layout.hpp"
#include "ctspine/kernels/packed_weights.hpp"
#include "ctspine/kernels/x86_avx2.hpp"
#include "ctspine/kernels/x86_avx512.hpp"
#include "ctspine/nn/tensor.hpp"

namespace ctspine {
namespace nn {

namespace detail {
#if CTSPINE_X86
/// The per-ISA transposed-convolution micro-kernels behind one driver (tconv_plane).
struct tconv_avx512 {
    static constexpr int tw = avx512::conv_tw;
    template <int TW, class... A>
    static void micro(A&&... a) { avx512::tconv_micro<TW>(a...); }
};
struct tconv_avx2 {
    static constexpr int tw = avx2::conv_tw;
    template <int TW, class... A>
    static void micro(A&&... a) { avx2::tconv_micro<TW>(a...); }
};
/// Every tap of output block ob for input depth d, input positions in groups of K::tw along the flattened (h, w)
/// plane (then 4, then 1), so small planes need no narrow remainder per row.
template <class K>
void tconv_plane(const blocked_tensor& in, blocked_tensor& out, const transpose_weights& tw, index_t ob, index_t out_ob, index_t d) {
    const index_t P = in.H() * in.W();
    for (int a = 0; a < tw.s[0]; ++a)
        for (int bb = 0; bb < tw.s[1]; ++bb)
            for (int cc = 0; cc < tw.s[2]; ++cc) {
                index_t p = 0;
                for (; p + K::tw <= P; p += K::tw) K::template micro<K::tw>(in, out, tw, ob, out_ob, d, p, a, bb, cc);
                for (; p + 4 <= P; p += 4) K::template micro<4>(in, out, tw, ob, out_ob, d, p, a, bb, cc);
                for (; p < P; ++p) K::template micro<1>(in, out, tw, ob, out_ob, d, p, a, bb, cc);
            }
}
/// tconv_plane over every (output block, input depth), split over threads.
template <class K>
void tconv_tasks(const blocked_tensor& in, blocked_tensor& out, const transpose_weights& tw, index_t ob_offset, int threads) {
    const index_t D = in.D();
    parallel_for(threads, blocks_of(tw.co) * D, [&](index_t b, index_t e, int) {
        for (index_t t = b; t < e; ++t) tconv_plane<K>(in, out, tw, t / D, ob_offset + t / D, t % D);
    });
}
#endif

inline void check_transpose(const blocked_tensor& in, const blocked_tensor& out, const transpose_weights& tw, index_t ob_offset) {
    if (in.channels() != tw.ci) throw error(errc::shape_mismatch, "conv_transpose3d: input channels differ from the weights");
    if (ob_offset < 0 || ob_offset + blocks_of(tw.co) > out.cblocks() || out.D() != in.D() * tw.s[0] ||
        out.H() != in.H() * tw.s[1] || out.W() != in.W() * tw.s[2])
        throw error(errc::shape_mismatch, "conv_transpose3d: output shape does not match input × stride");
}
}  // namespace detail

/// The generic form through xsimd for the compile-time architecture Arch.
template <class Arch = simd::default_arch>
void conv_transpose3d_generic(const blocked_tensor& in, blocked_tensor& out, const transpose_weights& tw, index_t ob_offset, int threads) {
    using B = xsimd::batch<float, Arch>;
    constexpr int V = static_cast<int>(B::size);
    constexpr int NV = 16 / V;
    detail::check_transpose(in, out, tw, ob_offset);
    const index_t OB = blocks_of(tw.co), taps = tw.s[0] * tw.s[1] * tw.s[2], IB = in.cblocks();
    const index_t D = in.D(), H = in.H(), W = in.W();
    parallel_for(threads, OB * D, [&](index_t b, index_t e, int) {
        for (index_t task = b; task < e; ++task) {
            const index_t ob = task / D, d = task % D;
            for (index_t h = 0; h < H; ++h)
                for (index_t w = 0; w < W; ++w)
                    for (index_t t = 0; t < taps; ++t) {
                        const int a = static_cast<int>(t / (tw.s[1] * tw.s[2])), bb = static_cast<int>((t / tw.s[2]) % tw.s[1]),
                                  cc = static_cast<int>(t % tw.s[2]);
                        const float* wt = tw.packed.data() + (ob * taps + t) * IB * block * block;
                        B acc[NV];
                        for (int v = 0; v < NV; ++v) acc[v] = B::load_unaligned(tw.bias.data() + ob * block + v * V);
                        for (index_t ib = 0; ib < IB; ++ib) {
                            const float* x = in.at(ib, d + 1, h + 1, w + 1);
                            for (int ic = 0; ic < 16; ++ic, wt += block) {
                                const B xb(x[ic]);
                                for (int v = 0; v < NV; ++v) acc[v] = simd::fmadd<Arch>(xb, B::load_unaligned(wt + v * V), acc[v]);
                            }
                        }
                        float* dst = out.at(ob_offset + ob, d * tw.s[0] + a + 1, h * tw.s[1] + bb + 1, w * tw.s[2] + cc + 1);
                        for (int v = 0; v < NV; ++v) acc[v].store_aligned(dst + v * V);
                    }
        }
    });
}

/// out[o, i·s + a] = b[o] + Σ_c in[c, i]·W[c, o, a], writing output channel blocks [ob_offset, ...) of `out` (so the
/// decoder can write the upsampled half of a concatenation in place), on the kernels of `isa`.
inline void conv_transpose3d(const blocked_tensor& in, blocked_tensor& out, const transpose_weights& tw, index_t ob_offset, int threads,
                             cpu_isa isa = cpu_isa::automatic) {
    detail::check_transpose(in, out, tw, ob_offset);
    switch (resolve_isa(isa)) {
#if CTSPINE_X86
        case cpu_isa::avx512: return detail::tconv_tasks<detail::tconv_avx512>(in, out, tw, ob_offset, threads);
        case cpu_isa::avx2: return detail::tconv_tasks<detail::tconv_avx2>(in, out, tw, ob_offset, threads);
#endif
        default: return conv_transpose3d_generic(in, out, tw, ob_offset, threads);
    }
}

}  // namespace nn
}  // namespace ctspine
