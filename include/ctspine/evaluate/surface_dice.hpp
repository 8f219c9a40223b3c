// ctspine — normalised surface Dice (NSD, "surface Dice at tolerance τ") with the surfel semantics of DeepMind's
// surface-distance (google-deepmind/surface-distance `surface_distance/metrics.py`: compute_surface_distances,
// compute_surface_dice_at_tolerance; `lookup_tables.py`):
//  * the surface lives on the voxel *corners*: each corner gets the 8-bit code of the 2×2×2 voxels around it
//    (voxels outside the grid are background); corners whose code is neither 0 nor 255 are surface elements
//    ("surfels"), each weighted by the area of its marching-cubes triangles scaled by the spacing;
//  * distances run from each surfel to the nearest surfel of the other mask (corner to corner, with the spacing);
//  * NSD(τ) = (Σ area_ref[d ≤ τ] + Σ area_pred[d ≤ τ]) / (Σ area_ref + Σ area_pred); NaN when both masks are empty,
//    0 when exactly one is (its surfels have no surface to be near).
// Array axes: DeepMind's axes (0, 1, 2) are taken as (k, j, i) — the (z, y, x) order nnU-Net / SimpleITK arrays have.
// The triangle table (surfel_table.hpp) is generated with skimage's marching cubes by
// tests/reference/make_evaluate_fixtures.py; it gives DeepMind's areas for all 256 codes.
// The voxel-border variant (MetricsReloaded) is surface_dice_voxel() in surface_distance.hpp.
#pragma once
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "ctspine/core/error.hpp"
#include "ctspine/core/volume.hpp"
#include "ctspine/evaluate/distance_transform.hpp"
#include "ctspine/evaluate/surface_distance.hpp"
#include "ctspine/evaluate/surfel_table.hpp"

