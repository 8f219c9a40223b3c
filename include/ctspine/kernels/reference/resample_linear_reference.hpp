// ctspine — scalar reference twin of kernels/resample_linear.hpp (float32 trilinear zoom): the same taps, weights and
// operation order, one voxel at a time, no SIMD and no threads. Tests compare the xsimd kernels against it.
#pragma once
#include <cmath>
#include <vector>

#include "ctspine/kernels/resample_linear.hpp"

namespace ctspine {
namespace detail {

template <class InT>
void blend_rows_f32_scalar(float* acc, const InT* const* rows, const float* w, int taps, index_t n) {
    for (index_t x = 0; x < n; ++x) {
        float s = w[0] * static_cast<float>(rows[0][x]);
        for (int t = 1; t < taps; ++t) s = std::fma(w[t], static_cast<float>(rows[t][x]), s);
        acc[x] = s;
    }
}

inline void interp_x_f32_scalar(const float* row, const linear_taps_f32& t, float* out) {
    for (size_t k = 0; k < static_cast<size_t>(t.n_out); ++k) out[k] = std::fma(t.w1[k], row[t.i1[k]], t.w0[k] * row[t.i0[k]]);
}

template <class InT, class OutT>
void zoom3d_linear_f32_scalar(const InT* in, const dims3& di, OutT* out, const dims3& dout) {
    const linear_taps_f32 tx = make_linear_taps_f32(di[0], dout[0]), ty = make_linear_taps_f32(di[1], dout[1]),
                          tz = make_linear_taps_f32(di[2], dout[2]);
    const index_t nx = di[0], mx = dout[0], my = dout[1], mz = dout[2];
    std::vector<float> acc(static_cast<size_t>(nx)), row(static_cast<size_t>(mx));
    for (index_t z = 0; z < mz; ++z)
        for (index_t y = 0; y < my; ++y) {
            const row_taps r = make_row_taps(ty, tz, y, z);
            const InT* rows[4];
            for (int t = 0; t < r.n; ++t) rows[t] = in + r.row[static_cast<size_t>(t)] * nx;
            blend_rows_f32_scalar(acc.data(), rows, r.w.data(), r.n, nx);
            interp_x_f32_scalar(acc.data(), tx, row.data());
            store_row_as(row.data(), out + (z * my + y) * mx, mx);
        }
}

}  // namespace detail
}  // namespace ctspine
