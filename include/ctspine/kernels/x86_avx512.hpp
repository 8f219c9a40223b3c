// ctspine — the U-Net kernels' AVX-512 forms (AVX-512F + FMA), compiled through function target attributes so that a
// baseline x86-64 host can call them after run-time detection (core/cpu.hpp). Nothing here is called except through
// the dispatch in conv3d.hpp, conv_transpose3d.hpp and instance_norm.hpp.
//
// Register budget (32 ZMM registers of 16 floats; one channel block = one register):
//   convolution and transposed convolution: 2 output blocks × 12 positions = 24 accumulators + 2 weight registers,
//   the input value is an embedded broadcast operand ({1to16}) of each FMA.
// Every output value accumulates bias, then its terms in the order (input block, kd, kh, kw, input channel) with one
// fused multiply-add each — the same order as the AVX2 form, the generic form and the scalar twin
// (kernels/reference/blocked_fma_reference.hpp), so all give bit-identical results.
#pragma once
#include "ctspine/core/cpu.hpp"
#if CTSPINE_X86
#include <immintrin.h>

#include "ctspine/kernels/conv3d_layout.hpp"
#include "ctspine/kernels/packed_weights.hpp"

namespace ctspine {
namespace nn {
namespace detail {
namespace avx512 {

constexpr int conv_ob = 2, conv_tw = 12;

/// acc[o][t] += Σ_ic xp[t][ic] · wt[o·wob + ic·16 + lane], ic = 0..NC−1 in order (NC = 1 when the layer has a
/// single input channel: the other 15 would only add zeros).
template <int OB, int TW, int NC = 16>
CTSPINE_ALWAYS_INLINE CTSPINE_TARGET_AVX512 void step(__m512 (&acc)[OB][TW], const float* const (&xp)[TW], index_t off, const float* wt,
                                                      index_t wob) {
    for (int ic = 0; ic < NC; ++ic) {
        __m512 w[OB];
CTSPINE_UNROLL(4)
        for (int o = 0; o < OB; ++o) w[o] = _mm512_loadu_ps(wt + o * wob + ic * 16);
CTSPINE_UNROLL(16)
        for (int t = 0; t < TW; ++t) {
            const __m512 x = _mm512_set1_ps(xp[t][off + ic]);
CTSPINE_UNROLL(4)
            for (int o = 0; o < OB; ++o) acc[o][t] = _mm512_fmadd_ps(x, w[o], acc[o][t]);
        }
    }
}

/// Convolution micro-kernel: OB output blocks × TW consecutive output positions p0… of output depth od, positions
/// numbered row by row (p = oh·OW + ow), so a group may span rows: small layers (8×8, 4×4) need no narrow remainder.
/// Input blocks [ib0, ib1) only: the first chunk starts from the bias, later ones continue from the partial sums
/// stored in `out` — the same fused multiply-adds in the same order as one pass, so the result does not depend on
/// the chunking.
template <int OB, int TW, int NC, class In>
CTSPINE_TARGET_AVX512 void conv_micro(const In& in, blocked_tensor& out, const conv_weights& cw, index_t ob0, index_t od, index_t p0,
                                      index_t ib0, index_t ib1) {
    const index_t IB = in.cblocks(), OW = out.W();
    const plane_positions<TW> pos(p0, OW);
    float* dst[OB][TW];
    for (int t = 0; t < TW; ++t)
        for (int o = 0; o < OB; ++o) dst[o][t] = out.at(ob0 + o, od + 1, pos.row[t] + 1, pos.col[t] + 1);
    __m512 acc[OB][TW];
    for (int o = 0; o < OB; ++o) {
        const __m512 b = _mm512_loadu_ps(cw.bias.data() + (ob0 + o) * block);
        for (int t = 0; t < TW; ++t) acc[o][t] = ib0 == 0 ? b : _mm512_load_ps(dst[o][t]);
    }
    const int KD = cw.k[0], KH = cw.k[1], KW = cw.k[2];
    const index_t taps = KD * KH * KW, wob = IB * taps * block * block;
    const float* xp[TW];  // tap (0, 0, 0) of input block 0 for each position
    first_taps<TW>(in, pos, cw.k, cw.s, od, xp);
    const index_t bs = in.block_stride(), ps = in.plane_stride(), rs = in.row_stride();
    for (index_t ib = ib0; ib < ib1; ++ib) {
        const float* wt = cw.packed.data() + ((ob0 * IB + ib) * taps) * block * block;
        for (int kd = 0; kd < KD; ++kd)
            for (int kh = 0; kh < KH; ++kh)
                for (int kw = 0; kw < KW; ++kw, wt += block * block) step<OB, TW, NC>(acc, xp, ib * bs + kd * ps + kh * rs + kw * In::position_stride, wt, wob);
    }
    for (int t = 0; t < TW; ++t)
        for (int o = 0; o < OB; ++o) {
            // a one-input-channel layer writes 27 FMAs' worth per value: non-temporal stores spare it reading every
            // output line first (its output is larger than the caches at nnU-Net's patch sizes)
            if constexpr (NC == 1) _mm512_stream_ps(dst[o][t], acc[o][t]);
            else _mm512_store_ps(dst[o][t], acc[o][t]);
        }
}

/// Output depths [od0, od1) of output blocks [ob0, ob0 + OB): per chunk of input blocks, every depth and position,
/// so a chunk's weights are reused from L2 for every depth of the range.
template <int OB, int NC, class In>
CTSPINE_TARGET_AVX512 void conv_planes(const In& in, blocked_tensor& out, const conv_weights& cw, index_t ob0, index_t od0,
                                       index_t od1) {
    const index_t P = out.H() * out.W(), IB = in.cblocks(), chunk = conv_ib_chunk(cw.k[0] * cw.k[1] * cw.k[2], OB);
    for (index_t ib0 = 0; ib0 < IB; ib0 += chunk) {
        const index_t ib1 = std::min(IB, ib0 + chunk);
        for (index_t od = od0; od < od1; ++od) {
            index_t p = 0;
            for (; p + conv_tw <= P; p += conv_tw) conv_micro<OB, conv_tw, NC>(in, out, cw, ob0, od, p, ib0, ib1);
            for (; p + 8 <= P; p += 8) conv_micro<OB, 8, NC>(in, out, cw, ob0, od, p, ib0, ib1);
            for (; p + 4 <= P; p += 4) conv_micro<OB, 4, NC>(in, out, cw, ob0, od, p, ib0, ib1);
            for (; p + 2 <= P; p += 2) conv_micro<OB, 2, NC>(in, out, cw, ob0, od, p, ib0, ib1);
            for (; p < P; ++p) conv_micro<OB, 1, NC>(in, out, cw, ob0, od, p, ib0, ib1);
        }
    }
}

/// All outputs of output depths [od0, od1) for output blocks [ob0, ob0 + nob), nob ≤ conv_ob; `in` is a blocked_tensor
/// or, for a one-input-channel layer, a dense_channel.
template <class In>
CTSPINE_TARGET_AVX512 void conv_task(const In& in, blocked_tensor& out, const conv_weights& cw, index_t ob0, index_t nob,
                                            index_t od0, index_t od1) {
    if (cw.ci == 1) {
        if (nob == 2) conv_planes<2, 1>(in, out, cw, ob0, od0, od1);
        else conv_planes<1, 1>(in, out, cw, ob0, od0, od1);
        _mm_sfence();  // order the non-temporal stores before the task ends
    } else if constexpr (In::position_stride == block) {  // a dense_channel input always has ci == 1
        if (nob == 2) conv_planes<2, 16>(in, out, cw, ob0, od0, od1);
        else conv_planes<1, 16>(in, out, cw, ob0, od0, od1);
    }
}

/// Transposed convolution (kernel = stride), tap (a, bb, cc) of output block ob for TW consecutive input positions
/// p0… of input depth d (p = h·W + w): a 1×1×1 convolution whose outputs land on every s-th output position.
template <int TW>
CTSPINE_TARGET_AVX512 void tconv_micro(const blocked_tensor& in, blocked_tensor& out, const transpose_weights& tw, index_t ob, index_t out_ob,
                                       index_t d, index_t p0, int a, int bb, int cc) {
    __m512 acc[1][TW];
    const __m512 b = _mm512_loadu_ps(tw.bias.data() + ob * block);
    for (int t = 0; t < TW; ++t) acc[0][t] = b;
    const index_t IB = in.cblocks(), W = in.W(), tap = (a * tw.s[1] + bb) * tw.s[2] + cc, taps = tw.s[0] * tw.s[1] * tw.s[2];
    const float* wt = tw.packed.data() + (ob * taps + tap) * IB * block * block;
    const float* xp[TW];
    const plane_positions<TW> pos(p0, W);
    for (int t = 0; t < TW; ++t) xp[t] = in.at(0, d + 1, pos.row[t] + 1, pos.col[t] + 1);
    for (index_t ib = 0; ib < IB; ++ib, wt += block * block) step<1, TW>(acc, xp, ib * in.block_stride(), wt, 0);
    for (int t = 0; t < TW; ++t)
        _mm512_store_ps(out.at(out_ob, d * tw.s[0] + a + 1, pos.row[t] * tw.s[1] + bb + 1, pos.col[t] * tw.s[2] + cc + 1), acc[0][t]);
}

/// Instance-norm statistics of one channel block, float64 per lane, voxels in storage order: s = Σ x; then
/// q = Σ fma(x − mean, x − mean, ·).
CTSPINE_TARGET_AVX512 inline void norm_sum(const blocked_tensor& x, index_t cb, double* s) {
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (index_t d = 0; d < x.D(); ++d)
        for (index_t h = 0; h < x.H(); ++h) {
            const float* p = x.at(cb, d + 1, h + 1, 1);
            for (index_t w = 0; w < x.W(); ++w, p += block) {
                lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm256_load_ps(p)));
                hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm256_load_ps(p + 8)));
            }
        }
    _mm512_storeu_pd(s, lo);
    _mm512_storeu_pd(s + 8, hi);
}
CTSPINE_TARGET_AVX512 inline void norm_sqdev(const blocked_tensor& x, index_t cb, const double* mean, double* q) {
    const __m512d mlo = _mm512_loadu_pd(mean), mhi = _mm512_loadu_pd(mean + 8);
    __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
    for (index_t d = 0; d < x.D(); ++d)
        for (index_t h = 0; h < x.H(); ++h) {
            const float* p = x.at(cb, d + 1, h + 1, 1);
            for (index_t w = 0; w < x.W(); ++w, p += block) {
                const __m512d vl = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_load_ps(p)), mlo);
                const __m512d vh = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_load_ps(p + 8)), mhi);
                lo = _mm512_fmadd_pd(vl, vl, lo);
                hi = _mm512_fmadd_pd(vh, vh, hi);
            }
        }
    _mm512_storeu_pd(q, lo);
    _mm512_storeu_pd(q + 8, hi);
}

