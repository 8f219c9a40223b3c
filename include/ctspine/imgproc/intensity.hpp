// ctspine — intensity operations: display windowing, clipping, nnU-Net's CTNormalization, percentiles and the
// foreground intensity statistics of a dataset fingerprint.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/simd.hpp"
#include "ctspine/core/volume.hpp"

namespace ctspine {

/// A display window in Hounsfield units.
struct window_hu {
    double level = 40, width = 400;
    double lower() const { return level - width / 2; }
    double upper() const { return level + width / 2; }
};
/// Common radiology presets (e.g. Radiopaedia "windowing (CT)": bone W 1800 L 400, soft tissue W 400 L 40,
/// lung W 1500 L −600).
inline constexpr window_hu window_bone{400, 1800}, window_soft_tissue{40, 400}, window_lung{-600, 1500};

namespace detail {
/// Scalar twin of ct_normalize_kernel: NumPy float32 semantics — clip, subtract, divide, each rounded to float32.
inline void ct_normalize_scalar(const float* in, float* out, index_t n, float lo, float hi, float mean, float sd) {
    for (index_t i = 0; i < n; ++i) {
        float x = std::min(std::max(in[i], lo), hi);
        x = x - mean;
        out[i] = x / sd;
    }
}
template <class Arch = simd::default_arch>
void ct_normalize_kernel(const float* in, float* out, index_t n, float lo, float hi, float mean, float sd) {
    using B = xsimd::batch<float, Arch>;
    constexpr index_t L = static_cast<index_t>(B::size);
    const B blo(lo), bhi(hi), bm(mean), bs(sd);
    index_t i = 0;
    for (; i + L <= n; i += L) {
        B x = xsimd::min(xsimd::max(B::load_unaligned(in + i), blo), bhi);
        ((x - bm) / bs).store_unaligned(out + i);  // separate sub and div: same roundings as the scalar twin
    }
    ct_normalize_scalar(in + i, out + i, n - i, lo, hi, mean, sd);
}
/// Scalar twin of window_kernel: (clip(x, lo, hi) − lo) / width in float32.
inline void window_scalar(const float* in, float* out, index_t n, float lo, float hi, float width) {
    for (index_t i = 0; i < n; ++i) out[i] = (std::min(std::max(in[i], lo), hi) - lo) / width;
}
template <class Arch = simd::default_arch>
void window_kernel(const float* in, float* out, index_t n, float lo, float hi, float width) {
    using B = xsimd::batch<float, Arch>;
    constexpr index_t L = static_cast<index_t>(B::size);
    const B blo(lo), bhi(hi), bw(width);
    index_t i = 0;
    for (; i + L <= n; i += L) ((xsimd::min(xsimd::max(B::load_unaligned(in + i), blo), bhi) - blo) / bw).store_unaligned(out + i);
    window_scalar(in + i, out + i, n - i, lo, hi, width);
}
}  // namespace detail

/// Window to float [0, 1]: 0 at level − width/2 and below, 1 at level + width/2 and above. `in` and `out` may alias.
inline void window_into(volume_view<const float> in, volume_view<float> out, const window_hu& w, int threads = 0) {
    if (in.dims() != out.dims()) throw error(errc::shape_mismatch, "window: dims differ");
    if (!(w.width > 0)) throw error(errc::invalid_argument, "window: width must be > 0");
    out.geometry() = in.geometry();
    parallel_for(threads, in.size(), [&](index_t b, index_t e, int) {
        detail::window_kernel(in.data() + b, out.data() + b, e - b, float(w.lower()), float(w.upper()), float(w.width));
    }, 1 << 16);
}
inline volume<float> window(volume_view<const float> in, const window_hu& w, int threads = 0) {
    volume<float> out(in.geometry());
    window_into(in, out.view(), w, threads);
    return out;
}
/// Window to uint8 for display: round(255 · windowed).
inline volume<std::uint8_t> window_uint8(volume_view<const float> in, const window_hu& w, int threads = 0) {
    if (!(w.width > 0)) throw error(errc::invalid_argument, "window: width must be > 0");
    volume<std::uint8_t> out(in.geometry());
    const float lo = float(w.lower()), hi = float(w.upper()), width = float(w.width);
    parallel_for(threads, in.size(), [&](index_t b, index_t e, int) {
        for (index_t i = b; i < e; ++i)
            out[i] = static_cast<std::uint8_t>(std::lround(255.f * ((std::min(std::max(in[i], lo), hi) - lo) / width)));
    }, 1 << 16);
    return out;
}

/// nnU-Net CTNormalization (nnunetv2/preprocessing/normalization/default_normalization_schemes.py): clip to
/// [percentile_00_5, percentile_99_5], subtract mean, divide by max(std, 1e-8) — every operand rounded to float32
/// first and every step rounded to float32, as NumPy does for a float32 array and Python-float scalars.
struct ct_normalization {
    double percentile_00_5 = 0, percentile_99_5 = 0, mean = 0, std = 1;
};
inline void ct_normalize(const float* in, float* out, index_t n, const ct_normalization& p, int threads = 0) {
    const float lo = float(p.percentile_00_5), hi = float(p.percentile_99_5), mean = float(p.mean);
    const float sd = float(std::max(p.std, 1e-8));
    parallel_for(threads, n, [&](index_t b, index_t e, int) { detail::ct_normalize_kernel(in + b, out + b, e - b, lo, hi, mean, sd); }, 1 << 16);
}
inline void ct_normalize_into(volume_view<const float> in, volume_view<float> out, const ct_normalization& p, int threads = 0) {
    if (in.dims() != out.dims()) throw error(errc::shape_mismatch, "ct_normalize: dims differ");
    out.geometry() = in.geometry();
    ct_normalize(in.data(), out.data(), in.size(), p, threads);
}

/// NumPy's percentile (method 'linear') of `values` (copied and partially sorted), q in [0, 100].
inline double percentile(std::vector<double> values, double q) {
    if (values.empty()) throw error(errc::invalid_argument, "percentile of an empty set");
    if (!(q >= 0 && q <= 100)) throw error(errc::invalid_argument, "percentile: q must be in [0, 100]");
    const double pos = q / 100.0 * double(values.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, values.size() - 1);
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(lo), values.end());
    const double a = values[lo];
    const double b = hi == lo ? a : *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(lo) + 1, values.end());
    const double t = pos - double(lo);
    // numpy _lerp: a + (b − a)·t, computed as b − (b − a)·(1 − t) when t ≥ 0.5 (monotonic and exact at the ends)
    const double d = b - a;
    return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

