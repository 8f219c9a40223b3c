// ctspine — float32 trilinear zoom kernels (the fast path of resample_to_shape with interpolation::linear).
//
// Same sampling rule as scipy.ndimage.zoom(order=1, grid_mode=True, mode='nearest') / skimage resize order 1
// (see resample_kernels.hpp): output sample k of an axis n → m sits at input coordinate c = (k + 0.5)·n/m − 0.5,
// taps floor(c) and floor(c) + 1 with weights (1 − f, f), clamped to [0, n). Here the weights are float32 and the
// arithmetic is float32: per output row (y, z) the (up to) four contributing input rows are blended with weights
// wz·wy straight from the input type (int16 read directly, no float copy of the volume), then the x pass reads the
// blended row from L1 with two-register permutes (AVX-512; no gathers). Taps of weight 0 are skipped and taps that clamp to the same
// row are merged, so an axis with ratio 1 costs one tap. Each output row depends only on the input, so the result
// is identical for any thread count.
//
// Scalar twin: kernels/reference/resample_linear_reference.hpp (same operation order, std::fma where the SIMD form
// uses fused multiply-adds).
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/geometry.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/simd.hpp"
#include "ctspine/kernels/resample_kernels.hpp"

namespace ctspine {
namespace detail {

/// Per output sample of one axis: the two taps (int32, clamped; equal taps merged into i0 with w0 = 1, w1 = 0) and
/// their float32 weights.
/// For the AVX-512 x pass, per block of 16 outputs: `base` = i0 of its first output and the taps relative to it
/// (r0, r1 < 32), so the block reads two vectors row[base, base + 32) and picks its taps with two-register
/// permutes instead of gathers (slow on CPUs with the Gather Data Sampling mitigation). A block whose taps span 32
/// or more samples (zoom factor below ~1/2) has base −1 and is done in scalar code. Rows must be readable up to
/// n_in + 32 (the kernel pads its row buffer).
struct linear_taps_f32 {
    index_t n_in = 0, n_out = 0;
    std::vector<std::int32_t> i0, i1;
    std::vector<float> w0, w1;
    std::vector<std::int32_t> block_base, r0, r1;
};
inline constexpr index_t linear_block = 16, linear_row_pad = 32;

inline linear_taps_f32 make_linear_taps_f32(index_t n_in, index_t n_out) {
    if (n_in > index_t(std::numeric_limits<std::int32_t>::max()))
        throw error(errc::invalid_argument, cat("resample: axis length ", n_in, " exceeds the int32 range of the linear kernel"));
    const axis_plan p = make_axis_plan(n_in, n_out, 1);  // float64 coordinates and weights, as scipy computes them
    linear_taps_f32 t;
    t.n_in = n_in;
    t.n_out = n_out;
    const size_t m = static_cast<size_t>(n_out);
    t.i0.resize(m);
    t.i1.resize(m);
    t.w0.resize(m);
    t.w1.resize(m);
    for (size_t k = 0; k < m; ++k) {
        const index_t a = p.index[2 * k], b = p.index[2 * k + 1];
        double wa = p.weight[2 * k], wb = p.weight[2 * k + 1];
        if (a == b || wb == 0) {  // clamped at the border, or exactly on a sample: one tap of weight 1
            wa = 1;
            wb = 0;
        }
        t.i0[k] = static_cast<std::int32_t>(a);
        t.i1[k] = static_cast<std::int32_t>(wb == 0 ? a : b);
        t.w0[k] = static_cast<float>(wa);
        t.w1[k] = static_cast<float>(wb);
    }
    const size_t nb = m / static_cast<size_t>(linear_block);
    t.block_base.assign(nb, -1);
    t.r0.assign(nb * static_cast<size_t>(linear_block), 0);
    t.r1.assign(t.r0.size(), 0);
    for (size_t b = 0; b < nb; ++b) {
        const size_t k0 = b * static_cast<size_t>(linear_block), k1 = k0 + static_cast<size_t>(linear_block);
        std::int32_t lo = t.i0[k0], hi = t.i0[k0];
        for (size_t k = k0; k < k1; ++k) {
            lo = std::min({lo, t.i0[k], t.i1[k]});
            hi = std::max({hi, t.i0[k], t.i1[k]});
        }
        if (hi - lo >= 2 * std::int32_t(linear_block)) continue;
        t.block_base[b] = lo;
        for (size_t k = k0; k < k1; ++k) {
            t.r0[k] = t.i0[k] - lo;
            t.r1[k] = t.i1[k] - lo;
        }
    }
    return t;
}

/// Up to four input rows and their weights for one output row (zero-weight taps dropped, equal rows merged).
struct row_taps {
    int n = 0;
    std::array<index_t, 4> row{};  // row index (y + z·ny) in the input
    std::array<float, 4> w{};
};

inline row_taps make_row_taps(const linear_taps_f32& ty, const linear_taps_f32& tz, index_t y, index_t z) {
    row_taps r;
    const size_t ys = static_cast<size_t>(y), zs = static_cast<size_t>(z);
    const index_t ny = ty.n_in;
    const std::int32_t zi[2] = {tz.i0[zs], tz.i1[zs]}, yi[2] = {ty.i0[ys], ty.i1[ys]};
    const float zw[2] = {tz.w0[zs], tz.w1[zs]}, yw[2] = {ty.w0[ys], ty.w1[ys]};
    for (int a = 0; a < 2; ++a)
        for (int b = 0; b < 2; ++b) {
            if (zw[a] == 0 || yw[b] == 0) continue;
            r.row[static_cast<size_t>(r.n)] = index_t(zi[a]) * ny + index_t(yi[b]);
            r.w[static_cast<size_t>(r.n)] = zw[a] * yw[b];
            ++r.n;
        }
    return r;
}


/// Load L consecutive values of type InT as a float batch (int16/uint8/... widened element by element; float direct).
template <class Arch, class InT>
inline xsimd::batch<float, Arch> load_as_float(const InT* p) noexcept {
    using B = xsimd::batch<float, Arch>;
    if constexpr (std::is_same_v<InT, float>) {
        return B::load_unaligned(p);
    }
#if defined(__AVX512F__)
    // widening loads: xsimd 8.1 has no int16/uint8 → float conversion (its fallback copies through memory)
    else if constexpr (B::size == 16 && std::is_same_v<InT, std::int16_t>) {
        return B(_mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)))));
    } else if constexpr (B::size == 16 && std::is_same_v<InT, std::uint16_t>) {
        return B(_mm512_cvtepi32_ps(_mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)))));
    } else if constexpr (B::size == 16 && std::is_same_v<InT, std::uint8_t>) {
        return B(_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))));
    } else if constexpr (B::size == 16 && std::is_same_v<InT, std::int8_t>) {
        return B(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))));
    }