/// y = fma(x, scale, shift) [+ r | + fma(r, rscale, rshift)]; y < 0 → y · slope (slope < 0: no nonlinearity).
CTSPINE_TARGET_AVX512 inline void norm_apply(blocked_tensor& t, index_t cb, const float* scale, const float* shift, const blocked_tensor* res,
                                             const float* rscale, const float* rshift, float slope) {
    const __m512 sc = _mm512_loadu_ps(scale), sh = _mm512_loadu_ps(shift), sl = _mm512_set1_ps(slope), zero = _mm512_setzero_ps();
    const __m512 rsc = rscale ? _mm512_loadu_ps(rscale) : zero, rsh = rscale ? _mm512_loadu_ps(rshift) : zero;
    for (index_t d = 0; d < t.D(); ++d)
        for (index_t h = 0; h < t.H(); ++h) {
            float* p = t.at(cb, d + 1, h + 1, 1);
            const float* r = res ? res->at(cb, d + 1, h + 1, 1) : nullptr;
            for (index_t w = 0; w < t.W(); ++w, p += block) {
                __m512 y = _mm512_fmadd_ps(_mm512_load_ps(p), sc, sh);
                if (r) {
                    const __m512 rv = _mm512_load_ps(r);
                    y = _mm512_add_ps(y, rscale ? _mm512_fmadd_ps(rv, rsc, rsh) : rv);
                    r += block;
                }
                if (slope >= 0) y = _mm512_mask_mul_ps(y, _mm512_cmp_ps_mask(y, zero, _CMP_LT_OQ), y, sl);
                _mm512_store_ps(p, y);
            }
        }
}

}  // namespace avx512
}  // namespace detail
}  // namespace nn
}  // namespace ctspine
#endif
