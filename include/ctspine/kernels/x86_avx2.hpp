// ctspine — the U-Net kernels' AVX2 + FMA forms, compiled through function target attributes so that a baseline
// x86-64 host can call them after run-time detection (core/cpu.hpp). Nothing here is called except through the
// dispatch in conv3d.hpp, conv_transpose3d.hpp and instance_norm.hpp.
//
// Register budget (16 YMM registers of 8 floats; one channel block = two registers):
//   convolution and transposed convolution: 1 output block × 6 positions = 12 accumulators + 2 weight registers +
//   1 broadcast input value = 15 registers (the AVX-512 shape, 2 blocks × 3 positions, needs 17 here and spills).
// Every output value accumulates bias, then its terms in the order (input block, kd, kh, kw, input channel) with one
// fused multiply-add each — the order of every other form, so results are bit-identical to AVX-512 and the scalar twin.
#pragma once
#include "ctspine/core/cpu.hpp"
#if CTSPINE_X86
#include <immintrin.h>

#include "ctspine/kernels/conv3d_layout.hpp"
#include "ctspine/kernels/packed_weights.hpp"

namespace ctspine {
namespace nn {
namespace detail {
namespace avx2 {

constexpr int conv_ob = 1, conv_tw = 6;

/// acc[v][t] += Σ_ic xp[t][off + ic] · wt[ic·16 + 8v + lane], ic = 0..NC−1 in order (NC = 1 when the layer has a
/// single input channel: the other 15 would only add zeros).
template <int TW, int NC = 16>
CTSPINE_ALWAYS_INLINE CTSPINE_TARGET_AVX2 void step(__m256 (&acc)[2][TW], const float* const (&xp)[TW], index_t off, const float* wt) {
CTSPINE_UNROLL(16)
    for (int ic = 0; ic < NC; ++ic) {
        const __m256 w0 = _mm256_loadu_ps(wt + ic * 16), w1 = _mm256_loadu_ps(wt + ic * 16 + 8);
CTSPINE_UNROLL(8)
        for (int t = 0; t < TW; ++t) {
            const __m256 x = _mm256_broadcast_ss(xp[t] + off + ic);
            acc[0][t] = _mm256_fmadd_ps(x, w0, acc[0][t]);
            acc[1][t] = _mm256_fmadd_ps(x, w1, acc[1][t]);
        }
    }
}

template <int TW>
CTSPINE_ALWAYS_INLINE CTSPINE_TARGET_AVX2 void init(__m256 (&acc)[2][TW], const float* bias) {
    const __m256 b0 = _mm256_loadu_ps(bias), b1 = _mm256_loadu_ps(bias + 8);
    for (int t = 0; t < TW; ++t) {
        acc[0][t] = b0;
        acc[1][t] = b1;
    }
}

/// Convolution micro-kernel: one output block × TW consecutive output positions p0… of output depth od, positions
/// numbered row by row (p = oh·OW + ow), so a group may span rows: small layers (8×8, 4×4) need no narrow remainder.
/// Input blocks [ib0, ib1) only, continuing from the partial sums in `out` after the first chunk (see the AVX-512 form).
template <int TW, int NC, class In>
CTSPINE_TARGET_AVX2 void conv_micro(const In& in, blocked_tensor& out, const conv_weights& cw, index_t ob, index_t od, index_t p0,
                                    index_t ib0, index_t ib1) {
    const index_t IB = in.cblocks(), OW = out.W();
    const plane_positions<TW> pos(p0, OW);
    float* dst[TW];
    for (int t = 0; t < TW; ++t) dst[t] = out.at(ob, od + 1, pos.row[t] + 1, pos.col[t] + 1);
    __m256 acc[2][TW];
    if (ib0 == 0) {
        init<TW>(acc, cw.bias.data() + ob * block);
    } else {
        for (int t = 0; t < TW; ++t) {
            acc[0][t] = _mm256_load_ps(dst[t]);
            acc[1][t] = _mm256_load_ps(dst[t] + 8);
        }
    }
    const int KD = cw.k[0], KH = cw.k[1], KW = cw.k[2];
    const index_t taps = KD * KH * KW;
    const float* xp[TW];  // tap (0, 0, 0) of input block 0 for each position
    first_taps<TW>(in, pos, cw.k, cw.s, od, xp);
    const index_t bs = in.block_stride(), ps = in.plane_stride(), rs = in.row_stride();
    const float* wt = cw.packed.data() + (ob * IB + ib0) * taps * block * block;
    for (index_t ib = ib0; ib < ib1; ++ib)
        for (int kd = 0; kd < KD; ++kd)
            for (int kh = 0; kh < KH; ++kh)
                for (int kw = 0; kw < KW; ++kw, wt += block * block) step<TW, NC>(acc, xp, ib * bs + kd * ps + kh * rs + kw * In::position_stride, wt);
    for (int t = 0; t < TW; ++t) {
        if constexpr (NC == 1) {  // non-temporal, as in the AVX-512 form
            _mm256_stream_ps(dst[t], acc[0][t]);
            _mm256_stream_ps(dst[t] + 8, acc[1][t]);
        } else {
            _mm256_store_ps(dst[t], acc[0][t]);
            _mm256_store_ps(dst[t] + 8, acc[1][t]);
        }
    }
}

/// Output depths [od0, od1) of output block ob, per chunk of input blocks (see the AVX-512 form).
template <int NC, class In>
CTSPINE_TARGET_AVX2 void conv_planes(const In& in, blocked_tensor& out, const conv_weights& cw, index_t ob, index_t od0, index_t od1) {
    const index_t P = out.H() * out.W(), IB = in.cblocks(), chunk = conv_ib_chunk(cw.k[0] * cw.k[1] * cw.k[2], 1);
    for (index_t ib0 = 0; ib0 < IB; ib0 += chunk) {
        const index_t ib1 = std::min(IB, ib0 + chunk);
        for (index_t od = od0; od < od1; ++od) {
            index_t p = 0;
            for (; p + conv_tw <= P; p += conv_tw) conv_micro<conv_tw, NC>(in, out, cw, ob, od, p, ib0, ib1);
            for (; p + 4 <= P; p += 4) conv_micro<4, NC>(in, out, cw, ob, od, p, ib0, ib1);
            for (; p + 2 <= P; p += 2) conv_micro<2, NC>(in, out, cw, ob, od, p, ib0, ib1);
            for (; p < P; ++p) conv_micro<1, NC>(in, out, cw, ob, od, p, ib0, ib1);
        }
    }
}

/// All outputs of output depths [od0, od1) for output block ob0 (nob is always 1 here); `in` is a blocked_tensor or,
/// for a one-input-channel layer, a dense_channel.
template <class In>
CTSPINE_TARGET_AVX2 void conv_task(const In& in, blocked_tensor& out, const conv_weights& cw, index_t ob0, index_t /*nob*/,
                                          index_t od0, index_t od1) {
    if (cw.ci == 1) {
        conv_planes<1>(in, out, cw, ob0, od0, od1);
        _mm_sfence();  // order the non-temporal stores before the task ends
    } else if constexpr (In::position_stride == block) {  // a dense_channel input always has ci == 1
        conv_planes<16>(in, out, cw, ob0, od0, od1);
    }
}

/// Transposed convolution (kernel = stride), tap (a, bb, cc) of output block ob for TW consecutive input positions
/// p0… of input depth d (p = h·W + w): a 1×1×1 convolution whose outputs land on every s-th output position.
template <int TW>
CTSPINE_TARGET_AVX2 void tconv_micro(const blocked_tensor& in, blocked_tensor& out, const transpose_weights& tw, index_t ob, index_t out_ob,
                                     index_t d, index_t p0, int a, int bb, int cc) {
    __m256 acc[2][TW];
    init<TW>(acc, tw.bias.data() + ob * block);
    const index_t IB = in.cblocks(), W = in.W(), tap = (a * tw.s[1] + bb) * tw.s[2] + cc, taps = tw.s[0] * tw.s[1] * tw.s[2];
    const float* wt = tw.packed.data() + (ob * taps + tap) * IB * block * block;
    const float* xp[TW];
    const plane_positions<TW> pos(p0, W);
    for (int t = 0; t < TW; ++t) xp[t] = in.at(0, d + 1, pos.row[t] + 1, pos.col[t] + 1);
    for (index_t ib = 0; ib < IB; ++ib, wt += block * block) step<TW>(acc, xp, ib * in.block_stride(), wt);
    for (int t = 0; t < TW; ++t) {
        float* dst = out.at(out_ob, d * tw.s[0] + a + 1, pos.row[t] * tw.s[1] + bb + 1, pos.col[t] * tw.s[2] + cc + 1);
        _mm256_store_ps(dst, acc[0][t]);
        _mm256_store_ps(dst + 8, acc[1][t]);
    }
}

/// Instance-norm statistics of one channel block, float64 per lane, voxels in storage order.
CTSPINE_TARGET_AVX2 inline void norm_sum(const blocked_tensor& x, index_t cb, double* s) {
    __m256d a[4] = {_mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd(), _mm256_setzero_pd()};
    for (index_t d = 0; d < x.D(); ++d)
        for (index_t h = 0; h < x.H(); ++h) {
            const float* p = x.at(cb, d + 1, h + 1, 1);
            for (index_t w = 0; w < x.W(); ++w, p += block)
                for (int k = 0; k < 4; ++k) a[k] = _mm256_add_pd(a[k], _mm256_cvtps_pd(_mm_load_ps(p + 4 * k)));
        }
    for (int k = 0; k < 4; ++k) _mm256_storeu_pd(s + 4 * k, a[k]);
}
CTSPINE_TARGET_AVX2 inline void norm_sqdev(const blocked_tensor& x, index_t cb, const double* mean, double* q) {
    __m256d m[4], a[4];
    for (int k = 0; k < 4; ++k) {
        m[k] = _mm256_loadu_pd(mean + 4 * k);
        a[k] = _mm256_setzero_pd();
    }
    for (index_t d = 0; d < x.D(); ++d)
        for (index_t h = 0; h < x.H(); ++h) {
            const float* p = x.at(cb, d + 1, h + 1, 1);
            for (index_t w = 0; w < x.W(); ++w, p += block)
                for (int k = 0; k < 4; ++k) {
                    const __m256d v = _mm256_sub_pd(_mm256_cvtps_pd(_mm_load_ps(p + 4 * k)), m[k]);
                    a[k] = _mm256_fmadd_pd(v, v, a[k]);
                }
        }
    for (int k = 0; k < 4; ++k) _mm256_storeu_pd(q + 4 * k, a[k]);
}

/// y = fma(x, scale, shift) [+ r | + fma(r, rscale, rshift)]; y < 0 → y · slope (slope < 0: no nonlinearity).
CTSPINE_TARGET_AVX2 inline void norm_apply(blocked_tensor& t, index_t cb, const float* scale, const float* shift, const blocked_tensor* res,
                                           const float* rscale, const float* rshift, float slope) {
    const __m256 zero = _mm256_setzero_ps(), sl = _mm256_set1_ps(slope);
    __m256 sc[2], sh[2], rsc[2] = {zero, zero}, rsh[2] = {zero, zero};
    for (int k = 0; k < 2; ++k) {
        sc[k] = _mm256_loadu_ps(scale + 8 * k);
        sh[k] = _mm256_loadu_ps(shift + 8 * k);
        if (rscale) {
            rsc[k] = _mm256_loadu_ps(rscale + 8 * k);
            rsh[k] = _mm256_loadu_ps(rshift + 8 * k);
        }
    }
    for (index_t d = 0; d < t.D(); ++d)
        for (index_t h = 0; h < t.H(); ++h) {
            float* p = t.at(cb, d + 1, h + 1, 1);
            const float* r = res ? res->at(cb, d + 1, h + 1, 1) : nullptr;
            for (index_t w = 0; w < t.W(); ++w, p += block) {
                for (int k = 0; k < 2; ++k) {
                    __m256 y = _mm256_fmadd_ps(_mm256_load_ps(p + 8 * k), sc[k], sh[k]);
                    if (r) {
                        const __m256 rv = _mm256_load_ps(r + 8 * k);
                        y = _mm256_add_ps(y, rscale ? _mm256_fmadd_ps(rv, rsc[k], rsh[k]) : rv);
                    }
                    if (slope >= 0) y = _mm256_blendv_ps(y, _mm256_mul_ps(y, sl), _mm256_cmp_ps(y, zero, _CMP_LT_OQ));
                    _mm256_store_ps(p + 8 * k, y);
                }
                if (r) r += block;
            }
        }
}

}  // namespace avx2
}  // namespace detail
}  // namespace nn
}  // namespace ctspine
#endif
