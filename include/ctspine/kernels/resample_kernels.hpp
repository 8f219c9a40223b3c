// ctspine — separable resampling kernels (B-spline order 3, linear, nearest) along one axis, in float64.
//
// Semantics are those of scipy.ndimage.zoom(grid_mode=True, mode='nearest') as skimage.transform.resize calls it
// (see docs/nnunet-numerics.md §4.2.5): output sample k of an axis n → m sits at input coordinate
// c = (k + 0.5)·n/m − 0.5. Order 3 pads the input by 12 edge-replicated samples (scipy _prepad_for_spline_filter),
// runs the cubic B-spline prefilter (pole z = √3 − 2, gain 6, mirror-symmetric initialisation as ni_splines.c) and
// interpolates with the four cubic B-spline weights at start = floor(c) − 1, taps clamped to the padded range.
// Order 1: weights (1 − f, f) at floor(c), clamped. Order 0: index floor(c + 0.5), clamped.
// scipy evaluates the 3-D tensor product in one loop; the per-axis operators commute, so applying them axis by
// axis gives the same values up to float64 rounding (~1e-15 relative), far inside the 1e-4 tolerance we test.
//
// Each kernel has a scalar form (`*_scalar`, the reference twin) and an xsimd form for the axis passes that work on
// whole rows at once; tests compare the two.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/geometry.hpp"
#include "ctspine/core/simd.hpp"