#endif
#if defined(__AVX2__)
    else if constexpr (B::size == 8 && std::is_same_v<InT, std::int16_t>) {
        return B(_mm256_cvtepi32_ps(_mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))));
    } else if constexpr (B::size == 8 && std::is_same_v<InT, std::uint16_t>) {
        return B(_mm256_cvtepi32_ps(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))));
    }
#endif
    else {
        alignas(64) float tmp[B::size];
        for (size_t i = 0; i < B::size; ++i) tmp[i] = static_cast<float>(p[i]);
        return B::load_aligned(tmp);
    }
}

/// acc[x] = Σ_t w_t · float(row_t[x]), x < n: first tap a product, the others fused multiply-adds, in tap order.
template <class Arch = simd::default_arch, class InT>
void blend_rows_f32(float* acc, const InT* const* rows, const float* w, int taps, index_t n) {
    using B = xsimd::batch<float, Arch>;
    constexpr index_t L = static_cast<index_t>(B::size);
    const index_t nv = n - n % L;
    index_t x = 0;
    for (; x < nv; x += L) {
        B s = B(w[0]) * load_as_float<Arch>(rows[0] + x);
        for (int t = 1; t < taps; ++t) s = simd::fmadd<Arch>(B(w[t]), load_as_float<Arch>(rows[t] + x), s);
        s.store_unaligned(acc + x);
    }
    for (; x < n; ++x) {
        float s = w[0] * static_cast<float>(rows[0][x]);
        for (int t = 1; t < taps; ++t) s = std::fma(w[t], static_cast<float>(rows[t][x]), s);
        acc[x] = s;
    }
}

