// ctspine — resampling volumes: to a shape, to a spacing (grid-aligned "zoom", as scipy/skimage), and onto another
// image's grid in world space (as ITK's ResampleImageFilter). Nearest (labels), linear and cubic B-spline.
#pragma once
#include <algorithm>
#include <array>
#include <memory>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>
#include <cstdlib>
#include <string>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "ctspine/core/error.hpp"
#include "ctspine/core/geometry.hpp"
#include "ctspine/core/parallel.hpp"
#include "ctspine/core/volume.hpp"
#include "ctspine/kernels/resample_kernels.hpp"
#include "ctspine/kernels/resample_linear.hpp"

namespace ctspine {

enum class interpolation { nearest = 0, linear = 1, cubic = 3 };

namespace detail {

/// How zoom3d clips its result: not at all, to the input's [min, max] (skimage resize's _clip_warp_output), or per
/// slice along one axis to that slice's range (nnU-Net's separate-z path resizes each slice in 2-D with skimage).
struct zoom_clip {
    enum { none, global, per_slice } mode = none;
    int axis = 2;
};


/// Uninitialised scratch array for the large intermediate of zoom3d. Large ones are 2 MiB-aligned and, on Linux, marked
/// MADV_HUGEPAGE: with 4 KiB pages the first touch of a fresh ~0.5 GB buffer costs more page faults than the
/// interpolation itself on some (virtualised) machines. The hint is advisory; failure is harmless.
struct scratch_doubles {
    std::unique_ptr<double[], aligned_deleter<double>> p;
    /// allocate_uninit (core/volume.hpp): aligned operator new, portable (MSVC has no std::aligned_alloc)
    explicit scratch_doubles(size_t n) : p(allocate_uninit<double>(static_cast<index_t>(std::max<size_t>(n, 1)))) {}
    double* get() const noexcept { return p.get(); }
};

/// Separable zoom of a 3-D array (x fastest) with an order per axis, computed in float64, written as OutT.
/// Grid-mode coordinates; see kernels/resample_kernels.hpp. Deterministic for any thread count.
template <class InT, class OutT>
void zoom3d(const InT* in, const dims3& di, OutT* out, const dims3& dout, const std::array<int, 3>& order, zoom_clip clip, int threads) {
    for (int a = 0; a < 3; ++a)
        if (di[static_cast<size_t>(a)] < 1 || dout[static_cast<size_t>(a)] < 1)
            throw error(errc::invalid_argument, "resample: empty input or output");
    const axis_plan px = make_axis_plan(di[0], dout[0], order[0]);
    const axis_plan py = make_axis_plan(di[1], dout[1], order[1]);
    const axis_plan pz = make_axis_plan(di[2], dout[2], order[2]);
    const index_t nx = di[0], ny = di[1], nz = di[2], mx = dout[0], my = dout[1], mz = dout[2];
    // X and Y passes fused per input z-plane (no full-size intermediate after the x pass): the x pass turns the
    // plane's ny lines into a thread-local (mx, ny) plane A, the y pass pads/filters/interpolates whole rows of A into
    // plane z of B (mx, my, nz). B is left uninitialised (no serial memset) and first touched by the threads.
    const size_t nb = static_cast<size_t>(detail::checked_mul(detail::checked_mul(mx, my), nz));
    scratch_doubles B(nb);
    parallel_for(threads, nz, [&](index_t z0, index_t z1, int) {
        std::vector<double> A(static_cast<size_t>(mx * ny)), line(static_cast<size_t>(nx)), buf;
        std::vector<double> P(static_cast<size_t>(py.n_src * mx)), sum;
        const index_t pad = py.order == 3 ? spline_pad : 0;
        for (index_t z = z0; z < z1; ++z) {
            for (index_t y = 0; y < ny; ++y) {
                const InT* src = in + (z * ny + y) * nx;
                for (index_t i = 0; i < nx; ++i) line[static_cast<size_t>(i)] = static_cast<double>(src[i]);
                resample_line(px, line.data(), 1, A.data() + y * mx, buf);
            }
            const double* plane = A.data();
            for (index_t i = 0; i < py.n_src; ++i) {
                index_t s = std::min<index_t>(std::max<index_t>(i - pad, 0), ny - 1);
                std::copy(plane + s * mx, plane + (s + 1) * mx, P.data() + i * mx);
            }
            if (py.order == 3) spline_filter_rows(P.data(), py.n_src, mx, mx, sum);
            interpolate_rows(py, P.data(), mx, B.get() + z * my * mx, mx, mx);
        }
    }, 1);
    // Z pass: per y, gather the (x, z) plane into rows, pad/filter/interpolate along z, scatter.
    std::vector<double> zmin, zmax;  // per input slice range for per-slice clipping
    double gmin = std::numeric_limits<double>::infinity(), gmax = -gmin;
    if (clip.mode == zoom_clip::global) {
        for (index_t n = 0; n < nx * ny * nz; ++n) {
            gmin = std::min(gmin, double(in[n]));
            gmax = std::max(gmax, double(in[n]));
        }
    } else if (clip.mode == zoom_clip::per_slice) {
        const index_t ns = di[static_cast<size_t>(clip.axis)];
        zmin.assign(static_cast<size_t>(ns), std::numeric_limits<double>::infinity());
        zmax.assign(static_cast<size_t>(ns), -std::numeric_limits<double>::infinity());
        for (index_t z = 0; z < nz; ++z)
            for (index_t y = 0; y < ny; ++y)
                for (index_t x = 0; x < nx; ++x) {
                    const double v = double(in[(z * ny + y) * nx + x]);
                    const index_t s = clip.axis == 0 ? x : (clip.axis == 1 ? y : z);
                    zmin[static_cast<size_t>(s)] = std::min(zmin[static_cast<size_t>(s)], v);
                    zmax[static_cast<size_t>(s)] = std::max(zmax[static_cast<size_t>(s)], v);
                }
    }
    // source slice of each output slice along the clip axis (its order is 0 in nnU-Net's separate-z path)
    const axis_plan& pc = clip.axis == 0 ? px : (clip.axis == 1 ? py : pz);
    parallel_for(threads, my, [&](index_t y0, index_t y1, int) {
        std::vector<double> P(static_cast<size_t>(pz.n_src * mx)), Q(static_cast<size_t>(mz * mx)), sum;
        const index_t pad = pz.order == 3 ? spline_pad : 0;
        for (index_t y = y0; y < y1; ++y) {
            for (index_t i = 0; i < pz.n_src; ++i) {
                index_t s = std::min<index_t>(std::max<index_t>(i - pad, 0), nz - 1);
                const double* row = B.get() + (s * my + y) * mx;
                std::copy(row, row + mx, P.data() + i * mx);
            }
            if (pz.order == 3) spline_filter_rows(P.data(), pz.n_src, mx, mx, sum);
            interpolate_rows(pz, P.data(), mx, Q.data(), mx, mx);
            for (index_t z = 0; z < mz; ++z) {
                OutT* o = out + (z * my + y) * mx;
                const double* q = Q.data() + z * mx;
                for (index_t x = 0; x < mx; ++x) {
                    double v = q[x];
                    if (clip.mode == zoom_clip::global) {
                        v = std::min(std::max(v, gmin), gmax);
                    } else if (clip.mode == zoom_clip::per_slice) {
                        const index_t k = clip.axis == 0 ? x : (clip.axis == 1 ? y : z);
                        const index_t s = pc.index[static_cast<size_t>(k * pc.taps)] - (pc.order == 3 ? spline_pad : 0);
                        v = std::min(std::max(v, zmin[static_cast<size_t>(s)]), zmax[static_cast<size_t>(s)]);
                    }
                    if constexpr (std::is_integral_v<OutT>) o[x] = static_cast<OutT>(std::lround(v));
                    else o[x] = static_cast<OutT>(v);
                }
            }
        }
    }, 1);
}

/// Grid of a zoom: the same field of view with `shape` voxels; voxel k's centre is at input index (k + 0.5)·r − 0.5.
inline geometry zoomed_geometry(const geometry& g, const dims3& shape) {
    geometry o;
    o.dims = shape;
    affine4 S = affine4::Identity();
    for (int a = 0; a < 3; ++a) {
        const double r = double(g.dims[static_cast<size_t>(a)]) / double(shape[static_cast<size_t>(a)]);
        S(a, a) = r;
        S(a, 3) = 0.5 * r - 0.5;
        o.spacing_mm[static_cast<size_t>(a)] = g.spacing_mm[static_cast<size_t>(a)] * r;
    }
    o.ijk_to_ras = g.ijk_to_ras * S;
    return o;
}

}  // namespace detail

struct resample_options {
    interpolation interp = interpolation::linear;
    int threads = 0;
    /// Clip the result to the input's [min, max] (what skimage.transform.resize does; avoids cubic overshoot).
    bool clip_to_input_range = true;
};

/// Geometry of `g` resampled to `shape` voxels over the same field of view (grid_mode): the geometry that
/// resample_to_shape gives its result, for callers of the _into forms with their own buffers.
inline geometry resampled_geometry(const geometry& g, const dims3& shape) { return detail::zoomed_geometry(g, shape); }

/// Resample into `out`, whose dims give the target shape (same field of view, grid-aligned as scipy.ndimage.zoom with
/// grid_mode=True). The voxels are written; `out` is a view, so its world placement is the caller's:
/// resampled_geometry(in.geometry(), out.dims()). Cubic is the scipy/skimage B-spline (order 3) with its prefilter.
/// Linear with a float32 or integer output runs the float32 kernel (kernels/resample_linear.hpp: ~1e-7 relative to
/// the float64 result; a convex combination of input values, so clip_to_input_range has nothing to clip beyond
/// float32 rounding); a double output, nearest and cubic use the float64 separable path.
template <class InT, class OutT>
void resample_to_shape_into(volume_view<const InT> in, volume_view<OutT> out, const resample_options& opt = {}) {
    if (opt.interp == interpolation::linear && !std::is_same_v<OutT, double>) {
        detail::zoom3d_linear_f32<InT, OutT>(in.data(), in.dims(), out.data(), out.dims(), opt.threads);
        return;
    }
    const int o = static_cast<int>(opt.interp);
    detail::zoom_clip clip;
    clip.mode = opt.clip_to_input_range && o != 0 ? detail::zoom_clip::global : detail::zoom_clip::none;
    detail::zoom3d<InT, OutT>(in.data(), in.dims(), out.data(), out.dims(), {o, o, o}, clip, opt.threads);
}

/// Resample to a target shape (float output). For label maps use resample_labels_to_shape.
template <class InT>
volume<float> resample_to_shape(volume_view<const InT> in, const dims3& shape, const resample_options& opt = {}) {
    volume<float> out(detail::zoomed_geometry(in.geometry(), shape));
    resample_to_shape_into<InT, float>(in, out.view(), opt);
    return out;
}

/// The shape for a target spacing: round(n · spacing / new_spacing) per axis (round half to even, as Python's round,
/// which nnU-Net's compute_new_shape uses), at least 1.
inline dims3 shape_for_spacing(const dims3& dims, const std::array<double, 3>& spacing, const std::array<double, 3>& new_spacing) {
    dims3 s{};
    for (int a = 0; a < 3; ++a) {
        if (!(new_spacing[static_cast<size_t>(a)] > 0)) throw error(errc::invalid_argument, "resample: target spacing must be > 0");
        double v = spacing[static_cast<size_t>(a)] / new_spacing[static_cast<size_t>(a)] * double(dims[static_cast<size_t>(a)]);
        s[static_cast<size_t>(a)] = std::max<index_t>(1, static_cast<index_t>(std::nearbyint(v)));  // FE_TONEAREST: half to even
    }
    return s;
}

/// nnU-Net's resampling to a spacing (preprocessing's compute_new_shape): the field of view is kept exactly and the
/// shape is round(n · s / new_s) (shape_for_spacing), so the voxels are n·s/m mm — close to, not exactly, the spacing
/// asked for (101 voxels of 3 mm at 2 mm asked: 152 voxels of 1.99342 mm). For exactly the spacing asked for, use
/// resample_to_spacing.
template <class InT>
volume<float> zoom_to_spacing(volume_view<const InT> in, const std::array<double, 3>& spacing_mm, const resample_options& opt = {}) {
    return resample_to_shape<InT>(in, shape_for_spacing(in.dims(), in.spacing_mm(), spacing_mm), opt);
}

/// Nearest-neighbour resampling of a label map to a shape: every output value is an input value (no new labels).
template <class T>
volume<T> resample_labels_to_shape(volume_view<const T> in, const dims3& shape, int threads = 0) {
    volume<T> out(detail::zoomed_geometry(in.geometry(), shape));
    const detail::axis_plan px = detail::make_axis_plan(in.dims()[0], shape[0], 0), py = detail::make_axis_plan(in.dims()[1], shape[1], 0),
                            pz = detail::make_axis_plan(in.dims()[2], shape[2], 0);
    parallel_for(threads, shape[2], [&](index_t z0, index_t z1, int) {
        for (index_t z = z0; z < z1; ++z)
            for (index_t y = 0; y < shape[1]; ++y) {
                const T* src = in.data() + (pz.index[static_cast<size_t>(z)] * in.dims()[1] + py.index[static_cast<size_t>(y)]) * in.dims()[0];
                T* o = out.data() + (z * shape[1] + y) * shape[0];
                for (index_t x = 0; x < shape[0]; ++x) o[x] = src[px.index[static_cast<size_t>(x)]];
            }
    });
    return out;
}

namespace detail {

/// Cubic B-spline coefficients of a volume as scipy.ndimage.map_coordinates(order=3, mode='nearest', prefilter=True)
/// computes them (scipy/ndimage/_interpolation.py: _prepad_for_spline_filter pads by 12 samples with edge replication
/// for mode 'nearest', then spline_filter along every axis in float64): dims (n + 24) per axis, x fastest.
template <class InT>
std::vector<double> spline_coefficients_padded(volume_view<const InT> in, int threads) {
    const dims3 di = in.dims();
    const index_t P = spline_pad, px = di[0] + 2 * P, py = di[1] + 2 * P, pz = di[2] + 2 * P;
    std::vector<double> c(static_cast<size_t>(checked_mul(checked_mul(px, py), pz)));
    auto clampi = [](index_t i, index_t n) { return std::min<index_t>(std::max<index_t>(i, 0), n - 1); };
    // pad + filter along x, one line at a time
    parallel_for(threads, pz, [&](index_t z0, index_t z1, int) {
        for (index_t z = z0; z < z1; ++z)
            for (index_t y = 0; y < py; ++y) {
                double* line = c.data() + (z * py + y) * px;
                const InT* src = in.data() + (clampi(z - P, di[2]) * di[1] + clampi(y - P, di[1])) * di[0];
                for (index_t x = 0; x < px; ++x) line[x] = double(src[clampi(x - P, di[0])]);
                spline_filter_line_scalar(line, px);
            }
    });
    // along y: per z plane, the rows are y, vectorised across x
    parallel_for(threads, pz, [&](index_t z0, index_t z1, int) {
        std::vector<double> sum;
        for (index_t z = z0; z < z1; ++z) spline_filter_rows(c.data() + z * py * px, py, px, px, sum);
    });
    // along z: per y, the rows are z (stride px·py), vectorised across x
    parallel_for(threads, py, [&](index_t y0, index_t y1, int) {
        std::vector<double> sum;
        for (index_t y = y0; y < y1; ++y) spline_filter_rows(c.data() + y * px, pz, px, px * py, sum);
    });
    return c;
}

/// scipy get_spline_interpolation_weights (order 3) at continuous padded coordinate cp, taps start = floor(cp) − 1
/// clamped to [0, n) (ni_interpolation.c, mode 'nearest' on the padded array).
inline void cubic_taps(double cp, index_t n, index_t* idx, double* w) {
    const double f = std::floor(cp), y = cp - f, z = 1 - y;
    w[1] = (y * y * (y - 2) * 3 + 4) / 6;
    w[2] = (z * z * (z - 2) * 3 + 4) / 6;
    w[0] = z * z * z / 6;
    w[3] = 1 - w[0] - w[1] - w[2];
    const index_t s = static_cast<index_t>(f) - 1;
    for (int t = 0; t < 4; ++t) idx[t] = std::min<index_t>(std::max<index_t>(s + t, 0), n - 1);
}

/// Calls f(c, out voxel) for every voxel of `out`, c = M · (x, y, z, 1) its continuous input index; threaded over z.
template <class OutT, class F>
void for_each_mapped_voxel(volume_view<OutT> out, const Eigen::Matrix4d& M, int threads, F&& f) {
    const dims3 d = out.dims();
    parallel_for(threads, d[2], [&](index_t z0, index_t z1, int) {
        const Eigen::Vector3d step = M.block<3, 1>(0, 0);
        for (index_t z = z0; z < z1; ++z)
            for (index_t y = 0; y < d[1]; ++y) {
                OutT* o = out.data() + (z * d[1] + y) * d[0];
                const Eigen::Vector3d base = M.block<3, 1>(0, 3) + M.block<3, 1>(0, 1) * double(y) + M.block<3, 1>(0, 2) * double(z);
                for (index_t x = 0; x < d[0]; ++x) f(Eigen::Vector3d(base + step * double(x)), o[x]);
            }
    });
}

/// An interpolated value stored as OutT: integers rounded half away from zero (as scipy's ni_interpolation.c casts
/// to an integer output, and as the zoom path's std::lround) and clamped to OutT's range.
template <class OutT>
OutT store_interpolated(double v) {
    if constexpr (std::is_integral_v<OutT>) {
        constexpr double lo = double(std::numeric_limits<OutT>::lowest()), hi = double(std::numeric_limits<OutT>::max());
        return static_cast<OutT>(std::min(std::max(std::round(v), lo), hi));
    } else {
        return static_cast<OutT>(v);
    }
}

}  // namespace detail

/// World-space resampling onto a reference grid (as ITK ResampleImageFilter): output voxel p takes the input value at
/// world position ref.ijk_to_ras·p. Nearest (labels: never new values), trilinear, or cubic B-spline (scipy
/// map_coordinates order 3 with its prefilter and mode 'nearest', computed in float64); a point outside the
/// continuous index range [−0.5, n − 0.5] of the input → `fill`. Cubic first computes the float64 spline coefficients
/// of the whole input padded by 12 voxels per side (8·(nx+24)(ny+24)(nz+24) bytes of scratch, ~1 GB for a
/// 512×512×400 CT), as scipy does.
template <class InT, class OutT>
void resample_like_into(volume_view<const InT> in, volume_view<OutT> out, interpolation interp, OutT fill = OutT(0), int threads = 0) {
    Eigen::Matrix4d inv = Eigen::Matrix4d(in.ijk_to_ras()).inverse();
    Eigen::Matrix4d M = inv * Eigen::Matrix4d(out.ijk_to_ras());  // output index → input index
    if (!M.allFinite()) throw error(errc::invalid_argument, "resample_like: singular input affine");
    const dims3 di = in.dims();
    if (interp == interpolation::cubic) {
        const std::vector<double> coef = detail::spline_coefficients_padded(in, threads);
        const index_t P = detail::spline_pad, px = di[0] + 2 * P, py = di[1] + 2 * P, pz = di[2] + 2 * P;
        detail::for_each_mapped_voxel(out, M, threads, [&](const Eigen::Vector3d& c, OutT& o) {
            if (!(c.x() >= -0.5 && c.y() >= -0.5 && c.z() >= -0.5 && c.x() <= di[0] - 0.5 && c.y() <= di[1] - 0.5 && c.z() <= di[2] - 0.5)) {
                o = fill;
                return;
            }
            index_t ix[4], iy[4], iz[4];
            double wx[4], wy[4], wz[4];
            detail::cubic_taps(c.x() + double(P), px, ix, wx);
            detail::cubic_taps(c.y() + double(P), py, iy, wy);
            detail::cubic_taps(c.z() + double(P), pz, iz, wz);
            double v = 0;
            for (int a = 0; a < 4; ++a) {
                double sy = 0;
                for (int b = 0; b < 4; ++b) {
                    const double* row = coef.data() + (iz[a] * py + iy[b]) * px;
                    sy += wy[b] * (wx[0] * row[ix[0]] + wx[1] * row[ix[1]] + wx[2] * row[ix[2]] + wx[3] * row[ix[3]]);
                }
                v += wz[a] * sy;
            }
            o = detail::store_interpolated<OutT>(v);
        });
        return;
    }
    if (interp == interpolation::nearest) {
        detail::for_each_mapped_voxel(out, M, threads, [&](const Eigen::Vector3d& c, OutT& o) {
            const index_t i = static_cast<index_t>(std::floor(c.x() + 0.5)), j = static_cast<index_t>(std::floor(c.y() + 0.5)),
                          k = static_cast<index_t>(std::floor(c.z() + 0.5));
            o = (i < 0 || j < 0 || k < 0 || i >= di[0] || j >= di[1] || k >= di[2]) ? fill : static_cast<OutT>(in(i, j, k));
        });
        return;
    }
    detail::for_each_mapped_voxel(out, M, threads, [&](const Eigen::Vector3d& c, OutT& o) {
        // trilinear; a voxel within half a voxel outside the border clamps to it (ITK accepts the continuous index
        // range [-0.5, n-0.5])
        if (c.x() < -0.5 || c.y() < -0.5 || c.z() < -0.5 || c.x() > di[0] - 0.5 || c.y() > di[1] - 0.5 || c.z() > di[2] - 0.5) {
            o = fill;
            return;
        }
        const double fx = std::floor(c.x()), fy = std::floor(c.y()), fz = std::floor(c.z());
        const double tx = c.x() - fx, ty = c.y() - fy, tz = c.z() - fz;
        auto at = [&](index_t i, index_t j, index_t k) {
            i = std::min<index_t>(std::max<index_t>(i, 0), di[0] - 1);
            j = std::min<index_t>(std::max<index_t>(j, 0), di[1] - 1);
            k = std::min<index_t>(std::max<index_t>(k, 0), di[2] - 1);
            return double(in(i, j, k));
        };
        const index_t i0 = static_cast<index_t>(fx), j0 = static_cast<index_t>(fy), k0 = static_cast<index_t>(fz);
        const double v = (1 - tz) * ((1 - ty) * ((1 - tx) * at(i0, j0, k0) + tx * at(i0 + 1, j0, k0)) +
                                     ty * ((1 - tx) * at(i0, j0 + 1, k0) + tx * at(i0 + 1, j0 + 1, k0))) +
                         tz * ((1 - ty) * ((1 - tx) * at(i0, j0, k0 + 1) + tx * at(i0 + 1, j0, k0 + 1)) +
                               ty * ((1 - tx) * at(i0, j0 + 1, k0 + 1) + tx * at(i0 + 1, j0 + 1, k0 + 1)));
        o = detail::store_interpolated<OutT>(v);
    });
}

/// World-space resampling onto `reference` (e.g. a segmentation onto a CT's grid).
template <class OutT, class InT>
volume<OutT> resample_like(volume_view<const InT> in, const geometry& reference, interpolation interp, OutT fill = OutT(0), int threads = 0) {
    volume<OutT> out(reference);
    resample_like_into<InT, OutT>(in, out.view(), interp, fill, threads);
    return out;
}

/// The grid of resample_to_spacing: voxels of exactly `spacing_mm` along g's own axes (same orientation), and per axis
/// m = ceil(n · s / new_s) of them (at least 1), the fewest that cover g's field of view of n · s mm, centred on it: the
/// excess m · new_s − n · s (less than one new voxel) is split evenly between both ends. Voxel k's centre sits at input
/// index (n − 1)/2 + (k − (m − 1)/2) · new_s / s, so every output centre lies inside the input's field of view.
inline geometry grid_for_spacing(const geometry& g, const std::array<double, 3>& spacing_mm) {
    geometry o;
    affine4 S = affine4::Identity();
    for (size_t a = 0; a < 3; ++a) {
        const double s = g.spacing_mm[a], t = spacing_mm[a];
        if (!(t > 0) || !std::isfinite(t)) throw error(errc::invalid_argument, detail::cat("resample: target spacing must be > 0, got ", t));
        if (!(s > 0)) throw error(errc::invalid_argument, detail::cat("resample: input spacing must be > 0, got ", s));
        const double n = double(g.dims[a]), extent = n * s / t;
        // ceil, tolerant of rounding in n·s/t (an exact multiple such as 122 · 3 / 2 must not gain a voxel)
        const double m = std::max(1.0, std::ceil(extent - 1e-6));
        if (!(m < 1e12)) throw error(errc::size_limit, detail::cat("resample: ", m, " voxels along an axis"));
        o.dims[a] = static_cast<index_t>(m);
        o.spacing_mm[a] = t;
        const int ai = static_cast<int>(a);
        S(ai, ai) = t / s;
        S(ai, 3) = 0.5 * (n - 1.0) - 0.5 * (m - 1.0) * (t / s);
    }
    o.ijk_to_ras = g.ijk_to_ras * S;
    return o;
}

/// Resample to exactly the voxel spacing asked for (mm), on grid_for_spacing(in.geometry(), spacing_mm): the input's
/// field of view covered with voxels of that size, same orientation. Values by resample_like_into (nearest, trilinear,
/// or cubic B-spline as scipy's map_coordinates), every sample inside the input; with clip_to_input_range a cubic
/// result is clipped to the input's [min, max]. nnU-Net's field-of-view-keeping variant is zoom_to_spacing.
template <class InT, class OutT = float>
volume<OutT> resample_to_spacing(volume_view<const InT> in, const std::array<double, 3>& spacing_mm, const resample_options& opt = {}) {
    volume<OutT> out(grid_for_spacing(in.geometry(), spacing_mm));
    resample_like_into<InT, OutT>(in, out.view(), opt.interp, OutT(0), opt.threads);
    if (opt.interp == interpolation::cubic && opt.clip_to_input_range && in.size() > 0) {
        const auto mm = std::minmax_element(in.data(), in.data() + in.size());
        const OutT lo = detail::store_interpolated<OutT>(double(*mm.first)), hi = detail::store_interpolated<OutT>(double(*mm.second));
        for (auto& v : out) v = std::min(std::max(v, lo), hi);
    }
    return out;
}

/// Nearest-neighbour resampling of a label map to exactly `spacing_mm` (grid_for_spacing): no new labels.
template <class T>
volume<T> resample_labels_to_spacing(volume_view<const T> in, const std::array<double, 3>& spacing_mm, int threads = 0) {
    volume<T> out(grid_for_spacing(in.geometry(), spacing_mm));
    resample_like_into<T, T>(in, out.view(), interpolation::nearest, T(0), threads);
    return out;
}

}  // namespace ctspine