namespace ctspine {
namespace detail {

/// scipy's padding for order > 1 with mode 'nearest'.
inline constexpr index_t spline_pad = 12;
/// Cubic B-spline pole (Unser 1999; scipy ni_splines.c get_filter_poles for order 3).
inline constexpr double spline_pole = -0.267949192431122706;  // sqrt(3) - 2

/// Where the taps of each output sample of an axis are and how much each weighs.
struct axis_plan {
    int order = 1;
    index_t n_in = 0, n_out = 0, n_src = 0;  // n_src: length of the (padded) source line
    int taps = 2;
    std::vector<index_t> index;   // n_out × taps, clamped to [0, n_src)
    std::vector<double> weight;   // n_out × taps
};

inline axis_plan make_axis_plan(index_t n_in, index_t n_out, int order) {
    if (n_in < 1 || n_out < 1) throw error(errc::invalid_argument, cat("resample: axis sizes must be >= 1 (", n_in, " -> ", n_out, ")"));
    if (order != 0 && order != 1 && order != 3) throw error(errc::invalid_argument, cat("resample: order must be 0, 1 or 3, got ", order));
    axis_plan p;
    p.order = order;
    p.n_in = n_in;
    p.n_out = n_out;
    const index_t pad = order == 3 ? spline_pad : 0;
    p.n_src = n_in + 2 * pad;
    p.taps = order == 3 ? 4 : (order == 1 ? 2 : 1);
    p.index.resize(static_cast<size_t>(n_out * p.taps));
    p.weight.resize(static_cast<size_t>(n_out * p.taps));
    const double r = double(n_in) / double(n_out);
    auto clampi = [&](index_t i) { return std::min<index_t>(std::max<index_t>(i, 0), p.n_src - 1); };
    for (index_t k = 0; k < n_out; ++k) {
        const double c = (double(k) + 0.5) * r - 0.5 + double(pad);
        index_t* I = &p.index[static_cast<size_t>(k * p.taps)];
        double* W = &p.weight[static_cast<size_t>(k * p.taps)];
        if (order == 0) {
            I[0] = clampi(static_cast<index_t>(std::floor(c + 0.5)));
            W[0] = 1;
        } else if (order == 1) {
            const double f = std::floor(c);
            const double t = c - f;
            I[0] = clampi(static_cast<index_t>(f));
            I[1] = clampi(static_cast<index_t>(f) + 1);
            W[0] = 1 - t;
            W[1] = t;
        } else {
            const double f = std::floor(c);
            const double y = c - f;  // scipy get_spline_interpolation_weights, order 3
            const double z = 1 - y;
            W[1] = (y * y * (y - 2) * 3 + 4) / 6;
            W[2] = (z * z * (z - 2) * 3 + 4) / 6;
            W[0] = z * z * z / 6;
            W[3] = 1 - W[0] - W[1] - W[2];
            const index_t s = static_cast<index_t>(f) - 1;
            for (int t = 0; t < 4; ++t) I[t] = clampi(s + t);
        }
    }
    return p;
}

/// In-place cubic B-spline prefilter of one line (scipy ni_splines.c apply_filter, mirror-symmetric init).
inline void spline_filter_line_scalar(double* c, index_t n) {
    if (n < 2) return;
    const double z = spline_pole;
    const double gain = (1 - z) * (1 - 1 / z);
    for (index_t i = 0; i < n; ++i) c[i] *= gain;
    // causal initialisation (_init_causal_reflect)
    double zn = 1;
    for (index_t i = 0; i < n; ++i) zn *= z;  // z^n
    double sum = c[0] + zn * c[n - 1];
    double zi = z;
    for (index_t i = 1; i < n; ++i) {
        sum += zi * (c[i] + zn * c[n - 1 - i]);
        zi *= z;
    }
    c[0] += sum * z / (1 - zn * zn);
    for (index_t i = 1; i < n; ++i) c[i] += z * c[i - 1];
    // anticausal initialisation (_init_anticausal_reflect) and recursion
    c[n - 1] *= z / (z - 1);
    for (index_t i = n - 2; i >= 0; --i) c[i] = z * (c[i + 1] - c[i]);
}

/// The same filter applied to `w` independent lines stored as rows: element (i, x) at c[i*stride + x], x < w.
/// Scalar twin of spline_filter_rows.
inline void spline_filter_rows_scalar(double* c, index_t n, index_t w, index_t stride) {
    if (n < 2) return;
    const double z = spline_pole;
    const double gain = (1 - z) * (1 - 1 / z);
    double zn = 1;
    for (index_t i = 0; i < n; ++i) zn *= z;
    for (index_t i = 0; i < n; ++i)
        for (index_t x = 0; x < w; ++x) c[i * stride + x] *= gain;
    std::vector<double> sum(static_cast<size_t>(w));
    for (index_t x = 0; x < w; ++x) sum[static_cast<size_t>(x)] = c[x] + zn * c[(n - 1) * stride + x];
    double zi = z;
    for (index_t i = 1; i < n; ++i) {
        for (index_t x = 0; x < w; ++x) sum[static_cast<size_t>(x)] += zi * (c[i * stride + x] + zn * c[(n - 1 - i) * stride + x]);
        zi *= z;
    }
    for (index_t x = 0; x < w; ++x) c[x] += sum[static_cast<size_t>(x)] * z / (1 - zn * zn);
    for (index_t i = 1; i < n; ++i)
        for (index_t x = 0; x < w; ++x) c[i * stride + x] += z * c[(i - 1) * stride + x];
    for (index_t x = 0; x < w; ++x) c[(n - 1) * stride + x] *= z / (z - 1);
    for (index_t i = n - 2; i >= 0; --i)
        for (index_t x = 0; x < w; ++x) c[i * stride + x] = z * (c[(i + 1) * stride + x] - c[i * stride + x]);
}

/// SIMD form of spline_filter_rows_scalar (vectorised across the w independent lines; same operation order per line,
/// so results are bitwise identical to the scalar twin).
template <class Arch = simd::default_arch>
void spline_filter_rows(double* c, index_t n, index_t w, index_t stride, std::vector<double>& sum) {
    using B = xsimd::batch<double, Arch>;
    constexpr index_t L = static_cast<index_t>(B::size);
    if (n < 2) return;
    const double z = spline_pole;
    const double gain = (1 - z) * (1 - 1 / z);
    double zn = 1;
    for (index_t i = 0; i < n; ++i) zn *= z;
    const index_t wv = w - w % L;
    const B bz(z), bgain(gain), bzn(zn);
    for (index_t i = 0; i < n; ++i) {
        double* row = c + i * stride;
        index_t x = 0;
        for (; x < wv; x += L) (B::load_unaligned(row + x) * bgain).store_unaligned(row + x);
        for (; x < w; ++x) row[x] *= gain;
    }
    sum.resize(static_cast<size_t>(w));
    const double* last = c + (n - 1) * stride;
    for (index_t x = 0; x < w; ++x) sum[static_cast<size_t>(x)] = c[x] + zn * last[x];
    double zi = z;
    for (index_t i = 1; i < n; ++i) {
        const double* a = c + i * stride;
        const double* b = c + (n - 1 - i) * stride;
        const B bzi(zi);
        index_t x = 0;
        for (; x < wv; x += L)
            (B::load_unaligned(&sum[static_cast<size_t>(x)]) + bzi * (B::load_unaligned(a + x) + bzn * B::load_unaligned(b + x)))
                .store_unaligned(&sum[static_cast<size_t>(x)]);
        for (; x < w; ++x) sum[static_cast<size_t>(x)] += zi * (a[x] + zn * b[x]);
        zi *= z;
    }
    const double k0 = z / (1 - zn * zn);
    for (index_t x = 0; x < w; ++x) c[x] += sum[static_cast<size_t>(x)] * k0;
    for (index_t i = 1; i < n; ++i) {
        double* row = c + i * stride;
        const double* prev = row - stride;
        index_t x = 0;
        for (; x < wv; x += L) (B::load_unaligned(row + x) + bz * B::load_unaligned(prev + x)).store_unaligned(row + x);
        for (; x < w; ++x) row[x] += z * prev[x];
    }
    double* lastw = c + (n - 1) * stride;
    const double kl = z / (z - 1);
    for (index_t x = 0; x < w; ++x) lastw[x] *= kl;
    for (index_t i = n - 2; i >= 0; --i) {
        double* row = c + i * stride;
        const double* next = row + stride;
        index_t x = 0;
        for (; x < wv; x += L) (bz * (B::load_unaligned(next + x) - B::load_unaligned(row + x))).store_unaligned(row + x);
        for (; x < w; ++x) row[x] = z * (next[x] - row[x]);
    }
}

/// Interpolate rows: out_row(k)[x] = Σ_t w(k,t) · src_row(index(k,t))[x], x < w. Scalar twin.
inline void interpolate_rows_scalar(const axis_plan& p, const double* src, index_t src_stride, double* out, index_t out_stride, index_t w) {
    for (index_t k = 0; k < p.n_out; ++k) {
        double* o = out + k * out_stride;
        for (index_t x = 0; x < w; ++x) {
            double s = 0;
            for (int t = 0; t < p.taps; ++t)
                s += p.weight[static_cast<size_t>(k * p.taps + t)] * src[p.index[static_cast<size_t>(k * p.taps + t)] * src_stride + x];
            o[x] = s;
        }
    }
}

/// SIMD form of interpolate_rows_scalar (same summation order per element: bitwise identical).
template <class Arch = simd::default_arch>
void interpolate_rows(const axis_plan& p, const double* src, index_t src_stride, double* out, index_t out_stride, index_t w) {
    using B = xsimd::batch<double, Arch>;
    constexpr index_t L = static_cast<index_t>(B::size);
    const index_t wv = w - w % L;
    for (index_t k = 0; k < p.n_out; ++k) {
        double* o = out + k * out_stride;
        const index_t* I = &p.index[static_cast<size_t>(k * p.taps)];
        const double* W = &p.weight[static_cast<size_t>(k * p.taps)];
        index_t x = 0;
        for (; x < wv; x += L) {
            B s(0.0);
            for (int t = 0; t < p.taps; ++t) s = s + B(W[t]) * B::load_unaligned(src + I[t] * src_stride + x);
            s.store_unaligned(o + x);
        }
        for (; x < w; ++x) {
            double s = 0;
            for (int t = 0; t < p.taps; ++t) s += W[t] * src[I[t] * src_stride + x];
            o[x] = s;
        }
    }
}

/// One contiguous line n_in → n_out (the x pass): pad/filter into `buf`, then interpolate. Scalar (recursive filter).
inline void resample_line(const axis_plan& p, const double* in, index_t in_stride, double* out, std::vector<double>& buf) {
    const index_t pad = p.order == 3 ? spline_pad : 0;
    buf.resize(static_cast<size_t>(p.n_src));
    for (index_t i = 0; i < p.n_src; ++i) {
        index_t s = std::min<index_t>(std::max<index_t>(i - pad, 0), p.n_in - 1);
        buf[static_cast<size_t>(i)] = in[s * in_stride];
    }
    if (p.order == 3) spline_filter_line_scalar(buf.data(), p.n_src);
    for (index_t k = 0; k < p.n_out; ++k) {
        double s = 0;
        for (int t = 0; t < p.taps; ++t)
            s += p.weight[static_cast<size_t>(k * p.taps + t)] * buf[static_cast<size_t>(p.index[static_cast<size_t>(k * p.taps + t)])];
        out[k] = s;
    }
}

}  // namespace detail
}  // namespace ctspine