/// out[k] = fma(w1[k], row[i1[k]], w0[k] · row[i0[k]]), k < n_out (the x pass; row is L1-resident and readable up to
/// n_in + linear_row_pad). AVX-512: permutes of two loaded vectors per 16 outputs; other archs: scalar (gather-free).
template <class Arch = simd::default_arch>
void interp_x_f32(const float* row, const linear_taps_f32& t, float* out) {
    using B = xsimd::batch<float, Arch>;
    constexpr index_t L = static_cast<index_t>(B::size);
    const index_t m = t.n_out, mv = m - m % L;
    const std::int32_t* i0 = t.i0.data();
    const std::int32_t* i1 = t.i1.data();
    const float* w0 = t.w0.data();
    const float* w1 = t.w1.data();
    index_t k = 0;
#if defined(__AVX512F__)
    if constexpr (L == linear_block) {
        for (; k < mv; k += L) {
            const std::int32_t base = t.block_base[static_cast<size_t>(k / L)];
            if (base < 0) {
                for (index_t q = k; q < k + L; ++q) out[q] = std::fma(w1[q], row[i1[q]], w0[q] * row[i0[q]]);
                continue;
            }
            const __m512 lo = _mm512_loadu_ps(row + base), hi = _mm512_loadu_ps(row + base + L);
            const B a(_mm512_permutex2var_ps(lo, _mm512_loadu_si512(t.r0.data() + k), hi));
            const B b(_mm512_permutex2var_ps(lo, _mm512_loadu_si512(t.r1.data() + k), hi));
            simd::fmadd<Arch>(B::load_unaligned(w1 + k), b, B::load_unaligned(w0 + k) * a).store_unaligned(out + k);
        }
    }
#endif
    (void)mv;
    for (; k < m; ++k) out[k] = std::fma(w1[k], row[i1[k]], w0[k] * row[i0[k]]);
}

/// float → OutT for one row: float copied, integers rounded to nearest and saturated.
template <class OutT>
inline void store_row_as(const float* src, OutT* dst, index_t n) noexcept {
    if constexpr (std::is_same_v<OutT, float>) {
        std::copy(src, src + n, dst);
    } else if constexpr (std::is_integral_v<OutT>) {
        constexpr double lo = double(std::numeric_limits<OutT>::lowest()), hi = double(std::numeric_limits<OutT>::max());
        for (index_t i = 0; i < n; ++i) dst[i] = static_cast<OutT>(std::min(std::max(std::nearbyint(double(src[i])), lo), hi));
    } else {
        for (index_t i = 0; i < n; ++i) dst[i] = static_cast<OutT>(src[i]);
    }
}

/// The whole float32 trilinear zoom: in (dims di, x fastest) → out (dims dout). Threaded over output z slices.
template <class InT, class OutT, class Arch = simd::default_arch>
void zoom3d_linear_f32(const InT* in, const dims3& di, OutT* out, const dims3& dout, int threads) {
    for (size_t a = 0; a < 3; ++a)
        if (di[a] < 1 || dout[a] < 1) throw error(errc::invalid_argument, "resample: empty input or output");
    const linear_taps_f32 tx = make_linear_taps_f32(di[0], dout[0]), ty = make_linear_taps_f32(di[1], dout[1]),
                          tz = make_linear_taps_f32(di[2], dout[2]);
    const index_t nx = di[0], mx = dout[0], my = dout[1], mz = dout[2];
    parallel_for(threads, mz, [&](index_t z0, index_t z1, int) {
        std::vector<float> acc(static_cast<size_t>(nx + linear_row_pad), 0.f), tmp(std::is_same_v<OutT, float> ? 0 : static_cast<size_t>(mx));
        for (index_t z = z0; z < z1; ++z)
            for (index_t y = 0; y < my; ++y) {
                const row_taps r = make_row_taps(ty, tz, y, z);
                const InT* rows[4];
                for (int t = 0; t < r.n; ++t) rows[t] = in + r.row[static_cast<size_t>(t)] * nx;
                blend_rows_f32<Arch>(acc.data(), rows, r.w.data(), r.n, nx);
                OutT* o = out + (z * my + y) * mx;
                if constexpr (std::is_same_v<OutT, float>) {
                    interp_x_f32<Arch>(acc.data(), tx, o);
                } else {
                    interp_x_f32<Arch>(acc.data(), tx, tmp.data());
                    store_row_as(tmp.data(), o, mx);
                }
            }
    });
}

}  // namespace detail
}  // namespace ctspine