/// Foreground intensity statistics as nnU-Net's fingerprint records them (mean, std = population std, min, max,
/// median, percentile_00_5, percentile_99_5) over the voxels of `ct` where `mask` is non-zero. Sums in float64.
struct intensity_statistics {
    double mean = 0, std = 0, min = 0, max = 0, median = 0, percentile_00_5 = 0, percentile_99_5 = 0;
    index_t count = 0;
};
template <class M>
intensity_statistics foreground_statistics(volume_view<const float> ct, volume_view<const M> mask) {
    if (ct.dims() != mask.dims()) throw error(errc::shape_mismatch, "foreground_statistics: dims differ");
    std::vector<double> v;
    for (index_t i = 0; i < ct.size(); ++i)
        if (mask[i]) v.push_back(ct[i]);
    intensity_statistics s;
    s.count = static_cast<index_t>(v.size());
    if (v.empty()) return s;
    double sum = 0;
    for (double x : v) sum += x;
    s.mean = sum / double(v.size());
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / double(v.size()));
    auto [mn, mx] = std::minmax_element(v.begin(), v.end());
    s.min = *mn;
    s.max = *mx;
    s.median = percentile(v, 50);
    s.percentile_00_5 = percentile(v, 0.5);
    s.percentile_99_5 = percentile(std::move(v), 99.5);
    return s;
}

}  // namespace ctspine