namespace ctspine {

/// Surfel distances and areas (raster order of the corner grid, x fastest).
struct surfel_distances {
    std::vector<double> ref_to_pred, area_ref;  ///< per reference surfel: distance to the predicted surface, area
    std::vector<double> pred_to_ref, area_pred;
};

namespace detail {

/// Area (mm²) of the surfels of every code for a spacing given as (x, y, z) = (i, j, k).
inline std::array<double, 256> surfel_area_table(const std::array<double, 3>& spacing_xyz) {
    const double s0 = spacing_xyz[2], s1 = spacing_xyz[1], s2 = spacing_xyz[0];  // array axes (k, j, i)
    std::array<double, 256> t{};
    for (int code = 0; code < 256; ++code) {
        double acc = 0.0;
        for (int tri = 0; tri < surfel_max_triangles; ++tri) {
            const auto& n = surfel_normals_x8[code][tri];
            if (n[0] == 0 && n[1] == 0 && n[2] == 0) continue;
            const double a = double(n[0]) / 8 * s1 * s2, b = double(n[1]) / 8 * s0 * s2, c = double(n[2]) / 8 * s0 * s1;
            acc += std::sqrt(a * a + b * b + c * c);
        }
        t[static_cast<size_t>(code)] = acc;
    }
    return t;
}

/// Neighbour codes of the corner grid (d + 1 corners per axis) of a 0/1 mask on d. Corner (i, j, k) sees the voxels
/// (i−1..i, j−1..j, k−1..k); voxels outside d are background.
inline void corner_codes(const std::uint8_t* m, const dims3& d, std::uint8_t* codes) {
    const index_t nx = d[0], ny = d[1], nz = d[2];
    const index_t cx = nx + 1, cy = ny + 1, cz = nz + 1;
    // per corner row: the two voxel rows below/above along j and k packed as 4 bits per x position
    // (bit 3: (j−1, k−1), bit 2: (j, k−1), bit 1: (j−1, k), bit 0: (j, k)), then the x pair combined
    std::vector<std::uint8_t> quad(static_cast<size_t>(cx) + 1);
    auto row = [&](index_t j, index_t k) -> const std::uint8_t* {
        if (j < 0 || k < 0 || j >= ny || k >= nz) return nullptr;
        return m + nx * (j + ny * k);
    };
    for (index_t k = 0; k < cz; ++k)
        for (index_t j = 0; j < cy; ++j) {
            const std::uint8_t* r00 = row(j - 1, k - 1);  // a = 0, b = 0
            const std::uint8_t* r01 = row(j, k - 1);      // a = 0, b = 1
            const std::uint8_t* r10 = row(j - 1, k);      // a = 1, b = 0
            const std::uint8_t* r11 = row(j, k);          // a = 1, b = 1
            std::uint8_t* q = quad.data() + 1;  // q[i] for voxel column i = −1 .. nx
            q[-1] = 0;
            q[nx] = 0;
            for (index_t i = 0; i < nx; ++i)
                q[i] = static_cast<std::uint8_t>(((r00 ? r00[i] : 0) << 3) | ((r01 ? r01[i] : 0) << 2) | ((r10 ? r10[i] : 0) << 1) |
                                                 (r11 ? r11[i] : 0));
            std::uint8_t* out = codes + cx * (j + cy * k);
            for (index_t i = 0; i < cx; ++i) {
                // voxel column c = 0 is i − 1, c = 1 is i; bit (7 − (4a + 2b + c))
                const unsigned lo = q[i - 1], hi = q[i];
                unsigned code = 0;
                code |= ((lo >> 3) & 1u) << 7 | ((hi >> 3) & 1u) << 6;  // a0 b0
                code |= ((lo >> 2) & 1u) << 5 | ((hi >> 2) & 1u) << 4;  // a0 b1
                code |= ((lo >> 1) & 1u) << 3 | ((hi >> 1) & 1u) << 2;  // a1 b0
                code |= (lo & 1u) << 1 | (hi & 1u);                       // a1 b1
                out[i] = static_cast<std::uint8_t>(code);
            }
        }
}

/// Surfel distances of two 0/1 masks on a dense grid d (typically their union bounding box).
inline surfel_distances surfel_distances_dense(const std::uint8_t* ref, const std::uint8_t* pred, const dims3& d,
                                               const std::array<double, 3>& spacing, surface_workspace& ws) {
    const dims3 cd{d[0] + 1, d[1] + 1, d[2] + 1};
    const size_t n = static_cast<size_t>(cd[0] * cd[1] * cd[2]);
    ws.a.resize(n);
    ws.b.resize(n);
    ws.work.resize(n);
    std::vector<std::uint8_t>& cr = ws.a;
    std::vector<std::uint8_t>& cp = ws.b;
    corner_codes(ref, d, cr.data());
    corner_codes(pred, d, cp.data());
    const auto area = surfel_area_table(spacing);
    const double inf = std::numeric_limits<double>::infinity();
    surfel_distances out;
    std::vector<double>& dist = ws.work;
    std::vector<std::uint8_t>& query = ws.c;
    query.resize(n);
    auto directed = [&](const std::vector<std::uint8_t>& from, const std::vector<std::uint8_t>& to, std::vector<double>& d_out,
                        std::vector<double>& a_out) {
        bool any = false;
        for (size_t o = 0; o < n; ++o) {
            const bool s = to[o] != 0 && to[o] != 255;
            dist[o] = s ? 0.0 : inf;
            any |= s;
            query[o] = from[o] != 0 && from[o] != 255;
        }
        if (any) squared_edt_inplace(dist.data(), cd, spacing, 1, query.data());
        for (size_t o = 0; o < n; ++o)
            if (from[o] != 0 && from[o] != 255) {
                d_out.push_back(any ? std::sqrt(dist[o]) : inf);
                a_out.push_back(area[from[o]]);
            }
    };
    directed(cr, cp, out.ref_to_pred, out.area_ref);
    directed(cp, cr, out.pred_to_ref, out.area_pred);
    return out;
}
inline surfel_distances surfel_distances_dense(const std::uint8_t* ref, const std::uint8_t* pred, const dims3& d,
                                               const std::array<double, 3>& spacing) {
    surface_workspace ws;
    return surfel_distances_dense(ref, pred, d, spacing, ws);
}

}  // namespace detail

/// NSD at tolerance tau_mm (≤ tau counts), DeepMind semantics; NaN when there are no surfels at all.
inline double surface_dice(const surfel_distances& s, double tau_mm) {
    std::vector<double> within;
    within.reserve(s.area_ref.size() + s.area_pred.size());
    for (size_t i = 0; i < s.area_ref.size(); ++i)
        if (s.ref_to_pred[i] <= tau_mm) within.push_back(s.area_ref[i]);
    const double num_ref = detail::numpy_pairwise_sum(within.data(), within.size());
    within.clear();
    for (size_t i = 0; i < s.area_pred.size(); ++i)
        if (s.pred_to_ref[i] <= tau_mm) within.push_back(s.area_pred[i]);
    const double num_pred = detail::numpy_pairwise_sum(within.data(), within.size());
    const double den = detail::numpy_pairwise_sum(s.area_ref.data(), s.area_ref.size()) +
                       detail::numpy_pairwise_sum(s.area_pred.data(), s.area_pred.size());
    if (s.area_ref.empty() && s.area_pred.empty()) return std::numeric_limits<double>::quiet_NaN();
    return (num_ref + num_pred) / den;
}

/// Surfel distances of two binary masks (non-zero = inside) on the same grid, computed inside their union bounding
/// box (exact: every corner touching a mask voxel lies in the box's corner grid, and voxels outside the box are
/// background, as outside the grid).
template <class T>
surfel_distances deepmind_surfel_distances(volume_view<const T> ref, volume_view<const T> pred) {
    const detail::union_crop c = detail::crop_to_union(ref, pred, "surface dice");
    if (!c.any_ref && !c.any_pred) return {};
    return detail::surfel_distances_dense(c.ref.data(), c.pred.data(), c.dims, ref.spacing_mm());
}

}  // namespace ctspine
